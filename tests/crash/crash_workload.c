/*
 * crash_workload - the workload and the checker of the crash trials.
 *
 *   crash_workload run   --dir MNT --log LOG --seed S [--max-ops N] [--max-ms T] [--pace-us U]
 *                        [--no-syncfs] [--db]
 *   crash_workload check --dir MNT --log LOG [--final] [--verbose]
 *
 * "run" applies a seeded random sequence of changes to the mounted volume at
 * MNT: create, mkdir, symlink, write (with or without fsync/fdatasync),
 * truncate, rename (also over an existing file or an empty directory), link,
 * unlink, rmdir, setxattr, removexattr, chmod, fsync of a directory, syncfs,
 * and files unlinked while open (orphans).  With --db it acts like a database
 * instead: a few files preallocated and fsynced, then mostly overwrites
 * inside them acknowledged by fdatasync or written with O_DSYNC, some
 * appends with fsync or fdatasync, now and then a truncate, a new file or an
 * fsync of the directory.  It keeps a model of the tree and
 * only does what the model says must succeed.  LOG lives outside the volume
 * (local disk, O_APPEND) and gets, in order:
 *
 *   S <seed>                                      once
 *   B <i> <op> <args...>                          before op i runs
 *   E <i> <rc> <errno> [<dead>]                   after it (rc 0 or -1; dead 1: the
 *                                                 mount answered ENOTCONN right after)
 *   A <i> <path> <length> <fnv1a-64 hex>          what op i's fsync acknowledged
 *   K <i>                                         end of op i's acknowledgements
 *
 * A-lines are fsync(2)ed before the workload goes on: for fsync/fdatasync of
 * a file, that file; for fsync of a directory and for syncfs, every regular
 * file of the tree.  The workload stops at the first failing call (the
 * daemon was killed: ENOTCONN), logging it as op i's E-line.
 *
 * "check" runs on the volume remounted after the crash.  It replays LOG into
 * the model and checks:
 *   (a) every acknowledged file, whose data did not change after the
 *       acknowledgement, has exactly the acknowledged length and bytes, under
 *       its acknowledged name unless a later operation moved that name;
 *   (b) no half-done rename: of the renames after the last acknowledgement
 *       whose names nothing else touched, exactly one name holds the file;
 *   (c) every directory lists, every entry stats, every file reads whole,
 *       every symlink reads, every xattr reads;
 *   (e) the namespace (names, types, hard links, link counts, modes,
 *       xattrs, symlink targets) equals the model after some prefix of the
 *       operations that is at least as long as the last fsync, fsync of a
 *       directory or syncfs (the journal is one ordered log: each operation
 *       whole or absent, in order; fdatasync and O_DSYNC writes promise only
 *       their file's data, size and name, which (a) and the data check
 *       hold them to); file contents that changed after their last acknowledgement
 *       must be made of bytes the file held at some moment since then, with
 *       a size it passed through.
 * With --final (after a clean unmount, or a run that saw no crash) every
 * finished operation counts as acknowledged: the tree must be the final
 * state, every file exactly its last contents, and no operation may have
 * failed.
 * (d), fsck, is the driver's job.  Output ends with "N passed, N failed";
 * exit 0 when every check passed, 1 when one failed, 2 on bad usage or a log
 * the checker cannot read.
 */
#include "crash_workload.h"

/* ---- main ---------------------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: crash_workload run --dir MNT --log LOG --seed S [--max-ops N] [--max-ms T] [--pace-us U] [--no-syncfs] [--db]\n"
		"       crash_workload check --dir MNT --log LOG [--final] [--verbose]\n");
}

int main(int argc, char **argv)
{
	const char *logpath = NULL;
	uint64_t seed = 1;
	long max_ops = MAXOPS - 1, max_ms = 10000, pace_us = 0;
	bool use_syncfs = true, final = false, db = false;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		usage();
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			mnt = argv[++i];
		} else if (!strcmp(argv[i], "--log") && i + 1 < argc) {
			logpath = argv[++i];
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			seed = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--max-ops") && i + 1 < argc) {
			max_ops = strtol(argv[++i], NULL, 10);
			if (max_ops <= 0 || max_ops >= MAXOPS)
				max_ops = MAXOPS - 1;
		} else if (!strcmp(argv[i], "--max-ms") && i + 1 < argc) {
			max_ms = strtol(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--pace-us") && i + 1 < argc) {
			pace_us = strtol(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--no-syncfs")) {
			use_syncfs = false;
		} else if (!strcmp(argv[i], "--db")) {
			db = true;
		} else if (!strcmp(argv[i], "--final")) {
			final = true;
		} else if (!strcmp(argv[i], "--verbose")) {
			verbose = true;
		} else {
			usage();
			return 2;
		}
	}
	if (!mnt || !logpath) {
		usage();
		return 2;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(logpath, seed, max_ops, max_ms, use_syncfs, pace_us, db);
	if (!strcmp(argv[1], "check"))
		return cmd_check(logpath, final);
	usage();
	return 2;
}
