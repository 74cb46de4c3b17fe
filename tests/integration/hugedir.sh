#!/usr/bin/env bash
# hugedir.sh - one directory with $HUGEDIR_ENTRIES entries (default 1,000,000):
# created, listed after a remount (cold), stat'ed and removed, on a fresh
# volume; then fsck clean.  Prints the time of each phase and the daemon's
# peak resident memory (VmHWM), and fails if an entry is missing or extra,
# or if the daemon's peak passes $HUGEDIR_MAX_RSS_MB (default 2048).
#
# Environment: FLOCKER_BINARY_DIR, CEPH_CONF, CEPH_ARGS, HUGEDIR_ENTRIES,
# HUGEDIR_MAX_RSS_MB.  Exit 0 passed, 1 failed, 77 skipped (no root or FUSE).
set -uo pipefail

# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
need_root_fuse
N=${HUGEDIR_ENTRIES:-1000000}
MAX_RSS_MB=${HUGEDIR_MAX_RSS_MB:-2048}
flk_setup hugedir

VOL=$(flk_new_volume hugedir) || fail "cannot create a volume"
flk_mount "$VOL" "$MNT" || fail "cannot mount $VOL"
mkdir "$MNT/d" || fail "mkdir"

PEAK=0
HWM=0
hwm() { # HWM: peak RSS of the daemon, MiB; PEAK: the largest of every daemon
	local pid
	pid=$(flk_daemon_pids "$VOL" | head -1)
	HWM=$(awk '/VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$pid/status")
	[ "${HWM:-0}" -gt "$PEAK" ] && PEAK=$HWM
}

phase() { # phase NAME PYTHON-BODY: runs it with d = the directory, n = N
	local t0 t1 out
	t0=$(date +%s.%N)
	out=$(python3 - "$MNT/d" "$N" <<EOF2
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
$2
EOF2
) || fail "$1: $out"
	t1=$(date +%s.%N)
	hwm
	say "$(printf '%-8s %9.1f s  %8.0f /s  daemon peak RSS %s MiB  %s' "$1" \
		"$(echo "$t1 - $t0" | bc)" "$(echo "$N / ($t1 - $t0)" | bc -l)" "$HWM" "$out")"
}

say "$N entries in one directory of volume $VOL"
phase create '
for i in range(n):
    os.close(os.open("%s/f%07d" % (d, i), os.O_CREAT | os.O_WRONLY, 0o644))
print("created")'
flk_remount "$VOL" "$MNT" || fail "remount"
phase list '
names = os.listdir(d)
want = set("f%07d" % i for i in range(n))
got = set(names)
if len(names) != n or got != want:
    print("listing has %d names (%d distinct), want %d; missing %d, extra %d" %
          (len(names), len(got), n, len(want - got), len(got - want)))
    sys.exit(1)
print("all %d listed once" % n)'
phase stat '
for i in range(n):
    os.lstat("%s/f%07d" % (d, i))
print("stat ok")'
phase remove '
for i in range(n):
    os.unlink("%s/f%07d" % (d, i))
print("removed")'
[ -z "$(ls -A "$MNT/d")" ] || fail "the directory is not empty after removing every entry"
hwm
peak=$PEAK
flk_umount "$MNT" "$VOL" || fail "unmount"
rc=0
out=$("$FLK_CTL_BIN" fsck "$VOL" 2>&1) || rc=$?
[ "$rc" = 0 ] || fail "fsck exits $rc: $out"
[ "$peak" -le "$MAX_RSS_MB" ] || fail "the daemon's peak RSS was $peak MiB, over $MAX_RSS_MB"
say "passed (daemon peak RSS $peak MiB)"
