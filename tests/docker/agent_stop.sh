#!/usr/bin/env bash
# agent_stop.sh - a flocker-agent stops promptly on SIGTERM while the Ceph
# cluster is unreachable.
#
# The agent's ceph.conf names a monitor address where nothing listens (a
# real librados client that cannot reach its cluster; no cluster is needed).
# With --trash-ttl 2 its trash purger connects every second; that connect
# waits up to 20 s (and a RADOS call to a cluster that went away waits for
# good).  SIGTERM must end the agent within a few seconds all the same:
# closing is bounded (plugin/agent_main.c, CLOSE_WAIT_S = 3 s).  The bound
# checked, 8 s, leaves room for a loaded machine; before the bound the agent
# took 17-20 s here, and for ever when a RADOS call was under way when the
# cluster went away.
set -uo pipefail

# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh" # PROG, free_port; say is ours
BIN=${FLOCKER_BINARY_DIR:?run through ctest: FLOCKER_BINARY_DIR is not set}
AGENT=${FLOCKER_AGENT_BIN:-$BIN/plugin/flocker-agent}
BOUND_S=8

say() { printf '%s: %s\n' "$PROG" "$*"; }

WORK=$(mktemp -d /tmp/flocker-agent-stop-XXXXXX)
PID=
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -KILL "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# a port nothing listens on: bound and closed again
PORT=$(free_port)
cat >"$WORK/ceph.conf" <<EOF
[global]
mon_host = 127.0.0.1:$PORT
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
EOF
mkdir -p "$WORK/state" "$WORK/mnt"
CEPH_ARGS= "$AGENT" -c "$WORK/ceph.conf" --state-dir "$WORK/state" \
	--plugin-socket "$WORK/plugin.sock" --mount-root "$WORK/mnt" \
	--mount-helper "$BIN/fs/mount.flockerfs" --trash-ttl 2 --log "$WORK/agent.log" \
	>"$WORK/agent.out" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
	grep -q "agent ready" "$WORK/agent.log" 2>/dev/null && break
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q "agent ready" "$WORK/agent.log" 2>/dev/null; then
	say "FAIL - the agent did not start"
	cat "$WORK/agent.out" "$WORK/agent.log" 2>/dev/null
	exit 1
fi
# the purger is connecting to the unreachable cluster now
sleep 2.5
t0=$(date +%s.%N)
kill -TERM "$PID"
for _ in $(seq 1 $((BOUND_S * 10 + 150))); do
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
took=$(echo "$(date +%s.%N) - $t0" | bc)
if kill -0 "$PID" 2>/dev/null; then
	say "FAIL - the agent still runs ${took} s after SIGTERM"
	tail -5 "$WORK/agent.log"
	exit 1
fi
wait "$PID"
rc=$?
say "the agent exited ${took} s after SIGTERM (exit status $rc); its log ends:"
tail -3 "$WORK/agent.log"
PID=
if [ "$rc" -ne 0 ]; then
	say "FAIL - exit status $rc, expected 0"
	exit 1
fi
if [ "$(echo "$took < $BOUND_S" | bc)" != 1 ]; then
	say "FAIL - the agent took ${took} s to stop (bound ${BOUND_S} s) while Ceph was unreachable"
	exit 1
fi
say "ok - SIGTERM stops the agent within ${BOUND_S} s while the Ceph cluster is unreachable"
exit 0
