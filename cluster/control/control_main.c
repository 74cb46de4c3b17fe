/*
 * flocker-control — the cluster's registry of volumes, nodes and leases.
 *
 *   flocker-control -c CEPH_CONF [--id ID] [--pool POOL] --certs DIR [--bind ADDR]
 *                   [--api-port 4523] [--agent-port 4524] [--lease S] [--heartbeat S]
 *                   [--trash-ttl DURATION] [--leader-lease S] [--pid-file PATH]
 *                   [--metrics ADDR:PORT] [--log FILE] [--daemon] [--debug]
 *
 * Every control service of a cluster runs this; one is the leader, the
 * others are standbys.  The leader holds the exclusive RADOS lock
 * "flocker.control" on object ctl.leader (namespace flocker) for
 * --leader-lease seconds and renews it every sixth of that, from a thread of
 * its own (a busy event loop or a slow RADOS call of a request never delays a
 * renewal); a standby tries to take it every 0.1 s, so it takes over within
 * a lease of the leader dying (1.7 to 2 s after its death with the default
 * 2 s, plus the load of the state).  A leader serves only while its last
 * successful renewal was sent less than a lease minus 0.5 s ago (the OSD
 * counts the lease from a later instant; the loop looks every 0.1 s), so two
 * leaders never serve at once.  Only the leader listens: agents and flockerctl
 * find it by trying the addresses they are given (see plugin/agent_cluster.c).  A leader that
 * cannot renew in time, or whose configuration write meets a newer leader's
 * tag, stops serving at once and becomes a standby again.  A lock left by a
 * dead process on this same host is broken at once, so a restart does not
 * wait for the lease.
 *
 * All state is in RADOS (cluster/control/ctl_state.h): nothing on local disk.
 * SIGTERM/SIGINT: stop serving, release the lock (a standby takes over at
 * once), exit 0.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>
#include <systemd/sd-daemon.h>

#include "cluster/control/api.h"
#include "cluster/control/ctl_metrics.h"
#include "cluster/net/metrics_http.h"
#include "cluster/control/ctl_server.h"
#include "cluster/control/ctl_state.h"
#include "flocker/log.h"
#include "flocker/proto.h"
#include "flocker/store.h"
#include "cluster/net/daemon.h"
#include "cluster/net/ticker.h"
#include "cluster/net/tls.h"
#include "fs/util/fmt.h"

#define LEADER_LOCK	"flocker.control"
#define LEADER_LEASE_S	2
#define LEADER_MARGIN_S 0.5 /* a leader stops serving this long before its lease could lapse */
#define CHECK_MS	100 /* how often the loop looks at the renewals */
#define STANDBY_POLL_MS 100
#define EXIT_USAGE	2

struct opts {
	struct fl_rados_opts ro;
	struct fl_ctl_opts co;
	const char *pid_file;
	const char *state_ns;
	const char *instance;
	const char *log;
	const char *metrics;
	unsigned leader_lease_s;
	uint64_t trash_ttl_s;
	bool daemon, debug;
};

static volatile sig_atomic_t stop_requested;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: flocker-control -c CEPH_CONF --certs DIR [options]\n"
		"\n"
		"The cluster's registry of volumes, nodes and leases; state in RADOS.\n"
		"Run one on several hosts: one leads, the others wait and take over.\n"
		"\n"
		"options:\n"
		"  -c, --conf PATH        ceph.conf (default: $CEPH_CONF)\n"
		"      --id ID            cephx id without 'client.' (default: $CEPH_ARGS or admin)\n"
		"      --pool POOL        RADOS pool (default flocker)\n"
		"      --certs DIR        ca.crt, control.crt, control.key (flockerctl ca init)\n"
		"      --bind ADDR        address to listen on (default: all)\n"
		"      --api-port PORT    operators' HTTPS API (default %d)\n"
		"      --agent-port PORT  agents' TLS port (default %d)\n"
		"      --lease S          a node is gone after S seconds without heartbeat (default %d);\n"
		"                         its volumes move only if its mount daemons do not answer\n"
		"      --heartbeat S      agents' heartbeat interval (default %d)\n"
		"      --trash-ttl T      removed volumes stay restorable for T (default 7d; s, m, h, d)\n"
		"      --leader-lease S   leader lock duration; standbys take over after it (default %d)\n"
		"      --pid-file PATH    write the process id there\n"
		"      --state-ns NS      RADOS namespace of the control's objects (default %s;\n"
		"                         one per cluster sharing a pool, e.g. tests)\n"
		"      --instance NAME    this service's name in the leader lock (default: host name);\n"
		"                         a dead leader of the same name is replaced at once\n"
		"      --metrics ADDR:PORT serve Prometheus metrics at http://ADDR:PORT/metrics (plain\n"
		"                         HTTP, no certificate); :PORT for every address\n"
		"      --log FILE         append the log to FILE instead of stderr\n"
		"      --daemon           detach once leading or waiting as a standby; log to --log\n"
		"                         FILE, else to syslog, else (no /dev/log) to this stderr\n"
		"  -d, --debug            verbose log\n"
		"  -h, --help             this text\n",
		FL_API_PORT, FL_AGENT_PORT, FL_CTL_LEASE_S, FL_CTL_HEARTBEAT_S, LEADER_LEASE_S,
		FL_CTL_NS);
}

/* "30", "30s", "15m", "12h", "7d" */
static int parse_duration(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	if (*end == 's')
		mul = 1;
	else if (*end == 'm')
		mul = 60;
	else if (*end == 'h')
		mul = 3600;
	else if (*end == 'd')
		mul = 86400;
	else if (*end)
		return -EINVAL;
	if (*end && end[1])
		return -EINVAL;
	if (v == 0 || v > UINT64_MAX / mul / 2)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

enum {
	O_ID = 256,
	O_POOL,
	O_CERTS,
	O_BIND,
	O_API,
	O_AGENT,
	O_LEASE,
	O_HB,
	O_TTL,
	O_LEADER,
	O_PID,
	O_DAEMON,
	O_NS,
	O_INSTANCE,
	O_LOG,
	O_METRICS
};

/* Every option; take_opt handles those that do not only set a field. */
#define STR(f)	       FL_OPT_STR(struct opts, f)
#define NUM(f, lo, hi) FL_OPT_NUM(struct opts, f, lo, hi)
#define OTHER	       FL_OPT_OTHER

static const struct fl_opt_def opt_defs[] = {
	{{"conf", required_argument, NULL, 'c'}, STR(ro.conf)},
	{{"id", required_argument, NULL, O_ID}, STR(ro.id)},
	{{"pool", required_argument, NULL, O_POOL}, STR(ro.pool)},
	{{"certs", required_argument, NULL, O_CERTS}, STR(co.certs)},
	{{"bind", required_argument, NULL, O_BIND}, STR(co.bind)},
	{{"api-port", required_argument, NULL, O_API}, NUM(co.api_port, 1, 65535)},
	{{"agent-port", required_argument, NULL, O_AGENT}, NUM(co.agent_port, 1, 65535)},
	{{"lease", required_argument, NULL, O_LEASE}, NUM(co.lease_s, 2, 3600)},
	{{"heartbeat", required_argument, NULL, O_HB}, NUM(co.heartbeat_s, 1, 600)},
	{{"trash-ttl", required_argument, NULL, O_TTL}, OTHER},
	{{"leader-lease", required_argument, NULL, O_LEADER}, NUM(leader_lease_s, 2, 300)},
	{{"pid-file", required_argument, NULL, O_PID}, STR(pid_file)},
	{{"state-ns", required_argument, NULL, O_NS}, OTHER},
	{{"instance", required_argument, NULL, O_INSTANCE}, OTHER},
	{{"daemon", no_argument, NULL, O_DAEMON}, OTHER},
	{{"log", required_argument, NULL, O_LOG}, STR(log)},
	{{"metrics", required_argument, NULL, O_METRICS}, OTHER},
	{{"debug", no_argument, NULL, 'd'}, OTHER},
	{{"help", no_argument, NULL, 'h'}, OTHER},
};
#define NOPTS (sizeof(opt_defs) / sizeof(opt_defs[0]))

/* One option of parse_args: 0, 1 when --help was printed, or -EINVAL (said). */
static int take_opt(struct opts *o, int c)
{
	int ret = fl_opt_take_field(opt_defs, NOPTS, o, c, optarg);

	if (ret != -ENOENT) {
		if (ret)
			goto bad;
		return 0;
	}
	switch (c) {
	case O_TTL:
		if (parse_duration(optarg, &o->trash_ttl_s))
			goto bad;
		break;
	case O_METRICS: {
		char host[256];
		unsigned port;

		if (fl_metrics_addr_parse(optarg, host, sizeof(host), &port))
			goto bad;
		o->metrics = optarg;
		break;
	}
	case O_NS:
		if (!*optarg || strlen(optarg) > 64)
			goto bad;
		o->state_ns = optarg;
		break;
	case O_INSTANCE:
		if (!*optarg || strlen(optarg) > 40 || strchr(optarg, '|'))
			goto bad;
		o->instance = optarg;
		break;
	case O_DAEMON:
		o->daemon = true;
		break;
	case 'd':
		o->debug = true;
		break;
	case 'h':
		usage(stdout);
		return 1;
	default:
		usage(stderr);
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "flocker-control: invalid value '%s'\n", optarg);
	return -EINVAL;
}

/* What parse_args checks once every option is read, and the defaults that
 * depend on others. */
static int check_opts(int argc, char **argv, struct opts *o)
{
	if (optind != argc) {
		fprintf(stderr, "flocker-control: unexpected argument %s\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->co.certs) {
		fprintf(stderr,
			"flocker-control: --certs DIR is required (flockerctl ca init DIR)\n");
		return -EINVAL;
	}
	if (o->co.heartbeat_s * 2 > o->co.lease_s) {
		fprintf(stderr, "flocker-control: --lease must be at least twice --heartbeat\n");
		return -EINVAL;
	}
	if (!o->ro.pool)
		o->ro.pool = "flocker";
	/* purge the trash every minute, or more often for short TTLs */
	o->co.purge_s = o->trash_ttl_s / 2 < 60 ? (unsigned)(o->trash_ttl_s / 2) : 60;
	if (o->co.purge_s == 0)
		o->co.purge_s = 1;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	struct option lopts[NOPTS + 1];
	int c, ret;

	fl_opt_longopts(opt_defs, NOPTS, lopts);
	o->co.api_port = FL_API_PORT;
	o->co.agent_port = FL_AGENT_PORT;
	o->co.lease_s = FL_CTL_LEASE_S;
	o->co.heartbeat_s = FL_CTL_HEARTBEAT_S;
	o->leader_lease_s = LEADER_LEASE_S;
	o->trash_ttl_s = FL_TRASH_TTL_S;
	while ((c = getopt_long(argc, argv, "c:dh", lopts, NULL)) != -1) {
		ret = take_opt(o, c);
		if (ret)
			return ret;
	}
	return check_opts(argc, argv, o);
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* --- leadership --- */

struct leader {
	struct fl_store *ns; /* namespace flocker */
	char cookie[160];
	unsigned lease_s;
	double last_renew; /* guarded by mu while the renewer runs */
	int last_ret;	   /* the renewer's last result; guarded by mu */
	bool held;
	/* the renewer: its own thread, so neither the event loop nor the workers
	 * ever delay a renewal, and a slow renewal never delays the loop */
	struct fl_ticker renewer;
	pthread_mutex_t mu;
};

static bool pid_gone(long pid)
{
	return pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* 0 when we hold the lock now, -EBUSY (holder described in who) or another error. */
static int leader_try(struct leader *l, char *who, size_t wholen)
{
	struct fl_locker lk[2];
	char host[64] = "", me[64] = "";
	size_t mlen = strcspn(l->cookie, "|");
	long pid = 0;
	long long since = 0;
	double sent = fl_now_mono();
	int ret, n;

	ret = l->ns->ops->lock_exclusive(l->ns, FL_CTL_LEADER_OID, LEADER_LOCK, l->cookie,
					 "flocker-control leader", l->lease_s, false);
	if (ret == 0 || ret == -EEXIST) {
		l->held = true;
		l->last_renew = sent;
		return 0;
	}
	if (ret != -EBUSY)
		return ret;
	n = l->ns->ops->list_lockers(l->ns, FL_CTL_LEADER_OID, LEADER_LOCK, lk, 2, NULL, 0);
	if (n <= 0)
		return -EBUSY; /* released meanwhile: the next try takes it */
	sscanf(lk[0].cookie, "%63[^|]|%ld|%lld", host, &pid, &since);
	snprintf(who, wholen, "%s", lk[0].cookie);
	snprintf(me, sizeof(me), "%.*s", (int)mlen, l->cookie);
	if (host[0] && !strcmp(host, me) && pid_gone(pid)) {
		fl_notice("the previous leader (pid %ld on this host) is gone: taking over at once",
			  pid);
		l->ns->ops->break_lock(l->ns, FL_CTL_LEADER_OID, LEADER_LOCK, lk[0].client,
				       lk[0].cookie);
		return -EAGAIN; /* try again at once */
	}
	return -EBUSY;
}

static int leader_renew(struct leader *l)
{
	double sent = fl_now_mono(); /* the lease runs from no earlier than this */
	int ret = l->ns->ops->lock_exclusive(l->ns, FL_CTL_LEADER_OID, LEADER_LOCK, l->cookie,
					     "flocker-control leader", l->lease_s, true);

	if (ret == -EEXIST)
		ret = 0;
	pthread_mutex_lock(&l->mu);
	if (ret == 0)
		l->last_renew = sent;
	l->last_ret = ret;
	pthread_mutex_unlock(&l->mu);
	return ret;
}

/* The renewer's job, every sixth of the lease: non-zero when the lock is lost. */
static int renew_job(void *arg)
{
	int ret = leader_renew(arg);

	return ret == -EBUSY || ret == -ENOENT; /* lost: the loop steps down */
}

static int renewer_start(struct leader *l)
{
	l->last_ret = 0;
	return fl_ticker_start(&l->renewer, (long)l->lease_s * 1000 / 6, renew_job, l);
}

static void leader_release(struct leader *l)
{
	if (l->held)
		l->ns->ops->unlock(l->ns, FL_CTL_LEADER_OID, LEADER_LOCK, l->cookie);
	l->held = false;
}

/* --- serving --- */

struct serve {
	struct opts *o;
	struct leader *l;
	struct event_base *base;
	struct fl_ctl *ctl;
	struct fl_state *state;
	int why; /* 0: stop requested, else lost leadership */
};

/* On the loop: steps down when the renewer lost the lock or fell behind. */
static void renew_cb(evutil_socket_t fd, short what, void *arg)
{
	struct serve *s = arg;
	double last;
	int ret;

	(void)fd;
	(void)what;
	fl_cm_state(s->state, s->ctl);
	if (stop_requested) {
		event_base_loopbreak(s->base);
		return;
	}
	if (fl_state_fenced(s->state)) {
		fl_err("another control service wrote the configuration: stepping down");
		s->why = -ECANCELED;
		event_base_loopbreak(s->base);
		return;
	}
	pthread_mutex_lock(&s->l->mu);
	ret = s->l->last_ret;
	s->l->last_ret = 0; /* said once */
	last = s->l->last_renew;
	pthread_mutex_unlock(&s->l->mu);
	if (ret == -EBUSY || ret == -ENOENT) {
		fl_err("lost the leader lock (%s): stepping down", strerror(-ret));
		s->why = ret;
		event_base_loopbreak(s->base);
		return;
	}
	if (ret)
		fl_warn("cannot renew the leader lock: %s", strerror(-ret));
	/* never serve past the lease we last secured */
	if (fl_now_mono() - last > (double)s->l->lease_s - LEADER_MARGIN_S) {
		fl_err("could not renew the leader lock for %.1f s: stepping down",
		       fl_now_mono() - last);
		s->why = -ETIMEDOUT;
		event_base_loopbreak(s->base);
	}
}

static void sig_cb(evutil_socket_t fd, short what, void *arg)
{
	struct serve *s = arg;

	(void)fd;
	(void)what;
	stop_requested = 1;
	event_base_loopbreak(s->base);
}

static int ready_fd = -1;

/* Leading or standing by: tells the --daemon parent, and systemd (Type=notify). */
static void tell_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
	if (ready_fd >= 0) {
		if (write(ready_fd, "1", 1) < 0)
			fl_warn("cannot notify the parent process");
		close(ready_fd);
		ready_fd = -1;
	}
}

/* Serves as the leader until stopped or stepping down: 0, or why it stepped down. */
static int serve(struct opts *o, struct fl_store *pool, struct leader *l)
{
	struct serve s = {o, l, NULL, NULL, NULL, 0};
	struct fl_api *api = NULL;
	struct fl_daemon_sigs sigs = {0};
	struct event *renew = NULL;
	struct timeval every = {0, CHECK_MS * 1000};
	char err[512] = "";
	int ret;

	/* renewing from the start: loading the state may take a while */
	ret = renewer_start(l);
	if (ret)
		return ret;
	s.base = event_base_new();
	if (!s.base) {
		ret = -ENOMEM;
		goto out;
	}
	ret = fl_state_open(pool, o->state_ns, o->trash_ttl_s, &s.state, err, sizeof(err));
	if (ret) {
		fl_err("%s", err);
		goto out;
	}
	ret = fl_ctl_new(s.base, s.state, &o->co, &s.ctl, err, sizeof(err));
	if (ret) {
		fl_err("%s", err);
		goto out;
	}
	ret = fl_api_new(s.base, s.ctl, o->co.certs, o->co.bind, o->co.api_port, &api, err,
			 sizeof(err));
	if (ret) {
		fl_err("%s", err);
		goto out;
	}
	renew = event_new(s.base, -1, EV_PERSIST, renew_cb, &s);
	if (!renew || event_add(renew, &every) || fl_daemon_sigs_add(&sigs, s.base, sig_cb, &s)) {
		ret = -ENOMEM;
		goto out;
	}
	fl_notice("leader: agents on %s:%u, API on %s:%u, configuration tag %llu",
		  o->co.bind ? o->co.bind : "*", o->co.agent_port, o->co.bind ? o->co.bind : "*",
		  o->co.api_port, (unsigned long long)fl_state_tag(s.state));
	tell_ready("leader");
	if (!stop_requested)
		event_base_dispatch(s.base);
	ret = s.why;
out:
	if (renew)
		event_free(renew);
	fl_daemon_sigs_free(&sigs);
	/* pending acquires answer their API requests first, then the API goes */
	fl_ctl_free(s.ctl);
	fl_api_free(api);
	fl_state_free(s.state);
	fl_tls_linger_stop();
	if (s.base)
		event_base_free(s.base);
	fl_ticker_stop(
		&l->renewer); /* waits for a renewal at work (bounded by the OSD op timeout) */
	return ret;
}

/* keep_stderr: --log FILE, or no syslog socket to log to */
static int daemonize(bool keep_stderr)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		/* the child says when it leads or waits as a standby */
		if (read(p[0], &c, 1) == 1)
			_exit(0);
		fprintf(stderr, "flocker-control: the service stopped while starting (see %s)\n",
			keep_stderr ? "its log" : "syslog");
		_exit(1);
	}
	close(p[0]);
	ready_fd = p[1];
	setsid();
	fl_log_detach_stdio(keep_stderr);
	if (!keep_stderr)
		fl_log_to_syslog(true);
	return 0;
}

static int write_pid_file(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f) ? -errno : 0;
}

/*
 * The control service must never hang on a cluster it cannot reach (a leader
 * that cannot renew must step down; SIGTERM must end it): bound OSD ops too,
 * through CEPH_ARGS, which the RADOS store parses.  Mounts keep Ceph's
 * default (no bound), so this is for this process only.
 */
static void bound_osd_ops(void)
{
	const char *old = getenv("CEPH_ARGS");
	char buf[2048];

	if (old && strstr(old, "osd_op_timeout"))
		return;
	snprintf(buf, sizeof(buf), "%s%s--rados_osd_op_timeout=20", old ? old : "",
		 old && *old ? " " : "");
	setenv("CEPH_ARGS", buf, 1);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !stop_requested)
		;
}

/* Before RADOS: the certificates, the log, detaching, the pid file and the
 * signals.  0, or -1 when it said why it cannot start. */
static int start_up(struct opts *o, char *host, size_t hlen)
{
	static char tag[80]; /* the log keeps the pointer */
	struct sigaction sa;
	char err[512] = "";
	SSL_CTX *check;
	int ret;

	/* the certificates must be usable before anything else */
	check = fl_tls_server_ctx(o->co.certs, "control", FL_ROLE_NODE, err, sizeof(err));
	if (!check) {
		fprintf(stderr, "flocker-control: %s\n", err);
		return -1;
	}
	SSL_CTX_free(check);
	if (o->instance)
		snprintf(host, hlen, "%s", o->instance);
	else
		gethostname(host, hlen - 1);
	host[strcspn(host, "|")] = '\0';
	snprintf(tag, sizeof(tag), "instance %s", host);
	fl_log_set_tag(tag);
	if (fl_daemon_log_check("flocker-control", o->log, o->daemon))
		return -1;
	/* librados threads do not survive fork: detach first */
	if (o->daemon && daemonize(o->log || !fl_log_syslog_available())) {
		fprintf(stderr, "flocker-control: cannot detach: %s\n", strerror(errno));
		return -1;
	}
	if (o->log && (ret = fl_log_to_file(o->log))) {
		fl_err("cannot open log file %s: %s", o->log, strerror(-ret));
		return -1;
	}
	if (o->pid_file && write_pid_file(o->pid_file))
		fl_warn("cannot write pid file %s", o->pid_file);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* Takes the leader lock when it can and serves while it holds it; a standby
 * meanwhile.  Returns once stop is requested. */
static void lead_or_stand_by(struct opts *o, struct fl_store *pool, struct leader *l)
{
	char who[160] = "";
	bool said_standby = false;
	int ret;

	while (!stop_requested) {
		ret = leader_try(l, who, sizeof(who));
		if (ret == -EAGAIN)
			continue;
		if (ret == -EBUSY) {
			if (!said_standby) {
				fl_notice(
					"standby: the leader is %s; taking over when its lock lapses",
					who);
				said_standby = true;
				tell_ready("standby");
			}
			/* one small RADOS op: a lapsed lock is taken within 0.1 s */
			sleep_ms(STANDBY_POLL_MS);
			continue;
		}
		if (ret) {
			fl_warn("cannot take the leader lock: %s; retrying", strerror(-ret));
			sleep_ms(1000);
			continue;
		}
		said_standby = false;
		fl_notice("took the leader lock");
		fl_cm_leader(true);
		ret = serve(o, pool, l);
		fl_cm_leader(false);
		leader_release(l);
		if (ret == 0 && stop_requested)
			break;
		if (ret == -ECANCELED || ret == -EBUSY || ret == -ENOENT || ret == -ETIMEDOUT) {
			fl_notice("now a standby");
			continue;
		}
		fl_err("cannot serve as the leader: %s; retrying", strerror(-ret));
		sleep_ms(2000);
	}
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct leader l = {0};
	struct fl_store *pool = NULL;
	char err[512] = "", host[64] = "localhost";
	struct fl_metrics_http *metrics = NULL;
	int ret, rc = 1;

	fl_log_init("flocker-control", LOG_NOTICE);
	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret > 0 ? 0 : EXIT_USAGE;
	if (o.debug)
		fl_log_level = LOG_DEBUG;
	if (start_up(&o, host, sizeof(host)))
		return 1;
	if (o.metrics) {
		if (fl_cm_init() ||
		    fl_metrics_http_start(o.metrics, fl_cm_gen, NULL, &metrics, err, sizeof(err))) {
			fl_err("%s", err[0] ? err : "out of memory");
			goto out;
		}
		fl_notice("metrics on http://%s/metrics", o.metrics);
	}
	o.ro.timeout_s = 20;
	bound_osd_ops();
	pool = fl_rados_open(&o.ro, err, sizeof(err));
	if (!pool) {
		fl_err("%s", err);
		goto out;
	}
	l.ns = pool->ops->clone_ns(pool, o.state_ns ? o.state_ns : FL_CTL_NS);
	if (!l.ns) {
		fl_err("out of memory");
		goto out;
	}
	snprintf(l.cookie, sizeof(l.cookie), "%.40s|%ld|%lld|%.40s:%u:%u", host, (long)getpid(),
		 (long long)time(NULL), o.co.bind ? o.co.bind : "*", o.co.api_port,
		 o.co.agent_port);
	l.lease_s = o.leader_lease_s;
	pthread_mutex_init(&l.mu, NULL);
	lead_or_stand_by(&o, pool, &l);
	rc = 0;
	fl_notice("stopped");
out:
	leader_release(&l);
	fl_store_close(l.ns);
	fl_store_close(pool);
	if (o.pid_file)
		unlink(o.pid_file);
	fl_metrics_http_stop(metrics);
	fl_cm_free();
	return rc;
}
