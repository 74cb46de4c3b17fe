/*
 * flocker-agent — the per-host agent and Docker volume plugin.
 *
 *   flocker-agent -c CEPH_CONF [--id ID] [--pool POOL] [--node NAME]
 *                 [--state-dir DIR] [--plugin-socket PATH] [--mount-root DIR]
 *                 [--mount-helper PATH] [--control HOST[:PORT] --certs DIR]
 *                 [--lease S] [--trash-ttl S] [--reply-timeout S]
 *                 [--metrics ADDR:PORT] [--log FILE] [--daemon] [--debug]
 *
 * Serves Docker's volume plugin protocol (plugin/docker.c) with the
 * standalone agent (plugin/agent_local.c) or, with --control, the cluster agent.
 * SIGTERM and SIGINT stop it without unmounting anything: mounts outlive the
 * agent, and the next start adopts them with their users.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <systemd/sd-daemon.h>

#include "plugin/agent_config.h"
#include "fs/volume/trash.h"
#include "fs/volume/volume.h"
#include "plugin/docker.h"
#include "plugin/agent_metrics.h"
#include "cluster/net/daemon.h"
#include "cluster/net/metrics_http.h"
#include "flocker/log.h"

/* How long SIGTERM waits for operations in progress before the agent exits anyway. */
#define STOP_WAIT_S 10
/* How long closing may take after that (threads, the RADOS connection) before the
 * agent exits anyway: an unreachable Ceph cluster may hold them for good. */
#define CLOSE_WAIT_S 3

static void usage(FILE *f)
{
	fprintf(f,
		"usage: flocker-agent -c CEPH_CONF [options]\n"
		"\n"
		"The flockerfs host agent: Docker's volume plugin \"flocker\", mounting volumes\n"
		"with mount.flockerfs.  Without --control it runs standalone, straight on RADOS.\n"
		"\n"
		"options:\n"
		"  -c, --conf PATH          ceph.conf (default: $CEPH_CONF)\n"
		"      --id ID              cephx client id without 'client.' (default: $CEPH_ARGS or admin)\n"
		"      --pool POOL          RADOS pool (default flocker)\n"
		"      --node NAME          this host's name (default: the host name)\n"
		"      --state-dir DIR      mount users and mount logs (default %s)\n"
		"      --plugin-socket PATH Docker plugin socket (default %s)\n"
		"      --mount-root DIR     volumes are mounted at DIR/<uuid> (default %s)\n"
		"      --mount-helper PATH  mount.flockerfs (default: beside flocker-agent, then $PATH)\n"
		"      --control HOST[:PORT] flocker-control to take leases from (cluster mode)\n"
		"      --certs DIR          node certificate, key and cluster CA (cluster mode)\n"
		"      --reply-timeout S    answer every Docker request within S seconds (default %d,\n"
		"                           at most 55: Docker gives up after 60)\n"
		"      --lease S            writer lease of the volumes this host mounts (default %d):\n"
		"                           another host takes a volume over S seconds after this one died\n"
		"      --trash-ttl S        standalone: docker volume rm keeps a volume in the trash\n"
		"                           for S seconds (default %d, 7 days) before purging it\n"
		"      --metrics ADDR:PORT  serve Prometheus metrics (the agent's and every mount's)\n"
		"                           at http://ADDR:PORT/metrics; :PORT for every address\n"
		"      --log FILE           append the log to FILE instead of stderr\n"
		"      --daemon             detach once the socket is ready; log to --log FILE, else\n"
		"                           to syslog, else (no /dev/log) to this stderr\n"
		"  -d, --debug              verbose log\n"
		"  -h, --help               this text\n"
		"  -V, --version            version\n",
		FL_AGENT_DEFAULT_STATE_DIR, FL_AGENT_DEFAULT_SOCKET, FL_AGENT_DEFAULT_MOUNT_ROOT,
		FL_DOCKER_REPLY_BOUND_S, FL_DEFAULT_LEASE_S, FL_TRASH_TTL_S);
}

struct args {
	struct fl_agent_config cfg;
	unsigned reply_s;
	const char *log;
	const char *metrics;
	bool daemon, debug;
};

/* getopt_long codes of the long options without a letter */
enum {
	O_ID = 256,
	O_POOL,
	O_NODE,
	O_STATE,
	O_SOCK,
	O_ROOT,
	O_HELPER,
	O_CONTROL,
	O_CERTS,
	O_DAEMON,
	O_REPLY,
	O_LEASE,
	O_TTL,
	O_LOG,
	O_METRICS
};

/* --reply-timeout, --lease, --trash-ttl: 0, or -EINVAL with a message. */
static int set_number(int ch, const char *arg, struct args *a)
{
	unsigned long ul;
	char *end;

	switch (ch) {
	case O_REPLY:
		a->reply_s = (unsigned)strtoul(arg, &end, 10);
		if (*end || end == arg || a->reply_s < 1 || a->reply_s > 55) {
			fprintf(stderr,
				"flocker-agent: invalid --reply-timeout %s: use 1 to 55 seconds\n",
				arg);
			return -EINVAL;
		}
		break;
	case O_LEASE:
		errno = 0;
		ul = strtoul(arg, &end, 10);
		if (errno || *end || end == arg || ul < 3 || ul > 3600) {
			fprintf(stderr,
				"flocker-agent: invalid --lease %s: use 3 to 3600 seconds\n", arg);
			return -EINVAL;
		}
		a->cfg.lease_s = (unsigned)ul;
		break;
	case O_TTL:
		errno = 0;
		ul = strtoul(arg, &end, 10);
		if (errno || *end || end == arg || ul < 1 || ul > 10 * 365 * 86400UL) {
			fprintf(stderr,
				"flocker-agent: invalid --trash-ttl %s: use 1 second to 10 years, in seconds\n",
				arg);
			return -EINVAL;
		}
		a->cfg.trash_ttl_s = (unsigned)ul;
		break;
	}
	return 0;
}

/* After the options: no operands, the Ceph configuration, the defaults. */
static int finish_args(int argc, char **argv, struct args *a, int ret)
{
	struct fl_agent_config *c = &a->cfg;

	if (!ret && optind < argc) {
		fprintf(stderr, "flocker-agent: unexpected argument '%s'\n", argv[optind]);
		ret = -EINVAL;
	}
	if (!ret && !c->ceph_conf)
		c->ceph_conf = getenv("CEPH_CONF");
	if (!ret && !c->ceph_conf) {
		fprintf(stderr, "flocker-agent: no Ceph configuration: give -c CEPH_CONF\n");
		ret = -EINVAL;
	}
	if (!ret && c->control && !c->certs_dir) {
		fprintf(stderr, "flocker-agent: --control needs --certs DIR\n");
		ret = -EINVAL;
	}
	if (!c->state_dir)
		c->state_dir = FL_AGENT_DEFAULT_STATE_DIR;
	if (!c->plugin_socket)
		c->plugin_socket = FL_AGENT_DEFAULT_SOCKET;
	if (!c->mount_root)
		c->mount_root = FL_AGENT_DEFAULT_MOUNT_ROOT;
	return ret;
}

/* Every option; take_opt handles those that do not only set a string. */
#define STR(f) FL_OPT_STR(struct args, f)
#define OTHER  FL_OPT_OTHER

static const struct fl_opt_def opt_defs[] = {
	{{"conf", required_argument, NULL, 'c'}, STR(cfg.ceph_conf)},
	{{"id", required_argument, NULL, O_ID}, STR(cfg.id)},
	{{"pool", required_argument, NULL, O_POOL}, STR(cfg.pool)},
	{{"node", required_argument, NULL, O_NODE}, STR(cfg.node)},
	{{"state-dir", required_argument, NULL, O_STATE}, STR(cfg.state_dir)},
	{{"plugin-socket", required_argument, NULL, O_SOCK}, STR(cfg.plugin_socket)},
	{{"mount-root", required_argument, NULL, O_ROOT}, STR(cfg.mount_root)},
	{{"mount-helper", required_argument, NULL, O_HELPER}, STR(cfg.mount_helper)},
	{{"control", required_argument, NULL, O_CONTROL}, STR(cfg.control)},
	{{"certs", required_argument, NULL, O_CERTS}, STR(cfg.certs_dir)},
	{{"daemon", no_argument, NULL, O_DAEMON}, OTHER},
	{{"reply-timeout", required_argument, NULL, O_REPLY}, OTHER},
	{{"lease", required_argument, NULL, O_LEASE}, OTHER},
	{{"trash-ttl", required_argument, NULL, O_TTL}, OTHER},
	{{"log", required_argument, NULL, O_LOG}, STR(log)},
	{{"metrics", required_argument, NULL, O_METRICS}, OTHER},
	{{"debug", no_argument, NULL, 'd'}, OTHER},
	{{"help", no_argument, NULL, 'h'}, OTHER},
	{{"version", no_argument, NULL, 'V'}, OTHER},
};
#define NOPTS (sizeof(opt_defs) / sizeof(opt_defs[0]))

/* One option of parse_args: 0, 1 when it printed what was asked (--help,
 * --version), or -EINVAL (said). */
static int take_opt(int ch, struct args *a)
{
	int ret = 0;

	if (fl_opt_take_field(opt_defs, NOPTS, a, ch, optarg) == 0)
		return 0;
	switch (ch) {
	case O_DAEMON:
		a->daemon = true;
		break;
	case O_METRICS: {
		char host[256];
		unsigned port;

		a->metrics = optarg;
		if (fl_metrics_addr_parse(optarg, host, sizeof(host), &port)) {
			fprintf(stderr,
				"flocker-agent: invalid --metrics %s: use ADDR:PORT, [V6]:PORT or :PORT\n",
				optarg);
			ret = -EINVAL;
		}
		break;
	}
	case O_REPLY:
	case O_LEASE:
	case O_TTL:
		ret = set_number(ch, optarg, a);
		break;
	case 'd':
		a->debug = true;
		break;
	case 'h':
		usage(stdout);
		ret = 1;
		break;
	case 'V':
		printf("flocker-agent 0.1.0\n");
		ret = 1;
		break;
	default:
		fprintf(stderr, "flocker-agent: see flocker-agent --help\n");
		ret = -EINVAL;
		break;
	}
	return ret;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	struct option opts[NOPTS + 1];
	int ch, ret = 0;

	fl_opt_longopts(opt_defs, NOPTS, opts);

	while (!ret && (ch = getopt_long(argc, argv, "c:dhV", opts, NULL)) != -1)
		ret = take_opt(ch, a);
	return finish_args(argc, argv, a, ret);
}

/* Only one agent per state directory: an exclusive lock held for our lifetime. */
static int lock_state_dir(const char *dir, int *fdout, char *err, size_t errlen)
{
	char path[4096], *p;
	int fd = -1, ret = 0;

	/* the directory and its parents */
	snprintf(path, sizeof(path), "%s/", dir);
	for (p = strchr(path + 1, '/'); p && !ret; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, p[1] ? 0755 : 0700) < 0 && errno != EEXIST) {
			ret = -errno;
			snprintf(err, errlen, "cannot create %.900s: %s", path, strerror(errno));
		}
		*p = '/';
	}
	if (ret)
		goto out;
	snprintf(path, sizeof(path), "%s/agent.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot lock %.900s: %s", path,
			 ret == -EWOULDBLOCK ? "another flocker-agent uses this --state-dir"
					     : strerror(-ret));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	*fdout = fd;
out:
	return ret;
}

static int status_fd = -1;
/* --daemon: stderr stays after detaching (--log FILE, or no syslog socket) */
static bool keep_stderr;

/* --daemon: fork; the parent exits with the child's first report (empty: ready). */
static int daemonize(void)
{
	char buf[1024];
	ssize_t n, got = 0;
	pid_t pid;
	int p[2], st, ret = 0;

	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		perror("flocker-agent: cannot detach");
		ret = -1;
		goto out;
	}
	if (pid == 0) {
		close(p[0]);
		status_fd = p[1];
		setsid();
		goto out;
	}
	close(p[1]);
	while ((n = read(p[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = '\0';
	if (got == 1 && buf[0] == '\n')
		exit(0);
	if (got)
		fprintf(stderr, "flocker-agent: %s", buf);
	else if (waitpid(pid, &st, 0) == pid)
		fprintf(stderr, "flocker-agent: died while starting (status %d)\n", st);
	exit(1);
out:
	return ret;
}

static void report_ready(void)
{
	if (status_fd < 0)
		goto out;
	if (write(status_fd, "\n", 1) != 1)
		(void)0;
	close(status_fd);
	status_fd = -1;
	fl_log_detach_stdio(keep_stderr);
	if (!keep_stderr)
		fl_log_to_syslog(true);
out:
	return;
}

static void report_failure(const char *msg)
{
	if (status_fd >= 0) {
		if (write(status_fd, msg, strlen(msg)) < 0 || write(status_fd, "\n", 1) < 0)
			(void)0;
		close(status_fd);
		status_fd = -1;
	} else {
		fprintf(stderr, "flocker-agent: %s\n", msg);
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	fl_notice("%s: stopping; mounts stay", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	sd_notify(0, "STOPPING=1");
	event_base_loopbreak(arg);
}

/* A second SIGTERM or SIGINT while stopping: exit at once (mounts stay). */
static void on_second_signal(int sig)
{
	(void)sig;
	_exit(0);
}

static void *stop_watchdog(void *arg)
{
	struct timespec ts = {(time_t)(uintptr_t)arg, 0};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	fl_warn("could not close within %ld s (is the Ceph cluster unreachable? a thread waits "
		"for it): exiting anyway; mounts stay",
		(long)(uintptr_t)arg);
	_exit(0);
	return NULL;
}

/* A second SIGTERM or SIGINT while the agent stops ends it at once. */
static void second_signal_exits(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_second_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/*
 * Closing only lets go of what the agent holds (mounts and containers outlive
 * it), but a Ceph cluster that does not answer may hold one of its threads for
 * good (the trash purger's or the mount check's RADOS call has no timeout, an
 * unmount's flush waits for the OSDs): closing gets CLOSE_WAIT_S, then the
 * agent exits anyway.
 */
static void bound_the_close(void)
{
	pthread_attr_t at;
	pthread_t th;
	int ret;

	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&th, &at, stop_watchdog, (void *)(uintptr_t)CLOSE_WAIT_S);
	if (ret)
		fl_warn("cannot bound the time to stop: %s", strerror(ret));
	pthread_attr_destroy(&at);
}

/* Logging, before detaching: the tag, and the log file tried at once so
 * that the terminal hears what is wrong.  0, or -1 (said on stderr). */
static int log_start(const struct args *a)
{
	static char tag[80]; /* the log keeps the pointer */

	fl_log_init("flocker-agent", a->debug ? LOG_DEBUG : LOG_INFO);
	if (a->cfg.node)
		snprintf(tag, sizeof(tag), "node %s", a->cfg.node);
	else if (gethostname(tag + 5, sizeof(tag) - 6) == 0)
		memcpy(tag, "node ", 5);
	fl_log_set_tag(tag);
	signal(SIGPIPE, SIG_IGN);
	if (fl_daemon_log_check("flocker-agent", a->log, a->daemon))
		return -1;
	keep_stderr = a->log || !fl_log_syslog_available();
	return 0;
}

/* Docker's endpoint and the metrics (with --metrics): 0, or -1 with err said. */
static int start_serving(struct args *a, struct event_base *base, struct fl_agent *agent,
			 struct fl_docker **docker, struct fl_metrics_http **metrics, char *err,
			 size_t errlen)
{
	struct fl_docker_opts dopts = {0};
	int ret;

	dopts.socket_path = a->cfg.plugin_socket;
	dopts.reply_bound_s = a->reply_s;
	/* before Docker's first request: its workers count into it */
	if (a->metrics && fl_am_init(a->cfg.control ? "cluster" : "standalone")) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ret = fl_docker_start(base, agent, &dopts, docker, err, errlen);
	if (ret)
		return -1;
	if (a->metrics) {
		ret = fl_metrics_http_start(a->metrics, fl_am_gen, NULL, metrics, err, errlen);
		if (ret)
			return -1;
		fl_notice("metrics on http://%s/metrics", a->metrics);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct args a = {0};
	struct fl_agent *agent = NULL;
	struct fl_docker *docker = NULL;
	struct fl_metrics_http *metrics = NULL;
	struct event_base *base = NULL;
	struct fl_daemon_sigs sigs = {0};
	char err[1024] = "";
	bool stopped = false;
	int ret, lockfd = -1, rc = 1;

	ret = parse_args(argc, argv, &a);
	if (ret) {
		rc = ret > 0 ? 0 : 2;
		goto out;
	}
	if (log_start(&a))
		goto out;
	/* librados and worker threads do not survive fork: detach first */
	if (a.daemon && daemonize())
		goto out;
	if (a.log && (ret = fl_log_to_file(a.log))) {
		snprintf(err, sizeof(err), "cannot open log file %s: %s", a.log, strerror(-ret));
		goto out;
	}
	/* before any event base is made, the cluster agent's included */
	if (evthread_use_pthreads() < 0) {
		snprintf(err, sizeof(err), "cannot make libevent thread-safe");
		goto out;
	}
	if (lock_state_dir(a.cfg.state_dir, &lockfd, err, sizeof(err)))
		goto out;
	if (a.cfg.control)
		ret = fl_agent_cluster_open(&a.cfg, &agent, err, sizeof(err));
	else
		ret = fl_agent_local_open(&a.cfg, &agent, err, sizeof(err));
	if (ret)
		goto out;
	base = event_base_new();
	if (!base) {
		snprintf(err, sizeof(err), "cannot start the event loop");
		goto out;
	}
	if (fl_daemon_sigs_add(&sigs, base, on_signal, base)) {
		snprintf(err, sizeof(err), "cannot handle signals");
		goto out;
	}
	if (start_serving(&a, base, agent, &docker, &metrics, err, sizeof(err)))
		goto out;
	fl_notice("%s agent%s%s ready (state in %s, mounts under %s)",
		  a.cfg.control ? "cluster" : "standalone", a.cfg.node ? " of node " : "",
		  a.cfg.node ? a.cfg.node : "", a.cfg.state_dir, a.cfg.mount_root);
	report_ready();
	/* under systemd (Type=notify): serving now; a no-op elsewhere */
	sd_notifyf(0, "READY=1\nSTATUS=%s agent serving Docker on %s",
		   a.cfg.control ? "cluster" : "standalone", a.cfg.plugin_socket);
	event_base_dispatch(base);
	second_signal_exits();
	rc = 0;
	stopped = true;
	if (fl_docker_stop(docker, STOP_WAIT_S)) {
		/* a worker still uses the agent: do not free it under its feet */
		fl_warn("exiting with operations in progress; Docker retries them");
		_exit(0);
	}
	docker = NULL;
	bound_the_close();
out:
	fl_metrics_http_stop(metrics);
	if (docker)
		fl_docker_stop(docker, STOP_WAIT_S);
	if (rc && err[0])
		report_failure(err);
	fl_agent_close(agent);
	fl_am_free();
	fl_daemon_sigs_free(&sigs);
	if (base)
		event_base_free(base);
	if (lockfd >= 0)
		close(lockfd);
	if (stopped)
		fl_notice("stopped");
	return rc;
}
