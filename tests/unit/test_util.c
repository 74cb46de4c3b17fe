/* Unit tests of fs/util: uuids, the mount table, size and time formatting, pid files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <time.h>

#include "fs/util/fmt.h"
#include "fs/util/mountinfo.h"
#include "fs/util/pidfile.h"
#include "fs/util/uuid.h"
#include "tests/check.h"

/* Not assert(): it must check in every build type, NDEBUG or not. */

static void test_uuid_new(void)
{
	char a[FL_UUID_LEN + 1], b[FL_UUID_LEN + 1];
	int i;

	for (i = 0; i < 1000; i++) {
		fl_uuid_new(a);
		fl_uuid_new(b);
		CHECK(strlen(a) == FL_UUID_LEN);
		CHECK(fl_uuid_valid(a) && fl_uuid_valid(b));
		CHECK(a[14] == '4');		      /* version 4 */
		CHECK(strchr("89ab", a[19]) != NULL); /* RFC 4122 variant */
		CHECK(strcmp(a, b) != 0);
	}
}

static void test_uuid_valid(void)
{
	const char *good = "0f8d2c1e-3b4a-4c5d-8e6f-7a8b9c0d1e2f";
	char buf[64];

	CHECK(fl_uuid_valid(good));
	CHECK(fl_uuid_valid_n(good, strlen(good)));
	/* bounded: the 36 bytes need no NUL after them */
	snprintf(buf, sizeof(buf), "%sXYZ", good);
	CHECK(fl_uuid_valid_n(buf, FL_UUID_LEN));
	CHECK(!fl_uuid_valid(buf));
	CHECK(!fl_uuid_valid(""));
	CHECK(!fl_uuid_valid_n(good, FL_UUID_LEN - 1));
	CHECK(!fl_uuid_valid("0F8D2C1E-3B4A-4C5D-8E6F-7A8B9C0D1E2F")); /* uppercase */
	CHECK(!fl_uuid_valid("0f8d2c1e-3b4a-4c5d-8e6f-7a8b9c0d1e2g")); /* not hex */
	CHECK(!fl_uuid_valid("0f8d2c1e3b4a-4c5d-8e6f-7a8b9c0d1e2f-")); /* hyphens moved */
	CHECK(!fl_uuid_valid("0f8d2c1e-3b4a-4c5d-8e6f-7a8b9c0d1e2"));  /* short */
}

static void test_mountinfo(void)
{
	struct fl_mountinfo m;
	struct stat st;

	/* / is always mounted; the newest mount there holds /'s files */
	CHECK(fl_mountinfo_at("/", &m) == 1);
	CHECK(strcmp(m.target, "/") == 0);
	CHECK(stat("/", &st) == 0);
	CHECK(m.dev == st.st_dev);
	CHECK(m.fstype[0] != '\0');
	CHECK(fl_mountinfo_of_dev(st.st_dev, &m) == 1);
	CHECK(fl_mountinfo_at("/no/such/mount/point", &m) == 0);
}

static void test_fmt(void)
{
	char b[64], small[4];

	fl_fmt_size(0, b, sizeof(b));
	CHECK_STR(b, "0B");
	fl_fmt_size(1023, b, sizeof(b));
	CHECK_STR(b, "1023B");
	fl_fmt_size(1536, b, sizeof(b));
	CHECK_STR(b, "1.5K");
	fl_fmt_size(10ULL << 30, b, sizeof(b));
	CHECK_STR(b, "10.0G");
	fl_fmt_size(UINT64_MAX, b, sizeof(b));
	CHECK_STR(b, "16384.0P");
	fl_fmt_size(10ULL << 30, small, sizeof(small));
	CHECK_STR(small, "10."); /* cut, still terminated */
	fl_fmt_time_utc(0, b, sizeof(b));
	CHECK_STR(b, "1970-01-01T00:00:00Z");
	fl_fmt_time_utc(1796644980, b, sizeof(b));
	CHECK_STR(b, "2026-12-07T12:03:00Z");
	setenv("TZ", "UTC", 1);
	tzset();
	fl_fmt_time_local(1796644980, b, sizeof(b));
	CHECK_STR(b, "2026-12-07 12:03:00");
}

/*
 * A daemon removes its pid file at exit, after the kernel may have given its
 * device number to a new mount: the new daemon's file must stay.
 */
static void test_pidfile_remove_own_only(void)
{
	dev_t dev = makedev(4000, 999999); /* no real mount has it */
	char path[128];
	FILE *f;

	if (fl_pidfile_write(dev)) {
		printf("test_util: pid file checks skipped: cannot write in %s (%s)\n", FL_RUN_DIR,
		       strerror(errno));
		return;
	}
	CHECK(fl_pidfile_read(dev) == (long)getpid());
	snprintf(path, sizeof(path), "%s/4000.999999.pid", FL_RUN_DIR);
	f = fopen(path, "w"); /* another daemon's now */
	CHECK(f != NULL);
	if (!f)
		return;
	fprintf(f, "%ld\n", (long)getpid() + 1);
	fclose(f);
	fl_pidfile_remove(dev);
	CHECK(fl_pidfile_read(dev) == (long)getpid() + 1);
	CHECK(fl_pidfile_write(dev) == 0);
	fl_pidfile_remove(dev);
	CHECK(fl_pidfile_read(dev) == 0);
	unlink(path);
}

int main(void)
{
	test_uuid_new();
	test_uuid_valid();
	test_mountinfo();
	test_fmt();
	test_pidfile_remove_own_only();
	return check_report("test_util");
}
