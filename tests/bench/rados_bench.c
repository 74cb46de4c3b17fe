/*
 * flocker_rados_bench — the raw librados column of tests/bench/compare.sh:
 * the same workloads as the file system runs, straight on RADOS objects
 * with the same object size and the same parallelism as flockerfs uses,
 * so that it is the limit a file system on this cluster can approach.
 *
 *   flocker_rados_bench [OPTIONS] TEST...
 *
 * TESTs (run in the order given):
 *   seq    write --size bytes as objects of --object-size, each written whole
 *          (--io-size per op), --qd ops in flight; then read them back alike
 *   rand   4 KiB writes at random offsets (a random permutation of the 4 KiB
 *          blocks) over --rand-size bytes of objects, --rand-qd in flight,
 *          for at most --rand-seconds; then random 4 KiB reads of the blocks
 *          written, --rand-qd in flight, for --read-seconds
 *   small  --files objects of 4 KiB: created one op at a time (as one thread
 *          creating files), again with 4 in flight (as four threads), stat'ed,
 *          listed, removed one at a time
 *   sync   8 KiB rados_write at queue depth 1 (each waits for the OSD's
 *          commit) over a 4 MiB object written whole first, 8 KiB-aligned,
 *          for --sync-seconds: the floor of a database's fdatasync, one
 *          RADOS write round trip
 *
 * Objects go to namespace --ns (default "bench.raw.<pid>") and are removed
 * at the end.  The client id comes from --id, else "--id X" in $CEPH_ARGS,
 * else admin; ceph.conf from --conf, else $CEPH_CONF or Ceph's search path.
 * Results: a table, or with --json one JSON object.  Exit 0, 1 on failure,
 * 2 on bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rados/librados.h>

#include "tests/lib/rng.h"

#define PROG	    "flocker_rados_bench"
#define MAX_QD	    256u
#define NS_MAX	    128
#define SMALL_SIZE  4096u
#define RAND_BS	    4096u
#define SYNC_BS	    8192u
#define SYNC_OBJ    (4u << 20)
#define MAX_RESULTS 16

struct opts {
	const char *conf, *id, *pool;
	char ns[NS_MAX];
	bool json, drop_caches;
	uint64_t size, object_size, io_size, rand_size;
	unsigned qd, rand_qd;
	double rand_seconds, read_seconds, sync_seconds;
	uint64_t files;
};

struct result {
	const char *key;
	uint64_t count; /* bytes (bytes == true) or operations */
	bool bytes;
	unsigned qd;
	double secs;
};

static struct result results[MAX_RESULTS];
static int nresults;

/* ---------- a pipeline of aio ops: at most qd in flight, refilled as each completes ---------- */

struct pipe;

struct slot {
	struct pipe *p;
	rados_completion_t c;
	char *buf;
	size_t want; /* bytes a read must return (0: do not check) */
	bool busy;
};

struct pipe {
	rados_ioctx_t io;
	unsigned qd, inflight;
	struct slot *slots;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int err; /* first error */
	char errwhat[160];
	uint64_t done;
};

static void on_complete(rados_completion_t c, void *arg)
{
	struct slot *s = arg;
	struct pipe *p = s->p;
	int r = rados_aio_get_return_value(c);

	pthread_mutex_lock(&p->lock);
	if (r < 0 && !p->err) {
		p->err = r;
		snprintf(p->errwhat, sizeof(p->errwhat), "an aio op failed");
	} else if (r >= 0 && s->want && (size_t)r != s->want && !p->err) {
		p->err = -EIO;
		snprintf(p->errwhat, sizeof(p->errwhat), "a read returned %d of %zu bytes", r,
			 s->want);
	}
	s->busy = false;
	p->inflight--;
	p->done++;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void __attribute__((noreturn)) out_of_memory(void)
{
	fprintf(stderr, "%s: out of memory\n", PROG);
	exit(1);
}

/* qd slots with buffers of bufsize bytes; exits when out of memory. */
static void pipe_init(struct pipe *p, rados_ioctx_t io, unsigned qd, size_t bufsize)
{
	unsigned i;

	memset(p, 0, sizeof(*p));
	p->io = io;
	p->qd = qd;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->slots = calloc(qd, sizeof(*p->slots));
	if (!p->slots)
		out_of_memory();
	for (i = 0; i < qd; i++) {
		p->slots[i].p = p;
		p->slots[i].buf = malloc(bufsize ? bufsize : 1);
		if (!p->slots[i].buf)
			out_of_memory();
	}
}

/* A free slot with a fresh completion; waits while qd ops are in flight. */
static struct slot *pipe_slot(struct pipe *p)
{
	struct slot *s = NULL;
	unsigned i;

	pthread_mutex_lock(&p->lock);
	while (p->inflight >= p->qd)
		pthread_cond_wait(&p->cond, &p->lock);
	for (i = 0; i < p->qd; i++) {
		if (!p->slots[i].busy) {
			s = &p->slots[i];
			break;
		}
	}
	s->busy = true;
	p->inflight++;
	pthread_mutex_unlock(&p->lock);
	if (s->c)
		rados_aio_release(s->c);
	s->c = NULL;
	s->want = 0;
	if (rados_aio_create_completion2(s, on_complete, &s->c) < 0) {
		fprintf(stderr, "%s: cannot create an aio completion\n", PROG);
		exit(1);
	}
	return s;
}

/* After a submit: r < 0 means the op never started. */
static void pipe_submitted(struct pipe *p, struct slot *s, int r, const char *what)
{
	if (r >= 0)
		return;
	pthread_mutex_lock(&p->lock);
	if (!p->err) {
		p->err = r;
		snprintf(p->errwhat, sizeof(p->errwhat), "cannot submit %s", what);
	}
	s->busy = false;
	p->inflight--;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static int pipe_drain(struct pipe *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->inflight)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
	return p->err;
}

static void pipe_free(struct pipe *p)
{
	unsigned i;

	pipe_drain(p);
	for (i = 0; p->slots && i < p->qd; i++) {
		if (p->slots[i].c)
			rados_aio_release(p->slots[i].c);
		free(p->slots[i].buf);
	}
	free(p->slots);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
}

static bool pipe_failed(struct pipe *p)
{
	bool f;

	pthread_mutex_lock(&p->lock);
	f = p->err != 0;
	pthread_mutex_unlock(&p->lock);
	return f;
}

/* ---------- helpers ---------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng(void)
{
	return xorshift64(&rng_state);
}

static void fill_random(char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t x = rng();

		memcpy(buf + i, &x, 8);
	}
}

static void record(const char *key, uint64_t count, bool bytes, unsigned qd, double secs)
{
	if (nresults < MAX_RESULTS)
		results[nresults++] = (struct result){
			.key = key, .count = count, .bytes = bytes, .qd = qd, .secs = secs};
}

static int fail_pipe(struct pipe *p, const char *test)
{
	fprintf(stderr, "%s: %s: %s: %s\n", PROG, test, p->errwhat, strerror(-p->err));
	return -1;
}

static void drop_caches(const struct opts *o)
{
	FILE *f;

	if (!o->drop_caches)
		return;
	sync();
	f = fopen("/proc/sys/vm/drop_caches", "w");
	if (!f || fputs("3\n", f) < 0 || fclose(f) != 0)
		fprintf(stderr, "%s: warning: cannot drop the kernel caches: %s\n", PROG,
			strerror(errno));
}

static void oid_seq(char *oid, size_t len, uint64_t i)
{
	snprintf(oid, len, "data.1.%016" PRIx64, i);
}

static void oid_rand(char *oid, size_t len, uint64_t i)
{
	snprintf(oid, len, "data.2.%016" PRIx64, i);
}

static void oid_small(char *oid, size_t len, uint64_t i)
{
	snprintf(oid, len, "small.%07" PRIu64, i);
}

/* Queues the removal of the objects 0..n-1 that name names (waiting is the caller's). */
static void pipe_remove(struct pipe *p, rados_ioctx_t io, void (*name)(char *, size_t, uint64_t),
			uint64_t n)
{
	char oid[64];
	uint64_t i;

	for (i = 0; i < n; i++) {
		struct slot *s = pipe_slot(p);

		name(oid, sizeof(oid), i);
		pipe_submitted(p, s, rados_aio_remove(io, oid, s->c), "a remove");
	}
}

/* ---------- seq ---------- */

static int test_seq(rados_ioctx_t io, const struct opts *o)
{
	uint64_t nobj = (o->size + o->object_size - 1) / o->object_size, i, off;
	char *data = malloc(o->io_size);
	struct pipe p;
	char oid[64];
	double t0;
	int ret = -1;

	if (!data)
		out_of_memory();
	pipe_init(&p, io, o->qd, o->io_size);
	fill_random(data, o->io_size);
	t0 = now_s();
	for (i = 0; i < nobj && !pipe_failed(&p); i++) {
		oid_seq(oid, sizeof(oid), i);
		for (off = 0; off < o->object_size; off += o->io_size) {
			struct slot *s = pipe_slot(&p);
			int r;

			memcpy(data, &i, sizeof(i));
			if (o->io_size == o->object_size)
				r = rados_aio_write_full(io, oid, s->c, data, o->io_size);
			else
				r = rados_aio_write(io, oid, s->c, data, o->io_size, off);
			pipe_submitted(&p, s, r, "a write");
		}
	}
	if (pipe_drain(&p)) {
		ret = fail_pipe(&p, "seq write");
		goto out;
	}
	record("seq_write", nobj * o->object_size, true, o->qd, now_s() - t0);
	drop_caches(o);
	t0 = now_s();
	for (i = 0; i < nobj && !pipe_failed(&p); i++) {
		oid_seq(oid, sizeof(oid), i);
		for (off = 0; off < o->object_size; off += o->io_size) {
			struct slot *s = pipe_slot(&p);

			s->want = o->io_size;
			pipe_submitted(&p, s,
				       rados_aio_read(io, oid, s->c, s->buf, o->io_size, off),
				       "a read");
		}
	}
	if (pipe_drain(&p)) {
		ret = fail_pipe(&p, "seq read");
		goto out;
	}
	record("seq_read", nobj * o->object_size, true, o->qd, now_s() - t0);
	ret = 0;
out:
	pipe_remove(&p, io, oid_seq, nobj);
	pipe_free(&p);
	free(data);
	return ret;
}

/* ---------- rand ---------- */

static int test_rand(rados_ioctx_t io, const struct opts *o)
{
	uint64_t nblk = o->rand_size / RAND_BS, per_obj = o->object_size / RAND_BS;
	uint64_t nobj = (nblk + per_obj - 1) / per_obj, i, written = 0, nread = 0;
	uint32_t *perm = malloc(nblk * sizeof(*perm));
	char *data = malloc(RAND_BS);
	struct pipe p;
	char oid[64];
	double t0;
	int ret = -1;

	if (!perm || !data)
		out_of_memory();
	pipe_init(&p, io, o->rand_qd, RAND_BS);
	fill_random(data, RAND_BS);
	for (i = 0; i < nblk; i++)
		perm[i] = (uint32_t)i;
	for (i = nblk - 1; i > 0; i--) {
		uint64_t j = rng() % (i + 1);
		uint32_t t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	t0 = now_s();
	for (i = 0; i < nblk && !pipe_failed(&p); i++) {
		struct slot *s;

		if ((i & 63) == 0 && now_s() - t0 >= o->rand_seconds)
			break;
		s = pipe_slot(&p);
		oid_rand(oid, sizeof(oid), perm[i] / per_obj);
		pipe_submitted(&p, s,
			       rados_aio_write(io, oid, s->c, data, RAND_BS,
					       (uint64_t)(perm[i] % per_obj) * RAND_BS),
			       "a write");
	}
	written = i;
	if (pipe_drain(&p)) {
		ret = fail_pipe(&p, "rand write");
		goto out;
	}
	record("rand_write", written, false, o->rand_qd, now_s() - t0);
	drop_caches(o);
	t0 = now_s();
	for (;;) {
		struct slot *s;
		uint64_t b;

		if ((nread & 63) == 0 && now_s() - t0 >= o->read_seconds)
			break;
		if (nread >= nblk || pipe_failed(&p))
			break;
		b = perm[rng() % written];
		s = pipe_slot(&p);
		s->want = RAND_BS;
		oid_rand(oid, sizeof(oid), b / per_obj);
		pipe_submitted(
			&p, s,
			rados_aio_read(io, oid, s->c, s->buf, RAND_BS, (b % per_obj) * RAND_BS),
			"a read");
		nread++;
	}
	if (pipe_drain(&p)) {
		ret = fail_pipe(&p, "rand read");
		goto out;
	}
	record("rand_read", nread, false, o->rand_qd, now_s() - t0);
	ret = 0;
out:
	pipe_remove(&p, io, oid_rand, nobj);
	pipe_drain(&p); /* missing objects (-ENOENT) are fine here */
	pipe_free(&p);
	free(perm);
	free(data);
	return ret;
}

/* ---------- small ---------- */

static int small_create(rados_ioctx_t io, const struct opts *o, unsigned qd, const char *key,
			const char *data)
{
	struct pipe p;
	char oid[64];
	uint64_t i;
	double t0;
	int ret = 0;

	pipe_init(&p, io, qd, 0);
	t0 = now_s();
	for (i = 0; i < o->files && !pipe_failed(&p); i++) {
		struct slot *s = pipe_slot(&p);

		oid_small(oid, sizeof(oid), i);
		pipe_submitted(&p, s, rados_aio_write_full(io, oid, s->c, data, SMALL_SIZE),
			       "a write_full");
	}
	if (pipe_drain(&p))
		ret = fail_pipe(&p, key);
	else
		record(key, o->files, false, qd, now_s() - t0);
	pipe_free(&p);
	return ret;
}

static int small_remove(rados_ioctx_t io, const struct opts *o, bool record_it)
{
	struct pipe p;
	char oid[64];
	uint64_t i;
	double t0;
	int ret = 0;

	pipe_init(&p, io, record_it ? 1 : 32, 0);
	t0 = now_s();
	for (i = 0; i < o->files && !pipe_failed(&p); i++) {
		struct slot *s = pipe_slot(&p);

		oid_small(oid, sizeof(oid), i);
		pipe_submitted(&p, s, rados_aio_remove(io, oid, s->c), "a remove");
	}
	if (pipe_drain(&p) && record_it)
		ret = fail_pipe(&p, "small remove");
	else if (record_it)
		record("small_remove", o->files, false, 1, now_s() - t0);
	pipe_free(&p);
	return ret;
}

static int test_small(rados_ioctx_t io, const struct opts *o)
{
	char data[SMALL_SIZE];
	rados_list_ctx_t lc;
	const char *entry;
	uint64_t i, listed = 0;
	double t0;
	int r;

	fill_random(data, sizeof(data));
	if (small_create(io, o, 1, "small_create_1", data))
		return -1;
	small_remove(io, o, false);
	if (small_create(io, o, 4, "small_create_4", data))
		return -1;
	t0 = now_s();
	for (i = 0; i < o->files; i++) {
		char oid[64];
		uint64_t size;
		time_t mtime;

		oid_small(oid, sizeof(oid), i);
		r = rados_stat(io, oid, &size, &mtime);
		if (r < 0 || size != SMALL_SIZE) {
			fprintf(stderr, "%s: small stat: cannot stat %s: %s\n", PROG, oid,
				r < 0 ? strerror(-r) : "wrong size");
			return -1;
		}
	}
	record("small_stat", o->files, false, 1, now_s() - t0);
	t0 = now_s();
	r = rados_nobjects_list_open(io, &lc);
	if (r < 0) {
		fprintf(stderr, "%s: small list: %s\n", PROG, strerror(-r));
		return -1;
	}
	while ((r = rados_nobjects_list_next(lc, &entry, NULL, NULL)) == 0)
		listed++;
	rados_nobjects_list_close(lc);
	if (r != -ENOENT) {
		fprintf(stderr, "%s: small list: %s\n", PROG, strerror(-r));
		return -1;
	}
	record("small_list", listed, false, 1, now_s() - t0);
	return small_remove(io, o, true);
}

/* ---------- sync ---------- */

static int test_sync(rados_ioctx_t io, const struct opts *o)
{
	const char *oid = "data.3.0000000000000000";
	char *obj = malloc(SYNC_OBJ);
	uint64_t n = 0;
	double t0, t;
	int r;

	if (!obj) {
		fprintf(stderr, "%s: sync: out of memory\n", PROG);
		return -1;
	}
	fill_random(obj, SYNC_OBJ);
	r = rados_write_full(io, oid, obj, SYNC_OBJ);
	if (r < 0) {
		fprintf(stderr, "%s: sync: cannot write %s: %s\n", PROG, oid, strerror(-r));
		free(obj);
		return -1;
	}
	t0 = now_s();
	do {
		uint64_t off = (rng() % (SYNC_OBJ / SYNC_BS)) * SYNC_BS;

		r = rados_write(io, oid, obj + off, SYNC_BS, off);
		if (r < 0) {
			fprintf(stderr, "%s: sync: cannot write %s: %s\n", PROG, oid, strerror(-r));
			free(obj);
			rados_remove(io, oid);
			return -1;
		}
		n++;
		t = now_s() - t0;
	} while (t < o->sync_seconds);
	record("sync_write", n, false, 1, t);
	free(obj);
	rados_remove(io, oid);
	return 0;
}

/* ---------- main ---------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [OPTIONS] TEST...\n"
		"\n"
		"TESTs: seq rand small sync (see the head of tests/bench/rados_bench.c)\n"
		"\n"
		"options:\n"
		"  --conf FILE          ceph.conf (default $CEPH_CONF)\n"
		"  --id ID              cephx id (default: --id in $CEPH_ARGS, else admin)\n"
		"  --pool POOL          default $FLOCKER_POOL, else flocker\n"
		"  --ns NS              namespace (default bench.raw.<pid>)\n"
		"  --size SIZE          seq: bytes (default 1G)\n"
		"  --object-size SIZE   default 4M (flockerfs's block size)\n"
		"  --io-size SIZE       seq: bytes per op (default: the object size)\n"
		"  --qd N               seq: ops in flight (default 16)\n"
		"  --rand-size SIZE     rand: bytes covered (default 256M)\n"
		"  --rand-qd N          rand: ops in flight (default 16)\n"
		"  --rand-seconds S     rand: longest write time (default 20)\n"
		"  --read-seconds S     rand: read time (default 10)\n"
		"  --files N            small: objects (default 10000)\n"
		"  --sync-seconds S     sync: run time (default 10)\n"
		"  --drop-caches        sync and drop the kernel caches before reads (root)\n"
		"  --json               one JSON object on stdout\n",
		PROG);
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		end++;
		break;
	default:
		break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* An option with a value: where the value goes and what it may be. */
enum optkind {
	O_STR,	   /* const char *: the argument itself */
	O_NS,	   /* char[NS_MAX]: a copy */
	O_SIZE,	   /* uint64_t: a size (parse_size), at least min, a multiple of mult (0: any) */
	O_QD,	   /* unsigned: 1 to MAX_QD */
	O_SECONDS, /* double: above 0 */
};

struct optdef {
	const char *name;
	enum optkind kind;
	void *dst;
	uint64_t min, mult;
};

static const struct optdef *find_opt(const struct optdef *defs, size_t n, const char *name)
{
	for (size_t k = 0; k < n; k++)
		if (!strcmp(defs[k].name, name))
			return &defs[k];
	return NULL;
}

/* Sets the option d to v: 0, or -1 when v is not a value it may have. */
static int set_opt(const struct optdef *d, const char *v)
{
	uint64_t n = 0;
	char *end;
	double s;

	switch (d->kind) {
	case O_STR:
		*(const char **)d->dst = v;
		return 0;
	case O_NS:
		snprintf(d->dst, NS_MAX, "%s", v);
		return 0;
	case O_SIZE:
		if (parse_size(v, &n) || n < d->min || (d->mult && n % d->mult))
			return -1;
		*(uint64_t *)d->dst = n;
		return 0;
	case O_QD:
		if (parse_size(v, &n) || n == 0 || n > MAX_QD)
			return -1;
		*(unsigned *)d->dst = (unsigned)n;
		return 0;
	case O_SECONDS:
		s = strtod(v, &end);
		if (*end || s <= 0)
			return -1;
		*(double *)d->dst = s;
		return 0;
	}
	return -1;
}

static const char *id_from_env(char *buf, size_t len)
{
	const char *a = getenv("CEPH_ARGS"), *p;

	if (!a)
		return NULL;
	p = strstr(a, "--id");
	if (!p)
		return NULL;
	p += 4;
	while (*p == ' ' || *p == '=')
		p++;
	snprintf(buf, len, "%.*s", (int)strcspn(p, " \t"), p);
	return buf[0] ? buf : NULL;
}

static void print_results(const struct opts *o)
{
	int i;

	if (o->json) {
		printf("{\"object_size\": %" PRIu64 ", \"io_size\": %" PRIu64 ", \"results\": {",
		       o->object_size, o->io_size);
		for (i = 0; i < nresults; i++) {
			const struct result *r = &results[i];
			double rate = r->secs > 0 ? (double)r->count / r->secs : 0;

			printf("%s\n  \"%s\": {\"seconds\": %.6f, \"qd\": %u, ", i ? "," : "",
			       r->key, r->secs, r->qd);
			if (r->bytes)
				printf("\"bytes\": %" PRIu64 ", \"mib_per_s\": %.3f}", r->count,
				       rate / (1 << 20));
			else
				printf("\"ops\": %" PRIu64 ", \"ops_per_s\": %.3f}", r->count,
				       rate);
		}
		printf("\n}}\n");
		return;
	}
	printf("%-16s %4s %14s %10s %12s\n", "TEST", "QD", "RESULT", "UNIT", "TIME");
	for (i = 0; i < nresults; i++) {
		const struct result *r = &results[i];
		double rate = r->secs > 0 ? (double)r->count / r->secs : 0;

		printf("%-16s %4u %14.1f %10s %10.2f s\n", r->key, r->qd,
		       r->bytes ? rate / (1 << 20) : rate, r->bytes ? "MiB/s" : "ops/s", r->secs);
	}
}

int main(int argc, char **argv)
{
	struct opts o = {.size = 1ull << 30,
			 .object_size = 4u << 20,
			 .rand_size = 256u << 20,
			 .qd = 16,
			 .rand_qd = 16,
			 .rand_seconds = 20,
			 .read_seconds = 10,
			 .sync_seconds = 10,
			 .files = 10000};
	const char *tests[8];
	char idbuf[128];
	const struct optdef defs[] = {{"--conf", O_STR, &o.conf, 0, 0},
				      {"--id", O_STR, &o.id, 0, 0},
				      {"--pool", O_STR, &o.pool, 0, 0},
				      {"--ns", O_NS, o.ns, 0, 0},
				      {"--size", O_SIZE, &o.size, 1, 0},
				      {"--object-size", O_SIZE, &o.object_size, RAND_BS, RAND_BS},
				      {"--io-size", O_SIZE, &o.io_size, 1, 0},
				      {"--rand-size", O_SIZE, &o.rand_size, RAND_BS, 0},
				      {"--files", O_SIZE, &o.files, 1, 0},
				      {"--qd", O_QD, &o.qd, 0, 0},
				      {"--rand-qd", O_QD, &o.rand_qd, 0, 0},
				      {"--rand-seconds", O_SECONDS, &o.rand_seconds, 0, 0},
				      {"--read-seconds", O_SECONDS, &o.read_seconds, 0, 0},
				      {"--sync-seconds", O_SECONDS, &o.sync_seconds, 0, 0}};
	const struct optdef *d;
	int ntests = 0, i, r, rc = 0;
	rados_t cluster;
	rados_ioctx_t io;

	o.pool = getenv("FLOCKER_POOL") && *getenv("FLOCKER_POOL") ? getenv("FLOCKER_POOL")
								   : "flocker";
	snprintf(o.ns, sizeof(o.ns), "bench.raw.%ld", (long)getpid());
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool bad = false;

#define VAL()                                                                                      \
	do {                                                                                       \
		if (!v) {                                                                          \
			fprintf(stderr, "%s: option '%s' needs a value\n", PROG, a);               \
			return 2;                                                                  \
		}                                                                                  \
		i++;                                                                               \
	} while (0)
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--json")) {
			o.json = true;
		} else if (!strcmp(a, "--drop-caches")) {
			o.drop_caches = true;
		} else if ((d = find_opt(defs, sizeof(defs) / sizeof(defs[0]), a))) {
			VAL();
			bad = set_opt(d, v) != 0;
		} else if (!strcmp(a, "seq") || !strcmp(a, "rand") || !strcmp(a, "small") ||
			   !strcmp(a, "sync")) {
			if (ntests < 8)
				tests[ntests++] = a;
		} else {
			fprintf(stderr, "%s: unknown argument '%s'\n", PROG, a);
			return 2;
		}
		if (bad) {
			fprintf(stderr, "%s: invalid %s '%s'\n", PROG, a, v);
			return 2;
		}
#undef VAL
	}
	if (!o.io_size)
		o.io_size = o.object_size;
	if (o.io_size > o.object_size || o.object_size % o.io_size) {
		fprintf(stderr, "%s: --io-size must divide --object-size\n", PROG);
		return 2;
	}
	if (!ntests) {
		usage(stderr);
		return 2;
	}
	if (!o.id)
		o.id = id_from_env(idbuf, sizeof(idbuf));
	r = rados_create(&cluster, o.id ? o.id : "admin");
	if (r == 0)
		r = rados_conf_read_file(cluster, o.conf);
	if (r == 0)
		r = rados_connect(cluster);
	if (r < 0) {
		fprintf(stderr, "%s: cannot connect to the cluster as client.%s: %s\n", PROG,
			o.id ? o.id : "admin", strerror(-r));
		return 1;
	}
	r = rados_ioctx_create(cluster, o.pool, &io);
	if (r < 0) {
		fprintf(stderr, "%s: cannot open pool %s: %s\n", PROG, o.pool, strerror(-r));
		rados_shutdown(cluster);
		return 1;
	}
	rados_ioctx_set_namespace(io, o.ns);
	for (i = 0; i < ntests && rc == 0; i++) {
		if (!strcmp(tests[i], "seq"))
			rc = test_seq(io, &o);
		else if (!strcmp(tests[i], "rand"))
			rc = test_rand(io, &o);
		else if (!strcmp(tests[i], "sync"))
			rc = test_sync(io, &o);
		else
			rc = test_small(io, &o);
	}
	if (rc)
		small_remove(io, &o, false);
	rados_ioctx_destroy(io);
	rados_shutdown(cluster);
	if (rc)
		return 1;
	print_results(&o);
	return 0;
}
