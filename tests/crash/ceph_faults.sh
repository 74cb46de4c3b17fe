#!/usr/bin/env bash
# ceph_faults.sh - Ceph daemons fail under a flockerfs write workload: the
# application sees no error and loses nothing.
#
#   ceph_faults.sh WORKLOAD [--phase-ms MS]
#
# Starts its own cluster (not the "ceph" fixture): 3 bluestore OSDs, pool
# size 3, min_size 2 (contrib/dev-cluster.sh --osds 3), so that OSDs can be
# restarted without losing their objects.  One volume is mounted with the
# default lease (15s).  Each phase runs two writers side by side for
# --phase-ms (default 25000):
#   - crash_workload run in its own directory (metadata changes, small
#     writes, fsyncs; it stops at the first error);
#   - a bulk writer: 4 MiB files written in 1 MiB pieces and fsynced, parts
#     of earlier files rewritten and fsynced, each acknowledged file's
#     SHA-256 logged on local disk.
# Phase 1: 5s in, kill -9 of osd.1 (two replicas remain: I/O goes on).
# Phase 2: 4s in, osd.1 is started again, and right after it the mon and all
#          OSDs are stopped (SIGTERM) and started again: I/O pauses and must
#          resume by itself.
# Then: both writers must have finished without any error; unmount, mount
# again, crash_workload check --final (every finished op durable, every file
# exactly its last contents), every bulk file's SHA-256 as acknowledged, and
# flockerctl fsck clean.
#
# Output ends with "N passed, N failed"; exit 0, 1, or 77 without root or
# /dev/fuse.
set -euo pipefail

PROG=${0##*/}
WORKLOAD=${1:?usage: $PROG WORKLOAD [--phase-ms MS]}
shift
PHASE_MS=25000
while [ $# -gt 0 ]; do
	case $1 in
	--phase-ms) PHASE_MS=$2; shift ;;
	*) echo "$PROG: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/lib.sh"

need_root_and_fuse
find_binaries
: "${FLOCKER_SOURCE_DIR:?FLOCKER_SOURCE_DIR is not set (run through ctest)}"
DEVC=$FLOCKER_SOURCE_DIR/contrib/dev-cluster.sh
check_fsck_available || true

WORK=$(mktemp -d "${TMPDIR:-/tmp}/flocker-cephfaults.XXXXXX")
CL=$WORK/cluster
MNT=$WORK/mnt
mkdir -p "$MNT"
VOL=cephfaults-$$
WRITER_PIDS=()

cleanup() {
	set +e
	for p in "${WRITER_PIDS[@]:-}"; do
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	done
	cleanup_all
	"$DEVC" destroy --dir "$CL" >/dev/null 2>&1
	remove_work
}
trap cleanup EXIT

t0=$SECONDS
say "starting a 3-OSD bluestore cluster in $CL"
if ! "$DEVC" start --fresh --osds 3 --dir "$CL" --timeout 120 >"$WORK/cluster.out" 2>&1; then
	bad "cannot start the cluster: $(tail -5 "$WORK/cluster.out")"
	finish
fi
export CEPH_CONF=$CL/ceph.conf CEPH_ARGS='--id flocker'
pool=$(timeout 30 env -u CEPH_ARGS ceph -c "$CEPH_CONF" --id admin osd pool get flocker size -f json 2>/dev/null || true)
say "cluster up after $((SECONDS - t0))s; pool flocker: $pool"

volume_create "$VOL" 4M || { bad "cannot create volume $VOL"; finish; }
if ! mount_volume "$VOL" "$MNT" "log=$WORK/mount.log"; then
	bad "cannot mount $VOL: $MOUNT_ERR"
	finish
fi

osd_pid() {
	local f=$CL/run/osd.$1.pid
	[ -f "$f" ] && cat "$f"
}

# bulk writer: DIR LOG SECONDS
bulk_writer() {
	python3 - "$@" <<'EOF'
import hashlib, os, random, sys, time
d, log, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
os.makedirs(d, exist_ok=True)
lf = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
contents = {}
end = time.time() + secs
i = 0
rnd = random.Random(os.getpid())
def ack(name):
    h = hashlib.sha256(contents[name]).hexdigest()
    os.write(lf, ("%s %d %s\n" % (name, len(contents[name]), h)).encode())
    os.fsync(lf)
try:
    while time.time() < end:
        if contents and rnd.random() < 0.3:
            name = rnd.choice(sorted(contents))
            off = rnd.randrange(0, len(contents[name]))
            piece = os.urandom(rnd.randrange(1, 1 << 20))
            fd = os.open(os.path.join(d, name), os.O_WRONLY)
            os.pwrite(fd, piece, off)
            os.fsync(fd)
            os.close(fd)
            b = bytearray(contents[name])
            if off + len(piece) > len(b):
                b.extend(b"\0" * (off + len(piece) - len(b)))
            b[off:off + len(piece)] = piece
            contents[name] = bytes(b)
        else:
            name = "bulk%04d" % i
            i += 1
            data = os.urandom(4 << 20)
            fd = os.open(os.path.join(d, name), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
            for k in range(0, len(data), 1 << 20):
                os.write(fd, data[k:k + (1 << 20)])
            os.fsync(fd)
            os.close(fd)
            contents[name] = data
        ack(name)
except OSError as e:
    print("bulk writer: %s: %s" % (name, e))
    sys.exit(1)
print("bulk writer: %d files, %d acknowledgements" % (len(contents), i))
EOF
}

# bulk_check DIR LOG: every file's last acknowledged SHA-256
bulk_check() {
	python3 - "$@" <<'EOF'
import hashlib, os, sys
d, log = sys.argv[1], sys.argv[2]
last = {}
for line in open(log):
    name, size, h = line.split()
    last[name] = (int(size), h)
bad = 0
for name, (size, h) in sorted(last.items()):
    try:
        data = open(os.path.join(d, name), "rb").read()
    except OSError as e:
        print("  %s: %s" % (name, e)); bad += 1; continue
    if len(data) != size or hashlib.sha256(data).hexdigest() != h:
        print("  %s: %d bytes, want %d; sha256 %s, want %s" % (name, len(data), size, hashlib.sha256(data).hexdigest()[:16], h[:16])); bad += 1
print("%d files, %d wrong" % (len(last), bad))
sys.exit(1 if bad else 0)
EOF
}

# phase N FAULT-FUNCTION DELAY-S
phase() {
	local n=$1 fault=$2 delay=$3 wpid bpid rc
	mkdir -p "$MNT/w$n" "$MNT/b$n"
	"$WORKLOAD" run --dir "$MNT/w$n" --log "$WORK/w$n.ops" --seed "$((RANDOM + n))" \
		--max-ms "$PHASE_MS" --max-ops 19000 --pace-us 2000 --no-syncfs >"$WORK/w$n.out" 2>&1 &
	wpid=$!
	bulk_writer "$MNT/b$n" "$WORK/b$n.log" "$((PHASE_MS / 1000))" >"$WORK/b$n.out" 2>&1 &
	bpid=$!
	WRITER_PIDS=("$wpid" "$bpid")
	sleep "$delay"
	"$fault"
	rc=0
	timeout_wait "$wpid" $((PHASE_MS / 1000 + 180)) || rc=$?
	if [ "$rc" = 0 ] && grep -q "ops done, no crash seen" "$WORK/w$n.out" && ! grep -q '^E .* -1 ' "$WORK/w$n.ops"; then
		ok "phase $n: the metadata workload saw no error ($(tail -1 "$WORK/w$n.out"))"
	else
		bad "phase $n: the metadata workload failed (exit $rc): $(tail -2 "$WORK/w$n.out" | tr '\n' ' ') $(grep '^E .* -1 ' "$WORK/w$n.ops" | sed -n 1,1p)"
	fi
	rc=0
	timeout_wait "$bpid" $((PHASE_MS / 1000 + 180)) || rc=$?
	if [ "$rc" = 0 ]; then
		ok "phase $n: the bulk writer saw no error ($(tail -1 "$WORK/b$n.out"))"
	else
		bad "phase $n: the bulk writer failed (exit $rc): $(tail -2 "$WORK/b$n.out" | tr '\n' ' ')"
	fi
	WRITER_PIDS=()
}

# timeout_wait PID SECS: wait for a child, its exit status; 124 after SECS.
timeout_wait() {
	local pid=$1 secs=$2 i
	for ((i = 0; i < secs * 10; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			return $?
		fi
		sleep 0.1
	done
	say "pid $pid still runs after ${secs}s: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-100); stack: $(head -3 "/proc/$pid/stack" 2>/dev/null | tr '\n' ' ')"
	kill -9 "$pid" 2>/dev/null || true
	sleep 1
	if kill -0 "$pid" 2>/dev/null; then
		# stuck in a FUSE request: only the daemon can end it
		local d
		d=$(daemon_pid "$VOL")
		say "it is stuck in the mount; the daemon's threads are in $WORK/stuck.txt; killing the daemon"
		[ -n "$d" ] && daemon_stacks "$d" >>"$WORK/stuck.txt" 2>&1 && kill -9 "$d"
	fi
	wait "$pid" 2>/dev/null || true
	return 124
}

fault_kill_osd() {
	local p
	p=$(osd_pid 1)
	say "kill -9 osd.1 (pid $p)"
	kill -9 "$p"
	FAULTS=$((FAULTS + 1))
}

fault_restart_all() {
	local t=$SECONDS pids=() f
	say "starting osd.1 again"
	"$DEVC" start --dir "$CL" --timeout 120 >>"$WORK/cluster.out" 2>&1 ||
		bad "cannot start osd.1 again: $(tail -2 "$WORK/cluster.out")"
	say "osd.1 back after $((SECONDS - t))s; stopping the mon and all OSDs (SIGTERM)"
	t=$SECONDS
	for f in "$CL"/run/osd.*.pid "$CL"/run/mon.*.pid; do
		pids+=("$(cat "$f")")
	done
	kill -TERM "${pids[@]}"
	for p in "${pids[@]}"; do
		wait_gone "$p" 60 || { say "pid $p ignores SIGTERM; killing it"; kill -9 "$p"; }
	done
	FAULTS=$((FAULTS + 4))
	say "mon and OSDs stopped after $((SECONDS - t))s; starting them again"
	"$DEVC" start --dir "$CL" --timeout 180 >>"$WORK/cluster.out" 2>&1 ||
		bad "cannot restart the cluster: $(tail -2 "$WORK/cluster.out")"
	say "cluster healthy again $((SECONDS - t))s after the stop"
}

FAULTS=0
phase 1 fault_kill_osd 5
phase 2 fault_restart_all 4

# the mount must still be healthy: no lost lease, no EIO
if grep -E "lost the writer lock|read-only|cannot" "$WORK/mount.log" >/dev/null; then
	bad "the daemon logged trouble: $(grep -E 'lost the writer lock|read-only|cannot' "$WORK/mount.log" | sed -n 1,3p | tr '\n' ' ')"
fi
if unmount_wait "$VOL" "$MNT" "$WORK/stuck.txt"; then
	ok "unmounted; the daemon exited"
else
	bad "the daemon did not exit within 60s of umount; its threads:"
	sed 's/^/    /' "$WORK/stuck.txt" | sed -n 1,80p
	kill -9 "$(daemon_pid "$VOL")" 2>/dev/null || true
	sleep 1
fi
if grep -q "unmount could not write everything" "$WORK/mount.log"; then
	bad "the daemon could not write everything at unmount: $(tail -2 "$WORK/mount.log" | tr '\n' ' ')"
fi
if ! mount_volume "$VOL" "$MNT" "log=$WORK/mount.log"; then
	bad "cannot mount $VOL again: $MOUNT_ERR"
	finish
fi
for n in 1 2; do
	if "$WORKLOAD" check --final --dir "$MNT/w$n" --log "$WORK/w$n.ops" >"$WORK/w$n.check" 2>&1; then
		ok "phase $n: the metadata workload's tree is whole after remount ($(tail -1 "$WORK/w$n.check"))"
	else
		bad "phase $n: the metadata workload's tree is wrong after remount:"
		sed 's/^/    /' "$WORK/w$n.check" | sed -n 1,30p
	fi
	if out=$(bulk_check "$MNT/b$n" "$WORK/b$n.log" 2>&1); then
		ok "phase $n: every bulk file has its acknowledged SHA-256 ($(tail -1 <<<"$out"))"
	else
		bad "phase $n: bulk files lost bytes:"
		sed 's/^/    /' <<<"$out" | sed -n 1,20p
	fi
done
unmount_wait "$VOL" "$MNT" || bad "the checking mount does not exit after umount"
check_fsck "$VOL" "after the faults"
say "$FAULTS faults injected in $((SECONDS - t0))s"
finish
