# lib.sh - "hosts" for the Docker plugin tests: sourced by docker_*.sh.
#
# A host is a UTS + mount namespace (its own host name, its own
# /run/docker/plugins) held open by a sleeping process, with its own
# flocker-agent and, when asked, its own dockerd (own data-root, exec-root,
# pidfile and API socket, no network: --bridge none, no iptables, vfs
# storage).  Everything lives under one temporary directory $WORK; the EXIT
# trap stops every process the test started, unmounts what its agents
# mounted, removes the test's volumes and the directory.
#
# The test cluster comes from the ctest fixture "ceph" (tests/cluster.cmake):
# CEPH_CONF, CEPH_ARGS="--id flocker", FLOCKER_POOL, FLOCKER_BINARY_DIR.

set -uo pipefail

# PROG, free_port, the counters; say, fail and skip are this file's own (below)
# shellcheck source=../lib/common.sh
. "${BASH_SOURCE[0]%/*}/../lib/common.sh"
BIN=${FLOCKER_BINARY_DIR:?run through ctest: FLOCKER_BINARY_DIR is not set}
POOL=${FLOCKER_POOL:-flocker}
AGENT=$BIN/plugin/flocker-agent
MOUNT_HELPER=$BIN/fs/mount.flockerfs
UMOUNT_HELPER=$BIN/fs/umount.fuse.flockerfs
FLOCKERCTL=$BIN/cluster/flockerctl
# the CLI that matches Debian's dockerd, else whatever is on PATH
if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=$(command -v docker || true); fi
IMAGE=flocker-test-busybox:1

WORK=
HOSTS=()
VOLUMES=()

say() { printf '%s: %s\n' "$PROG" "$*"; }
pass() { count_pass "ok - $*"; }
fail() { count_fail "FAIL - $*"; }
# check DESCRIPTION COMMAND...: pass or fail on the command's status
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
# not COMMAND...: succeeds when the command fails (for check; "bash -c" would not see our functions)
not() { ! "$@" >/dev/null 2>&1; }
die() {
	say "error: $*"
	exit 1
}
skip() {
	say "SKIP: $*"
	exit 77
}

need_env() {
	[ -n "${CEPH_CONF:-}" ] || skip "CEPH_CONF is not set (run through ctest with the ceph fixture)"
	[ "$(id -u)" = 0 ] || skip "needs root"
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	command -v unshare >/dev/null && command -v nsenter >/dev/null || skip "needs unshare and nsenter (util-linux)"
	command -v dockerd >/dev/null || skip "dockerd is not installed (contrib/install-deps.sh installs docker.io)"
	[ -n "$DOCKER" ] || skip "the docker CLI is not installed"
	[ -x /bin/busybox ] || skip "busybox-static is not installed (contrib/install-deps.sh)"
	command -v jq >/dev/null || skip "jq is not installed (contrib/install-deps.sh)"
	for f in "$AGENT" "$MOUNT_HELPER" "$UMOUNT_HELPER" "$FLOCKERCTL"; do
		[ -x "$f" ] || die "$f is not built"
	done
	WORK=$(mktemp -d /tmp/flocker-docker.XXXXXX) || die "cannot create a work directory"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
}

hdir() { printf '%s/%s' "$WORK" "$1"; }
nspid() { cat "$(hdir "$1")/ns.pid"; }

# host_run HOST COMMAND...: run inside the host's namespaces
host_run() {
	local h=$1
	shift
	nsenter -t "$(nspid "$h")" -m -u -- "$@"
}

host_start() {
	local h=$1 d
	d=$(hdir "$h")
	mkdir -p "$d/plugins" "$d/mnt" "$d/state" || die "cannot create $d"
	mkdir -p /run/docker/plugins || die "cannot create /run/docker/plugins"
	# The new namespace starts with copies of every mount, FUSE ones of other
	# programs included: detach those copies at once (-i: no umount helper, which
	# would wait for their daemons), or those daemons could not finish an unmount
	# elsewhere while this host lives.
	unshare -m -u --propagation private -- sh -c \
		"awk '\$0 ~ / - fuse[.a-z0-9]* / {print \$5}' /proc/self/mountinfo | xargs -r -n1 umount -i -l;
		 hostname $h && mount --bind $d/plugins /run/docker/plugins && exec sleep 1000000" \
		</dev/null >>"$d/host.log" 2>&1 &
	echo $! >"$d/ns.pid"
	HOSTS+=("$h")
	for _ in $(seq 50); do
		[ "$(nsenter -t "$(nspid "$h")" -u hostname 2>/dev/null)" = "$h" ] &&
			host_run "$h" grep -q " /run/docker/plugins " /proc/self/mountinfo && return 0
		sleep 0.1
	done
	die "cannot start host $h"
}

# agent_start HOST [AGENT OPTIONS...]
agent_start() {
	local h=$1 d
	shift
	d=$(hdir "$h")
	nsenter -t "$(nspid "$h")" -m -u -- "$AGENT" -c "$CEPH_CONF" --id flocker --pool "$POOL" --node "$h" \
		--state-dir "$d/state" --plugin-socket "$d/plugins/flocker.sock" \
		--mount-root "$d/mnt" --mount-helper "$MOUNT_HELPER" --debug "$@" \
		>>"$d/agent.log" 2>&1 &
	echo $! >"$d/agent.pid"
	for _ in $(seq 100); do
		[ -S "$d/plugins/flocker.sock" ] && return 0
		kill -0 "$(cat "$d/agent.pid")" 2>/dev/null || break
		sleep 0.1
	done
	tail -20 "$d/agent.log"
	die "the agent of host $h did not start"
}

# stop_pid PID: SIGTERM, SIGKILL after 30 s; returns the child's exit status
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 150); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# agent_stop HOST: SIGTERM; the agent must exit with 0 (and a sanitizer build say nothing)
agent_stop() {
	local d pid rc
	d=$(hdir "$1")
	[ -f "$d/agent.pid" ] || return 0
	pid=$(cat "$d/agent.pid")
	stop_pid "$pid"
	rc=$?
	rm -f "$d/agent.pid"
	[ "$rc" -eq 0 ] || fail "the agent of host $1 exited with status $rc on SIGTERM"
	if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$d/agent.log"; then
		fail "the agent of host $1 hit a sanitizer error (see its log)"
	fi
}

# dk HOST ARGS...: the docker CLI against the host's dockerd
dk() {
	local h=$1
	shift
	DOCKER_HOST="unix://$(hdir "$h")/docker.sock" "$DOCKER" "$@"
}

# dockerd_start HOST: 0 when it answers; 1 (its log printed) when it cannot start
dockerd_start() {
	local h=$1 d
	d=$(hdir "$h")
	nsenter -t "$(nspid "$h")" -m -u -- dockerd --data-root "$d/docker" --exec-root "$d/exec" \
		--pidfile "$d/dockerd.pid" -H "unix://$d/docker.sock" \
		--bridge none --iptables=false --ip6tables=false --ip-masq=false \
		--storage-driver vfs --log-level warn >"$d/dockerd.log" 2>&1 &
	echo $! >"$d/dockerd.launcher"
	for _ in $(seq 120); do
		dk "$h" version >/dev/null 2>&1 && return 0
		kill -0 "$(cat "$d/dockerd.launcher")" 2>/dev/null || break
		sleep 0.5
	done
	say "dockerd of host $h did not start; its log:"
	tail -40 "$d/dockerd.log"
	return 1
}

dockerd_stop() {
	local d pid
	d=$(hdir "$1")
	[ -f "$d/dockerd.launcher" ] || return 0
	pid=$(cat "$d/dockerd.launcher")
	stop_pid "$pid"
	rm -f "$d/dockerd.launcher"
}

# image_load HOST: a tiny image from busybox-static (no registry here)
image_load() {
	local h=$1 root=$WORK/image c
	if [ ! -f "$WORK/image.tar" ]; then
		mkdir -p "$root/bin" "$root/tmp" "$root/data" || return 1
		cp /bin/busybox "$root/bin/busybox" || return 1
		for c in sh cat ls echo sync dd md5sum sleep true false test rm mkdir stat wc head tail touch grep; do
			ln -s busybox "$root/bin/$c"
		done
		tar -C "$root" -cf "$WORK/image.tar" . || return 1
	fi
	dk "$h" import "$WORK/image.tar" "$IMAGE" >/dev/null
}

# host_crash HOST [PID...]: the host dies.  kill -9, all in one call, its dockerd
# with the containerd it started, its flocker-agent, and the given pids (its
# mount.flockerfs daemons, container shims and processes); waits until they
# are gone, then detaches the dead FUSE mounts left in its mount namespace.
host_crash() {
	local h=$1 d p pids=() dpid apid m
	shift
	d=$(hdir "$h")
	if [ -f "$d/dockerd.launcher" ]; then
		dpid=$(cat "$d/dockerd.launcher")
		pids+=("$dpid" $(ps -o pid= --ppid "$dpid" 2>/dev/null))
	fi
	if [ -f "$d/agent.pid" ]; then
		apid=$(cat "$d/agent.pid")
		pids+=("$apid")
	fi
	pids+=("$@")
	kill -KILL "${pids[@]}" 2>/dev/null
	[ -n "${dpid:-}" ] && wait "$dpid" 2>/dev/null
	[ -n "${apid:-}" ] && wait "$apid" 2>/dev/null
	rm -f "$d/dockerd.launcher" "$d/agent.pid"
	for p in "${pids[@]}"; do
		for _ in $(seq 100); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$p" 2>/dev/null && say "warning: pid $p of host $h survived kill -9"
	done
	for m in $(host_mounts "$h"); do
		host_run "$h" umount -l "$m"
	done
	return 0
}

# the flockerfs mounts of a host's agent (mount points)
host_mounts() {
	host_run "$1" awk -v root="$(hdir "$1")/mnt/" \
		'$0 ~ / - fuse\.flockerfs / && index($5, root) == 1 {print $5}' /proc/self/mountinfo
}

# call HOST ENDPOINT JSON: the plugin protocol, straight to the host's agent; prints the reply
call() {
	python3 - "$(hdir "$1")/plugins/flocker.sock" "$2" "$3" <<'EOF'
import http.client, socket, sys
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(sys.argv[1])
c = C("localhost", timeout=70)
c.request("POST", "/" + sys.argv[2], body=sys.argv[3].encode())
print(c.getresponse().read().decode().strip())
EOF
}

# hosts_ab_start [AGENT OPTIONS...]: hosts a and b, each with its agent (given
# the options) and its dockerd, the test image loaded; skips when dockerd
# cannot start on this machine
hosts_ab_start() {
	host_start a
	host_start b
	agent_start a "$@"
	agent_start b "$@"
	dockerd_start a || skip "dockerd cannot start on this machine (log above)"
	dockerd_start b || die "a second dockerd does not start (the first did; log above)"
	image_load a && image_load b || die "cannot import the test image"
}

# writer_start HOST VOL PAUSE [sync]: a container "writer" on HOST appends
# "line N" to /data/log of VOL every PAUSE s (fsyncing each line with sync)
# until /data/stop exists, then prints "WROTE N"; a failed write or fsync
# ends it ("WRITE FAILED at N").  Checks that it runs 2 s later.
writer_start() {
	local fsync=
	[ "${4:-}" = sync ] && fsync='sync /data/log || { echo "FSYNC FAILED at $n"; exit 1; }'
	# shellcheck disable=SC2016 # $n is the container shell's
	dk "$1" run -d --name writer --network none -v "$2:/data" "$IMAGE" sh -c '
	n=0
	while [ ! -e /data/stop ]; do
		echo "line $n" >> /data/log || { echo "WRITE FAILED at $n"; exit 1; }
		'"$fsync"'
		n=$((n + 1))
		sleep '"$3"'
	done
	echo "WROTE $n"' >/dev/null || die "cannot start the writer on host $1"
	sleep 2
	check "the writer on $1 is running" [ "$(dk "$1" inspect -f '{{.State.Running}}' writer)" = true ]
}

# control_start NS [USER...]: flocker-control on loopback (the hosts share the
# network namespace), --lease 5 --heartbeat 1, state namespace NS; in
# $WORK/certs the certificates of nodes a and b and of each USER.  Sets API
# and AGP (its ports), CERTS, CONTROL_PID and CLUSTER (the agents' options).
control_start() {
	local ns=$1 h u
	shift
	CONTROL=$BIN/cluster/flocker-control
	[ -x "$CONTROL" ] || die "$CONTROL is not built"
	API=$(free_port)
	AGP=$(free_port)
	CERTS=$WORK/certs
	"$FLOCKERCTL" ca init "$CERTS" >/dev/null || die "ca init"
	for h in a b; do "$FLOCKERCTL" ca node "$h" --dir "$CERTS" >/dev/null || die "ca node $h"; done
	for u in "$@"; do "$FLOCKERCTL" ca user "$u" --dir "$CERTS" >/dev/null || die "ca user $u"; done
	"$CONTROL" -c "$CEPH_CONF" --id flocker --pool "$POOL" --certs "$CERTS" --bind 127.0.0.1 \
		--api-port "$API" --agent-port "$AGP" --lease 5 --heartbeat 1 --state-ns "$ns" \
		>"$WORK/control.log" 2>&1 &
	CONTROL_PID=$!
	# shellcheck disable=SC2034 # the agents' options, for the caller
	CLUSTER=(--control "127.0.0.1:$AGP" --certs "$CERTS")
}
control_stop() { kill -TERM "$CONTROL_PID" 2>/dev/null; wait "$CONTROL_PID" 2>/dev/null; }

new_volume() {
	local v=$1
	VOLUMES+=("$v")
}

ctl() { "$FLOCKERCTL" -c "$CEPH_CONF" --id flocker --pool "$POOL" "$@"; }

cleanup() {
	local h d m rc=$?
	trap - EXIT INT TERM
	for h in "${HOSTS[@]}"; do
		d=$(hdir "$h")
		if [ -f "$d/dockerd.launcher" ]; then
			dk "$h" ps -aq 2>/dev/null | xargs -r env DOCKER_HOST="unix://$d/docker.sock" "$DOCKER" rm -f >/dev/null 2>&1
			dockerd_stop "$h"
		fi
		agent_stop "$h"
		for m in $(host_mounts "$h" 2>/dev/null); do
			say "cleanup: unmounting $m on host $h"
			timeout 60 nsenter -t "$(nspid "$h")" -m -u -- "$UMOUNT_HELPER" "$m" ||
				host_run "$h" umount -i -l "$m"
		done
		kill -TERM "$(nspid "$h")" 2>/dev/null
	done
	for h in "${HOSTS[@]}"; do
		wait "$(nspid "$h")" 2>/dev/null
	done
	for v in "${VOLUMES[@]}"; do
		ctl volume remove "$v" >/dev/null 2>&1
		# docker volume rm put it in the trash (maybe more than once)
		for _ in 1 2 3 4 5; do
			ctl volume purge "$v" >/dev/null 2>&1 || break
		done
	done
	if [ "$NFAIL" -gt 0 ] || [ "$rc" -ne 0 -a "$rc" -ne 77 ]; then
		for h in "${HOSTS[@]}"; do
			d=$(hdir "$h")
			say "--- agent log of host $h (last 60 lines)"
			tail -60 "$d/agent.log" 2>/dev/null
			say "--- dockerd log of host $h (last 20 lines)"
			tail -20 "$d/dockerd.log" 2>/dev/null
		done
	fi
	# nothing may still be mounted under WORK before it goes
	if [ -n "${FLOCKER_TEST_KEEP:-}" ]; then
		say "FLOCKER_TEST_KEEP is set: keeping $WORK"
	elif grep -q " $WORK/" /proc/self/mountinfo; then
		say "warning: mounts left under $WORK; not removing it"
	else
		rm -rf "$WORK"
	fi
	if [ "$rc" -eq 0 ] && [ "$NFAIL" -gt 0 ]; then
		rc=1
	fi
	say "$NPASS passed, $NFAIL failed"
	exit "$rc"
}

finish() {
	[ "$NFAIL" -eq 0 ]
	exit $?
}
