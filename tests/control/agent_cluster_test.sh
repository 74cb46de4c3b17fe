#!/usr/bin/env bash
# Cluster mode of flocker-agent end to end: one flocker-control, two agents
# (nodes host-a and host-b on loopback, each with its own state directory,
# mount root and plugin socket), real mount.flockerfs mounts on real Ceph,
# driven through Docker's volume plugin protocol (curl on the unix sockets).
#
#   a volume mounted on host-a is refused on host-b, naming host-a and since when
#   unmounted on host-a, it mounts on host-b with the data
#   an agent killed with -9 while mounted: after the lease, host-b gets the volume,
#     and the old mount is fenced (its fsync fails with EIO)
#   kill -9 of control and a new control: the agent reconnects by itself and goes on
#   an agent restart keeps its mounts and reports them
#   docker volume rm moves the volume to the trash; flockerctl restores it
#
# Needs root, /dev/fuse, curl and jq; exit 77 when missing.  Environment from
# tests/control.cmake: CEPH_CONF, CEPH_ARGS, FLOCKER_BINARY_DIR, FLOCKER_CONTROL_BIN,
# FLOCKERCTL_BIN, FLOCKER_AGENT_BIN, FLOCKER_MOUNT_BIN.
set -u

skip() { echo "agent_cluster_test: SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (FUSE mounts)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
command -v curl >/dev/null || skip "no curl"
command -v jq >/dev/null || skip "no jq"
[ -n "${CEPH_CONF:-}" ] || skip "CEPH_CONF is not set"

B=${FLOCKER_BINARY_DIR:?}
CONTROL=${FLOCKER_CONTROL_BIN:-$B/flocker-control-svc}
CTL=${FLOCKERCTL_BIN:-$B/flockerctl-cluster}
AGENT=${FLOCKER_AGENT_BIN:-$B/flocker-agent-cluster}
MOUNT=${FLOCKER_MOUNT_BIN:-$B/fs/mount.flockerfs}
ID=$(echo "${CEPH_ARGS:-}" | sed -n 's/.*--id \([^ ]*\).*/\1/p')

T=$(mktemp -d /tmp/flocker-agentc-XXXXXX)
NS="ctltest.agentc$$"
VOL="agentc$$-vol"
PIDS=()
fail() {
	echo "agent_cluster_test: FAIL: $*" >&2
	for f in "$T"/*.log; do echo "--- $f" >&2; tail -30 "$f" >&2; done
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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API=$(free_port)
AGP=$(free_port)

"$CTL" ca init "$T/certs" >/dev/null || fail "ca init"
for n in host-a host-b; do "$CTL" ca node "$n" --dir "$T/certs" >/dev/null || fail "ca node"; done
"$CTL" ca user admin --dir "$T/certs" >/dev/null || fail "ca user"
ctl() { "$CTL" --control "127.0.0.1:$API" --certs "$T/certs" "$@"; }

start_control() {
	"$CONTROL" -c "$CEPH_CONF" --certs "$T/certs" --bind 127.0.0.1 --api-port "$API" \
		--agent-port "$AGP" --lease 5 --heartbeat 1 --state-ns "$NS" --debug \
		>>"$T/control.log" 2>&1 &
	CONTROL_PID=$!
	PIDS+=("$CONTROL_PID")
	for _ in $(seq 100); do ctl node list >/dev/null 2>&1 && return 0; sleep 0.2; done
	fail "control did not start"
}

start_agent() { # node
	local n=$1
	mkdir -p "$T/$n"
	"$AGENT" -c "$CEPH_CONF" ${ID:+--id "$ID"} --node "$n" --control "127.0.0.1:$AGP" \
		--certs "$T/certs" --state-dir "$T/$n/state" --plugin-socket "$T/$n/plugin.sock" \
		--mount-root "$T/$n/mnt" --mount-helper "$MOUNT" --debug >>"$T/agent-$n.log" 2>&1 &
	eval "AGENT_PID_${n//-/_}=$!"
	PIDS+=("$!")
	for _ in $(seq 100); do
		grep -q "connected to flocker-control" "$T/agent-$n.log" 2>/dev/null && [ -S "$T/$n/plugin.sock" ] && return 0
		sleep 0.2
	done
	fail "agent $n did not connect"
}

# dock NODE OP JSON: one Docker plugin request; prints the reply
dock() { curl -s --max-time 70 --unix-socket "$T/$1/plugin.sock" -X POST "http://plugin/VolumeDriver.$2" -d "$3"; }
err_of() { jq -r .Err; }

start_control
start_agent host-a
start_agent host-b

# create on a, mount on a, write
r=$(dock host-a Create "{\"Name\":\"$VOL\",\"Opts\":{\"size\":\"1G\"}}" | err_of)
[ -z "$r" ] || fail "create: $r"
r=$(dock host-a Mount "{\"Name\":\"$VOL\",\"ID\":\"c1\"}")
PA=$(echo "$r" | jq -r .Mountpoint)
[ -d "$PA" ] || fail "mount on host-a: $r"
echo "data from host-a" >"$PA/file.txt" || fail "write on host-a"
sync "$PA/file.txt"
echo "ok created and mounted on host-a at $PA"

# refused on b while a uses it, naming a and since when
r=$(dock host-b Mount "{\"Name\":\"$VOL\",\"ID\":\"c2\"}" | err_of)
case "$r" in *"in use on node host-a since"*) ;; *) fail "mount on host-b while used on host-a: '$r'" ;; esac
echo "ok refused on host-b: $r"

# unmount on a, then b gets it with the data
r=$(dock host-a Unmount "{\"Name\":\"$VOL\",\"ID\":\"c1\"}" | err_of)
[ -z "$r" ] || fail "unmount on host-a: $r"
r=$(dock host-b Mount "{\"Name\":\"$VOL\",\"ID\":\"c2\"}")
PB=$(echo "$r" | jq -r .Mountpoint)
[ "$(cat "$PB/file.txt" 2>/dev/null)" = "data from host-a" ] || fail "host-b does not see the data: $r"
echo "ok moved: host-b mounted it and reads host-a's data"
r=$(dock host-b Mount "{\"Name\":\"$VOL\",\"ID\":\"c2b\"}")
[ "$(echo "$r" | jq -r .Mountpoint)" = "$PB" ] || fail "a second mount ID on host-b: $r"
r=$(dock host-b Unmount "{\"Name\":\"$VOL\",\"ID\":\"c2b\"}" | err_of)
[ -z "$r" ] && mountpoint -q "$PB" || fail "unmounting one of two IDs: '$r'"
echo "ok a second container on host-b shares the mount; the mount stays until the last ID goes"
ctl lease list | grep -q "host-b" || fail "lease list does not show host-b"
r=$(dock host-b Unmount "{\"Name\":\"$VOL\",\"ID\":\"c2\"}" | err_of)
[ -z "$r" ] || fail "unmount on host-b: $r"

# an agent killed while its node mounts the volume: fenced after the lease
r=$(dock host-a Mount "{\"Name\":\"$VOL\",\"ID\":\"c3\"}")
PA=$(echo "$r" | jq -r .Mountpoint)
[ -d "$PA" ] || fail "mount on host-a again: $r"
sleep 2 # a heartbeat reports the mount and its RADOS address
{ kill -9 "$AGENT_PID_host_a" && wait "$AGENT_PID_host_a"; } 2>/dev/null
t0=$(date +%s.%N)
r=$(dock host-b Mount "{\"Name\":\"$VOL\",\"ID\":\"c4\"}" | err_of)
case "$r" in *"in use on node host-a"*) ;; *) fail "host-b should still be refused right after the kill: '$r'" ;; esac
while :; do
	r=$(dock host-b Mount "{\"Name\":\"$VOL\",\"ID\":\"c4\"}")
	[ -z "$(echo "$r" | err_of)" ] && break
	[ "$(echo "$(date +%s.%N) - $t0 > 40" | bc)" = 1 ] && fail "host-b never got the volume: $r"
	sleep 1
done
took=$(echo "$(date +%s.%N) - $t0" | bc)
PB=$(echo "$r" | jq -r .Mountpoint)
[ "$(cat "$PB/file.txt")" = "data from host-a" ] || fail "host-b lost the data"
grep -q "fenced node host-a" "$T/control.log" || fail "control did not fence host-a"
python3 - "$PA" <<'EOF' || fail "the fenced mount on host-a can still write"
import os, sys
# the create, the write or at the latest the fsync must fail with EIO
# (which one depends on whether the mount has noticed the fence yet)
try:
    fd = os.open(os.path.join(sys.argv[1], "late.txt"), os.O_WRONLY | os.O_CREAT)
    os.write(fd, b"late")
    os.fsync(fd)
except OSError as e:
    sys.exit(0 if e.errno == 5 else 1)
sys.exit(1)
EOF
[ ! -e "$PB/late.txt" ] || fail "the fenced writer's file reached host-b"
echo "ok host-a's agent killed: host-b got the volume ${took}s later; host-a's mount is fenced (fsync EIO)"
umount "$PA" 2>/dev/null || umount -l "$PA" 2>/dev/null

# control killed and replaced: the agent reconnects by itself
{ kill -9 "$CONTROL_PID" && wait "$CONTROL_PID"; } 2>/dev/null
start_control
for _ in $(seq 100); do
	[ "$(grep -c "connected to flocker-control" "$T/agent-host-b.log")" -ge 2 ] && break
	sleep 0.2
done
[ "$(grep -c "connected to flocker-control" "$T/agent-host-b.log")" -ge 2 ] || fail "host-b did not reconnect"
ctl lease list | grep -q "host-b" || fail "the lease of host-b was lost with control"
echo "ok control killed and restarted: host-b reconnected and keeps its lease"

# an agent restart keeps the mount and reports it
kill -TERM "$AGENT_PID_host_b"
wait "$AGENT_PID_host_b" 2>/dev/null
mountpoint -q "$PB" || fail "the mount did not outlive the agent"
start_agent host-b
sleep 2
ctl --json volume list | jq -e --arg p "$PB" '.state[] | select(.path == $p and .users == 1)' >/dev/null ||
	fail "the restarted agent does not report its mount"
r=$(dock host-b Unmount "{\"Name\":\"$VOL\",\"ID\":\"c4\"}" | err_of)
[ -z "$r" ] || fail "unmount after the agent restart: $r"
mountpoint -q "$PB" && fail "still mounted after the last unmount"
echo "ok an agent restart keeps its mounts, reports them, and unmounts them later"

# docker volume rm: to the trash, restorable
r=$(dock host-b Remove "{\"Name\":\"$VOL\"}" | err_of)
[ -z "$r" ] || fail "remove: $r"
ctl volume list --trash | grep -q "$VOL" || fail "not in the trash"
ctl volume restore "$VOL" >/dev/null || fail "restore"
r=$(dock host-b Get "{\"Name\":\"$VOL\"}" | err_of)
[ -z "$r" ] || fail "get after restore: $r"
echo "ok docker volume rm moves it to the trash; flockerctl volume restore brings it back"
echo "agent_cluster_test: all checks passed"
