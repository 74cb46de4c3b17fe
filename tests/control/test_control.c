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
#include "test_control.h"

/* ------------------------------------------------------------------ */
/* helpers */

json_t *api_json(struct ct_control *c, const char *method, const char *path, const char *body,
		 const char *if_tag, int *status, char *tag)
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

/* The status of an API call whose answer needs no closer look. */
int api_status(struct ct_control *c, const char *method, const char *path, const char *body)
{
	int st;

	json_decref(api_json(c, method, path, body, NULL, &st, NULL));
	return st;
}

const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

json_t *find_ds(json_t *arr, const char *name, bool deleted)
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

void vname(char *out, size_t len, const char *what)
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

/* The second half of slow_rados alone. */
static int test_reconnect_storm_only(void)
{
	ct_init("reconnect_storm");
	test_reconnect_storm();
	printf("test_control reconnect_storm: all checks passed\n");
	return 0;
}

static const struct area {
	const char *name;
	int (*fn)(void);
} areas[] = {
	{"tls", test_tls},
	{"api", test_api},
	{"leases", test_leases},
	{"slow_rados", test_slow_rados},
	{"reconnect_storm", test_reconnect_storm_only},
	{"watch_gap", test_watch_gap},
	{"failover", test_failover},
	{"snapshots", test_snapshots},
};

int main(int argc, char **argv)
{
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr,
			"usage: test_control "
			"tls|api|leases|slow_rados|reconnect_storm|watch_gap|failover|snapshots\n");
		return 2;
	}
	for (i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
		if (!strcmp(argv[1], areas[i].name))
			return areas[i].fn();
	fprintf(stderr, "unknown test %s\n", argv[1]);
	return 2;
}
