/*
 * posix_conformance - the checks of locks: flock and fcntl record locks (groups run by
 * posix_conformance.c).
 */
#include "posix_conformance.h"

/* ---- flock --------------------------------------------------------------------------------------
 */

void g_flock(void)
{
	struct gate g1, g2;
	int fd, fd2;
	pid_t pid;

	CHECK_OK(mkfile_str("f", "lock"), "create f");
	fd = open("f", O_RDWR);
	if (fd < 0)
		die("open");
	CHECK_OK(flock(fd, LOCK_EX), "parent takes LOCK_EX");
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);

		CHECK_ERR(flock(cfd, LOCK_EX | LOCK_NB), EWOULDBLOCK,
			  "child: LOCK_EX conflicts with another process's LOCK_EX");
		CHECK_ERR(flock(cfd, LOCK_SH | LOCK_NB), EWOULDBLOCK,
			  "child: LOCK_SH conflicts with LOCK_EX");
		_exit(0);
	}
	wait_child(pid, "flock child");
	fd2 = open("f", O_RDWR);
	CHECK_ERR(flock(fd2, LOCK_EX | LOCK_NB), EWOULDBLOCK,
		  "a second open file description of the same process conflicts too");
	CHECK_OK(flock(fd, LOCK_UN), "parent unlocks");
	CHECK_OK(flock(fd2, LOCK_EX | LOCK_NB), "lock free after unlock");
	CHECK_OK(flock(fd2, LOCK_UN), "unlock");
	CHECK_OK(flock(fd, LOCK_SH), "parent takes LOCK_SH");
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);

		CHECK_OK(flock(cfd, LOCK_SH | LOCK_NB), "child: shared locks coexist");
		CHECK_ERR(flock(cfd, LOCK_EX | LOCK_NB), EWOULDBLOCK,
			  "child: upgrade blocked by another shared holder");
		_exit(0);
	}
	wait_child(pid, "flock shared child");
	CHECK_OK(flock(fd, LOCK_EX | LOCK_NB), "upgrade to LOCK_EX once alone");
	CHECK_OK(close(fd), "close releases the lock");
	CHECK_OK(flock(fd2, LOCK_EX | LOCK_NB), "lock free after close");
	CHECK_OK(flock(fd2, LOCK_UN), "unlock");

	/* A blocking LOCK_EX waits for the holder. */
	gate_init(&g1);
	gate_init(&g2);
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);

		if (flock(cfd, LOCK_EX) < 0)
			_exit(1);
		gate_open(&g1); /* holding */
		gate_wait(&g2); /* parent tried */
		msleep(200);
		flock(cfd, LOCK_UN);
		_exit(0);
	}
	gate_wait(&g1);
	CHECK_ERR(flock(fd2, LOCK_EX | LOCK_NB), EWOULDBLOCK, "child holds LOCK_EX");
	gate_open(&g2);
	{
		long long t0 = now_ns();

		CHECK_OK(flock(fd2, LOCK_EX), "blocking LOCK_EX");
		CHECK(now_ns() - t0 >= 100000000LL, "blocking LOCK_EX waited for the holder");
	}
	wait_child(pid, "flock blocking child");
	gate_close(&g1);
	gate_close(&g2);
	close(fd2);
}

/* ---- fcntl record locks ------------------------------------------------------------------------
 */

/* fcntl(fd, cmd) with *fl a lock of type over len bytes from start. */
static int lock_at(int fd, int cmd, struct flock *fl, short type, off_t start, off_t len)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = type;
	fl->l_whence = SEEK_SET;
	fl->l_start = start;
	fl->l_len = len;
	return fcntl(fd, cmd, fl);
}

static int setlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl;

	return lock_at(fd, cmd, &fl, type, start, len);
}

void g_fcntl_lock(void)
{
	struct gate g1, g2;
	pid_t pid, parent = getpid();
	int fd, fd2;

	CHECK_OK(mkfile_str("f", "0123456789"), "create f");
	fd = open("f", O_RDWR);
	if (fd < 0)
		die("open");
	CHECK_OK(setlk(fd, F_SETLK, F_WRLCK, 0, 100), "parent write-locks [0,100)");
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);
		struct flock fl;

		CHECK_ERR2(setlk(cfd, F_SETLK, F_WRLCK, 50, 10), EAGAIN, EACCES,
			   "child: overlapping write lock refused");
		CHECK_ERR2(setlk(cfd, F_SETLK, F_RDLCK, 0, 10), EAGAIN, EACCES,
			   "child: overlapping read lock refused");
		CHECK_OK(setlk(cfd, F_SETLK, F_WRLCK, 100, 100), "child: adjacent range is free");
		CHECK_OK(lock_at(cfd, F_GETLK, &fl, F_WRLCK, 10, 1), "child: F_GETLK");
		CHECK_EQ(fl.l_type, F_WRLCK, "F_GETLK reports a write lock");
		CHECK_EQ(fl.l_pid, parent, "F_GETLK reports the holder's pid");
		CHECK_EQ(fl.l_start, 0, "F_GETLK reports the start");
		CHECK_EQ(fl.l_len, 100, "F_GETLK reports the length");
		CHECK_OK(lock_at(cfd, F_GETLK, &fl, F_WRLCK, 300, 10),
			 "child: F_GETLK on a free range");
		CHECK_EQ(fl.l_type, F_UNLCK, "free range reports F_UNLCK");
		_exit(0);
	}
	wait_child(pid, "fcntl lock child");
	CHECK_OK(setlk(fd, F_SETLK, F_UNLCK, 0, 100), "parent unlocks");
	CHECK_OK(setlk(fd, F_SETLK, F_RDLCK, 0, 100), "parent read-locks");
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);

		CHECK_OK(setlk(cfd, F_SETLK, F_RDLCK, 0, 100), "child: read locks coexist");
		CHECK_ERR2(setlk(cfd, F_SETLK, F_WRLCK, 0, 1), EAGAIN, EACCES,
			   "child: write lock refused under a read lock");
		_exit(0);
	}
	wait_child(pid, "fcntl read lock child");

	/* Closing any descriptor of the file drops the process's locks. */
	CHECK_OK(setlk(fd, F_SETLK, F_WRLCK, 0, 0), "parent locks the whole file");
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);

		CHECK_ERR2(setlk(cfd, F_SETLK, F_WRLCK, GiB, 1), EAGAIN, EACCES,
			   "child: a whole-file lock covers offsets past EOF");
		_exit(0);
	}
	wait_child(pid, "whole-file lock child");
	fd2 = open("f", O_RDONLY);
	close(fd2);
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);

		CHECK_OK(setlk(cfd, F_SETLK, F_WRLCK, 0, 0),
			 "child: closing another descriptor released the parent's locks");
		_exit(0);
	}
	wait_child(pid, "lock after close child");

	/* F_SETLKW waits. */
	gate_init(&g1);
	gate_init(&g2);
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);

		if (setlk(cfd, F_SETLK, F_WRLCK, 0, 10) < 0)
			_exit(1);
		gate_open(&g1);
		gate_wait(&g2);
		msleep(200);
		setlk(cfd, F_SETLK, F_UNLCK, 0, 10);
		msleep(100000);
		_exit(0);
	}
	gate_wait(&g1);
	CHECK_ERR2(setlk(fd, F_SETLK, F_WRLCK, 5, 1), EAGAIN, EACCES, "child holds [0,10)");
	gate_open(&g2);
	{
		long long t0 = now_ns();

		CHECK_OK(setlk(fd, F_SETLKW, F_WRLCK, 5, 1), "F_SETLKW");
		CHECK(now_ns() - t0 >= 100000000LL, "F_SETLKW waited for the holder");
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	gate_close(&g1);
	gate_close(&g2);
	CHECK_OK(setlk(fd, F_SETLK, F_UNLCK, 0, 0), "unlock everything");

	/* Open file description locks between two processes. */
	CHECK_OK(setlk(fd, F_OFD_SETLK, F_WRLCK, 0, 10), "OFD write lock");
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);

		CHECK_ERR2(setlk(cfd, F_OFD_SETLK, F_WRLCK, 5, 1), EAGAIN, EACCES,
			   "child: OFD lock conflicts");
		CHECK_OK(setlk(cfd, F_OFD_SETLK, F_WRLCK, 10, 1), "child: OFD lock beside it");
		_exit(0);
	}
	wait_child(pid, "OFD lock child");
	close(fd);
}
