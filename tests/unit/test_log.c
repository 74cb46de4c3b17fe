/*
 * flockerfs — unit tests for the logging module (fs/util/log.c): every line
 * on stderr or in a file has a timestamp, the program, its pid and the tag;
 * the level word for warnings and worse; the journal format when stderr is
 * the stream $JOURNAL_STREAM names; fl_log_to_file's errors; level filtering.
 * Failures are printed to stdout (stderr is the log under test).
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flocker/log.h"

static int failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);            \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

/* The file's lines, one string (at most size-1 bytes). */
static void slurp(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	out[0] = '\0';
	if (!f)
		return;
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
}

static int matches(const char *re, const char *text)
{
	regex_t r;
	int ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB))
		return 0;
	ok = regexec(&r, text, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

int main(void)
{
	char dir[] = "/tmp/test_log.XXXXXX", plain[128], journal[128], text[8192], re[512], js[64];
	char tagbuf[16];
	struct stat st;
	long pid = (long)getpid();

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!mkdtemp(dir)) {
		printf("cannot make a temporary directory: %s\n", strerror(errno));
		return 1;
	}
	snprintf(plain, sizeof(plain), "%s/plain.log", dir);
	snprintf(journal, sizeof(journal), "%s/journal.log", dir);

	/* a file: timestamp, program[pid], tag, level word below notice */
	unsetenv("JOURNAL_STREAM");
	fl_log_init("test_log", LOG_INFO);
	CHECK(fl_log_to_file(plain) == 0);
	fl_log_set_tag("volume v1");
	fl_err("cannot write %s", "object data.1.0");
	fl_notice("volume mounted");
	fl_notice("volume v1: snapshot s1 taken"); /* the tag once, not twice */
	fl_debug("not shown at LOG_INFO");
	fl_log_set_tag(NULL);
	fl_warn("untagged");
	slurp(plain, text, sizeof(text));
	snprintf(
		re, sizeof(re),
		"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}[+-][0-9]{2}:[0-9]{2} "
		"test_log\\[%ld\\]: volume v1: error: cannot write object data\\.1\\.0$",
		pid);
	CHECK(matches(re, text));
	snprintf(
		re, sizeof(re),
		"^[0-9-]{10}T[0-9:.]{12}[+-][0-9:]{5} test_log\\[%ld\\]: volume v1: volume mounted$",
		pid);
	CHECK(matches(re, text));
	snprintf(
		re, sizeof(re),
		"^[0-9-]{10}T[0-9:.]{12}[+-][0-9:]{5} test_log\\[%ld\\]: volume v1: snapshot s1 taken$",
		pid);
	CHECK(matches(re, text));
	snprintf(re, sizeof(re),
		 "^[0-9-]{10}T[0-9:.]{12}[+-][0-9:]{5} test_log\\[%ld\\]: warning: untagged$", pid);
	CHECK(matches(re, text));
	CHECK(!strstr(text, "not shown"));
	/* every line has a timestamp */
	CHECK(!matches("^[^0-9]", text));

	/* stderr is the journal's stream: priority prefix, no timestamp (the journal has one) */
	CHECK(fl_log_to_file(journal) == 0);
	CHECK(stat(journal, &st) == 0);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	fl_log_init("test_log", LOG_INFO);
	/* the tag is copied: the caller's buffer may change or die */
	snprintf(tagbuf, sizeof(tagbuf), "node a");
	fl_log_set_tag(tagbuf);
	memset(tagbuf, 'X', sizeof(tagbuf) - 1);
	fl_err("lease renewal failed");
	fl_info("heartbeat");
	slurp(journal, text, sizeof(text));
	CHECK(matches("^<3>node a: lease renewal failed$", text));
	CHECK(matches("^<6>node a: heartbeat$", text));

	/* $JOURNAL_STREAM names another stream (a file we reopened): timestamps again */
	CHECK(fl_log_to_file(plain) == 0);
	fl_notice("back in the file");
	slurp(plain, text, sizeof(text));
	CHECK(matches("^[0-9-]{10}T[^ ]+ test_log\\[[0-9]+\\]: node a: back in the file$", text));
	unsetenv("JOURNAL_STREAM");

	/* a file that cannot be opened: an errno, stderr unchanged */
	CHECK(fl_log_to_file("/nonexistent-dir-test-log/x.log") == -ENOENT);
	fl_notice("still here");
	slurp(plain, text, sizeof(text));
	CHECK(strstr(text, "still here") != NULL);

	unlink(plain);
	unlink(journal);
	rmdir(dir);
	if (failures)
		printf("test_log: %d check(s) failed\n", failures);
	else
		printf("test_log: all checks passed\n");
	return failures ? 1 : 0;
}
