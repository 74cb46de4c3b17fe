# shellcheck shell=bash
# lib.sh - helpers shared by the crash, fencing, Ceph fault and fsck damage
# tests.  Sourced; the caller runs with set -euo pipefail and sets PROG.
# The counters (NPASS, NFAIL) come from tests/lib/common.sh.
#
# Expects FLOCKER_BINARY_DIR (mount.flockerfs, flockerctl), and for the
# cluster CEPH_CONF and CEPH_ARGS as the "ceph" fixture exports them.

# shellcheck source=../lib/common.sh
. "${BASH_SOURCE[0]%/*}/../lib/common.sh"

say() {
	printf '%s: %s\n' "$PROG" "$*"
}

# One line per check, counted: ok WHAT / bad WHY.
ok() { count_pass "ok: $*"; }
bad() { count_fail "FAIL: $*"; }

skip() {
	say "SKIP: $*"
	exit 77
}

# finish: the counts; exit 0 when no check failed.  A test with more to say
# at the end defines finish_hook.
finish() {
	if declare -F finish_hook >/dev/null; then
		finish_hook
	fi
	echo "$NPASS passed, $NFAIL failed"
	[ "$NFAIL" = 0 ] && exit 0
	exit 1
}

# remove_work: deletes $WORK when no check failed, else says where its logs are
remove_work() {
	if [ "$NFAIL" = 0 ]; then
		rm -rf "$WORK"
	else
		say "logs kept in $WORK"
	fi
}

need_root_and_fuse() {
	[ "$(id -u)" = 0 ] || skip "needs root (FUSE mounts with allow_other, umount, namespaces)"
	[ -c /dev/fuse ] || skip "no /dev/fuse on this machine"
}

find_binaries() {
	: "${FLOCKER_BINARY_DIR:?FLOCKER_BINARY_DIR is not set (run through ctest)}"
	MOUNT_BIN=$FLOCKER_BINARY_DIR/fs/mount.flockerfs
	CTL=$FLOCKER_BINARY_DIR/cluster/flockerctl
	[ -x "$MOUNT_BIN" ] || { say "FAIL: no $MOUNT_BIN (build first)"; echo "0 passed, 1 failed"; exit 1; }
	[ -x "$CTL" ] || { say "FAIL: no $CTL (build first)"; echo "0 passed, 1 failed"; exit 1; }
}

# 0 when "flockerctl fsck" exists; else 1 with the reason in FSCK_WHY.
# "flockerctl fsck --help" exits 0 even without fsck (--help is global), so
# the answer must also talk about fsck.
check_fsck_available() {
	local rc=0 out
	out=$("$CTL" fsck --help 2>&1) || rc=$?
	if [ "$rc" = 0 ] && grep -q fsck <<<"$out"; then
		FSCK_WHY=
		return 0
	fi
	rc=0
	out=$("$CTL" fsck 2>&1) || rc=$?
	if grep -q 'flockerctl fsck' <<<"$out"; then
		FSCK_WHY=
		return 0
	fi
	FSCK_WHY="'flockerctl fsck' exits $rc and does not know fsck: $(printf '%s' "$out" | sed -n 1,1p)"
	return 1
}

# fsck_clean VOL WHAT: runs flockerctl fsck VOL; 0 when it reports the volume
# clean (exit 0), else prints its output and returns 1.
fsck_clean() {
	local vol=$1 what=$2 out rc=0
	out=$(timeout 120 "$CTL" fsck "$vol" 2>&1) || rc=$?
	if [ "$rc" = 0 ]; then
		return 0
	fi
	say "FAIL: $what: flockerctl fsck $vol exits $rc:"
	printf '%s\n' "$out" | sed -n 1,40p | sed 's/^/    /'
	return 1
}

# check_fsck VOL WHAT: one check, that flockerctl fsck reports VOL clean
# (fsck_clean); failed too when fsck is missing (FSCK_WHY, set by
# check_fsck_available)
check_fsck() {
	if [ -n "${FSCK_WHY:-}" ]; then
		bad "flockerctl fsck is missing ($FSCK_WHY)"
	elif fsck_clean "$1" "$2"; then
		ok "fsck clean"
	else
		NFAIL=$((NFAIL + 1))
	fi
}

volume_create() {
	"$CTL" volume create "$1" --block-size "${2:-64K}" >/dev/null
}

# Pids of flockerctl volume remove running in the background (one at a time).
BG_REMOVE=
volume_remove_bg() {
	if [ -n "$BG_REMOVE" ]; then
		wait "$BG_REMOVE" 2>/dev/null || true
	fi
	"$CTL" volume remove "$1" >/dev/null 2>&1 &
	BG_REMOVE=$!
}

wait_bg_removes() {
	if [ -n "$BG_REMOVE" ]; then
		wait "$BG_REMOVE" 2>/dev/null || true
		BG_REMOVE=
	fi
}

# The pid of the daemon serving volume VOL (at DIR, when given; "" if none).
daemon_pid() {
	pgrep -f -- "mount.flockerfs $1 ${2:-}" | sed -n 1,1p || true
}

# Daemon pids this script started, for the cleanup.
STARTED_PIDS=()

# mount_volume VOL DIR OPTS: mounts (daemonized) and records the daemon's pid
# in STARTED_PIDS; on failure MOUNT_ERR says why.  Not in $(...): the pid
# must reach this shell.
MOUNT_ERR=
mount_volume() {
	local rc=0 pid
	MOUNT_ERR=$(timeout 60 "$MOUNT_BIN" "$1" "$2" -o "$3" 2>&1) || rc=$?
	if [ "$rc" != 0 ]; then
		MOUNT_ERR="exit $rc: $MOUNT_ERR"
		return 1
	fi
	pid=$(daemon_pid "$1" "$2")
	[ -z "$pid" ] || STARTED_PIDS+=("$pid")
	return 0
}

# daemon_stacks PID: the kernel and user stacks of a stuck daemon, for the log.
daemon_stacks() {
	local pid=$1 t bt
	[ -e "/proc/$pid" ] || return 0
	echo "--- threads of pid $pid (kernel stacks):"
	for t in /proc/"$pid"/task/*; do
		printf '%s %s: %s\n' "${t##*/}" "$(cat "$t/comm" 2>/dev/null)" \
			"$(head -4 "$t/stack" 2>/dev/null | awk '{print $2}' | tr '\n' ' ')"
	done
	if command -v gdb >/dev/null 2>&1; then
		echo "--- gdb backtraces:"
		bt=$(timeout 60 gdb -p "$pid" -batch -ex 'thread apply all bt 12' 2>/dev/null || true)
		grep -E '^(Thread|#)' <<<"$bt" | sed -n 1,200p || true
	fi
	return 0
}

# wait_gone PID SECS: until PID has exited (or is a zombie).
wait_gone() {
	local pid=$1 secs=$2 i state
	for ((i = 0; i < secs * 50; i++)); do
		[ -e "/proc/$pid" ] || return 0
		state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo X)
		case $state in Z | X) return 0 ;; esac
		sleep 0.02
	done
	return 1
}

# unmount_wait VOL DIR [STACKS-FILE]: umount, then wait for the daemon to
# exit (60s); when it does not, its stacks go to STACKS-FILE (or stdout).
unmount_wait() {
	local vol=$1 dir=$2 out=${3:-/dev/stdout} pid
	pid=$(daemon_pid "$vol" "$dir")
	umount -i "$dir" 2>/dev/null || umount -i -l "$dir" 2>/dev/null || true
	[ -z "$pid" ] && return 0
	wait_gone "$pid" 60 && return 0
	daemon_stacks "$pid" >>"$out" 2>&1
	return 1
}

is_mounted() {
	findmnt -rn -M "$1" >/dev/null 2>&1
}

cleanup_all() {
	local pid d
	for d in "${CLEANUP_MOUNTS[@]:-}" "${MNT:-}"; do
		[ -n "$d" ] || continue
		while is_mounted "$d"; do
			umount -i -l "$d" 2>/dev/null || break
		done
	done
	for pid in "${STARTED_PIDS[@]:-}"; do
		[ -n "$pid" ] || continue
		if [ -e "/proc/$pid" ] && grep -q mount.flockerfs <<<"$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"; then
			kill -CONT "$pid" 2>/dev/null || true
			kill -9 "$pid" 2>/dev/null || true
		fi
	done
	wait_bg_removes
}
