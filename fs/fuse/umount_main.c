/*
 * umount.fuse.flockerfs — umount(8) helper for flockerfs mounts.
 *
 *   umount.fuse.flockerfs DIR [-l] [-f] [-n] [-r] [-v]
 *
 * A plain FUSE unmount returns before the daemon has written what it still
 * holds.  This helper makes umount(8) keep its promise: it flushes the
 * volume (syncfs, then fsync of the root directory, which the daemon turns
 * into a full commit), unmounts, and waits for the daemon to exit, so that
 * the writer lock is free when it returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "fs/util/mountinfo.h"
#include "fs/util/pidfile.h"

/* Is the newest mount at dir of type fuse.flockerfs? */
static bool is_flockerfs(const char *dir)
{
	struct fl_mountinfo m;
	char rp[PATH_MAX];

	return realpath(dir, rp) && fl_mountinfo_at(rp, &m) == 1 &&
	       !strcmp(m.fstype, "fuse.flockerfs");
}

/* Does any mount in this namespace still show device dev? */
static bool dev_still_mounted(dev_t dev)
{
	struct fl_mountinfo m;

	return fl_mountinfo_of_dev(dev, &m) == 1;
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	bool lazy = false, force = false, verbose = false;
	struct stat st;
	long pid = 0;
	int i, fd, flags = 0, rc = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-l"))
			lazy = true;
		else if (!strcmp(argv[i], "-f"))
			force = true;
		else if (!strcmp(argv[i], "-v"))
			verbose = true;
		else if (!strcmp(argv[i], "-n") || !strcmp(argv[i], "-r") || !strcmp(argv[i], "-i"))
			;
		else if (!strcmp(argv[i], "-t") || !strcmp(argv[i], "-N"))
			i++;
		else if (!dir && argv[i][0] != '-')
			dir = argv[i];
		else {
			fprintf(stderr, "umount.flockerfs: unknown argument %s\n", argv[i]);
			return 1;
		}
	}
	if (!dir) {
		fprintf(stderr, "usage: umount.fuse.flockerfs DIR [-l] [-f] [-v]\n");
		return 1;
	}
	/* installed as umount.fuse too: other FUSE filesystems just get unmounted */
	fd = is_flockerfs(dir) ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fd >= 0 && fstat(fd, &st) == 0) {
		pid = fl_pidfile_read(st.st_dev);
		/* syncfs hands the kernel's dirty pages to the daemon.  What it
		 * returns is the superblock's error sequence: any write-back error
		 * since the mount that no syncfs reported, also one of a file since
		 * removed, or one its writer already got from fsync or close.  Those
		 * belong to their files, not to this unmount: only the daemon's
		 * answer to the fsync below (everything it holds is in RADOS, or
		 * a file that still exists lost data nobody was told of) counts. */
		if (syncfs(fd) < 0 && verbose)
			printf("umount.flockerfs: %s: a write-back failed since the mount (%s): "
			       "fsync and close of its file report it, not the unmount\n",
			       dir, strerror(errno));
		if (fsync(fd) < 0) {
			fprintf(stderr, "umount.flockerfs: cannot flush %s: %s\n", dir,
				strerror(errno));
			rc = 1;
		}
	}
	if (fd >= 0)
		close(fd);
	if (lazy)
		flags |= MNT_DETACH;
	if (force)
		flags |= MNT_FORCE;
	if (umount2(dir, flags) < 0) {
		fprintf(stderr, "umount.flockerfs: cannot unmount %s: %s\n", dir, strerror(errno));
		return 32;
	}
	/* a bind or another copy of the mount keeps the daemon serving: no wait then */
	if (pid > 0 && dev_still_mounted(st.st_dev))
		pid = 0;
	if (pid > 0) {
		time_t start = time(NULL);
		bool said = false;

		while (kill((pid_t)pid, 0) == 0 && !fl_pid_is_zombie(pid)) {
			if (!said && time(NULL) - start >= 5) {
				fprintf(stderr,
					"umount.flockerfs: waiting for the daemon of %s (pid %ld) to write its last changes\n",
					dir, pid);
				said = true;
			}
			usleep(20000);
		}
	}
	if (verbose)
		printf("umount.flockerfs: %s unmounted\n", dir);
	return rc;
}
