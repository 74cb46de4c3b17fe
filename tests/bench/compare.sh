#!/usr/bin/env bash
# compare.sh - flockerfs against raw librados and CephFS (ceph-fuse), on one
# dev cluster that this script starts and stops itself.
#
# usage: compare.sh [--quick] [--json] [--keep] [--memstore] [--build DIR]
#
#   --quick      small sizes (128 MiB, 2,000 files, 10,000 files for the
#                mount test, part of /usr/include): a couple of minutes
#   --json       results as one JSON object on stdout (the table goes to
#                stderr)
#   --keep       keep the temporary directory (cluster, logs, fio output)
#   --memstore   OSD on memstore instead of bluestore on a sparse file
#                (bluestore's block file is written whole before the OSD is
#                made, 12 GiB, 6 GiB with --quick: otherwise whichever
#                column writes first pays for the host file system
#                allocating the sparse file, which made raw librados look
#                up to 2x slower than it is)
#   --build DIR  build tree with fs/mount.flockerfs, cluster/flockerctl and
#                tests/bench/flocker_rados_bench (default $FLOCKER_BINARY_DIR,
#                else ./build of the repository); a missing
#                flocker_rados_bench is compiled from tests/bench/rados_bench.c
#   --report DIR print the report of a run kept with --keep again (no run)
#
# Workloads, the same for every column:
#   (1) sequential write in 1 MiB writes + fsync   (2) sequential read, cold
#   (3) 4 KiB random writes over a file + fsync    (4) 4 KiB random reads, cold
#   (5) 4 KiB files created+written+closed in one directory, 1 and 4 threads
#   (6) stat of all  (7) readdir  (8) unlink all  (9) untar of /usr/include
#   until it is all in RADOS (tar -x, syncfs, unmount: both daemons flush
#   everything before they exit), and du -s of it, cold  (10) mount + first ls of a volume holding many files;
#   peak RSS of mount.flockerfs (VmHWM, reset before each workload).
#   (11) 8 KiB random overwrites of a 16 MiB file written and synced first,
#   each followed by fdatasync, one at a time (a database's commit); raw
#   librados: 8 KiB rados_write at queue depth 1, its floor, measured right
#   before flockerfs runs (11)
#   (12) 8 KiB appends, each followed by fsync, one at a time; the same floor
#   (13) PostgreSQL (the server from Debian's postgresql-15, fsync on, run as
#   user postgres on the mount): pgbench -c 4 -j 2, scale 20 for 60 s (scale 2
#   for 10 s with --quick): TPS and average latency; skipped with a warning
#   when PostgreSQL is not installed
#   (14) SQLite (the sqlite3 shell): single-row INSERTs, each its own
#   transaction, journal_mode=WAL, synchronous=FULL (20,000; 2,000 with --quick)
# Columns: raw librados (flocker_rados_bench: 4 MiB objects, 16 in flight for
# sequential streams, queue depth 16 for 4 KiB I/O like fio's iodepth), CephFS
# through ceph-fuse, flockerfs.  Cold means: unmount and mount again, then
# syncfs + echo 3 > /proc/sys/vm/drop_caches.  Ratios are speed ratios
# (higher is better for flockerfs), also for the timed rows.
#
# Status per row: ok (target met), MISS (below target), GROSS (below half the
# target, or mount > 2 s, or RSS > 512 MiB) - tests/bench/bench_quick.sh fails
# on GROSS.  Needs root, fio, jq, ceph-fuse, ceph-mds.  Exit 0 when the run
# completed (whatever the figures), 1 on error, 2 on bad usage.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=contrib/lib.sh
. "$ROOT/contrib/lib.sh"
USAGE_STATUS=2
DEV_CLUSTER=$ROOT/contrib/dev-cluster.sh
BUILD=${FLOCKER_BINARY_DIR:-$ROOT/build}
QUICK=0
JSON=0
KEEP=0
STORE=bluestore
REPORT_DIR=
TMP=
OK=0
MOUNTS=()
PG_DATA=
PG_BIN=

parse_options '--quick QUICK=1' '--json JSON=1' '--keep KEEP=1' '--memstore STORE=memstore' \
	'--bluestore STORE=bluestore' '--build BUILD' '--report REPORT_DIR' -- "$@"

if [ "$QUICK" = 1 ]; then
	SEQ_MB=128
	RAND_MB=64
	FILES=2000
	MANY=10000
	TAR_DIRS=(include/linux include/c++)
	RAW_RAND_SECONDS=5
	READ_SECONDS=3
	SYNC_SECONDS=5
	SQL_TX=2000
	PG_SCALE=2
	PG_SECONDS=10
	RAND_LIMIT=20
	BLOCK=6G
else
	SEQ_MB=1024
	RAND_MB=256
	FILES=10000
	MANY=100000
	TAR_DIRS=(include)
	RAW_RAND_SECONDS=20
	READ_SECONDS=10
	SYNC_SECONDS=15
	SQL_TX=20000
	PG_SCALE=20
	PG_SECONDS=60
	RAND_LIMIT=60
	BLOCK=12G
fi

# --- the report (from results.tsv alone, so that --report can redo it) ---------------

# meta KEY: a "meta" value of results file $RES
meta() {
	awk -F'\t' -v k="$1" '$1 == "meta" && $2 == k { v = $3 } END { print v }' "$RES"
}

# report_json: everything as one JSON object, with a status per row
report_json() {
	local seq rand files many tarf
	seq=$(meta seq_mb)
	rand=$(meta rand_mb)
	files=$(meta files)
	many=$(meta many)
	tarf=$(meta tar_files)
	sqltx=$(meta sql_tx)
	pgscale=$(meta pg_scale)
	# id | label | unit | kind (rate: higher is better; time: lower) | raw key |
	# target vs raw | target vs ceph-fuse | absolute upper bound
	jq -n --rawfile res "$RES" --arg rows "\
seq_write|(1) seq write $seq MiB, 1M + fsync|MiB/s|rate|seq_write|0.85|1.3|
seq_read|(2) seq read, cold|MiB/s|rate|seq_read|0.85|1.3|
rand_write|(3) 4K rand write $rand MiB + fsync|IOPS|rate|rand_write|1.0||
rand_read|(4) 4K rand read, cold, QD16|IOPS|rate|rand_read|||
small_create_1|(5) create $files x 4K, 1 thread|files/s|rate|small_create_1||5|
small_create_4|(5) create $files x 4K, 4 threads|files/s|rate|small_create_4||5|
small_stat_1|(6) stat $files, cold|files/s|rate|small_stat||2|
small_readdir_1|(7) readdir $files, cold|entries/s|rate|small_list||2|
small_unlink_1|(8) unlink $files|files/s|rate|small_remove||2|
untar|(9) untar $tarf entries + umount|s|time|||2|
du|(9) du -s of it, cold|s|time|||2|
mount|(10) mount + ls, $many files|s|time||||1
dsync_over|(11) 8K overwrite + fdatasync, QD1|ops/s|rate|sync_write|0.9||
fsync_append|(12) 8K append + fsync, QD1|ops/s|rate|sync_write|0.45||
pgbench|(13) pgbench -c 4 -j 2, scale $pgscale|tx/s|rate|||1.5|
pgbench_lat|(13) pgbench latency average|ms|time||||
sqlite|(14) SQLite $sqltx tx, WAL, sync FULL|tx/s|rate|||1.5|
rss|peak RSS of mount.flockerfs|MiB|time||||256" '
	def num: if . == null or . == "" then null else (tonumber? // .) end;
	def ratio($a; $b; $kind):
		if $a == null or $b == null or $a <= 0 or $b <= 0 then null
		elif $kind == "rate" then $a / $b else $b / $a end;
	def grade($r; $t): if $t == null or $r == null then 0 elif $r >= $t then 0
		elif $r >= $t / 2 then 1 else 2 end;
	($res | split("\n") | map(select(length > 0) | split("\t"))
	 | reduce .[] as $r ({}; .[$r[0]][$r[1]] = ($r[2] | num))) as $v
	| ([$v.fl // {} | to_entries[] | select(.key | endswith(".rss_mib")) | .value] | max) as $rss
	| ($v.meta // {}) + {
		osds: 1,
		rows: [ $rows | split("\n")[] | select(length > 0) | split("|") as $f
		  | {id: $f[0], label: $f[1], unit: $f[2], kind: $f[3],
		     raw: (if $f[4] == "" then null else $v.raw[$f[4]] end),
		     cephfuse: $v.cf[$f[0]],
		     flockerfs: (if $f[0] == "rss" then $rss else $v.fl[$f[0]] end),
		     target_raw: ($f[5] | num), target_cf: ($f[6] | num), target_max: ($f[7] | num)}
		  | .fl_raw = ratio(.flockerfs; .raw; .kind)
		  | .fl_cf = ratio(.flockerfs; .cephfuse; .kind)
		  | .status = if .flockerfs == null then "not measured" else ([grade(.fl_raw; .target_raw), grade(.fl_cf; .target_cf),
				(if .target_max == null or .flockerfs == null then 0
				 elif .flockerfs < .target_max then 0
				 elif .flockerfs <= .target_max * 2 then 1 else 2 end)]
			       | max | ["ok", "MISS", "GROSS"][.]) end
		],
		cpu: ([ ["seq_write", "seq_read", "rand_write", "rand_read", "small_1", "small_4",
			 "untar", "du", "dsync_over", "fsync_append", "pgbench", "sqlite"][] as $k
		  | {workload: $k,
		     cephfuse: {wall: $v.cf[$k + ".wall"], daemon: $v.cf[$k + ".cpu_daemon"],
				osd: $v.cf[$k + ".cpu_osd"], mds: $v.cf[$k + ".cpu_mds"],
				rss_mib: $v.cf[$k + ".rss_mib"]},
		     flockerfs: {wall: $v.fl[$k + ".wall"], daemon: $v.fl[$k + ".cpu_daemon"],
				 osd: $v.fl[$k + ".cpu_osd"], rss_mib: $v.fl[$k + ".rss_mib"]}} ]
		  + [ ["seq", "rand", "small", "sync"][] as $k
		  | {workload: ("raw_" + $k),
		     raw: {wall: $v.raw[$k + ".wall"], osd: $v.raw[$k + ".cpu_osd"]}} ]),
		extra: {flockerfs_many_create_files_per_s: $v.fl.many_create,
			flockerfs_many_umount_s: $v.fl.many_umount,
			small_4_threads: {
				cephfuse: {stat: $v.cf.small_stat_4, readdir: $v.cf.small_readdir_4,
					   unlink: $v.cf.small_unlink_4},
				flockerfs: {stat: $v.fl.small_stat_4, readdir: $v.fl.small_readdir_4,
					    unlink: $v.fl.small_unlink_4}}}
	}'
}

# report_table JSON: the human table
report_table() {
	local j=$1 fmt='%-36s %-9s %9s %9s %9s %6s %6s  %-22s %s\n'
	jq -r '"flockerfs vs raw librados vs ceph-fuse: \(.date), \(.store) with 1 OSD, " +
		"\(if .quick == 1 then "quick" else "full" end) run, \(.cpus) cores, git \(.git // "unknown")" +
		"\(if .git_dirty_files > 0 then " + \(.git_dirty_files) modified files" else "" end)\n" +
		"binaries from \(.build // "?"); load average at start \(.load_start), at end \(.load_end)" +
		"\(if .prefill then "; block file written whole: \(.prefill)" else "" end)\n"' <<<"$j"
	# shellcheck disable=SC2059
	printf "$fmt" WORKLOAD UNIT RAW CEPH-FUSE FLOCKERFS FL/RAW FL/CF TARGET STATUS
	jq -r 'def f($d): if . == null then "-" else (. * $d | round / $d | tostring) end;
		.rows[] | [.label, .unit, (.raw | f(10)), (.cephfuse | f(100)), (.flockerfs | f(100)),
		(.fl_raw | f(100)), (.fl_cf | f(100)),
		([(if .target_raw then ">=\(.target_raw)x raw" else empty end),
		  (if .target_cf then ">=\(.target_cf)x cf" else empty end),
		  (if .target_max then "<\(.target_max) \(.unit)" else empty end)]
		 | if length == 0 then "-" else join(", ") end),
		.status] | @tsv' <<<"$j" |
		while IFS=$'\t' read -r a b c d e f g h i; do
			# shellcheck disable=SC2059
			printf "$fmt" "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i"
		done
	printf '\nratios are speed ratios (higher: flockerfs faster), also for the rows in seconds\n'
	printf '\nCPU seconds per workload (wall in s; FUSE = the ceph-fuse or mount.flockerfs daemon; RSS = its VmHWM in MiB):\n'
	fmt='%-11s %7s %7s %7s %7s %7s | %7s %7s %7s %7s\n'
	# shellcheck disable=SC2059
	printf "$fmt" WORKLOAD CF-WALL CF-FUSE CF-OSD CF-MDS CF-RSS FL-WALL FL-FUSE FL-OSD FL-RSS
	jq -r 'def f: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
		.cpu[] | select(.cephfuse) | [.workload, (.cephfuse.wall | f), (.cephfuse.daemon | f),
		(.cephfuse.osd | f), (.cephfuse.mds | f), (.cephfuse.rss_mib | f), (.flockerfs.wall | f),
		(.flockerfs.daemon | f), (.flockerfs.osd | f), (.flockerfs.rss_mib | f)] | @tsv' <<<"$j" |
		while IFS=$'\t' read -r a b c d e f g h i k; do
			# shellcheck disable=SC2059
			printf "$fmt" "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i" "$k"
		done
	jq -r 'def f: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
		(.cpu[] | select(.raw) | "\(.workload): wall \(.raw.wall | f) s, OSD CPU \(.raw.osd | f) s"),
		(.extra | "flockerfs, for (10): \(.flockerfs_many_create_files_per_s | f) empty files/s " +
		 "created (touch, 4 processes); unmount of that volume \(.flockerfs_many_umount_s | f) s")' <<<"$j"
}

# report FILE: prints the results of FILE (table, or JSON with --json)
report() {
	local j
	RES=$1
	j=$(report_json) || die "cannot make the report of $RES"
	if [ "$JSON" = 1 ]; then
		report_table "$j" >&2
		printf '%s\n' "$j"
	else
		report_table "$j"
	fi
}

if [ -n "$REPORT_DIR" ]; then
	[ -f "$REPORT_DIR/results.tsv" ] || die "no results.tsv in $REPORT_DIR"
	report "$REPORT_DIR/results.tsv"
	exit 0
fi

# --- checks -------------------------------------------------------------------

[ "$(id -u)" = 0 ] || die "needs root (mounts, /proc/sys/vm/drop_caches)"
for c in fio jq ceph ceph-fuse ceph-mds tar du awk sqlite3; do
	command -v "$c" >/dev/null 2>&1 || die "cannot find '$c' (run contrib/install-deps.sh)"
done
PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/pgbench" ] || ! id postgres >/dev/null 2>&1; then
	say "warning: no PostgreSQL server (Debian's postgresql-15): row (13) is not measured"
	PG_BIN=
fi
MOUNT_FL=$BUILD/fs/mount.flockerfs
CTL=$BUILD/cluster/flockerctl
RADOS_BENCH=$BUILD/tests/bench/flocker_rados_bench
for f in "$MOUNT_FL" "$CTL"; do
	[ -x "$f" ] || die "cannot find $f (build first, or give --build DIR)"
done

# --- cleanup ------------------------------------------------------------------

# Pid of the process named COMM whose arguments include MOUNTPOINT.
find_pid() {
	local comm=$1 mnt=$2 p
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = "$comm" ] || continue
		if tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -Fxq -- "$mnt"; then
			echo "${p#/proc/}"
			return 0
		fi
	done
	return 1
}

# True while PID runs: a zombie has exited (daemons that detach may not be
# reaped at once where pid 1 does not reap).
alive() {
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# unmount_wait COMM MNT [SECS]: unmounts MNT and waits (default 300 s) for
# its daemon COMM to exit; kills it after that.
unmount_wait() {
	local comm=$1 mnt=$2 secs=${3:-300} pid i
	pid=$(find_pid "$comm" "$mnt") || pid=
	if mountpoint -q "$mnt"; then
		umount -i "$mnt" 2>/dev/null || umount -i -l "$mnt" || return 1
	fi
	[ -n "$pid" ] || return 0
	for ((i = 0; i < secs * 10; i++)); do
		alive "$pid" || return 0
		sleep 0.1
	done
	say "warning: $comm for $mnt (pid $pid) did not exit $secs s after unmount; killing it"
	kill -KILL "$pid" 2>/dev/null || true
	return 1
}

cleanup() {
	local rc=$? m
	trap - EXIT INT TERM
	if [ -n "$PG_DATA" ] && [ -f "$PG_DATA/postmaster.pid" ]; then
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 ||
			say "warning: cannot stop the PostgreSQL server in $PG_DATA"
	fi
	for m in "${MOUNTS[@]}"; do
		case $m in
		*/cf*) unmount_wait ceph-fuse "$m" || true ;;
		*) unmount_wait mount.flockerfs "$m" || true ;;
		esac
	done
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		"$DEV_CLUSTER" stop --dir "$TMP/cluster" >/dev/null 2>&1 ||
			say "warning: cannot stop the cluster in $TMP/cluster"
		if [ "$KEEP" = 1 ]; then
			say "kept $TMP"
		elif [ "$OK" != 1 ]; then
			rm -rf "${TMP:?}"/cluster/osd.* "${TMP:?}"/*.tar "${TMP:?}"/mnt
			say "logs kept in $TMP"
		else
			rm -rf "$TMP"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TMP=$(mktemp -d /tmp/flocker-bench.XXXXXX)
CDIR=$TMP/cluster
RES=$TMP/results.tsv
: >"$RES"
mkdir -p "$TMP/mnt" "$TMP/fio"
# (13) runs PostgreSQL as user postgres, which must reach the mounts under $TMP
chmod 711 "$TMP" "$TMP/mnt"

# --- helpers --------------------------------------------------------------------

now() {
	date +%s.%N
}

elapsed() {
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.6f", b - a }'
}

# put SYSTEM KEY VALUE: one result
put() {
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RES"
}

drop_caches() {
	sync -f "$1" 2>/dev/null || true
	echo 3 >/proc/sys/vm/drop_caches
}

ticks() {
	local pid=$1
	if [ -z "$pid" ] || [ ! -r "/proc/$pid/stat" ]; then
		echo 0
		return
	fi
	# utime + stime: fields 14 and 15, after the "(comm)" that may hold blanks
	sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }'
}

HZ=$(getconf CLK_TCK)
OSD_PID=
MDS_PID=
DAEMON_PID=
W_T0=
W_D0=0
W_O0=0
W_M0=0

# begin SYSTEM: start CPU accounting of a workload (daemon, OSD, MDS); resets VmHWM
begin() {
	DAEMON_PID=
	case $1 in
	fl) DAEMON_PID=$(find_pid mount.flockerfs "$FL_MNT") || DAEMON_PID= ;;
	cf) DAEMON_PID=$(find_pid ceph-fuse "$CF_MNT") || DAEMON_PID= ;;
	esac
	if [ -n "$DAEMON_PID" ]; then
		echo 5 >"/proc/$DAEMON_PID/clear_refs" 2>/dev/null || true
	fi
	W_D0=$(ticks "$DAEMON_PID")
	W_O0=$(ticks "$OSD_PID")
	W_M0=$(ticks "$MDS_PID")
	W_T0=$(now)
}

# end SYSTEM KEY: record wall time, CPU seconds and peak RSS of the workload
end() {
	local sys=$1 key=$2 hwm
	put "$sys" "$key.wall" "$(elapsed "$W_T0")"
	put "$sys" "$key.cpu_daemon" "$(awk -v a="$W_D0" -v b="$(ticks "$DAEMON_PID")" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')"
	put "$sys" "$key.cpu_osd" "$(awk -v a="$W_O0" -v b="$(ticks "$OSD_PID")" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')"
	put "$sys" "$key.cpu_mds" "$(awk -v a="$W_M0" -v b="$(ticks "$MDS_PID")" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')"
	if [ -n "$DAEMON_PID" ] && hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON_PID/status" 2>/dev/null) && [ -n "$hwm" ]; then
		put "$sys" "$key.rss_mib" "$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')"
	fi
}

# fio_run NAME ARGS...: runs fio with JSON output into $TMP/fio/NAME.json
fio_run() {
	local name=$1
	shift
	if ! fio --name="$name" --output-format=json --output="$TMP/fio/$name.json" \
		--fallocate=none --randrepeat=1 "$@" >"$TMP/fio/$name.out" 2>&1; then
		tail -n 20 "$TMP/fio/$name.out" >&2
		die "fio $name failed (see above)"
	fi
}

fio_get() {
	jq -r ".jobs[0] | $2" "$TMP/fio/$1.json"
}

# fio_row SYSTEM KEY JOB EXPR FIO_ARGS...: a workload that fio runs, as job
# SYSTEM-JOB: its CPU and peak RSS accounted under KEY (begin, end), and EXPR
# of fio's JSON (fio_get) the result KEY
fio_row() {
	local sys=$1 key=$2 job=$1-$3 expr=$4
	shift 4
	begin "$sys"
	fio_run "$job" "$@"
	end "$sys" "$key"
	put "$sys" "$key" "$(fio_get "$job" "$expr")"
}

# --- the cluster ------------------------------------------------------------------

say "temporary directory $TMP; starting a $STORE dev cluster"
put meta date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
put meta host "$(uname -n)"
put meta cpus "$(nproc)"
put meta store "$STORE"
put meta build "$BUILD"
put meta quick "$QUICK"
put meta seq_mb "$SEQ_MB"
put meta rand_mb "$RAND_MB"
put meta files "$FILES"
put meta many "$MANY"
put meta sql_tx "$SQL_TX"
put meta pg_scale "$PG_SCALE"
put meta pg_seconds "$PG_SECONDS"
put meta load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
PREFILL=()
if [ "$STORE" = bluestore ]; then
	# the block file written whole needs its size on disk, plus room for logs
	need=$(($(numfmt --from=iec "$BLOCK") + (2 << 30)))
	avail=$(df -B1 --output=avail "$TMP" | tail -n 1 | tr -d ' ')
	if [ "$avail" -ge "$need" ]; then
		PREFILL=(--prefill --block-size "$BLOCK")
		put meta prefill "$BLOCK"
	else
		say "warning: $((avail >> 20)) MiB free under $TMP, $((need >> 20)) needed to write the" \
			"block file whole: it stays sparse, and raw librados, which writes first, pays for" \
			"allocating it (its figures come out low)"
		put meta prefill none
	fi
fi
if ! "$DEV_CLUSTER" start --dir "$CDIR" ${STORE:+--$STORE} "${PREFILL[@]}" --timeout 90 >"$TMP/cluster-start.log" 2>&1; then
	cat "$TMP/cluster-start.log" >&2
	die "cannot start the dev cluster"
fi
CONF=$CDIR/ceph.conf
export CEPH_CONF=$CONF
export CEPH_ARGS='--id flocker'
OSD_PID=$(cat "$CDIR/run/osd.0.pid")

admin() {
	timeout 60 env -u CEPH_ARGS ceph -c "$CONF" --id admin "$@"
}

say "creating CephFS (mds.a, pools cephfs_metadata and cephfs_data, size 1)"
mkdir -p "$CDIR/mds.a"
admin auth get-or-create mds.a mon 'allow profile mds' osd 'allow rwx' mds 'allow *' \
	mgr 'allow profile mds' -o "$CDIR/mds.a/keyring" >/dev/null 2>&1 ||
	die "cannot create the key of mds.a"
for p in cephfs_metadata:16 cephfs_data:32; do
	admin osd pool create "${p%%:*}" "${p##*:}" "${p##*:}" replicated >/dev/null 2>&1 ||
		die "cannot create pool ${p%%:*}"
	admin osd pool set "${p%%:*}" size 1 --yes-i-really-mean-it >/dev/null 2>&1 || true
done
admin fs new benchfs cephfs_metadata cephfs_data >/dev/null 2>&1 || die "cannot create file system benchfs"
ceph-mds -c "$CONF" -i a >>"$CDIR/log/mds.a.out" 2>&1 || die "cannot start mds.a"
for ((i = 0; i < 120; i++)); do
	admin mds stat 2>/dev/null | grep -q 'up:active' && break
	sleep 0.5
done
admin mds stat 2>/dev/null | grep -q 'up:active' || die "mds.a did not become active in 60 s"
MDS_PID=$(cat "$CDIR/run/mds.a.pid")

# --- (a) raw librados -------------------------------------------------------------

if [ ! -x "$RADOS_BENCH" ]; then
	RADOS_BENCH=$TMP/flocker_rados_bench
	say "compiling $HERE/rados_bench.c (no $BUILD/tests/bench/flocker_rados_bench)"
	cc -O2 -D_GNU_SOURCE -o "$RADOS_BENCH" "$HERE/rados_bench.c" -lrados -lpthread ||
		die "cannot compile rados_bench.c"
fi

raw_run() {
	local test=$1
	shift
	begin raw
	if ! "$RADOS_BENCH" --conf "$CONF" --id flocker --pool flocker --json --drop-caches \
		"$@" "$test" >"$TMP/raw-$test.json" 2>"$TMP/raw-$test.err"; then
		cat "$TMP/raw-$test.err" >&2
		die "flocker_rados_bench $test failed"
	fi
	end raw "$test"
	jq -r '.results | to_entries[] | "raw\t\(.key)\t\(if .value.mib_per_s then .value.mib_per_s else .value.ops_per_s end)"' \
		"$TMP/raw-$test.json" >>"$RES"
}

say "(a) raw librados: seq"
raw_run seq --size "${SEQ_MB}M" --qd 16
say "(a) raw librados: rand"
raw_run rand --rand-size "${RAND_MB}M" --rand-qd 16 --rand-seconds "$RAW_RAND_SECONDS" \
	--read-seconds "$READ_SECONDS"
say "(a) raw librados: small"
raw_run small --files "$FILES"

# --- the file system workloads (1)-(9) --------------------------------------------

CF_MNT=$TMP/mnt/cf
FL_MNT=$TMP/mnt/fl
VOL=bench$$
mkdir -p "$CF_MNT" "$FL_MNT"

cf_mount() {
	ceph-fuse -c "$CONF" --id admin --client_fs benchfs "$CF_MNT" >>"$TMP/ceph-fuse.out" 2>&1 ||
		die "cannot mount CephFS with ceph-fuse (see $TMP/ceph-fuse.out)"
}

fl_mount() {
	"$MOUNT_FL" "$1" "$2" -o "log=$TMP/flockerfs-$1.log" || die "cannot mount volume $1 at $2"
}

# remount SYSTEM: unmount, mount again, drop the kernel caches
remount() {
	case $1 in
	cf)
		unmount_wait ceph-fuse "$CF_MNT" || die "cannot unmount $CF_MNT"
		cf_mount
		drop_caches "$CF_MNT"
		;;
	fl)
		unmount_wait mount.flockerfs "$FL_MNT" || die "cannot unmount $FL_MNT"
		fl_mount "$VOL" "$FL_MNT"
		drop_caches "$FL_MNT"
		;;
	esac
}

# workloads SYSTEM MOUNTPOINT
# pg_run SYSTEM MOUNT: row (13), a PostgreSQL server with its data on the
# mount and its socket and log in $TMP/pg-SYSTEM (owned by postgres), pgbench
# against it
pg_run() {
	local sys=$1 m=$2 sock=$TMP/pg-$1 out=$TMP/$1-pgbench.out
	PG_DATA=$m/pg
	mkdir -p "$PG_DATA" "$sock"
	chown postgres: "$PG_DATA" "$sock"
	chmod 700 "$PG_DATA"
	pg() { runuser -u postgres -- "$@"; }
	pg "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres --no-instructions \
		>"$TMP/$sys-initdb.out" 2>&1 || {
		tail -n 5 "$TMP/$sys-initdb.out" >&2
		die "initdb on $m failed"
	}
	pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$sock/postgres.log" -w \
		-o "-c listen_addresses= -k $sock -c fsync=on -c synchronous_commit=on" \
		start >/dev/null 2>&1 || {
		tail -n 5 "$sock/postgres.log" >&2
		die "cannot start PostgreSQL on $m"
	}
	pg "$PG_BIN/pgbench" -h "$sock" -i -q -s "$PG_SCALE" postgres >"$TMP/$sys-pginit.out" 2>&1 || {
		tail -n 5 "$TMP/$sys-pginit.out" >&2
		die "pgbench -i on $m failed"
	}
	begin "$sys"
	pg "$PG_BIN/pgbench" -h "$sock" -c 4 -j 2 -T "$PG_SECONDS" postgres >"$out" 2>&1 || {
		tail -n 5 "$out" >&2
		die "pgbench on $m failed"
	}
	end "$sys" pgbench
	put "$sys" pgbench "$(awk '/^tps = / { print $3; exit }' "$out")"
	put "$sys" pgbench_lat "$(awk '/^latency average = / { print $4; exit }' "$out")"
	pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 ||
		die "cannot stop PostgreSQL on $m"
	rm -rf "$PG_DATA"
	PG_DATA=
	sync -f "$m"
}

workloads() {
	local sys=$1 m=$2 name
	say "($sys) (1) sequential write of $SEQ_MB MiB"
	fio_row "$sys" seq_write seqwrite '.write.bw_bytes / 1048576' --filename="$m/seq" \
		--rw=write --bs=1M --size="${SEQ_MB}M" --ioengine=psync --end_fsync=1
	remount "$sys"

	say "($sys) (2) sequential read, cold"
	fio_row "$sys" seq_read seqread '.read.bw_bytes / 1048576' --filename="$m/seq" \
		--rw=read --bs=1M --size="${SEQ_MB}M" --ioengine=psync

	say "($sys) (3) 4 KiB random writes over $RAND_MB MiB + fsync"
	fio_row "$sys" rand_write randwrite '.write.total_ios / (.job_runtime / 1000)' \
		--filename="$m/rand" --rw=randwrite --bs=4k --size="${RAND_MB}M" \
		--ioengine=libaio --iodepth=16 --end_fsync=1 --runtime="$RAND_LIMIT"
	remount "$sys"

	say "($sys) (4) 4 KiB random reads, cold, O_DIRECT, iodepth 16, ${READ_SECONDS} s"
	fio_row "$sys" rand_read randread '.read.iops' --filename="$m/rand" --rw=randread --bs=4k \
		--size="${RAND_MB}M" --ioengine=libaio --iodepth=16 --direct=1 \
		--runtime="$READ_SECONDS" --time_based
	rm -f "$m/seq" "$m/rand"
	sync -f "$m"

	if [ "$sys" = fl ]; then
		# the floor of (11) and (12) right before flockerfs's run of them: a
		# single op's latency follows the load of the moment more than any
		# other row does
		say "(a) raw librados: sync (8 KiB writes, queue depth 1)"
		raw_run sync --sync-seconds "$SYNC_SECONDS"
	fi
	say "($sys) (11) 8 KiB overwrites + fdatasync, QD1, ${SYNC_SECONDS} s"
	fio_run "$sys-dsync-layout" --filename="$m/db" --rw=write --bs=1M --size=16M \
		--ioengine=psync --end_fsync=1
	fio_row "$sys" dsync_over dsync '.write.iops' --filename="$m/db" --rw=randwrite --bs=8k \
		--size=16M --fdatasync=1 --ioengine=psync --runtime="$SYNC_SECONDS" --time_based
	say "($sys) (12) 8 KiB appends + fsync, QD1, ${SYNC_SECONDS} s"
	: >"$m/wal"
	fio_row "$sys" fsync_append append '.write.iops' --filename="$m/wal" --rw=write --bs=8k \
		--size=1G --fsync=1 --file_append=1 --ioengine=psync --runtime="$SYNC_SECONDS"
	rm -f "$m/db" "$m/wal"
	sync -f "$m"

	if [ -n "$PG_BIN" ]; then
		say "($sys) (13) PostgreSQL: pgbench -c 4 -j 2, scale $PG_SCALE, $PG_SECONDS s"
		pg_run "$sys" "$m"
	fi

	say "($sys) (14) SQLite: $SQL_TX single-row transactions, WAL, synchronous=FULL"
	begin "$sys"
	t0=$(now)
	sqlite3 "$m/bench.sqlite" <"$TMP/sqlite.sql" >"$TMP/$sys-sqlite.out" 2>&1 || {
		tail -n 5 "$TMP/$sys-sqlite.out" >&2
		die "sqlite3 on $m failed"
	}
	put "$sys" sqlite "$(awk -v n="$SQL_TX" -v t="$(elapsed "$t0")" 'BEGIN { printf "%.1f", n / t }')"
	end "$sys" sqlite
	rm -f "$m"/bench.sqlite*
	sync -f "$m"

	for t in 1 4; do
		say "($sys) (5)-(8) $FILES files of 4 KiB, $t thread(s)"
		begin "$sys"
		"$CTL" bench "$m" --json --big-size 0 --files "$FILES" --threads "$t" \
			>"$TMP/$sys-small-$t.json" 2>"$TMP/$sys-small-$t.err" </dev/null || {
			cat "$TMP/$sys-small-$t.err" >&2
			die "flockerctl bench on $m failed"
		}
		end "$sys" "small_$t"
		jq -r --arg s "$sys" --arg t "$t" \
			'.results | to_entries[] | "\($s)\t\(.key)_\($t)\t\(.value.ops_per_s)"' \
			"$TMP/$sys-small-$t.json" >>"$RES"
	done

	# Until all is in RADOS: syncfs does not reach the daemons' own caches,
	# unmounting does (both flush everything before they exit).  The CPU
	# columns stop before the unmount.
	say "($sys) (9) untar of /usr/${TAR_DIRS[*]}, then unmount"
	mkdir "$m/untar"
	begin "$sys"
	t0=$(now)
	tar -xf "$TAR" -C "$m/untar"
	sync -f "$m/untar"
	end "$sys" untar
	t1=$(now)
	case $sys in
	cf) unmount_wait ceph-fuse "$m" 900 || die "cannot unmount $m" ;;
	fl) unmount_wait mount.flockerfs "$m" 900 || die "cannot unmount $m" ;;
	esac
	put "$sys" untar.umount "$(elapsed "$t1")"
	put "$sys" untar "$(elapsed "$t0")"
	case $sys in
	cf) cf_mount ;;
	fl) fl_mount "$VOL" "$FL_MNT" ;;
	esac
	drop_caches "$m"
	say "($sys) (9) du -s, cold"
	begin "$sys"
	du -s "$m/untar" >/dev/null
	end "$sys" du
	put "$sys" du "$(awk -F'\t' -v s="$sys" '$1 == s && $2 == "du.wall" { v = $3 } END { print v }' "$RES")"
}

{
	echo "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	echo "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL);"
	awk -v n="$SQL_TX" 'BEGIN { for (i = 1; i <= n; i++)
		printf "INSERT INTO t(v) VALUES (\x27row %d of the commit benchmark, about 64 bytes long\x27);\n", i }'
} >"$TMP/sqlite.sql"

say "making a tar of /usr/${TAR_DIRS[*]}"
TAR=$TMP/include.tar
tar -C /usr -cf "$TAR" "${TAR_DIRS[@]}"
put meta tar_files "$(tar -tf "$TAR" | wc -l)"

# (b) ceph-fuse
MOUNTS+=("$CF_MNT")
cf_mount
workloads cf "$CF_MNT"
unmount_wait ceph-fuse "$CF_MNT" || die "cannot unmount $CF_MNT"

# (c) flockerfs
"$CTL" volume create "$VOL" >/dev/null || die "cannot create volume $VOL"
MOUNTS+=("$FL_MNT")
fl_mount "$VOL" "$FL_MNT"
workloads fl "$FL_MNT"
unmount_wait mount.flockerfs "$FL_MNT" || die "cannot unmount $FL_MNT"

# --- (10) mount time of a volume holding many files ----------------------------------

MANY_VOL=many$$
MANY_MNT=$TMP/mnt/many
mkdir -p "$MANY_MNT"
"$CTL" volume create "$MANY_VOL" >/dev/null || die "cannot create volume $MANY_VOL"
MOUNTS+=("$MANY_MNT")
fl_mount "$MANY_VOL" "$MANY_MNT"
say "(fl) (10) creating $MANY files in $((MANY / 1000)) directories"
t0=$(now)
ndirs=$((MANY / 1000))
for ((d = 0; d < ndirs; d++)); do
	printf '%s/d%03d\n' "$MANY_MNT" "$d"
done | xargs mkdir
# shellcheck disable=SC2016 # $1 and $2 belong to the inner sh
seq -f '%03g' 0 $((ndirs - 1)) |
	xargs -P 4 -I{} sh -c 'cd "$1/d$2" && seq -f "f%04g" 0 999 | xargs touch' sh "$MANY_MNT" {}
sync -f "$MANY_MNT"
put fl many_create "$(awk -v n="$MANY" -v t="$(elapsed "$t0")" 'BEGIN { printf "%.1f", n / t }')"
t0=$(now)
unmount_wait mount.flockerfs "$MANY_MNT" || die "cannot unmount $MANY_MNT"
put fl many_umount "$(elapsed "$t0")"
echo 3 >/proc/sys/vm/drop_caches
say "(fl) (10) mount + first ls"
t0=$(now)
fl_mount "$MANY_VOL" "$MANY_MNT"
# shellcheck disable=SC2012 # the "first ls" of (10) is ls itself
n=$(ls "$MANY_MNT" | wc -l)
put fl mount "$(elapsed "$t0")"
[ "$n" = "$ndirs" ] || die "ls of $MANY_MNT shows $n entries, want $ndirs"
n=$(find "$MANY_MNT/d000" -mindepth 1 -maxdepth 1 | wc -l)
[ "$n" = 1000 ] || die "$MANY_MNT/d000 holds $n entries, want 1000"
unmount_wait mount.flockerfs "$MANY_MNT" || die "cannot unmount $MANY_MNT"

# --- report -----------------------------------------------------------------------------

put meta load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
put meta git "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
put meta git_dirty_files "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | wc -l)"
OK=1
report "$RES"
