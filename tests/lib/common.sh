# shellcheck shell=bash
# common.sh - the set-up the integration scripts on real mounts share
# (tests/integration/*.sh, tests/bench/scattered.sh); the lib.sh of
# tests/control and tests/docker take PROG and free_port from it and keep
# their own say, fail and skip; tests/crash/lib.sh takes its counters.
# Source it first:
#
#   set -uo pipefail
#   . "$(dirname "$0")/../lib/common.sh"
#   need_root_fuse
#   flk_setup TAG          # mount_helpers.sh, $WORK, $MNT, the EXIT trap
#
# It sets PROG (the script's name, unless the script set it before), HERE (the script's folder) and adds the
# sbin folders to PATH (umount, mountpoint).  say prints on stderr; fail
# says why, runs the script's fail_hook when it defines one (e.g. to print
# a daemon log) and exits 1; skip exits 77 with the reason on stdout.

PROG=${PROG:-${0##*/}}
# shellcheck disable=SC2034 # for the scripts
HERE=$(cd "$(dirname "$0")" && pwd)
PATH=$PATH:/usr/sbin:/sbin
export PATH

say() {
	echo "$PROG: $*" >&2
}

fail() {
	say "FAILED: $*"
	if declare -F fail_hook >/dev/null; then
		fail_hook
	fi
	exit 1
}

skip() {
	echo "$PROG: SKIP: $*"
	exit 77
}

# The counters of the scripts that go on after a failed check (tests/crash,
# tests/docker): count_pass LINE and count_fail LINE count one check and say
# LINE (with the words each lib.sh puts first); NPASS and NFAIL are the counts.
NPASS=0
NFAIL=0
count_pass() {
	NPASS=$((NPASS + 1))
	say "$*"
}
count_fail() {
	NFAIL=$((NFAIL + 1))
	say "$*"
}

# free_port: a TCP port of 127.0.0.1 that nothing listens on (bound, closed again).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# need_root_fuse: skips unless root with /dev/fuse (every flockerfs mount).
need_root_fuse() {
	[ "$(id -u)" = 0 ] || skip "must run as root (mounts filesystems)"
	[ -c /dev/fuse ] || skip "/dev/fuse is missing (no FUSE in this kernel or container)"
}

# flk_begin: skips unless root with FUSE, sources mount_helpers.sh, sets the
# EXIT trap (flk_cleanup) and checks that the programs are built.
flk_begin() {
	need_root_fuse
	# shellcheck source=../integration/mount_helpers.sh
	. "${BASH_SOURCE[0]%/*}/../integration/mount_helpers.sh"
	trap flk_cleanup EXIT
	flk_check_binaries || exit 1
}

# flk_setup TAG: sources tests/integration/mount_helpers.sh, makes the work
# directory $WORK (flk-TAG.XXXXXX under TMPDIR) with the mount point
# $MNT=$WORK/mnt, sets the EXIT trap (flk_cleanup_all) and checks that the
# programs are built.  A script with more to undo defines test_cleanup; it
# runs first in the trap, before the volumes are unmounted and removed.
flk_setup() {
	# shellcheck source=../integration/mount_helpers.sh
	. "${BASH_SOURCE[0]%/*}/../integration/mount_helpers.sh"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/flk-$1.XXXXXX") || fail "cannot create a work directory"
	MNT=$WORK/mnt
	mkdir -p "$MNT"
	trap flk_cleanup_all EXIT
	flk_check_binaries || exit 1
}

flk_cleanup_all() {
	local rc=$?
	if declare -F test_cleanup >/dev/null; then
		test_cleanup
	fi
	flk_cleanup
	rm -rf --one-file-system "$WORK"
	return "$rc"
}
