/*
 * snapload — a write load on a mounted volume while a snapshot is taken
 * (tests/integration/snapshot_live.sh).
 *
 *   snapload run MNT 'COMMAND' OUT   appends 4 KiB records to MNT/log with
 *       write(2), runs COMMAND (flockerctl snapshot create ...) after 2 s,
 *       goes on 2 s more; prints the command's time and the longest write(2)
 *       stalls (overall and while the command ran), and writes to OUT the
 *       records acknowledged before the command started and after it ended.
 *   snapload check FILE BEFORE AFTER  FILE (the log as the snapshot has it)
 *       holds n whole records, the first n written, BEFORE <= n <= AFTER.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REC 4096

static uint64_t acked;	   /* atomic */
static int stop;	   /* atomic */
static int64_t stall_all;  /* longest write(2), µs; atomic */
static int64_t stall_snap; /* ... while the command ran */
static int in_snap;	   /* atomic */
static int fd;

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void rec_fill(char *buf, uint64_t i)
{
	memset(buf, (int)('a' + i % 26), REC);
	snprintf(buf, REC, "record %020" PRIu64 "|", i);
}

static void *writer(void *arg)
{
	char buf[REC];

	(void)arg;
	for (uint64_t i = 0; !__atomic_load_n(&stop, __ATOMIC_ACQUIRE); i++) {
		int64_t t0, d;
		int snap = __atomic_load_n(&in_snap, __ATOMIC_ACQUIRE);

		rec_fill(buf, i);
		t0 = now_us();
		if (pwrite(fd, buf, REC, (off_t)(i * REC)) != REC) {
			perror("snapload: write");
			exit(1);
		}
		d = now_us() - t0;
		__atomic_store_n(&acked, i + 1, __ATOMIC_RELEASE);
		if (d > stall_all)
			stall_all = d;
		if ((snap || __atomic_load_n(&in_snap, __ATOMIC_ACQUIRE)) && d > stall_snap)
			stall_snap = d;
		if (i % 256 == 255)
			fdatasync(fd); /* a database's habit: the stall includes syncs */
	}
	return NULL;
}

static int run(const char *mnt, const char *cmd, const char *out)
{
	char path[4096];
	pthread_t t;
	uint64_t before, after;
	int64_t t0, t1;
	int rc;
	FILE *f;

	snprintf(path, sizeof(path), "%s/log", mnt);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	pthread_create(&t, NULL, writer, NULL);
	sleep(2);
	before = __atomic_load_n(&acked, __ATOMIC_ACQUIRE);
	__atomic_store_n(&in_snap, 1, __ATOMIC_RELEASE);
	t0 = now_us();
	rc = system(cmd);
	t1 = now_us();
	__atomic_store_n(&in_snap, 0, __ATOMIC_RELEASE);
	after = __atomic_load_n(&acked, __ATOMIC_ACQUIRE);
	sleep(2);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	close(fd);
	printf("snapload: command took %.1f ms; longest write(2) while it ran %.1f ms, over the "
	       "whole run %.1f ms; %" PRIu64 " records acknowledged before it, %" PRIu64
	       " after it, %" PRIu64 " in all\n",
	       (double)(t1 - t0) / 1000.0, (double)stall_snap / 1000.0, (double)stall_all / 1000.0,
	       before, after, acked);
	f = fopen(out, "w");
	if (!f)
		return 1;
	fprintf(f, "%" PRIu64 " %" PRIu64 " %.1f %.1f\n", before, after, (double)(t1 - t0) / 1000.0,
		(double)stall_snap / 1000.0);
	fclose(f);
	return rc == 0 ? 0 : 1;
}

static int check(const char *file, uint64_t before, uint64_t after)
{
	char buf[REC], want[REC];
	struct stat st;
	uint64_t n;
	int f = open(file, O_RDONLY);

	if (f < 0 || fstat(f, &st)) {
		perror(file);
		return 1;
	}
	if (st.st_size % REC) {
		fprintf(stderr, "snapload: %s holds %lld bytes, not whole records\n", file,
			(long long)st.st_size);
		return 1;
	}
	n = (uint64_t)st.st_size / REC;
	printf("snapload: the snapshot holds %" PRIu64 " records (%" PRIu64
	       " acknowledged before the snapshot, %" PRIu64 " by its end)\n",
	       n, before, after);
	if (n < before || n > after) {
		fprintf(stderr,
			"snapload: %" PRIu64 " records is outside [%" PRIu64 ", %" PRIu64 "]\n", n,
			before, after);
		return 1;
	}
	for (uint64_t i = 0; i < n; i++) {
		rec_fill(want, i);
		if (pread(f, buf, REC, (off_t)(i * REC)) != REC || memcmp(buf, want, REC)) {
			fprintf(stderr, "snapload: record %" PRIu64 " differs\n", i);
			return 1;
		}
	}
	close(f);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && !strcmp(argv[1], "run"))
		return run(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "check"))
		return check(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
	fprintf(stderr, "usage: snapload run MNT COMMAND OUT | snapload check FILE BEFORE AFTER\n");
	return 2;
}
