/* flocker-agent — per-host agent and Docker volume plugin (not built yet). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: flocker-agent -c CEPH_CONF --certs DIR --node NAME --control HOST[:PORT]\n"
		       "the agent and Docker plugin are not implemented yet\n");
		return 0;
	}
	fprintf(stderr, "flocker-agent: not implemented yet\n");
	return 1;
}
