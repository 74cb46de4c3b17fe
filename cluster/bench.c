/* flockerctl bench — placeholder until the benchmark lands. */
#include <stdio.h>

#include "bench.h"

int fl_bench_cmd(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "flockerctl: bench is not implemented yet\n");
	return 1;
}
