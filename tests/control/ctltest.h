/*
 * Helpers of the control tests: certificates, flocker-control processes,
 * simulated agents speaking the frame protocol, and API calls.
 *
 * A test runs its control services with their own --state-ns, so tests of
 * one ctest run share the fixture's pool without sharing a configuration;
 * volumes get names unique to the test run.  Binaries come from the
 * environment: FLOCKER_CONTROL_BIN, FLOCKERCTL_BIN (set by tests/control.cmake).
 */
#ifndef FLOCKER_CTLTEST_H
#define FLOCKER_CTLTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "cluster/cli/client.h"
#include "flocker/buf.h"
#include "flocker/proto.h"
#include "flocker/store.h"

/* A failed check ends the test: the services it started go first. */
#define CHECK_ON_FAILURE() (ct_cleanup(), abort())
#include "tests/check.h"

/* The test's scratch directory, certificates (CA, control, user "admin") and a prefix. */
struct ct_env {
	char dir[256];
	char certs[300];
	char prefix[32]; /* unique per run: volume names and state namespace */
	char state_ns[64];
	const char *control_bin, *flockerctl_bin;
};

extern struct ct_env ct;

/* Sets ct up (exit 77 when CEPH_CONF is missing); atexit cleanup kills our controls. */
void ct_init(const char *name);
void ct_cleanup(void);
/* Makes a node certificate (node-NAME) in ct.certs; uuid may be NULL. */
void ct_node_cert(const char *name);
double ct_now(void);
void ct_sleep_ms(long ms);
unsigned ct_free_port(void);

struct ct_control {
	pid_t pid;
	unsigned api_port, agent_port;
	char log[320];
	char api_addr[64];
};

/* Starts flocker-control with extra args (NULL-terminated); waits until it leads (wait)
 * or is at least running. */
void ct_control_start(struct ct_control *c, unsigned api_port, unsigned agent_port, bool wait,
		      const char *const *extra);
/* Waits up to timeout_s for the API to answer; true if it did. */
bool ct_control_wait_api(struct ct_control *c, double timeout_s);
void ct_control_kill(struct ct_control *c, int sig);

/* API calls with the admin user's certificate. */
SSL_CTX *ct_user_ctx(void);
int ct_api(struct ct_control *c, const char *method, const char *path, const char *body,
	   const char *if_tag, struct fl_http_resp *r);
/* Runs flockerctl-cluster with the control's address; returns its exit status, output in out. */
int ct_flockerctl(struct ct_control *c, char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- a simulated agent ---- */
struct ct_mount {
	char uuid[37], name[130];
	unsigned users;
	char addr[128];
};

struct ct_sim {
	char node[64];
	char uuid[37];
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	struct fl_buf in;
	uint64_t next_id;
	struct ct_mount mounts[8];
	int nmounts;
	/* answer to an "unmount" push: 0 gives the volume up (and drops it from mounts) */
	int unmount_answer;
	int pushes; /* unmount pushes received */
};

void ct_sim_init(struct ct_sim *s, const char *node);
/* Connects and says hello; 0 or a negative errno (refused handshakes included). */
int ct_sim_connect(struct ct_sim *s, unsigned port);
/* The same in two steps: the TLS handshake, then the hello and its answer. */
int ct_sim_connect_tls(struct ct_sim *s, unsigned port);
int ct_sim_hello(struct ct_sim *s);
void ct_sim_close(struct ct_sim *s);
/* Closes and frees what the simulated agent holds (buffer, TLS context). */
void ct_sim_free(struct ct_sim *s);
/*
 * Sends a request with body pairs "key", "str" (kv strings, NULL-terminated
 * list) and waits up to timeout_ms for its reply, answering pushes meanwhile.
 * Returns the reply's err (0 or -errno), or a transport error; msg gets the
 * reply's message.  uuid (37 bytes, may be NULL) gets volume.uuid.
 */
int ct_sim_call(struct ct_sim *s, const char *type, const char *const *kv, int timeout_ms,
		char *msg, size_t msglen, char *uuid);
/* A heartbeat with the current mounts. */
int ct_sim_heartbeat(struct ct_sim *s, int timeout_ms);
/* Handles frames (pushes) for up to ms. */
int ct_sim_pump(struct ct_sim *s, int ms);

/* A RADOS connection for the test's own checks. */
struct fl_store *ct_rados(void);

#endif
