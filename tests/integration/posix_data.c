/*
 * posix_conformance - the checks of file data: O_APPEND, truncate, data, files beyond 4 GiB,
 * fallocate, SEEK_DATA/SEEK_HOLE, statfs, fsync, mmap, the volume size limit (groups run by
 * posix_conformance.c).
 */
#include "posix_conformance.h"

/* ---- O_APPEND ------------------------------------------------------------------------------- */

void g_append(void)
{
	char buf[64];
	int fd, fd2;
	unsigned char *big;

	fd = open("a", O_RDWR | O_CREAT | O_APPEND, 0644);
	CHECK_OK(fd, "open O_APPEND");
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, "abc", 3), 3, "append abc");
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0, "seek to 0");
	CHECK_EQ(write(fd, "def", 3), 3, "append def after seeking to 0");
	check_content("a", "abcdef", "O_APPEND ignores the file offset");
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 6, "offset is at the end after an append");
	CHECK_EQ(pwrite(fd, "gh", 2, 0), 2, "pwrite on an O_APPEND descriptor");
	check_content("a", "abcdefgh", "pwrite with O_APPEND appends (Linux)");
	fd2 = open("a", O_WRONLY | O_APPEND);
	CHECK_OK(fd2, "second O_APPEND descriptor");
	if (fd2 >= 0) {
		CHECK_EQ(write(fd2, "12", 2), 2, "append through the second");
		CHECK_EQ(write(fd, "34", 2), 2, "append through the first");
		CHECK_EQ(write(fd2, "56", 2), 2, "append through the second again");
		check_content("a", "abcdefgh123456", "interleaved appends through two descriptors");
		close(fd2);
	}
	fd2 = open("a", O_WRONLY);
	if (fd2 >= 0) {
		CHECK_EQ(pwrite(fd2, "XXXXXXXXXXXXXXXXXXXX", 20, 0), 20,
			 "plain write extends the file to 20");
		CHECK_EQ(write(fd, "!", 1), 1, "append after another descriptor extended it");
		check_content("a", "XXXXXXXXXXXXXXXXXXXX!", "append lands at the new end");
		CHECK_OK(ftruncate(fd2, 5), "ftruncate to 5");
		CHECK_EQ(write(fd, "?", 1), 1, "append after truncation");
		check_content("a", "XXXXX?", "append lands at the truncated end");
		close(fd2);
	}
	close(fd);
	memset(buf, 0, sizeof(buf));
	big = xmalloc(3 * MiB);
	pat_fill(big, 3 * MiB, 7, 0);
	fd = open("big", O_WRONLY | O_CREAT | O_APPEND, 0644);
	CHECK_OK(fd, "open big O_APPEND");
	if (fd >= 0) {
		bool okw = true;

		for (int i = 0; i < 3; i++)
			if (write(fd, big + i * MiB, MiB) != MiB)
				okw = false;
		CHECK(okw, "three appends of 1 MiB");
		close(fd);
		CHECK_EQ(fsize("big"), 3 * MiB, "size after three 1 MiB appends");
		fd = open("big", O_RDONLY);
		if (fd >= 0) {
			check_pattern(fd, 0, 3 * MiB, 7, "appended data reads back");
			close(fd);
		}
	}
	free(big);
}

/* ---- truncate ------------------------------------------------------------------------------- */

void g_truncate(void)
{
	unsigned char *buf = xmalloc(9 * MiB);
	struct stat st;
	long long m0, c0;
	int fd;

	pat_fill(buf, 1000, 11, 0);
	CHECK_OK(mkfile("f", 0644, buf, 1000), "create 1000 bytes");
	CHECK_OK(truncate("f", 500), "truncate to 500");
	CHECK_EQ(fsize("f"), 500, "size after shrinking");
	CHECK_OK(truncate("f", 2000), "truncate to 2000");
	CHECK_EQ(fsize("f"), 2000, "size after growing");
	fd = open("f", O_RDWR);
	CHECK_OK(fd, "open f");
	if (fd >= 0) {
		check_pattern(fd, 0, 500, 11, "data below the shrink point survives");
		check_pattern(fd, 500, 1500, 0, "shrink then grow reads zeros, not old data");
		CHECK_OK(ftruncate(fd, 10 * MiB), "ftruncate to 10 MiB");
		CHECK_OK(fstat(fd, &st), "fstat");
		CHECK_EQ(st.st_size, 10 * MiB, "size after ftruncate");
		check_pattern(fd, 10 * MiB - 4096, 4096, 0, "grown tail reads zeros");
		CHECK_EQ(pread(fd, buf, 10, 10 * MiB), 0, "read at EOF returns 0");
		CHECK_OK(ftruncate(fd, 10 * MiB), "ftruncate to the same size");
		CHECK_EQ(fsize("f"), 10 * MiB, "same-size truncate keeps the size");
		CHECK_OK(ftruncate(fd, 0), "ftruncate to 0");
		CHECK_EQ(fsize("f"), 0, "size 0");
		CHECK_EQ(pread(fd, buf, 10, 0), 0, "empty after truncate to 0");

		/* Truncate into the middle of a large block, grow, check the tail is zero. */
		pat_fill(buf, 8 * MiB, 12, 0);
		CHECK_EQ(pwrite_all(fd, buf, 8 * MiB, 0), 8 * MiB, "write 8 MiB");
		CHECK_OK(fsync(fd), "fsync");
		CHECK_OK(ftruncate(fd, 4 * MiB + 123), "truncate to 4 MiB + 123");
		CHECK_OK(ftruncate(fd, 9 * MiB), "grow to 9 MiB");
		check_pattern(fd, 0, 4 * MiB + 123, 12, "data below the cut survives");
		check_pattern(fd, 4 * MiB + 123, 5 * MiB - 123, 0,
			      "everything after the cut reads zeros");
		CHECK_OK(ftruncate(fd, 4 * MiB - 1), "truncate just below 4 MiB");
		CHECK_EQ(pwrite(fd, "Z", 1, 6 * MiB), 1, "write a byte at 6 MiB");
		check_pattern(fd, 4 * MiB - 1, 2 * MiB + 1, 0, "hole between cut and new byte");
		CHECK_EQ(pread(fd, buf, 1, 6 * MiB), 1, "read the byte at 6 MiB");
		CHECK_EQ(buf[0], 'Z', "the byte at 6 MiB");

		CHECK_OK(fstat(fd, &st), "fstat");
		m0 = ts_ns(st.st_mtim);
		c0 = ts_ns(st.st_ctim);
		nap();
		CHECK_OK(ftruncate(fd, 100), "ftruncate for times");
		CHECK_OK(fstat(fd, &st), "fstat");
		CHECK(ts_ns(st.st_mtim) > m0, "truncate updates mtime");
		CHECK(ts_ns(st.st_ctim) > c0, "truncate updates ctime");
		close(fd);
	}
	CHECK_ERR(truncate("missing", 0), ENOENT, "truncate a missing file");
	CHECK_OK(mkdir("d", 0755), "mkdir d");
	CHECK_ERR(truncate("d", 0), EISDIR, "truncate a directory");
	CHECK_ERR(truncate("f", -1), EINVAL, "truncate to a negative size");
	fd = open("f", O_RDONLY);
	if (fd >= 0) {
		CHECK_ERR(ftruncate(fd, 0), EINVAL, "ftruncate on a read-only descriptor");
		close(fd);
	}
	fd = open("d", O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		CHECK_ERR(ftruncate(fd, 0), EINVAL, "ftruncate on a directory");
		close(fd);
	}
	CHECK_OK(symlink("f", "lf"), "symlink");
	CHECK_OK(truncate("lf", 7), "truncate through a symlink");
	CHECK_EQ(fsize("f"), 7, "truncate through a symlink changes the target");
	free(buf);
}

/* ---- file data --------------------------------------------------------------------------------
 */

/* splitmix64, for reproducible random offsets. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void g_data(void)
{
	const size_t size = 12 * MiB;
	unsigned char *model = xmalloc(size), *buf = xmalloc(size);
	uint64_t rs = 42;
	size_t model_len = 0;
	bool okw = true;
	int fd;

	/* A hole before the first byte. */
	fd = create_rw("hole");
	if (fd >= 0) {
		CHECK_EQ(pwrite(fd, "X", 1, MiB), 1, "write one byte at 1 MiB");
		CHECK_EQ(fsize("hole"), MiB + 1, "size 1 MiB + 1");
		check_pattern(fd, 0, MiB, 0, "the hole reads zeros");
		CHECK_EQ(pwrite(fd, "", 0, 5 * MiB), 0, "zero-length write");
		CHECK_EQ(fsize("hole"), MiB + 1, "zero-length write beyond EOF keeps the size");
		CHECK_EQ(pread(fd, buf, 100, MiB), 1, "read across EOF is short");
		CHECK_EQ(pread(fd, buf, 100, MiB + 1), 0, "read at EOF returns 0");
		CHECK_EQ(pread(fd, buf, 100, 100 * MiB), 0, "read far beyond EOF returns 0");
		close(fd);
	}

	/* 10 MiB written in odd-sized pieces, read back in other odd sizes. */
	pat_fill(model, 10 * MiB, 5, 0);
	fd = create_rw("seq");
	if (fd >= 0) {
		for (size_t off = 0; off < 10 * MiB && okw;) {
			size_t n = 12345;

			if (n > 10 * MiB - off)
				n = 10 * MiB - off;
			okw = write(fd, model + off, n) == (ssize_t)n;
			off += n;
		}
		CHECK(okw, "write 10 MiB in 12345-byte pieces");
		CHECK_EQ(fsize("seq"), 10 * MiB, "size 10 MiB");
		okw = true;
		for (size_t off = 0; off < 10 * MiB && okw; off += 65537) {
			size_t n = 65537;

			if (n > 10 * MiB - off)
				n = 10 * MiB - off;
			okw = pread(fd, buf + off, n, (off_t)off) == (ssize_t)n;
		}
		CHECK(okw, "read 10 MiB in 65537-byte pieces");
		t_mem(buf, model, 10 * MiB, "10 MiB read back");
		pat_fill(model + 4 * MiB - 100, 200, 6, 0);
		CHECK_EQ(pwrite(fd, model + 4 * MiB - 100, 200, 4 * MiB - 100), 200,
			 "overwrite across the 4 MiB boundary");
		pat_fill(model + 8 * MiB - 1, 2, 7, 0);
		CHECK_EQ(pwrite(fd, model + 8 * MiB - 1, 2, 8 * MiB - 1), 2,
			 "overwrite 2 bytes across the 8 MiB boundary");
		CHECK_EQ(pread_all(fd, buf, 10 * MiB, 0), 10 * MiB, "read all");
		t_mem(buf, model, 10 * MiB, "overwrites across block boundaries");
		close(fd);
	}
	fd = open("seq", O_RDONLY);
	if (fd >= 0) {
		CHECK_EQ(pread_all(fd, buf, 10 * MiB, 0), 10 * MiB, "read all after reopening");
		t_mem(buf, model, 10 * MiB, "data after close and reopen");
		close(fd);
	}

	/* Random writes mirrored in memory. */
	memset(model, 0, size);
	fd = create_rw("rand");
	if (fd >= 0) {
		okw = true;
		for (int i = 0; i < 300 && okw; i++) {
			size_t off = rng_next(&rs) % (size - 300 * KiB);
			size_t len = 1 + rng_next(&rs) % (256 * KiB);

			if (i % 50 == 49) {
				size_t nl = rng_next(&rs) % size;

				okw = ftruncate(fd, (off_t)nl) == 0;
				if (nl < model_len)
					memset(model + nl, 0, model_len - nl);
				model_len = nl;
				continue;
			}
			pat_fill(model + off, len, 100 + (uint64_t)i, off);
			okw = pwrite_all(fd, model + off, len, (off_t)off) == (ssize_t)len;
			if (off + len > model_len)
				model_len = off + len;
		}
		CHECK(okw, "300 random writes and truncates");
		CHECK_EQ(fsize("rand"), model_len, "size after random writes");
		CHECK_EQ(pread_all(fd, buf, model_len, 0), (ssize_t)model_len, "read back");
		t_mem(buf, model, model_len, "random writes read back");
		close(fd);
	}

	/* readv / writev */
	fd = open("vec", O_RDWR | O_CREAT, 0644);
	if (fd >= 0) {
		struct iovec iov[3] = {
			{(void *)"one ", 4}, {(void *)"two ", 4}, {(void *)"three", 5}};
		char a[4], b[9];
		struct iovec rv[2] = {{a, 4}, {b, 9}};

		CHECK_EQ(writev(fd, iov, 3), 13, "writev of three pieces");
		CHECK_EQ(preadv(fd, rv, 2, 0), 13, "preadv into two pieces");
		t_mem(a, "one ", 4, "first piece");
		t_mem(b, "two three", 9, "second piece");
		close(fd);
	}

	/* O_SYNC and O_DSYNC writes. */
	fd = open("sync", O_RDWR | O_CREAT | O_SYNC, 0644);
	CHECK_OK(fd, "open O_SYNC");
	if (fd >= 0) {
		CHECK_EQ(write(fd, "synced", 6), 6, "O_SYNC write");
		close(fd);
	}
	fd = open("sync", O_RDWR | O_DSYNC);
	if (fd >= 0) {
		CHECK_EQ(pwrite(fd, "S", 1, 0), 1, "O_DSYNC write");
		close(fd);
	}
	check_content("sync", "Synced", "O_SYNC and O_DSYNC data");

	/* Two processes write interleaved stripes of one file at the same time. */
	fd = open("stripes", O_RDWR | O_CREAT, 0644);
	if (fd >= 0) {
		pid_t pid;
		const size_t stripe = 64 * KiB, count = 64;

		pat_fill(model, stripe * count, 9, 0);
		pid = fork();
		if (pid == 0) {
			int cfd = open("stripes", O_WRONLY);

			for (size_t i = 1; i < count; i += 2)
				if (cfd < 0 || pwrite_all(cfd, model + i * stripe, stripe,
							  (off_t)(i * stripe)) != (ssize_t)stripe)
					_exit(1);
			close(cfd);
			_exit(0);
		}
		okw = true;
		for (size_t i = 0; i < count; i += 2)
			if (pwrite_all(fd, model + i * stripe, stripe, (off_t)(i * stripe)) !=
			    (ssize_t)stripe)
				okw = false;
		wait_child(pid, "striped writer");
		CHECK(okw, "parent wrote its stripes");
		CHECK_EQ(fsize("stripes"), stripe * count, "size after concurrent stripes");
		check_pattern(fd, 0, stripe * count, 9, "stripes from two processes");
		close(fd);
	}

	/* copy_file_range within the filesystem. */
	{
		int in = open("seq", O_RDONLY),
		    out = open("copy", O_RDWR | O_CREAT | O_TRUNC, 0644);

		if (in >= 0 && out >= 0) {
			loff_t io = 0, oo = 0;
			ssize_t total = 0, n;

			while (total < 10 * MiB &&
			       (n = copy_file_range(in, &io, out, &oo, (size_t)(10 * MiB - total),
						    0)) > 0)
				total += n;
			CHECK_EQ(total, 10 * MiB, "copy_file_range copies 10 MiB");
			CHECK_EQ(pread_all(out, buf, 10 * MiB, 0), 10 * MiB, "read the copy");
			pat_fill(model, 10 * MiB, 5, 0);
			pat_fill(model + 4 * MiB - 100, 200, 6, 0);
			pat_fill(model + 8 * MiB - 1, 2, 7, 0);
			t_mem(buf, model, 10 * MiB, "copy matches the source");
		}
		if (in >= 0)
			close(in);
		if (out >= 0)
			close(out);
	}
	free(model);
	free(buf);
}

/* ---- files beyond 4 GiB ------------------------------------------------------------------------
 */

void g_bigfile(void)
{
	unsigned char buf[8192], want[8192];
	struct stat st;
	int fd;

	fd = create_rw("big");
	if (fd < 0)
		return;
	CHECK_EQ(pwrite(fd, "\xab", 1, 5 * GiB), 1, "write 1 byte at 5 GiB");
	CHECK_OK(fstat(fd, &st), "fstat");
	CHECK_EQ(st.st_size, 5 * GiB + 1, "size 5 GiB + 1");
	CHECK_EQ(pread(fd, buf, 1, 5 * GiB), 1, "read the byte at 5 GiB");
	CHECK_EQ(buf[0], 0xab, "byte at 5 GiB");
	check_pattern(fd, 0, 8192, 0, "zeros at the start of the hole");
	check_pattern(fd, 4 * GiB - 4096, 8192, 0, "zeros around 4 GiB");
	check_pattern(fd, 5 * GiB - 8192, 8192, 0, "zeros just below 5 GiB");
	check_pattern(fd, 2 * GiB - 3, 6, 0, "zeros around 2 GiB");
	CHECK_EQ(lseek(fd, 0, SEEK_END), 5 * GiB + 1, "lseek SEEK_END beyond 4 GiB");
	pat_fill(want, sizeof(want), 31, 4 * GiB - 4096);
	CHECK_EQ(pwrite_all(fd, want, sizeof(want), 4 * GiB - 4096), (ssize_t)sizeof(want),
		 "write 8 KiB across 4 GiB");
	check_pattern(fd, 4 * GiB - 4096, 8192, 31, "data across 4 GiB");
	check_pattern(fd, 4 * GiB + 4096, 4096, 0, "zeros after that data");
	close(fd);
	fd = open("big", O_RDWR);
	CHECK_OK(fd, "reopen big");
	if (fd < 0)
		return;
	CHECK_EQ(pread(fd, buf, 2, 5 * GiB), 1, "byte at 5 GiB after reopening");
	CHECK_EQ(buf[0], 0xab, "byte at 5 GiB still 0xab");
	check_pattern(fd, 4 * GiB - 4096, 8192, 31, "data across 4 GiB after reopening");
	CHECK_EQ(fsize("big"), 5 * GiB + 1, "stat size after reopening");
	CHECK_OK(ftruncate(fd, 4 * GiB + 10), "truncate to 4 GiB + 10");
	CHECK_EQ(fsize("big"), 4 * GiB + 10, "size 4 GiB + 10");
	CHECK_EQ(pread(fd, buf, 1, 5 * GiB), 0, "nothing at 5 GiB after the truncate");
	CHECK_OK(ftruncate(fd, 5 * GiB + 1), "grow back to 5 GiB + 1");
	CHECK_EQ(pread(fd, buf, 1, 5 * GiB), 1, "read at 5 GiB after growing");
	CHECK_EQ(buf[0], 0, "the old byte at 5 GiB is gone");
	check_pattern(fd, 4 * GiB, 10, 31, "data below the cut at 4 GiB + 10");
	check_pattern(fd, 4 * GiB + 10, 4086, 0, "zeros from the cut on");
	{
		int afd = open("big", O_WRONLY | O_APPEND);

		if (afd >= 0) {
			CHECK_EQ(write(afd, "end", 3), 3, "append beyond 5 GiB");
			close(afd);
		}
		CHECK_EQ(fsize("big"), 5 * GiB + 4, "size after append");
		CHECK_EQ(pread(fd, buf, 3, 5 * GiB + 1), 3, "read the appended bytes");
		t_mem(buf, "end", 3, "appended bytes beyond 5 GiB");
	}
	CHECK_OK(fsync(fd), "fsync the big file");
	close(fd);
	CHECK_OK(truncate("big", 6 * GiB), "truncate a path to 6 GiB");
	CHECK_EQ(fsize("big"), 6 * GiB, "size 6 GiB");
	CHECK_OK(unlink("big"), "unlink the big file");
}

/* ---- fallocate ---------------------------------------------------------------------------------
 */

void g_fallocate(void)
{
	unsigned char *buf = xmalloc(8 * MiB);
	struct stat st;
	int fd;

	fd = create_rw("f");
	if (fd < 0) {
		free(buf);
		return;
	}
	CHECK_OK(fallocate(fd, 0, 0, MiB), "fallocate 1 MiB");
	CHECK_OK(fstat(fd, &st), "fstat");
	CHECK_EQ(st.st_size, MiB, "fallocate extends the size");
	check_pattern(fd, 0, MiB, 0, "allocated range reads zeros");
	CHECK_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, MiB, MiB), "fallocate KEEP_SIZE beyond EOF");
	CHECK_EQ(fsize("f"), MiB, "KEEP_SIZE keeps the size");
	CHECK_EQ(pread(fd, buf, 10, MiB), 0, "nothing readable beyond EOF");
	CHECK_OK(fallocate(fd, 0, 3 * MiB, MiB), "fallocate beyond EOF with a gap");
	CHECK_EQ(fsize("f"), 4 * MiB, "size after fallocate with a gap");
	check_pattern(fd, MiB, 3 * MiB, 0, "gap and new range read zeros");

	pat_fill(buf, 8 * MiB, 41, 0);
	CHECK_EQ(pwrite_all(fd, buf, 8 * MiB, 0), 8 * MiB, "write 8 MiB");
	CHECK_OK(fallocate(fd, 0, 0, 2 * MiB), "fallocate over existing data");
	check_pattern(fd, 0, 8 * MiB, 41, "fallocate keeps existing data");
	CHECK_EQ(fsize("f"), 8 * MiB, "fallocate inside the file keeps the size");
	CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100000, 200000),
		 "punch a hole");
	CHECK_EQ(fsize("f"), 8 * MiB, "punching keeps the size");
	check_pattern(fd, 0, 100000, 41, "data before the hole");
	check_pattern(fd, 100000, 200000, 0, "punched range reads zeros");
	check_pattern(fd, 300000, 100000, 41, "data after the hole");
	CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4 * MiB - 5000, 10000),
		 "punch across 4 MiB");
	check_pattern(fd, 4 * MiB - 6000, 1000, 41, "data before the boundary hole");
	check_pattern(fd, 4 * MiB - 5000, 10000, 0, "hole across 4 MiB reads zeros");
	check_pattern(fd, 4 * MiB + 5000, 1000, 41, "data after the boundary hole");
	CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 7 * MiB, 4 * MiB),
		 "punch past EOF");
	CHECK_EQ(fsize("f"), 8 * MiB, "punch past EOF keeps the size");
	check_pattern(fd, 7 * MiB, MiB, 0, "tail punched");
	check_pattern(fd, 5 * MiB, MiB, 41, "untouched middle");
	CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 8 * MiB),
		 "punch the whole file");
	check_pattern(fd, 0, 8 * MiB, 0, "whole file reads zeros");
	CHECK_EQ(pwrite(fd, "after", 5, 100), 5, "write into a punched range");
	CHECK_EQ(pread(fd, buf, 5, 100), 5, "read it back");
	t_mem(buf, "after", 5, "data written into a punched range");
	CHECK_ERR(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP,
		  "PUNCH_HOLE without KEEP_SIZE");
	CHECK_ERR(fallocate(fd, 0, 0, 0), EINVAL, "fallocate of length 0");
	CHECK_ERR(fallocate(fd, 0, -1, 10), EINVAL, "fallocate at a negative offset");
	close(fd);
	fd = open("f", O_RDONLY);
	if (fd >= 0) {
		CHECK_ERR(fallocate(fd, 0, 0, 4096), EBADF, "fallocate on a read-only descriptor");
		close(fd);
	}
	free(buf);
}

/* ---- SEEK_DATA / SEEK_HOLE ---------------------------------------------------------------------
 */

void g_seek_data(void)
{
	unsigned char buf[5000];
	off_t r;
	int fd;

	fd = create_rw("f");
	if (fd < 0)
		return;
	CHECK_ERR(lseek(fd, 0, SEEK_DATA), ENXIO, "SEEK_DATA in an empty file");
	CHECK_ERR(lseek(fd, 0, SEEK_HOLE), ENXIO, "SEEK_HOLE in an empty file");
	memset(buf, 'd', sizeof(buf));
	CHECK_EQ(pwrite(fd, buf, 5000, 0), 5000, "write 5000 bytes");
	CHECK_EQ(lseek(fd, 0, SEEK_DATA), 0, "SEEK_DATA at written data returns the offset");
	CHECK_EQ(lseek(fd, 1234, SEEK_DATA), 1234, "SEEK_DATA inside data returns the offset");
	CHECK_EQ(lseek(fd, 0, SEEK_HOLE), 5000, "SEEK_HOLE in a fully written file gives its size");
	CHECK_ERR(lseek(fd, 5000, SEEK_DATA), ENXIO, "SEEK_DATA at EOF");
	CHECK_ERR(lseek(fd, 9000, SEEK_DATA), ENXIO, "SEEK_DATA after EOF");
	CHECK_ERR(lseek(fd, 5000, SEEK_HOLE), ENXIO, "SEEK_HOLE at EOF");
	CHECK_OK(ftruncate(fd, 10 * MiB), "extend to 10 MiB");
	CHECK_EQ(pwrite(fd, buf, 4096, 6 * MiB), 4096, "write 4 KiB at 6 MiB");
	r = lseek(fd, 0, SEEK_HOLE);
	CHECK(r >= 5000 && r <= 10 * MiB,
	      "SEEK_HOLE after data is past the data and within the size");
	r = lseek(fd, 100, SEEK_HOLE);
	CHECK(r >= 5000 && r <= 10 * MiB, "SEEK_HOLE from inside data");
	r = lseek(fd, 5 * MiB, SEEK_DATA);
	CHECK(r >= 5 * MiB && r <= 6 * MiB, "SEEK_DATA from a hole finds data no later than it is");
	CHECK_EQ(lseek(fd, 6 * MiB + 100, SEEK_DATA), 6 * MiB + 100, "SEEK_DATA inside later data");
	r = lseek(fd, 6 * MiB + 100, SEEK_HOLE);
	CHECK(r >= 6 * MiB + 4096 && r <= 10 * MiB, "SEEK_HOLE after the later data");
	r = lseek(fd, 8 * MiB, SEEK_HOLE);
	CHECK(r >= 8 * MiB && r <= 10 * MiB, "SEEK_HOLE in the trailing hole");
	r = lseek(fd, 8 * MiB, SEEK_DATA);
	CHECK(r == -1 ? errno == ENXIO : (r >= 8 * MiB && r < 10 * MiB),
	      "SEEK_DATA in the trailing hole gives ENXIO or an offset inside the file");
	CHECK_ERR(lseek(fd, 10 * MiB, SEEK_DATA), ENXIO, "SEEK_DATA at the new EOF");
	CHECK_ERR(lseek(fd, 10 * MiB, SEEK_HOLE), ENXIO, "SEEK_HOLE at the new EOF");
	close(fd);
}

/* ---- statfs -----------------------------------------------------------------------------------
 */

void g_statfs(void)
{
	struct statvfs v, v2;
	struct statfs s;
	int fd;

	CHECK_OK(statvfs(".", &v), "statvfs");
	CHECK_EQ(v.f_namemax, 255, "f_namemax is 255");
	CHECK(v.f_bsize > 0, "f_bsize positive");
	CHECK(v.f_frsize > 0, "f_frsize positive");
	CHECK(v.f_blocks > 0, "f_blocks positive");
	CHECK(v.f_bfree <= v.f_blocks, "f_bfree <= f_blocks");
	CHECK(v.f_bavail <= v.f_bfree, "f_bavail <= f_bfree");
	CHECK(v.f_ffree <= v.f_files, "f_ffree <= f_files");
	CHECK(v.f_favail <= v.f_files, "f_favail <= f_files");
	CHECK_OK(statfs(".", &s), "statfs");
	CHECK_EQ(s.f_namelen, 255, "statfs f_namelen is 255");
	CHECK_EQ(s.f_frsize, v.f_frsize, "statfs and statvfs agree on the fragment size");
	fd = open(".", O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		CHECK_OK(fstatvfs(fd, &v2), "fstatvfs");
		CHECK_EQ(v2.f_frsize, v.f_frsize, "fstatvfs agrees with statvfs");
		CHECK_EQ(v2.f_namemax, 255, "fstatvfs f_namemax");
		close(fd);
	}
	CHECK_OK(mkfile_str("f", "x"), "create f");
	CHECK_OK(statvfs("f", &v2), "statvfs of a file path");
	CHECK_EQ(v2.f_namemax, 255, "statvfs through a file path");
	CHECK_ERR(statvfs("missing", &v2), ENOENT, "statvfs of a missing path");
}

/* ---- fsync and friends -------------------------------------------------------------------------
 */

void g_sync(void)
{
	int fd, dfd;

	fd = create_rw("f");
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, "data", 4), 4, "write");
	CHECK_OK(fsync(fd), "fsync");
	CHECK_EQ(write(fd, "more", 4), 4, "write more");
	CHECK_OK(fdatasync(fd), "fdatasync");
	CHECK_OK(syncfs(fd), "syncfs");
	CHECK_OK(ftruncate(fd, 2), "truncate");
	CHECK_OK(fdatasync(fd), "fdatasync after truncate");
	CHECK_OK(fsync(fd), "fsync without changes");
	CHECK_OK(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER),
		 "sync_file_range");
	CHECK_OK(close(fd), "close after fsync");
	fd = open("f", O_RDONLY);
	if (fd >= 0) {
		CHECK_OK(fsync(fd), "fsync on a read-only descriptor");
		close(fd);
	}
	dfd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK_OK(dfd, "open the directory");
	if (dfd >= 0) {
		CHECK_OK(fsync(dfd), "fsync a directory");
		CHECK_OK(fdatasync(dfd), "fdatasync a directory");
		CHECK_OK(syncfs(dfd), "syncfs through a directory");
		close(dfd);
	}
	sync();
	fd = open("g", O_RDWR | O_CREAT, 0644);
	if (fd >= 0) {
		CHECK_EQ(write(fd, "x", 1), 1, "write g");
		CHECK_OK(unlink("g"), "unlink g");
		CHECK_OK(fsync(fd), "fsync an unlinked file");
		CHECK_OK(close(fd), "close an unlinked file");
	}
	check_content("f", "da", "contents after syncs");
}

/* ---- mmap --------------------------------------------------------------------------------------
 */

void g_mmap(void)
{
	const size_t len = 256 * KiB;
	unsigned char *buf = xmalloc(len);
	unsigned char *m;
	int fd;

	pat_fill(buf, len, 51, 0);
	CHECK_OK(mkfile("f", 0644, buf, len), "create 256 KiB");
	fd = open("f", O_RDWR);
	CHECK_OK(fd, "open f");
	if (fd < 0) {
		free(buf);
		return;
	}
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED, "mmap MAP_SHARED read-write");
	if (m != MAP_FAILED) {
		t_mem(m, buf, len, "mapped contents equal the file");
		memcpy(m + 1000, "mapped write", 12);
		CHECK_OK(msync(m, len, MS_SYNC), "msync");
		CHECK_EQ(pread(fd, buf, 12, 1000), 12, "pread after a mapped write");
		t_mem(buf, "mapped write", 12, "write through the mapping is visible to read");
		CHECK_EQ(pwrite(fd, "via write", 9, 5000), 9, "pwrite");
		t_mem(m + 5000, "via write", 9, "pwrite is visible through the mapping");
		CHECK_OK(munmap(m, len), "munmap");
	}
	close(fd);
	fd = open("f", O_RDONLY);
	if (fd >= 0) {
		CHECK_EQ(pread(fd, buf, 12, 1000), 12, "read after reopening");
		t_mem(buf, "mapped write", 12, "mapped write persisted in the file");
		m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		CHECK(m != MAP_FAILED, "mmap MAP_PRIVATE read-only");
		if (m != MAP_FAILED) {
			t_mem(m + 5000, "via write", 9, "private mapping shows the file");
			munmap(m, len);
		}
		close(fd);
	}
	free(buf);
}

/* ---- the volume size limit ----------------------------------------------------------------------
 */

static long long free_bytes(void)
{
	struct statvfs v;

	if (statvfs(".", &v) < 0)
		return -1;
	return (long long)v.f_bfree * (long long)v.f_frsize;
}

void g_enospc(void)
{
	const char *env = getenv("FLOCKER_TEST_SIZE_LIMIT");
	long long limit = env ? strtoll(env, NULL, 0) : 0;
	const size_t chunk = MiB;
	unsigned char *buf = xmalloc(chunk);
	long long total = 0, target, free0, free1, used;
	const char *where = NULL;
	char detail[300];
	struct statvfs v;
	int fd, err = 0;

	if (limit <= 0) {
		t_res(false, "FLOCKER_TEST_SIZE_LIMIT is not a positive number",
		      "size limit given");
		free(buf);
		return;
	}
	pat_fill(buf, chunk, 61, 0);
	CHECK_OK(statvfs(".", &v), "statvfs");
	{
		long long total_bytes = (long long)v.f_blocks * (long long)v.f_frsize;
		long long diff = total_bytes > limit ? total_bytes - limit : limit - total_bytes;

		snprintf(detail, sizeof(detail),
			 "f_blocks %llu * f_frsize %lu = %lld bytes, limit %lld (off by %lld)",
			 (unsigned long long)v.f_blocks, (unsigned long)v.f_frsize, total_bytes,
			 limit, diff);
		t_res(diff <= limit / 100, detail, "statvfs size equals the limit within 1%%");
		CHECK(v.f_bfree <= v.f_blocks, "f_bfree <= f_blocks");
		CHECK(v.f_bavail <= v.f_bfree, "f_bavail <= f_bfree");
	}

	/* Space accounting follows writes and deletes. */
	used = limit >= 32 * MiB ? 8 * MiB : limit / 4;
	free0 = free_bytes();
	fd = open("acct", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK_OK(fd, "create acct");
	if (fd >= 0) {
		bool okw = true;

		for (long long off = 0; off < used && okw; off += (long long)chunk)
			okw = pwrite_all(fd, buf, chunk, off) == (ssize_t)chunk;
		CHECK(okw, "write %lld bytes", used);
		CHECK_OK(fsync(fd), "fsync");
		close(fd);
		{
			int dfd = open(".", O_RDONLY | O_DIRECTORY);

			CHECK_OK(syncfs(dfd), "syncfs");
			if (dfd >= 0)
				close(dfd);
		}
		free1 = free_bytes();
		snprintf(detail, sizeof(detail), "free bytes went from %lld to %lld", free0, free1);
		t_res(free0 - free1 >= used / 2, detail,
		      "free space drops after writing %lld bytes", used);
		CHECK_OK(unlink("acct"), "unlink acct");
		{
			int dfd = open(".", O_RDONLY | O_DIRECTORY);
			long long f = free_bytes();

			for (int i = 0; i < 300 && f < free0 - used / 4; i++) {
				if (dfd >= 0)
					syncfs(dfd);
				msleep(100);
				f = free_bytes();
			}
			if (dfd >= 0)
				close(dfd);
			snprintf(detail, sizeof(detail), "free bytes %lld, before writing %lld", f,
				 free0);
			t_res(f >= free0 - used / 4, detail,
			      "free space comes back after unlink (within 30 s)");
		}
	}

	/* Fill past the limit. */
	target = limit + limit / 8 + 4 * MiB;
	fd = open("fill", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK_OK(fd, "create fill");
	if (fd < 0) {
		free(buf);
		return;
	}
	while (total < target) {
		ssize_t n = write(fd, buf, chunk);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			where = "write()";
			err = errno;
			break;
		}
		total += n;
	}
	if (!where && fsync(fd) < 0) {
		where = "fsync()";
		err = errno;
	}
	if (close(fd) < 0 && !where) {
		where = "close()";
		err = errno;
	}
	if (!where)
		snprintf(detail, sizeof(detail),
			 "%lld bytes written, fsync and close succeeded: no error at all", total);
	else
		snprintf(detail, sizeof(detail), "%s failed with %s after %lld bytes", where,
			 ename(err), total);
	t_res(where && err == ENOSPC, detail,
	      "writing %lld bytes with a %lld-byte limit fails with ENOSPC (%s)", target, limit,
	      where ? where : "no error");
	note("ENOSPC reported at %s after %lld bytes written", where ? where : "(nowhere)", total);
	if (where && !strcmp(where, "write()")) {
		snprintf(detail, sizeof(detail), "write() accepted %lld bytes, limit %lld", total,
			 limit);
		t_res(total <= limit + limit / 50 + (long long)chunk, detail,
		      "write() accepts no more than the limit");
		t_res(total >= limit / 2, detail, "write() accepts at least half the limit");
	}
	CHECK_OK(unlink("fill"), "unlink fill");

	/* Space is usable again. */
	{
		int dfd = open(".", O_RDONLY | O_DIRECTORY);
		int ok = -1, e = 0;

		for (int i = 0; i < 300 && ok < 0; i++) {
			if (dfd >= 0)
				syncfs(dfd);
			fd = open("again", O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd >= 0) {
				if (pwrite_all(fd, buf, chunk, 0) == (ssize_t)chunk &&
				    fsync(fd) == 0)
					ok = 0;
				else
					e = errno;
				if (close(fd) < 0 && ok == 0) {
					ok = -1;
					e = errno;
				}
			} else {
				e = errno;
			}
			if (ok < 0)
				msleep(100);
		}
		errno = e;
		CHECK_OK(ok, "after deleting the big file, 1 MiB can be written and synced again");
		if (dfd >= 0)
			close(dfd);
	}
	CHECK_OK(mkdir("dir-after", 0755), "mkdir after ENOSPC");
	CHECK_OK(mkfile_str("dir-after/f", "fine"), "create after ENOSPC");
	check_content("dir-after/f", "fine", "filesystem works after ENOSPC");
	free(buf);
}
