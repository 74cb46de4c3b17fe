#!/usr/bin/env bash
# cluster_guard.sh - runs one test of the ctest fixture "ceph" and keeps the
# fixture's cluster (FLOCKER_TEST_CLUSTER_DIR, a memstore dev cluster) honest
# around it:
#
#   cluster_guard.sh PROGRAM [ARGS...]
#
# - Before the test: when a mon or OSD of the cluster is gone (its pid file
#   names no live daemon), says so with the end of its log and starts the
#   cluster again, empty (a memstore OSD that died took its objects with it),
#   so one lost cluster does not fail every later test.
# - During the test (checked every 2 s): when a mon or OSD dies, the test can
#   only hang on RADOS calls until its timeout. The guard says which daemon
#   died, stops the test (its process group, then the FUSE mounts it left,
#   through /sys/fs/fuse/connections/N/abort), starts the cluster again and
#   runs the test once more. Its exit status is that of the second run; a
#   second loss of the cluster fails the test.
#
# Nothing of the test is changed: the guard passes its arguments, output
# streams and environment through (standard input is /dev/null), and exits
# with the test's status (77 = skipped included).
set -uo pipefail

PROG=${0##*/}
DEV_CLUSTER=${FLOCKER_SOURCE_DIR:?FLOCKER_SOURCE_DIR is not set}/contrib/dev-cluster.sh
DIR=${FLOCKER_TEST_CLUSTER_DIR:?FLOCKER_TEST_CLUSTER_DIR is not set}
PATH=$PATH:/usr/sbin:/sbin

say() {
	echo "$PROG: $*" >&2
}

[ $# -gt 0 ] || {
	echo "usage: $PROG PROGRAM [ARGS...]" >&2
	exit 2
}

# dead_daemon: prints the first mon or OSD of the cluster whose pid file names
# no live process started with this cluster's conf; fails when all live. The
# mgr is left out: I/O does not need it.
dead_daemon() {
	local f pid name
	for f in "$DIR"/run/mon.*.pid "$DIR"/run/osd.*.pid; do
		[ -e "$f" ] || continue
		name=$(basename "$f" .pid)
		pid=$(cat "$f" 2>/dev/null) || pid=
		if [[ ! $pid =~ ^[0-9]+$ ]] ||
			! { tr '\0' '\n' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -Fxq -- "$DIR/ceph.conf"; then
			echo "$name"
			return 0
		fi
	done
	return 1
}

# restart WHO: the cluster again, empty, with the same conf, keys and port.
restart() {
	local who=$1 f
	say "the test cluster in $DIR lost $who (not stopped by the test run)"
	for f in "$DIR/log/$who.log" "$DIR/log/$who.out"; do
		if [ -s "$f" ]; then
			say "last lines of $f:"
			tail -n 10 "$f" >&2
		fi
	done
	say "starting the test cluster again (empty)"
	"$DEV_CLUSTER" stop --dir "$DIR" >&2 || true
	"$DEV_CLUSTER" start --timeout 60 --dir "$DIR" >&2
}

# mount_ids: the ids of the FUSE mounts of this host (mountinfo field 1).
mount_ids() {
	awk '$0 ~ / - fuse[. ]/ { print $1 }' /proc/self/mountinfo | sort
}

# abort_new_mounts BEFORE: aborts the FUSE connections of mounts whose id is
# not in the file BEFORE, then unmounts them lazily: their daemons wait on a
# cluster that is gone, and a sync or stat on them would hang later tests.
abort_new_mounts() {
	local before=$1 id dev mnt minor
	while read -r id dev mnt; do
		grep -qx "$id" "$before" && continue
		minor=${dev#*:}
		say "aborting the FUSE connection of $mnt (left by the test)"
		echo 1 >"/sys/fs/fuse/connections/$minor/abort" 2>/dev/null || true
		umount -l "$mnt" 2>/dev/null || true
	done < <(awk '$0 ~ / - fuse[. ]/ { print $1, $3, $5 }' /proc/self/mountinfo)
}

# run_once: runs the test in a process group of its own and waits for it;
# sets RC to its status, or LOST to the daemon that died meanwhile.
run_once() {
	local before pid
	before=$(mktemp "${TMPDIR:-/tmp}/cluster-guard.XXXXXX")
	mount_ids >"$before"
	LOST=
	# a process group of its own (job control), and no terminal to read
	set -m
	"$@" </dev/null &
	pid=$!
	set +m
	trap 'kill -TERM -- -'"$pid"' 2>/dev/null; exit 143' TERM INT HUP
	while kill -0 "$pid" 2>/dev/null; do
		if LOST=$(dead_daemon); then
			kill -TERM -- "-$pid" 2>/dev/null
			sleep 5
			kill -KILL -- "-$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			abort_new_mounts "$before"
			rm -f "$before"
			trap - TERM INT HUP
			return 0
		fi
		sleep 2 &
		wait $! 2>/dev/null
	done
	wait "$pid"
	RC=$?
	trap - TERM INT HUP
	rm -f "$before"
}

if who=$(dead_daemon); then
	restart "$who" || {
		say "FAILED: cannot start the test cluster again"
		exit 1
	}
fi
run_once "$@"
if [ -n "$LOST" ]; then
	restart "$LOST" || {
		say "FAILED: cannot start the test cluster again"
		exit 1
	}
	say "running the test again: $*"
	run_once "$@"
	if [ -n "$LOST" ]; then
		say "FAILED: the test cluster lost $LOST again during the test"
		exit 1
	fi
fi
exit "$RC"
