#!/usr/bin/env bash
# The cluster agent's connection to flocker-control, end to end: one control,
# real flocker-agents in cluster mode, real mount.flockerfs mounts on real
# Ceph, Docker's plugin protocol through curl on the agents' unix sockets.
#
#   many back-to-back Mount/Unmount pairs (docker run ... true, again and
#     again): the heartbeats go on; no disconnect for 3 leases afterwards
#   control's volume list shows an idle volume as idle, not leased, and a
#     mounted one as mounted; lease list agrees
#   an agent whose certificate control refuses logs the TLS reason at once,
#     keeps retrying with backoff, and Docker's call fails at once with it
#   no log line says "(null)"
#
# Needs root, /dev/fuse, curl and jq; exit 77 when missing (lib.sh: the setup
# shared with agent_cluster_test.sh).
set -u

TEST=agent_conn_test TAG=agentconn
# shellcheck source=tests/control/lib.sh
. "$(dirname "$0")/lib.sh"
LEASE=5 # control's lease and the agent's read timeout: a missed heartbeat shows within it

API=$(free_port)
AGP=$(free_port)

"$CTL" ca init "$T/certs" >/dev/null || fail "ca init"
"$CTL" ca node host-a --dir "$T/certs" >/dev/null || fail "ca node"
"$CTL" ca user admin --dir "$T/certs" >/dev/null || fail "ca user"
# host-r: a node certificate of another CA, whose holder trusts ours
"$CTL" ca init "$T/rogue" >/dev/null || fail "ca init (rogue)"
"$CTL" ca node host-r --dir "$T/rogue" >/dev/null || fail "ca node (rogue)"
cp "$T/certs/ca.crt" "$T/rogue/ca.crt"

"$CONTROL" -c "$CEPH_CONF" --certs "$T/certs" --bind 127.0.0.1 --api-port "$API" \
	--agent-port "$AGP" --lease "$LEASE" --heartbeat 1 --state-ns "$NS" --debug \
	>>"$T/control.log" 2>&1 &
CONTROL_PID=$!
PIDS+=("$CONTROL_PID")
for _ in $(seq 100); do ctl node list >/dev/null 2>&1 && break; sleep 0.2; done
ctl node list >/dev/null 2>&1 || fail "control did not start"

start_agent() { # node certs-dir
	local n=$1
	mkdir -p "$T/$n"
	"$AGENT" -c "$CEPH_CONF" ${ID:+--id "$ID"} --node "$n" --control "127.0.0.1:$AGP" \
		--certs "$2" --state-dir "$T/$n/state" --plugin-socket "$T/$n/plugin.sock" \
		--mount-root "$T/$n/mnt" --mount-helper "$MOUNT" --debug >>"$T/agent-$n.log" 2>&1 &
	PIDS+=("$!")
}

start_agent host-a "$T/certs"
for _ in $(seq 100); do
	grep -q "connected to flocker-control" "$T/agent-host-a.log" 2>/dev/null && [ -S "$T/host-a/plugin.sock" ] && break
	sleep 0.2
done
grep -q "connected to flocker-control" "$T/agent-host-a.log" || fail "agent host-a did not connect"

r=$(dock host-a Create "{\"Name\":\"$VOL\"}" | err_of)
[ -z "$r" ] || fail "create: $r"

# --- back-to-back runs: the heartbeats go on ---
# (each Mount and each Unmount sends a heartbeat at once; those extra heartbeats
# must not push the periodic one back)
PAIRS=8
for i in $(seq $PAIRS); do
	r=$(dock host-a Mount "{\"Name\":\"$VOL\",\"ID\":\"run$i\"}")
	[ -d "$(echo "$r" | jq -r .Mountpoint)" ] || fail "mount $i: $r"
	r=$(dock host-a Unmount "{\"Name\":\"$VOL\",\"ID\":\"run$i\"}" | err_of)
	[ -z "$r" ] || fail "unmount $i: $r"
done
echo "ok $PAIRS back-to-back Mount/Unmount pairs; watching the connection for 15 s"
sleep 15
if grep -E "lost the connection|no answer from flocker-control" "$T/agent-host-a.log" ||
	grep -E "no heartbeat within the lease" "$T/control.log"; then
	fail "the agent's connection dropped after back-to-back runs"
fi
[ "$(grep -c "connected to flocker-control" "$T/agent-host-a.log")" = 1 ] ||
	fail "the agent reconnected after back-to-back runs"
echo "ok no missed heartbeat and no reconnect for 15 s (3 leases) after the last Unmount"

# --- control's volume list: idle is idle ---
out=$(ctl lease list)
[ "$out" = "no leases" ] || fail "lease list after the last unmount: $out"
line=$(ctl volume list | grep "^$VOL ")
[ -n "$line" ] || fail "volume list does not show $VOL: $(ctl volume list)"
case "$line" in *leased* | *mounted*) fail "volume list shows an idle volume as in use: $line" ;; esac
case "$line" in *idle*) ;; *) fail "volume list does not say idle: $line" ;; esac
echo "ok idle volume: volume list says '$(echo "$line" | awk '{print $NF}')', lease list says no leases"
r=$(dock host-a Mount "{\"Name\":\"$VOL\",\"ID\":\"held\"}")
PA=$(echo "$r" | jq -r .Mountpoint)
[ -d "$PA" ] || fail "mount: $r"
sleep 2 # a heartbeat reports the mount
line=$(ctl volume list | grep "^$VOL ")
case "$line" in *"mounted at $PA"*host-a* | *host-a*"mounted at $PA"*) ;; *) fail "volume list of a mounted volume: $line" ;; esac
ctl lease list | grep -q "^$VOL .*host-a" || fail "lease list of a mounted volume: $(ctl lease list)"
r=$(dock host-a Unmount "{\"Name\":\"$VOL\",\"ID\":\"held\"}" | err_of)
[ -z "$r" ] || fail "unmount: $r"
echo "ok mounted volume: volume list and lease list name host-a"

# --- a refused agent says why, at once, and keeps trying ---
start_agent host-r "$T/rogue"
for _ in $(seq 50); do
	grep -q "refused" "$T/agent-host-r.log" 2>/dev/null && [ -S "$T/host-r/plugin.sock" ] && break
	sleep 0.1
done
line=$(grep -m1 "refused" "$T/agent-host-r.log")
case "$line" in *"flocker-control"*"127.0.0.1:$AGP"*"unknown"*) ;; *) fail "the refused agent does not log why within 5 s: '$line'" ;; esac
echo "ok refused agent logs: $line"
t0=$(date +%s.%N)
r=$(dock host-r Get "{\"Name\":\"$VOL\"}" | err_of)
took=$(echo "$(date +%s.%N) - $t0" | bc)
case "$r" in *refused*) ;; *) fail "Docker's call on the refused agent: '$r'" ;; esac
# bound: the call waits for at most one connection attempt (backoff up to 5 s), not
# for the 15 s it gives an unreachable control
[ "$(echo "$took < 8" | bc)" = 1 ] || fail "Docker's call on the refused agent took ${took}s"
echo "ok Docker's call on the refused agent fails in ${took}s: $r"
sleep 3
n=$(grep -c "connecting to flocker-control" "$T/agent-host-r.log")
[ "$n" -ge 3 ] || fail "the refused agent does not keep retrying ($n attempts)"
echo "ok the refused agent keeps retrying ($n attempts so far)"

# control dies: the agent says what happened and what it gets now, in words
{ kill -9 "$CONTROL_PID" && wait "$CONTROL_PID"; } 2>/dev/null
sleep 2
grep -q "lost the connection to flocker-control at 127.0.0.1:$AGP: " "$T/agent-host-a.log" ||
	fail "the agent does not log the lost connection"
line=$(grep "cannot connect to flocker-control" "$T/agent-host-a.log" | tail -1)
case "$line" in *"127.0.0.1:$AGP: Connection refused"*) ;; *) fail "the agent's reconnect failure: '$line'" ;; esac
echo "ok control killed: the agent logs '$line'"

if grep -nE "\(null\)|error:0000|lib\(0\)" "$T"/*.log; then fail "a log line says (null) or an undecoded error"; fi
echo "agent_conn_test: all checks passed"
