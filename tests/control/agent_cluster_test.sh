#!/usr/bin/env bash
# Cluster mode of flocker-agent end to end: one flocker-control, two agents
# (nodes host-a and host-b on loopback, each with its own state directory,
# mount root and plugin socket), real mount.flockerfs mounts on real Ceph,
# driven through Docker's volume plugin protocol (curl on the unix sockets).
#
#   a volume mounted on host-a is refused on host-b, naming host-a and since when
#   unmounted on host-a, it mounts on host-b with the data
#   an agent restart (SIGTERM) while a "container" writes: host-b is refused well past
#     control's lease (the mount daemon answers control's probe and renews its lock);
#     the restarted agent adopts the mount with its user; the writer never fails
#   host-a freezes (agent kill -9, mount daemon SIGSTOP): control's probe goes
#     unanswered, host-a is fenced, host-b gets the volume (the time is printed as a
#     DRILL line); the woken daemon's writes fail with EIO; host-a's restarted agent
#     does not adopt the fenced mount but detaches it
#   kill -9 of control and a new control: the agent reconnects by itself and goes on
#   an agent restart keeps its mounts and reports them
#   docker volume rm moves the volume to the trash; flockerctl restores it
#   a standby control takes over from a killed leader (DRILL line: the time until it
#     serves and until an agent reconnected)
#   a host dies (agent and mount daemon kill -9 under a writer): host-b takes over
#     (DRILL line)
#
# Needs root, /dev/fuse, curl and jq; exit 77 when missing (lib.sh: the setup
# shared with agent_conn_test.sh).
set -u

TEST=agent_cluster_test TAG=agentc FAIL_TAIL=30
# shellcheck source=tests/control/lib.sh
. "$(dirname "$0")/lib.sh"

API=$(free_port)
AGP=$(free_port)
API2=$(free_port)
AGP2=$(free_port)

"$CTL" ca init "$T/certs" >/dev/null || fail "ca init"
for n in host-a host-b; do "$CTL" ca node "$n" --dir "$T/certs" >/dev/null || fail "ca node"; done
"$CTL" ca user admin --dir "$T/certs" >/dev/null || fail "ca user"

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
	local n=$1 c0
	mkdir -p "$T/$n"
	c0=$(grep -c "connected to flocker-control" "$T/agent-$n.log" 2>/dev/null)
	"$AGENT" -c "$CEPH_CONF" ${ID:+--id "$ID"} --node "$n" --control "127.0.0.1:$AGP,127.0.0.1:$AGP2" \
		--certs "$T/certs" --state-dir "$T/$n/state" --plugin-socket "$T/$n/plugin.sock" \
		--mount-root "$T/$n/mnt" --mount-helper "$MOUNT" --debug >>"$T/agent-$n.log" 2>&1 &
	eval "AGENT_PID_${n//-/_}=$!"
	PIDS+=("$!")
	for _ in $(seq 100); do
		[ "$(grep -c "connected to flocker-control" "$T/agent-$n.log" 2>/dev/null)" -gt "${c0:-0}" ] &&
			[ -S "$T/$n/plugin.sock" ] && return 0
		sleep 0.2
	done
	fail "agent $n did not connect"
}

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

# the mount daemon of a mount point (from its pid file, keyed by the mount's device)
daemon_of() {
	local dev
	dev=$(awk -v m="$1" '$5 == m {print $3}' /proc/self/mountinfo | tail -1)
	[ -n "$dev" ] && head -1 "/run/flockerfs/${dev/:/.}.pid" 2>/dev/null
}
# a "container" on host-a: appends and fsyncs a line every 0.2 s until $T/stop-NAME
# exists; the first error goes to $T/writer-NAME.out and ends it
start_writer() { # name dir
	rm -f "$T/stop-$1"
	python3 - "$2" "$T/stop-$1" "$T/writer-$1.out" <<'PY' &
import os, sys, time
d, stop, out = sys.argv[1:4]
n = 0
try:
    while not os.path.exists(stop):
        fd = os.open(os.path.join(d, "writer.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.write(fd, b"line %d\n" % n)
        os.fsync(fd)
        os.close(fd)
        n += 1
        time.sleep(0.2)
    open(out, "w").write("ok %d\n" % n)
except OSError as e:
    open(out, "w").write("error %d after %d lines: %s\n" % (e.errno, n, e))
    sys.exit(1)
PY
	WRITER_PID=$!
	PIDS+=("$WRITER_PID")
}
stop_writer() { # name: the writer's verdict in $WROTE
	touch "$T/stop-$1"
	wait "$WRITER_PID" 2>/dev/null
	WROTE=$(cat "$T/writer-$1.out" 2>/dev/null)
}

# 1. an agent restart while a container writes: the mount daemon still renews the
# writer lock, so no other node gets the volume; the restarted agent adopts the mount
r=$(dock host-a Mount "{\"Name\":\"$VOL\",\"ID\":\"c3\"}")
PA=$(echo "$r" | jq -r .Mountpoint)
[ -d "$PA" ] || fail "mount on host-a again: $r"
start_writer a1 "$PA"
sleep 2 # a heartbeat reports the mount and its RADOS address
kill -TERM "$AGENT_PID_host_a"
wait "$AGENT_PID_host_a" 2>/dev/null
t0=$(date +%s.%N)
# well past control's lease (5 s): host-a's agent is gone, its mount daemon is not
n=0
while [ "$(echo "$(date +%s.%N) - $t0 < 9" | bc)" = 1 ]; do
	r=$(dock host-b Mount "{\"Name\":\"$VOL\",\"ID\":\"c4\"}" | err_of)
	case "$r" in
	*"in use on node host-a"*) n=$((n + 1)) ;;
	"") fail "host-b got the volume $(echo "$(date +%s.%N) - $t0" | bc)s after host-a's agent stopped, while host-a's mount daemon renews its lock" ;;
	*) fail "host-b's mount while host-a's agent is down: '$r'" ;;
	esac
	sleep 1
done
kill -0 "$WRITER_PID" 2>/dev/null || fail "the writer on host-a stopped while its agent was down: $(cat "$T/writer-a1.out")"
echo "ok host-a's agent down 9 s: host-b refused $n times ($r); the writer on host-a goes on"
start_agent host-a
grep -q "adopted the mount at $PA with 1 user(s)" "$T/agent-host-a.log" || fail "the restarted agent did not adopt its mount with its user"
sleep 2
r=$(dock host-b Mount "{\"Name\":\"$VOL\",\"ID\":\"c4\"}" | err_of)
case "$r" in *"in use on node host-a"*) ;; *) fail "host-b's mount after host-a's agent came back: '$r'" ;; esac
stop_writer a1
r=$WROTE
case "$r" in "ok "*) ;; *) fail "the writer on host-a: $r" ;; esac
echo "ok host-a's agent restarted: it adopted the mount with 1 user; the writer never failed ($r)"

# 2. host-a freezes (its agent killed, its mount daemon stopped): control probes the
# daemon, which does not answer, fences host-a, and host-b gets the volume
start_writer a2 "$PA"
sleep 1
MPID=$(daemon_of "$PA")
[ -n "$MPID" ] || fail "no mount daemon for $PA"
kill -9 "$AGENT_PID_host_a"
kill -STOP "$MPID"
wait "$AGENT_PID_host_a" 2>/dev/null
take_over host-b "$VOL" c4
took=$TOOK
PB=$(echo "$TAKE_REPLY" | jq -r .Mountpoint)
[ "$(cat "$PB/file.txt")" = "data from host-a" ] || fail "host-b lost the data"
grep -q "fenced node host-a" "$T/control.log" || fail "control did not fence host-a"
echo "DRILL takeover of a frozen host (agent kill -9, mount daemon SIGSTOP; control --lease 5 --heartbeat 1): ${took}s"
kill -CONT "$MPID"
python3 - "$PA" <<'EOF2' || fail "the fenced mount on host-a can still write"
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
EOF2
[ ! -e "$PB/late.txt" ] || fail "the fenced writer's file reached host-b"
stop_writer a2
r=$WROTE
case "$r" in "error 5 "*) ;; *) fail "the writer on the fenced host-a: $r" ;; esac
echo "ok host-a fenced: its late writes fail with EIO ($r)"

# 3. host-a's agent comes back: the fenced mount is not adopted but detached
start_agent host-a
grep -q "not adopting the mount at $PA: .*fenced" "$T/agent-host-a.log" || fail "the restarted agent did not drop its fenced mount: $(grep "$PA" "$T/agent-host-a.log" | tail -2)"
for _ in $(seq 50); do mountpoint -q "$PA" || break; sleep 0.1; done
mountpoint -q "$PA" && fail "the fenced mount is still attached at $PA"
r=$(dock host-a Mount "{\"Name\":\"$VOL\",\"ID\":\"c5\"}" | err_of)
case "$r" in *"in use on node host-b"*) ;; *) fail "host-a's new container while host-b uses the volume: '$r'" ;; esac
echo "ok host-a's agent restarted after the fence: $(grep -o "not adopting the mount.*fenced" "$T/agent-host-a.log" | tail -1 | cut -c1-160)"
kill -9 "$MPID" 2>/dev/null

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

# a standby control (another instance, default leader lease) takes over from a
# killed leader; the agents, given both addresses, find it by themselves
"$CONTROL" -c "$CEPH_CONF" --certs "$T/certs" --bind 127.0.0.1 --api-port "$API2" \
	--agent-port "$AGP2" --lease 5 --heartbeat 1 --state-ns "$NS" --instance standby --debug \
	>>"$T/control-standby.log" 2>&1 &
STANDBY_PID=$!
PIDS+=("$STANDBY_PID")
for _ in $(seq 100); do grep -q "standing by\|standby" "$T/control-standby.log" && break; sleep 0.1; done
sleep 1
nb=$(grep -c "connected to flocker-control" "$T/agent-host-b.log")
{ kill -9 "$CONTROL_PID" && wait "$CONTROL_PID"; } 2>/dev/null
t0=$(date +%s.%N)
lead=
while [ "$(echo "$(date +%s.%N) - $t0 < 30" | bc)" = 1 ]; do
	if [ -z "$lead" ] && "$CTL" --control "127.0.0.1:$API2" --certs "$T/certs" node list >/dev/null 2>&1; then
		lead=$(echo "$(date +%s.%N) - $t0" | bc)
	fi
	[ -n "$lead" ] && [ "$(grep -c "connected to flocker-control" "$T/agent-host-b.log")" -gt "$nb" ] && break
	sleep 0.1
done
back=$(echo "$(date +%s.%N) - $t0" | bc)
[ -n "$lead" ] || fail "the standby did not take over"
[ "$(grep -c "connected to flocker-control" "$T/agent-host-b.log")" -gt "$nb" ] || fail "host-b did not reconnect to the standby"
API=$API2
CONTROL_PID=$STANDBY_PID
ctl lease list | grep -q "host-b" || fail "the lease of host-b was lost in the failover"
echo "DRILL control failover (leader kill -9; default --leader-lease): standby serves after ${lead}s, host-b's agent reconnected after ${back}s"

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
# a host dies: host-a's agent and mount daemon killed with -9 while a writer runs;
# the daemon cannot answer control's probe, so host-a is fenced and host-b takes over
VOL2="agentc$$-dead"
r=$(dock host-a Create "{\"Name\":\"$VOL2\"}" | err_of)
[ -z "$r" ] || fail "create $VOL2: $r"
r=$(dock host-a Mount "{\"Name\":\"$VOL2\",\"ID\":\"d1\"}")
PA=$(echo "$r" | jq -r .Mountpoint)
[ -d "$PA" ] || fail "mount $VOL2 on host-a: $r"
echo "before the crash" >"$PA/f" && sync "$PA/f" || fail "write $VOL2 on host-a"
start_writer a3 "$PA"
sleep 1.5 # a heartbeat reports the mount and its RADOS address
MPID=$(daemon_of "$PA")
[ -n "$MPID" ] || fail "no mount daemon for $PA"
kill -9 "$AGENT_PID_host_a" "$MPID"
take_over host-b "$VOL2" d2
took=$TOOK
PB2=$(echo "$TAKE_REPLY" | jq -r .Mountpoint)
[ "$(cat "$PB2/f")" = "before the crash" ] || fail "host-b lost host-a's synced data of $VOL2"
echo "DRILL takeover of a dead host (agent and mount daemon kill -9; control --lease 5 --heartbeat 1): ${took}s"
touch "$T/stop-a3"
umount -l "$PA" 2>/dev/null
r=$(dock host-b Unmount "{\"Name\":\"$VOL2\",\"ID\":\"d2\"}" | err_of)
[ -z "$r" ] || fail "unmount $VOL2 on host-b: $r"
dock host-b Remove "{\"Name\":\"$VOL2\"}" >/dev/null
echo "agent_cluster_test: all checks passed"
