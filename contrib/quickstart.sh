#!/usr/bin/env bash
# quickstart.sh - from a fresh clone to a mounted volume on one machine.
#
# Installs missing packages, builds build/, installs flockerfs (cmake
# --install, prefix /usr/local), starts the dev Ceph cluster (bluestore, in
# the default directory), creates volume-1, starts flocker-agent (the Docker
# volume plugin, standalone) and mounts volume-1 through it, bind-mounted at
# /mnt/volume-1, so that `docker run -v volume-1:/data` shares that mount.
# Running it again reuses what is there.
#
# usage: quickstart.sh [--no-deps] [--prefix DIR] [--dir CLUSTER_DIR]
set -euo pipefail

# shellcheck source=contrib/lib.sh
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=/usr/local
CLUSTER_DIR=
DEPS=1
VOLUME=volume-1
MOUNTPOINT=/mnt/volume-1
PLUGIN_SOCKET=/run/docker/plugins/flocker.sock
DONE=()

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

# plugin_call ENDPOINT JSON: POSTs to the agent's plugin socket, prints the reply.
plugin_call() {
	python3 - "$PLUGIN_SOCKET" "$1" "$2" <<'PY'
import http.client, socket, sys
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(90)
        self.sock.connect(sys.argv[1])
c = Conn("localhost")
c.request("POST", "/VolumeDriver." + sys.argv[2], sys.argv[3],
          {"Content-Type": "application/vnd.docker.plugins.v1+json"})
print(c.getresponse().read().decode())
PY
}

# Starts flocker-agent (standalone) unless one serves the plugin socket already.
start_agent() {
	local agent i log=$ROOT/build/quickstart-agent.log
	if ! agent=$(find_tool flocker-agent); then
		say "flocker-agent is not built: no Docker plugin"
		return 1
	fi
	if [ -S "$PLUGIN_SOCKET" ] && plugin_call Capabilities '{}' >/dev/null 2>&1; then
		DONE+=("flocker-agent already serves $PLUGIN_SOCKET")
		return 0
	fi
	setsid "$agent" -c "$CEPH_CONF" --id flocker >"$log" 2>&1 </dev/null &
	for ((i = 0; i < 100; i++)); do
		if [ -S "$PLUGIN_SOCKET" ] && plugin_call Capabilities '{}' >/dev/null 2>&1; then
			DONE+=("started flocker-agent: Docker volume plugin 'flocker' at $PLUGIN_SOCKET (log: $log)")
			return 0
		fi
		sleep 0.2
	done
	say "flocker-agent did not come up (log: $log)"
	return 1
}

# Mounts volume-1 through the agent (mount ID "quickstart") and binds it at MOUNTPOINT.
mount_through_agent() {
	local reply path
	if mountpoint -q "$MOUNTPOINT" 2>/dev/null; then
		DONE+=("$MOUNTPOINT is already mounted: left as it is")
		return 0
	fi
	reply=$(plugin_call Mount "{\"Name\": \"$VOLUME\", \"ID\": \"quickstart\"}") ||
		die "cannot ask flocker-agent to mount $VOLUME"
	path=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r.get("Mountpoint","")); sys.exit(1 if r.get("Err") else 0)' "$reply") ||
		die "flocker-agent cannot mount $VOLUME: $reply"
	mkdir -p "$MOUNTPOINT"
	mount --bind "$path" "$MOUNTPOINT" || die "cannot bind $path at $MOUNTPOINT"
	DONE+=("mounted $VOLUME through flocker-agent at $path, bound at $MOUNTPOINT")
}

main() {
	local dc_args=() env_out dc_hint=
	parse_options '--no-deps DEPS=0' '--prefix PREFIX' '--dir CLUSTER_DIR' -- "$@"
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
	if start_agent; then
		mount_through_agent
	else
		mount_volume
	fi

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
  umount $MOUNTPOINT                       # a plain mount; a bind when the agent mounted it
EOF
	fi
	if [ -S "$PLUGIN_SOCKET" ]; then
		cat <<EOF
  docker volume create -d flocker -o size=10G volume-2
  docker run --rm -v volume-1:/data IMAGE ls /data     # the same tree as $MOUNTPOINT
EOF
		if ! docker info >/dev/null 2>&1; then
			cat <<EOF
  (no dockerd answers here: start one, e.g. dockerd --storage-driver vfs &,
   and import an image: a tar of busybox-static | docker import - busybox)
EOF
		fi
	fi
	cat <<EOF
  $ROOT/contrib/dev-cluster.sh status$dc_hint
  $ROOT/contrib/dev-cluster.sh stop$dc_hint     # after unmounting; start again later: data is kept
EOF
}

main "$@"
