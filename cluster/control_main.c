/* flocker-control — the cluster's registry of volumes, nodes and leases (not built yet). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: flocker-control -c CEPH_CONF --certs DIR [--bind ADDR]\n"
		       "the control service is not implemented yet: volumes work without it\n"
		       "(flockerctl volume ..., mount.flockerfs)\n");
		return 0;
	}
	fprintf(stderr, "flocker-control: not implemented yet; use flockerctl volume and "
			"mount.flockerfs directly\n");
	return 1;
}
