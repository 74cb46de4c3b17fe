/*
 * metastress — a multi-process metadata stress: several processes create,
 * write, rename (across directories, over existing names, RENAME_EXCHANGE),
 * link, unlink, symlink, mkdir and rmdir in a few shared directories at
 * once.  Races make many calls fail with ENOENT, EEXIST, ENOTEMPTY and the
 * like; any other error fails the run.  Then the tree is checked: every
 * file's link count equals the names found for it, every file holds what
 * its creator wrote (one line repeated), and "--list" prints a listing
 * (names, types, link counts, sizes) that must be the same after a remount.
 *
 *   metastress --dir DIR [--procs N] [--seconds S | --ops N] [--seed N]
 *   metastress --dir DIR --check        the checks and the listing only
 *
 * Exit 0 passed, 1 failed, 2 usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/args.h"
#include "tests/lib/rng.h"

#define NDIRS  4
#define NNAMES 48

static const char *top;
static uint64_t rng;

static uint64_t rnd(void)
{
	return xorshift64(&rng);
}

static unsigned below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static void name(char *p, size_t len)
{
	unsigned d = below(NDIRS), n = below(NNAMES);

	/* some names one level down, in directories that come and go */
	if (below(4) == 0)
		snprintf(p, len, "%s/d%u/s%u/n%u", top, d, below(3), n);
	else
		snprintf(p, len, "%s/d%u/n%u", top, d, n);
}

static bool expected(int e)
{
	return e == ENOENT || e == EEXIST || e == ENOTEMPTY || e == EISDIR || e == ENOTDIR ||
	       e == EINVAL || e == EBUSY || e == EMLINK;
}

static int check(int r, const char *what, const char *a, const char *b)
{
	if (r < 0 && !expected(errno)) {
		fprintf(stderr, "metastress: pid %d: %s %s%s%s: %s\n", (int)getpid(), what, a,
			b ? " -> " : "", b ? b : "", strerror(errno));
		return 1;
	}
	return 0;
}

static int worker(unsigned id, uint64_t seed, uint64_t ops, unsigned seconds)
{
	char a[4096], b[4096], line[64];
	time_t start = time(NULL);
	uint64_t i;
	int bad = 0;

	rng = (seed + id * 0x9e3779b97f4a7c15ull) | 1;
	for (i = 0; !bad && (seconds ? time(NULL) - start < seconds : i < ops); i++) {
		unsigned k = below(100);
		int fd, r, n;

		name(a, sizeof(a));
		name(b, sizeof(b));
		if (k < 25) {
			fd = open(a, O_CREAT | O_EXCL | O_WRONLY, 0644);
			bad |= check(fd, "create", a, NULL);
			if (fd >= 0) {
				n = snprintf(line, sizeof(line), "p%u.%" PRIu64 "\n", id, i);
				for (r = 1 + (int)below(200); r > 0 && !bad; r--)
					if (write(fd, line, (size_t)n) != n)
						bad |= check(-1, "write", a, NULL);
				if (below(8) == 0 && fsync(fd) < 0)
					bad |= check(-1, "fsync", a, NULL);
				close(fd);
			}
		} else if (k < 45) {
			bad |= check(rename(a, b), "rename", a, b);
		} else if (k < 50) {
			bad |= check(renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE),
				     "rename exchange", a, b);
		} else if (k < 60) {
			bad |= check(link(a, b), "link", a, b);
		} else if (k < 78) {
			bad |= check(unlink(a), "unlink", a, NULL);
		} else if (k < 82) {
			bad |= check(symlink("target", a), "symlink", a, NULL);
		} else if (k < 88) {
			snprintf(a, sizeof(a), "%s/d%u/s%u", top, below(NDIRS), below(3));
			bad |= check(mkdir(a, 0755), "mkdir", a, NULL);
		} else if (k < 92) {
			snprintf(a, sizeof(a), "%s/d%u/s%u", top, below(NDIRS), below(3));
			bad |= check(rmdir(a), "rmdir", a, NULL);
		} else {
			struct stat st;

			bad |= check(lstat(a, &st), "lstat", a, NULL);
		}
	}
	return bad;
}

/* ---------- checks ---------- */

struct ent {
	char path[512];
	ino_t ino;
	mode_t mode;
	nlink_t nlink;
	off_t size;
};

static struct ent *ents;
static size_t nents, capents;

static int walk(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int bad = 0;

	if (!d) {
		fprintf(stderr, "metastress: cannot list %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		char p[4096];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (lstat(p, &st) < 0) {
			fprintf(stderr, "metastress: %s is listed but lstat says %s\n", p,
				strerror(errno));
			bad = 1;
			continue;
		}
		if (nents == capents) {
			capents = capents ? capents * 2 : 1024;
			ents = realloc(ents, capents * sizeof(*ents));
			if (!ents)
				exit(1);
		}
		snprintf(ents[nents].path, sizeof(ents[nents].path), "%s", p + strlen(top));
		ents[nents].ino = st.st_ino;
		ents[nents].mode = st.st_mode;
		ents[nents].nlink = st.st_nlink;
		ents[nents].size = S_ISREG(st.st_mode) ? st.st_size : 0;
		nents++;
		if (S_ISDIR(st.st_mode))
			bad |= walk(p);
	}
	closedir(d);
	return bad;
}

static int cmp_ent(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->path, ((const struct ent *)b)->path);
}

/* Every line of a file is its first line. */
static int check_content(const char *p, off_t size)
{
	char *buf = malloc((size_t)size + 1), *nl;
	size_t first;
	ssize_t n;
	off_t off;
	int fd = open(p, O_RDONLY), bad = 0;

	if (!buf || fd < 0) {
		fprintf(stderr, "metastress: cannot read %s: %s\n", p, strerror(errno));
		free(buf);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	n = read(fd, buf, (size_t)size + 1);
	close(fd);
	if (n != size) {
		fprintf(stderr, "metastress: %s: read %zd bytes, size %lld\n", p, n,
			(long long)size);
		free(buf);
		return 1;
	}
	nl = size ? memchr(buf, '\n', (size_t)size) : NULL;
	first = nl ? (size_t)(nl - buf) + 1 : 0;
	if (!size || !first || size % (off_t)first)
		bad = 1;
	for (off = (off_t)first; !bad && off < size; off += (off_t)first)
		if (memcmp(buf + off, buf, first))
			bad = 1;
	if (bad)
		fprintf(stderr, "metastress: %s (%lld bytes) does not hold its creator's line\n", p,
			(long long)size);
	free(buf);
	return bad;
}

static int check_tree(bool list)
{
	size_t i, j;
	int bad = walk(top);

	qsort(ents, nents, sizeof(*ents), cmp_ent);
	for (i = 0; i < nents; i++) {
		unsigned names = 0;
		char p[4096];

		if (!S_ISREG(ents[i].mode))
			continue;
		for (j = 0; j < nents; j++)
			names += ents[j].ino == ents[i].ino;
		if (names != ents[i].nlink) {
			fprintf(stderr,
				"metastress: %s has link count %lu, the tree names it %u times\n",
				ents[i].path, (unsigned long)ents[i].nlink, names);
			bad = 1;
		}
		snprintf(p, sizeof(p), "%s%s", top, ents[i].path);
		bad |= check_content(p, ents[i].size);
	}
	if (list)
		for (i = 0; i < nents; i++)
			printf("%s %o %lu %lld\n", ents[i].path, (unsigned)ents[i].mode,
			       (unsigned long)ents[i].nlink, (long long)ents[i].size);
	fprintf(stderr, "metastress: %zu names checked%s\n", nents, bad ? ": FAILED" : "");
	return bad;
}

int main(int argc, char **argv)
{
	unsigned procs = 4, seconds = 0, p;
	uint64_t ops = 5000, seed = 0;
	bool only_check = false, list = false;
	const struct arg args[] = {
		{"--dir", ARG_STR, &top},	   {"--procs", ARG_UINT, &procs},
		{"--seconds", ARG_UINT, &seconds}, {"--ops", ARG_U64, &ops},
		{"--seed", ARG_U64, &seed},	   {"--check", ARG_FLAG, &only_check},
		{"--list", ARG_FLAG, &list}};
	int bad = 0;

	if (args_parse(argc, argv, args, sizeof(args) / sizeof(args[0])))
		goto usage;
	if (!top || !procs)
		goto usage;
	if (only_check)
		return check_tree(list);
	if (!seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	fprintf(stderr, "metastress: seed %" PRIu64 ", %u processes\n", seed, procs);
	for (p = 0; p < NDIRS; p++) {
		char d[4096];

		snprintf(d, sizeof(d), "%s/d%u", top, p);
		if (mkdir(d, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "metastress: mkdir %s: %s\n", d, strerror(errno));
			return 1;
		}
	}
	for (p = 0; p < procs; p++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(worker(p, seed, ops, seconds));
		if (pid < 0) {
			perror("metastress: fork");
			return 1;
		}
	}
	for (p = 0; p < procs; p++) {
		int stt;

		if (wait(&stt) < 0 || !WIFEXITED(stt) || WEXITSTATUS(stt))
			bad = 1;
	}
	if (bad)
		fprintf(stderr, "metastress: a worker failed\n");
	return check_tree(list) || bad;
usage:
	fprintf(stderr, "usage: metastress --dir DIR [--procs N] [--seconds S | --ops N] "
			"[--seed N] [--check] [--list]\n");
	return 2;
}
