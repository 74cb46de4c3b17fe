#!/usr/bin/env bash
# crash_trials.sh - kill -9 the flockerfs daemon at random instants under a
# workload of metadata changes and fsynced writes, remount, and check what the
# volume shows.
#
#   crash_trials.sh WORKLOAD [--trials N] [--seed S] [--first T] [--max-delay-ms MS]
#                   [--workdir DIR] [--keep] [--syncfs-trials] [--no-scenarios]
#                   [--db-every K] [--snap-every K]
#
# WORKLOAD is the crash_workload binary.  Finds mount.flockerfs and flockerctl
# under $FLOCKER_BINARY_DIR, the cluster through CEPH_CONF/CEPH_ARGS.
#
# First fixed scenarios (scenarios.py), each on a fresh volume: a change,
# kill -9 of the daemon, remount, then only states the program passed
# through are accepted:
#   fsync, fdatasync, dirfsync           a new file, then the call: whole after
#   5s                                   a new file, no call, 5.5 s: whole after
#                                        (syncfs(2) never reaches a FUSE daemon:
#                                        only with --syncfs-trials)
#   unlink, rename-over                  an fsynced file unlinked / replaced,
#                                        uncommitted: gone, or back whole
#   trunc-unflushed                      truncate below data not yet written
#                                        back, then a commit: no invented zeros
#   trunc-down                           an fsynced file truncated, uncommitted:
#                                        old size with old bytes, or new size
#
# Then N trials.  Trial T uses seed S+T and a fresh volume (block size 64K,
# so files span several data objects), a random commit_ms, and:
#   1. crash_workload run: the workload (with --db-every K, every K-th trial
#      the database workload of crash_workload run --db); its log (local
#      disk) says what each fsync acknowledged;
#   2. kill -9 of the daemon after a random delay, umount -l of the dead mount;
#   3. one trial in four: a second crash, of the next mount, at a random
#      instant of its start (journal replay);
#   4. remount, crash_workload check: (a) acknowledged files whole, (b) no
#      half-done rename, (c) everything lists, stats and reads, (e) the tree
#      is a state the workload passed through (see crash_workload.c);
#   5. umount, wait for the daemon to exit, then (d) flockerctl fsck NAME must
#      report the volume clean.
# With --snap-every K, every K-th trial also takes snapshots of the live
# volume: "pre" halfway to the kill (its tree digested from a read-only mount
# of VOL@pre: names, types, modes, sizes, links, contents), then "mid" is
# requested and the kill -9 lands 0-400 ms later, in the middle of taking it.
# After the crash and step 5: "pre" is listed, reads exactly as before the
# crash and fsck VOL@pre is clean; "mid" exists whole or not at all: if
# listed, fsck VOL@mid is clean and its tree lists, stats and reads; if
# flockerctl said it was created, it is listed.  flockerctl itself gets 5 s
# from its start, then a kill -9 too (it may be taking the snapshot itself
# by then, the dead writer's lock broken).
# The workload must stop with ENOTCONN (the daemon died), never another error.
# A failing trial prints its seed and number, keeps its logs in the work
# directory and tells how to run it again.  Syncfs is left out, of the random
# trials' acknowledgements and of the scenarios, unless --syncfs-trials.
#
# Output ends with "N passed, N failed" (trials, scenarios and their fscks).  Exit 0,
# 1 on any failure, 77 (skip) without root or /dev/fuse.
set -euo pipefail
# FLOCKER_CRASH_MOUNT_OPTS: more mount options for the trials (e.g. debug, whose
# log traces every transaction, commit, trim and purge).
XOPTS=${FLOCKER_CRASH_MOUNT_OPTS:+,$FLOCKER_CRASH_MOUNT_OPTS}

PROG=${0##*/}
WORKLOAD=${1:?usage: $PROG WORKLOAD [--trials N] [--seed S] ...}
shift
TRIALS=100
SEED=
FIRST=0
MAX_DELAY_MS=1000
WORKDIR=
KEEP=0
SYNCFS_TRIALS=0
SCENARIOS=1
DB_EVERY=0
SNAP_EVERY=0
while [ $# -gt 0 ]; do
	case $1 in
	--trials) TRIALS=$2; shift ;;
	--seed) SEED=$2; shift ;;
	--first) FIRST=$2; shift ;;
	--max-delay-ms) MAX_DELAY_MS=$2; shift ;;
	--workdir) WORKDIR=$2; shift ;;
	--keep) KEEP=1 ;;
	--syncfs-trials) SYNCFS_TRIALS=1 ;;
	--no-scenarios) SCENARIOS=0 ;;
	--db-every) DB_EVERY=$2; shift ;;
	--snap-every) SNAP_EVERY=$2; shift ;;
	*) echo "$PROG: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/lib.sh"

PASSED=0
FAILED=0
need_root_and_fuse
find_binaries

[ -n "$SEED" ] || SEED=$(( ($(date +%s%N) / 1000) % 1000000007 ))
if [ -z "$WORKDIR" ]; then
	WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/flocker-crash.XXXXXX")
fi
mkdir -p "$WORKDIR"
MNT=$WORKDIR/mnt
mkdir -p "$MNT"
finish_all() {
	cleanup_all
	if [ "$FAILED" = 0 ] && [ "$KEEP" = 0 ]; then
		rm -rf "$WORKDIR"
	fi
}
trap finish_all EXIT
say "seed $SEED, trials $FIRST..$((FIRST + TRIALS - 1)), work directory $WORKDIR"

FSCK_OK=1
check_fsck_available || FSCK_OK=0

pass() { PASSED=$((PASSED + 1)); }
fail() {
	FAILED=$((FAILED + 1))
	say "FAIL: $*"
}

# --- fixed scenarios: a change, kill -9, remount (scenarios.py) ----------------------------

SCEN=$(dirname "$0")/scenarios.py

# scenario NAME: runs it on a fresh volume; counts a pass or a failure.
scenario() {
	local name=$1 vol=crash-$$-$1 pid out opts res
	opts=$(python3 "$SCEN" opts "$name")
	opts="log=$WORKDIR/$name.mount.log${opts:+,$opts}"
	volume_create "$vol" || { fail "$name: cannot create volume $vol"; return; }
	if ! mount_volume "$vol" "$MNT" "$opts"; then
		fail "$name: cannot mount $vol: $MOUNT_ERR"
		return
	fi
	pid=$(daemon_pid "$vol")
	out=$(timeout 60 python3 "$SCEN" run "$name" "$MNT" 2>&1) ||
		fail "$name: the changes failed before the crash: $out"
	kill -9 "$pid"
	wait_gone "$pid" 10 || true
	umount -i -l "$MNT" 2>/dev/null || true
	if ! mount_volume "$vol" "$MNT" "log=$WORKDIR/$name.mount.log"; then
		fail "$name: cannot mount $vol again after kill -9: $MOUNT_ERR"
		return
	fi
	res=$(timeout 60 python3 "$SCEN" check "$name" "$MNT" 2>&1 || true)
	case $res in
	ok*) pass; say "ok: ${res#ok }" ;;
	*) fail "${res#FAIL } (volume $vol, log $WORKDIR/$name.mount.log)" ;;
	esac
	unmount_wait "$vol" "$MNT" || fail "$name: the daemon of $vol did not exit after umount"
	if [ "$FSCK_OK" = 1 ]; then
		if fsck_clean "$vol" "$name"; then pass; else FAILED=$((FAILED + 1)); fi
	fi
	volume_remove_bg "$vol"
}

if [ "$SCENARIOS" = 1 ]; then
	for name in $(python3 "$SCEN" list); do
		scenario "$name"
	done
	[ "$SYNCFS_TRIALS" = 0 ] || scenario syncfs
fi

# --- snapshots in trials -------------------------------------------------------------------

SMNT=$WORKDIR/smnt
CLEANUP_MOUNTS+=("$SMNT")
mkdir -p "$SMNT"
SNAP_TRIALS=0
MID_TAKEN=0
MID_WAIT=0

# snap_digest VOL@SNAP LOG: the tree of the snapshot mounted read-only at
# $SMNT, one digest line on stdout; 1 when it cannot be mounted or read.
snap_digest() {
	local spec=$1 mlog=$2 rc=0 d
	mount_volume "$spec" "$SMNT" "log=$mlog" || { say "cannot mount $spec: $MOUNT_ERR"; return 1; }
	d=$(cd "$SMNT" && {
		find . -printf '%p %y %m %s %n %l\n' | LC_ALL=C sort
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r md5sum
	} | md5sum) || rc=1
	unmount_wait "$spec" "$SMNT" >/dev/null || rc=1
	echo "$d"
	return "$rc"
}

# snap_after T VOL CRC LOG: the checks of a snapshot trial after the crash
# (CRC: exit status of flockerctl snapshot create mid); prints why it fails,
# 1 then.
snap_after() {
	local t=$1 vol=$2 crc=$3 mlog=$4 list d ok=1
	list=$("$CTL" snapshot list "$vol" 2>&1) || { say "  snapshot list $vol: $list"; return 1; }
	if ! grep -q '^pre ' <<<"$list"; then
		say "  snapshot pre, taken before the crash, is not listed after it: $list"
		return 1
	fi
	d=$(snap_digest "$vol@pre" "$mlog") || ok=0
	if [ "$d" != "$(cat "$WORKDIR/t$t.pre.digest")" ]; then
		say "  snapshot $vol@pre reads differently after the crash and recovery"
		ok=0
	fi
	fsck_clean "$vol@pre" "trial $t, snapshot pre" || ok=0
	if grep -q '^mid ' <<<"$list"; then
		MID_TAKEN=$((MID_TAKEN + 1))
		fsck_clean "$vol@mid" "trial $t, snapshot mid (taken as the writer was killed)" || ok=0
		if mount_volume "$vol@mid" "$SMNT" "log=$mlog"; then
			if ! (cd "$SMNT" && find . -type f -print0 | xargs -0 -r cat >/dev/null &&
				find . -printf '%p %y %m %s %n\n' >/dev/null); then
				say "  snapshot $vol@mid does not read whole"
				ok=0
			fi
			unmount_wait "$vol@mid" "$SMNT" >/dev/null || ok=0
		else
			say "  snapshot $vol@mid is listed but does not mount: $MOUNT_ERR"
			ok=0
		fi
	elif [ "$crc" = 0 ]; then
		say "  flockerctl reported snapshot $vol@mid created, but it is not listed: $(cat "$WORKDIR/t$t.mid.out")"
		ok=0
	fi
	[ "$ok" = 1 ]
}

# --- random trials ----------------------------------------------------------------------------

# trial T: 0 pass, 1 fail (reasons printed)
trial() {
	local t=$1 seed=$((SEED + $1)) vol=crash-$$-t$1 ok=1
	local log=$WORKDIR/t$t.ops mlog=$WORKDIR/t$t.mount.log out pid wpid delay cms
	local cms_choices=(1 20 200 1000)
	RANDOM=$seed
	cms=${cms_choices[$((RANDOM % 4))]}
	delay=$((RANDOM % (MAX_DELAY_MS + 1)))
	why() {
		ok=0
		say "FAIL: trial $t (seed $seed, commit_ms $cms, kill after ${delay}ms): $*"
	}
	volume_create "$vol" || { why "cannot create volume $vol"; return 1; }
	if ! mount_volume "$vol" "$MNT" "log=$mlog,commit_ms=$cms$XOPTS"; then
		why "cannot mount: $MOUNT_ERR"
		return 1
	fi
	pid=$(daemon_pid "$vol")
	local syncfs_opt=--no-syncfs db_opt=
	[ "$SYNCFS_TRIALS" = 0 ] || syncfs_opt=
	# every K-th trial a database: fdatasync'd and O_DSYNC overwrites in
	# preallocated files, synced appends (crash_workload run --db)
	if [ "$DB_EVERY" -gt 0 ] && [ $((t % DB_EVERY)) = $((DB_EVERY - 1)) ]; then
		db_opt=--db
		why() {
			ok=0
			say "FAIL: trial $t (database workload, seed $seed, commit_ms $cms, kill after ${delay}ms): $*"
		}
	fi
	"$WORKLOAD" run --dir "$MNT" --log "$log" --seed "$seed" --max-ms 60000 $syncfs_opt $db_opt \
		>"$WORKDIR/t$t.run.out" 2>&1 &
	wpid=$!
	local snap_trial=0 cpid= half d
	if [ "$SNAP_EVERY" -gt 0 ] && [ $((t % SNAP_EVERY)) = $((SNAP_EVERY / 2)) ]; then
		snap_trial=1
		SNAP_TRIALS=$((SNAP_TRIALS + 1))
	fi
	if [ "$snap_trial" = 1 ]; then
		half=$((delay / 2))
		d=$((RANDOM % 400))
		sleep "$(printf '%d.%03d' $((half / 1000)) $((half % 1000)))"
		timeout 60 "$CTL" snapshot create "$vol" pre >"$WORKDIR/t$t.pre.out" 2>&1 ||
			why "snapshot pre of the live volume failed: $(cat "$WORKDIR/t$t.pre.out")"
		snap_digest "$vol@pre" "$mlog" >"$WORKDIR/t$t.pre.digest" ||
			why "snapshot $vol@pre cannot be read before the crash"
		fsck_clean "$vol@pre" "trial $t, snapshot pre before the crash" || ok=0
		# a request the dead writer never answers waits for the watch timeout
		# (30 s): flockerctl gets 5 s, then a kill -9 too, wherever it is
		timeout -s KILL 5 "$CTL" snapshot create "$vol" mid >"$WORKDIR/t$t.mid.out" 2>&1 &
		cpid=$!
		sleep "$(printf '0.%03d' "$d")"
		why() {
			ok=0
			say "FAIL: trial $t (snapshots, seed $seed, commit_ms $cms, kill ${d}ms after requesting snapshot mid): $*"
		}
	else
		sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	fi
	kill -9 "$pid" 2>/dev/null || why "the daemon (pid $pid) was gone before the kill"
	if ! wait_gone "$wpid" 30; then
		why "the workload hangs 30s after the daemon died (pid $wpid): $(cat /proc/"$wpid"/stack 2>/dev/null | sed -n 1,3p | tr '\n' ' ')"
		kill -9 "$wpid" 2>/dev/null || true
	fi
	wait "$wpid" 2>/dev/null || why "the workload failed: $(tail -3 "$WORKDIR/t$t.run.out")"
	wait_gone "$pid" 10 || why "the killed daemon $pid does not go away"
	# snapshot mid: its flockerctl ends before the remount (after the kill it
	# may take the snapshot itself, holding the volume's lock meanwhile)
	local crc=
	if [ "$snap_trial" = 1 ]; then
		local w0=$SECONDS
		crc=0
		wait "$cpid" 2>/dev/null || crc=$?
		MID_WAIT=$((MID_WAIT + SECONDS - w0))
	fi
	umount -i -l "$MNT" 2>/dev/null || true
	# the workload must have stopped because the daemon died, not for another
	# error: its E-line ends with 1 when the mount answered ENOTCONN right
	# after the failing call (EIO is what write(2) gets when the kernel cannot
	# read a page in from a dead daemon)
	local last
	last=$(grep '^E .* -1 ' "$log" | tail -1 || true)
	if [ -z "$last" ]; then
		why "the workload stopped without an error: $(tail -1 "$WORKDIR/t$t.run.out")"
	elif [ "${last##* }" != 1 ]; then
		why "op $(cut -d' ' -f2 <<<"$last") failed with errno $(cut -d' ' -f4 <<<"$last") while the daemon was alive: $(grep "^B $(cut -d' ' -f2 <<<"$last") " "$log")"
	fi
	# now and then a second crash, of the mount that replays the journal
	if [ $((RANDOM % 4)) = 0 ]; then
		local d2=$((RANDOM % 300)) fpid
		"$MOUNT_BIN" "$vol" "$MNT" -f -o "log=$mlog,commit_ms=$cms$XOPTS" </dev/null >>"$mlog" 2>&1 &
		fpid=$!
		sleep "$(printf '0.%03d' "$d2")"
		kill -9 "$fpid" 2>/dev/null || true
		wait "$fpid" 2>/dev/null || true
		umount -i -l "$MNT" 2>/dev/null || true
		echo "--- trial $t: second kill -9, ${d2}ms into the next mount" >>"$mlog"
	fi
	if ! mount_volume "$vol" "$MNT" "log=$mlog,commit_ms=$cms$XOPTS"; then
		why "cannot mount after the crash: $MOUNT_ERR"
		return 1
	fi
	if ! "$WORKLOAD" check --dir "$MNT" --log "$log" >"$WORKDIR/t$t.check.out" 2>&1; then
		why "the tree after the crash is wrong:"
		sed 's/^/    /' "$WORKDIR/t$t.check.out" | sed -n 1,60p
	fi
	if ! unmount_wait "$vol" "$MNT" "$WORKDIR/t$t.stuck"; then
		why "the daemon of $vol did not exit within 60s of umount; threads in $WORKDIR/t$t.stuck:"
		head -40 "$WORKDIR/t$t.stuck" | sed 's/^/    /'
	fi
	if [ "$FSCK_OK" = 1 ]; then
		fsck_clean "$vol" "trial $t" || ok=0
	fi
	if [ "$snap_trial" = 1 ] && ! snap_after "$t" "$vol" "$crc" "$mlog"; then
		why "its snapshots are wrong after the crash (see above)"
	fi
	if [ "$ok" = 1 ]; then
		[ "$KEEP" = 1 ] || rm -f "$log" "$mlog" "$WORKDIR/t$t".*.out "$WORKDIR/t$t.pre.digest"
		[ "$KEEP" = 1 ] || volume_remove_bg "$vol"
		return 0
	fi
	# the volume goes too (thousands of trials must not fill the cluster);
	# --keep keeps it for a look
	[ "$KEEP" = 1 ] || volume_remove_bg "$vol"
	say "  trial $t logs: $log (workload), $mlog (daemon), $WORKDIR/t$t.check.out"
	say "  again: $0 $WORKLOAD --seed $SEED --first $t --trials 1 --keep --no-scenarios${db_opt:+ --db-every 1}"
	return 1
}

t0=$SECONDS
for ((t = FIRST; t < FIRST + TRIALS; t++)); do
	if trial "$t"; then
		PASSED=$((PASSED + 1))
	else
		FAILED=$((FAILED + 1))
	fi
	if [ $(((t - FIRST + 1) % 25)) = 0 ]; then
		say "$((t - FIRST + 1)) trials in $((SECONDS - t0))s: $PASSED passed, $FAILED failed so far"
	fi
done
wait_bg_removes
if [ "$FSCK_OK" = 0 ]; then
	FAILED=$((FAILED + 1))
	say "FAIL: flockerctl fsck is missing ($FSCK_WHY): check (d), fsck clean after every crash, was not run"
fi
say "seed $SEED: $TRIALS trials in $((SECONDS - t0))s, after $(python3 "$SCEN" list | wc -w) fixed scenarios"
[ "$SNAP_EVERY" = 0 ] || say "$SNAP_TRIALS trials with snapshots; the writer was killed before snapshot mid was recorded in $((SNAP_TRIALS - MID_TAKEN)), after in $MID_TAKEN; ${MID_WAIT}s waiting for flockerctl snapshot create mid after the kills"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
