/*
 * test_control - what the files of the program share: the helpers and the
 * tls area (test_control.c), the API areas (test_control_api.c: api,
 * snapshots) and the lease areas (test_control_leases.c: leases, slow_rados,
 * reconnect_storm, watch_gap, failover).
 */
#ifndef FLOCKER_TESTS_TEST_CONTROL_H
#define FLOCKER_TESTS_TEST_CONTROL_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>

#include "cluster/control/api.h"
#include "cluster/net/ca.h"
#include "ctltest.h"
#include "cluster/net/tls.h"
#include "fs/volume/volume.h"

struct pump {
	struct ct_sim *s;
	volatile int stop;
	pthread_t th;
};

json_t *api_json(struct ct_control *c, const char *method, const char *path, const char *body,
		 const char *if_tag, int *status, char *tag);
int api_status(struct ct_control *c, const char *method, const char *path, const char *body);
const char *jstr(json_t *o, const char *k);
json_t *find_ds(json_t *arr, const char *name, bool deleted);
void vname(char *out, size_t len, const char *what);
void pump_start(struct pump *pu, struct ct_sim *s);
void pump_stop(struct pump *pu);
int test_api(void);
int test_leases(void);
void test_reconnect_storm(void);
int test_slow_rados(void);
int test_watch_gap(void);
int test_failover(void);
int test_snapshots(void);

#endif
