#!/usr/bin/env bash
# snapshot_live.sh - snapshots on a real cluster and real FUSE mounts:
#   1. a volume mounted read-write, a tree written (not synced) and a write
#      load running (snapload); `flockerctl snapshot create` from another
#      process: its time and the longest write(2) stall are printed (bounds:
#      5 s each, generous for a shared test machine; README has the figures);
#   2. the head changes; VOL@SNAP mounted read-only has the tree's checksums
#      and a whole prefix of the log holding every record acknowledged before
#      the snapshot and none written after it; it refuses writes; fsck of
#      VOL@SNAP is clean;
#   3. kill -9 of the mount daemon while it takes another snapshot: that one
#      exists whole (fsck clean) or not at all; the first is unchanged;
#   4. a snapshot of the unmounted volume, list, remove, fsck of the head;
#   5. volume rollback: refused while mounted read-write, then the volume as
#      it was at the snapshot.
# SNAP_FILES and SNAP_FILE_KB size the tree (default 64 files of 256 KiB).
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
flk_begin
prog=${SNAPLOAD:?SNAPLOAD names the snapload program}
files=${SNAP_FILES:-64}
kb=${SNAP_FILE_KB:-256}
st=$FLK_STATE_DIR
mnt=$st/mnt
smnt=$st/snap
mkdir -p "$mnt" "$smnt"
fail() {
	echo "not ok - $*" >&2
	exit 1
}

vol=$(flk_new_volume snap)
flk_mount "$vol" "$mnt"
mkdir "$mnt/tree"
start=$(date +%s.%N)
python3 - "$mnt/tree" "$files" "$kb" <<'PY'
import os, sys
d, n, kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    with open(f"{d}/f{i}", "wb") as f:
        f.write(os.urandom(kb * 1024))
PY
(cd "$mnt/tree" && find . -type f -print0 | sort -z | xargs -0 md5sum) >"$st/tree.md5"
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "tree: $files files of $kb KiB written and read back in $secs s (not synced)"

# 1. a snapshot under the write load, from another process
"$prog" run "$mnt" "$FLK_CTL_BIN snapshot create $vol s1 >$st/create.out" "$st/load.out" ||
	fail "snapload run (snapshot create: $(cat "$st/create.out" 2>/dev/null))"
cat "$st/create.out"
read -r before after ms stall <"$st/load.out"
echo "snapshot create of a volume holding $files files of $kb KiB under a write load: $ms ms, longest write(2) meanwhile $stall ms"
awk "BEGIN { exit !($ms < 5000 && $stall < 5000) }" || fail "snapshot took $ms ms, stall $stall ms (bound 5000)"
grep -q "taken by its writer" "$st/create.out" || fail "the snapshot was not taken by the writer"

# 2. the head changes; the snapshot does not
for ((i = 0; i < files && i < 10; i++)); do
	echo changed >>"$mnt/tree/f$i"
done
rm -f "$mnt/tree/f$((files - 1))"
echo after >"$mnt/new-file"
sync -f "$mnt"
flk_mount "$vol@s1" "$smnt"
(cd "$smnt/tree" && md5sum --quiet -c "$st/tree.md5") || fail "the snapshot's tree differs"
"$prog" check "$smnt/log" "$before" "$after" || fail "the snapshot's log"
[ ! -e "$smnt/new-file" ] || fail "a file made after the snapshot is in it"
if touch "$smnt/x" 2>/dev/null; then
	fail "a write into the snapshot was accepted"
fi
flk_umount "$smnt" "$vol@s1"
"$FLK_CTL_BIN" fsck "$vol@s1" || fail "fsck $vol@s1"

# 3. kill -9 of the writer while it takes a snapshot (its syncfs of the dirty data)
dd if=/dev/zero of="$mnt/dirty" bs=1M count=256 status=none
pid=$(flk_daemon_pids "$vol")
[ -n "$pid" ] || fail "no daemon for $vol"
log=$(flk_log_for "$vol")
"$FLK_CTL_BIN" snapshot create "$vol" s2 >"$st/create2.out" 2>&1 &
cpid=$!
for ((i = 0; i < 300; i++)); do
	grep -q "snapshot s2 requested" "$log" && break
	sleep 0.1
done
grep -q "snapshot s2 requested" "$log" || fail "the writer never got the request for s2"
kill -9 "$pid"
wait "$cpid" && crc=0 || crc=$?
echo "snapshot create while the daemon was killed: exit $crc: $(cat "$st/create2.out")"
fusermount3 -u -z "$mnt" 2>/dev/null || umount -l "$mnt" || true
grep -v -F -x "$mnt $vol" "$st/mounts" >"$st/mounts.new" || true
mv "$st/mounts.new" "$st/mounts"
"$FLK_CTL_BIN" snapshot list "$vol" --json >"$st/list.json"
if python3 -c 'import json,sys; sys.exit(0 if any(s["name"]=="s2" for s in json.load(open(sys.argv[1]))) else 1)' "$st/list.json"; then
	echo "kill -9: snapshot s2 exists; checking it"
	"$FLK_CTL_BIN" fsck "$vol@s2" || fail "fsck $vol@s2 after kill -9"
else
	echo "kill -9: snapshot s2 does not exist"
fi
flk_mount "$vol@s1" "$smnt"
(cd "$smnt/tree" && md5sum --quiet -c "$st/tree.md5") || fail "the snapshot's tree changed after kill -9"
flk_umount "$smnt" "$vol@s1"

# 4. unmounted: a snapshot taken directly; list; remove; the head is clean
"$FLK_CTL_BIN" snapshot create "$vol" s3 | tee "$st/create3.out"
grep -q "created snapshot $vol@s3" "$st/create3.out" || fail "snapshot create of the unmounted volume"
"$FLK_CTL_BIN" snapshot list "$vol"
"$FLK_CTL_BIN" snapshot remove "$vol" s1
if "$FLK_CTL_BIN" snapshot list "$vol" | grep -q '^s1 '; then
	fail "s1 still listed after its removal"
fi
"$FLK_CTL_BIN" fsck "$vol" || fail "fsck $vol"
"$FLK_CTL_BIN" fsck "$vol@s3" || fail "fsck $vol@s3"
if out=$("$FLK_CTL_BIN" fsck "$vol@nope" 2>&1); then
	fail "fsck of a missing snapshot succeeded"
fi
echo "$out" | grep -q "no such snapshot" || fail "fsck of a missing snapshot: $out"
# 5. rollback: refused while mounted read-write, then the volume as at s3
flk_mount "$vol" "$mnt"
echo "after s3" >"$mnt/after-s3"
if out=$("$FLK_CTL_BIN" volume rollback "$vol" s3 2>&1); then
	fail "rollback of a mounted volume succeeded"
fi
echo "$out" | grep -q "held read-write by host" || fail "rollback of a mounted volume: $out"
flk_umount "$mnt" "$vol"
"$FLK_CTL_BIN" volume rollback "$vol" s3 || fail "rollback to s3"
flk_mount "$vol" "$mnt" ro
[ ! -e "$mnt/after-s3" ] || fail "a file made after s3 survived the rollback"
[ -e "$mnt/new-file" ] || fail "a file of s3 is gone after the rollback"
flk_umount "$mnt" "$vol"
"$FLK_CTL_BIN" fsck "$vol" || fail "fsck $vol after the rollback"
echo "ok - snapshot_live"
