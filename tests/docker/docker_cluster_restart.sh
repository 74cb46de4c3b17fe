#!/usr/bin/env bash
# docker_cluster_restart.sh - cluster mode: an agent restart under a running
# container loses nothing.
#
# One flocker-control (--lease 5 --heartbeat 1) and two hosts with their own
# dockerd and a cluster-mode flocker-agent.  A container on a appends and
# fsyncs a line every 0.2 s.  a's agent is stopped (SIGTERM); for 9 s, well
# past control's lease, docker run on b is refused (a's mount daemon answers
# control's probe and renews its writer lock) and the container on a goes on
# writing without an error.  a's agent comes back and adopts the mount with
# its container; once the container stops, b runs with every line a wrote.
# Exit 0 pass, 1 fail, 77 skip (only when dockerd cannot start here).
. "$(dirname "$0")/lib.sh"

need_env
V=dkr-$$
new_volume "$V"

control_start "dkr.$$"
trap 'rc=$?; control_stop; (exit $rc); cleanup' EXIT

hosts_ab_start "${CLUSTER[@]}"

check "host a creates the volume through control" dk a volume create -d flocker -o size=1G "$V"
writer_start a "$V" 0.2 sync

# ---- a's agent stops; the container and its mount go on
agent_stop a
t0=$(date +%s)
refused=0 granted=0
while [ $(($(date +%s) - t0)) -lt 9 ]; do
	if out=$(dk b run --rm --network none -v "$V:/data" "$IMAGE" true 2>&1); then
		granted=$((granted + 1))
		say "b got the volume $(($(date +%s) - t0)) s after a's agent stopped"
		break
	fi
	grep -q "in use on node a" <<<"$out" && refused=$((refused + 1))
	sleep 1
done
check "docker run on b is refused for 9 s while a's agent is down ($refused refusals): ${out:0:300}" \
	[ "$granted" = 0 -a "$refused" -gt 0 ]
check "the container on a kept writing without an error" \
	[ "$(dk a inspect -f '{{.State.Running}}' writer)" = true ]

# ---- a's agent comes back and adopts the mount with its container
agent_start a "${CLUSTER[@]}"
check "a's restarted agent adopts the mount with its container" \
	grep -q "adopted the mount at .* with 1 user(s)" "$(hdir a)/agent.log"
sleep 2
check "the container on a still writes" [ "$(dk a inspect -f '{{.State.Running}}' writer)" = true ]
out=$(dk b run --rm --network none -v "$V:/data" "$IMAGE" true 2>&1)
check "b is still refused while the container on a runs: ${out:0:200}" grep -q "in use on node a" <<<"$out"

# ---- the container stops; b gets the volume with every line
dk a exec writer touch /data/stop
dk a wait writer >/dev/null
logs=$(dk a logs writer 2>&1)
n=$(sed -n 's/^WROTE //p' <<<"$logs")
check "the writer on a ended cleanly after $n lines: $(tail -1 <<<"$logs")" [ -n "$n" ]
dk a rm writer >/dev/null
out=$(dk b run --rm --network none -v "$V:/data" "$IMAGE" wc -l /data/log 2>&1)
check "b mounts the volume and reads all $n lines: $out" [ "$(awk '{print $1}' <<<"$out")" = "$n" ]
check "b removes the volume" dk b volume rm "$V"
finish
