#!/usr/bin/env bash
# quickstart.sh - from a fresh clone to a mounted volume on one machine.
#
# Installs missing packages, builds build/, installs flockerfs (cmake
# --install, prefix /usr/local), starts the dev Ceph cluster (bluestore, in
# the default directory), creates volume-1 and mounts it at /mnt/volume-1
# (when the installed tools can). Running it again reuses what is there.
#
# usage: quickstart.sh [--no-deps] [--prefix DIR] [--dir CLUSTER_DIR]
set -euo pipefail

PROG=${0##*/}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=/usr/local
CLUSTER_DIR=
DEPS=1
VOLUME=volume-1
MOUNTPOINT=/mnt/volume-1
DONE=()

usage() {
	sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"
}

die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

say() {
	printf '%s: %s\n' "$PROG" "$*" >&2
}

# Find an installed program in the prefix first, then in PATH.
find_tool() {
	local d
	for d in "$PREFIX/sbin" "$PREFIX/bin"; do
		if [ -x "$d/$1" ]; then
			echo "$d/$1"
			return 0
		fi
	done
	command -v "$1" 2>/dev/null
}

create_volume() {
	local ctl out
	if ! ctl=$(find_tool flockerctl); then
		say "flockerctl is not built yet: no volume created"
		return 0
	fi
	if ! "$ctl" volume create --help >/dev/null 2>&1; then
		say "$ctl has no 'volume create' yet: no volume created"
		return 0
	fi
	if out=$("$ctl" volume create "$VOLUME" 2>&1); then
		DONE+=("created volume $VOLUME")
	elif grep -qi 'exist' <<<"$out"; then
		DONE+=("volume $VOLUME already exists: reused")
	else
		printf '%s\n' "$out" >&2
		die "cannot create volume $VOLUME"
	fi
}

mount_volume() {
	local helper pid rc i log=$ROOT/build/quickstart-mount.log
	if ! helper=$(find_tool mount.flockerfs); then
		say "mount.flockerfs is not built yet: nothing mounted"
		return 0
	fi
	if mountpoint -q "$MOUNTPOINT" 2>/dev/null; then
		DONE+=("$MOUNTPOINT is already mounted: left as it is")
		return 0
	fi
	if ! stat "$MOUNTPOINT" >/dev/null 2>&1 && grep -qs " $MOUNTPOINT " /proc/mounts; then
		# A mount whose daemon died ("Transport endpoint is not connected").
		say "$MOUNTPOINT is a dead mount; unmounting it"
		umount "$MOUNTPOINT" 2>/dev/null || umount -l "$MOUNTPOINT" ||
			die "cannot unmount the dead mount at $MOUNTPOINT"
	fi
	mkdir -p "$MOUNTPOINT"
	# The helper normally returns once mounted; should it stay in the
	# foreground, it runs on detached and the mount is what counts.
	setsid "$helper" "$VOLUME" "$MOUNTPOINT" </dev/null >"$log" 2>&1 &
	pid=$!
	for ((i = 0; i < 600; i++)); do
		if mountpoint -q "$MOUNTPOINT" 2>/dev/null; then
			DONE+=("mounted $VOLUME at $MOUNTPOINT")
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			rc=0
			wait "$pid" || rc=$?
			if [ "$rc" != 0 ]; then
				tail -n 20 "$log" >&2
				die "cannot mount $VOLUME at $MOUNTPOINT: $helper exited with status $rc (log: $log)"
			fi
		fi
		sleep 0.1
	done
	kill "$pid" 2>/dev/null || true
	tail -n 20 "$log" >&2
	die "cannot mount $VOLUME at $MOUNTPOINT: not mounted after 60s (log: $log)"
}

main() {
	local dc_args=() env_out dc_hint=
	while [ $# -gt 0 ]; do
		case $1 in
		--no-deps) DEPS=0 ;;
		--prefix)
			[ $# -ge 2 ] || die "option '$1' needs a value"
			PREFIX=$2
			shift
			;;
		--dir)
			[ $# -ge 2 ] || die "option '$1' needs a value"
			CLUSTER_DIR=$2
			shift
			;;
		-h | --help)
			usage
			exit 0
			;;
		*) die "unknown argument '$1' (see --help)" ;;
		esac
		shift
	done
	if [ -n "$CLUSTER_DIR" ]; then
		dc_args=(--dir "$CLUSTER_DIR")
		dc_hint=" --dir $CLUSTER_DIR"
	fi
	cd "$ROOT"

	if [ "$DEPS" = 1 ]; then
		"$ROOT/contrib/install-deps.sh" || die "cannot install the dependencies"
	fi

	say "building build/"
	cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_INSTALL_PREFIX="$PREFIX" >/dev/null || die "cannot configure build/"
	cmake --build "$ROOT/build" -j 2 || die "cannot build build/"
	cmake --install "$ROOT/build" >/dev/null || die "cannot install build/ into $PREFIX"
	DONE+=("built build/ and installed it into $PREFIX")

	"$ROOT/contrib/dev-cluster.sh" start "${dc_args[@]}" || die "cannot start the dev cluster"
	env_out=$("$ROOT/contrib/dev-cluster.sh" env "${dc_args[@]}")
	eval "$env_out"
	DONE+=("dev cluster running (CEPH_CONF=$CEPH_CONF)")

	create_volume
	mount_volume

	cat <<EOF

$PROG: done:
$(printf '  - %s\n' "${DONE[@]}")

Try next:
  ${env_out//$'\n'/$'\n'  }
  ceph -s                                  # the cluster, as client.flocker
  rados -p flocker --all ls                # the objects of every volume
EOF
	if mountpoint -q "$MOUNTPOINT" 2>/dev/null; then
		cat <<EOF
  ls -la $MOUNTPOINT; cp -r /etc $MOUNTPOINT/   # plain POSIX
  umount $MOUNTPOINT
EOF
	fi
	cat <<EOF
  $ROOT/contrib/dev-cluster.sh status$dc_hint
  $ROOT/contrib/dev-cluster.sh stop$dc_hint     # after unmounting; start again later: data is kept
EOF
}

main "$@"
