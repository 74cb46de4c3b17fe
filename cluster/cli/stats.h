/* flockerfs — flockerctl stats: one mount's metrics. */
#ifndef FLOCKER_STATS_H
#define FLOCKER_STATS_H

/* flockerctl stats DIR [--json | --raw]; argv[0] is "stats".  Returns the exit status. */
int fl_stats_cmd(int argc, char **argv);

#endif
