/* Unit tests of fs/util/metrics: the registry, the exposition text, the parser, the merge. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/util/metrics.h"
#include "tests/check.h"

static const char *find_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return p;
		p += n;
	}
	return NULL;
}

/* Every line of the list stands whole in text; names each missing one. */
#define CHECK_LINES(text, ...) check_lines(__LINE__, text, (const char *const[]){__VA_ARGS__, NULL})
static void check_lines(int at, const char *text, const char *const *lines)
{
	for (; *lines; lines++) {
		if (!find_line(text, *lines)) {
			fprintf(stderr, "%s:%d: no line \"%s\" in the output\n", __FILE__, at,
				*lines);
			check_failures++;
		}
	}
}

static void test_counter_gauge(void)
{
	struct fl_metrics *m = fl_metrics_new();
	const char *la[] = {"op", "read"}, *lb[] = {"op", "write"};
	struct fl_metric *a, *b, *g;
	struct fl_buf out;

	CHECK(m != NULL);
	CHECK_EQ(fl_metrics_const_label(m, "volume", "v1"), 0);
	a = fl_metrics_counter(m, "x_ops_total", "Ops.", la, 1);
	b = fl_metrics_counter(m, "x_ops_total", "ignored", lb, 1);
	g = fl_metrics_gauge(m, "x_dirty_bytes", "Dirty\\bytes\nnow.", NULL, 0);
	CHECK(a && b && g && a != b);
	/* the same labels give the same series */
	CHECK(fl_metrics_counter(m, "x_ops_total", NULL, la, 1) == a);
	/* a family keeps its type and label names */
	CHECK(fl_metrics_gauge(m, "x_ops_total", NULL, la, 1) == NULL);
	CHECK(fl_metrics_counter(m, "x_ops_total", NULL, (const char *[]){"kind", "r"}, 1) == NULL);
	/* bad names */
	CHECK(fl_metrics_counter(m, "1x", NULL, NULL, 0) == NULL);
	CHECK(fl_metrics_counter(m, "x-y", NULL, NULL, 0) == NULL);
	CHECK(fl_metrics_counter(m, "x_y", NULL, (const char *[]){"le", "1"}, 1) == NULL);
	CHECK(fl_metrics_counter(m, "x_y", NULL, (const char *[]){"a:b", "1"}, 1) == NULL);
	fl_metric_add(a, 3);
	fl_metric_add(a, 4);
	fl_metric_add(b, 1);
	fl_metric_set(g, 100);
	fl_metric_sub(g, 1);
	fl_metric_add(NULL, 1); /* no series: nothing */
	CHECK_EQ(fl_metric_value(a), 7);
	CHECK_EQ(fl_metric_value(g), 99);
	fl_buf_init(&out, 1 << 20);
	CHECK_EQ(fl_metrics_write(m, &out), 0);
	CHECK_LINES(out.data, "# HELP x_ops_total Ops.", "# TYPE x_ops_total counter",
		    "x_ops_total{volume=\"v1\",op=\"read\"} 7",
		    "x_ops_total{volume=\"v1\",op=\"write\"} 1",
		    /* HELP escapes backslash and newline */
		    "# HELP x_dirty_bytes Dirty\\\\bytes\\nnow.", "# TYPE x_dirty_bytes gauge",
		    "x_dirty_bytes{volume=\"v1\"} 99");
	/* HELP and TYPE come once per family */
	CHECK(strstr(strstr(out.data, "# TYPE x_ops_total") + 1, "# TYPE x_ops_total") == NULL);
	fl_buf_free(&out);
	fl_metrics_free(m);
}

static double half(void *arg)
{
	return *(double *)arg / 2;
}

static void test_escaping(void)
{
	struct fl_metrics *m = fl_metrics_new();
	const char *evil = "a\"b\\c\nd}e,f=\"";
	double v = 5;
	struct fl_buf out;
	char back[64];
	int r;

	CHECK_EQ(fl_metrics_const_label(m, "volume", evil), 0);
	fl_metric_add(fl_metrics_counter(m, "e_total", "E.", (const char *[]){"k", "x\\"}, 1), 1);
	fl_metrics_gauge_fn(m, "e_half", "Half.", NULL, 0, half, &v);
	fl_buf_init(&out, 1 << 20);
	CHECK_EQ(fl_metrics_write(m, &out), 0);
	CHECK(find_line(out.data, "e_total{volume=\"a\\\"b\\\\c\\nd}e,f=\\\"\",k=\"x\\\\\"} 1"));
	CHECK(find_line(out.data, "e_half{volume=\"a\\\"b\\\\c\\nd}e,f=\\\"\"} 2.5"));
	/* and it parses back to the same value */
	r = fl_metrics_label("volume=\"a\\\"b\\\\c\\nd}e,f=\\\"\",k=\"x\\\\\"", "volume", back,
			     sizeof(back));
	CHECK_EQ(r, 1);
	CHECK(strcmp(back, evil) == 0);
	CHECK_EQ(fl_metrics_label("volume=\"v\"", "k", back, sizeof(back)), 0);
	CHECK_EQ(fl_metrics_parse(out.data, out.len, NULL, NULL, NULL), 0);
	fl_buf_free(&out);
	fl_metrics_free(m);
}

struct sum {
	const char *want_name;
	const char *want_le;
	double value;
	int n;
};

static int sum_cb(void *arg, const struct fl_metric_sample *s)
{
	struct sum *a = arg;
	char le[32];

	if (strcmp(s->name, a->want_name))
		return 0;
	if (a->want_le &&
	    (fl_metrics_label(s->labels, "le", le, sizeof(le)) != 1 || strcmp(le, a->want_le)))
		return 0;
	a->value = s->value;
	a->n++;
	return 0;
}

static double sample(const char *text, const char *name, const char *le)
{
	struct sum a = {name, le, NAN, 0};

	CHECK_EQ(fl_metrics_parse(text, strlen(text), sum_cb, &a, NULL), 0);
	CHECK_EQ(a.n, 1);
	return a.value;
}

static struct fl_metrics *fn_reg;

/* A gauge's function that makes a series: as mount.flockerfs's dirty-bytes
 * gauge takes the core's lock, under which RADOS ops make series. */
static double makes_series(void *arg)
{
	(void)arg;
	fl_metric_add(fl_metrics_counter(fn_reg, "made_total", "Made.", NULL, 0), 1);
	return 42;
}

static void test_gauge_fn_unlocked(void)
{
	struct fl_buf out;

	fn_reg = fl_metrics_new();
	fl_metrics_gauge_fn(fn_reg, "g", "G.", NULL, 0, makes_series, NULL);
	fl_buf_init(&out, 1 << 20);
	CHECK_EQ(fl_metrics_write(fn_reg, &out), 0); /* would deadlock under the lock */
	CHECK(find_line(out.data, "g 42"));
	fl_buf_reset(&out);
	CHECK_EQ(fl_metrics_write(fn_reg, &out), 0);
	CHECK(find_line(out.data, "made_total 2"));
	CHECK(find_line(out.data, "g 42"));
	fl_buf_free(&out);
	fl_metrics_free(fn_reg);
}

static void test_histogram(void)
{
	struct fl_metrics *m = fl_metrics_new();
	const uint64_t bounds[] = {50000, 1000000, 1000000000};
	struct fl_metric *h;
	struct fl_buf out;

	h = fl_metrics_histogram(m, "h_seconds", "Latency.", NULL, 0, bounds, 3, 1e-9);
	CHECK(h != NULL);
	/* bounds must increase */
	CHECK(fl_metrics_histogram(m, "h2_seconds", "", NULL, 0, (const uint64_t[]){2, 1}, 2, 1) ==
	      NULL);
	fl_metric_observe(h, 10000);	  /* 10 us */
	fl_metric_observe(h, 50000);	  /* on the bound: le is <= */
	fl_metric_observe(h, 2000000);	  /* 2 ms */
	fl_metric_observe(h, 5000000000); /* 5 s: +Inf only */
	fl_buf_init(&out, 1 << 20);
	CHECK_EQ(fl_metrics_write(m, &out), 0);
	CHECK_LINES(out.data, "# TYPE h_seconds histogram", "h_seconds_bucket{le=\"0.00005\"} 2",
		    "h_seconds_bucket{le=\"0.001\"} 2", "h_seconds_bucket{le=\"1\"} 3",
		    "h_seconds_bucket{le=\"+Inf\"} 4", "h_seconds_count 4");
	CHECK(fabs(sample(out.data, "h_seconds_sum", NULL) - 5.00206) < 1e-9);
	CHECK(sample(out.data, "h_seconds_bucket", "+Inf") == 4);
	fl_buf_free(&out);
	fl_metrics_free(m);
}

static struct fl_metric *hot_c, *hot_h;

static void *hot(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 100000; i++) {
		fl_metric_add(hot_c, 2);
		fl_metric_observe(hot_h, (uint64_t)i * 1000);
	}
	return NULL;
}

static void test_threads(void)
{
	struct fl_metrics *m = fl_metrics_new();
	pthread_t t[4];
	struct fl_buf out;
	int i;

	hot_c = fl_metrics_counter(m, "t_total", "T.", NULL, 0);
	hot_h = fl_metrics_histogram(m, "t_seconds", "T.", NULL, 0, fl_metrics_latency_ns,
				     fl_metrics_latency_ns_n, 1e-9);
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hot, NULL);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(fl_metric_value(hot_c), 800000);
	fl_buf_init(&out, 1 << 20);
	CHECK_EQ(fl_metrics_write(m, &out), 0);
	CHECK(sample(out.data, "t_seconds_count", NULL) == 400000);
	fl_buf_free(&out);
	fl_metrics_free(m);
}

static int count_cb(void *arg, const struct fl_metric_sample *s)
{
	(void)s;
	(*(int *)arg)++;
	return 0;
}

static void test_parse(void)
{
	static const char *bad[] = {
		"x{a=\"1\"",	   /* no closing brace */
		"x{a=1} 1",	   /* unquoted */
		"x{a=\"\\q\"} 1",  /* bad escape */
		"x 1 2 3",	   /* junk after the timestamp */
		"x one",	   /* not a number */
		"x",		   /* no value */
		"9x 1",		   /* bad name */
		"# TYPE x colour", /* bad type */
		"x{a=\"1\"}1",	   /* no space */
		"x{-a=\"1\"} 1",   /* bad label name */
	};
	const char *good = "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n"
			   "a_total{x=\"1\",} 2 1700000000000\n# a comment\n\n"
			   "b{y=\"\"} +Inf\nb NaN\nb -1.5e-3\n";
	unsigned line = 0;
	size_t i;
	int n = 0;

	CHECK_EQ(fl_metrics_parse(good, strlen(good), count_cb, &n, NULL), 0);
	CHECK_EQ(n, 5);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];

		snprintf(text, sizeof(text), "ok 1\n%s\n", bad[i]);
		line = 0;
		if (fl_metrics_parse(text, strlen(text), NULL, NULL, &line) != -EINVAL)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK_EQ(fl_metrics_parse(text, strlen(text), NULL, NULL, &line), -EINVAL);
		CHECK_EQ(line, 2);
	}
	/* NUL bytes are not text */
	CHECK_EQ(fl_metrics_parse("x 1\0", 4, NULL, NULL, NULL), -EINVAL);
}

static void test_merge(void)
{
	struct fl_metrics *m1 = fl_metrics_new(), *m2 = fl_metrics_new();
	struct fl_metrics_merge *mg = fl_metrics_merge_new();
	struct fl_buf a, b, out;
	const char *p, *q;

	fl_metrics_const_label(m1, "volume", "one");
	fl_metrics_const_label(m2, "volume", "two");
	fl_metric_add(fl_metrics_counter(m1, "w_bytes_total", "W.", NULL, 0), 10);
	fl_metric_add(fl_metrics_counter(m2, "w_bytes_total", "W.", NULL, 0), 20);
	fl_metric_observe(fl_metrics_histogram(m1, "l_seconds", "L.", NULL, 0,
					       fl_metrics_latency_ns, fl_metrics_latency_ns_n,
					       1e-9),
			  1000);
	fl_metric_observe(fl_metrics_histogram(m2, "l_seconds", "L.", NULL, 0,
					       fl_metrics_latency_ns, fl_metrics_latency_ns_n,
					       1e-9),
			  1000);
	fl_buf_init(&a, 1 << 20);
	fl_buf_init(&b, 1 << 20);
	fl_buf_init(&out, 1 << 20);
	CHECK_EQ(fl_metrics_write(m1, &a), 0);
	CHECK_EQ(fl_metrics_write(m2, &b), 0);
	CHECK_EQ(fl_metrics_merge_add(mg, a.data, a.len), 0);
	CHECK_EQ(fl_metrics_merge_add(mg, "broken{ 1\n", 10), -EINVAL);
	CHECK_EQ(fl_metrics_merge_add(mg, b.data, b.len), 0);
	CHECK_EQ(fl_metrics_merge_write(mg, &out), 0);
	/* one HELP and TYPE per family, the samples of both mounts under them */
	p = strstr(out.data, "# TYPE w_bytes_total counter");
	CHECK(p && !strstr(p + 1, "# TYPE w_bytes_total"));
	CHECK(find_line(out.data, "w_bytes_total{volume=\"one\"} 10"));
	CHECK(find_line(out.data, "w_bytes_total{volume=\"two\"} 20"));
	p = strstr(out.data, "# TYPE l_seconds histogram");
	q = strstr(out.data, "l_seconds_count{volume=\"two\"} 1");
	CHECK(p && q && q > p && !strstr(p + 1, "# TYPE l_seconds"));
	CHECK(!strstr(out.data, "broken"));
	CHECK_EQ(fl_metrics_parse(out.data, out.len, NULL, NULL, NULL), 0);
	fl_buf_free(&a);
	fl_buf_free(&b);
	fl_buf_free(&out);
	fl_metrics_merge_free(mg);
	fl_metrics_free(m1);
	fl_metrics_free(m2);
}

int main(void)
{
	test_counter_gauge();
	test_escaping();
	test_gauge_fn_unlocked();
	test_histogram();
	test_threads();
	test_parse();
	test_merge();
	return check_report("test_metrics");
}
