#!/usr/bin/env bash
# fencing_test.sh - a writer that loses its volume to another host must never
# write to it again.
#
#   fencing_test.sh stop            the old writer is SIGSTOPped past its lease
#   fencing_test.sh stop-in-lease   the same, but B takes over 1s after the
#                                   stop, while A's lease still runs
#   fencing_test.sh partition       the old writer runs in a network namespace
#                                   whose traffic to the cluster is cut
#
# Host A (the old writer) and host B (the new one) are told apart by their
# UTS hostname (unshare --uts); both FUSE mounts live in this mount
# namespace so the test can use them.  Both use lease=5.
#
#   1. A mounts (commit_ms=5000), writes file1 (v1) and fsyncs it, then
#      leaves changes in its memory: file1 rewritten (vA), a new file and a
#      new directory, none fsynced.
#   2. A becomes unreachable: SIGSTOP, or (partition) an nft rule in A's
#      network namespace drops everything; we wait past the lease (7s; 1s
#      for stop-in-lease).
#   3. B mounts with -o takeover from "hostB" and another mount point, sees
#      file1 as v1 (or vA), rewrites file1 (vB), writes file2, fsyncs.
#   4. A comes back (SIGCONT / rule removed), gets 4s to flush and commit
#      what it held, then writes through its mount: rewrites file1, creates a
#      file, makes a directory, fsyncs each.  Every fsync must fail (EIO) and
#      no call may hang.
#   5. B still reads vB and file2, and writes and fsyncs file3.
#   6. Both unmount; a fresh mount shows exactly B's tree (file1 = vB,
#      file2, file3, what A had made durable before the cut, nothing A did
#      after it), and flockerctl fsck reports it clean.
#
# stop uses the "ceph" fixture (CEPH_CONF).  partition needs a cluster A can
# reach from its namespace: the fixture's mon listens on 127.0.0.1, which a
# network namespace cannot reach, so it starts its own memstore cluster
# bound to the host end of a veth pair (10.R.S.1/24, A at 10.R.S.2) with
# contrib/dev-cluster.sh --addr, and cuts A's link with nft (table "inet
# flockerfs_cut" in A's namespace, policy drop on input and output), which
# keeps the link and its routes so that the cut is undone by deleting the
# table (iptables DROP rules in the namespace when nft is missing).
#
# Output ends with "N passed, N failed".  Exit 0, 1, or 77 when the machine
# lacks root, /dev/fuse, unshare, or (partition) ip, nsenter, nft/iptables.
set -euo pipefail

PROG=${0##*/}
MODE=${1:-stop}
case $MODE in stop | stop-in-lease | partition) ;; *) echo "usage: $PROG stop|stop-in-lease|partition" >&2; exit 2 ;; esac
WAIT=7
[ "$MODE" = stop-in-lease ] && WAIT=1
PROG="$PROG $MODE"

# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/lib.sh"

need_root_and_fuse
command -v unshare >/dev/null || skip "no unshare(1)"
find_binaries
check_fsck_available || true

finish_hook() { report_hangs; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/flocker-fence.XXXXXX")
MA=$WORK/a
MB=$WORK/b
MC=$WORK/c
mkdir -p "$MA" "$MB" "$MC"
CLEANUP_MOUNTS=("$MA" "$MB" "$MC")
VOL=fence-$MODE-$$
NS=
VETH_H=
OWN_CLUSTER=
APID=

cleanup() {
	set +e
	[ -n "$APID" ] && kill -CONT "$APID" 2>/dev/null
	cleanup_all
	if [ -n "$NS" ]; then
		ip netns del "$NS" 2>/dev/null
	fi
	if [ -n "$VETH_H" ]; then
		ip link del "$VETH_H" 2>/dev/null
	fi
	if [ -n "$OWN_CLUSTER" ]; then
		"$FLOCKER_SOURCE_DIR/contrib/dev-cluster.sh" destroy --dir "$OWN_CLUSTER" >/dev/null 2>&1
	fi
	remove_work
}
trap cleanup EXIT

# --- the partition variant's network and cluster ---------------------------------------------

if [ "$MODE" = partition ]; then
	for c in ip nsenter; do
		command -v "$c" >/dev/null || skip "no $c(8): cannot build the partition"
	done
	if command -v nft >/dev/null; then
		CUT_TOOL=nft
	elif command -v iptables >/dev/null; then
		CUT_TOOL=iptables
	else
		skip "neither nft(8) nor iptables(8): cannot cut the link"
	fi
	: "${FLOCKER_SOURCE_DIR:?FLOCKER_SOURCE_DIR is not set (run through ctest)}"
	NS=flk-fence-$$
	VETH_H=fkh$$
	VETH_N=fkn$$
	# a /24 nobody uses yet
	for ((i = 0; i < 50; i++)); do
		SUB=10.$((200 + RANDOM % 50)).$((RANDOM % 250 + 1))
		grep -q " $SUB\." <<<"$(ip -o addr show)" || break
	done
	HOST_IP=$SUB.1
	NS_IP=$SUB.2
	ip netns add "$NS" || skip "cannot create a network namespace (ip netns add)"
	ip link add "$VETH_H" type veth peer name "$VETH_N" || skip "cannot create a veth pair"
	ip link set "$VETH_N" netns "$NS"
	ip addr add "$HOST_IP/24" dev "$VETH_H"
	ip link set "$VETH_H" up
	ip netns exec "$NS" ip addr add "$NS_IP/24" dev "$VETH_N"
	ip netns exec "$NS" ip link set "$VETH_N" up
	ip netns exec "$NS" ip link set lo up
	OWN_CLUSTER=$WORK/cluster
	say "starting a memstore cluster bound to $HOST_IP (A reaches it from $NS at $NS_IP)"
	if ! "$FLOCKER_SOURCE_DIR/contrib/dev-cluster.sh" start --fresh --memstore --addr "$HOST_IP" \
		--dir "$OWN_CLUSTER" --timeout 90 >"$WORK/cluster.out" 2>&1; then
		bad "cannot start a cluster on $HOST_IP: $(tail -3 "$WORK/cluster.out")"
		finish
	fi
	export CEPH_CONF=$OWN_CLUSTER/ceph.conf CEPH_ARGS='--id flocker'
	MON_PORT=$(sed -n 's/^port=//p' "$OWN_CLUSTER/cluster.state")
	if ! ip netns exec "$NS" timeout 5 bash -c "exec 3<>/dev/tcp/$HOST_IP/$MON_PORT" 2>/dev/null; then
		bad "namespace $NS cannot reach the mon at $HOST_IP:$MON_PORT over the veth pair"
		finish
	fi
fi

# run_as_host HOSTNAME CMD...: runs CMD with another UTS hostname (and, for
# host A in the partition variant, in A's network namespace).
run_as_a() {
	if [ "$MODE" = partition ]; then
		nsenter --net="/run/netns/$NS" unshare --uts sh -c 'hostname "$0"; exec "$@"' hostA "$@"
	else
		unshare --uts sh -c 'hostname "$0"; exec "$@"' hostA "$@"
	fi
}
run_as_b() {
	unshare --uts sh -c 'hostname "$0"; exec "$@"' hostB "$@"
}

# cut_a / restore_a: host A loses the cluster (partition: every packet of
# its namespace dropped; otherwise its daemon stopped) and gets it back.
cut_a() { a_link cut; }
restore_a() { a_link restore; }
a_link() {
	local netns=(nsenter --net="/run/netns/$NS") ipt=-I sig=-STOP
	[ "$1" = cut ] || ipt=-D sig=-CONT
	if [ "$MODE" = partition ] && [ "$CUT_TOOL" = nft ]; then
		if [ "$1" = cut ]; then
			"${netns[@]}" nft -f - <<'EOF'
table inet flockerfs_cut {
	chain in { type filter hook input priority -10; policy drop; }
	chain out { type filter hook output priority -10; policy drop; }
}
EOF
		else
			"${netns[@]}" nft delete table inet flockerfs_cut
		fi
	elif [ "$MODE" = partition ]; then
		"${netns[@]}" iptables "$ipt" INPUT -j DROP
		"${netns[@]}" iptables "$ipt" OUTPUT -j DROP
	else
		kill "$sig" "$APID"
	fi
}

# pyop MOUNT SCRIPT ARGS: runs a small Python program (with a 60s limit); its
# stdout is the result.
# A call stuck in a FUSE request cannot be killed, only answered: pyop runs
# the program in the background and, when it has not finished after 60s,
# keeps the stacks of the daemon serving its path (first argument) in
# $WORK/hang.N, kills that daemon (which ends the call) and prints "HANG".
pyop() {
	local out=$WORK/pyop.$$.$RANDOM pid d dpid=
	python3 - "$@" <&0 >"$out" 2>&1 &
	pid=$!
	if ! wait_gone "$pid" 60; then
		for d in "$MA" "$MB" "$MC"; do
			case $1 in "$d"*) dpid=$(pgrep -f -- "mount.flockerfs $VOL $d" | sed -n 1,1p) ;; esac
		done
		{
			echo "python3 $* hangs; the daemon serving it is pid ${dpid:-unknown}"
			[ -n "$dpid" ] && daemon_stacks "$dpid"
		} >"$WORK/hang.$pid" 2>&1
		[ -n "$dpid" ] && kill -9 "$dpid"
		echo "HANG"
	fi
	wait "$pid" 2>/dev/null || echo "EXIT $?"
	cat "$out"
	rm -f "$out"
}

# stack_tops FILE N: the first N lines of the stacks in FILE (daemon_stacks)
# that are not the usual waits of idle threads, indented
stack_tops() {
	grep -E "^(Thread|#[0-4] )" "$1" | grep -vE "futex|pthread_cond|poll|epoll|clone|start_thread|libceph|librados|libstdc" |
		sed -n "1,$2p" | sed 's/^/    /'
}

report_hangs() {
	local f
	for f in "$WORK"/hang.*; do
		[ -e "$f" ] || continue
		bad "$(head -1 "$f"); its threads are in $f:"
		stack_tops "$f" 20
	done
}

write_file() { # DIR NAME BYTE SIZE SYNC(0|1)
	pyop "$@" <<'EOF'
import os, sys
d, name, byte, size, sync = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
try:
    fd = os.open(os.path.join(d, name), os.O_CREAT | os.O_WRONLY, 0o644)
    os.pwrite(fd, byte.encode() * size, 0)
    if sync:
        os.fsync(fd)
    os.close(fd)
    print("OK")
except OSError as e:
    print("ERR", e.errno, e.strerror)
EOF
}

content_of() { # FILE: "<size> <first byte> <count of first byte>"
	pyop "$1" <<'EOF'
import sys
try:
    d = open(sys.argv[1], "rb").read()
    print(len(d), chr(d[0]) if d else "-", d.count(d[:1]) if d else 0)
except OSError as e:
    print("ERR", e.errno, e.strerror)
EOF
}

# --- 1. A mounts and writes --------------------------------------------------------------------

volume_create "$VOL" 4M || { bad "cannot create volume $VOL"; finish; }
if ! out=$(run_as_a "$MOUNT_BIN" "$VOL" "$MA" -o "lease=5,commit_ms=5000,log=$WORK/a.log" 2>&1); then
	bad "host A cannot mount $VOL: $out"
	finish
fi
APID=$(daemon_pid "$VOL" "$MA")
STARTED_PIDS+=("$APID")
say "host A: daemon $APID, mount $MA"
r=$(write_file "$MA" file1 1 300000 1)
[ "$r" = OK ] && ok "A writes and fsyncs file1 (v1)" || bad "A cannot write file1: $r"
# changes A holds in memory only
write_file "$MA" file1 A 300000 0 >/dev/null
write_file "$MA" a-pending-file P 200000 0 >/dev/null
mkdir "$MA/a-pending-dir" 2>/dev/null || true

# --- 2. A becomes unreachable --------------------------------------------------------------------

cut_a
say "host A cut off ($MODE); waiting ${WAIT}s (its lease is 5s)"
sleep "$WAIT"

# --- 3. B takes over ---------------------------------------------------------------------------

if ! out=$(run_as_b "$MOUNT_BIN" "$VOL" "$MB" -o "takeover,lease=5,log=$WORK/b.log" 2>&1); then
	bad "host B cannot take over $VOL: $out"
	finish
fi
BPID=$(pgrep -f -- "mount.flockerfs $VOL $MB" | sed -n 1,1p)
STARTED_PIDS+=("$BPID")
ok "host B took over (daemon $BPID)"
if grep -Eq "fencing (the last )?writer" "$WORK/b.log"; then
	ok "B fenced A first: $(grep -E "fencing (the last )?writer" "$WORK/b.log" | tail -1 | sed 's/^mount.flockerfs: //')"
elif [ "$WAIT" -gt 5 ]; then
	bad "B took the volume without fencing A ($WORK/b.log has no 'fencing ... writer'): A's lease had run out, so B's lock_exclusive succeeded at once and nothing blocklisted A's RADOS client"
else
	bad "B took the volume without fencing A ($WORK/b.log has no 'fencing ... writer'): nothing blocklisted A's RADOS client"
fi
# what A made durable before it was cut off (its commit timer may fire first
# on a loaded machine) is B's to see; nothing A does after that may land
AT_TAKEOVER=$(cd "$MB" && ls -A)
c=$(content_of "$MB/file1")
case $c in "300000 1 300000" | "300000 A 300000") ok "B sees file1 as A last made it durable ($c)" ;;
*) bad "B sees file1 as '$c', want 300000 bytes of '1' (or 'A')" ;; esac
r=$(write_file "$MB" file1 B 300000 1)
[ "$r" = OK ] && ok "B rewrites file1 (vB) and fsyncs" || bad "B cannot write file1: $r"
r=$(write_file "$MB" file2 C 100000 1)
[ "$r" = OK ] && ok "B writes file2 and fsyncs" || bad "B cannot write file2: $r"

# --- 4. A comes back ---------------------------------------------------------------------------

restore_a
say "host A is back; 4s for it to flush and commit what it held"
sleep 4
# in the background: a call stuck in a FUSE request cannot be killed, only
# answered, so a hang is detected here and ended by killing A's daemon
cat >"$WORK/a-ops.py" <<'EOF'
import os, sys, errno
d = sys.argv[1]
def step(what, f):
    try:
        f()
        print(what, "OK", flush=True)
    except OSError as e:
        print(what, "ERR", errno.errorcode.get(e.errno, e.errno), flush=True)
def rewrite():
    fd = os.open(d + "/file1", os.O_WRONLY)
    try:
        os.pwrite(fd, b"X" * 300000, 0)
        os.fsync(fd)
    finally:
        os.close(fd)
def newfile():
    fd = os.open(d + "/a-after-file", os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.write(fd, b"Y" * 5000)
        os.fsync(fd)
    finally:
        os.close(fd)
def newdir():
    os.mkdir(d + "/a-after-dir")
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
step("rewrite-file1", rewrite)
step("create-file", newfile)
step("mkdir", newdir)
EOF
python3 "$WORK/a-ops.py" "$MA" >"$WORK/a-ops.out" 2>&1 &
OPS_PID=$!
if ! wait_gone "$OPS_PID" 60; then
	bad "A's calls hang for 60s after A came back (a fenced writer must fail them, not block); A's threads are in $WORK/a-stuck.txt:"
	daemon_stacks "$APID" >"$WORK/a-stuck.txt" 2>&1
	stack_tops "$WORK/a-stuck.txt" 30
	kill -9 "$APID" 2>/dev/null || true
fi
wait "$OPS_PID" 2>/dev/null || true
r=$(cat "$WORK/a-ops.out")
printf '%s\n' "$r" | sed 's/^/    A: /'
# after a hang the calls failed because A's daemon was killed: nothing to judge
[ -e "$WORK/a-stuck.txt" ] && r=
for step in rewrite-file1 create-file mkdir; do
	[ -n "$r" ] || break
	line=$(grep "^$step " <<<"$r" || echo "$step HANG-OR-CRASH")
	case $line in
	*"ERR EIO") ok "A's $step fails with EIO" ;;
	*ERR*) ok "A's $step fails (${line#* ERR }; EIO expected, but it did fail)" ;;
	*OK) bad "A's $step succeeded: a fenced writer could still write and fsync" ;;
	*) bad "A's $step did not finish" ;;
	esac
done

# --- 5. B still works --------------------------------------------------------------------------

c=$(content_of "$MB/file1")
[ "$c" = "300000 B 300000" ] && ok "B still reads file1 = vB" || bad "B reads file1 as '$c', want 300000 bytes of 'B'"
r=$(write_file "$MB" file3 D 50000 1)
[ "$r" = OK ] && ok "B writes file3 and fsyncs" || bad "B cannot write file3: $r"

# --- 6. both unmount; a fresh mount shows B's tree --------------------------------------------

umount -i -l "$MA" 2>/dev/null || true
if wait_gone "$APID" 60; then
	ok "A's daemon exits after umount"
else
	bad "A's daemon $APID does not exit 60s after umount; its threads are in $WORK/a-exit-stuck.txt"
	daemon_stacks "$APID" >"$WORK/a-exit-stuck.txt" 2>&1
	kill -9 "$APID" 2>/dev/null || true
fi
unmount_wait "$VOL" "$MB" && ok "B unmounts cleanly" || bad "B's daemon does not exit 60s after umount"
if ! mount_volume "$VOL" "$MC" "log=$WORK/c.log"; then
	bad "cannot mount $VOL afterwards: $MOUNT_ERR"
	finish
fi
listing=$(cd "$MC" && ls -A | tr '\n' ' ')
want=$(printf '%s\n' $AT_TAKEOVER file2 file3 | LC_ALL=C sort -u | tr '\n' ' ')
mine=$(cd "$MC" && ls -A | LC_ALL=C sort | tr '\n' ' ')
[ "$mine" = "$want" ] && ok "the tree is B's: $listing" ||
	bad "the tree after both unmounted is '$listing', want '$want' (what B saw at the takeover and wrote; A's later changes must never land)"
c=$(content_of "$MC/file1")
[ "$c" = "300000 B 300000" ] && ok "file1 = vB" || bad "file1 is '$c' after remount, want 300000 bytes of 'B' (A overwrote B's data)"
c=$(content_of "$MC/file2")
[ "$c" = "100000 C 100000" ] && ok "file2 intact" || bad "file2 is '$c', want 100000 bytes of 'C'"
c=$(content_of "$MC/file3")
[ "$c" = "50000 D 50000" ] && ok "file3 intact" || bad "file3 is '$c', want 50000 bytes of 'D'"
unmount_wait "$VOL" "$MC" || bad "the checking mount does not exit after umount"
check_fsck "$VOL" "after the takeover"
say "daemon logs: $WORK/a.log (A), $WORK/b.log (B)"
sed 's/^/    A log: /' "$WORK/a.log" | tail -8
finish
