#!/usr/bin/env bash
# sparse_huge.sh - huge sparse files on a real FUSE mount of a real cluster
# (tests/integration/sparse_huge.c says what is checked), on a volume with a
# 1 GiB size limit; then the volume's usage as `volume inspect` shows it, and
# fsck: clean, and quick (it checks the objects that exist).  Last, a file
# of many separate pieces (SCATTER_PIECES, default 100, of 4 KiB, one every
# 64 MiB: more runs than the 32 a block map held before superblock version
# 2) on a volume of its own: st_blocks counts exactly the pieces' blocks,
# the holes read as zeros, and the purge after the unlink sends one delete
# per object (counted in the daemon's debug log), not one per block of the
# file's span.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=mount_helpers.sh
. "$here/mount_helpers.sh"
trap flk_cleanup EXIT

if [ "$(id -u)" != 0 ]; then
	echo "sparse_huge: skipped: needs root for FUSE mounts" >&2
	exit 77
fi
if [ ! -c /dev/fuse ]; then
	echo "sparse_huge: skipped: no /dev/fuse on this machine" >&2
	exit 77
fi
flk_check_binaries
prog=${SPARSE_HUGE:?SPARSE_HUGE names the sparse_huge program}

mnt=$FLK_STATE_DIR/mnt # flk_cleanup removes it
mkdir -p "$mnt"
vol=$(flk_new_volume sparse 1G)
flk_mount "$vol" "$mnt"
rc=0
"$prog" "$mnt" || rc=1
# a 1 TiB sparse file left in place: the volume's usage counts its blocks
{ truncate -s 1T "$mnt/left" &&
	echo tail | dd of="$mnt/left" bs=1 seek=$((1 << 40)) conv=notrunc status=none &&
	sync "$mnt/left"; } || rc=1
flk_umount "$mnt" "$vol" || rc=1
used=$("$FLK_CTL_BIN" volume inspect "$vol" --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes_used"])')
echo "volume inspect: bytes_used $used with a 1 TiB sparse file of one block"
if [ "$used" -gt $((64 << 20)) ]; then
	echo "not ok - volume inspect counts $used bytes used" >&2
	rc=1
fi
start=$(date +%s.%N)
if ! out=$("$FLK_CTL_BIN" fsck "$vol" 2>&1); then
	echo "not ok - fsck of the volume: $out" >&2
	rc=1
fi
echo "fsck: $(awk "BEGIN { printf \"%.2f\", $(date +%s.%N) - $start }") s"

# ---- a scattered file: its block map stays exact ----
pieces=${SCATTER_PIECES:-100}
svol=$(flk_new_volume scatter)
suuid=$("$FLK_CTL_BIN" volume inspect "$svol" --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["uuid"])')
bs=$((4 << 20)) # the default block size: one data object per 4 MiB
sobjects() { rados -p "${FLOCKER_POOL:-flocker}" -N "vol.$suuid" ls | grep -c '^data\.' || true; }
slog=$(flk_log_for "$svol")
flk_mount "$svol" "$mnt" debug
python3 - "$mnt/scattered" "$pieces" <<'PYEOF'
import os, sys
f, n = sys.argv[1], int(sys.argv[2])
fd = os.open(f, os.O_CREAT | os.O_WRONLY, 0o644)
for i in range(n):
    os.pwrite(fd, (b"%08d" % i) * 512, i * (64 << 20))
os.fsync(fd)
os.close(fd)
PYEOF
blocks=$(stat -c %b "$mnt/scattered")
# each piece's block whole, but the last one's: up to the size, by 4 KiB pages
want=$((((pieces - 1) * bs + 4096) / 512))
echo "scattered: $pieces pieces of 4 KiB every 64 MiB: st_blocks $blocks (exact: $want)"
if [ "$blocks" != "$want" ]; then
	echo "not ok - st_blocks of the scattered file is $blocks, its pieces hold $want" >&2
	rc=1
fi
flk_remount "$svol" "$mnt" debug
python3 - "$mnt/scattered" "$pieces" <<'PYEOF' || rc=1
import os, sys
f, n = sys.argv[1], int(sys.argv[2])
fd = os.open(f, os.O_RDONLY)
for i in range(n):
    if os.pread(fd, 4096, i * (64 << 20)) != (b"%08d" % i) * 512:
        sys.exit("not ok - piece %d of the scattered file reads wrong" % i)
    hole = os.pread(fd, 1 << 20, i * (64 << 20) + (8 << 20)) if i + 1 < n else b""
    if hole.count(0) != len(hole):
        sys.exit("not ok - the hole after piece %d reads non-zero" % i)
os.close(fd)
PYEOF
objs=$(sobjects)
echo "scattered: $objs data objects"
if [ "$objs" != "$pieces" ]; then
	echo "not ok - the scattered file has $objs data objects, not $pieces" >&2
	rc=1
fi
mark=$(wc -l <"$slog")
rm "$mnt/scattered"
touch "$mnt/after" # the unlink is durable; the purge runs in the background
left=$objs
for ((i = 0; i < 600 && left > 0; i++)); do
	sleep 0.1
	left=$(sobjects)
done
# each purge round logs "purged N orphan inodes (M data objects)": M deletes
deletes=$(tail -n +"$((mark + 1))" "$slog" |
	sed -n 's/.*purged [0-9]* orphan inodes (\([0-9]*\) data objects).*/\1/p' |
	awk '{ s += $1 } END { print s + 0 }')
echo "scattered: unlink: $deletes deletes for $objs objects, every object gone after about $((i / 10)) s"
if [ "$left" != 0 ]; then
	echo "not ok - $left data objects of the scattered file are left 60 s after its unlink" >&2
	rc=1
fi
# one delete per object; a few more only if a round raced a write-back
if [ "$deletes" -lt "$objs" ] || [ "$deletes" -gt $((objs + objs / 10)) ]; then
	echo "not ok - the purge of the scattered file sent $deletes deletes for $objs objects" >&2
	rc=1
fi
flk_umount "$mnt" "$svol" || rc=1
exit "$rc"
