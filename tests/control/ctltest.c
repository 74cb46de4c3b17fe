/*
 * Helpers of the control tests (see ctltest.h).
 */
#include "ctltest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "cluster/net/ca.h"
#include "cluster/net/tls.h"

struct ct_env ct;

#define MAX_PROCS 16
static pid_t procs[MAX_PROCS];
static bool keep_dir;
static SSL_CTX *user_ctx;

double ct_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ct_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void ct_cleanup(void)
{
	int i;

	for (i = 0; i < MAX_PROCS; i++) {
		if (procs[i] > 0) {
			kill(procs[i], SIGKILL);
			waitpid(procs[i], NULL, 0);
			procs[i] = 0;
		}
	}
}

static void at_exit(void)
{
	char cmd[400];

	ct_cleanup();
	SSL_CTX_free(user_ctx);
	user_ctx = NULL;
	if (!keep_dir && ct.dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ct.dir);
		if (system(cmd))
			fprintf(stderr, "cannot remove %s\n", ct.dir);
	}
}

void ct_init(const char *name)
{
	char err[512] = "";
	const char *bin = getenv("FLOCKER_BINARY_DIR");
	static char cbin[512], fbin[512];

	if (!getenv("CEPH_CONF")) {
		fprintf(stderr, "%s: CEPH_CONF is not set: no Ceph cluster to test against\n",
			name);
		exit(77);
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(ct.dir, sizeof(ct.dir), "/tmp/flocker-%s-XXXXXX", name);
	if (!mkdtemp(ct.dir)) {
		perror("mkdtemp");
		exit(1);
	}
	keep_dir = getenv("FLOCKER_KEEP") != NULL;
	atexit(at_exit);
	snprintf(ct.certs, sizeof(ct.certs), "%s/certs", ct.dir);
	if (fl_ca_init(ct.certs, 0, err, sizeof(err)) ||
	    fl_ca_issue(ct.certs, "user", "admin", NULL, -60, 86400, NULL, 0, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", name, err);
		exit(1);
	}
	snprintf(ct.prefix, sizeof(ct.prefix), "%.6s%ld", name, (long)getpid() % 100000);
	snprintf(ct.state_ns, sizeof(ct.state_ns), "ctltest.%s", ct.prefix);
	ct.control_bin = getenv("FLOCKER_CONTROL_BIN");
	if (!ct.control_bin) {
		snprintf(cbin, sizeof(cbin), "%s/flocker-control-svc", bin ? bin : ".");
		ct.control_bin = cbin;
	}
	ct.flockerctl_bin = getenv("FLOCKERCTL_BIN");
	if (!ct.flockerctl_bin) {
		snprintf(fbin, sizeof(fbin), "%s/flockerctl-cluster", bin ? bin : ".");
		ct.flockerctl_bin = fbin;
	}
	printf("%s: scratch %s, state namespace %s\n", name, ct.dir, ct.state_ns);
}

void ct_node_cert(const char *name)
{
	char err[512] = "";

	if (fl_ca_issue(ct.certs, "node", name, NULL, -60, 86400, NULL, 1, err, sizeof(err))) {
		fprintf(stderr, "cannot make node certificate %s: %s\n", name, err);
		abort();
	}
}

unsigned ct_free_port(void)
{
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port;

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(fd >= 0);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

void ct_control_start(struct ct_control *c, unsigned api_port, unsigned agent_port, bool wait,
		      const char *const *extra)
{
	const char *argv[48];
	char ap[16], gp[16];
	int n = 0, i, fd;
	pid_t pid;
	static int seq;

	memset(c, 0, sizeof(*c));
	c->api_port = api_port ? api_port : ct_free_port();
	c->agent_port = agent_port ? agent_port : ct_free_port();
	snprintf(c->api_addr, sizeof(c->api_addr), "127.0.0.1:%u", c->api_port);
	snprintf(c->log, sizeof(c->log), "%s/control-%d.log", ct.dir, ++seq);
	snprintf(ap, sizeof(ap), "%u", c->api_port);
	snprintf(gp, sizeof(gp), "%u", c->agent_port);
	argv[n++] = ct.control_bin;
	argv[n++] = "-c";
	argv[n++] = getenv("CEPH_CONF");
	argv[n++] = "--certs";
	argv[n++] = ct.certs;
	argv[n++] = "--bind";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--api-port";
	argv[n++] = ap;
	argv[n++] = "--agent-port";
	argv[n++] = gp;
	argv[n++] = "--state-ns";
	argv[n++] = ct.state_ns;
	argv[n++] = "--debug";
	for (i = 0; extra && extra[i] && n < 46; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		fd = open(c->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		perror("execv");
		_exit(127);
	}
	c->pid = pid;
	for (i = 0; i < MAX_PROCS; i++) {
		if (procs[i] <= 0) {
			procs[i] = pid;
			break;
		}
	}
	if (wait && !ct_control_wait_api(c, 40)) {
		fprintf(stderr, "flocker-control did not start; its log %s:\n", c->log);
		snprintf(gp, sizeof(gp), "x");
		{
			char cmd[400];

			snprintf(cmd, sizeof(cmd), "cat '%s' >&2", c->log);
			if (system(cmd))
				fprintf(stderr, "(cannot show it)\n");
		}
		CHECK(!"control started");
	}
}

bool ct_control_wait_api(struct ct_control *c, double timeout_s)
{
	double end = ct_now() + timeout_s;
	struct fl_http_resp r;

	while (ct_now() < end) {
		if (ct_api(c, "GET", "/v1/version", NULL, NULL, &r) == 0 && r.status == 200) {
			fl_http_resp_free(&r);
			return true;
		}
		fl_http_resp_free(&r);
		ct_sleep_ms(200);
	}
	return false;
}

void ct_control_kill(struct ct_control *c, int sig)
{
	int i;

	if (c->pid <= 0)
		return;
	kill(c->pid, sig);
	waitpid(c->pid, NULL, 0);
	for (i = 0; i < MAX_PROCS; i++)
		if (procs[i] == c->pid)
			procs[i] = 0;
	c->pid = 0;
}

SSL_CTX *ct_user_ctx(void)
{
	SSL_CTX *ctx = user_ctx;
	char err[512] = "";

	if (!ctx) {
		ctx = fl_tls_client_ctx(ct.certs, "user-admin", FL_ROLE_CONTROL, err, sizeof(err));
		if (!ctx) {
			fprintf(stderr, "%s\n", err);
			abort();
		}
		SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
		user_ctx = ctx;
	}
	return ctx;
}

int ct_api(struct ct_control *c, const char *method, const char *path, const char *body,
	   const char *if_tag, struct fl_http_resp *r)
{
	char err[512] = "";

	return fl_cluster_request(ct_user_ctx(), c->api_addr, method, path, body, if_tag, r, err,
				  sizeof(err));
}

int ct_flockerctl(struct ct_control *c, char *out, size_t outlen, const char *fmt, ...)
{
	char args[1024], cmd[2048];
	va_list ap;
	FILE *p;
	size_t n = 0;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "'%s' --control %s --certs '%s' %s 2>&1", ct.flockerctl_bin,
		 c->api_addr, ct.certs, args);
	p = popen(cmd, "r");
	CHECK(p);
	if (out && outlen) {
		n = fread(out, 1, outlen - 1, p);
		out[n] = '\0';
	} else {
		char sink[4096];

		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* ---- simulated agent ---- */

void ct_sim_init(struct ct_sim *s, const char *node)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->node, sizeof(s->node), "%s", node);
	s->fd = -1;
	s->next_id = 1;
	s->unmount_answer = -EBUSY;
	fl_buf_init(&s->in, FL_FRAME_HDR + FL_FRAME_MAX);
}

void ct_sim_close(struct ct_sim *s)
{
	if (s->ssl) {
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	fl_buf_reset(&s->in);
}

void ct_sim_free(struct ct_sim *s)
{
	ct_sim_close(s);
	fl_buf_free(&s->in);
	SSL_CTX_free(s->ctx);
	s->ctx = NULL;
}

static int sim_send(struct ct_sim *s, struct fl_frame_enc *e)
{
	const char *p = e->buf.data;
	size_t n = e->buf.len;

	while (n) {
		int w = SSL_write(s->ssl, p, (int)n);

		if (w <= 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One frame within timeout_ms: 0, -ETIMEDOUT, or -EIO when the connection failed. */
static int sim_read(struct ct_sim *s, struct fl_msg *m, int timeout_ms)
{
	double end = ct_now() + timeout_ms / 1000.0;
	char tmp[16384];
	size_t total;
	int ret;

	for (;;) {
		ret = fl_frame_check(s->in.data, s->in.len, &total);
		if (ret < 0)
			return ret;
		if (ret == 0) {
			ret = fl_msg_decode(s->in.data + FL_FRAME_HDR, total - FL_FRAME_HDR, m);
			memmove(s->in.data, s->in.data + total, s->in.len - total);
			s->in.len -= total;
			return ret;
		}
		if (SSL_pending(s->ssl) == 0) {
			struct pollfd pfd = {s->fd, POLLIN, 0};
			int left = (int)((end - ct_now()) * 1000);

			if (left <= 0)
				return -ETIMEDOUT;
			if (poll(&pfd, 1, left) == 0)
				return -ETIMEDOUT;
		}
		ret = SSL_read(s->ssl, tmp, sizeof(tmp));
		if (ret <= 0) {
			int e = SSL_get_error(s->ssl, ret);

			if (e == SSL_ERROR_WANT_READ)
				continue;
			return -EIO;
		}
		if (fl_buf_append(&s->in, tmp, (size_t)ret))
			return -E2BIG;
	}
}

static int sim_answer_push(struct ct_sim *s, const struct fl_msg *m)
{
	struct fl_frame_enc e;
	const char *uuid = fl_pv_get_str(m->body, "uuid");
	int ret, i;

	s->pushes++;
	fl_frame_enc_init(&e);
	fl_frame_begin(&e, "reply", m->id, 2);
	fl_pk_kv_i64(&e.pk, "err", s->unmount_answer);
	fl_pk_kv_str(&e.pk, "msg", s->unmount_answer ? "in use by a simulated container" : "");
	ret = fl_frame_end(&e);
	if (!ret)
		ret = sim_send(s, &e);
	fl_frame_enc_free(&e);
	if (s->unmount_answer == 0) {
		for (i = 0; i < s->nmounts; i++) {
			if (!strcmp(s->mounts[i].uuid, uuid)) {
				s->mounts[i] = s->mounts[--s->nmounts];
				break;
			}
		}
	}
	return ret;
}

static void pack_mounts(struct ct_sim *s, msgpack_packer *pk)
{
	int i;

	fl_pk_str(pk, "mounts");
	msgpack_pack_array(pk, (uint32_t)s->nmounts);
	for (i = 0; i < s->nmounts; i++) {
		msgpack_pack_map(pk, 5);
		fl_pk_kv_str(pk, "uuid", s->mounts[i].uuid);
		fl_pk_kv_str(pk, "name", s->mounts[i].name);
		fl_pk_kv_u64(pk, "users", s->mounts[i].users);
		fl_pk_kv_str(pk, "path", "/simulated");
		fl_pk_kv_str(pk, "addr", s->mounts[i].addr);
	}
}

static int sim_request(struct ct_sim *s, const char *type, const char *const *kv, bool mounts,
		       int timeout_ms, char *msg, size_t msglen, char *uuid)
{
	struct fl_frame_enc e;
	struct fl_msg m;
	uint64_t id = s->next_id++;
	double end = ct_now() + timeout_ms / 1000.0;
	uint32_t n = 0;
	int64_t err;
	int ret, i;

	if (msg && msglen)
		msg[0] = '\0';
	if (!s->ssl)
		return -ENOTCONN;
	for (i = 0; kv && kv[i]; i += 2)
		n++;
	fl_frame_enc_init(&e);
	fl_frame_begin(&e, type, id, n + (mounts ? 1 : 0));
	for (i = 0; kv && kv[i]; i += 2)
		fl_pk_kv_str(&e.pk, kv[i], kv[i + 1]);
	if (mounts)
		pack_mounts(s, &e.pk);
	ret = fl_frame_end(&e);
	if (!ret)
		ret = sim_send(s, &e);
	fl_frame_enc_free(&e);
	if (ret)
		return ret;
	for (;;) {
		int left = (int)((end - ct_now()) * 1000);

		if (left <= 0)
			return -ETIMEDOUT;
		ret = sim_read(s, &m, left);
		if (ret)
			return ret;
		if (!strcmp(m.type, "unmount")) {
			sim_answer_push(s, &m);
		} else if (!strcmp(m.type, "reply") && m.id == id) {
			if (fl_pv_i64(fl_pv_get(m.body, "err"), &err))
				err = -EPROTO;
			if (msg && msglen)
				snprintf(msg, msglen, "%s", fl_pv_get_str(m.body, "msg"));
			if (uuid)
				snprintf(uuid, 37, "%s",
					 fl_pv_get_str(fl_pv_get(m.body, "volume"), "uuid"));
			if (!strcmp(type, "hello"))
				snprintf(s->uuid, sizeof(s->uuid), "%s",
					 fl_pv_get_str(m.body, "node_uuid"));
			fl_msg_free(&m);
			return (int)err;
		}
		fl_msg_free(&m);
	}
}

int ct_sim_connect_tls(struct ct_sim *s, unsigned port)
{
	struct sockaddr_in sa = {0};
	char base[80], err[512] = "";
	int ret;

	ct_sim_close(s);
	if (!s->ctx) {
		snprintf(base, sizeof(base), "node-%s", s->node);
		s->ctx = fl_tls_client_ctx(ct.certs, base, FL_ROLE_CONTROL, err, sizeof(err));
		if (!s->ctx) {
			fprintf(stderr, "%s\n", err);
			return -EINVAL;
		}
	}
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		ct_sim_close(s);
		return ret;
	}
	s->ssl = SSL_new(s->ctx);
	SSL_set_fd(s->ssl, s->fd);
	if (SSL_connect(s->ssl) != 1) {
		ct_sim_close(s);
		return -EPROTO;
	}
	return 0;
}

int ct_sim_hello(struct ct_sim *s)
{
	char host[64] = "localhost";
	const char *kv[] = {"node", s->node, "host", host, NULL};
	int ret;

	gethostname(host, sizeof(host) - 1);
	ret = sim_request(s, "hello", kv, true, 10000, NULL, 0, NULL);
	if (ret)
		ct_sim_close(s);
	return ret;
}

int ct_sim_connect(struct ct_sim *s, unsigned port)
{
	int ret = ct_sim_connect_tls(s, port);

	return ret ? ret : ct_sim_hello(s);
}

int ct_sim_call(struct ct_sim *s, const char *type, const char *const *kv, int timeout_ms,
		char *msg, size_t msglen, char *uuid)
{
	return sim_request(s, type, kv, false, timeout_ms, msg, msglen, uuid);
}

int ct_sim_heartbeat(struct ct_sim *s, int timeout_ms)
{
	return sim_request(s, "heartbeat", NULL, true, timeout_ms, NULL, 0, NULL);
}

int ct_sim_pump(struct ct_sim *s, int ms)
{
	double end = ct_now() + ms / 1000.0;
	struct fl_msg m;
	int ret;

	while (ct_now() < end) {
		ret = sim_read(s, &m, (int)((end - ct_now()) * 1000) + 1);
		if (ret == -ETIMEDOUT)
			return 0;
		if (ret)
			return ret;
		if (!strcmp(m.type, "unmount"))
			sim_answer_push(s, &m);
		fl_msg_free(&m);
	}
	return 0;
}

struct fl_store *ct_rados(void)
{
	struct fl_rados_opts o = {0};
	char err[512] = "";
	const char *args = getenv("CEPH_ARGS");
	static char id[64];
	struct fl_store *st;

	if (args && sscanf(args, "--id %63s", id) == 1)
		o.id = id;
	o.pool = getenv("FLOCKER_POOL") ? getenv("FLOCKER_POOL") : "flocker";
	st = fl_rados_open(&o, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "cannot connect to RADOS: %s\n", err);
		abort();
	}
	return st;
}
