#!/usr/bin/env bash
# docker_one_host.sh - the flocker volume plugin under a real dockerd.
#
# One host (its own namespaces, flocker-agent and dockerd): docker volume
# create with a size and with an unknown option, a write in one container
# and a read in another, volume inspect and ls, two containers sharing a
# mount (counted by mount ID), an agent restart under a running container,
# and docker volume rm: refused while a container uses the volume (by Docker,
# and by the plugin with a clear Err), then the volume goes to the standalone
# trash, flockerctl restores it with its data, and purges it for good.
# Exit 0 pass, 1 fail, 77 skip (only when dockerd cannot start here).
. "$(dirname "$0")/lib.sh"

need_env
V=dk1-$$
V2=dk1b-$$
new_volume "$V"
new_volume "$V2"

host_start h1
agent_start h1
dockerd_start h1 || skip "dockerd cannot start on this machine (log above)"
image_load h1 || die "cannot import the test image"
run() { dk h1 run --rm --network none "$@"; }

# ---- create
out=$(dk h1 volume create -d flocker -o size=1G "$V" 2>&1)
check "docker volume create -d flocker -o size=1G" [ "$out" = "$V" ]
out=$(dk h1 volume create -d flocker -o size=1G -o colour=blue "$V2" 2>&1)
check "an unknown option is refused, and named: $out" grep -q "unknown option 'colour'" <<<"$out"
check "the refused volume does not exist" not ctl volume inspect "$V2"

# ---- write in one container, read in another
check "a container writes to the volume" run -v "$V:/data" "$IMAGE" sh -c 'echo hi > /data/f; sync'
out=$(run -v "$V:/data" "$IMAGE" cat /data/f 2>&1)
check "a second container reads it: '$out'" [ "$out" = hi ]
check "nothing stays mounted after the containers exit" [ -z "$(host_mounts h1)" ]

# ---- inspect and ls
js=$(dk h1 volume inspect "$V")
check "volume inspect: driver flocker, scope global" \
	[ "$(jq -r '.[0].Driver + " " + .[0].Scope' <<<"$js")" = "flocker global" ]
check "volume inspect: status has size_limit 1G, no holder, bytes used" \
	jq -e '.[0].Status | .size_limit == 1073741824 and .holder == "" and .bytes_used > 0 and (.created | length) > 0' <<<"$js"
check "volume ls lists it with the flocker driver" \
	grep -qx "flocker $V" <<<"$(dk h1 volume ls --format '{{.Driver}} {{.Name}}')"

# ---- two containers share one mount; the writer lock is held while mounted
dk h1 run -d --name c1 --network none -v "$V:/data" "$IMAGE" sh -c 'while true; do sleep 1; done' >/dev/null
dk h1 run -d --name c2 --network none -v "$V:/data" "$IMAGE" sh -c 'while true; do sleep 1; done' >/dev/null
check "two running containers share one flockerfs mount" [ "$(host_mounts h1 | wc -l)" = 1 ]
js=$(dk h1 volume inspect "$V")
check "volume inspect names host h1 as the holder and the mount point" \
	jq -e '.[0].Status.holder == "h1" and (.[0].Mountpoint | length) > 0' <<<"$js"
state=$(cat "$(hdir h1)"/state/mounts/"$V".json)
check "the agent persisted two mount IDs" [ "$(jq '.ids | length' <<<"$state")" = 2 ]
out=$(dk h1 volume rm "$V" 2>&1)
check "volume rm is refused while containers use it: $out" grep -qi "in use" <<<"$out"
check "the volume still exists" ctl volume inspect "$V" >/dev/null
out=$(call h1 VolumeDriver.Remove "{\"Name\": \"$V\"}")
check "the plugin refuses Remove too, saying why: $out" \
	grep -q "is mounted on this host for 2 container(s): stop and remove them first" <<<"$out"

# ---- the agent restarts under running containers: mounts and users stay
agent_stop h1
check "the mount outlives the agent" [ "$(host_mounts h1 | wc -l)" = 1 ]
check "a container writes while the agent is down" \
	dk h1 exec c1 sh -c 'echo again > /data/g && sync && cat /data/f >/dev/null'
agent_start h1
check "the restarted agent adopted the mount with both users" \
	grep -q "adopted the mount .* with 2 user(s)" "$(hdir h1)/agent.log"
dk h1 rm -f c1 >/dev/null
check "stopping one container keeps the mount for the other" [ "$(host_mounts h1 | wc -l)" = 1 ]
check "the other container still reads" dk h1 exec c2 cat /data/g
dk h1 rm -f c2 >/dev/null
check "stopping the last container unmounts" [ -z "$(host_mounts h1)" ]
check "the writer lock is free (flockerctl: no holder)" \
	jq -e '.holder == null' <<<"$(ctl volume inspect "$V" --json)"
out=$(run -v "$V:/data" "$IMAGE" cat /data/g 2>&1)
check "what was written while the agent was down is there: '$out'" [ "$out" = again ]

# ---- remove: to the trash, restorable with its data; purge deletes it
dk h1 container prune -f >/dev/null
uuid=$(ctl volume inspect "$V" --json | jq -r .uuid)
check "volume rm works once no container uses the volume" dk h1 volume rm "$V"
check "docker volume ls no longer lists it" \
	not grep -qx "$V" <<<"$(dk h1 volume ls --format '{{.Name}}')"
check "it is no longer a volume (flockerctl volume inspect fails)" not ctl volume inspect "$V"
js=$(ctl volume list --trash --json)
check "it is in the trash, removed by host h1, purged in 7 days" \
	jq -e --arg v "$V" --arg u "$uuid" \
	'map(select(.name == $v)) | length == 1 and .[0].uuid == $u and .[0].removed_by == "h1" and .[0].purge_at - .[0].removed_at == 604800' <<<"$js"
out=$(call h1 VolumeDriver.Get "{\"Name\": \"$V\"}")
check "Get says where it went: $out" grep -q "no such volume: $V (it is in the trash since .*flockerctl volume restore $V" <<<"$out"
out=$(ctl volume restore "$V" 2>&1)
check "flockerctl volume restore brings it back: $out" [ "$out" = "restored volume $V ($uuid)" ]
check "it is no longer in the trash" \
	jq -e --arg v "$V" 'map(select(.name == $v)) | length == 0' <<<"$(ctl volume list --trash --json)"
out=$(run -v "$V:/data" "$IMAGE" sh -c 'cat /data/f /data/g' 2>&1)
check "a container reads the data of the restored volume: $(echo $out)" [ "$(echo $out)" = "hi again" ]
check "docker volume inspect names the same uuid" \
	jq -e --arg u "$uuid" '.[0].Status.uuid == $u' <<<"$(dk h1 volume inspect "$V")"
check "volume rm again" dk h1 volume rm "$V"
out=$(ctl volume purge "$V" 2>&1)
check "flockerctl volume purge deletes it for good: $out" [ "$out" = "purged volume $V: its data is gone" ]
check "the trash no longer has it" \
	jq -e --arg v "$V" 'map(select(.name == $v)) | length == 0' <<<"$(ctl volume list --trash --json)"
if command -v rados >/dev/null; then
	check "no object of vol.$uuid is left in RADOS" [ -z "$(rados -p "$POOL" -N "vol.$uuid" ls 2>&1)" ]
fi
out=$(ctl volume restore "$V" 2>&1)
check "a purged volume cannot be restored: $out" grep -q "volume $V is not in the trash" <<<"$out"
check "nothing is left mounted" [ -z "$(host_mounts h1)" ]
finish
