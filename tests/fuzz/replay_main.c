/*
 * Replays saved fuzz inputs through LLVMFuzzerTestOneInput without
 * libFuzzer: each argument is a corpus directory (every regular file in it)
 * or a single file.  Exit 0 when every input ran (a failing input aborts),
 * 1 on an unreadable path or an empty corpus.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;
	int rc = -1;

	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			uint8_t *p = realloc(buf, ncap);

			if (!p) {
				fprintf(stderr, "replay: cannot read %s: out of memory\n", path);
				goto out;
			}
			buf = p;
			cap = ncap;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		goto out;
	}
	/* An exact-size copy, so that sanitizers see reads past the end. */
	{
		uint8_t *exact = malloc(len ? len : 1);

		if (!exact) {
			fprintf(stderr, "replay: cannot read %s: out of memory\n", path);
			goto out;
		}
		memcpy(exact, buf, len);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

static int run_dir(const char *dir, unsigned *count)
{
	struct dirent **names;
	int n, k, rc = 0;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: cannot read directory %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (k = 0; k < n; k++) {
		char path[4096];
		struct stat st;

		if (names[k]->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s", dir, names[k]->d_name) <
			    (int)sizeof(path) &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(path) < 0)
				rc = -1;
			else
				(*count)++;
		}
		free(names[k]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int k, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	for (k = 1; k < argc; k++) {
		struct stat st;

		if (stat(argv[k], &st) != 0) {
			fprintf(stderr, "replay: cannot stat %s: %s\n", argv[k], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[k], &count) < 0)
				rc = 1;
		} else if (run_file(argv[k]) < 0) {
			rc = 1;
		} else {
			count++;
		}
	}
	if (count == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		rc = 1;
	}
	printf("replay: %u input(s) ran\n", count);
	return rc;
}
