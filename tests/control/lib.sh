# lib.sh - the setup the end-to-end tests of flocker-agent in cluster mode share
# (agent_cluster_test.sh, agent_conn_test.sh): the checks that skip, the
# programs, a work directory with the logs, cleanup, free ports, flockerctl
# against the test's control and Docker plugin requests.
#
# Set before sourcing: TEST (the name in messages), TAG (names the work
# directory, the state namespace and the volume), FAIL_TAIL (log lines shown
# on failure, default 40).  Needs root, /dev/fuse, curl, jq and CEPH_CONF:
# skips (exit 77) without them.  Environment from tests/control.cmake:
# CEPH_CONF, CEPH_ARGS, FLOCKER_BINARY_DIR, FLOCKER_CONTROL_BIN,
# FLOCKERCTL_BIN, FLOCKER_AGENT_BIN, FLOCKER_MOUNT_BIN.
# shellcheck shell=bash

# shellcheck source=../lib/common.sh
. "${BASH_SOURCE[0]%/*}/../lib/common.sh" # free_port; say, fail and skip are ours
skip() { echo "$TEST: SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (FUSE mounts)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
command -v curl >/dev/null || skip "no curl"
command -v jq >/dev/null || skip "no jq"
[ -n "${CEPH_CONF:-}" ] || skip "CEPH_CONF is not set"

B=${FLOCKER_BINARY_DIR:-}
CONTROL=${FLOCKER_CONTROL_BIN:-${B:?}/flocker-control-svc}
CTL=${FLOCKERCTL_BIN:-${B:?}/flockerctl-cluster}
AGENT=${FLOCKER_AGENT_BIN:-${B:?}/flocker-agent-cluster}
MOUNT=${FLOCKER_MOUNT_BIN:-${B:?}/fs/mount.flockerfs}
ID=$(echo "${CEPH_ARGS:-}" | sed -n 's/.*--id \([^ ]*\).*/\1/p')

T=$(mktemp -d "/tmp/flocker-$TAG-XXXXXX")
NS="ctltest.$TAG$$"
VOL="$TAG$$-vol"
PIDS=()
fail() {
	echo "$TEST: FAIL: $*" >&2
	for f in "$T"/*.log; do echo "--- $f" >&2; tail -"${FAIL_TAIL:-40}" "$f" >&2; done
	exit 1
}
cleanup() {
	local p m
	for p in "${PIDS[@]}"; do { kill -9 "$p" && wait "$p"; } 2>/dev/null; done
	for m in $(awk -v t="$T" 'index($2, t) == 1 {print $2}' /proc/self/mounts); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	sleep 0.5
	[ -n "${FLOCKER_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# flockerctl against the test's control (its API port in $API), as admin
ctl() { "$CTL" --control "127.0.0.1:$API" --certs "$T/certs" "$@"; }
# dock NODE OP JSON: one Docker plugin request; prints the reply
dock() { curl -s --max-time 70 --unix-socket "$T/$1/plugin.sock" -X POST "http://plugin/VolumeDriver.$2" -d "$3"; }
err_of() { jq -r .Err; }
# take_over NODE VOL ID: a Docker Mount of VOL on NODE, asked again every
# 0.25 s until granted (fails after 40 s); sets TAKE_REPLY (the reply) and TOOK
# (the seconds it took)
take_over() {
	local t0
	t0=$(date +%s.%N)
	while :; do
		TAKE_REPLY=$(dock "$1" Mount "{\"Name\":\"$2\",\"ID\":\"$3\"}")
		[ -z "$(echo "$TAKE_REPLY" | err_of)" ] && break
		[ "$(echo "$(date +%s.%N) - $t0 > 40" | bc)" = 1 ] && fail "$1 never got $2: $TAKE_REPLY"
		sleep 0.25
	done
	# shellcheck disable=SC2034 # for the caller
	TOOK=$(echo "$(date +%s.%N) - $t0" | bc)
}
