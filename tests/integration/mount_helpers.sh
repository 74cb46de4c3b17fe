# shellcheck shell=bash
# mount_helpers.sh - bash functions for integration tests that create, mount,
# unmount and remove flockerfs volumes.  Source it:
#
#   . "$(dirname "$0")/mount_helpers.sh"
#   trap flk_cleanup EXIT
#   vol=$(flk_new_volume posix 1G) || exit 1
#   flk_mount "$vol" "$mnt" || exit 1
#   ...
#   flk_umount "$mnt" "$vol" || exit 1
#
# Programs: $FLOCKER_BINARY_DIR/fs/mount.flockerfs and
# $FLOCKER_BINARY_DIR/cluster/flockerctl.  The cluster comes from CEPH_CONF
# and CEPH_ARGS (e.g. "--id flocker"), as set by tests/cluster.cmake.
#
# What was created and mounted is recorded under $FLK_STATE_DIR (made on
# first use and exported, so that helper commands run from a test program,
# e.g. an fsmodel --remount-cmd, share it); flk_cleanup undoes all of it.
# Daemon logs (-o log=...) live there too and are printed when a mount or
# an unmount goes wrong.

FLK_MOUNT_BIN=${FLOCKER_BINARY_DIR:-.}/fs/mount.flockerfs
FLK_CTL_BIN=${FLOCKER_BINARY_DIR:-.}/cluster/flockerctl
# Seconds to wait for a daemon to exit after its volume was unmounted.
FLK_DAEMON_EXIT_TIMEOUT=${FLK_DAEMON_EXIT_TIMEOUT:-60}

if [ -z "${FLK_STATE_DIR:-}" ]; then
	FLK_STATE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/flk-test.XXXXXX") || return 1 2>/dev/null || exit 1
	export FLK_STATE_DIR
	FLK_STATE_OWNER=$$
fi

flk_say() {
	echo "${0##*/}: $*" >&2
}

# flk_check_binaries: fails with a message unless both programs exist.
flk_check_binaries() {
	local b
	for b in "$FLK_MOUNT_BIN" "$FLK_CTL_BIN"; do
		if [ ! -x "$b" ]; then
			flk_say "missing program $b (set FLOCKER_BINARY_DIR to the build tree)"
			return 1
		fi
	done
}

# flk_print_log FILE: the last lines of a daemon log, on stderr.
flk_print_log() {
	local f=$1
	if [ -s "$f" ]; then
		echo "---- daemon log $f (last 200 lines) ----" >&2
		tail -n 200 "$f" >&2
		echo "---- end of daemon log ----" >&2
	else
		echo "---- daemon log $f is empty or missing ----" >&2
	fi
}

# flk_new_volume PREFIX [SIZE]: creates a volume with a unique name and
# prints the name.
flk_new_volume() {
	local prefix=$1 size=${2:-} name out
	local -a args
	name="$prefix-$$-$RANDOM"
	args=(volume create "$name")
	if [ -n "$size" ]; then
		args+=(--size "$size")
	fi
	if ! out=$("$FLK_CTL_BIN" "${args[@]}" 2>&1); then
		flk_say "cannot create volume $name: flockerctl ${args[*]}: $out"
		return 1
	fi
	echo "$name" >>"$FLK_STATE_DIR/volumes"
	echo "$name"
}

# flk_log_for NAME: the daemon log file used for volume NAME.
flk_log_for() {
	echo "$FLK_STATE_DIR/mount-$1.log"
}

# flk_daemon_pids NAME: pids of mount.flockerfs processes serving NAME.
flk_daemon_pids() {
	pgrep -f "mount\.flockerfs $1 " || true
}

# flk_mount NAME DIR [OPTS]: mounts volume NAME at DIR; OPTS are extra -o
# options.  Prints the daemon log when the mount fails.
flk_mount() {
	local name=$1 dir=$2 extra=${3:-} log opts out
	log=$(flk_log_for "$name")
	echo "==== mount $name at $dir ($(date '+%F %T')) ====" >>"$log"
	opts="log=$log"
	if [ -n "$extra" ]; then
		opts="$opts,$extra"
	fi
	if ! out=$("$FLK_MOUNT_BIN" "$name" "$dir" -o "$opts" 2>&1); then
		flk_say "mount.flockerfs $name $dir -o $opts failed: $out"
		flk_print_log "$log"
		return 1
	fi
	if ! mountpoint -q "$dir"; then
		flk_say "mount.flockerfs $name $dir returned success but $dir is not a mount point"
		flk_print_log "$log"
		return 1
	fi
	echo "$dir $name" >>"$FLK_STATE_DIR/mounts"
	return 0
}

# flk_wait_daemon_exit NAME: waits until no daemon serves NAME any more.
flk_wait_daemon_exit() {
	local name=$1 i pids
	for ((i = 0; i < FLK_DAEMON_EXIT_TIMEOUT * 10; i++)); do
		pids=$(flk_daemon_pids "$name")
		if [ -z "$pids" ]; then
			return 0
		fi
		sleep 0.1
	done
	flk_say "the daemon of volume $name is still running ${FLK_DAEMON_EXIT_TIMEOUT} s after unmount (pids ${pids//$'\n'/ })"
	return 1
}

# flk_umount DIR NAME: unmounts DIR, then waits until the daemon of NAME has
# exited (it holds the volume's lock until then).  On failure it detaches
# the mount lazily (fusermount3 -u -z), prints the log and returns 1.
flk_umount() {
	local dir=$1 name=$2 i out rc=0
	for ((i = 0; i < 50; i++)); do
		if out=$(umount "$dir" 2>&1); then
			break
		fi
		sleep 0.1
	done
	if mountpoint -q "$dir"; then
		flk_say "umount $dir failed: $out; detaching it with fusermount3 -u -z"
		fusermount3 -u -z "$dir" >&2 || umount -l "$dir" >&2
		rc=1
	fi
	if ! flk_wait_daemon_exit "$name"; then
		rc=1
	fi
	if [ -f "$FLK_STATE_DIR/mounts" ]; then
		grep -v -F -x "$dir $name" "$FLK_STATE_DIR/mounts" >"$FLK_STATE_DIR/mounts.new" || true
		mv "$FLK_STATE_DIR/mounts.new" "$FLK_STATE_DIR/mounts"
	fi
	if [ "$rc" != 0 ]; then
		flk_print_log "$(flk_log_for "$name")"
	fi
	return "$rc"
}

# flk_remount NAME DIR [OPTS]: unmount, wait for the daemon, mount again.
flk_remount() {
	flk_umount "$2" "$1" && flk_mount "$1" "$2" "${3:-}"
}

# flk_cleanup: trap handler; unmounts everything the test mounted, removes
# its volumes and its state directory.  Keeps the exit status.
flk_cleanup() {
	local rc=$? dir name out
	if [ "${FLK_STATE_OWNER:-}" != "$$" ]; then
		return "$rc"
	fi
	if [ -f "$FLK_STATE_DIR/mounts" ]; then
		tac "$FLK_STATE_DIR/mounts" | while read -r dir name; do
			if mountpoint -q "$dir"; then
				flk_say "cleanup: unmounting $dir ($name)"
				flk_umount "$dir" "$name" || true
			fi
		done
	fi
	if [ -f "$FLK_STATE_DIR/volumes" ]; then
		while read -r name; do
			if [ -n "$(flk_daemon_pids "$name")" ]; then
				flk_wait_daemon_exit "$name" || true
			fi
			if ! out=$("$FLK_CTL_BIN" volume remove "$name" 2>&1); then
				flk_say "cleanup: cannot remove volume $name: $out"
			fi
		done < <(tac "$FLK_STATE_DIR/volumes") # clones (made later) before their parents
	fi
	rm -rf "$FLK_STATE_DIR"
	return "$rc"
}
