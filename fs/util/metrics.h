/*
 * flockerfs — metrics: counters, gauges and histograms, written in the
 * Prometheus text exposition format (version 0.0.4).
 *
 * A registry holds families (one name, one HELP, one TYPE) and their series
 * (one set of label values each).  Series are made once, at start or the
 * first time a label value is seen, under the registry's lock; the hot path
 * (fl_metric_add, fl_metric_observe, ...) is one or two relaxed atomic adds
 * on the series and takes no lock.  Series live as long as their registry.
 *
 * Histograms have fixed buckets given as integer upper bounds in a unit of
 * the caller's (nanoseconds, bytes) and a scale that turns the unit into the
 * exported one (1e-9 for seconds): fl_metric_observe(s, ns) costs a search in
 * the bounds and two atomic adds.
 *
 * The parser reads exposition text back (bounded: lines, names and label
 * sets have size limits): the agent merges its mounts' text with it, and
 * flockerctl stats prints it.
 */
#ifndef FLOCKER_METRICS_H
#define FLOCKER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "flocker/buf.h"

#define FL_METRICS_MAX_LABELS  4
#define FL_METRICS_MAX_BUCKETS 24
/* what the parser and the fetcher accept from one source */
#define FL_METRICS_TEXT_MAX (4u << 20)

enum fl_metric_type { FL_METRIC_COUNTER, FL_METRIC_GAUGE, FL_METRIC_HISTOGRAM };

struct fl_metrics;
struct fl_metric;

/* Latency buckets in nanoseconds, 50 us to 60 s (scale 1e-9). */
extern const uint64_t fl_metrics_latency_ns[];
extern const size_t fl_metrics_latency_ns_n;

/* A new empty registry, or NULL (out of memory).  Free with fl_metrics_free. */
struct fl_metrics *fl_metrics_new(void);
void fl_metrics_free(struct fl_metrics *m);
/* A label every series of the registry is written with (first), e.g.
 * volume="v1"; at most 2.  0 or -EINVAL (bad name, too many) or -ENOMEM. */
int fl_metrics_const_label(struct fl_metrics *m, const char *name, const char *value);

/*
 * The series of family name with the given labels, made if new.  labels is
 * NULL or an array of nlabels {name, value} pairs (label names fixed per
 * family; values any UTF-8 text).  help is the family's HELP text, taken the
 * first time.  Returns NULL on a bad name, a family of another type or other
 * label names, too many labels or buckets, or no memory; the hooks take NULL
 * (nothing is counted).
 */
struct fl_metric *fl_metrics_counter(struct fl_metrics *m, const char *name, const char *help,
				     const char *const *labels, size_t nlabels);
struct fl_metric *fl_metrics_gauge(struct fl_metrics *m, const char *name, const char *help,
				   const char *const *labels, size_t nlabels);
/* A gauge whose value fn(arg) gives when the registry is written (fn runs
 * in the writer's thread, without the registry's lock: it may take locks
 * under which other threads make series). */
struct fl_metric *fl_metrics_gauge_fn(struct fl_metrics *m, const char *name, const char *help,
				      const char *const *labels, size_t nlabels,
				      double (*fn)(void *arg), void *arg);
/* bounds: n strictly increasing upper bounds (n <= FL_METRICS_MAX_BUCKETS);
 * +Inf is added.  A family's bounds are those of its first series. */
struct fl_metric *fl_metrics_histogram(struct fl_metrics *m, const char *name, const char *help,
				       const char *const *labels, size_t nlabels,
				       const uint64_t *bounds, size_t n, double scale);

/* The hot path.  Each takes NULL (and does nothing). */
void fl_metric_add(struct fl_metric *s, uint64_t n);	 /* counters and gauges */
void fl_metric_sub(struct fl_metric *s, uint64_t n);	 /* gauges */
void fl_metric_set(struct fl_metric *s, int64_t v);	 /* gauges */
void fl_metric_observe(struct fl_metric *s, uint64_t v); /* histograms, in the bounds' unit */
/* The value of a counter or gauge (tests). */
int64_t fl_metric_value(const struct fl_metric *s);

/* CLOCK_MONOTONIC in nanoseconds, for latencies. */
uint64_t fl_metrics_now_ns(void);

/* Appends the registry in the text exposition format to out (families in
 * the order they were made).  0, -E2BIG (out's cap) or -ENOMEM. */
int fl_metrics_write(struct fl_metrics *m, struct fl_buf *out);

/* Appends value as a label value: backslash, double quote and newline
 * escaped as \\, \" and \n. */
int fl_metrics_escape_label(struct fl_buf *out, const char *value);

/* One sample of exposition text, valid during the callback.  labels is the
 * text between the braces, as written (escapes kept), "" when none. */
struct fl_metric_sample {
	const char *family; /* from the last TYPE line ("" before any) */
	const char *type;   /* "counter", "gauge", "histogram", "untyped", ... */
	const char *name;   /* the sample's own name: family, or family_bucket, ... */
	const char *labels;
	double value;
};

/*
 * Parses exposition text: comments (# HELP, # TYPE, others ignored) and
 * samples `name{labels} value [timestamp]`.  cb runs for each sample; its
 * non-zero return stops the parse and is returned.  -EINVAL on text that is
 * not the format (a bad name, label, quoting or value, a line over 64 KiB)
 * with the line number in *line when line is not NULL.
 */
int fl_metrics_parse(const char *text, size_t len,
		     int (*cb)(void *arg, const struct fl_metric_sample *s), void *arg,
		     unsigned *line);

/* Gets one label's value (unescaped) out of a sample's labels text: 1 and
 * the value in out, 0 when absent, -EINVAL when the text is bad. */
int fl_metrics_label(const char *labels, const char *name, char *out, size_t outlen);
/* The next label of a labels text at *cursor, unescaped (cut to the sizes):
 * 1 and *cursor moved past it, 0 at the end, -EINVAL when the text is bad. */
int fl_metrics_labels_next(const char **cursor, char *name, size_t namelen, char *value,
			   size_t valuelen);

/*
 * Merges exposition texts into one: every family once, with its HELP and
 * TYPE from the first text that has it, then its samples from all texts in
 * order.  Texts that do not parse are left out (0 is still returned; *bad
 * counts them).  0, -E2BIG or -ENOMEM.
 */
struct fl_metrics_merge;
struct fl_metrics_merge *fl_metrics_merge_new(void);
/* Adds one text; -EINVAL (left out) when it does not parse, else 0 or -ENOMEM. */
int fl_metrics_merge_add(struct fl_metrics_merge *mg, const char *text, size_t len);
int fl_metrics_merge_write(struct fl_metrics_merge *mg, struct fl_buf *out);
void fl_metrics_merge_free(struct fl_metrics_merge *mg);

/*
 * A mount daemon's metrics socket: FL_RUN_DIR/MAJ.MIN.metrics beside its pid
 * file.  The daemon writes its exposition text to every connection and
 * closes it; fl_metrics_fetch reads that within timeout_ms.
 */
void fl_metrics_sock_path(char *buf, size_t len, dev_t dev);
/* The text of the mount of device dev into out: 0, -ENOENT (no socket: not
 * a flockerfs mount, or one without metrics), -ETIMEDOUT, or -errno. */
int fl_metrics_fetch(dev_t dev, unsigned timeout_ms, struct fl_buf *out);

#endif
