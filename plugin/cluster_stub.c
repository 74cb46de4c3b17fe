/*
 * flockerfs — cluster mode's entry point until plugin/agent.c provides it.
 *
 * Weak: the real fl_agent_cluster_open (plugin/agent.c) replaces this one
 * at link time; then this file can go.
 */
#include <errno.h>
#include <stdio.h>

#include "agent_config.h"

__attribute__((weak)) int fl_agent_cluster_open(const struct fl_agent_config *cfg,
						struct fl_agent **out, char *err, size_t errlen)
{
	(void)cfg;
	*out = NULL;
	snprintf(err, errlen,
		 "cluster mode is not built yet: run without --control (standalone mode)");
	return -ENOSYS;
}
