#!/usr/bin/env bash
# corrupt_records.sh - bad data in RADOS gives EIO on the affected path and a
# log line, never a crash and never silently wrong data:
#   a garbage directory entry, a garbage inode record, a torn journal record,
#   a garbage superblock.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
flk_begin

passed=0
failed=0
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "not ok - $what" >&2
	fi
}
# errno_of CMD...: prints the strerror of a failing command's last line, or "ok"
fails_with_eio() {
	local out
	if out=$("$@" 2>&1); then
		echo "expected EIO from '$*', it succeeded: $out" >&2
		return 1
	fi
	if ! grep -q "Input/output error" <<<"$out"; then
		echo "expected EIO from '$*', got: $out" >&2
		return 1
	fi
}
rados_vol() {
	rados -p "${FLOCKER_POOL:-flocker}" -N "vol.$uuid" "$@"
}
log_has() {
	grep -q "$1" "$(flk_log_for "$vol")"
}

mnt=$(mktemp -d /tmp/flk-corrupt.XXXXXX)
vol=$(flk_new_volume corrupt)
uuid=$("$FLK_CTL_BIN" volume inspect "$vol" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["uuid"])')

flk_mount "$vol" "$mnt"
echo data-a >"$mnt/a"
echo data-b >"$mnt/b"
mkdir "$mnt/d"
echo data-c >"$mnt/d/c"
ino_b=$(stat -c %i "$mnt/b")
flk_umount "$mnt" "$vol"

# 1. a garbage directory entry and a garbage inode record
rados_vol setomapval dir.0000000000000001 a "not msgpack at all"
rados_vol setomapval "itab.$(printf %08x $((ino_b >> 10)))" "$(printf %016x "$ino_b")" garbage
flk_mount "$vol" "$mnt"
check "stat of a corrupt entry fails with EIO" fails_with_eio stat "$mnt/a"
check "stat of an entry whose inode record is corrupt fails with EIO" fails_with_eio stat "$mnt/b"
check "cat of it fails with EIO" fails_with_eio cat "$mnt/b"
check "the directory still lists every name" bash -c "ls '$mnt' | sort | tr '\n' ' ' | grep -qx 'a b d '"
check "ls -l of the directory still works for the good entries" bash -c "ls -l '$mnt' 2>/dev/null | grep -q ' d\$'"
check "untouched files read right" bash -c "[ \"\$(cat '$mnt/d/c')\" = data-c ]"
check "the corrupt entry is logged" log_has "entry 'a' is corrupt"
check "the missing inode is logged" log_has "points to inode $ino_b which does not exist"
flk_umount "$mnt" "$vol"
fsck_rc() { "$FLK_CTL_BIN" fsck "$vol" "$@" >/tmp/flk-fsck.$$ 2>&1 && echo 0 || echo $?; }
check "fsck finds the damage (exit 4)" test "$(fsck_rc)" = 4
check "fsck names the corrupt entry" grep -q "corrupt directory entries" /tmp/flk-fsck.$$
check "fsck names the corrupt inode record" grep -q "corrupt inode records" /tmp/flk-fsck.$$
check "fsck --repair repairs it (exit 1)" test "$(fsck_rc --repair)" = 1
check "fsck is clean after the repair" test "$(fsck_rc)" = 0
rm -f /tmp/flk-fsck.$$
flk_mount "$vol" "$mnt"
check "the repaired names are gone" bash -c "! ls '$mnt/a' '$mnt/b' 2>/dev/null"
check "the rest is intact" bash -c "[ \"\$(cat '$mnt/d/c')\" = data-c ]"
check "a new file can take the repaired name" bash -c "echo new > '$mnt/a'"

# 2. a torn journal record: a crash leaves records in the journal; garbage after them
echo j1 >"$mnt/j1"
sync "$mnt/j1" # fsync: syncfs(2) does not reach FUSE daemons
pids=$(flk_daemon_pids "$vol")
kill -9 $pids
umount -l "$mnt" || true
flk_wait_daemon_exit "$vol"
seg=$(rados_vol ls | grep '^jrnl\.' | sort | tail -1 || true)
check "the crash left a journal segment" test -n "$seg"
if [ -n "$seg" ]; then
	printf 'FLJ1 this is not a frame' >/tmp/flk-garbage.$$
	rados_vol append "$seg" /tmp/flk-garbage.$$
	rm -f /tmp/flk-garbage.$$
fi
check "mount replays up to the torn record" flk_mount "$vol" "$mnt"
check "the synced file is there" bash -c "[ \"\$(cat '$mnt/j1')\" = j1 ]"
check "the torn record is logged" log_has "torn or corrupt"
flk_umount "$mnt" "$vol"
check "fsck is clean after the replay" "$FLK_CTL_BIN" fsck "$vol"

# 3. a garbage superblock: mount says so and exits, nothing crashes
rados_vol put super /etc/hostname
out=$("$FLK_MOUNT_BIN" "$vol" "$mnt" -o "log=$(flk_log_for "$vol")" 2>&1) && rc=0 || rc=$?
check "mount of a volume with a corrupt superblock fails" test "$rc" != 0
check "and says the superblock is corrupt" grep -q "superblock of volume $vol.* is corrupt" <<<"$out"
check "fsck says it too and exits 8" bash -c "'$FLK_CTL_BIN' fsck '$vol' >/dev/null 2>&1; [ \$? = 8 ]"
check "a volume with a corrupt superblock can still be removed" "$FLK_CTL_BIN" volume remove "$vol"
check "and its objects are gone" test -z "$(rados_vol ls)"
sed -i "/^$vol\$/d" "$FLK_STATE_DIR/volumes"
rmdir "$mnt" 2>/dev/null || true

echo "corrupt_records: $passed passed, $failed failed"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
