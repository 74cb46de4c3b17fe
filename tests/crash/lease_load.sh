#!/usr/bin/env bash
# lease_load.sh - a writer keeps its lease while it writes as fast as it can.
#
# The lease is renewed every lease/3 on a fixed schedule (counted from the
# start of the previous renewal) and until the unmount has written
# everything.  Here the shortest lease (lease=3) meets a mount kept busy for
# 20 s by four writers of big files with fsyncs and a metadata churner, on
# the same OSDs the renewals go to:
#   - no renewal may fail: the daemon log has no "cannot renew" line and
#     the volume never goes read-only (every write and fsync succeeds);
#   - the unmount, with dirty data left to write, ends cleanly ("everything
#     is in RADOS") and fsck reports the volume clean.
#
# Uses the "ceph" fixture (CEPH_CONF).  Output ends with "N passed, N
# failed"; exit 0, 1, or 77 without root or /dev/fuse.
set -euo pipefail

PROG=${0##*/}
# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/lib.sh"

need_root_and_fuse
find_binaries

WORK=$(mktemp -d /tmp/flocker-lease.XXXXXX)
MNT=$WORK/mnt
VOL=lease-$$
LOG=$WORK/mount.log
mkdir -p "$MNT"
trap 'cleanup_all; rm -rf "$WORK"' EXIT

volume_create "$VOL" 4M || { bad "cannot create volume $VOL"; exit 1; }
mount_volume "$VOL" "$MNT" "lease=3,log=$LOG" || { bad "cannot mount: $MOUNT_ERR"; exit 1; }

# writer N: 32 MiB files rewritten with fsync until the deadline
writer() {
	local n=$1 end=$2 i=0
	while [ "$(date +%s)" -lt "$end" ]; do
		dd if=/dev/zero of="$MNT/big$n" bs=1M count=32 conv=fsync status=none ||
			{ echo "writer $n: dd failed" >&2; return 1; }
		i=$((i + 1))
	done
	echo "$i"
}

churn() {
	local end=$1 i=0
	mkdir "$MNT/meta"
	while [ "$(date +%s)" -lt "$end" ]; do
		echo "$i" >"$MNT/meta/f$((i % 200))" || { echo "churn: write failed" >&2; return 1; }
		[ $((i % 50)) != 0 ] || sync "$MNT/meta" || { echo "churn: sync failed" >&2; return 1; }
		i=$((i + 1))
	done
	echo "$i"
}

end=$(($(date +%s) + 20))
pids=()
for n in 1 2 3 4; do
	writer "$n" "$end" >"$WORK/w$n.out" 2>&1 &
	pids+=($!)
done
churn "$end" >"$WORK/churn.out" 2>&1 &
pids+=($!)
fails=0
for p in "${pids[@]}"; do
	wait "$p" || fails=$((fails + 1))
done
# leave dirty data for the unmount to write
dd if=/dev/zero of="$MNT/last" bs=1M count=48 status=none

if [ "$fails" = 0 ]; then
	ok "4 writers ($(cat "$WORK"/w?.out | paste -sd+ | bc) x 32 MiB with fsync) and $(cat "$WORK/churn.out") metadata changes in 20 s: no error"
else
	bad "$fails of 5 workers failed: $(cat "$WORK"/w?.out "$WORK/churn.out" | grep -v '^[0-9]*$' | head -3 | tr '\n' ' ')"
fi
if unmount_wait "$VOL" "$MNT" "$WORK/stuck"; then
	ok "unmount with 48 MiB dirty ended"
else
	bad "the daemon did not exit within 60s of umount"
fi
if grep -q "cannot renew\|lost the writer lock" "$LOG"; then
	bad "the lease was not kept: $(grep -m2 "cannot renew\|lost the writer lock" "$LOG" | tr '\n' ' ')"
else
	ok "every renewal of the 3 s lease succeeded under the load"
fi
if grep -q "everything is in RADOS" "$LOG"; then
	ok "the unmount wrote everything"
else
	bad "the daemon did not say it wrote everything: $(tail -2 "$LOG" | tr '\n' ' ')"
fi
check_fsck "$VOL" "after the load"
"$CTL" volume remove "$VOL" >/dev/null 2>&1 || true
say "$NPASS passed, $NFAIL failed"
[ "$NFAIL" = 0 ]
