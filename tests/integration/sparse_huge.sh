#!/usr/bin/env bash
# sparse_huge.sh - huge sparse files on a real FUSE mount of a real cluster
# (tests/integration/sparse_huge.c says what is checked), on a volume with a
# 1 GiB size limit; then the volume's usage as `volume inspect` shows it, and
# fsck: clean, and quick (it checks the objects that exist).
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
exit "$rc"
