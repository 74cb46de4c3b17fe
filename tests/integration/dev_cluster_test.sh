#!/usr/bin/env bash
# dev_cluster_test.sh - contrib/dev-cluster.sh keeps data across stop/start
# and leaves no process behind.
#
# usage: dev_cluster_test.sh PATH/TO/dev_cluster_test
#
# Starts its own bluestore cluster in a fresh temporary directory (not the
# ctest fixture), writes an object, stops, checks that no daemon of that
# directory remains, starts again, reads the object back, stops, checks again.
# Exit 0 pass, 1 fail, 77 skip (no Ceph daemons installed).
set -euo pipefail

PROG=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
DEV_CLUSTER=${DEV_CLUSTER:-$HERE/../../contrib/dev-cluster.sh}
CLIENT=${1:-}
TMP=

die() {
	printf '%s: FAIL: %s\n' "$PROG" "$*" >&2
	exit 1
}

step() {
	printf '%s: %s\n' "$PROG" "$*" >&2
}

cleanup() {
	local rc=$?
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		"$DEV_CLUSTER" stop --dir "$TMP/c" >/dev/null 2>&1 || true
		if [ "$rc" != 0 ] && [ -d "$TMP/c/log" ]; then
			step "logs kept in $TMP/c/log"
			return
		fi
		rm -rf "$TMP"
	fi
}

# Pids of processes started with the cluster's conf (the dev cluster's daemons).
leftovers() {
	local p
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" != "$$" ] || continue
		if tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -Fxq -- "$TMP/c/ceph.conf"; then
			echo "${p#/proc/}"
		fi
	done
}

check_no_leftovers() {
	local pids
	pids=$(leftovers | tr '\n' ' ')
	[ -z "$pids" ] || die "processes of the cluster still run after stop $1: $pids"
}

main() {
	local data t0
	if [ -z "$CLIENT" ] || [ ! -x "$CLIENT" ]; then
		echo "usage: $PROG PATH/TO/dev_cluster_test" >&2
		exit 2
	fi
	for c in ceph-mon ceph-osd ceph-mgr; do
		if ! command -v "$c" >/dev/null; then
			echo "$PROG: SKIP: $c is not installed (run contrib/install-deps.sh)" >&2
			exit 77
		fi
	done
	# Short path: admin sockets live under it.
	TMP=$(mktemp -d /tmp/flockerfs-dct.XXXXXX)
	trap cleanup EXIT
	unset CEPH_ARGS CEPH_CONF

	step "starting a bluestore cluster in $TMP/c"
	t0=$SECONDS
	"$DEV_CLUSTER" start --dir "$TMP/c" --block-size 4G || die "first start failed"
	step "first start took $((SECONDS - t0))s"
	eval "$("$DEV_CLUSTER" env --dir "$TMP/c")"
	[ "${CEPH_CONF:-}" = "$TMP/c/ceph.conf" ] || die "env printed CEPH_CONF=${CEPH_CONF:-}"
	"$DEV_CLUSTER" status --dir "$TMP/c" || die "status of a running cluster failed"
	"$DEV_CLUSTER" start --dir "$TMP/c" || die "start of a running cluster failed"

	data="kept across restart $RANDOM$RANDOM"
	"$CLIENT" write dev-cluster-test.obj "$data" || die "write through librados failed"
	"$CLIENT" read dev-cluster-test.obj "$data" || die "read back before restart failed"

	step "stopping"
	"$DEV_CLUSTER" stop --dir "$TMP/c" || die "stop failed"
	check_no_leftovers "(first)"
	if "$DEV_CLUSTER" status --dir "$TMP/c" >/dev/null 2>&1; then
		die "status says healthy after stop"
	fi
	"$DEV_CLUSTER" stop --dir "$TMP/c" || die "stop of a stopped cluster failed"

	step "starting again"
	t0=$SECONDS
	"$DEV_CLUSTER" start --dir "$TMP/c" || die "second start failed"
	step "second start took $((SECONDS - t0))s"
	"$CLIENT" read dev-cluster-test.obj "$data" || die "object lost across stop/start"

	"$DEV_CLUSTER" stop --dir "$TMP/c" || die "second stop failed"
	check_no_leftovers "(second)"
	step "PASS"
}

main "$@"
