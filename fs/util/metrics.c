/* flockerfs — metrics registry, exposition writer and parser (see metrics.h). */
#include "fs/util/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "flocker/buf.h"

#include "fs/util/pidfile.h"

#define LINE_MAX_BYTES (64u << 10)

const uint64_t fl_metrics_latency_ns[] = {
	50000,	    100000,	250000,	     500000,	  1000000,     2500000,	  5000000,
	10000000,   25000000,	50000000,    100000000,	  250000000,   500000000, 1000000000,
	2500000000, 5000000000, 10000000000, 30000000000, 60000000000,
};
const size_t fl_metrics_latency_ns_n =
	sizeof(fl_metrics_latency_ns) / sizeof(fl_metrics_latency_ns[0]);

struct family {
	struct family *next;
	char *name;
	char *help;
	enum fl_metric_type type;
	size_t nlabels;
	char *lnames[FL_METRICS_MAX_LABELS];
	uint64_t bounds[FL_METRICS_MAX_BUCKETS];
	size_t nb;
	double scale;
	struct fl_metric *series, **tail;
};

struct fl_metric {
	struct fl_metric *next;
	struct family *fam;
	char *values[FL_METRICS_MAX_LABELS];
	char *ltext; /* k="v",k2="v2" (escaped), "" without labels */
	_Atomic int64_t v;
	double (*fn)(void *arg);
	void *arg;
	_Atomic uint64_t *buckets; /* nb + 1, the last one +Inf; not cumulative */
	_Atomic uint64_t sum;
};

struct fl_metrics {
	pthread_mutex_t lock;
	struct family *fams, **tail;
	char *cltext; /* const labels, escaped, each followed by ',' */
	unsigned nconst;
};

static bool name_ok(const char *s, bool label)
{
	const char *p;

	if (!s || !*s)
		return false;
	for (p = s; *p; p++) {
		char c = *p;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			     (!label && c == ':');

		if (!alpha && !(p > s && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

struct fl_metrics *fl_metrics_new(void)
{
	struct fl_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	m->tail = &m->fams;
	return m;
}

static void series_free(struct fl_metric *s)
{
	size_t i;

	for (i = 0; i < FL_METRICS_MAX_LABELS; i++)
		free(s->values[i]);
	free(s->ltext);
	free(s->buckets);
	free(s);
}

void fl_metrics_free(struct fl_metrics *m)
{
	struct family *f, *fn;
	struct fl_metric *s, *sn;
	size_t i;

	if (!m)
		return;
	for (f = m->fams; f; f = fn) {
		fn = f->next;
		for (s = f->series; s; s = sn) {
			sn = s->next;
			series_free(s);
		}
		for (i = 0; i < f->nlabels; i++)
			free(f->lnames[i]);
		free(f->name);
		free(f->help);
		free(f);
	}
	free(m->cltext);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* text with backslash and newline escaped, and double quotes too when quotes. */
static int escape(struct fl_buf *out, const char *text, bool quotes)
{
	const char *p;
	int ret = 0;

	for (p = text; *p && !ret; p++) {
		if (*p == '\\')
			ret = fl_buf_append(out, "\\\\", 2);
		else if (*p == '"' && quotes)
			ret = fl_buf_append(out, "\\\"", 2);
		else if (*p == '\n')
			ret = fl_buf_append(out, "\\n", 2);
		else
			ret = fl_buf_append(out, p, 1);
	}
	return ret;
}

int fl_metrics_escape_label(struct fl_buf *out, const char *value)
{
	return escape(out, value, true);
}

/* HELP text: backslash and newline escaped. */
static int escape_help(struct fl_buf *out, const char *text)
{
	return escape(out, text, false);
}

int fl_metrics_const_label(struct fl_metrics *m, const char *name, const char *value)
{
	struct fl_buf b;
	int ret;

	if (!name_ok(name, true) || !strcmp(name, "le") || !value || m->nconst >= 2)
		return -EINVAL;
	fl_buf_init(&b, 1u << 16);
	pthread_mutex_lock(&m->lock);
	ret = fl_buf_printf(&b, "%s%s=\"", m->cltext ? m->cltext : "", name);
	if (!ret)
		ret = fl_metrics_escape_label(&b, value);
	if (!ret)
		ret = fl_buf_append(&b, "\",", 2);
	if (!ret) {
		free(m->cltext);
		m->cltext = b.data;
		m->nconst++;
		b.data = NULL;
	}
	pthread_mutex_unlock(&m->lock);
	fl_buf_free(&b);
	return ret ? -ENOMEM : 0;
}

static struct family *family_get(struct fl_metrics *m, const char *name, const char *help,
				 enum fl_metric_type type, const char *const *labels,
				 size_t nlabels)
{
	struct family *f;
	size_t i;

	for (f = m->fams; f; f = f->next) {
		if (strcmp(f->name, name))
			continue;
		if (f->type != type || f->nlabels != nlabels)
			return NULL;
		for (i = 0; i < nlabels; i++)
			if (strcmp(f->lnames[i], labels[2 * i]))
				return NULL;
		return f;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	f->type = type;
	f->nlabels = nlabels;
	f->tail = &f->series;
	for (i = 0; i < nlabels; i++)
		f->lnames[i] = strdup(labels[2 * i]);
	for (i = 0; i < nlabels; i++)
		if (!f->lnames[i])
			break;
	if (!f->name || !f->help || i < nlabels) {
		for (i = 0; i < nlabels; i++)
			free(f->lnames[i]);
		free(f->name);
		free(f->help);
		free(f);
		return NULL;
	}
	*m->tail = f;
	m->tail = &f->next;
	return f;
}

static struct fl_metric *series_get(struct fl_metrics *m, const char *name, const char *help,
				    enum fl_metric_type type, const char *const *labels,
				    size_t nlabels, const uint64_t *bounds, size_t nb, double scale,
				    double (*fn)(void *arg), void *fnarg)
{
	struct fl_metric *s = NULL;
	struct family *f;
	struct fl_buf lt;
	size_t i;

	if (!m || !name_ok(name, false) || nlabels > FL_METRICS_MAX_LABELS ||
	    (nlabels && !labels) || nb > FL_METRICS_MAX_BUCKETS)
		return NULL;
	for (i = 0; i < nlabels; i++)
		if (!name_ok(labels[2 * i], true) || !strcmp(labels[2 * i], "le") ||
		    !labels[2 * i + 1])
			return NULL;
	for (i = 1; i < nb; i++)
		if (bounds[i] <= bounds[i - 1])
			return NULL;
	if (type == FL_METRIC_HISTOGRAM && (!nb || !(scale > 0)))
		return NULL;
	fl_buf_init(&lt, 1u << 16);
	pthread_mutex_lock(&m->lock);
	f = family_get(m, name, help, type, labels, nlabels);
	if (!f)
		goto out;
	if (type == FL_METRIC_HISTOGRAM && !f->series) {
		memcpy(f->bounds, bounds, nb * sizeof(*bounds));
		f->nb = nb;
		f->scale = scale;
	}
	for (s = f->series; s; s = s->next) {
		for (i = 0; i < nlabels; i++)
			if (strcmp(s->values[i], labels[2 * i + 1]))
				break;
		if (i == nlabels)
			goto out; /* found */
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto out;
	s->fam = f;
	s->fn = fn;
	s->arg = fnarg;
	for (i = 0; i < nlabels; i++) {
		s->values[i] = strdup(labels[2 * i + 1]);
		if (!s->values[i] || fl_buf_printf(&lt, "%s%s=\"", i ? "," : "", labels[2 * i]) ||
		    fl_metrics_escape_label(&lt, labels[2 * i + 1]) || fl_buf_append(&lt, "\"", 1))
			goto out_free;
	}
	s->ltext = strdup(lt.data ? lt.data : "");
	if (!s->ltext)
		goto out_free;
	if (type == FL_METRIC_HISTOGRAM) {
		s->buckets = calloc(f->nb + 1, sizeof(*s->buckets));
		if (!s->buckets)
			goto out_free;
	}
	*f->tail = s;
	f->tail = &s->next;
	goto out;
out_free:
	series_free(s);
	s = NULL;
out:
	pthread_mutex_unlock(&m->lock);
	fl_buf_free(&lt);
	return s;
}

struct fl_metric *fl_metrics_counter(struct fl_metrics *m, const char *name, const char *help,
				     const char *const *labels, size_t nlabels)
{
	return series_get(m, name, help, FL_METRIC_COUNTER, labels, nlabels, NULL, 0, 0, NULL,
			  NULL);
}

struct fl_metric *fl_metrics_gauge(struct fl_metrics *m, const char *name, const char *help,
				   const char *const *labels, size_t nlabels)
{
	return series_get(m, name, help, FL_METRIC_GAUGE, labels, nlabels, NULL, 0, 0, NULL, NULL);
}

struct fl_metric *fl_metrics_gauge_fn(struct fl_metrics *m, const char *name, const char *help,
				      const char *const *labels, size_t nlabels,
				      double (*fn)(void *arg), void *arg)
{
	/* an existing series keeps its function */
	return series_get(m, name, help, FL_METRIC_GAUGE, labels, nlabels, NULL, 0, 0, fn, arg);
}

struct fl_metric *fl_metrics_histogram(struct fl_metrics *m, const char *name, const char *help,
				       const char *const *labels, size_t nlabels,
				       const uint64_t *bounds, size_t n, double scale)
{
	return series_get(m, name, help, FL_METRIC_HISTOGRAM, labels, nlabels, bounds, n, scale,
			  NULL, NULL);
}

void fl_metric_add(struct fl_metric *s, uint64_t n)
{
	if (s)
		atomic_fetch_add_explicit(&s->v, (int64_t)n, memory_order_relaxed);
}

void fl_metric_sub(struct fl_metric *s, uint64_t n)
{
	if (s)
		atomic_fetch_sub_explicit(&s->v, (int64_t)n, memory_order_relaxed);
}

void fl_metric_set(struct fl_metric *s, int64_t v)
{
	if (s)
		atomic_store_explicit(&s->v, v, memory_order_relaxed);
}

void fl_metric_observe(struct fl_metric *s, uint64_t v)
{
	size_t lo, hi;

	if (!s || !s->buckets)
		return;
	/* the first bound >= v; nb when above all */
	lo = 0;
	hi = s->fam->nb;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->fam->bounds[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	atomic_fetch_add_explicit(&s->buckets[lo], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum, v, memory_order_relaxed);
}

int64_t fl_metric_value(const struct fl_metric *s)
{
	return s ? atomic_load_explicit(&s->v, memory_order_relaxed) : 0;
}

uint64_t fl_metrics_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A float as Prometheus reads it: integers plainly, NaN, +Inf, -Inf. */
static int put_double(struct fl_buf *out, double v)
{
	if (isnan(v))
		return fl_buf_append(out, "NaN", 3);
	if (isinf(v))
		return fl_buf_append(out, v > 0 ? "+Inf" : "-Inf", 4);
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return fl_buf_printf(out, "%.0f", v);
	return fl_buf_printf(out, "%.17g", v);
}

/* A bucket bound: decimal without an exponent nor trailing zeros ("0.00005"). */
static int put_bound(struct fl_buf *out, double v)
{
	char s[64];
	size_t n;

	if (v == floor(v) && v < 1e15)
		return fl_buf_printf(out, "%.0f", v);
	snprintf(s, sizeof(s), "%.12f", v);
	n = strlen(s);
	while (n > 1 && s[n - 1] == '0')
		n--;
	if (s[n - 1] == '.')
		n--;
	return fl_buf_append(out, s, n);
}

static const char *type_name(enum fl_metric_type t)
{
	return t == FL_METRIC_COUNTER ? "counter" : t == FL_METRIC_GAUGE ? "gauge" : "histogram";
}

/* name{const,labels[,extra]} */
static int put_series(struct fl_buf *out, const struct fl_metrics *m, const char *name,
		      const char *suffix, const struct fl_metric *s, const char *extra)
{
	const char *cl = m->cltext ? m->cltext : "";
	size_t cln = strlen(cl);
	bool any = cln || s->ltext[0] || extra;
	int ret;

	/* the const labels end in ',': drop the last one when nothing follows */
	if (cln && !s->ltext[0] && !extra)
		cln--;
	ret = fl_buf_printf(out, "%s%s%s%.*s%s%s%s%s ", name, suffix, any ? "{" : "", (int)cln, cl,
			    s->ltext, s->ltext[0] && extra ? "," : "", extra ? extra : "",
			    any ? "}" : "");
	return ret;
}

static int write_histogram(struct fl_buf *out, const struct fl_metrics *m, const struct family *f,
			   const struct fl_metric *s)
{
	uint64_t cum = 0, counts[FL_METRICS_MAX_BUCKETS + 1];
	char le[96];
	size_t i;
	int ret = 0;

	for (i = 0; i <= f->nb; i++)
		counts[i] = atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
	for (i = 0; i <= f->nb && !ret; i++) {
		struct fl_buf lb;

		cum += counts[i];
		fl_buf_init(&lb, sizeof(le) - 1);
		if (i < f->nb) {
			ret = fl_buf_append(&lb, "le=\"", 4);
			if (!ret)
				ret = put_bound(&lb, (double)f->bounds[i] * f->scale);
			if (!ret)
				ret = fl_buf_append(&lb, "\"", 1);
		} else {
			ret = fl_buf_append(&lb, "le=\"+Inf\"", 9);
		}
		if (!ret)
			snprintf(le, sizeof(le), "%s", lb.data);
		fl_buf_free(&lb);
		if (!ret)
			ret = put_series(out, m, f->name, "_bucket", s, le);
		if (!ret)
			ret = fl_buf_printf(out, "%" PRIu64 "\n", cum);
	}
	if (!ret)
		ret = put_series(out, m, f->name, "_sum", s, NULL);
	if (!ret)
		ret = put_double(out, (double)atomic_load_explicit(&s->sum, memory_order_relaxed) *
					      f->scale);
	if (!ret)
		ret = fl_buf_append(out, "\n", 1);
	if (!ret)
		ret = put_series(out, m, f->name, "_count", s, NULL);
	if (!ret)
		ret = fl_buf_printf(out, "%" PRIu64 "\n", cum);
	return ret;
}

struct fnval {
	double (*fn)(void *arg);
	void *arg;
	double v;
};

/* The values of the gauges with a function, called without the registry's
 * lock (a function may take locks of its own, under which series are made). */
static struct fnval *eval_fns(struct fl_metrics *m, size_t *n)
{
	const struct family *f;
	const struct fl_metric *s;
	struct fnval *v = NULL;
	size_t k = 0, i;

	pthread_mutex_lock(&m->lock);
	for (f = m->fams; f; f = f->next)
		for (s = f->series; s; s = s->next)
			k += s->fn != NULL;
	v = k ? calloc(k, sizeof(*v)) : NULL;
	k = v ? k : 0;
	i = 0;
	for (f = m->fams; f && i < k; f = f->next)
		for (s = f->series; s && i < k; s = s->next)
			if (s->fn) {
				v[i].fn = s->fn;
				v[i].arg = s->arg;
				i++;
			}
	pthread_mutex_unlock(&m->lock);
	for (i = 0; i < k; i++)
		v[i].v = v[i].fn(v[i].arg);
	*n = k;
	return v;
}

int fl_metrics_write(struct fl_metrics *m, struct fl_buf *out)
{
	const struct family *f;
	const struct fl_metric *s;
	size_t nfn = 0, ifn = 0;
	struct fnval *fv = eval_fns(m, &nfn);
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	for (f = m->fams; f && !ret; f = f->next) {
		if (!f->series)
			continue;
		ret = fl_buf_printf(out, "# HELP %s ", f->name);
		if (!ret)
			ret = escape_help(out, f->help);
		if (!ret)
			ret = fl_buf_printf(out, "\n# TYPE %s %s\n", f->name, type_name(f->type));
		for (s = f->series; s && !ret; s = s->next) {
			if (f->type == FL_METRIC_HISTOGRAM) {
				ret = write_histogram(out, m, f, s);
				continue;
			}
			ret = put_series(out, m, f->name, "", s, NULL);
			/* a gauge made since the values were taken has none yet */
			if (!ret && s->fn)
				ret = put_double(out, ifn < nfn ? fv[ifn++].v : NAN);
			else if (!ret)
				ret = fl_buf_printf(
					out, "%" PRId64,
					atomic_load_explicit(&s->v, memory_order_relaxed));
			if (!ret)
				ret = fl_buf_append(out, "\n", 1);
		}
	}
	pthread_mutex_unlock(&m->lock);
	free(fv);
	return ret;
}

/* ---------- parser ---------- */

static size_t name_len(const char *p, bool label)
{
	size_t n = 0;

	for (;; n++) {
		char c = p[n];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			     (!label && c == ':');

		if (!alpha && !(n && c >= '0' && c <= '9'))
			return n;
	}
}

/* Checks a label set starting after '{'; returns the length up to '}' or -1. */
static ssize_t labels_len(const char *p)
{
	const char *q = p;

	for (;;) {
		size_t n;

		while (*q == ' ')
			q++;
		if (*q == '}')
			return q - p;
		n = name_len(q, true);
		if (!n)
			return -1;
		q += n;
		while (*q == ' ')
			q++;
		if (*q++ != '=')
			return -1;
		while (*q == ' ')
			q++;
		if (*q++ != '"')
			return -1;
		while (*q != '"') {
			if (!*q)
				return -1;
			if (*q == '\\') {
				q++;
				if (*q != '\\' && *q != '"' && *q != 'n')
					return -1;
			}
			q++;
		}
		q++;
		while (*q == ' ')
			q++;
		if (*q == ',')
			q++;
		else if (*q != '}')
			return -1;
	}
}

static int parse_value(const char *s, double *v)
{
	char *end;

	if (!*s)
		return -EINVAL;
	if (!strcmp(s, "+Inf") || !strcmp(s, "Inf")) {
		*v = INFINITY;
		return 0;
	}
	if (!strcmp(s, "-Inf")) {
		*v = -INFINITY;
		return 0;
	}
	if (!strcmp(s, "NaN")) {
		*v = NAN;
		return 0;
	}
	if (!((*s >= '0' && *s <= '9') || *s == '-' || *s == '+' || *s == '.'))
		return -EINVAL;
	errno = 0;
	*v = strtod(s, &end);
	return *end || errno == ERANGE ? -EINVAL : 0;
}

struct pstate {
	char family[256];
	char type[32];
};

/* One line, NUL-terminated and writable. */
static int parse_line(struct pstate *ps, char *l,
		      int (*cb)(void *arg, const struct fl_metric_sample *s), void *arg)
{
	struct fl_metric_sample smp;
	char *p = l, *val, *ts, *lab = NULL;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return 0;
	if (*p == '#') {
		bool help = !strncmp(p, "# HELP ", 7), type = !strncmp(p, "# TYPE ", 7);

		if (!help && !type)
			return 0;
		p += 7;
		n = name_len(p, false);
		if (!n || n >= sizeof(ps->family) || (p[n] != ' ' && p[n] != '\0'))
			return -EINVAL;
		if (strncmp(ps->family, p, n) || ps->family[n]) {
			memcpy(ps->family, p, n);
			ps->family[n] = '\0';
			snprintf(ps->type, sizeof(ps->type), "untyped");
		}
		if (type) {
			const char *t = p + n + (p[n] == ' ');

			if (strcmp(t, "counter") && strcmp(t, "gauge") && strcmp(t, "histogram") &&
			    strcmp(t, "summary") && strcmp(t, "untyped"))
				return -EINVAL;
			snprintf(ps->type, sizeof(ps->type), "%s", t);
		}
		return 0;
	}
	n = name_len(p, false);
	if (!n)
		return -EINVAL;
	if (p[n] == '{') {
		ssize_t ln = labels_len(p + n + 1);

		if (ln < 0)
			return -EINVAL;
		p[n] = '\0';
		lab = p + n + 1;
		lab[ln] = '\0';
		val = lab + ln + 1;
		if (*val != ' ' && *val != '\t')
			return -EINVAL;
	} else {
		if (p[n] != ' ' && p[n] != '\t')
			return -EINVAL;
		p[n] = '\0';
		val = p + n + 1;
	}
	while (*val == ' ' || *val == '\t')
		val++;
	for (ts = val; *ts && *ts != ' ' && *ts != '\t'; ts++)
		;
	if (*ts) {
		char *e;

		*ts++ = '\0';
		while (*ts == ' ' || *ts == '\t')
			ts++;
		if (*ts) {
			strtoll(ts, &e, 10);
			if (*e || e == ts)
				return -EINVAL;
		}
	}
	if (parse_value(val, &smp.value))
		return -EINVAL;
	smp.family = ps->family;
	smp.type = ps->family[0] ? ps->type : "untyped";
	smp.name = p;
	smp.labels = lab ? lab : "";
	return cb ? cb(arg, &smp) : 0;
}

int fl_metrics_parse(const char *text, size_t len,
		     int (*cb)(void *arg, const struct fl_metric_sample *s), void *arg,
		     unsigned *line)
{
	struct pstate ps = {"", "untyped"};
	char *buf = malloc(LINE_MAX_BYTES + 1);
	size_t pos = 0;
	unsigned no = 0;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (pos < len && !ret) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		no++;
		if (n > LINE_MAX_BYTES || memchr(text + pos, '\0', n)) {
			ret = -EINVAL;
			break;
		}
		memcpy(buf, text + pos, n);
		buf[n] = '\0';
		ret = parse_line(&ps, buf, cb, arg);
		pos += n + 1;
	}
	if (ret && line)
		*line = no;
	free(buf);
	return ret;
}

int fl_metrics_labels_next(const char **cursor, char *name, size_t namelen, char *value,
			   size_t valuelen)
{
	const char *q = *cursor;
	size_t n, o = 0;

	while (*q == ' ' || *q == ',')
		q++;
	if (!*q)
		return 0;
	n = name_len(q, true);
	if (!n)
		return -EINVAL;
	if (namelen)
		snprintf(name, namelen, "%.*s", (int)n, q);
	q += n;
	while (*q == ' ')
		q++;
	if (*q++ != '=')
		return -EINVAL;
	while (*q == ' ')
		q++;
	if (*q++ != '"')
		return -EINVAL;
	while (*q != '"') {
		char c = *q;

		if (!c)
			return -EINVAL;
		if (c == '\\') {
			q++;
			c = *q == 'n' ? '\n' : *q;
			if (!c)
				return -EINVAL;
		}
		if (o + 1 < valuelen)
			value[o++] = c;
		q++;
	}
	if (valuelen)
		value[o] = '\0';
	*cursor = q + 1;
	return 1;
}

int fl_metrics_label(const char *labels, const char *name, char *out, size_t outlen)
{
	const char *q = labels;
	char n[256];
	int r;

	while ((r = fl_metrics_labels_next(&q, n, sizeof(n), out, outlen)) == 1)
		if (!strcmp(n, name))
			return 1;
	return r;
}

/* ---------- merge ---------- */

struct mfam {
	char *name;
	char *help; /* the whole line, or NULL */
	char *type;
	struct fl_buf samples;
};

struct fl_metrics_merge {
	struct mfam *f;
	size_t n, cap;
};

struct fl_metrics_merge *fl_metrics_merge_new(void)
{
	return calloc(1, sizeof(struct fl_metrics_merge));
}

void fl_metrics_merge_free(struct fl_metrics_merge *mg)
{
	size_t i;

	if (!mg)
		return;
	for (i = 0; i < mg->n; i++) {
		free(mg->f[i].name);
		free(mg->f[i].help);
		free(mg->f[i].type);
		fl_buf_free(&mg->f[i].samples);
	}
	free(mg->f);
	free(mg);
}

static struct mfam *mfam_get(struct fl_metrics_merge *mg, const char *name, size_t n)
{
	struct mfam *f;
	size_t i;

	for (i = mg->n; i-- > 0;)
		if (strlen(mg->f[i].name) == n && !strncmp(mg->f[i].name, name, n))
			return &mg->f[i];
	if (fl_grow(&mg->f, &mg->cap, mg->n, sizeof(*mg->f), 32))
		return NULL;
	f = &mg->f[mg->n];
	memset(f, 0, sizeof(*f));
	f->name = strndup(name, n);
	if (!f->name)
		return NULL;
	fl_buf_init(&f->samples, FL_METRICS_TEXT_MAX * 4);
	mg->n++;
	return f;
}

int fl_metrics_merge_add(struct fl_metrics_merge *mg, const char *text, size_t len)
{
	struct mfam *cur = NULL;
	size_t pos = 0;
	int ret;

	if (len > FL_METRICS_TEXT_MAX)
		return -EINVAL;
	ret = fl_metrics_parse(text, len, NULL, NULL, NULL);
	if (ret)
		return ret;
	while (pos < len && !ret) {
		const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos;

		pos += n + 1;
		while (n && (*l == ' ' || *l == '\t')) {
			l++;
			n--;
		}
		if (!n)
			continue;
		if (*l == '#') {
			bool help = n > 7 && !strncmp(l, "# HELP ", 7);
			bool type = n > 7 && !strncmp(l, "# TYPE ", 7);
			char **slot;

			if (!help && !type)
				continue;
			cur = mfam_get(mg, l + 7, name_len(l + 7, false));
			if (!cur)
				return -ENOMEM;
			slot = help ? &cur->help : &cur->type;
			if (!*slot && !(*slot = strndup(l, n)))
				return -ENOMEM;
			continue;
		}
		if (!cur || strncmp(l, cur->name, strlen(cur->name))) {
			cur = mfam_get(mg, l, name_len(l, false));
			if (!cur)
				return -ENOMEM;
		}
		ret = fl_buf_append(&cur->samples, l, n);
		if (!ret)
			ret = fl_buf_append(&cur->samples, "\n", 1);
	}
	return ret;
}

int fl_metrics_merge_write(struct fl_metrics_merge *mg, struct fl_buf *out)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < mg->n && !ret; i++) {
		const struct mfam *f = &mg->f[i];

		if (!f->samples.len)
			continue;
		if (f->help)
			ret = fl_buf_printf(out, "%s\n", f->help);
		if (!ret && f->type)
			ret = fl_buf_printf(out, "%s\n", f->type);
		if (!ret)
			ret = fl_buf_append(out, f->samples.data, f->samples.len);
	}
	return ret;
}

/* ---------- the mount daemon's socket ---------- */

void fl_metrics_sock_path(char *buf, size_t len, dev_t dev)
{
	snprintf(buf, len, "%s/%u.%u.metrics", FL_RUN_DIR, major(dev), minor(dev));
}

static int64_t ms_now(void)
{
	return (int64_t)(fl_metrics_now_ns() / 1000000u);
}

int fl_metrics_fetch(dev_t dev, unsigned timeout_ms, struct fl_buf *out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t until = ms_now() + timeout_ms;
	char chunk[16384];
	int fd, ret = 0;

	fl_metrics_sock_path(sa.sun_path, sizeof(sa.sun_path), dev);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		/* a socket file nobody listens on: the daemon is gone */
		ret = errno == ECONNREFUSED ? -ENOENT : -errno;
		goto out;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = until - ms_now();
		ssize_t n;

		if (left <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		n = read(fd, chunk, sizeof(chunk));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		ret = fl_buf_append(out, chunk, (size_t)n);
		if (ret)
			break;
	}
out:
	close(fd);
	return ret;
}
