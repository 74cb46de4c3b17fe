#!/usr/bin/env bash
# daemon_log_test.sh - on a host without a syslog socket, --daemon loses no
# log line: flocker-agent and flocker-control keep the stderr they were
# started with, the mount.flockerfs daemon without log= writes
# /var/log/flockerfs/NAME.log (each says so before detaching), and every line
# there has a timestamp, the program, its pid and the node, instance or
# volume it concerns.
#
# Runs in a private mount namespace where /dev/log, if the machine has one, is
# covered by /dev/null (not a socket: nothing listens). Needs the ctest
# fixture "ceph" (CEPH_CONF, CEPH_ARGS) and root (namespaces, FUSE).
set -euo pipefail

# shellcheck source=tests/package/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (mount namespace, FUSE mounts)"
if [ -z "${FLOCKER_DAEMONLOG_NS-}" ]; then
	exec unshare -m --propagation private env FLOCKER_DAEMONLOG_NS=1 "$0" "$@"
fi
if [ -e /dev/log ] || [ -L /dev/log ]; then
	mount --bind /dev/null /dev/log || fail "cannot cover /dev/log in the test's mount namespace"
fi

BIN=${FLOCKER_BINARY_DIR:?set by ctest}
: "${CEPH_CONF:?set by the ceph fixture}"
TAG=c$$
WORK=$(mktemp -d /tmp/flocker-daemonlog-$TAG.XXXXXX)
VOL=daemonlog-$TAG
AGENT_PID= CONTROL_PID=
TS='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{2}:[0-9]{2}'

cleanup() {
	set +e
	# by the pid of its log line, else by its own arguments (a line that was lost)
	[ -n "$AGENT_PID" ] || AGENT_PID=$(pgrep -f -- "--state-dir $WORK/agent" | head -1 || true)
	[ -n "$CONTROL_PID" ] || CONTROL_PID=$(pgrep -f -- "--state-ns daemonlog-$TAG" | head -1 || true)
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null
	[ -n "$CONTROL_PID" ] && kill "$CONTROL_PID" 2>/dev/null
	if mountpoint -q "$WORK/mnt"; then
		"$BIN/fs/umount.fuse.flockerfs" "$WORK/mnt" || umount -l "$WORK/mnt"
	fi
	"$BIN/cluster/flockerctl" volume remove "$VOL" >/dev/null 2>&1 || true
	rm -f "/var/log/flockerfs/$VOL.log"
	rmdir /var/log/flockerfs 2>/dev/null || true
	rm -rf "$WORK"
	return 0
}
trap cleanup EXIT

# waits until pid $1 is gone (at most 30 s)
wait_gone() {
	local i
	for ((i = 0; i < 300; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	fail "process $1 still runs 30 s after SIGTERM"
}

# the pid in the first line of file $1 matching $2 (extended regex), "" if none
pid_of_line() {
	grep -E "$2" "$1" | head -1 | sed -E 's/^[^ ]+ [^[]+\[([0-9]+)\].*/\1/'
}

# detached VAR NAME ERR READY STOPPED: the daemon NAME, started with --daemon and
# its stderr in ERR, says it keeps stderr and logs READY (an extended regex after
# "TIME NAME[PID]: "); its pid (in VAR meanwhile) is sent SIGTERM, and it logs
# STOPPED as its last word
detached() {
	local var=$1 name=$2 err=$3 ready=$4 stopped=$5 pid
	grep -q "no syslog socket at /dev/log" "$err" ||
		{ cat "$err"; fail "$name did not say that it keeps stderr"; }
	pid=$(pid_of_line "$err" "^$TS $name\[[0-9]+\]: $ready")
	[ -n "$pid" ] || { cat "$err"; fail "no timestamped, tagged '$ready' line from the detached $name"; }
	printf -v "$var" %s "$pid"
	kill -TERM "$pid"
	wait_gone "$pid"
	printf -v "$var" %s ""
	grep -Eq "^$TS $name\[[0-9]+\]: $stopped$" "$err" ||
		{ cat "$err"; fail "the detached $name's 'stopped' line is lost"; }
	echo "$PROG: $name --daemon: its lines after detaching are on stderr, timestamped"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# --- flocker-agent
"$BIN/plugin/flocker-agent" -c "$CEPH_CONF" --id flocker --node "node-$TAG" \
	--state-dir "$WORK/agent" --plugin-socket "$WORK/plugin.sock" --mount-root "$WORK/mounts" \
	--mount-helper "$BIN/fs/mount.flockerfs" --daemon </dev/null >/dev/null 2>"$WORK/agent.err" ||
	{ cat "$WORK/agent.err"; fail "flocker-agent --daemon did not start"; }
detached AGENT_PID flocker-agent "$WORK/agent.err" "node node-$TAG: standalone agent .*ready" \
	"node node-$TAG: stopped"

# --- flocker-control
"$BIN/cluster/flockerctl" ca init "$WORK/certs" >/dev/null || fail "flockerctl ca init"
"$BIN/cluster/flocker-control" -c "$CEPH_CONF" --id flocker --certs "$WORK/certs" \
	--bind 127.0.0.1 --api-port "$(free_port)" --agent-port "$(free_port)" \
	--state-ns "daemonlog-$TAG" --instance "ctl-$TAG" --daemon </dev/null >/dev/null 2>"$WORK/control.err" ||
	{ cat "$WORK/control.err"; fail "flocker-control --daemon did not start"; }
detached CONTROL_PID flocker-control "$WORK/control.err" "instance ctl-$TAG: leader: " \
	"instance ctl-$TAG: stopped"

# --- the mount daemon, without log=: its log goes to /var/log/flockerfs/NAME.log,
# and the mount returns even when its stderr is a pipe read to the end
"$BIN/cluster/flockerctl" volume create "$VOL" >/dev/null || fail "cannot create volume $VOL"
mkdir -p "$WORK/mnt"
FALLBACK=/var/log/flockerfs/$VOL.log
out=$(timeout 60 "$BIN/fs/mount.flockerfs" "$VOL" "$WORK/mnt" -o id=flocker,conf="$CEPH_CONF" </dev/null 2>&1) ||
	fail "mount.flockerfs $VOL failed or did not return (status $?): $out"
echo "$out" | grep -q "no syslog socket at /dev/log: the daemon logs to $FALLBACK" ||
	fail "mount.flockerfs did not name its log file: $out"
echo data >"$WORK/mnt/f"
"$BIN/fs/umount.fuse.flockerfs" "$WORK/mnt" || fail "umount of $VOL failed"
grep -Eq "^$TS mount.flockerfs\[[0-9]+\]: volume $VOL: volume $VOL unmounted, everything is in RADOS$" "$FALLBACK" ||
	{ cat "$FALLBACK"; fail "the mount daemon's last line (after detaching) is not in $FALLBACK"; }
echo "$PROG: mount.flockerfs without log=: the daemon's lines after detaching are in $FALLBACK, timestamped"
echo "$PROG: PASS"
