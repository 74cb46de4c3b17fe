#!/usr/bin/env bash
# scattered.sh - a file written in $SCATTER_PIECES pieces of 4 KiB, one every
# $SCATTER_STRIDE_MB MiB (one data object each, with holes between them), on
# a fresh volume of a real cluster and a real mount: prints the time to write
# them (and fsync), to read them back after a remount, to read the hole
# between the last two pieces, the file's st_blocks, the volume's
# used bytes and data objects, and the time until an unlink has removed
# every object.  Past 4,096 pieces the file's block map merges runs
# (FORMAT.md, bmap; 32 before superblock version 2): compare with
# SCATTER_PIECES=5000.
#
# Environment: FLOCKER_BINARY_DIR, CEPH_CONF, CEPH_ARGS, SCATTER_PIECES
# (default 1000), SCATTER_STRIDE_MB (default 64).  Exit 0, 1 failed, 77
# skipped (no root or FUSE).
set -uo pipefail

# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
need_root_fuse
N=${SCATTER_PIECES:-1000}
STRIDE=$((${SCATTER_STRIDE_MB:-64} << 20))
flk_setup scatter

VOL=$(flk_new_volume scatter) || fail "cannot create a volume"
UUID=$("$FLK_CTL_BIN" volume inspect "$VOL" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["uuid"])') ||
	fail "cannot inspect $VOL"
objects() { rados -p flocker --namespace "vol.$UUID" ls 2>/dev/null | grep -c '^data\.'; }
used() { "$FLK_CTL_BIN" volume inspect "$VOL" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes_used"])'; }
flk_mount "$VOL" "$MNT" || fail "cannot mount $VOL"

py() { # py PYTHON-BODY: runs it with f = the file, n, stride; prints its time
	python3 - "$MNT/f" "$N" "$STRIDE" <<EOF
import os, sys, time
f, n, stride = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
piece = lambda i: (b"%08d" % i) * 512
t0 = time.monotonic()
$1
print("%.2f" % (time.monotonic() - t0))
EOF
}

tw=$(py '
fd = os.open(f, os.O_CREAT | os.O_WRONLY, 0o644)
for i in range(n):
    os.pwrite(fd, piece(i), i * stride)
os.fsync(fd)
os.close(fd)') || fail "write"
blocks=$(stat -c %b "$MNT/f")
flk_remount "$VOL" "$MNT" || fail "remount"
tr=$(py '
fd = os.open(f, os.O_RDONLY)
for i in range(n):
    if os.pread(fd, 4096, i * stride) != piece(i):
        sys.exit("piece %d reads wrong" % i)
os.close(fd)') || fail "read"
th=$(py '
fd = os.open(f, os.O_RDONLY)
off = (n - 2) * stride + 4096
end = (n - 1) * stride
while off < end:
    b = os.pread(fd, min(1 << 20, end - off), off)
    if b.count(0) != len(b):
        sys.exit("a hole at %d reads non-zero" % off)
    off += len(b)
os.close(fd)') || fail "read holes"
objs=$(objects)
flk_umount "$MNT" "$VOL" || fail "unmount"
u=$(used)
flk_mount "$VOL" "$MNT" || fail "remount"
t0=$(date +%s.%N)
rm "$MNT/f" || fail "rm"
touch "$MNT/g" || fail "touch"
t1=$(date +%s.%N)
left=$(objects)
while [ "$left" -gt 0 ]; do
	sleep 0.2
	left=$(objects)
	[ "$(echo "$(date +%s.%N) - $t1 > 600" | bc)" = 1 ] && fail "objects still there 600 s after the unlink"
done
t2=$(date +%s.%N)
flk_umount "$MNT" "$VOL" || fail "unmount"
say "$N pieces of 4 KiB every $((STRIDE >> 20)) MiB: write+fsync $tw s, read back $tr s," \
	"the last hole $th s, st_blocks $blocks ($((blocks / 2048)) MiB), volume used $u bytes," \
	"$objs data objects, rm+touch $(echo "$t1 - $t0" | bc) s, objects gone after $(echo "$t2 - $t0" | bc) s"
