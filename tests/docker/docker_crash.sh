#!/usr/bin/env bash
# docker_crash.sh - host a dies while a container writes; host b takes over.
#
# Two hosts, standalone agents with a short writer lease.  A container on a
# writes files with dd conv=fsync, fsyncs their directories (busybox sync
# DIR), prints their checksums, and goes on writing unsynced data in a loop.
# Then host a dies: one kill -9 for its dockerd (and containerd), its
# flocker-agent, its mount.flockerfs, the container's shim and processes.
# While a's lease runs, a Mount on b is refused naming host a; once it has
# run out, a container on b mounts the volume (mount.flockerfs fences a's
# RADOS client first, and says so in its log) and finds every fsynced byte:
# the checksums match.  The volume is then consistent (flockerctl fsck) and
# usable.  Exit 0 pass, 1 fail, 77 skip (only when dockerd cannot start here).
. "$(dirname "$0")/lib.sh"

need_env
command -v rados >/dev/null || skip "the rados tool is not installed (ceph-common)"
V=dkc-$$
LEASE=10
new_volume "$V"

hosts_ab_start --lease "$LEASE"

check "host a creates the volume" dk a volume create -d flocker -o size=1G "$V"

# ---- a container on a: fsynced files, their checksums, then unsynced writes forever
FILES="/data/f1 /data/f2 /data/f3 /data/sub/g /data/sub/h"
dk a run -d --name writer --network none -v "$V:/data" "$IMAGE" sh -c "
	set -e
	mkdir /data/sub
	for f in $FILES; do
		dd if=/dev/urandom of=\$f bs=64k count=\$((RANDOM % 40 + 1)) conv=fsync 2>/dev/null
	done
	# a partial overwrite of one file, fsynced too
	dd if=/dev/urandom of=/data/f2 bs=4k count=3 seek=5 conv=notrunc,fsync 2>/dev/null
	sync /data /data/sub
	md5sum $FILES
	echo SYNCED
	set +e
	n=0
	while true; do
		dd if=/dev/urandom of=/data/unsynced.\$n bs=64k count=4 2>/dev/null
		echo \$n >> /data/unsynced.log
		n=\$((n + 1))
		sleep 0.1
	done" >/dev/null || die "cannot start the writer on host a"
for _ in $(seq 120); do
	dk a logs writer 2>/dev/null | grep -q '^SYNCED$' && break
	sleep 0.5
done
sums=$(dk a logs writer 2>/dev/null | grep ' /data/')
check "the container on a fsynced 5 files ($(wc -l <<<"$sums") checksums)" [ "$(wc -l <<<"$sums")" = 5 ]
sleep 2 # unsynced writes in flight

js=$(ctl volume inspect "$V" --json)
mpid=$(jq -r '.holder.pid // empty' <<<"$js")
check "host a holds the volume: mount.flockerfs pid $mpid" \
	[ "$(jq -r '.holder.host' <<<"$js")" = a -a "$(cat /proc/"$mpid"/comm 2>/dev/null)" = mount.flockerfs ]
cpid=$(dk a inspect -f '{{.State.Pid}}' writer)
shim=$(ps -o ppid= -p "$cpid" | tr -d ' ')
check "the writer is still writing (container pid $cpid, shim $shim)" \
	[ -n "$cpid" -a "$cpid" != 0 -a -n "$shim" ]

uuid=$(jq -r .uuid <<<"$js")
lockinfo() { rados -p "$POOL" -N "vol.$uuid" lock info super flocker.writer 2>&1 | tr -d '\n '; }
before=$(lockinfo)

# ---- host a dies
host_crash a "$mpid" "$shim" "$cpid"
crashed=$(date +%s)
check "host a's mount.flockerfs is gone" not kill -0 "$mpid"

# ---- while a's lease runs, b is refused, naming a
out=$(call b VolumeDriver.Mount "{\"Name\": \"$V\", \"ID\": \"probe\"}")
check "a Mount on b within a's lease is refused, naming host a: $out" \
	grep -q "is in use on host a since .*lease" <<<"$out"
# (had a's last renewal come late, b would have fenced a and mounted already)
if grep -q '"Err":""' <<<"$out"; then
	say "the lock before the crash: $before; crashed at $crashed, now $(date +%s)"
	call b VolumeDriver.Unmount "{\"Name\": \"$V\", \"ID\": \"probe\"}" >/dev/null
fi

# ---- after it, b takes over and finds every fsynced byte
ok=
for _ in $(seq 30); do
	if out=$(dk b run --rm --network none -v "$V:/data" "$IMAGE" md5sum $FILES 2>&1); then
		ok=1
		break
	fi
	sleep 1
done
took=$(($(date +%s) - crashed))
check "b mounts the volume $took s after a died (lease $LEASE s): ${out:0:200}" \
	[ -n "$ok" -a "$took" -le $((LEASE + 25)) ]
check "every byte a fsynced is there: the checksums match" [ "$out" = "$sums" ]
[ "$out" = "$sums" ] || diff <(echo "$sums") <(echo "$out")
log=$(hdir b)/state/log/$V.log
check "b's mount.flockerfs fenced a's client (pid $mpid) before taking over" \
	grep -qiE "fenc.*\(pid $mpid," "$log"
out=$(dk b run --rm --network none -v "$V:/data" "$IMAGE" sh -c \
	'ls /data | grep -c unsynced; echo from-b > /data/b && sync /data && cat /data/b' 2>&1)
check "the volume is usable on b ($(head -1 <<<"$out") unsynced files of a survived)" \
	[ "$(tail -1 <<<"$out")" = from-b ]
check "nothing is left mounted on b" [ -z "$(host_mounts b)" ]
out=$(ctl fsck "$V" 2>&1)
check "the volume is consistent after the crash: $(tail -1 <<<"$out")" grep -q "clean" <<<"$out"
check "b removes the volume" dk b volume rm "$V"
finish
