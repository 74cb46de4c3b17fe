#!/usr/bin/env bash
# posix_run.sh - runs the POSIX checks (posix_conformance) and the model-based
# exerciser (fsmodel) on flockerfs or on local filesystems.
#
#   posix_run.sh conformance   fresh volume, posix_conformance on its mount
#   posix_run.sh model         fresh volume, fsmodel against a tmpfs reference,
#                              unmounting and mounting the volume again every
#                              $FSMODEL_REMOUNT_EVERY operations and at the end
#   posix_run.sh sizelimit     volume created with --size 64M; the ENOSPC and
#                              statvfs checks of posix_conformance (group enospc)
#   posix_run.sh local         no flockerfs: posix_conformance on a tmpfs and on
#                              an ext4 loop image, fsmodel ext4-vs-tmpfs (with
#                              remounts of the ext4) and tmpfs-vs-tmpfs, the
#                              ENOSPC checks on a 64 MiB tmpfs
#
# Environment: FLOCKER_BINARY_DIR (build tree: fs/mount.flockerfs,
# cluster/flockerctl), CEPH_CONF and CEPH_ARGS for the cluster,
# POSIX_CONFORMANCE and FSMODEL (the test programs; default: next to this
# build's tests), FSMODEL_OPS (default 20000; 10000 in local mode),
# FSMODEL_SEED (default: random, printed), FSMODEL_REMOUNT_EVERY (default
# 2000), FSMODEL_CHECK_EVERY (default 200), FSMODEL_SNAP_EVERY (model mode:
# a snapshot, clone or rollback event every so many operations, default
# 0 = none; fsmodel's --snap-cmd), FLOCKER_POSIX_MOUNT_OPTS
# (extra mount.flockerfs options for conformance and model, e.g.
# "max_threads=2,spin_us=50").
#
# Exit status: 0 passed, 1 failed, 77 skipped (not root, or no /dev/fuse for
# the flockerfs modes; the reason is printed).
set -uo pipefail

# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
SELF="$HERE/$PROG"

# Internal commands used as fsmodel --remount-cmd; they run in a child shell.
case "${1:-}" in
_remount_flk)
	# _remount_flk NAME DIR
	. "$HERE/mount_helpers.sh"
	flk_remount "$2" "$3" "${FLOCKER_POSIX_MOUNT_OPTS:-}"
	exit $?
	;;
_snap_flk)
	# _snap_flk VOL MNT VERB ARGS: fsmodel's --snap-cmd (see fsmodel.c, "snapshots")
	. "$HERE/mount_helpers.sh"
	vol=$2 mnt=$3 verb=$4
	shift 4
	ctl() {
		local out
		if ! out=$("$FLK_CTL_BIN" "$@" 2>&1); then
			flk_say "flockerctl $*: $out"
			return 1
		fi
		return 0
	}
	case "$verb" in
	snap) ctl snapshot create "$vol" "$1" ;;
	rmsnap) ctl snapshot remove "$vol" "$1" ;;
	mount) flk_mount "$vol@$1" "$2" "${FLOCKER_POSIX_MOUNT_OPTS:-}" ;;
	umount) flk_umount "$2" "$vol@$1" ;;
	fsck) ctl fsck "$vol@$1" ;;
	clone)
		# clone SNAP NEW DIR: NEW from VOL@SNAP, mounted read-write at DIR
		ctl volume clone "$vol@$1" "$2" || exit 1
		echo "$2" >>"$FLK_STATE_DIR/volumes"
		flk_mount "$2" "$3" "${FLOCKER_POSIX_MOUNT_OPTS:-}"
		;;
	unclone)
		# unclone NEW DIR: unmounted, checked, removed
		flk_umount "$2" "$1" && ctl fsck "$1" && ctl volume remove "$1" || exit 1
		grep -v -F -x "$1" "$FLK_STATE_DIR/volumes" >"$FLK_STATE_DIR/volumes.new"
		mv "$FLK_STATE_DIR/volumes.new" "$FLK_STATE_DIR/volumes"
		;;
	rollback)
		# refused while mounted read-write; then as a user does it
		if out=$("$FLK_CTL_BIN" volume rollback "$vol" "$1" 2>&1); then
			flk_say "rollback of $vol to $1 succeeded while it was mounted read-write"
			exit 1
		fi
		if ! grep -q "held read-write by host" <<<"$out"; then
			flk_say "rollback of mounted $vol to $1: unexpected refusal: $out"
			exit 1
		fi
		flk_umount "$mnt" "$vol" && ctl volume rollback "$vol" "$1" && ctl fsck "$vol" &&
			flk_mount "$vol" "$mnt" "${FLOCKER_POSIX_MOUNT_OPTS:-}"
		;;
	*)
		flk_say "_snap_flk: unknown verb $verb"
		exit 2
		;;
	esac
	exit $?
	;;
_remount_loop)
	# _remount_loop IMAGE DIR
	umount "$3" || exit 1
	mount -o loop "$2" "$3" || exit 1
	exit 0
	;;
esac

MODE=${1:-}
case "$MODE" in
conformance | model | sizelimit | local) ;;
*)
	echo "usage: $PROG conformance|model|sizelimit|local" >&2
	exit 2
	;;
esac

if [ "$(id -u)" != 0 ]; then
	skip "must run as root (mounts filesystems; posix_conformance switches uids)"
fi

find_prog() {
	# find_prog VAR NAME: the program from $VAR, else from the build tree
	local var=$1 name=$2 p
	p=${!var:-}
	if [ -z "$p" ]; then
		for p in "${FLOCKER_BINARY_DIR:-.}/tests/$name" "${FLOCKER_BINARY_DIR:-.}/$name"; do
			[ -x "$p" ] && break
		done
	fi
	if [ ! -x "$p" ]; then
		fail "cannot find $name (set $var or FLOCKER_BINARY_DIR)"
	fi
	echo "$p"
}

POSIX_CONFORMANCE=$(find_prog POSIX_CONFORMANCE posix_conformance) || exit 1
FSMODEL=$(find_prog FSMODEL fsmodel) || exit 1
FSMODEL_SEED=${FSMODEL_SEED:-$(((RANDOM << 15) | RANDOM))}
FSMODEL_REMOUNT_EVERY=${FSMODEL_REMOUNT_EVERY:-2000}
FSMODEL_CHECK_EVERY=${FSMODEL_CHECK_EVERY:-200}

# A reference directory for fsmodel: on tmpfs (/dev/shm) when there is one.
ref_dir() {
	local base=/dev/shm
	if [ ! -d "$base" ] || [ "$(stat -f -c %T "$base" 2>/dev/null)" != tmpfs ]; then
		base=${TMPDIR:-/tmp}
	fi
	mktemp -d "$base/fsmodel-ref.XXXXXX"
}

CLEAN_DIRS=()
CLEAN_MOUNTS=()

local_cleanup() {
	local rc=$? m d i
	for ((i = ${#CLEAN_MOUNTS[@]} - 1; i >= 0; i--)); do
		m=${CLEAN_MOUNTS[i]}
		if mountpoint -q "$m"; then
			umount "$m" 2>/dev/null || umount -l "$m"
		fi
	done
	for d in "${CLEAN_DIRS[@]}"; do
		if mountpoint -q "$d"; then
			say "cleanup: $d is still a mount point; leaving it"
			continue
		fi
		rm -rf --one-file-system "$d"
	done
	return "$rc"
}

# ---- flockerfs modes -------------------------------------------------------------

flk_mode_setup() {
	if [ ! -c /dev/fuse ]; then
		skip "/dev/fuse is missing (no FUSE in this kernel or container)"
	fi
	. "$HERE/mount_helpers.sh"
	trap 'flk_cleanup; local_cleanup' EXIT
	flk_check_binaries || exit 1
}

# on_fresh_volume PREFIX SIZE OPTS WHAT COMMAND...: COMMAND MNT on a fresh
# volume (size limit SIZE, none when empty) mounted at MNT with OPTS; fails
# naming WHAT, with the daemon's log, when COMMAND does.
on_fresh_volume() {
	local prefix=$1 size=$2 opts=$3 what=$4 vol mnt rc
	shift 4
	flk_mode_setup
	vol=$(flk_new_volume "$prefix" "$size") || fail "cannot create a volume${size:+ of $size}"
	mnt=$(mktemp -d "${TMPDIR:-/tmp}/flk-$prefix.XXXXXX")
	CLEAN_DIRS+=("$mnt")
	flk_mount "$vol" "$mnt" "$opts" || fail "cannot mount volume $vol"
	say "$what on volume $vol${size:+ ($size)} at $mnt${opts:+ (-o $opts)}"
	"$@" "$mnt"
	rc=$?
	flk_umount "$mnt" "$vol" || fail "unmounting $vol failed"
	if [ "$rc" != 0 ]; then
		flk_print_log "$(flk_log_for "$vol")"
		fail "$what failed on flockerfs (exit status $rc)"
	fi
	say "passed"
}

run_conformance() {
	on_fresh_volume posix "" "${FLOCKER_POSIX_MOUNT_OPTS:-}" posix_conformance "$POSIX_CONFORMANCE"
}

run_model() {
	local vol mnt ref rc ops=${FSMODEL_OPS:-20000} snapdir
	local -a snapargs=()
	flk_mode_setup
	vol=$(flk_new_volume fsmodel) || fail "cannot create a volume"
	mnt=$(mktemp -d "${TMPDIR:-/tmp}/flk-model.XXXXXX")
	ref=$(ref_dir)
	CLEAN_DIRS+=("$mnt" "$ref")
	if [ "${FSMODEL_SNAP_EVERY:-0}" != 0 ]; then
		snapdir=$(ref_dir)
		CLEAN_DIRS+=("$snapdir")
		snapargs=(--snap-cmd "'$SELF' _snap_flk '$vol' '$mnt'" --snap-dir "$snapdir"
			--snap-every "$FSMODEL_SNAP_EVERY")
	fi
	flk_mount "$vol" "$mnt" "${FLOCKER_POSIX_MOUNT_OPTS:-}" || fail "cannot mount volume $vol"
	say "fsmodel seed $FSMODEL_SEED, $ops ops on volume $vol at $mnt${FLOCKER_POSIX_MOUNT_OPTS:+ (-o $FLOCKER_POSIX_MOUNT_OPTS)}, reference $ref${snapargs[*]:+, snapshot events every $FSMODEL_SNAP_EVERY}"
	"$FSMODEL" --seed "$FSMODEL_SEED" --ops "$ops" --dir "$mnt" --ref "$ref" \
		--check-every "$FSMODEL_CHECK_EVERY" \
		--remount-cmd "'$SELF' _remount_flk '$vol' '$mnt'" \
		--remount-every "$FSMODEL_REMOUNT_EVERY" "${snapargs[@]}"
	rc=$?
	if mountpoint -q "$mnt"; then
		flk_umount "$mnt" "$vol" || fail "unmounting $vol failed"
	fi
	if [ "$rc" != 0 ]; then
		flk_print_log "$(flk_log_for "$vol")"
		fail "fsmodel failed on flockerfs (exit status $rc, seed $FSMODEL_SEED)"
	fi
	say "passed"
}

run_sizelimit() {
	on_fresh_volume sizelimit 64M "" "size limit checks" \
		env FLOCKER_TEST_SIZE_LIMIT=67108864 "$POSIX_CONFORMANCE" --only enospc
}

# ---- local filesystems ---------------------------------------------------------------

run_local() {
	local work tmpfs ext4 img small ref rc failed=0 ops=${FSMODEL_OPS:-10000}
	trap local_cleanup EXIT
	for p in mkfs.ext4 losetup mountpoint; do
		command -v "$p" >/dev/null || fail "$p is not installed (needed for the ext4 image)"
	done
	[ -e /dev/loop-control ] || fail "no loop devices (/dev/loop-control) for the ext4 image"
	work=$(mktemp -d "${TMPDIR:-/tmp}/posix-local.XXXXXX")
	CLEAN_DIRS+=("$work")
	tmpfs=$work/tmpfs
	ext4=$work/ext4
	small=$work/small
	img=$work/ext4.img
	mkdir -p "$tmpfs" "$ext4" "$small"

	mount -t tmpfs -o size=4g,mode=0755 posix-tmpfs "$tmpfs" || fail "cannot mount a tmpfs"
	CLEAN_MOUNTS+=("$tmpfs")
	truncate -s 8G "$img" || fail "cannot create $img"
	mkfs.ext4 -q -F "$img" || fail "mkfs.ext4 $img failed"
	mount -o loop "$img" "$ext4" || fail "cannot mount the ext4 image"
	CLEAN_MOUNTS+=("$ext4")
	mount -t tmpfs -o size=64m,mode=0755 posix-small "$small" || fail "cannot mount a small tmpfs"
	CLEAN_MOUNTS+=("$small")

	say "posix_conformance on tmpfs"
	"$POSIX_CONFORMANCE" "$tmpfs" || { say "posix_conformance failed on tmpfs"; failed=1; }
	say "posix_conformance on ext4"
	"$POSIX_CONFORMANCE" "$ext4" || { say "posix_conformance failed on ext4"; failed=1; }
	say "posix_conformance size limit checks on a 64 MiB tmpfs"
	FLOCKER_TEST_SIZE_LIMIT=67108864 "$POSIX_CONFORMANCE" --only enospc "$small" ||
		{ say "size limit checks failed on tmpfs"; failed=1; }

	mkdir "$ext4/model"
	ref=$(ref_dir)
	CLEAN_DIRS+=("$ref")
	say "fsmodel ext4 vs tmpfs, seed $FSMODEL_SEED, $ops ops, remounting the ext4"
	"$FSMODEL" --seed "$FSMODEL_SEED" --ops "$ops" --dir "$ext4/model" --ref "$ref" \
		--check-every "$FSMODEL_CHECK_EVERY" \
		--remount-cmd "'$SELF' _remount_loop '$img' '$ext4'" \
		--remount-every "$FSMODEL_REMOUNT_EVERY" ||
		{ say "fsmodel failed: ext4 vs tmpfs, seed $FSMODEL_SEED"; failed=1; }
	rm -rf "$ref"
	mkdir "$ref" "$tmpfs/model"
	say "fsmodel tmpfs vs tmpfs, seed $FSMODEL_SEED, $ops ops"
	"$FSMODEL" --seed "$FSMODEL_SEED" --ops "$ops" --dir "$tmpfs/model" --ref "$ref" \
		--check-every "$FSMODEL_CHECK_EVERY" ||
		{ say "fsmodel failed: tmpfs vs tmpfs, seed $FSMODEL_SEED"; failed=1; }

	if [ "$failed" != 0 ]; then
		fail "local filesystems failed the checks (see above)"
	fi
	say "passed"
}

case "$MODE" in
conformance) run_conformance ;;
model) run_model ;;
sizelimit) run_sizelimit ;;
local) run_local ;;
esac
exit 0
