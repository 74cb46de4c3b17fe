#!/usr/bin/env bash
# dev-cluster.sh - a real Ceph cluster on one machine, for flockerfs
# development and tests: one mon, one mgr, N OSDs (bluestore on a sparse file,
# or memstore), cephx on, pool "flocker" and key "client.flocker".
#
# Everything lives under one directory (conf, keyrings, daemon data, logs, pid
# files, admin sockets); nothing is written to /etc/ceph and systemd is not
# used. Several clusters with different directories run side by side, each
# with its own mon port.
#
# Run "dev-cluster.sh --help" for the commands and options.
set -euo pipefail

# shellcheck source=contrib/lib.sh
. "$(dirname "$0")/lib.sh"

# Defaults; "start" records the choices made when a cluster is created in
# DIR/cluster.state, later starts reuse them.
DIR=
OSDS=
STORE=
ADDR=
PORT=
BLOCK_SIZE=20G
PREFILL=0
MEMSTORE_BYTES=6G
TIMEOUT=30
OSDS_GIVEN=0
STORE_GIVEN=0
FRESH=0
PORT_GIVEN=0

# Ids of the single mon and mgr.
MON_ID=a
MGR_ID=x
POOL=flocker
POOL_PG_NUM=32

usage() {
	cat <<EOF
usage: $PROG <command> [options]

A single-machine Ceph cluster (mon, mgr, OSDs, cephx) for flockerfs.

commands:
  start     create the cluster on first use, start what is not running and
            wait until it is healthy (OSDs up and in, pool "$POOL" readable
            with the client.flocker key)
  stop      stop the daemons of this cluster (TERM, then KILL); no-op when
            nothing runs
  status    say whether the cluster is healthy, and why not; exit 0 or 1
  env       print shell exports that point ceph, rados and librados programs
            at the cluster:  eval "\$($PROG env)"
  destroy   stop the cluster and delete its directory

options:
  --dir DIR          cluster directory (default: $(default_dir))
  --osds N           number of OSDs when creating (default 1)
  --memstore         OSDs keep objects in memory (memstore) instead of bluestore
                     on a sparse file; every start of a stopped memstore cluster
                     begins EMPTY (the data lived in the OSDs' memory)
  --bluestore        the default: data kept on disk across stop/start
  --block-size SIZE  size of each bluestore block file (sparse; default $BLOCK_SIZE)
  --prefill          write each bluestore block file whole (zeros) before the
                     OSD is made: no write then pays for the host file system
                     allocating the sparse file's blocks, so benchmarks that
                     run one after another see the same disk (takes disk space
                     and time: the full --block-size per OSD)
  --addr IP          address the daemons bind to (default 127.0.0.1); use an
                     address reachable from network namespaces if clients run
                     there
  --port PORT        mon port (default: a free port chosen at creation)
  --fresh            start: destroy the cluster in DIR first (if any) and
                     create a new, empty one
  --timeout SECS     how long start waits for health once the daemons run
                     (default $TIMEOUT)
  -h, --help         this text

Only the first start of a directory uses --osds, --memstore, --block-size, --prefill,
--addr and --port; later starts reuse what the directory holds.

Keys: client.admin (full access; "--id admin") and client.flocker
(mon 'profile rbd', osd 'allow rwx pool=$POOL'), both in DIR, both found
through DIR/ceph.conf. The ceph and rados tools take the id from CEPH_ARGS;
librados does not (rados_conf_parse_env skips --id): a librados program
passes the id to rados_create() itself.

DIR holds ceph.conf, cluster.state, *.keyring, mon.a/, mgr.x/, osd.N/
(bluestore: osd.N/block), log/ (NAME.log, NAME.out, cluster.log) and run/
(pid files, admin sockets: ceph --admin-daemon DIR/run/osd.0.asok ...).
EOF
}

warn() {
	printf '%s: warning: %s\n' "$PROG" "$*" >&2
}

default_dir() {
	if [ "$(id -u)" = 0 ]; then
		echo /var/lib/flockerfs/dev-cluster
	else
		echo "${XDG_DATA_HOME:-$HOME/.local/share}/flockerfs/dev-cluster"
	fi
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			die "cannot find '$c' (run contrib/install-deps.sh)"
	done
}

# --- paths ------------------------------------------------------------------

set_paths() {
	CONF=$DIR/ceph.conf
	STATE=$DIR/cluster.state
	LOGDIR=$DIR/log
	PIDDIR=$DIR/run
	MARKER=$DIR/.flockerfs-dev-cluster
	# A unix socket path holds at most 107 bytes; keep admin sockets beside
	# the pid files when the path is short enough, else in /tmp under a name
	# derived from DIR.
	ASOKDIR=$PIDDIR
	if [ $((${#ASOKDIR} + 20)) -gt 100 ]; then
		ASOKDIR=/tmp/flockerfs-asok-$(printf '%s' "$DIR" | md5sum | cut -c1-12)
	fi
}

state_get() {
	local key=$1 k v
	[ -f "$STATE" ] || return 0
	while IFS='=' read -r k v; do
		if [ "$k" = "$key" ]; then
			printf '%s\n' "$v"
			return 0
		fi
	done <"$STATE"
}

# Fill OSDS, STORE, ADDR, PORT from the state file of an existing cluster.
load_state() {
	local s o a p
	s=$(state_get store)
	o=$(state_get osds)
	a=$(state_get addr)
	p=$(state_get port)
	if [ -z "$s" ] || [ -z "$o" ] || [ -z "$a" ] || [ -z "$p" ]; then
		die "cannot read $STATE: not a cluster made by $PROG"
	fi
	if [ "$STORE_GIVEN" = 1 ] && [ "$STORE" != "$s" ]; then
		die "cannot start $DIR as $STORE: it holds a $s cluster (run '$0 destroy --dir $DIR' first)"
	fi
	if [ "$OSDS_GIVEN" = 1 ] && [ "$OSDS" != "$o" ]; then
		warn "$DIR has $o OSDs; --osds $OSDS ignored"
	fi
	STORE=$s
	OSDS=$o
	ADDR=$a
	PORT=$p
	BLOCK_SIZE=$(state_get block_size)
	BLOCK_SIZE=${BLOCK_SIZE:-20G}
}

# --- ceph commands ----------------------------------------------------------

# The script's own commands use the admin key and ignore the caller's
# CEPH_ARGS/CEPH_CONF (which may name another cluster or another id).
ceph_admin() {
	timeout 30 env -u CEPH_ARGS -u CEPH_CONF ceph -c "$CONF" --id admin \
		--connect-timeout 10 "$@"
}

rados_flocker() {
	timeout 20 env -u CEPH_ARGS -u CEPH_CONF rados -c "$CONF" --id flocker \
		--client-mount-timeout 10 --rados-osd-op-timeout 10 "$@"
}

# --- daemons ----------------------------------------------------------------

# Every daemon of the cluster, as TYPE.ID, in start order. To add an MDS
# later: create its key in create_keys (imported into the mon at creation) and
# its data directory like create_mgr does, append "mds.a" here, and create a
# file system ("ceph fs new") after create_pool in cmd_start; the [mds]
# section of ceph.conf is already there.
daemons() {
	local i
	echo "mon.$MON_ID"
	echo "mgr.$MGR_ID"
	for ((i = 0; i < OSDS; i++)); do
		echo "osd.$i"
	done
}

pidfile() {
	echo "$PIDDIR/$1.pid"
}

# True when PID is a ceph daemon started with this cluster's conf.
is_ours() {
	local pid=$1
	[ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -Fxq -- "$CONF"
}

# Print the pid of daemon NAME when it runs, else fail.
daemon_pid() {
	local f pid
	f=$(pidfile "$1")
	[ -f "$f" ] || return 1
	pid=$(cat "$f" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	is_ours "$pid" || return 1
	echo "$pid"
}

# Pids of every daemon started with this cluster's conf, pid file or not.
# Clients (ceph-fuse, rados, ...) are left alone.
all_our_pids() {
	local p pid
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ "$pid" != "$$" ] || continue
		if is_ours "$pid"; then
			case $(cat "/proc/$pid/comm" 2>/dev/null) in
			ceph-mon | ceph-mgr | ceph-osd | ceph-mds) echo "$pid" ;;
			esac
		fi
	done
}

log_tail() {
	local name=$1 f
	for f in "$LOGDIR/$name.log" "$LOGDIR/$name.out"; do
		if [ -s "$f" ]; then
			printf -- '--- last lines of %s ---\n' "$f" >&2
			tail -n 15 "$f" >&2
		fi
	done
}

start_daemon() {
	local name=$1 type=${1%%.*} id=${1#*.}
	if daemon_pid "$name" >/dev/null; then
		return 0
	fi
	rm -f "$(pidfile "$name")"
	# The daemon forks; the parent exits once the child is up (or failed).
	# 9>&-: the daemon must not inherit the lock of this directory.
	if ! "ceph-$type" -c "$CONF" -i "$id" </dev/null >>"$LOGDIR/$name.out" 2>&1 9>&-; then
		log_tail "$name"
		if [ "$type" = osd ] && [ "$STORE" = memstore ]; then
			die "cannot start $name (a memstore OSD that died lost its data: run stop, then start, for a new empty cluster)"
		fi
		die "cannot start $name"
	fi
}

# Waits up to TENTHS tenths of a second for PIDS (ours) to exit: 0 when gone.
wait_gone() {
	local tenths=$1 pid left i
	shift
	for ((i = 0; i < tenths; i++)); do
		left=0
		for pid in "$@"; do
			if kill -0 "$pid" 2>/dev/null && is_ours "$pid"; then
				left=1
			fi
		done
		[ "$left" = 1 ] || return 0
		sleep 0.1
	done
	return 1
}

# Send TERM to PIDS, wait up to SECS for them to exit, then KILL.
terminate() {
	local secs=$1 pid
	shift
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null || true
	wait_gone $((secs * 10)) "$@" && return 0
	for pid in "$@"; do
		if kill -0 "$pid" 2>/dev/null && is_ours "$pid"; then
			warn "pid $pid did not stop within ${secs}s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	wait_gone 50 "$@"
}

# --- creation ---------------------------------------------------------------

port_in_use() {
	ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

pick_port() {
	local p i
	# Below the ephemeral range (32768+), so outgoing connections never hold it.
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 12000))
		if ! port_in_use "$p"; then
			echo "$p"
			return 0
		fi
	done
	die "cannot find a free port for the mon between 20000 and 32000"
}

write_conf() {
	local fsid=$1 size min_size t
	size=$((OSDS < 3 ? OSDS : 3))
	min_size=$((OSDS < 3 ? 1 : 2))
	{
		cat <<EOF
# Generated by contrib/dev-cluster.sh for the dev cluster in $DIR.
# Clients: CEPH_CONF=$CONF CEPH_ARGS='--id flocker' (or --id admin).
[global]
fsid = $fsid
mon host = [v2:$ADDR:$PORT]
ms bind msgr1 = false
ms bind msgr2 = true
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
mon warn on insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
mon cluster log file = $LOGDIR/cluster.log
mgr initial modules =
mgr stats period = 1
osd pool default size = $size
osd pool default min size = $min_size
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0

[client.admin]
keyring = $DIR/admin.keyring

[client.flocker]
keyring = $DIR/flocker.keyring
EOF
		for t in mon mgr osd mds; do
			cat <<EOF

[$t]
public addr = $ADDR
$t data = $DIR/$t.\$id
keyring = \$${t}_data/keyring
run dir = $PIDDIR
pid file = $PIDDIR/\$name.pid
admin socket = $ASOKDIR/\$name.asok
log file = $LOGDIR/\$name.log
crash dir = $DIR/crash
EOF
			if [ "$t" = osd ]; then
				cat <<EOF
osd objectstore = $STORE
osd memory target = 1073741824
osd fast shutdown = true
osd fast shutdown notify mon = true
bluestore block create = true
bluestore block size = $BLOCK_SIZE
bluestore fsck on mkfs = false
memstore device bytes = $MEMSTORE_BYTES
EOF
			fi
		done
	} >"$CONF.tmp"
	mv "$CONF.tmp" "$CONF"
}

# gen_key FILE NAME CAPS... : a keyring with one new key, unless FILE exists.
gen_key() {
	local file=$1 name=$2
	shift 2
	[ -s "$file" ] && return 0
	ceph-authtool --create-keyring "$file.tmp" --gen-key -n "$name" "$@" >/dev/null ||
		die "cannot create the key of $name in $file"
	chmod 600 "$file.tmp"
	mv "$file.tmp" "$file"
}

create_keys() {
	local i
	gen_key "$DIR/mon.keyring" mon. --cap mon 'allow *'
	gen_key "$DIR/admin.keyring" client.admin --cap mon 'allow *' \
		--cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *'
	gen_key "$DIR/flocker.keyring" client.flocker --cap mon 'profile rbd' \
		--cap osd "allow rwx pool=$POOL"
	gen_key "$DIR/mgr.keyring" "mgr.$MGR_ID" --cap mon 'allow profile mgr' \
		--cap osd 'allow *' --cap mds 'allow *'
	for ((i = 0; i < OSDS; i++)); do
		gen_key "$DIR/osd.$i.keyring" "osd.$i" --cap mon 'allow profile osd' \
			--cap mgr 'allow profile osd' --cap osd 'allow *'
	done
}

create_cluster_files() {
	local fsid
	[ -n "$PORT" ] || PORT=$(pick_port)
	fsid=$(cat /proc/sys/kernel/random/uuid)
	write_conf "$fsid"
	write_state "$fsid"
}

write_state() {
	printf 'store=%s\nosds=%s\naddr=%s\nport=%s\nfsid=%s\nblock_size=%s\n' \
		"$STORE" "$OSDS" "$ADDR" "$PORT" "$1" "$BLOCK_SIZE" >"$STATE.tmp"
	mv "$STATE.tmp" "$STATE"
}

create_mon() {
	local mondir=$DIR/mon.$MON_ID fsid k
	[ -f "$mondir/flockerfs-done" ] && return 0
	rm -rf "$mondir" "$DIR/monmap" "$DIR/mon-mkfs.keyring"
	mkdir -p "$mondir"
	fsid=$(state_get fsid)
	# The mon starts with every key of the cluster, so no "ceph auth" round
	# trips are needed later.
	cp "$DIR/mon.keyring" "$DIR/mon-mkfs.keyring"
	for k in "$DIR"/admin.keyring "$DIR"/flocker.keyring "$DIR"/mgr.keyring "$DIR"/osd.*.keyring; do
		ceph-authtool "$DIR/mon-mkfs.keyring" --import-keyring "$k" >/dev/null ||
			die "cannot import $k into the mon keyring"
	done
	monmaptool --create --fsid "$fsid" --addv "$MON_ID" "[v2:$ADDR:$PORT]" \
		"$DIR/monmap" >/dev/null || die "cannot create the monmap in $DIR/monmap"
	if ! ceph-mon -c "$CONF" -i "$MON_ID" --mkfs --monmap "$DIR/monmap" \
		--keyring "$DIR/mon-mkfs.keyring" >>"$LOGDIR/mon.$MON_ID.out" 2>&1; then
		log_tail "mon.$MON_ID"
		die "cannot create the mon data in $mondir"
	fi
	rm -f "$DIR/monmap" "$DIR/mon-mkfs.keyring"
	touch "$mondir/flockerfs-done"
}

# Settings kept in the mon's config database (mgr module options cannot be
# set in ceph.conf).
configure_mon_db() {
	local out
	[ -f "$DIR/flockerfs-config-done" ] && return 0
	# No device health monitoring: it creates a pool of its own a few seconds
	# after the first OSD is up, which briefly makes the cluster unhealthy.
	out=$(ceph_admin config set mgr mgr/devicehealth/enable_monitoring false --force 2>&1) ||
		die "cannot configure the mgr: $out"
	touch "$DIR/flockerfs-config-done"
}

create_mgr() {
	local mgrdir=$DIR/mgr.$MGR_ID
	mkdir -p "$mgrdir"
	[ -s "$mgrdir/keyring" ] || cp "$DIR/mgr.keyring" "$mgrdir/keyring"
}

create_osd() {
	local id=$1 osddir=$DIR/osd.$1 uuid
	[ -f "$osddir/flockerfs-done" ] && return 0
	# Start over from a half-made OSD, but keep its uuid: the osdmap may
	# already know it.
	uuid=$(cat "$osddir/flockerfs-uuid" 2>/dev/null || true)
	[ -n "$uuid" ] || uuid=$(cat /proc/sys/kernel/random/uuid)
	rm -rf "$osddir"
	mkdir -p "$osddir"
	echo "$uuid" >"$osddir/flockerfs-uuid"
	cp "$DIR/osd.$id.keyring" "$osddir/keyring"
	ceph_admin osd new "$uuid" "$id" >/dev/null 2>>"$LOGDIR/osd.$id.out" || {
		log_tail "osd.$id"
		die "cannot add osd.$id to the osdmap"
	}
	if [ "$STORE" = bluestore ] && [ "$PREFILL" = 1 ]; then
		say "writing osd.$id's block file whole ($BLOCK_SIZE)"
		local mib
		mib=$(numfmt --from=iec "$BLOCK_SIZE") || die "invalid --block-size $BLOCK_SIZE"
		mib=$((mib / 1048576))
		local avail
		avail=$(df -B1M --output=avail "$osddir" | tail -n 1 | tr -d ' ')
		[ "$avail" -gt "$mib" ] ||
			die "--prefill: $osddir has $avail MiB free, the block file needs $mib MiB"
		dd if=/dev/zero of="$osddir/block" bs=4M count=$((mib / 4)) conv=fsync status=none ||
			die "cannot write $osddir/block"
	fi
	if ! ceph-osd -c "$CONF" -i "$id" --mkfs --osd-uuid "$uuid" \
		>>"$LOGDIR/osd.$id.out" 2>&1; then
		log_tail "osd.$id"
		die "cannot create the data of osd.$id in $osddir"
	fi
	touch "$osddir/flockerfs-done"
}

create_pool() {
	[ -f "$DIR/flockerfs-pool-done" ] && return 0
	local out
	out=$(ceph_admin osd pool create "$POOL" "$POOL_PG_NUM" "$POOL_PG_NUM" replicated 2>&1) ||
		die "cannot create pool $POOL: $out"
	out=$(ceph_admin osd pool application enable "$POOL" flocker 2>&1) ||
		die "cannot enable application flocker on pool $POOL: $out"
	touch "$DIR/flockerfs-pool-done"
}

# Remove the daemon data of a stopped memstore cluster: its objects died with
# the OSDs, so the cluster is created again, empty (same conf, keys, port).
reset_memstore() {
	local i
	say "memstore cluster in $DIR was stopped and its data is gone; creating it again, empty"
	rm -rf "$DIR/mon.$MON_ID" "$DIR/mgr.$MGR_ID" "$DIR/flockerfs-pool-done" \
		"$DIR/flockerfs-config-done"
	for ((i = 0; i < OSDS; i++)); do
		rm -rf "$DIR/osd.$i"
	done
	rm -f "$PIDDIR"/*.pid
}

# --- health -----------------------------------------------------------------

# Check once; on failure set WHY (and WHY_DAEMON when a daemon is at fault).
check_health() {
	local name out up in num avail
	WHY=
	WHY_DAEMON=
	while read -r name; do
		if ! daemon_pid "$name" >/dev/null; then
			WHY="$name is not running"
			WHY_DAEMON=$name
			return 1
		fi
	done < <(daemons)
	if ! out=$(ceph_admin osd stat -f json 2>&1); then
		WHY="cannot reach the mon at $ADDR:$PORT: $(printf '%s' "$out" | tail -n 1)"
		WHY_DAEMON=mon.$MON_ID
		return 1
	fi
	num=$(jq -r .num_osds <<<"$out" 2>/dev/null || true)
	up=$(jq -r .num_up_osds <<<"$out" 2>/dev/null || true)
	in=$(jq -r .num_in_osds <<<"$out" 2>/dev/null || true)
	if [ "$num" != "$OSDS" ] || [ "$up" != "$OSDS" ] || [ "$in" != "$OSDS" ]; then
		WHY="OSDs: $num known, $up up, $in in (want $OSDS)"
		return 1
	fi
	if ! out=$(ceph_admin mgr stat -f json 2>&1) ||
		[ "$(jq -r .available <<<"$out" 2>/dev/null)" != true ]; then
		WHY="mgr.$MGR_ID is not available yet"
		WHY_DAEMON=mgr.$MGR_ID
		return 1
	fi
	# The mgr's view, which "ceph -s" and "ceph health" show.
	if ! out=$(ceph_admin pg stat -f json 2>&1) ||
		[ "$(jq -r '.pg_ready and ([.pg_summary.num_pg_by_state[].name | startswith("active")] | all)' <<<"$out" 2>/dev/null)" != true ]; then
		WHY="placement groups are not all active: $(ceph_admin pg stat 2>&1 | tail -n 1)"
		return 1
	fi
	# Listing the pool needs every placement group active, and the key.
	if ! out=$(rados_flocker -p "$POOL" ls 2>&1 >/dev/null); then
		WHY="cannot list pool $POOL as client.flocker: ${out:-timed out}"
		return 1
	fi
	avail=$(ceph_admin health 2>/dev/null || true)
	HEALTH=${avail:-unknown}
	return 0
}

wait_healthy() {
	local deadline=$((SECONDS + TIMEOUT))
	while ! check_health; do
		if [ -n "$WHY_DAEMON" ] && ! daemon_pid "$WHY_DAEMON" >/dev/null; then
			log_tail "$WHY_DAEMON"
			die "cluster in $DIR is not healthy: $WHY"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			[ -n "$WHY_DAEMON" ] && log_tail "$WHY_DAEMON"
			ceph_admin health detail >&2 2>/dev/null || true
			die "cluster in $DIR is not healthy after ${TIMEOUT}s: $WHY"
		fi
		sleep 0.5
	done
}

# --- commands ---------------------------------------------------------------

running_names() {
	local name
	while read -r name; do
		if daemon_pid "$name" >/dev/null; then
			echo "$name"
		fi
	done < <(daemons)
}

# Serialize start, stop and destroy of one directory.
lock_dir() {
	exec 9>>"$DIR/.lock"
	flock 9 || die "cannot lock $DIR/.lock"
}

cmd_start() {
	local t0=$SECONDS i fresh=0 running
	need_cmd ceph ceph-mon ceph-mgr ceph-osd ceph-authtool monmaptool rados jq ss timeout flock
	if [ "$FRESH" = 1 ]; then
		cmd_destroy
	fi
	mkdir -p "$DIR"
	touch "$MARKER"
	lock_dir
	mkdir -p "$LOGDIR" "$PIDDIR" "$ASOKDIR" "$DIR/crash"
	if [ -f "$STATE" ]; then
		load_state
	else
		fresh=1
		STORE=${STORE:-bluestore}
		OSDS=${OSDS:-1}
		ADDR=${ADDR:-127.0.0.1}
		create_cluster_files
	fi
	running=$(running_names | wc -l)
	if [ "$running" -eq "$(daemons | wc -l)" ]; then
		say "cluster in $DIR is already running"
		wait_healthy
		say "healthy: $HEALTH"
		return 0
	fi
	if [ "$STORE" = memstore ] && [ "$running" -eq 0 ] && [ -d "$DIR/mon.$MON_ID" ]; then
		reset_memstore
	fi
	if [ "$fresh" = 1 ]; then
		say "creating a $STORE cluster with $OSDS OSD(s) in $DIR (mon at $ADDR:$PORT)"
	fi
	create_keys
	# A mon yet to be created may move to another port if its own was
	# taken meanwhile (not a port the caller asked for).
	if [ ! -f "$DIR/mon.$MON_ID/flockerfs-done" ] && port_in_use "$PORT"; then
		[ "$PORT_GIVEN" = 0 ] || die "cannot create the mon: port $PORT is in use"
		PORT=$(pick_port)
		say "port $(state_get port) is in use now; moving the mon to port $PORT"
		write_conf "$(state_get fsid)"
		write_state "$(state_get fsid)"
	fi
	create_mon
	if ! daemon_pid "mon.$MON_ID" >/dev/null && port_in_use "$PORT"; then
		die "cannot start mon.$MON_ID: port $PORT on $ADDR is already in use"
	fi
	start_daemon "mon.$MON_ID"
	configure_mon_db
	create_mgr
	start_daemon "mgr.$MGR_ID"
	for ((i = 0; i < OSDS; i++)); do
		create_osd "$i"
		start_daemon "osd.$i"
	done
	create_pool
	wait_healthy
	say "healthy after $((SECONDS - t0))s: $HEALTH"
	say "use it with: eval \"\$($0 env --dir $DIR)\""
}

cmd_stop() {
	local pids name pid group n=0
	[ -d "$DIR" ] || return 0
	[ -f "$MARKER" ] && lock_dir
	# Clients of the mon first, so OSDs can say goodbye to it.
	for group in osd mds mgr mon; do
		pids=()
		for f in "$PIDDIR/$group".*.pid; do
			[ -f "$f" ] || continue
			name=$(basename "$f" .pid)
			if pid=$(daemon_pid "$name"); then
				pids+=("$pid")
			fi
		done
		if [ ${#pids[@]} -gt 0 ]; then
			n=$((n + ${#pids[@]}))
			terminate 15 "${pids[@]}" || true
		fi
	done
	# Anything else started with this conf (a daemon whose pid file is gone).
	mapfile -t pids < <(all_our_pids)
	if [ ${#pids[@]} -gt 0 ]; then
		warn "stopping stray processes of $DIR: ${pids[*]}"
		n=$((n + ${#pids[@]}))
		terminate 10 "${pids[@]}" || true
	fi
	mapfile -t pids < <(all_our_pids)
	if [ ${#pids[@]} -gt 0 ]; then
		die "cannot stop processes of $DIR: ${pids[*]}"
	fi
	rm -f "$PIDDIR"/*.pid "$ASOKDIR"/*.asok
	if [ "$ASOKDIR" != "$PIDDIR" ]; then
		rmdir "$ASOKDIR" 2>/dev/null || true
	fi
	if [ "$n" -gt 0 ]; then
		say "stopped cluster in $DIR ($n processes)"
	else
		say "no process of the cluster in $DIR was running"
	fi
}

cmd_status() {
	need_cmd ceph rados jq timeout
	[ -f "$STATE" ] || {
		printf 'no cluster in %s\n' "$DIR"
		return 1
	}
	load_state
	if check_health; then
		printf 'healthy: %s (%s, %s OSD(s), mon at %s:%s, dir %s)\n' \
			"$HEALTH" "$STORE" "$OSDS" "$ADDR" "$PORT" "$DIR"
		return 0
	fi
	printf 'not healthy: %s\n' "$WHY"
	# A pid file without its process: the daemon died (stop removes them).
	if [ -n "$WHY_DAEMON" ] && [ -f "$(pidfile "$WHY_DAEMON")" ] &&
		! daemon_pid "$WHY_DAEMON" >/dev/null; then
		log_tail "$WHY_DAEMON"
	fi
	return 1
}

cmd_env() {
	[ -f "$CONF" ] || warn "no cluster in $DIR yet (run: $0 start --dir $DIR)"
	printf "export CEPH_CONF=%q\n" "$CONF"
	printf "export CEPH_ARGS='--id flocker'\n"
}

cmd_destroy() {
	[ -d "$DIR" ] || return 0
	[ -f "$MARKER" ] || die "refusing to delete $DIR: it was not made by $PROG"
	cmd_stop
	rm -rf "$DIR"
	[ "$ASOKDIR" = "$PIDDIR" ] || rm -rf "$ASOKDIR"
	say "deleted $DIR"
}

main() {
	local cmd='' words=() w
	parse_options '--dir DIR' '--osds OSDS' '--memstore STORE=memstore' '--bluestore STORE=bluestore' \
		'--prefill PREFILL=1' '--block-size BLOCK_SIZE' '--addr ADDR' '--port PORT' '--fresh FRESH=1' \
		'--timeout TIMEOUT' 'WORDS words' -- "$@"
	for w in "${words[@]}"; do
		case $w in
		start | stop | status | env | destroy)
			[ -z "$cmd" ] || die "more than one command: '$cmd' and '$w'"
			cmd=$w
			;;
		*) die "unknown argument '$w' (see --help)" ;;
		esac
	done
	[ -n "$cmd" ] || {
		usage >&2
		exit 2
	}
	# what "start" of an existing cluster checks against the cluster's state
	[ -z "$OSDS" ] || OSDS_GIVEN=1
	[ -z "$STORE" ] || STORE_GIVEN=1
	[ -z "$PORT" ] || PORT_GIVEN=1
	if [ -n "$OSDS" ]; then
		[[ $OSDS =~ ^[1-9][0-9]?$ ]] || die "invalid --osds '$OSDS': want 1 to 99"
	fi
	if [ -n "$PORT" ]; then
		if ! [[ $PORT =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
			die "invalid --port '$PORT'"
		fi
	fi
	[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "invalid --timeout '$TIMEOUT'"
	DIR=${DIR:-$(default_dir)}
	DIR=$(realpath -m -- "$DIR")
	set_paths
	"cmd_$cmd"
}

main "$@"
