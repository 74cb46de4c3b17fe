#!/usr/bin/env bash
# docker_two_hosts.sh - a volume follows its container from host a to host b.
#
# Two hosts (each its own namespaces, host name, flocker-agent and dockerd)
# on one Ceph cluster: a container on a writes 8 MiB; after it stops, a
# container on b reads it back intact, without a data object being
# rewritten (RADOS mtimes and sizes of data.* compared); while a container
# on one host uses the volume, a container on the other is refused with a
# message naming the holder; and when both hosts mount at the same instant
# (the plugin protocol, several rounds, then docker run on both) exactly one
# wins and the other gets a clear Err.
# Exit 0 pass, 1 fail, 77 skip (only when dockerd cannot start here).
. "$(dirname "$0")/lib.sh"

need_env
command -v rados >/dev/null || skip "the rados tool is not installed (ceph-common)"
V=dk2-$$
new_volume "$V"

hosts_ab_start

# data.* objects of the volume with their mtime and size, one per line, sorted
data_objects() {
	local ns=vol.$1 o
	for o in $(rados -p "$POOL" -N "$ns" ls | grep '^data\.' | sort); do
		rados -p "$POOL" -N "$ns" stat "$o" | sed 's/^[^ ]* //' | sed "s|^|$o |"
	done
}

# ---- a writes
check "host a creates the volume" dk a volume create -d flocker -o size=1G "$V"
check "a container on host a writes 8 MiB and its checksum" \
	dk a run --rm --network none -v "$V:/data" "$IMAGE" \
	sh -c 'dd if=/dev/urandom of=/data/blob bs=1M count=8 2>/dev/null && cd /data && md5sum blob > sum && sync'
uuid=$(ctl volume inspect "$V" --json | jq -r .uuid)
before=$(data_objects "$uuid")
check "the data is in $(wc -l <<<"$before") data objects of vol.$uuid" [ "$(wc -l <<<"$before")" -ge 2 ]
sleep 1 # a rewrite would show as a later mtime

# ---- b reads, without a copy or a rewrite
check "host b lists the volume (global scope)" \
	grep -qx "flocker $V" <<<"$(dk b volume ls --format '{{.Driver}} {{.Name}}')"
out=$(dk b run --rm --network none -v "$V:/data" "$IMAGE" sh -c 'cd /data && md5sum -c sum' 2>&1)
check "a container on host b reads the 8 MiB intact: $out" [ "$out" = "blob: OK" ]
after=$(data_objects "$uuid")
check "no data object was rewritten or copied by the move" [ "$before" = "$after" ]
[ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after")

# ---- one host at a time
dk a run -d --name holder --network none -v "$V:/data" "$IMAGE" sh -c 'while true; do sleep 1; done' >/dev/null
out=$(dk b run --rm --network none -v "$V:/data" "$IMAGE" true 2>&1)
check "b is refused while a container on a uses the volume: $out" \
	grep -q "volume $V is in use on host a since .*: stop the container there first" <<<"$out"
js=$(dk b volume inspect "$V")
check "host b's volume inspect names a as the holder" jq -e '.[0].Status.holder == "a"' <<<"$js"
out=$(dk b volume rm "$V" 2>&1)
check "host b cannot remove it meanwhile: $out" grep -q "in use on host a" <<<"$out"
dk a rm -f holder >/dev/null
check "after the container on a stops, b mounts it" \
	dk b run --rm --network none -v "$V:/data" "$IMAGE" sh -c 'echo from-b > /data/b && sync'
out=$(dk a run --rm --network none -v "$V:/data" "$IMAGE" cat /data/b 2>&1)
check "and a sees what b wrote: $out" [ "$out" = from-b ]

# ---- both hosts at the same instant: exactly one wins, through the plugin protocol
race() {
	python3 - "$(hdir a)/plugins/flocker.sock" "$(hdir b)/plugins/flocker.sock" "$V" "$1" <<'EOF'
import http.client, json, socket, sys, threading
socks, vol, rnd = sys.argv[1:3], sys.argv[3], sys.argv[4]
class C(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=70)
        self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)
def call(path, ep, body):
    c = C(path)
    c.request("POST", "/VolumeDriver." + ep, body=json.dumps(body).encode())
    return json.loads(c.getresponse().read())
barrier = threading.Barrier(2)
res = [None, None]
def go(i):
    c = C(socks[i])
    c.connect()  # connected before the barrier: the requests leave together
    barrier.wait()
    c.request("POST", "/VolumeDriver.Mount", body=json.dumps({"Name": vol, "ID": f"race-{rnd}-{i}"}).encode())
    res[i] = json.loads(c.getresponse().read())
ts = [threading.Thread(target=go, args=(i,)) for i in (0, 1)]
[t.start() for t in ts]
[t.join() for t in ts]
won = [i for i in (0, 1) if res[i].get("Err") == "" and res[i].get("Mountpoint")]
lost = [i for i in (0, 1) if i not in won]
host = "ab"
print(f"winner {''.join(host[i] for i in won) or '-'}: " + " | ".join(res[i].get("Err", "") for i in lost))
ok = len(won) == 1 and f"is in use on host {host[won[0]]} since" in res[lost[0]].get("Err", "")
for i in won:
    call(socks[i], "Unmount", {"Name": vol, "ID": f"race-{rnd}-{i}"})
sys.exit(0 if ok else 1)
EOF
}
for r in 1 2 3 4 5; do
	out=$(race "$r" 2>&1)
	check "round $r: simultaneous mounts on a and b, exactly one wins ($out)" [ $? -eq 0 ]
done

# ---- and through docker run on both hosts at once
dk a run --rm --network none -v "$V:/data" "$IMAGE" sh -c 'sleep 8' >"$WORK/run-a" 2>&1 &
pa=$!
dk b run --rm --network none -v "$V:/data" "$IMAGE" sh -c 'sleep 8' >"$WORK/run-b" 2>&1 &
pb=$!
wait $pa
ra=$?
wait $pb
rb=$?
out=$(cat "$WORK/run-a" "$WORK/run-b")
check "docker run on both hosts at once: exactly one runs, the other is told why ($out)" \
	[ $((ra == 0)) -ne $((rb == 0)) ]
check "the refusal names the other host" grep -q "is in use on host [ab] since" <<<"$out"

check "nothing is left mounted on a" [ -z "$(host_mounts a)" ]
check "nothing is left mounted on b" [ -z "$(host_mounts b)" ]
check "b removes the volume" dk b volume rm "$V"
finish
