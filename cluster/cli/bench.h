/* flockerctl bench DIR [--json] ... : argv[0] is "bench". Returns the exit status. */
#ifndef FLOCKER_BENCH_H
#define FLOCKER_BENCH_H

int fl_bench_cmd(int argc, char **argv);

#endif
