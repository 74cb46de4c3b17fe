/*
 * flocker-control on real Ceph (label rados), one area per subcommand:
 *
 *   test_control tls       who is refused during the handshake: no certificate, a
 *                          foreign CA, an expired certificate, a user certificate on the
 *                          agent port, a node certificate on the API, a server without
 *                          the control role
 *   test_control api       datasets through the API and through flockerctl: create,
 *                          list, move, remove to the trash, reuse of the name, restore;
 *                          conditional writes (412); errors and their statuses; leases
 *   test_control leases    two agents acquiring at once: exactly one wins; an idle
 *                          holder unmounts on request; a dead holder (no heartbeats past
 *                          the lease) is fenced: its RADOS client blocklisted, its lock
 *                          broken, the volume granted
 *   test_control slow_rados  three silent holders whose mount daemons hold their writer
 *                          locks but never answer a probe (each probe waits its full
 *                          1 s) while another node heartbeats: the heartbeats are
 *                          answered at once (the probes and fences run off control's
 *                          event loop), the silent holders are fenced, the healthy
 *                          node keeps its volume and its RADOS client
 *   test_control watch_gap the writer's watch breaks just as its silent node is probed
 *                          (the mount daemon watches again within 0.5 s): control asks
 *                          again after the gap and does not fence the live writer
 *   test_control snapshots /v1/configuration/snapshots (create by name or id, list,
 *                          remove; refusals), clones through /v1/configuration/datasets
 *                          and the agent's create; a writer that never answers gets 504
 *                          while control goes on answering heartbeats
 *   test_control failover  kill -9 of the leader: a standby takes over by itself within
 *                          the leader lease; a restarted control loses nothing; agents
 *                          reconnect and keep their leases; SIGTERM hands over at once
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>

#include "cluster/control/api.h"
#include "cluster/net/ca.h"
#include "ctltest.h"
#include "cluster/net/tls.h"
#include "fs/volume/volume.h"

/* ------------------------------------------------------------------ */
/* helpers */

static json_t *api_json(struct ct_control *c, const char *method, const char *path,
			const char *body, const char *if_tag, int *status, char *tag)
{
	struct fl_http_resp r;
	json_t *j;

	CHECK_EQ(ct_api(c, method, path, body, if_tag, &r), 0);
	*status = r.status;
	if (tag)
		snprintf(tag, 32, "%s", r.tag);
	j = json_loadb(r.body, r.len, 0, NULL);
	if (!j)
		fprintf(stderr, "not JSON (%d): %s\n", r.status, r.body);
	fl_http_resp_free(&r);
	CHECK(j);
	return j;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static json_t *find_ds(json_t *arr, const char *name, bool deleted)
{
	json_t *d;
	size_t i;

	json_array_foreach(arr, i, d)
	{
		if (!strcmp(jstr(json_object_get(d, "metadata"), "name"), name) &&
		    json_is_true(json_object_get(d, "deleted")) == deleted)
			return d;
	}
	return NULL;
}

static void vname(char *out, size_t len, const char *what)
{
	snprintf(out, len, "%s-%s", ct.prefix, what);
}

/* A hello-and-reply attempt with ctx on port: 0 when the server answered. */
static int tls_try(SSL_CTX *ctx, unsigned port, char *why, size_t whylen)
{
	struct sockaddr_in sa = {0};
	struct fl_frame_enc e;
	char buf[4096];
	int fd, ret = -EIO, n;
	SSL *ssl;

	why[0] = '\0';
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	ERR_clear_error();
	if (SSL_connect(ssl) != 1) {
		fl_tls_why(ssl, why, whylen);
		goto out;
	}
	fl_frame_enc_init(&e);
	fl_frame_begin(&e, "hello", 1, 0);
	fl_frame_end(&e);
	n = SSL_write(ssl, e.buf.data, (int)e.buf.len);
	fl_frame_enc_free(&e);
	if (n <= 0) {
		fl_tls_why(ssl, why, whylen);
		goto out;
	}
	n = SSL_read(ssl, buf, sizeof(buf));
	if (n <= 0) {
		fl_tls_why(ssl, why, whylen);
		goto out;
	}
	ret = 0;
out:
	SSL_free(ssl);
	close(fd);
	return ret;
}

/* ------------------------------------------------------------------ */

struct srv_arg {
	SSL_CTX *ctx;
	int lfd;
};

static void *tls_server_thread(void *p)
{
	struct srv_arg *a = p;
	int fd = accept(a->lfd, NULL, NULL);
	SSL *ssl;

	if (fd < 0)
		return NULL;
	ssl = SSL_new(a->ctx);
	SSL_set_fd(ssl, fd);
	SSL_accept(ssl);
	SSL_free(ssl);
	close(fd);
	return NULL;
}

static int test_tls(void)
{
	struct ct_control c;
	struct ct_sim a;
	char dir2[400], err[512] = "", why[256], src[420], dst[420], cmd[900];
	SSL_CTX *ctx;
	struct fl_http_resp r;
	int ret;
	const struct {
		const char *dir, *name, *expect, *what;
	} refused[] = {
		{dir2, "node-good", "unknown CA", "certificate of another CA"},
		{ct.certs, "node-old", "expired", "expired certificate"},
		{ct.certs, "user-admin", "wrong role", "user certificate on the agent port"},
	};

	ct_init("tls");
	ct_node_cert("good");
	/* an expired node certificate of this CA */
	CHECK_EQ(fl_ca_issue(ct.certs, "node", "old", NULL, -3 * 86400, -86400, NULL, 0, err,
			     sizeof(err)),
		 0);
	/* a node certificate of a foreign CA, whose holder trusts our CA */
	snprintf(dir2, sizeof(dir2), "%s/rogue", ct.dir);
	CHECK_EQ(fl_ca_init(dir2, 0, err, sizeof(err)), 0);
	CHECK_EQ(fl_ca_issue(dir2, "node", "good", NULL, -60, 86400, NULL, 0, err, sizeof(err)), 0);
	snprintf(src, sizeof(src), "%s/ca.crt", ct.certs);
	snprintf(dst, sizeof(dst), "%s/ca.crt", dir2);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
	CHECK_EQ(system(cmd), 0);

	ct_control_start(&c, 0, 0, true, NULL);

	/* the good node is welcome */
	ct_sim_init(&a, "good");
	CHECK_EQ(ct_sim_connect(&a, c.agent_port), 0);
	CHECK(a.uuid[0]);
	ct_sim_close(&a);
	printf("ok node certificate accepted on the agent port\n");

	/* a bad frame closes that one connection only */
	{
		struct ct_sim bad;
		static const unsigned char oversize[4] = {0x7f, 0xff, 0xff, 0xff};
		static const unsigned char garbage[8] = {0, 0, 0, 4, 0xc1, 0xc1, 0xc1, 0xc1};
		const unsigned char *frames[2] = {oversize, garbage};
		size_t lens[2] = {sizeof(oversize), sizeof(garbage)};
		char buf[64];
		int k;

		CHECK_EQ(ct_sim_connect(&a, c.agent_port), 0);
		for (k = 0; k < 2; k++) {
			ct_sim_init(&bad, "good");
			bad.ctx = a.ctx;
			CHECK_EQ(ct_sim_connect(&bad, c.agent_port), 0);
			/* the second connection of node good replaced the first: reconnect it */
			CHECK(SSL_write(bad.ssl, frames[k], (int)lens[k]) > 0);
			CHECK(SSL_read(bad.ssl, buf, sizeof(buf)) <= 0);
			bad.ctx = NULL;
			ct_sim_free(&bad);
		}
		ct_node_cert("other");
		ct_sim_init(&bad, "other");
		CHECK_EQ(ct_sim_connect(&bad, c.agent_port), 0);
		CHECK_EQ(ct_sim_connect(&a, c.agent_port), 0);
		CHECK(SSL_write(bad.ssl, oversize, sizeof(oversize)) > 0);
		CHECK(SSL_read(bad.ssl, buf, sizeof(buf)) <= 0);
		CHECK_EQ(ct_sim_heartbeat(&a, 5000), 0);
		ct_sim_free(&bad);
		ct_sim_free(&a);
	}
	printf("ok an oversize or malformed frame closes that connection; the others go on\n");

	/* no certificate at all */
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	CHECK(SSL_CTX_load_verify_locations(ctx, src, NULL) == 1);
	ret = tls_try(ctx, c.agent_port, why, sizeof(why));
	CHECK(ret != 0);
	CHECK(strstr(why, "no certificate"));
	printf("ok no certificate: refused (%s)\n", why);
	CHECK(fl_cluster_request(ctx, c.api_addr, "GET", "/v1/version", NULL, NULL, &r, err,
				 sizeof(err)) != 0 ||
	      r.status != 200);
	fl_http_resp_free(&r);
	CHECK(strstr(err, c.api_addr) && strstr(err, "no certificate"));
	printf("ok no certificate on the API: refused (%s)\n", err);
	SSL_CTX_free(ctx);

	/* TLS 1.2 is not spoken */
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	CHECK(tls_try(ctx, c.agent_port, why, sizeof(why)) != 0);
	CHECK(strstr(why, "TLS 1.3"));
	printf("ok TLS 1.2: refused (%s)\n", why);
	SSL_CTX_free(ctx);

	/* refused at the handshake: a foreign CA, expired, a user certificate on
	 * the agent port */
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ctx = fl_tls_client_ctx(refused[i].dir, refused[i].name, FL_ROLE_CONTROL, err,
					sizeof(err));
		CHECK(ctx);
		CHECK(tls_try(ctx, c.agent_port, why, sizeof(why)) != 0);
		CHECK(strstr(why, refused[i].expect));
		printf("ok %s: refused (%s)\n", refused[i].what, why);
		SSL_CTX_free(ctx);
	}

	/* a node certificate on the API port */
	ctx = fl_tls_client_ctx(ct.certs, "node-good", FL_ROLE_CONTROL, err, sizeof(err));
	CHECK(ctx);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	ret = fl_cluster_request(ctx, c.api_addr, "GET", "/v1/version", NULL, NULL, &r, err,
				 sizeof(err));
	CHECK(ret != 0 || r.status != 200);
	fl_http_resp_free(&r);
	CHECK(strstr(err, c.api_addr) && strstr(err, "wrong role"));
	printf("ok node certificate on the API port: refused (%s)\n", err);
	SSL_CTX_free(ctx);

	/* the user certificate on the API */
	CHECK_EQ(ct_api(&c, "GET", "/v1/version", NULL, NULL, &r), 0);
	CHECK_EQ(r.status, 200);
	CHECK(strstr(r.body, "flockerfs"));
	CHECK(r.tag[0]);
	fl_http_resp_free(&r);
	printf("ok user certificate on the API: %s\n", "200");

	/* clients refuse a server without the control role */
	{
		struct sockaddr_in sa = {0};
		socklen_t sl = sizeof(sa);
		struct srv_arg sarg;
		pthread_t th;
		SSL_CTX *cctx;

		sarg.ctx = fl_tls_server_ctx(ct.certs, "node-good", FL_ROLE_NODE, err, sizeof(err));
		CHECK(sarg.ctx);
		sarg.lfd = socket(AF_INET, SOCK_STREAM, 0);
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		CHECK(bind(sarg.lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
		CHECK(listen(sarg.lfd, 4) == 0);
		CHECK(getsockname(sarg.lfd, (struct sockaddr *)&sa, &sl) == 0);
		pthread_create(&th, NULL, tls_server_thread, &sarg);
		cctx = fl_tls_client_ctx(ct.certs, "node-good", FL_ROLE_CONTROL, err, sizeof(err));
		CHECK(tls_try(cctx, ntohs(sa.sin_port), why, sizeof(why)) != 0);
		CHECK(strstr(why, "not a control certificate"));
		printf("ok a server with a node certificate is refused by clients (%s)\n", why);
		pthread_join(th, NULL);
		close(sarg.lfd);
		SSL_CTX_free(cctx);
		SSL_CTX_free(sarg.ctx);
	}
	ct_control_kill(&c, SIGTERM);
	printf("test_control tls: all checks passed\n");
	return 0;
}

/* ------------------------------------------------------------------ */

struct pump {
	struct ct_sim *s;
	volatile int stop;
	pthread_t th;
};

static void *pump_thread(void *p)
{
	struct pump *pu = p;

	while (!pu->stop)
		ct_sim_pump(pu->s, 200);
	return NULL;
}

static void pump_start(struct pump *pu, struct ct_sim *s)
{
	pu->s = s;
	pu->stop = 0;
	pthread_create(&pu->th, NULL, pump_thread, pu);
}

static void pump_stop(struct pump *pu)
{
	pu->stop = 1;
	pthread_join(pu->th, NULL);
}

static int test_api(void)
{
	struct ct_control c;
	struct ct_sim a, b;
	struct pump pa;
	/* the registry is shared by every test of the run: listings can be long */
	static char out[4 << 20];
	char v1[64], v2[64], v3[64], body[1024], tag[32], tag2[32], path[160];
	char id1[37], id1b[37], id3[37], deep[200];
	json_t *j, *d;
	int st, i;
	const char *extra[] = {"--lease", "6", "--heartbeat", "1", "--trash-ttl", "15s", NULL};

	ct_init("api");
	ct_node_cert("node-a");
	ct_node_cert("node-b");
	ct_control_start(&c, 0, 0, true, extra);
	vname(v1, sizeof(v1), "one");
	vname(v2, sizeof(v2), "two");
	vname(v3, sizeof(v3), "three");

	/* create */
	snprintf(
		body, sizeof(body),
		"{\"metadata\": {\"name\": \"%s\", \"owner\": \"team-x\"}, \"maximum_size\": 1073741824}",
		v1);
	j = api_json(&c, "POST", "/v1/configuration/datasets", body, NULL, &st, tag);
	CHECK_EQ(st, 201);
	snprintf(id1, sizeof(id1), "%s", jstr(j, "dataset_id"));
	CHECK(strlen(id1) == 36);
	CHECK_EQ(json_integer_value(json_object_get(j, "maximum_size")), 1073741824);
	CHECK(!strcmp(jstr(json_object_get(j, "metadata"), "owner"), "team-x"));
	CHECK(!strcmp(jstr(json_object_get(j, "metadata"), "name"), v1));
	CHECK(json_is_false(json_object_get(j, "deleted")));
	json_decref(j);
	printf("ok POST /v1/configuration/datasets: 201, dataset_id %s\n", id1);

	/* the same name again: 409 naming the volume */
	j = api_json(&c, "POST", "/v1/configuration/datasets", body, NULL, &st, NULL);
	CHECK_EQ(st, 409);
	CHECK(strstr(jstr(j, "description"), "exists"));
	json_decref(j);
	/* bad requests */
	j = api_json(&c, "POST", "/v1/configuration/datasets", "{\"metadata\": ", NULL, &st, NULL);
	CHECK_EQ(st, 400);
	json_decref(j);
	j = api_json(&c, "POST", "/v1/configuration/datasets", "{\"maximum_size\": 5}", NULL, &st,
		     NULL);
	CHECK_EQ(st, 400);
	CHECK(strstr(jstr(j, "description"), "name"));
	json_decref(j);
	j = api_json(&c, "POST", "/v1/configuration/datasets",
		     "{\"metadata\": {\"name\": \"x y\"}}", NULL, &st, NULL);
	CHECK_EQ(st, 400);
	json_decref(j);
	j = api_json(&c, "POST", "/v1/configuration/datasets",
		     "{\"metadata\": {\"name\": \"zz\"}, \"colour\": 1}", NULL, &st, NULL);
	CHECK_EQ(st, 400);
	CHECK(strstr(jstr(j, "description"), "unknown field"));
	json_decref(j);
	for (i = 0; i < 60; i++)
		deep[i] = '[';
	snprintf(deep + 60, sizeof(deep) - 60, "]");
	j = api_json(&c, "POST", "/v1/configuration/datasets", deep, NULL, &st, NULL);
	CHECK_EQ(st, 400);
	CHECK(strstr(jstr(j, "description"), "nested"));
	json_decref(j);
	j = api_json(&c, "DELETE",
		     "/v1/configuration/datasets/00000000-0000-4000-8000-000000000000", NULL, NULL,
		     &st, NULL);
	CHECK_EQ(st, 404);
	json_decref(j);
	j = api_json(&c, "PUT", "/v1/configuration/datasets", "{}", NULL, &st, NULL);
	CHECK_EQ(st, 405);
	json_decref(j);
	j = api_json(&c, "GET", "/v1/nothing", NULL, NULL, &st, NULL);
	CHECK_EQ(st, 404);
	json_decref(j);
	{
		/* a body over the limit: refused by the HTTP layer (413) or closed */
		char *big = malloc(FL_API_BODY_MAX + 100);
		struct fl_http_resp r;

		memset(big, ' ', FL_API_BODY_MAX + 99);
		big[0] = '{';
		big[FL_API_BODY_MAX + 98] = '}';
		big[FL_API_BODY_MAX + 99] = '\0';
		if (ct_api(&c, "POST", "/v1/configuration/datasets", big, NULL, &r) == 0)
			CHECK(r.status == 413 || r.status == 400);
		fl_http_resp_free(&r);
		free(big);
	}
	printf("ok errors: 409 exists, 400 bad JSON / missing name / bad name / unknown field / too deep, 404, 405, 413\n");

	/* conditional writes */
	j = api_json(&c, "GET", "/v1/configuration/datasets", NULL, NULL, &st, tag);
	CHECK_EQ(st, 200);
	CHECK(find_ds(j, v1, false));
	json_decref(j);
	snprintf(body, sizeof(body), "{\"metadata\": {\"name\": \"%s\"}}", v2);
	snprintf(tag2, sizeof(tag2), "%llu", strtoull(tag, NULL, 10) + 7);
	j = api_json(&c, "POST", "/v1/configuration/datasets", body, tag2, &st, NULL);
	CHECK_EQ(st, 412);
	json_decref(j);
	j = api_json(&c, "GET", "/v1/configuration/datasets", NULL, NULL, &st, NULL);
	CHECK(!find_ds(j, v2, false));
	json_decref(j);
	j = api_json(&c, "POST", "/v1/configuration/datasets", body, tag, &st, tag2);
	CHECK_EQ(st, 201);
	json_decref(j);
	CHECK(strtoull(tag2, NULL, 10) > strtoull(tag, NULL, 10));
	/* the old tag no longer matches: a delete with it changes nothing */
	snprintf(path, sizeof(path), "/v1/configuration/datasets/%s", id1);
	j = api_json(&c, "DELETE", path, NULL, tag, &st, NULL);
	CHECK_EQ(st, 412);
	json_decref(j);
	j = api_json(&c, "GET", "/v1/configuration/datasets", NULL, NULL, &st, NULL);
	CHECK(find_ds(j, v1, false));
	json_decref(j);
	printf("ok conditional writes: stale X-If-Configuration-Matches gives 412 and changes nothing; the tag grows\n");

	/* remove to the trash, reuse the name, restore under another name */
	j = api_json(&c, "DELETE", path, NULL, tag2, &st, NULL);
	CHECK_EQ(st, 200);
	CHECK(json_is_true(json_object_get(j, "deleted")));
	json_decref(j);
	j = api_json(&c, "GET", "/v1/configuration/datasets", NULL, NULL, &st, NULL);
	CHECK(!find_ds(j, v1, false));
	d = find_ds(j, v1, true);
	CHECK(d && !strcmp(jstr(d, "dataset_id"), id1));
	json_decref(j);
	snprintf(body, sizeof(body), "{\"metadata\": {\"name\": \"%s\"}}", v1);
	j = api_json(&c, "POST", "/v1/configuration/datasets", body, NULL, &st, NULL);
	CHECK_EQ(st, 201);
	snprintf(id1b, sizeof(id1b), "%s", jstr(j, "dataset_id"));
	CHECK(strcmp(id1b, id1));
	json_decref(j);
	j = api_json(&c, "POST", path, "{\"deleted\": false}", NULL, &st, NULL);
	CHECK_EQ(st, 409);
	CHECK(strstr(jstr(j, "description"), "taken"));
	json_decref(j);
	snprintf(body, sizeof(body), "{\"deleted\": false, \"metadata\": {\"name\": \"%s-old\"}}",
		 v1);
	j = api_json(&c, "POST", path, body, NULL, &st, NULL);
	CHECK_EQ(st, 200);
	CHECK(!strcmp(jstr(j, "dataset_id"), id1));
	json_decref(j);
	{
		struct fl_store *st0 = ct_rados();
		struct fl_volreg_rec rr;
		struct fl_volume *vv = NULL;
		char nm[80];

		snprintf(nm, sizeof(nm), "%s-old", v1);
		CHECK_EQ(fl_volume_open(st0, nm, &vv, NULL, 0), 0);
		CHECK(!strcmp(vv->super.uuid, id1));
		CHECK(!strcmp(vv->super.name, nm));
		fl_volume_close(vv);
		(void)rr;
		fl_store_close(st0);
	}
	printf("ok DELETE moves to the trash; the name is free at once; restore refuses a taken name, restores under a new one\n");

	/* nodes, moves and leases: two simulated agents */
	ct_sim_init(&a, "node-a");
	ct_sim_init(&b, "node-b");
	CHECK_EQ(ct_sim_connect(&a, c.agent_port), 0);
	CHECK_EQ(ct_sim_connect(&b, c.agent_port), 0);
	j = api_json(&c, "GET", "/v1/state/nodes", NULL, NULL, &st, NULL);
	CHECK_EQ(st, 200);
	CHECK_EQ(json_array_size(j), 2);
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/configuration/datasets/%s", id1b);
	j = api_json(&c, "POST", path, "{\"primary\": \"node-a\"}", NULL, &st, NULL);
	CHECK_EQ(st, 200);
	CHECK(!strcmp(jstr(j, "primary"), a.uuid));
	json_decref(j);
	/* node-a is idle: moving to node-b asks it to unmount (it agrees) */
	a.unmount_answer = 0;
	pump_start(&pa, &a);
	snprintf(body, sizeof(body), "{\"primary\": \"%s\"}", b.uuid);
	j = api_json(&c, "POST", path, body, NULL, &st, NULL);
	pump_stop(&pa);
	CHECK_EQ(st, 200);
	CHECK(!strcmp(jstr(j, "primary"), b.uuid));
	CHECK_EQ(a.pushes, 1);
	json_decref(j);
	/* node-b uses it: a move away is refused, naming node-b */
	snprintf(b.mounts[0].uuid, sizeof(b.mounts[0].uuid), "%s", id1b);
	snprintf(b.mounts[0].name, sizeof(b.mounts[0].name), "%s", v1);
	b.mounts[0].users = 1;
	b.nmounts = 1;
	CHECK_EQ(ct_sim_heartbeat(&b, 5000), 0);
	j = api_json(&c, "POST", path, "{\"primary\": \"node-a\"}", NULL, &st, NULL);
	CHECK_EQ(st, 409);
	CHECK(strstr(jstr(j, "description"), "in use on node node-b since"));
	json_decref(j);
	j = api_json(&c, "GET", "/v1/state/datasets", NULL, NULL, &st, NULL);
	CHECK_EQ(st, 200);
	CHECK_EQ(json_array_size(j), 1);
	CHECK(!strcmp(jstr(json_array_get(j, 0), "dataset_id"), id1b));
	json_decref(j);
	/* and it cannot be removed while in use */
	j = api_json(&c, "DELETE", path, NULL, NULL, &st, NULL);
	CHECK_EQ(st, 409);
	json_decref(j);
	printf("ok moves: to a node at once when free, from an idle node after it unmounts, refused from a node using it (409 naming it)\n");

	/* leases through the API */
	j = api_json(&c, "GET", "/v1/configuration/leases", NULL, NULL, &st, NULL);
	CHECK_EQ(json_array_size(j), 1);
	CHECK(!strcmp(jstr(json_array_get(j, 0), "node_uuid"), b.uuid));
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/configuration/leases/%s", id1b);
	b.nmounts = 0;
	CHECK_EQ(ct_sim_heartbeat(&b, 5000), 0);
	j = api_json(&c, "DELETE", path, NULL, NULL, &st, NULL);
	CHECK_EQ(st, 200);
	json_decref(j);
	snprintf(body, sizeof(body),
		 "{\"dataset_id\": \"%s\", \"node_uuid\": \"%s\", \"expires\": 3}", id1b, a.uuid);
	j = api_json(&c, "POST", "/v1/configuration/leases", body, NULL, &st, NULL);
	CHECK_EQ(st, 201);
	CHECK(json_number_value(json_object_get(j, "expires")) > 1);
	json_decref(j);
	{
		const char *kv[] = {"volume", v1, NULL};
		char msg[256];

		CHECK_EQ(ct_sim_call(&b, "acquire", kv, 5000, msg, sizeof(msg), NULL), -EBUSY);
		CHECK(strstr(msg, "leased to node node-a"));
		ct_sleep_ms(3500);
		CHECK_EQ(ct_sim_call(&b, "acquire", kv, 5000, msg, sizeof(msg), NULL), 0);
	}
	printf("ok leases: listed, released (DELETE), an operator lease pins a volume until it expires\n");

	/* flockerctl */
	CHECK_EQ(ct_flockerctl(&c, out, sizeof(out), "volume create %s --size 2G --meta tier=gold",
			       v3),
		 0);
	CHECK_EQ(ct_flockerctl(&c, out, sizeof(out), "volume list"), 0);
	CHECK(strstr(out, v3) && strstr(out, "2.0G"));
	CHECK_EQ(ct_flockerctl(&c, out, sizeof(out), "--json volume list"), 0);
	j = json_loads(out, 0, NULL);
	CHECK(j);
	d = find_ds(json_object_get(j, "configuration"), v3, false);
	CHECK(d);
	snprintf(id3, sizeof(id3), "%s", jstr(d, "dataset_id"));
	CHECK(!strcmp(jstr(json_object_get(d, "metadata"), "tier"), "gold"));
	json_decref(j);
	CHECK_EQ(ct_flockerctl(&c, out, sizeof(out), "node list"), 0);
	CHECK(strstr(out, "node-a") && strstr(out, "node-b"));
	CHECK_EQ(ct_flockerctl(&c, out, sizeof(out), "volume move %s --to node-a", v3), 0);
	CHECK_EQ(ct_flockerctl(&c, out, sizeof(out), "lease list"), 0);
	CHECK(strstr(out, v3) && strstr(out, "node-a"));
	CHECK_EQ(ct_flockerctl(&c, out, sizeof(out), "lease release %s", v3), 0);
	CHECK_EQ(ct_flockerctl(&c, out, sizeof(out), "volume remove %s", v3), 0);
	CHECK(strstr(out, "trash"));
	CHECK_EQ(ct_flockerctl(&c, out, sizeof(out), "volume list --trash"), 0);
	CHECK(strstr(out, v3));
	CHECK_EQ(ct_flockerctl(&c, out, sizeof(out), "volume remove %s", v3), 1);
	CHECK(strstr(out, "no such volume"));
	CHECK_EQ(ct_flockerctl(&c, out, sizeof(out), "volume restore %s", v3), 0);
	CHECK_EQ(ct_flockerctl(&c, out, sizeof(out), "volume list"), 0);
	CHECK(strstr(out, v3));
	CHECK_EQ(ct_flockerctl(&c, out, sizeof(out), "volume create %s", v3), 1);
	CHECK(strstr(out, "exists"));
	CHECK_EQ(ct_flockerctl(&c, out, sizeof(out), "--if-tag 1 volume remove %s", v3), 1);
	CHECK(strstr(out, "412"));
	printf("ok flockerctl: volume create/list/move/remove/restore, node list, lease list/release, --if-tag\n");

	/* the trash is purged after its TTL (15 s here: long enough for the
	 * remove, list, restore above under a sanitizer build): the objects go */
	CHECK_EQ(ct_flockerctl(&c, out, sizeof(out), "volume remove %s", v3), 0);
	{
		struct fl_store *st0 = ct_rados(), *vs;
		char ns[64];
		double end = ct_now() + 45;
		int count;

		snprintf(ns, sizeof(ns), "vol.%s", id3);
		vs = st0->ops->clone_ns(st0, ns);
		do {
			ct_sleep_ms(500);
			j = api_json(&c, "GET", "/v1/configuration/datasets", NULL, NULL, &st,
				     NULL);
			count = find_ds(j, v3, true) != NULL;
			json_decref(j);
		} while (count && ct_now() < end);
		CHECK(!count);
		CHECK_EQ(vs->ops->stat(vs, FL_OID_SUPER, NULL), -ENOENT);
		fl_store_close(vs);
		fl_store_close(st0);
	}
	printf("ok the trash is purged after its TTL, objects included\n");

	ct_sim_free(&a);
	ct_sim_free(&b);
	ct_control_kill(&c, SIGTERM);
	printf("test_control api: all checks passed\n");
	return 0;
}

/* ------------------------------------------------------------------ */

struct racer {
	struct ct_sim *s;
	const char *vol;
	pthread_barrier_t *bar;
	int ret;
	char msg[256];
};

static void *race_thread(void *p)
{
	struct racer *r = p;
	const char *kv[] = {"volume", r->vol, NULL};

	pthread_barrier_wait(r->bar);
	r->ret = ct_sim_call(r->s, "acquire", kv, 20000, r->msg, sizeof(r->msg), NULL);
	/* the winner keeps answering pushes as "in use" while the loser finishes */
	ct_sim_pump(r->s, 500);
	return NULL;
}

static int test_leases(void)
{
	struct ct_control c;
	struct ct_sim a, b;
	struct pump pb;
	char v[64], uuid[37], msg[512], addr[128], err[512];
	const char *extra[] = {"--lease", "4", "--heartbeat", "1", NULL};
	struct fl_store *st_a, *st_b;
	struct fl_volume *va = NULL;
	struct fl_holder h;
	double t0, end;
	int round, wins, ret;

	ct_init("leases");
	ct_node_cert("host-a");
	ct_node_cert("host-b");
	ct_control_start(&c, 0, 0, true, extra);
	ct_sim_init(&a, "host-a");
	ct_sim_init(&b, "host-b");
	CHECK_EQ(ct_sim_connect(&a, c.agent_port), 0);
	CHECK_EQ(ct_sim_connect(&b, c.agent_port), 0);

	/* two nodes asking at the same instant: exactly one wins, every time */
	for (round = 0; round < 8; round++) {
		struct racer ra = {0}, rb = {0};
		pthread_barrier_t bar;
		pthread_t ta, tb;
		char n[16];
		const char *kv[] = {"volume", v, NULL};

		snprintf(n, sizeof(n), "race%d", round);
		vname(v, sizeof(v), n);
		CHECK_EQ(ct_sim_call(&a, "create", kv, 20000, msg, sizeof(msg), uuid), 0);
		pthread_barrier_init(&bar, NULL, 2);
		ra.s = &a;
		rb.s = &b;
		ra.vol = rb.vol = v;
		ra.bar = rb.bar = &bar;
		a.unmount_answer = b.unmount_answer = -EBUSY;
		pthread_create(&ta, NULL, race_thread, &ra);
		pthread_create(&tb, NULL, race_thread, &rb);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		pthread_barrier_destroy(&bar);
		/* keep both nodes alive for the next round */
		CHECK_EQ(ct_sim_heartbeat(&a, 5000), 0);
		CHECK_EQ(ct_sim_heartbeat(&b, 5000), 0);
		wins = (ra.ret == 0) + (rb.ret == 0);
		if (wins != 1)
			fprintf(stderr, "round %d: a %d (%s), b %d (%s)\n", round, ra.ret, ra.msg,
				rb.ret, rb.msg);
		CHECK_EQ(wins, 1);
		CHECK(ra.ret == 0 ? rb.ret == -EBUSY : ra.ret == -EBUSY);
		if (!strstr(ra.ret ? ra.msg : rb.msg, ra.ret ? "host-b" : "host-a"))
			fprintf(stderr, "round %d: a %d (%s), b %d (%s)\n", round, ra.ret, ra.msg,
				rb.ret, rb.msg);
		CHECK(strstr(ra.ret ? ra.msg : rb.msg, ra.ret ? "host-b" : "host-a"));
	}
	printf("ok 8 rounds of two nodes acquiring one volume at once: exactly one wins, the other is told who holds it\n");

	/* an idle holder gives the volume up on request */
	vname(v, sizeof(v), "handoff");
	{
		const char *kv[] = {"volume", v, NULL};

		CHECK_EQ(ct_sim_call(&a, "create", kv, 20000, msg, sizeof(msg), uuid), 0);
		CHECK_EQ(ct_sim_call(&a, "acquire", kv, 5000, msg, sizeof(msg), NULL), 0);
		a.unmount_answer = 0;
		a.pushes = 0;
		pump_start(&pb, &a);
		CHECK_EQ(ct_sim_call(&b, "acquire", kv, 20000, msg, sizeof(msg), NULL), 0);
		pump_stop(&pb);
		CHECK_EQ(a.pushes, 1);
		CHECK_EQ(ct_sim_heartbeat(&a, 5000), 0);
	}
	printf("ok a live idle holder unmounts on request and the other node gets the volume\n");

	/* a dead holder is fenced */
	vname(v, sizeof(v), "dead");
	{
		const char *kv[] = {"volume", v, NULL};

		CHECK_EQ(ct_sim_call(&a, "create", kv, 20000, msg, sizeof(msg), uuid), 0);
		CHECK_EQ(ct_sim_call(&a, "acquire", kv, 5000, msg, sizeof(msg), NULL), 0);
		/* node a "mounts" it: its own RADOS client takes the writer lock */
		st_a = ct_rados();
		CHECK_EQ(fl_volume_open(st_a, v, &va, err, sizeof(err)), 0);
		CHECK_EQ(fl_volume_lock(va, 60, false, err, sizeof(err)), 0);
		CHECK_EQ(st_a->ops->self_addr(st_a, addr, sizeof(addr)), 0);
		snprintf(a.mounts[0].uuid, sizeof(a.mounts[0].uuid), "%s", uuid);
		snprintf(a.mounts[0].name, sizeof(a.mounts[0].name), "%s", v);
		snprintf(a.mounts[0].addr, sizeof(a.mounts[0].addr), "%s", addr);
		a.mounts[0].users = 1;
		a.nmounts = 1;
		CHECK_EQ(ct_sim_heartbeat(&a, 5000), 0);
		t0 = ct_now();
		/* alive and using it: refused, naming it and since when */
		CHECK_EQ(ct_sim_call(&b, "acquire", kv, 5000, msg, sizeof(msg), NULL), -EBUSY);
		CHECK(strstr(msg, "in use on node host-a since"));
		printf("ok refused while the holder is alive and uses it: %s\n", msg);
		/* a stops heartbeating (frozen, partitioned); b keeps asking */
		end = ct_now() + 30;
		do {
			ct_sleep_ms(500);
			CHECK_EQ(ct_sim_heartbeat(&b, 5000), 0);
			ret = ct_sim_call(&b, "acquire", kv, 20000, msg, sizeof(msg), NULL);
		} while (ret == -EBUSY && ct_now() < end);
		CHECK_EQ(ret, 0);
		printf("ok granted %.1f s after the holder's last heartbeat (lease 4 s)\n",
		       ct_now() - t0);
		CHECK(ct_now() - t0 >= 3.5);
		/* the dead holder's RADOS client is blocklisted: its writes fail */
		end = ct_now() + 30;
		do {
			ret = st_a->ops->write_full(st_a, "ctltest.fenced", "x", 1);
			if (ret != -ESHUTDOWN)
				ct_sleep_ms(200);
		} while (ret != -ESHUTDOWN && ct_now() < end);
		CHECK_EQ(ret, -ESHUTDOWN);
		/* and its lock is gone: another client can take the volume */
		st_b = ct_rados();
		{
			struct fl_volume *vb = NULL;

			CHECK_EQ(fl_volume_open(st_b, v, &vb, err, sizeof(err)), 0);
			CHECK(fl_volume_holder(vb, &h) == 0 || strcmp(h.addr, addr));
			CHECK_EQ(fl_volume_lock(vb, 30, false, err, sizeof(err)), 0);
			fl_volume_close(vb);
		}
		fl_store_close(st_b);
		printf("ok the dead holder's RADOS client %s is blocklisted (its writes fail) and its lock broken\n",
		       addr);
		va->locked = false; /* its lock was broken: nothing to release */
		fl_volume_close(va);
		fl_store_close(st_a);
	}
	ct_sim_free(&a);
	ct_sim_free(&b);
	ct_control_kill(&c, SIGTERM);
	printf("test_control leases: all checks passed\n");
	return 0;
}

/* ------------------------------------------------------------------ */

/* A mount daemon that holds the writer lock and watches, but never answers in time. */
static size_t mute_reply(void *arg, char *buf, size_t cap)
{
	(void)arg;
	(void)buf;
	(void)cap;
	ct_sleep_ms(1500); /* past control's 1 s probe */
	return 0;
}

struct hb_meter {
	struct ct_sim *s;
	volatile int stop;
	pthread_t th;
	double worst, sum;
	int n, failed;
};

static void *hb_thread(void *p)
{
	struct hb_meter *m = p;
	double t0, took;

	while (!m->stop) {
		t0 = ct_now();
		if (ct_sim_heartbeat(m->s, 10000))
			m->failed++;
		took = ct_now() - t0;
		m->sum += took;
		m->n++;
		if (took > m->worst)
			m->worst = took;
		ct_sleep_ms(100);
	}
	return NULL;
}

struct acquirer {
	struct ct_sim s;
	char vol[64];
	int ret;
	char msg[512];
	double took;
	pthread_t th;
};

static void *acquirer_thread(void *p)
{
	struct acquirer *q = p;
	const char *kv[] = {"volume", q->vol, NULL};
	double t0 = ct_now();

	q->ret = ct_sim_call(&q->s, "acquire", kv, 30000, q->msg, sizeof(q->msg), NULL);
	q->took = ct_now() - t0;
	return NULL;
}

#define SLOW_N 3

/*
 * Node s's mount daemon of volume name (uuid), on its own RADOS client st:
 * holds the writer lock, renews it, answers probes; s's heartbeat reports
 * the mount.  The volume in *v.
 */
static void holder_mount(struct ct_sim *s, struct fl_store *st, const char *name, const char *uuid,
			 struct fl_volume **v)
{
	char addr[128], err[512];

	CHECK_EQ(fl_volume_open(st, name, v, err, sizeof(err)), 0);
	CHECK_EQ(fl_volume_lock(*v, 60, false, err, sizeof(err)), 0);
	CHECK_EQ(fl_volume_watch(*v), 0);
	CHECK_EQ(st->ops->self_addr(st, addr, sizeof(addr)), 0);
	snprintf(s->mounts[0].uuid, sizeof(s->mounts[0].uuid), "%s", uuid);
	snprintf(s->mounts[0].name, sizeof(s->mounts[0].name), "%s", name);
	snprintf(s->mounts[0].addr, sizeof(s->mounts[0].addr), "%s", addr);
	s->mounts[0].users = 1;
	s->nmounts = 1;
	CHECK_EQ(ct_sim_heartbeat(s, 5000), 0);
}

/*
 * A reconnect storm while RADOS is slow: every hello writes the node's record
 * (ctl.nodes).  Control's RADOS client gets each OSD reply late (Ceph's own
 * ms_inject_delay_*: up to STORM_DELAY s, at random), as on a loaded cluster,
 * and STORM_N agents connect at once, as after a failover.  The heartbeats of
 * a node already connected must still be answered at once: the writes run
 * off the event loop.
 */
#define STORM_N	    16
#define STORM_DELAY "0.3"

struct stormer {
	struct ct_sim s;
	int ret;
	double took;
	unsigned port;
	char vol[64];
	pthread_t th;
};

static void *stormer_tls_thread(void *p)
{
	struct stormer *x = p;

	x->ret = ct_sim_connect_tls(&x->s, x->port);
	return NULL;
}

/* Each storm agent takes a volume of its own and gives it back. */
static void *stormer_lease_thread(void *p)
{
	struct stormer *x = p;
	const char *kv[] = {"volume", x->vol, NULL};
	char msg[512];
	double t0 = ct_now();

	x->ret = ct_sim_call(&x->s, "acquire", kv, 20000, msg, sizeof(msg), NULL);
	if (!x->ret)
		x->ret = ct_sim_call(&x->s, "release", kv, 20000, msg, sizeof(msg), NULL);
	if (x->ret)
		fprintf(stderr, "%s: %s\n", x->vol, msg);
	x->took = ct_now() - t0;
	return NULL;
}

static void *stormer_hello_thread(void *p)
{
	struct stormer *x = p;
	double t0 = ct_now();

	x->ret = ct_sim_hello(&x->s);
	x->took = ct_now() - t0;
	return NULL;
}

static int count_cb(void *arg, const char *key, const void *val, size_t len)
{
	(void)key;
	(void)val;
	(void)len;
	++*(int *)arg;
	return 0;
}

/*
 * The STORM_N stormers run fn all at once while hb measures the heartbeats
 * (its counts start afresh); hb stops 0.3 s after the last answer.  Returns
 * the seconds until every stormer was answered; failures add to *failed.
 */
static double storm_run(struct stormer *x, void *(*fn)(void *), struct hb_meter *hb, int *failed)
{
	double t0, took;
	int i;

	hb->worst = hb->sum = 0;
	hb->n = 0;
	t0 = ct_now();
	for (i = 0; i < STORM_N; i++)
		pthread_create(&x[i].th, NULL, fn, &x[i]);
	for (i = 0; i < STORM_N; i++) {
		pthread_join(x[i].th, NULL);
		if (x[i].ret)
			(*failed)++;
	}
	took = ct_now() - t0;
	ct_sleep_ms(300);
	hb->stop = 1;
	pthread_join(hb->th, NULL);
	return took;
}

static void test_reconnect_storm(void)
{
	struct ct_control c;
	struct ct_sim h;
	struct stormer x[STORM_N];
	struct hb_meter hb = {0};
	struct fl_store *st, *ns;
	const char *extra[] = {"--lease", "6", "--heartbeat", "1", NULL};
	const char *old = getenv("CEPH_ARGS");
	char args[512], name[32];
	double storm;
	bool more = true;
	int i, nrec = 0, failed = 0;

	ct_node_cert("host-h2");
	for (i = 0; i < STORM_N; i++) {
		snprintf(name, sizeof(name), "host-s%d", i);
		ct_node_cert(name);
	}
	/* the slow replies are control's alone: the test's own clients are not slowed */
	snprintf(args, sizeof(args),
		 "%s --ms_inject_delay_type=osd --ms_inject_delay_max=" STORM_DELAY
		 " --ms_inject_delay_probability=1",
		 old ? old : "");
	old = old ? strdup(old) : NULL;
	setenv("CEPH_ARGS", args, 1);
	ct_control_start(&c, 0, 0, true, extra);
	if (old)
		setenv("CEPH_ARGS", old, 1);
	else
		unsetenv("CEPH_ARGS");
	free((void *)old);
	ct_sim_init(&h, "host-h2");
	CHECK_EQ(ct_sim_connect(&h, c.agent_port), 0);
	hb.s = &h;
	pthread_create(&hb.th, NULL, hb_thread, &hb);
	/* the TLS handshakes first (CPU on the loop, not RADOS), then the hellos at once */
	for (i = 0; i < STORM_N; i++) {
		snprintf(name, sizeof(name), "host-s%d", i);
		ct_sim_init(&x[i].s, name);
		x[i].port = c.agent_port;
		pthread_create(&x[i].th, NULL, stormer_tls_thread, &x[i]);
	}
	for (i = 0; i < STORM_N; i++) {
		pthread_join(x[i].th, NULL);
		CHECK_EQ(x[i].ret, 0);
	}
	ct_sleep_ms(1000);
	printf("heartbeats before the storm (TLS handshakes included): worst answer %.3f s over "
	       "%d\n",
	       hb.worst, hb.n);
	storm = storm_run(x, stormer_hello_thread, &hb, &failed);
	printf("reconnect storm of %d agents, control's RADOS replies delayed up to %s s: all "
	       "hellos answered after %.2f s (%d failed)\n",
	       STORM_N, STORM_DELAY, storm, failed);
	printf("heartbeats of node host-h2 during the storm: worst answer %.3f s, mean %.3f s "
	       "over %d (failed %d)\n",
	       hb.worst, hb.n ? hb.sum / hb.n : 0.0, hb.n, hb.failed);
	CHECK_EQ(failed, 0);
	CHECK_EQ(hb.failed, 0);
	/* a heartbeat is answered in a few ms; the storm's writes on the loop held it
	 * for seconds (STORM_N writes one after another).  0.5 s leaves room for a
	 * loaded test machine. */
	CHECK(hb.worst < 0.5);
	/* every hello was answered only once its node's record was in RADOS */
	st = ct_rados();
	ns = st->ops->clone_ns(st, ct.state_ns);
	CHECK(ns != NULL);
	CHECK_EQ(ns->ops->omap_list(ns, FL_CTL_NODES_OID, NULL, UINT32_MAX, count_cb, &nrec, &more),
		 0);
	printf("ctl.nodes holds %d records\n", nrec);
	CHECK(nrec >= STORM_N + 1);
	printf("ok heartbeats answered in time during a reconnect storm of %d agents on slow "
	       "RADOS; every node's record was written before its hello was answered\n",
	       STORM_N);

	/* then each agent acquires a volume of its own and releases it, all at once:
	 * registry reads and guarded lease writes, on slow RADOS too */
	for (i = 0; i < STORM_N; i++) {
		char err[512];

		snprintf(name, sizeof(name), "storm%d", i);
		vname(x[i].vol, sizeof(x[i].vol), name);
		CHECK_EQ(fl_volume_create(st, x[i].vol, 0, 0, err, sizeof(err)), 0);
	}
	hb.stop = 0;
	hb.worst = hb.sum = 0;
	hb.n = hb.failed = 0;
	pthread_create(&hb.th, NULL, hb_thread, &hb);
	ct_sleep_ms(300);
	storm = storm_run(x, stormer_lease_thread, &hb, &failed);
	printf("%d acquires and releases at once on slow RADOS: all answered after %.2f s (%d "
	       "failed); heartbeats of node host-h2 meanwhile: worst answer %.3f s, mean %.3f s "
	       "over %d (failed %d)\n",
	       STORM_N, storm, failed, hb.worst, hb.n ? hb.sum / hb.n : 0.0, hb.n, hb.failed);
	CHECK_EQ(failed, 0);
	CHECK_EQ(hb.failed, 0);
	CHECK(hb.worst < 0.5);
	printf("ok heartbeats answered in time while %d agents took and gave back leases\n",
	       STORM_N);
	fl_store_close(ns);
	fl_store_close(st);
	for (i = 0; i < STORM_N; i++)
		ct_sim_free(&x[i].s);
	ct_sim_free(&h);
	ct_control_kill(&c, SIGTERM);
}

static int test_slow_rados(void)
{
	struct ct_control c;
	struct ct_sim a, h;
	struct acquirer q[SLOW_N];
	struct hb_meter hb = {0};
	struct fl_store *st[SLOW_N], *st_h;
	struct fl_volume *va[SLOW_N], *vh = NULL;
	uint64_t wh[SLOW_N];
	char v[64], w[64], uuid[37], msg[512], addr[128], err[512], name[32];
	const char *extra[] = {"--lease", "4", "--heartbeat", "1", NULL};
	json_t *j;
	int i, stc;

	ct_init("slow_rados");
	ct_node_cert("host-a");
	ct_node_cert("host-h");
	for (i = 0; i < SLOW_N; i++) {
		snprintf(name, sizeof(name), "host-b%d", i);
		ct_node_cert(name);
	}
	ct_control_start(&c, 0, 0, true, extra);
	ct_sim_init(&a, "host-a");
	ct_sim_init(&h, "host-h");
	CHECK_EQ(ct_sim_connect(&a, c.agent_port), 0);
	CHECK_EQ(ct_sim_connect(&h, c.agent_port), 0);

	/* node h: a healthy holder whose mount daemon answers probes */
	vname(w, sizeof(w), "healthy");
	{
		const char *kv[] = {"volume", w, NULL};

		CHECK_EQ(ct_sim_call(&h, "create", kv, 20000, msg, sizeof(msg), uuid), 0);
		CHECK_EQ(ct_sim_call(&h, "acquire", kv, 5000, msg, sizeof(msg), NULL), 0);
	}
	st_h = ct_rados();
	holder_mount(&h, st_h, w, uuid, &vh);

	/* node a: SLOW_N volumes, each mounted by its own RADOS client that never answers */
	for (i = 0; i < SLOW_N; i++) {
		const char *kv[] = {"volume", v, NULL};

		snprintf(name, sizeof(name), "mute%d", i);
		vname(v, sizeof(v), name);
		snprintf(q[i].vol, sizeof(q[i].vol), "%s", v);
		CHECK_EQ(ct_sim_call(&a, "create", kv, 20000, msg, sizeof(msg), uuid), 0);
		CHECK_EQ(ct_sim_call(&a, "acquire", kv, 5000, msg, sizeof(msg), NULL), 0);
		st[i] = ct_rados();
		CHECK_EQ(fl_volume_open(st[i], v, &va[i], err, sizeof(err)), 0);
		CHECK_EQ(fl_volume_lock(va[i], 60, false, err, sizeof(err)), 0);
		CHECK_EQ(va[i]->st->ops->watch(va[i]->st, FL_OID_SUPER, mute_reply, NULL, &wh[i]),
			 0);
		CHECK_EQ(st[i]->ops->self_addr(st[i], addr, sizeof(addr)), 0);
		snprintf(a.mounts[i].uuid, sizeof(a.mounts[i].uuid), "%s", uuid);
		snprintf(a.mounts[i].name, sizeof(a.mounts[i].name), "%s", v);
		snprintf(a.mounts[i].addr, sizeof(a.mounts[i].addr), "%s", addr);
		a.mounts[i].users = 1;
	}
	a.nmounts = SLOW_N;
	CHECK_EQ(ct_sim_heartbeat(&a, 5000), 0);

	/* h heartbeats all along (every 0.1 s) and times each answer */
	hb.s = &h;
	pthread_create(&hb.th, NULL, hb_thread, &hb);
	/* a goes silent; past its lease, SLOW_N nodes ask for its volumes at once */
	ct_sim_close(&a);
	ct_sleep_ms(5500);
	for (i = 0; i < SLOW_N; i++) {
		snprintf(name, sizeof(name), "host-b%d", i);
		ct_sim_init(&q[i].s, name);
		CHECK_EQ(ct_sim_connect(&q[i].s, c.agent_port), 0);
	}
	printf("heartbeats before the probes: worst answer %.3f s over %d\n", hb.worst, hb.n);
	hb.worst = hb.sum = 0;
	hb.n = 0;
	for (i = 0; i < SLOW_N; i++)
		pthread_create(&q[i].th, NULL, acquirer_thread, &q[i]);
	for (i = 0; i < SLOW_N; i++)
		pthread_join(q[i].th, NULL);
	ct_sleep_ms(300);
	hb.stop = 1;
	pthread_join(hb.th, NULL);
	for (i = 0; i < SLOW_N; i++) {
		printf("acquire of %s (silent holder, mute mount daemon): %d after %.2f s%s%s\n",
		       q[i].vol, q[i].ret, q[i].took, q[i].ret ? ": " : "",
		       q[i].ret ? q[i].msg : "");
		CHECK_EQ(q[i].ret, 0);
	}
	printf("heartbeats of node host-h during %d probes of 1 s each: worst answer %.3f s, "
	       "mean %.3f s over %d (failed %d)\n",
	       SLOW_N, hb.worst, hb.n ? hb.sum / hb.n : 0.0, hb.n, hb.failed);
	CHECK_EQ(hb.failed, 0);
	/* a heartbeat is answered in a few ms; a probe on the loop held it 1 s or more.
	 * 0.5 s leaves room for a loaded test machine. */
	CHECK(hb.worst < 0.5);
	printf("ok heartbeats answered in time while %d silent holders were probed and fenced\n",
	       SLOW_N);

	/* the healthy node kept its volume and its RADOS client */
	{
		const char *kv[] = {"volume", w, NULL};

		CHECK_EQ(ct_sim_call(&q[0].s, "acquire", kv, 20000, msg, sizeof(msg), NULL),
			 -EBUSY);
		CHECK(strstr(msg, "in use on node host-h"));
	}
	CHECK_EQ(st_h->ops->write_full(st_h, "ctltest.healthy", "x", 1), 0);
	CHECK_EQ(fl_volume_renew(vh), 0);
	j = api_json(&c, "GET", "/v1/configuration/leases", NULL, NULL, &stc, NULL);
	CHECK_EQ(stc, 200);
	{
		size_t k;
		json_t *l;
		int mine = 0;

		json_array_foreach(j, k, l)
		{
			if (!strcmp(jstr(l, "node"), "host-h"))
				mine++;
		}
		CHECK_EQ(mine, 1);
	}
	json_decref(j);
	printf("ok the healthy node host-h was not fenced: its lease, its lock and its RADOS client stand\n");

	for (i = 0; i < SLOW_N; i++) {
		va[i]->st->ops->unwatch(va[i]->st, wh[i]);
		va[i]->locked = false; /* fenced: its lock was broken */
		fl_volume_close(va[i]);
		fl_store_close(st[i]);
		ct_sim_free(&q[i].s);
	}
	fl_volume_close(vh);
	fl_store_close(st_h);
	ct_sim_free(&a);
	ct_sim_free(&h);
	ct_control_kill(&c, SIGTERM);
	test_reconnect_storm();
	printf("test_control slow_rados: all checks passed\n");
	return 0;
}

/* ------------------------------------------------------------------ */

struct rewatcher {
	struct fl_volume *v;
	int ret;
	pthread_t th;
};

/* What the mount daemon does once it sees its watch broken (within 0.5 s). */
static void *rewatch_thread(void *p)
{
	struct rewatcher *w = p;

	ct_sleep_ms(300);
	w->ret = fl_volume_watch(w->v);
	return NULL;
}

static int test_watch_gap(void)
{
	struct ct_control c;
	struct ct_sim a, b;
	struct fl_store *st;
	struct fl_volume *vw = NULL;
	struct rewatcher rw = {0};
	char v[64], uuid[37], msg[512];
	const char *extra[] = {"--lease", "4", "--heartbeat", "1", NULL};
	const char *kv[] = {"volume", v, NULL};
	int ret;

	ct_init("watch_gap");
	ct_node_cert("host-a");
	ct_node_cert("host-b");
	ct_control_start(&c, 0, 0, true, extra);
	ct_sim_init(&a, "host-a");
	ct_sim_init(&b, "host-b");
	CHECK_EQ(ct_sim_connect(&a, c.agent_port), 0);
	vname(v, sizeof(v), "gap");
	CHECK_EQ(ct_sim_call(&a, "create", kv, 20000, msg, sizeof(msg), uuid), 0);
	CHECK_EQ(ct_sim_call(&a, "acquire", kv, 5000, msg, sizeof(msg), NULL), 0);
	/* a's mount daemon: holds the writer lock, renews it, answers probes */
	st = ct_rados();
	holder_mount(&a, st, v, uuid, &vw);
	/* a's agent stops (a restart); past the lease, b asks for the volume just as the
	 * daemon's watch breaks: the probe finds nobody watching */
	ct_sim_close(&a);
	ct_sleep_ms(5500);
	CHECK_EQ(ct_sim_connect(&b, c.agent_port), 0);
	CHECK_EQ(fl_volume_renew(vw), 0);
	CHECK_EQ(vw->st->ops->unwatch(vw->st, vw->watch), 0);
	vw->watching = false;
	rw.v = vw;
	pthread_create(&rw.th, NULL, rewatch_thread, &rw);
	ret = ct_sim_call(&b, "acquire", kv, 20000, msg, sizeof(msg), NULL);
	pthread_join(rw.th, NULL);
	CHECK_EQ(rw.ret, 0);
	printf("acquire while the writer's watch was gone for 0.3 s: %d (%s)\n", ret, msg);
	CHECK_EQ(ret, -EBUSY);
	CHECK(strstr(msg, "answers and renewed its lock"));
	/* the writer was not fenced: it still writes and renews */
	CHECK_EQ(st->ops->write_full(st, "ctltest.gap", "x", 1), 0);
	CHECK_EQ(fl_volume_renew(vw), 0);
	printf("ok a probe in the watch gap does not fence the live writer: control asked again\n");
	fl_volume_close(vw);
	fl_store_close(st);
	ct_sim_free(&a);
	ct_sim_free(&b);
	ct_control_kill(&c, SIGTERM);
	printf("test_control watch_gap: all checks passed\n");
	return 0;
}

/* ------------------------------------------------------------------ */

static int count_named(json_t *arr, const char *prefix)
{
	json_t *d;
	size_t i;
	int n = 0;

	json_array_foreach(arr, i, d)
	{
		if (!strncmp(jstr(json_object_get(d, "metadata"), "name"), prefix,
			     strlen(prefix)) &&
		    json_is_false(json_object_get(d, "deleted")))
			n++;
	}
	return n;
}

/* Unix seconds of the first line of log path that contains needle (its ISO UTC stamp), or 0. */
static double log_stamp(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	struct tm tm;
	double t = 0, frac;
	int y, mo, d, h, mi;
	double sec;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, needle))
			continue;
		if (sscanf(line, "%d-%d-%dT%d:%d:%lf", &y, &mo, &d, &h, &mi, &sec) != 6)
			break;
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = d;
		tm.tm_hour = h;
		tm.tm_min = mi;
		frac = sec - (int)sec;
		tm.tm_sec = (int)sec;
		t = (double)timegm(&tm) + frac;
		break;
	}
	fclose(f);
	return t;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int test_failover(void)
{
	struct ct_control c1, c2, c3;
	struct ct_sim a;
	char v[80], body[256], msg[256], tag1[32], tag2[32], pfx[64];
	/* the default --leader-lease: its takeover time is reported */
	const char *e1[] = {"--instance", "ctl-one", "--lease", "6", "--heartbeat", "1", NULL};
	const char *e2[] = {"--instance", "ctl-two", "--lease", "6", "--heartbeat", "1", NULL};
	json_t *j;
	double t0, took, wall0, lock_at, lead_at;
	int st, i, ret;

	ct_init("failover");
	ct_node_cert("host-a");
	ct_control_start(&c1, 0, 0, true, e1);
	/* the standby: same ports (it listens only once it leads) */
	ct_control_start(&c2, c1.api_port, c1.agent_port, false, e2);
	ct_sleep_ms(1500);
	snprintf(pfx, sizeof(pfx), "%s-d", ct.prefix);
	for (i = 0; i < 5; i++) {
		snprintf(body, sizeof(body), "{\"metadata\": {\"name\": \"%s%d\"}}", pfx, i);
		j = api_json(&c1, "POST", "/v1/configuration/datasets", body, NULL, &st, NULL);
		CHECK_EQ(st, 201);
		json_decref(j);
	}
	ct_sim_init(&a, "host-a");
	CHECK_EQ(ct_sim_connect(&a, c1.agent_port), 0);
	snprintf(v, sizeof(v), "%s0", pfx);
	{
		const char *kv[] = {"volume", v, NULL};

		CHECK_EQ(ct_sim_call(&a, "acquire", kv, 5000, msg, sizeof(msg), NULL), 0);
	}
	j = api_json(&c1, "GET", "/v1/configuration/datasets", NULL, NULL, &st, tag1);
	CHECK_EQ(count_named(j, pfx), 5);
	json_decref(j);

	/* kill -9 the leader: the standby takes over without anyone's help */
	t0 = ct_now();
	wall0 = wall_now();
	ct_control_kill(&c1, SIGKILL);
	CHECK(ct_control_wait_api(&c2, 30));
	took = ct_now() - t0;
	/* where the time goes: the lock lapses (the last renewal + the lease), the standby's
	 * next try takes it, the state loads and the ports open, the first API answer */
	lock_at = log_stamp(c2.log, "took the leader lock");
	lead_at = log_stamp(c2.log, "leader: agents on");
	printf("ok standby took over %.1f s after kill -9 of the leader (default leader lease): "
	       "lock taken after %.2f s, serving after %.2f s, API answered after %.2f s\n",
	       took, lock_at ? lock_at - wall0 : -1.0, lead_at ? lead_at - wall0 : -1.0, took);
	CHECK(took < 4 + 4);
	j = api_json(&c2, "GET", "/v1/configuration/datasets", NULL, NULL, &st, tag2);
	CHECK_EQ(count_named(j, pfx), 5);
	json_decref(j);
	CHECK(strtoull(tag2, NULL, 10) > strtoull(tag1, NULL, 10));
	j = api_json(&c2, "GET", "/v1/configuration/leases", NULL, NULL, &st, NULL);
	CHECK_EQ(json_array_size(j), 1);
	CHECK(!strcmp(jstr(json_array_get(j, 0), "node"), "host-a"));
	json_decref(j);
	printf("ok nothing lost: 5 datasets and the lease; the new leader bumped the tag (%s -> %s)\n",
	       tag1, tag2);

	/* the agent reconnects (same address) and keeps its lease */
	ret = ct_sim_heartbeat(&a, 2000);
	CHECK(ret != 0); /* the old connection died with the old leader */
	while ((ret = ct_sim_connect(&a, c2.agent_port)) != 0 && wall_now() - wall0 < 20)
		ct_sleep_ms(250);
	CHECK_EQ(ret, 0);
	printf("the simulated agent (trying every 0.25 s) was back %.2f s after the kill\n",
	       wall_now() - wall0);
	{
		const char *kv[] = {"volume", v, NULL};

		CHECK_EQ(ct_sim_call(&a, "acquire", kv, 5000, msg, sizeof(msg), NULL), 0);
	}
	printf("ok the agent reconnected and still holds its lease\n");

	/* kill -9 and restart in place (same instance): the dead lock is broken at once */
	ct_control_kill(&c2, SIGKILL);
	t0 = ct_now();
	ct_control_start(&c3, c2.api_port, c2.agent_port, true, e2);
	took = ct_now() - t0;
	printf("ok a restarted control service led %.1f s after kill -9 of the last one\n", took);
	CHECK(took < 4);
	j = api_json(&c3, "GET", "/v1/configuration/datasets", NULL, NULL, &st, NULL);
	CHECK_EQ(count_named(j, pfx), 5);
	json_decref(j);

	/* SIGTERM releases the lock: a standby leads at once */
	ct_control_start(&c1, c3.api_port, c3.agent_port, false, e1);
	ct_sleep_ms(1500);
	t0 = ct_now();
	ct_control_kill(&c3, SIGTERM);
	CHECK(ct_control_wait_api(&c1, 20));
	took = ct_now() - t0;
	printf("ok after SIGTERM of the leader the standby led in %.1f s\n", took);
	CHECK(took < 3);
	j = api_json(&c1, "GET", "/v1/configuration/datasets", NULL, NULL, &st, NULL);
	CHECK_EQ(count_named(j, pfx), 5);
	json_decref(j);
	ct_sim_free(&a);
	ct_control_kill(&c1, SIGTERM);
	printf("test_control failover: all checks passed\n");
	return 0;
}

/* ------------------------------------------------------------------ */
/* snapshots and clones through the API and the agent protocol */

struct snap_post {
	struct ct_control *c;
	char body[256];
	int status;
	char desc[512];
	double took;
	int finished; /* atomic */
};

static void *snap_post_thread(void *p)
{
	struct snap_post *sp = p;
	double t0 = ct_now();
	json_t *j = api_json(sp->c, "POST", "/v1/configuration/snapshots", sp->body, NULL,
			     &sp->status, NULL);

	snprintf(sp->desc, sizeof(sp->desc), "%s", jstr(j, "description"));
	json_decref(j);
	sp->took = ct_now() - t0;
	__atomic_store_n(&sp->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A writer that holds the lock and watches, but never answers a request. */
static void ignore_req(void *arg, uint64_t notify_id, const char *req, size_t len)
{
	(void)arg;
	(void)notify_id;
	(void)req;
	(void)len;
}

static int test_snapshots(void)
{
	struct ct_control c;
	struct ct_sim a;
	char v[64], cl1[64], cl2[64], cl3[64], body[512], path[256], id[37], msg[512], uuid[37];
	json_t *j, *e;
	int st;
	size_t i;
	bool seen;

	ct_init("snapshots");
	ct_node_cert("node-a");
	ct_control_start(&c, 0, 0, true, NULL);
	vname(v, sizeof(v), "src");
	vname(cl1, sizeof(cl1), "clone1");
	vname(cl2, sizeof(cl2), "clone2");
	vname(cl3, sizeof(cl3), "clone3");

	snprintf(body, sizeof(body),
		 "{\"metadata\": {\"name\": \"%s\"}, \"maximum_size\": 1048576}", v);
	j = api_json(&c, "POST", "/v1/configuration/datasets", body, NULL, &st, NULL);
	CHECK_EQ(st, 201);
	snprintf(id, sizeof(id), "%s", jstr(j, "dataset_id"));
	json_decref(j);

	/* create: by name, then by dataset id; the name taken again: 409 */
	snprintf(body, sizeof(body), "{\"volume\": \"%s\", \"name\": \"s1\"}", v);
	j = api_json(&c, "POST", "/v1/configuration/snapshots", body, NULL, &st, NULL);
	CHECK_EQ(st, 201);
	CHECK(!strcmp(jstr(j, "name"), "s1") && !strcmp(jstr(j, "dataset_id"), id));
	CHECK(json_integer_value(json_object_get(j, "snapshot_id")) > 0);
	CHECK(json_is_false(json_object_get(j, "by_writer")));
	json_decref(j);
	snprintf(body, sizeof(body), "{\"dataset_id\": \"%s\", \"name\": \"s2\"}", id);
	j = api_json(&c, "POST", "/v1/configuration/snapshots", body, NULL, &st, NULL);
	CHECK_EQ(st, 201);
	json_decref(j);
	j = api_json(&c, "POST", "/v1/configuration/snapshots", body, NULL, &st, NULL);
	CHECK_EQ(st, 409);
	CHECK(strstr(jstr(j, "description"), "already exists"));
	json_decref(j);
	printf("ok POST /v1/configuration/snapshots: 201 by volume name and by dataset id, 409 when the name is taken\n");

	/* refusals */
	j = api_json(&c, "POST", "/v1/configuration/snapshots",
		     "{\"volume\": \"no-such-volume-h1\", \"name\": \"s\"}", NULL, &st, NULL);
	CHECK_EQ(st, 404);
	CHECK(strstr(jstr(j, "description"), "no such dataset"));
	json_decref(j);
	j = api_json(&c, "POST", "/v1/configuration/snapshots", "{\"volume\": \"x\"}", NULL, &st,
		     NULL);
	CHECK_EQ(st, 400);
	json_decref(j);
	snprintf(body, sizeof(body),
		 "{\"volume\": \"%s\", \"dataset_id\": \"%s\", \"name\": \"s\"}", v, id);
	j = api_json(&c, "POST", "/v1/configuration/snapshots", body, NULL, &st, NULL);
	CHECK_EQ(st, 400);
	json_decref(j);
	snprintf(body, sizeof(body), "{\"volume\": \"%s\", \"name\": \"bad name\"}", v);
	j = api_json(&c, "POST", "/v1/configuration/snapshots", body, NULL, &st, NULL);
	CHECK_EQ(st, 400);
	json_decref(j);
	j = api_json(&c, "GET", "/v1/configuration/snapshots", NULL, NULL, &st, NULL);
	CHECK_EQ(st, 400);
	json_decref(j);
	j = api_json(&c, "PUT", "/v1/configuration/snapshots", "{}", NULL, &st, NULL);
	CHECK_EQ(st, 405);
	json_decref(j);
	printf("ok refusals: 404 unknown volume, 400 missing name / both ids / bad name / list without a dataset, 405\n");

	/* list, by id and by name */
	snprintf(path, sizeof(path), "/v1/configuration/snapshots?dataset_id=%s", id);
	j = api_json(&c, "GET", path, NULL, NULL, &st, NULL);
	CHECK_EQ(st, 200);
	CHECK_EQ(json_array_size(j), 2);
	CHECK(!strcmp(jstr(json_array_get(j, 0), "name"), "s1"));
	CHECK(!strcmp(jstr(json_array_get(j, 1), "name"), "s2"));
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/configuration/snapshots?volume=%s", v);
	j = api_json(&c, "GET", path, NULL, NULL, &st, NULL);
	CHECK_EQ(st, 200);
	CHECK_EQ(json_array_size(j), 2);
	json_decref(j);
	printf("ok GET /v1/configuration/snapshots?dataset_id= and ?volume=: oldest first\n");

	/* clones through /v1/configuration/datasets */
	snprintf(body, sizeof(body), "{\"metadata\": {\"name\": \"%s\"}, \"from\": \"%s@s1\"}", cl1,
		 v);
	j = api_json(&c, "POST", "/v1/configuration/datasets", body, NULL, &st, NULL);
	CHECK_EQ(st, 201);
	snprintf(body, sizeof(body), "%s@s1", v);
	CHECK(!strcmp(jstr(j, "parent"), body));
	CHECK_EQ(json_integer_value(json_object_get(j, "maximum_size")), 1048576);
	json_decref(j);
	snprintf(body, sizeof(body), "{\"metadata\": {\"name\": \"%s\"}, \"from\": \"%s\"}", cl2,
		 v);
	j = api_json(&c, "POST", "/v1/configuration/datasets", body, NULL, &st, NULL);
	CHECK_EQ(st, 201);
	snprintf(body, sizeof(body), "%s@clone-%s-", v, cl2);
	CHECK(!strncmp(jstr(j, "parent"), body, strlen(body)));
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/configuration/snapshots?dataset_id=%s", id);
	j = api_json(&c, "GET", path, NULL, NULL, &st, NULL);
	CHECK_EQ(json_array_size(j), 3);
	json_decref(j);
	j = api_json(&c, "GET", "/v1/configuration/datasets", NULL, NULL, &st, NULL);
	CHECK(find_ds(j, cl1, false) && find_ds(j, cl2, false));
	json_decref(j);
	/* refused clones */
	snprintf(body, sizeof(body),
		 "{\"metadata\": {\"name\": \"%s\"}, \"from\": \"%s@s1\", \"maximum_size\": 5}",
		 cl3, v);
	j = api_json(&c, "POST", "/v1/configuration/datasets", body, NULL, &st, NULL);
	CHECK_EQ(st, 400);
	json_decref(j);
	snprintf(body, sizeof(body), "{\"metadata\": {\"name\": \"%s\"}, \"from\": \"%s@nosuch\"}",
		 cl3, v);
	j = api_json(&c, "POST", "/v1/configuration/datasets", body, NULL, &st, NULL);
	CHECK_EQ(st, 404);
	CHECK(strstr(jstr(j, "description"), "nosuch"));
	json_decref(j);
	snprintf(body, sizeof(body),
		 "{\"metadata\": {\"name\": \"%s\"}, \"from\": \"no-such-volume-h1\"}", cl3);
	j = api_json(&c, "POST", "/v1/configuration/datasets", body, NULL, &st, NULL);
	CHECK_EQ(st, 404);
	json_decref(j);
	snprintf(body, sizeof(body), "{\"metadata\": {\"name\": \"%s\"}, \"from\": \"a@b@c\"}",
		 cl3);
	j = api_json(&c, "POST", "/v1/configuration/datasets", body, NULL, &st, NULL);
	CHECK_EQ(st, 400);
	json_decref(j);
	j = api_json(&c, "GET", "/v1/configuration/datasets", NULL, NULL, &st, NULL);
	CHECK(!find_ds(j, cl3, false));
	json_decref(j);
	printf("ok clones through POST /v1/configuration/datasets: from VOL@SNAP, from VOL (snapshot taken), refusals 400/404 leave nothing\n");

	/* remove: refused while a clone uses it; a free one goes */
	snprintf(path, sizeof(path), "/v1/configuration/snapshots/%s/s1", id);
	j = api_json(&c, "DELETE", path, NULL, NULL, &st, NULL);
	CHECK_EQ(st, 409);
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/configuration/snapshots/%s/s2", id);
	j = api_json(&c, "DELETE", path, NULL, NULL, &st, NULL);
	CHECK_EQ(st, 200);
	json_decref(j);
	j = api_json(&c, "DELETE", path, NULL, NULL, &st, NULL);
	CHECK_EQ(st, 404);
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/configuration/snapshots?dataset_id=%s", id);
	j = api_json(&c, "GET", path, NULL, NULL, &st, NULL);
	seen = false;
	json_array_foreach(j, i, e) seen |= !strcmp(jstr(e, "name"), "s2");
	CHECK(!seen && json_array_size(j) == 2);
	json_decref(j);
	printf("ok DELETE /v1/configuration/snapshots/<id>/<name>: 409 while a clone reads it, 200, then 404\n");

	/* the agent protocol: create with from */
	ct_sim_init(&a, "node-a");
	CHECK_EQ(ct_sim_connect(&a, c.agent_port), 0);
	{
		char from[80];
		const char *kv[] = {"volume", cl3, "from", from, NULL};

		snprintf(from, sizeof(from), "%s@s1", v);
		CHECK_EQ(ct_sim_call(&a, "create", kv, 30000, msg, sizeof(msg), uuid), 0);
		CHECK(strlen(uuid) == 36);
		CHECK_EQ(ct_sim_call(&a, "create", kv, 30000, msg, sizeof(msg), NULL), -EEXIST);
		snprintf(from, sizeof(from), "%s@nosuch", v);
		kv[1] = "h1-never-made";
		CHECK_EQ(ct_sim_call(&a, "create", kv, 30000, msg, sizeof(msg), NULL), -ENOENT);
	}
	printf("ok agent create with from: a clone; -EEXIST again; -ENOENT for an unknown snapshot\n");

	/* a writer that does not answer: 504 naming it, and control's loop goes on meanwhile */
	{
		struct fl_store *st0 = ct_rados();
		struct fl_volume *vv = NULL;
		struct snap_post sp = {.c = &c};
		pthread_t th;
		double t0, worst = 0;
		int n = 0;

		CHECK_EQ(fl_volume_open(st0, v, &vv, msg, sizeof(msg)), 0);
		CHECK_EQ(fl_volume_lock(vv, 120, false, msg, sizeof(msg)), 0);
		CHECK_EQ(fl_volume_watch(vv), 0);
		fl_volume_serve(vv, ignore_req, NULL);
		snprintf(sp.body, sizeof(sp.body), "{\"volume\": \"%s\", \"name\": \"s3\"}", v);
		CHECK_EQ(pthread_create(&th, NULL, snap_post_thread, &sp), 0);
		ct_sleep_ms(1000);
		/* while the job waits for the writer: heartbeats and reads answer at once
		 * (2 s: a bound far above a loop turn, far below the 30 s wait) */
		while (!__atomic_load_n(&sp.finished, __ATOMIC_ACQUIRE) && n < 80) {
			t0 = ct_now();
			CHECK_EQ(ct_sim_heartbeat(&a, 5000), 0);
			j = api_json(&c, "GET", "/v1/version", NULL, NULL, &st, NULL);
			CHECK_EQ(st, 200);
			json_decref(j);
			if (ct_now() - t0 > worst)
				worst = ct_now() - t0;
			n++;
			ct_sleep_ms(500);
		}
		pthread_join(th, NULL);
		printf("   writer silent: %d heartbeat+GET rounds meanwhile, slowest %.3f s; POST took %.1f s\n",
		       n, worst, sp.took);
		CHECK(n >= 5);
		CHECK(worst < 2.0);
		CHECK_EQ(sp.status, 504);
		CHECK(strstr(sp.desc, "did not answer"));
		fl_volume_close(vv);
		fl_store_close(st0);
	}
	printf("ok a writer that does not answer: 504 naming it; control kept answering heartbeats and reads meanwhile\n");

	ct_sim_free(&a);
	ct_control_kill(&c, SIGTERM);
	printf("test_control snapshots: all checks passed\n");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr,
			"usage: test_control "
			"tls|api|leases|slow_rados|reconnect_storm|watch_gap|failover|snapshots\n");
		return 2;
	}
	if (!strcmp(argv[1], "tls"))
		return test_tls();
	if (!strcmp(argv[1], "api"))
		return test_api();
	if (!strcmp(argv[1], "leases"))
		return test_leases();
	if (!strcmp(argv[1], "failover"))
		return test_failover();
	if (!strcmp(argv[1], "slow_rados"))
		return test_slow_rados();
	if (!strcmp(argv[1], "watch_gap"))
		return test_watch_gap();
	if (!strcmp(argv[1], "reconnect_storm")) {
		/* the second half of slow_rados alone */
		ct_init("reconnect_storm");
		test_reconnect_storm();
		printf("test_control reconnect_storm: all checks passed\n");
		return 0;
	}
	if (!strcmp(argv[1], "snapshots"))
		return test_snapshots();
	fprintf(stderr, "unknown test %s\n", argv[1]);
	return 2;
}
