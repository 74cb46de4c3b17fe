#!/usr/bin/env bash
# docker_cluster_clone.sh - cluster mode: clones of a volume a container on
# another host is writing, through flocker-control.
#
# One flocker-control and two hosts with their own dockerd and cluster-mode
# flocker-agent.  A container on a holds volume V and appends a line every
# 0.1 s.  On b, `docker volume create -d flocker -o from=V C` asks control,
# which has the snapshot taken by V's writer on a (RADOS notify) and clones
# it: the container on a goes on writing without an error; a container on b
# reads C and finds every line a's container had written before the clone
# (byte for byte), writes into C, and V on a does not see that.  A snapshot
# made through control's API (POST /v1/configuration/snapshots, taken by the
# writer too) is cloned with -o from=V@SNAP.  docker volume inspect shows
# the clone's parent and V's snapshot count.
# Exit 0 pass, 1 fail, 77 skip (only when dockerd cannot start here).
. "$(dirname "$0")/lib.sh"

need_env
command -v curl >/dev/null || skip "curl is not installed (contrib/install-deps.sh)"
V=dkc-$$
C=dkc-$$-c
C2=dkc-$$-c2
new_volume "$V"
new_volume "$C"
new_volume "$C2"

control_start "dkc.$$" admin
trap 'rc=$?; control_stop; [ "$rc" = 0 -a "$NFAIL" = 0 ] || tail -30 "$WORK/control.log"; (exit $rc); cleanup' EXIT
# api METHOD PATH [JSON]: control's API with the user certificate; prints "STATUS BODY"
api() {
	curl -sS --max-time 60 --cacert "$CERTS/ca.crt" --cert "$CERTS/user-admin.crt" \
		--key "$CERTS/user-admin.key" -X "$1" -H 'Content-Type: application/json' \
		${3:+--data "$3"} -w '\n%{http_code}' "https://127.0.0.1:$API$2" |
		awk '{ lines[NR] = $0 } END { printf "%s", lines[NR]; for (i = 1; i < NR; i++) printf " %s", lines[i]; print "" }'
}

hosts_ab_start "${CLUSTER[@]}"

check "host a creates V through control" dk a volume create -d flocker -o size=1G "$V"
writer_start a "$V" 0.1

# ---- the clone from b, while a writes: the lines acknowledged before it are in it
before=$(dk a exec writer wc -l /data/log | awk '{print $1}')
t0=$(date +%s%N)
out=$(dk b volume create -d flocker -o from="$V" "$C" 2>&1)
check "b clones V through control while a writes: $out" [ "$out" = "$C" ]
say "clone made in $((($(date +%s%N) - t0) / 1000000)) ms; $before lines written before it"
check "the snapshot was taken by V's writer on host a" \
	grep -q "snapshot $V@clone-$C-[0-9]* for clone $C taken by its writer on host a " "$WORK/control.log"
sleep 1
check "the writer on a goes on writing after the clone" \
	[ "$(dk a inspect -f '{{.State.Running}}' writer)" = true -a \
	"$(dk a exec writer wc -l /data/log | awk '{print $1}')" -gt "$before" ]
out=$(dk b run --rm --network none -v "$C:/data" "$IMAGE" sh -c \
	"head -n $before /data/log | md5sum; wc -l < /data/log" 2>&1)
want=$(for i in $(seq 0 $((before - 1))); do echo "line $i"; done | md5sum)
check "a container on b reads C: the first $before lines are a's, byte for byte: $out" \
	[ "$(head -1 <<<"$out")" = "$want" ]
check "C holds at least those $before lines" [ "$(tail -1 <<<"$out")" -ge "$before" ] 2>/dev/null
check "a container on b writes into C" \
	dk b run --rm --network none -v "$C:/data" "$IMAGE" sh -c 'echo from-b > /data/only-in-c && sync'
check "V on a does not see what b wrote into C" dk a exec writer test ! -e /data/only-in-c
insp=$(dk b volume inspect "$C" 2>&1)
check "docker volume inspect C shows its parent: $(jq -c '.[0].Status' <<<"$insp" 2>/dev/null)" \
	[ "$(jq -r '.[0].Status.parent' <<<"$insp" 2>/dev/null | cut -d@ -f1)" = "$V" ]

# ---- a snapshot through control's API (by the writer on a), cloned with from=V@SNAP
before2=$(dk a exec writer wc -l /data/log | awk '{print $1}')
out=$(api POST /v1/configuration/snapshots "{\"volume\": \"$V\", \"name\": \"snap1\"}")
check "POST /v1/configuration/snapshots: 201, taken by the writer on a: ${out:0:300}" \
	[ "${out%% *}" = 201 -a "$(jq -r '.by_writer' <<<"${out#* }" 2>/dev/null)" = true ]
out=$(api GET "/v1/configuration/snapshots?volume=$V")
check "GET /v1/configuration/snapshots lists both of V's snapshots: ${out:0:300}" \
	[ "${out%% *}" = 200 -a "$(jq -r 'length' <<<"${out#* }" 2>/dev/null)" = 2 ]
out=$(dk b volume create -d flocker -o from="$V@snap1" "$C2" 2>&1)
check "b clones V@snap1: $out" [ "$out" = "$C2" ]
out=$(dk b run --rm --network none -v "$C2:/data" "$IMAGE" sh -c \
	"head -n $before2 /data/log | md5sum" 2>&1)
want=$(for i in $(seq 0 $((before2 - 1))); do echo "line $i"; done | md5sum)
check "C2 holds the $before2 lines written before snap1, byte for byte" [ "$out" = "$want" ]
out=$(dk b volume create -d flocker -o from="$V@no-such-snap" "$C2-x" 2>&1)
check "a clone of an unknown snapshot is refused, naming it: ${out:0:200}" \
	grep -q "no-such-snap" <<<"$out"
insp=$(dk a volume inspect "$V" 2>&1)
check "docker volume inspect V shows 2 snapshots: $(jq -c '.[0].Status' <<<"$insp" 2>/dev/null)" \
	[ "$(jq -r '.[0].Status.snapshots' <<<"$insp" 2>/dev/null)" = 2 ]

# ---- the writer on a never saw an error
dk a exec writer touch /data/stop
dk a wait writer >/dev/null
logs=$(dk a logs writer 2>&1)
check "the writer on a ended cleanly: $(tail -1 <<<"$logs")" grep -q "^WROTE " <<<"$logs"
dk a rm writer >/dev/null
for v in "$C" "$C2"; do dk b volume rm "$v" >/dev/null 2>&1; done
dk a volume rm "$V" >/dev/null 2>&1
finish
