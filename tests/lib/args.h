/*
 * flockerfs tests — the command line of a test program from a table of its
 * options: flags (--NAME) and options with a value (--NAME VALUE: a string,
 * or a number as strtoull reads it, base 0).
 */
#ifndef FLOCKER_TESTS_LIB_ARGS_H
#define FLOCKER_TESTS_LIB_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum arg_kind {
	ARG_FLAG, /* dst: bool, set to true */
	ARG_STR,  /* dst: const char *, the value itself (argv's) */
	ARG_U64,  /* dst: uint64_t */
	ARG_UINT, /* dst: unsigned */
};

struct arg {
	const char *name;
	enum arg_kind kind;
	void *dst;
};

/* Sets what argv[1..argc) names; 0, or -1 at an unknown option or one without its value. */
static inline int args_parse(int argc, char **argv, const struct arg *t, size_t n)
{
	int i;
	size_t k;

	for (i = 1; i < argc; i++) {
		for (k = 0; k < n && strcmp(argv[i], t[k].name); k++)
			;
		if (k == n)
			return -1;
		if (t[k].kind == ARG_FLAG) {
			*(bool *)t[k].dst = true;
			continue;
		}
		if (++i == argc)
			return -1;
		if (t[k].kind == ARG_STR)
			*(const char **)t[k].dst = argv[i];
		else if (t[k].kind == ARG_U64)
			*(uint64_t *)t[k].dst = strtoull(argv[i], NULL, 0);
		else
			*(unsigned *)t[k].dst = (unsigned)strtoul(argv[i], NULL, 0);
	}
	return 0;
}

#endif
