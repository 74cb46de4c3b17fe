#!/usr/bin/env bash
# The agent watches the health of its mounts (cluster mode: one flocker-control,
# one agent, a real mount.flockerfs on real Ceph, Docker's plugin protocol by curl):
#
#   kill -9 of the mount daemon under a "container": the mount point answers ENOTCONN;
#     within the agent's check interval (5 s) the agent logs the mount dead, and its
#     heartbeat tells control (control's log and GET /v1/state/datasets "dead")
#   Get (and Path) show the mount dead in Status.mount
#   a new Mount of the volume mounts it afresh: the data synced before the kill is there
#   its last Unmount leaves nothing mounted
#
# Needs root, /dev/fuse, curl and jq; exit 77 when missing.  Environment from
# tests/control.cmake: CEPH_CONF, CEPH_ARGS, FLOCKER_BINARY_DIR, FLOCKER_CONTROL_BIN,
# FLOCKERCTL_BIN, FLOCKER_AGENT_BIN, FLOCKER_MOUNT_BIN.
set -u

TEST=agent_mount_health_test
TAG=mhealth
# shellcheck source=tests/control/lib.sh
. "$(dirname "$0")/lib.sh"

API=$(free_port)
AGP=$(free_port)

"$CTL" ca init "$T/certs" >/dev/null || fail "ca init"
"$CTL" ca node host-a --dir "$T/certs" >/dev/null || fail "ca node"
"$CTL" ca user admin --dir "$T/certs" >/dev/null || fail "ca user"
api() { # PATH: GET on control's API with the admin user's certificate
	curl -s --max-time 10 --cacert "$T/certs/ca.crt" --cert "$T/certs/user-admin.crt" \
		--key "$T/certs/user-admin.key" "https://127.0.0.1:$API$1"
}

"$CONTROL" -c "$CEPH_CONF" --certs "$T/certs" --bind 127.0.0.1 --api-port "$API" \
	--agent-port "$AGP" --lease 5 --heartbeat 1 --state-ns "$NS" --debug >>"$T/control.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do ctl node list >/dev/null 2>&1 && break; sleep 0.2; done
ctl node list >/dev/null 2>&1 || fail "control did not start"

mkdir -p "$T/host-a"
"$AGENT" -c "$CEPH_CONF" ${ID:+--id "$ID"} --node host-a --control "127.0.0.1:$AGP" \
	--certs "$T/certs" --state-dir "$T/host-a/state" --plugin-socket "$T/host-a/plugin.sock" \
	--mount-root "$T/host-a/mnt" --mount-helper "$MOUNT" --debug >>"$T/agent.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do
	grep -q "connected to flocker-control" "$T/agent.log" 2>/dev/null && [ -S "$T/host-a/plugin.sock" ] && break
	sleep 0.2
done
[ -S "$T/host-a/plugin.sock" ] || fail "the agent did not start"

# dock OP JSON: a Docker plugin request to host-a
docka() { dock host-a "$@"; }
daemon_of() {
	local dev
	dev=$(awk -v m="$1" '$5 == m {print $3}' /proc/self/mountinfo | tail -1)
	[ -n "$dev" ] && head -1 "/run/flockerfs/${dev/:/.}.pid" 2>/dev/null
}

r=$(docka Create "{\"Name\":\"$VOL\",\"Opts\":{\"size\":\"1G\"}}" | err_of)
[ -z "$r" ] || fail "create: $r"
r=$(docka Mount "{\"Name\":\"$VOL\",\"ID\":\"c1\"}")
P=$(echo "$r" | jq -r .Mountpoint)
[ -d "$P" ] || fail "mount: $r"
echo "kept" >"$P/kept.txt" && sync "$P/kept.txt" || fail "write"
[ "$(docka Get "{\"Name\":\"$VOL\"}" | jq -r .Volume.Status.mount)" = serving ] || fail "Get of a healthy mount"
echo "ok mounted at $P, Get says the mount serves"

# the mount daemon dies under its container
pid=$(daemon_of "$P")
[ -n "$pid" ] || fail "no mount daemon for $P"
t0=$(date +%s.%N)
kill -9 "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
stat "$P" >/dev/null 2>"$T/stat.err" && fail "the dead mount still answers stat"
grep -q "not connected" "$T/stat.err" || fail "stat of the dead mount: $(cat "$T/stat.err")"
echo "ok kill -9 of the mount daemon (pid $pid): $P answers: $(cat "$T/stat.err")"

# found by the agent's own check, then reported to control by a heartbeat
found=
for _ in $(seq 150); do
	grep -q "the mount at $P is dead" "$T/agent.log" && { found=$(echo "$(date +%s.%N) - $t0" | bc); break; }
	sleep 0.1
done
[ -n "$found" ] || fail "the agent did not find its mount dead within 15 s"
grep "the mount at $P is dead" "$T/agent.log" | grep -q "1 container(s)" || fail "the agent's log does not count the container"
echo "ok the agent's check found the mount dead after ${found}s: $(grep -o "the mount at $P is dead.*" "$T/agent.log" | head -1)"
for _ in $(seq 50); do grep -q "its mount of volume $VOL at $P is dead" "$T/control.log" && break; sleep 0.1; done
grep -q "its mount of volume $VOL at $P is dead" "$T/control.log" || fail "control was not told"
d=$(api /v1/state/datasets | jq -r ".[] | select(.path == \"$P\") | .dead")
case "$d" in *"daemon is gone"*) ;; *) fail "control's /v1/state/datasets says dead='$d'" ;; esac
echo "ok control knows: its log and /v1/state/datasets (dead: $d)"

# Get and Path look too
s=$(docka Get "{\"Name\":\"$VOL\"}" | jq -r .Volume.Status.mount)
case "$s" in *"daemon is gone"*) ;; *) fail "Get of the dead mount says mount='$s'" ;; esac
echo "ok Get shows it: $s"

# the next container mounts the volume afresh
r=$(docka Mount "{\"Name\":\"$VOL\",\"ID\":\"c2\"}")
P2=$(echo "$r" | jq -r .Mountpoint)
[ "$(cat "$P2/kept.txt" 2>/dev/null)" = kept ] || fail "mount after the death: $r"
[ "$(docka Get "{\"Name\":\"$VOL\"}" | jq -r .Volume.Status.mount)" = serving ] || fail "Get after the new mount"
echo "ok a new Mount mounted it afresh at $P2 with the data; Get says it serves"
r=$(docka Unmount "{\"Name\":\"$VOL\",\"ID\":\"c2\"}" | err_of)
[ -z "$r" ] || fail "unmount: $r"
mountpoint -q "$P2" && fail "still mounted after the last unmount"
r=$(docka Unmount "{\"Name\":\"$VOL\",\"ID\":\"c1\"}" | err_of)
[ -z "$r" ] || fail "unmount of the stale ID: $r"
echo "ok the last Unmount unmounted it; the stale ID's Unmount is harmless"
echo "agent_mount_health_test: all checks passed"
