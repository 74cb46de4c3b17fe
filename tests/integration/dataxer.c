/*
 * dataxer — a data-integrity exerciser: random writes, reads, truncates,
 * mmap reads and writes, fallocate (extend, punch) and fsyncs on a few files
 * of a directory, each applied to a reference copy too (a directory on
 * tmpfs), every read checked against the reference.
 *
 *   dataxer --dir DIR --ref REF [--seed N] [--ops N] [--seconds S]
 *           [--files N] [--max-size BYTES] [--check-every N]
 *   dataxer --dir DIR --ref REF --verify      compare every file only
 *
 * Prints its seed; exit 0 when every check passed, 1 at the first
 * difference (with the file, offset and operation), 2 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/args.h"
#include "tests/lib/rng.h"

#define MAX_FILES 16
#define MAX_IO	  (512u << 10)

static uint64_t rng;
static const char *dir, *ref;
static unsigned nfiles = 4;
static uint64_t max_size = 12u << 20;
static int fd[MAX_FILES], rfd[MAX_FILES];
static uint64_t opno;
static char *buf, *rbuf;

static uint64_t rnd(void)
{
	return xorshift64(&rng);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void die(const char *what, unsigned f, uint64_t off)
{
	fprintf(stderr, "dataxer: op %" PRIu64 ": %s: file f%u, offset %" PRIu64 ": %s\n", opno,
		what, f, off, strerror(errno));
	exit(1);
}

static void path_of(char *p, size_t len, const char *base, unsigned f)
{
	snprintf(p, len, "%s/f%u", base, f);
}

static void open_files(bool create)
{
	char p[4096];
	unsigned f;

	for (f = 0; f < nfiles; f++) {
		int fl = O_RDWR | (create ? O_CREAT : 0);

		path_of(p, sizeof(p), dir, f);
		fd[f] = open(p, fl, 0644);
		path_of(p, sizeof(p), ref, f);
		rfd[f] = open(p, fl, 0644);
		if (fd[f] < 0 || rfd[f] < 0)
			die("open", f, 0);
	}
}

static uint64_t size_of(int d, unsigned f)
{
	struct stat st;

	if (fstat(d, &st) < 0)
		die("fstat", f, 0);
	return (uint64_t)st.st_size;
}

/* Compares [off, off+len) of file f with the reference. */
static void compare(unsigned f, uint64_t off, size_t len, const char *what)
{
	ssize_t a = pread(fd[f], buf, len, (off_t)off), b = pread(rfd[f], rbuf, len, (off_t)off);
	size_t i;

	if (a < 0)
		die(what, f, off);
	if (a != b) {
		fprintf(stderr,
			"dataxer: op %" PRIu64 ": %s: f%u at %" PRIu64
			": read %zd, reference %zd\n",
			opno, what, f, off, a, b);
		exit(1);
	}
	if (memcmp(buf, rbuf, (size_t)a)) {
		for (i = 0; buf[i] == rbuf[i]; i++)
			;
		fprintf(stderr,
			"dataxer: op %" PRIu64 ": %s: f%u differs at byte %" PRIu64
			" (0x%02x, reference 0x%02x)\n",
			opno, what, f, off + i, (unsigned char)buf[i], (unsigned char)rbuf[i]);
		exit(1);
	}
}

static void compare_all(const char *what)
{
	unsigned f;

	for (f = 0; f < nfiles; f++) {
		uint64_t s = size_of(fd[f], f), rs = size_of(rfd[f], f), off;

		if (s != rs) {
			fprintf(stderr,
				"dataxer: op %" PRIu64 ": %s: f%u size %" PRIu64
				", reference %" PRIu64 "\n",
				opno, what, f, s, rs);
			exit(1);
		}
		for (off = 0; off < s; off += MAX_IO)
			compare(f, off, s - off < MAX_IO ? (size_t)(s - off) : MAX_IO, what);
	}
}

static void fill(char *p, size_t len)
{
	size_t i;
	uint64_t v = rnd();

	/* runs of one byte now and then: zeros must not pass for data */
	if (below(8) == 0) {
		memset(p, below(4) ? (int)(v & 0xff) : 0, len);
		return;
	}
	for (i = 0; i < len; i++) {
		if ((i & 7) == 0)
			v = rnd();
		p[i] = (char)(v >> ((i & 7) * 8));
	}
}

/* An offset, often near a 4 MiB block boundary, and a length. */
static void pick(uint64_t *off, size_t *len, uint64_t limit)
{
	uint64_t bs = 4u << 20;

	*len = (size_t)(below(8) ? 1 + below(64 << 10) : 1 + below(MAX_IO));
	if (below(3) == 0 && limit > bs)
		*off = (below(limit / bs) + 1) * bs - below(*len + 1);
	else
		*off = below(limit ? limit : 1);
	if (*off + *len > limit)
		*len = limit > *off ? (size_t)(limit - *off) : 0;
}

static void op_write(unsigned f)
{
	uint64_t off;
	size_t len;

	pick(&off, &len, max_size);
	if (!len)
		return;
	fill(buf, len);
	if (pwrite(fd[f], buf, len, (off_t)off) != (ssize_t)len)
		die("write", f, off);
	if (pwrite(rfd[f], buf, len, (off_t)off) != (ssize_t)len)
		die("reference write", f, off);
}

static void op_read(unsigned f)
{
	uint64_t off, s = size_of(rfd[f], f);
	size_t len;

	pick(&off, &len, s + 4096);
	if (len)
		compare(f, off, len, "read");
}

static void op_truncate(unsigned f)
{
	uint64_t s = below(4) ? below(max_size) : size_of(rfd[f], f) / (1 + below(4));

	if (ftruncate(fd[f], (off_t)s) < 0)
		die("truncate", f, s);
	if (ftruncate(rfd[f], (off_t)s) < 0)
		die("reference truncate", f, s);
}

static void op_mmap(unsigned f, bool write)
{
	uint64_t s = size_of(rfd[f], f), off, pg = (uint64_t)sysconf(_SC_PAGESIZE), start;
	size_t len, maplen;
	char *m;

	if (!s)
		return;
	pick(&off, &len, s);
	if (!len)
		return;
	start = off & ~(pg - 1);
	maplen = (size_t)(off + len - start);
	m = mmap(NULL, maplen, PROT_READ | (write ? PROT_WRITE : 0), MAP_SHARED, fd[f],
		 (off_t)start);
	if (m == MAP_FAILED)
		die(write ? "mmap for writing" : "mmap for reading", f, start);
	if (write) {
		fill(buf, len);
		memcpy(m + (off - start), buf, len);
		if (pwrite(rfd[f], buf, len, (off_t)off) != (ssize_t)len)
			die("reference write", f, off);
		if (below(2) && msync(m, maplen, MS_SYNC) < 0)
			die("msync", f, start);
	} else {
		if (pread(rfd[f], rbuf, len, (off_t)off) != (ssize_t)len)
			die("reference read", f, off);
		if (memcmp(m + (off - start), rbuf, len)) {
			size_t i;

			for (i = 0; m[off - start + i] == rbuf[i]; i++)
				;
			fprintf(stderr,
				"dataxer: op %" PRIu64 ": mmap read: f%u differs at byte %" PRIu64
				"\n",
				opno, f, off + i);
			exit(1);
		}
	}
	if (munmap(m, maplen) < 0)
		die("munmap", f, start);
}

static void op_fallocate(unsigned f)
{
	uint64_t off;
	size_t len;
	int mode = below(2) ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE : 0;

	pick(&off, &len, mode ? size_of(rfd[f], f) + 4096 : max_size);
	if (!len)
		return;
	if (below(2)) /* whole pages too, where a file system may drop them */
		off &= ~(uint64_t)4095, len = (len + 4095) & ~(size_t)4095;
	if (off + len > max_size)
		return;
	if (fallocate(fd[f], mode, (off_t)off, (off_t)len) < 0)
		die(mode ? "fallocate punch" : "fallocate", f, off);
	if (fallocate(rfd[f], mode, (off_t)off, (off_t)len) < 0)
		die(mode ? "reference fallocate punch" : "reference fallocate", f, off);
}

static void reopen(unsigned f)
{
	char p[4096];

	close(fd[f]);
	path_of(p, sizeof(p), dir, f);
	fd[f] = open(p, O_RDWR);
	if (fd[f] < 0)
		die("reopen", f, 0);
}

int main(int argc, char **argv)
{
	uint64_t seed = 0, ops = 10000, check_every = 1000;
	unsigned seconds = 0;
	bool verify = false;
	const struct arg args[] = {
		{"--dir", ARG_STR, &dir},	    {"--ref", ARG_STR, &ref},
		{"--seed", ARG_U64, &seed},	    {"--ops", ARG_U64, &ops},
		{"--seconds", ARG_UINT, &seconds},  {"--files", ARG_UINT, &nfiles},
		{"--max-size", ARG_U64, &max_size}, {"--check-every", ARG_U64, &check_every},
		{"--verify", ARG_FLAG, &verify}};
	time_t start;
	int i;

	if (args_parse(argc, argv, args, sizeof(args) / sizeof(args[0])))
		goto usage;
	if (!dir || !ref || !nfiles || nfiles > MAX_FILES || max_size < 4096)
		goto usage;
	buf = malloc(MAX_IO);
	rbuf = malloc(MAX_IO);
	if (!buf || !rbuf)
		return 1;
	if (verify) {
		open_files(false);
		compare_all("verify");
		printf("dataxer: %u files identical to the reference\n", nfiles);
		return 0;
	}
	if (!seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	rng = seed | 1;
	printf("dataxer: seed %" PRIu64 ", %u files up to %" PRIu64 " bytes\n", seed, nfiles,
	       max_size);
	fflush(stdout);
	open_files(true);
	start = time(NULL);
	for (opno = 1; seconds ? (uint64_t)(time(NULL) - start) < seconds : opno <= ops; opno++) {
		unsigned f = (unsigned)below(nfiles), k = (unsigned)below(100);

		if (k < 30)
			op_write(f);
		else if (k < 55)
			op_read(f);
		else if (k < 62)
			op_truncate(f);
		else if (k < 72)
			op_mmap(f, true);
		else if (k < 80)
			op_mmap(f, false);
		else if (k < 90)
			op_fallocate(f);
		else if (k < 95) {
			if (fsync(fd[f]) < 0)
				die("fsync", f, 0);
		} else {
			reopen(f);
		}
		if (check_every && opno % check_every == 0)
			compare_all("periodic check");
	}
	compare_all("final check");
	for (i = 0; i < (int)nfiles; i++)
		if (fsync(fd[i]) < 0 || close(fd[i]) < 0)
			die("fsync at the end", (unsigned)i, 0);
	printf("dataxer: %" PRIu64 " operations, every check passed\n", opno - 1);
	return 0;
usage:
	fprintf(stderr, "usage: dataxer --dir DIR --ref REF [--seed N] [--ops N] [--seconds S] "
			"[--files N] [--max-size BYTES] [--check-every N] [--verify]\n");
	return 2;
}
