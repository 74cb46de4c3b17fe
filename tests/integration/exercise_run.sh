#!/usr/bin/env bash
# exercise_run.sh - the data-integrity exerciser and the metadata stress on a
# fresh volume, each followed by a remount, a check of what the remount shows,
# and a clean "flockerctl fsck".
#
#   exercise_run.sh data   dataxer for $EXERCISE_SECONDS (default 20) against a
#                          reference on tmpfs; after a remount every file must
#                          equal the reference (dataxer --verify)
#   exercise_run.sh meta   metastress, $METASTRESS_PROCS (default 4) processes
#                          for $EXERCISE_SECONDS; the tree's listing (names,
#                          types, link counts, sizes) and contents must be the
#                          same after a remount
#
# Mount options from FLOCKER_POSIX_MOUNT_OPTS (e.g. nowriteback_cache).
# Environment: FLOCKER_BINARY_DIR, CEPH_CONF, CEPH_ARGS, DATAXER and
# METASTRESS (the programs; default: in the build tree), EXERCISE_SEED.
# Exit status: 0 passed, 1 failed, 77 skipped (not root, or no /dev/fuse).
set -uo pipefail

# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
fail_hook() {
	[ -n "${VOL:-}" ] && flk_print_log "$(flk_log_for "$VOL")"
}

MODE=${1:-}
case "$MODE" in
data | meta) ;;
*)
	echo "usage: $PROG data|meta" >&2
	exit 2
	;;
esac
need_root_fuse
SECONDS_RUN=${EXERCISE_SECONDS:-20}
OPTS=${FLOCKER_POSIX_MOUNT_OPTS:-}
SEED=${EXERCISE_SEED:-$(((RANDOM << 15) | RANDOM))}
REF=
test_cleanup() {
	[ -z "$REF" ] || rm -rf --one-file-system "$REF"
}
flk_setup exer
REFBASE=/dev/shm
[ "$(stat -f -c %T "$REFBASE" 2>/dev/null)" = tmpfs ] || REFBASE=$WORK
REF=$(mktemp -d "$REFBASE/flk-exer-ref.XXXXXX")
prog() { # prog VAR NAME
	local p=${!1:-${FLOCKER_BINARY_DIR:-.}/tests/$2}
	[ -x "$p" ] || fail "no $p (build first)"
	echo "$p"
}

VOL=$(flk_new_volume "exer-$MODE") || fail "cannot create a volume"
flk_mount "$VOL" "$MNT" "$OPTS" || fail "cannot mount $VOL"
say "$MODE: seed $SEED, $SECONDS_RUN s on volume $VOL${OPTS:+ (-o $OPTS)}"
case "$MODE" in
data)
	DATAXER=$(prog DATAXER dataxer) || exit 1
	"$DATAXER" --dir "$MNT" --ref "$REF" --seed "$SEED" --seconds "$SECONDS_RUN" ||
		fail "dataxer failed (seed $SEED)"
	flk_remount "$VOL" "$MNT" "$OPTS" || fail "remount"
	"$DATAXER" --dir "$MNT" --ref "$REF" --verify || fail "the files differ from the reference after a remount (seed $SEED)"
	;;
meta)
	METASTRESS=$(prog METASTRESS metastress) || exit 1
	"$METASTRESS" --dir "$MNT" --procs "${METASTRESS_PROCS:-4}" --seed "$SEED" \
		--seconds "$SECONDS_RUN" --list >"$WORK/before" || fail "metastress failed (seed $SEED)"
	flk_remount "$VOL" "$MNT" "$OPTS" || fail "remount"
	"$METASTRESS" --dir "$MNT" --check --list >"$WORK/after" || fail "the tree fails its checks after a remount"
	diff -u "$WORK/before" "$WORK/after" >"$WORK/diff" ||
		fail "the tree changed across the remount: $(head -20 "$WORK/diff")"
	;;
esac
flk_umount "$MNT" "$VOL" || fail "unmount"
rc=0
out=$("$FLK_CTL_BIN" fsck "$VOL" 2>&1) || rc=$?
[ "$rc" = 0 ] || fail "fsck exits $rc: $out"
say "$(tail -1 <<<"$out")"
say "passed"
