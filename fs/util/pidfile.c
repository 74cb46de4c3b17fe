/* flockerfs — the daemon's pid file, keyed by the mount's device number. */
#include "fs/util/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void pid_path(char *buf, size_t len, dev_t dev)
{
	snprintf(buf, len, "%s/%u.%u.pid", FL_RUN_DIR, major(dev), minor(dev));
}

int fl_pidfile_write(dev_t dev)
{
	char path[128], line[32];
	int fd, n;

	if (mkdir(FL_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	pid_path(path, sizeof(path), dev);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

void fl_pidfile_remove(dev_t dev)
{
	char path[128];

	/* The kernel may have given dev to a new mount since this daemon's went
	 * away (its unmount runs while the last changes go out): that mount's
	 * daemon wrote its own pid here, which must stay. */
	if (fl_pidfile_read(dev) != (long)getpid())
		return;
	pid_path(path, sizeof(path), dev);
	unlink(path);
}

long fl_pidfile_read(dev_t dev)
{
	char path[128], line[32] = "";
	FILE *f;
	long pid;

	pid_path(path, sizeof(path), dev);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	pid = strtol(line, NULL, 10);
	return pid > 0 ? pid : 0;
}

int fl_pidfile_mark_fenced(dev_t dev, const char *why)
{
	char path[128], tmp[140], text[512];
	int fd, n;

	pid_path(path, sizeof(path), dev);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(text, sizeof(text), "%ld\nfenced: %.400s\n", (long)getpid(), why);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)n) != n) {
		close(fd);
		unlink(tmp);
		return -EIO;
	}
	close(fd);
	return rename(tmp, path) < 0 ? -errno : 0;
}

bool fl_pidfile_fenced(dev_t dev, char *why, size_t len)
{
	char path[128], line[512] = "";
	bool fenced = false;
	FILE *f;

	pid_path(path, sizeof(path), dev);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fgets(line, sizeof(line), f) && fgets(line, sizeof(line), f) &&
	    !strncmp(line, "fenced: ", 8)) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(why, len, "%s", line + 8);
		fenced = true;
	}
	fclose(f);
	return fenced;
}

bool fl_pid_is_zombie(long pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool z = false;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, ')');
		z = p && (p[2] == 'Z' || p[2] == 'X');
	}
	fclose(f);
	return z;
}
