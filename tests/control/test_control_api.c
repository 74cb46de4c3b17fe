/*
 * test_control - the areas api and snapshots: datasets, snapshots and clones
 * through the API (see test_control.c).
 */
#include "test_control.h"

/* ------------------------------------------------------------------ */

static void *pump_thread(void *p)
{
	struct pump *pu = p;

	while (!pu->stop)
		ct_sim_pump(pu->s, 200);
	return NULL;
}

void pump_start(struct pump *pu, struct ct_sim *s)
{
	pu->s = s;
	pu->stop = 0;
	pthread_create(&pu->th, NULL, pump_thread, pu);
}

void pump_stop(struct pump *pu)
{
	pu->stop = 1;
	pthread_join(pu->th, NULL);
}

int test_api(void)
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
	CHECK_EQ(api_status(&c, "POST", "/v1/configuration/datasets", "{\"metadata\": "), 400);
	j = api_json(&c, "POST", "/v1/configuration/datasets", "{\"maximum_size\": 5}", NULL, &st,
		     NULL);
	CHECK_EQ(st, 400);
	CHECK(strstr(jstr(j, "description"), "name"));
	json_decref(j);
	CHECK_EQ(api_status(&c, "POST", "/v1/configuration/datasets",
			    "{\"metadata\": {\"name\": \"x y\"}}"),
		 400);
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
	CHECK_EQ(api_status(&c, "DELETE",
			    "/v1/configuration/datasets/00000000-0000-4000-8000-000000000000",
			    NULL),
		 404);
	CHECK_EQ(api_status(&c, "PUT", "/v1/configuration/datasets", "{}"), 405);
	CHECK_EQ(api_status(&c, "GET", "/v1/nothing", NULL), 404);
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
	CHECK_EQ(api_status(&c, "DELETE", path, NULL), 409);
	printf("ok moves: to a node at once when free, from an idle node after it unmounts, refused from a node using it (409 naming it)\n");

	/* leases through the API */
	j = api_json(&c, "GET", "/v1/configuration/leases", NULL, NULL, &st, NULL);
	CHECK_EQ(json_array_size(j), 1);
	CHECK(!strcmp(jstr(json_array_get(j, 0), "node_uuid"), b.uuid));
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/configuration/leases/%s", id1b);
	b.nmounts = 0;
	CHECK_EQ(ct_sim_heartbeat(&b, 5000), 0);
	CHECK_EQ(api_status(&c, "DELETE", path, NULL), 200);
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

int test_snapshots(void)
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
	CHECK_EQ(api_status(&c, "POST", "/v1/configuration/snapshots", body), 201);
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
	CHECK_EQ(api_status(&c, "POST", "/v1/configuration/snapshots", "{\"volume\": \"x\"}"), 400);
	snprintf(body, sizeof(body),
		 "{\"volume\": \"%s\", \"dataset_id\": \"%s\", \"name\": \"s\"}", v, id);
	CHECK_EQ(api_status(&c, "POST", "/v1/configuration/snapshots", body), 400);
	snprintf(body, sizeof(body), "{\"volume\": \"%s\", \"name\": \"bad name\"}", v);
	CHECK_EQ(api_status(&c, "POST", "/v1/configuration/snapshots", body), 400);
	CHECK_EQ(api_status(&c, "GET", "/v1/configuration/snapshots", NULL), 400);
	CHECK_EQ(api_status(&c, "PUT", "/v1/configuration/snapshots", "{}"), 405);
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
	CHECK_EQ(api_status(&c, "POST", "/v1/configuration/datasets", body), 400);
	snprintf(body, sizeof(body), "{\"metadata\": {\"name\": \"%s\"}, \"from\": \"%s@nosuch\"}",
		 cl3, v);
	j = api_json(&c, "POST", "/v1/configuration/datasets", body, NULL, &st, NULL);
	CHECK_EQ(st, 404);
	CHECK(strstr(jstr(j, "description"), "nosuch"));
	json_decref(j);
	snprintf(body, sizeof(body),
		 "{\"metadata\": {\"name\": \"%s\"}, \"from\": \"no-such-volume-h1\"}", cl3);
	CHECK_EQ(api_status(&c, "POST", "/v1/configuration/datasets", body), 404);
	snprintf(body, sizeof(body), "{\"metadata\": {\"name\": \"%s\"}, \"from\": \"a@b@c\"}",
		 cl3);
	CHECK_EQ(api_status(&c, "POST", "/v1/configuration/datasets", body), 400);
	j = api_json(&c, "GET", "/v1/configuration/datasets", NULL, NULL, &st, NULL);
	CHECK(!find_ds(j, cl3, false));
	json_decref(j);
	printf("ok clones through POST /v1/configuration/datasets: from VOL@SNAP, from VOL (snapshot taken), refusals 400/404 leave nothing\n");

	/* remove: refused while a clone uses it; a free one goes */
	snprintf(path, sizeof(path), "/v1/configuration/snapshots/%s/s1", id);
	CHECK_EQ(api_status(&c, "DELETE", path, NULL), 409);
	snprintf(path, sizeof(path), "/v1/configuration/snapshots/%s/s2", id);
	CHECK_EQ(api_status(&c, "DELETE", path, NULL), 200);
	CHECK_EQ(api_status(&c, "DELETE", path, NULL), 404);
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
			CHECK_EQ(api_status(&c, "GET", "/v1/version", NULL), 200);
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
