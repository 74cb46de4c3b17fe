#!/usr/bin/env bash
# fsck_damage.sh - flockerctl fsck finds each kind of damage, exactly that,
# and --repair fixes it.
#
# For each kind, a fresh volume (block size 64K) gets a small tree through a
# real mount:
#     f1 (10000 bytes), f2 + d1/f2link (hard links, 3000 bytes),
#     d1/big (200000 bytes: data objects 0..3), d1/empty, d1/sub/, lnk -> f1
# and is unmounted cleanly (fsck must then say clean).  Then the damage is
# made directly with rados in namespace vol.<uuid> (see fs/format/FORMAT.md):
#   dangling     dir.<d1>: a key "ghost" naming inode 0xfff0, which does not exist
#   nlink        dir.<d1>: key "f2link" removed (f2's inode keeps nlink 2)
#   orphan       dir.<root>: key "f1" removed (its inode and data stay)
#   stray        data.00000000000fff00.00000000 put (an unknown inode)
#   pasteof      data.<big>.00000009 put (d1/big ends in object 3)
#   tailbytes    500 bytes appended to data.<f1>.00000000 (f1 has 10000)
#   torn         jrnl.<jtail> created with rados append: a frame header that
#                promises 200 bytes, then 20 (a clean unmount leaves no segment)
# and fsck --json must report that kind (its counter > 0) and nothing else,
# exit 4; fsck --repair must exit 1 (all repaired); fsck again must be clean;
# a mount must then show the tree with the damage undone the way fsck says:
# ghost gone, f2 back to 1 link, f1's bytes in lost+found, big whole.
#
# Uses the "ceph" fixture (CEPH_CONF, CEPH_ARGS).  Output ends with
# "N passed, N failed"; exit 0, 1, or 77 without root or /dev/fuse.
set -euo pipefail

PROG=${0##*/}
# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/lib.sh"

need_root_and_fuse
find_binaries

if ! check_fsck_available; then
	bad "flockerctl fsck is missing ($FSCK_WHY): nothing to test"
	finish
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/flocker-fsckdmg.XXXXXX")
MNT=$WORK/mnt
mkdir -p "$MNT"
trap 'cleanup_all; [ "$NFAIL" = 0 ] && rm -rf "$WORK"' EXIT

POOL=${FLOCKER_POOL:-flocker}
R() { # rados in the volume's namespace
	timeout 60 rados -p "$POOL" -N "vol.$UUID" "$@"
}

hex16() { printf '%016x' "$1"; }

# fsck_found VOL: FOUND gets the "found" counters of fsck --json as
# "name=value ..." (non-zero ones only; "none"), or "ERROR ..." when fsck did
# not answer in JSON; FSCK_RC its exit status.
FOUND=
FSCK_RC=
fsck_found() {
	local vol=$1 rc=0 out
	out=$(timeout 120 "$CTL" fsck "$vol" --json 2>"$WORK/fsck.err") || rc=$?
	FSCK_RC=$rc
	FOUND=$(python3 -c '
import json, sys
try:
    r = json.loads(sys.stdin.read())
except ValueError:
    print("ERROR no JSON"); sys.exit(0)
print(" ".join("%s=%d" % (k, v) for k, v in sorted(r["found"].items()) if v) or "none")
' <<<"$out")
}

# The journal tail (key 7) of the superblock, decoded from msgpack.
super_jtail() {
	R get super "$WORK/super.bin"
	python3 - "$WORK/super.bin" <<'EOF'
import struct, sys
b = open(sys.argv[1], "rb").read()
pos = 0
def take(n):
    global pos
    v = b[pos:pos + n]; pos += n; return v
def obj():
    t = take(1)[0]
    if t <= 0x7f: return t
    if t >= 0xe0: return t - 256
    if 0x80 <= t <= 0x8f: return {obj(): obj() for _ in range(t & 15)}
    if 0x90 <= t <= 0x9f: return [obj() for _ in range(t & 15)]
    if 0xa0 <= t <= 0xbf: return take(t & 31)
    fmt = {0xcc: ">B", 0xcd: ">H", 0xce: ">I", 0xcf: ">Q", 0xd0: ">b", 0xd1: ">h", 0xd2: ">i", 0xd3: ">q"}
    if t in fmt:
        return struct.unpack(fmt[t], take(struct.calcsize(fmt[t])))[0]
    if t in (0xd9, 0xc4): return take(take(1)[0])
    if t in (0xda, 0xc5): return take(struct.unpack(">H", take(2))[0])
    if t in (0xdb, 0xc6): return take(struct.unpack(">I", take(4))[0])
    if t == 0xc0: return None
    if t in (0xc2, 0xc3): return t == 0xc3
    if t == 0xde: return {obj(): obj() for _ in range(struct.unpack(">H", take(2))[0])}
    if t == 0xdc: return [obj() for _ in range(struct.unpack(">H", take(2))[0])]
    raise SystemExit("unexpected msgpack type 0x%02x" % t)
print(obj()[7])
EOF
}

# make_volume KIND: creates, populates, unmounts; sets VOL, UUID and the inode
# numbers I_D1, I_BIG, I_F1.
make_volume() {
	VOL=fsckdmg-$1-$$
	volume_create "$VOL" 64K || { bad "$1: cannot create volume $VOL"; return 1; }
	mount_volume "$VOL" "$MNT" "log=$WORK/$1.mount.log" || { bad "$1: cannot mount: $MOUNT_ERR"; return 1; }
	(
		cd "$MNT"
		head -c 10000 /dev/urandom >f1
		head -c 3000 /dev/urandom >f2
		mkdir -p d1/sub
		ln f2 d1/f2link
		head -c 200000 /dev/urandom >d1/big
		: >d1/empty
		ln -s f1 lnk
	)
	I_D1=$(stat -c %i "$MNT/d1")
	I_BIG=$(stat -c %i "$MNT/d1/big")
	I_F1=$(stat -c %i "$MNT/f1")
	SUM_F1=$(sha256sum <"$MNT/f1" | cut -c1-64)
	SUM_BIG=$(sha256sum <"$MNT/d1/big" | cut -c1-64)
	unmount_wait "$VOL" "$MNT" || { bad "$1: the daemon does not exit after umount"; return 1; }
	UUID=$("$CTL" volume inspect "$VOL" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["uuid"])')
	fsck_found "$VOL"
	if [ "$FOUND" = none ] && [ "$FSCK_RC" = 0 ]; then
		return 0
	fi
	bad "$1: fsck of the fresh volume is not clean (exit $FSCK_RC): $FOUND $(head -2 "$WORK/fsck.err")"
	return 1
}

# damage KIND: makes the damage of that kind in VOL.
damage() {
	case $1 in
	dangling)
		# dirent {0: 1, 1: 0xfff0, 2: S_IFREG}
		printf '\x83\x00\x01\x01\xcd\xff\xf0\x02\xcd\x80\x00' >"$WORK/dirent.bin"
		R setomapval "dir.$(hex16 "$I_D1")" ghost --input-file "$WORK/dirent.bin"
		;;
	nlink) R rmomapkey "dir.$(hex16 "$I_D1")" f2link ;;
	orphan) R rmomapkey "dir.$(hex16 1)" f1 ;;
	stray)
		head -c 5000 /dev/urandom >"$WORK/junk.bin"
		R put "data.$(hex16 $((0xfff00))).00000000" "$WORK/junk.bin"
		;;
	pasteof)
		head -c 5000 /dev/urandom >"$WORK/junk.bin"
		R put "data.$(hex16 "$I_BIG").00000009" "$WORK/junk.bin"
		;;
	tailbytes)
		head -c 500 /dev/urandom | tr '\0' x >"$WORK/junk.bin"
		R append "data.$(hex16 "$I_F1").00000000" "$WORK/junk.bin"
		;;
	torn)
		local jt segs
		jt=$(super_jtail) || return 1
		segs=$(R ls | grep '^jrnl\.' || true)
		[ -z "$segs" ] || say "torn: note: segments exist after a clean unmount: $(tr '\n' ' ' <<<"$segs")"
		# magic "1JLF", length 200, a CRC, then only 20 bytes of payload
		{
			printf '1JLF\xc8\x00\x00\x00\xde\xad\xbe\xef'
			head -c 20 /dev/urandom
		} >"$WORK/torn.bin"
		R append "jrnl.$(hex16 "$jt")" "$WORK/torn.bin"
		;;
	esac
}

declare -A WANT=(
	[dangling]=dangling_entries
	[nlink]=wrong_nlink
	[orphan]=orphan_inodes
	[stray]=stray_data_objects
	[pasteof]=data_past_eof
	[tailbytes]=data_past_eof
	[torn]=journal_corrupt
)

# after_repair KIND: the tree after repair, through a mount.
after_repair() {
	local kind=$1 f
	mount_volume "$VOL" "$MNT" "log=$WORK/$kind.mount.log" || { bad "$kind: cannot mount after repair: $MOUNT_ERR"; return; }
	if ! ls -laR "$MNT" >"$WORK/$kind.ls" 2>&1; then
		bad "$kind: the tree does not list after repair: $(grep -i error "$WORK/$kind.ls" | sed -n 1,2p)"
	fi
	[ "$(sha256sum <"$MNT/d1/big" | cut -c1-64)" = "$SUM_BIG" ] || bad "$kind: d1/big changed"
	case $kind in
	dangling)
		[ ! -e "$MNT/d1/ghost" ] && [ -z "$(find "$MNT/d1" -maxdepth 1 -name ghost)" ] &&
			ok "$kind: the dangling entry is gone" || bad "$kind: d1/ghost still listed"
		;;
	nlink)
		[ "$(stat -c %h "$MNT/f2")" = 1 ] && ok "$kind: f2 has 1 link again" ||
			bad "$kind: f2 has $(stat -c %h "$MNT/f2") links, want 1"
		;;
	orphan)
		f=$(find "$MNT/lost+found" -type f 2>/dev/null | sed -n 1,1p)
		if [ -n "$f" ] && [ "$(sha256sum <"$f" | cut -c1-64)" = "$SUM_F1" ]; then
			ok "$kind: f1's inode is in lost+found with its bytes (${f#"$MNT"/})"
		else
			bad "$kind: f1's bytes are not in lost+found: $(ls -la "$MNT/lost+found" 2>&1 | tr '\n' ' ')"
		fi
		;;
	tailbytes)
		# the bytes past the end must be gone: growing f1 shows zeros
		truncate -s 20000 "$MNT/f1"
		if [ "$(head -c 10000 "$MNT/f1" | sha256sum | cut -c1-64)" = "$SUM_F1" ] &&
			[ "$(tail -c 10000 "$MNT/f1" | tr -d '\0' | wc -c)" = 0 ]; then
			ok "$kind: f1 intact, and grown it shows zeros past its old end"
		else
			bad "$kind: f1 grown to 20000 bytes shows old bytes past its end, or lost its own"
		fi
		;;
	*) ok "$kind: the tree reads after repair" ;;
	esac
	unmount_wait "$VOL" "$MNT" || bad "$kind: the daemon does not exit after umount"
}

for kind in dangling nlink orphan stray pasteof tailbytes torn; do
	make_volume "$kind" || continue
	if ! damage "$kind"; then
		bad "$kind: cannot make the damage with rados"
		continue
	fi
	fsck_found "$VOL"
	found=$FOUND
	if [ "$FSCK_RC" = 4 ] && [[ $found =~ ^${WANT[$kind]}=[0-9]+$ ]]; then
		ok "$kind: fsck finds exactly it: $found (exit 4)"
	else
		bad "$kind: fsck reports '$found' (exit $FSCK_RC), want only ${WANT[$kind]} and exit 4 $(head -2 "$WORK/fsck.err" | tr '\n' ' ')"
		timeout 120 "$CTL" fsck "$VOL" 2>&1 | sed 's/^/    /' | sed -n 1,10p
	fi
	rc=0
	timeout 120 "$CTL" fsck "$VOL" --repair >"$WORK/$kind.repair" 2>&1 || rc=$?
	if [ "$rc" = 1 ]; then
		ok "$kind: fsck --repair repairs it: $(tail -1 "$WORK/$kind.repair")"
	else
		bad "$kind: fsck --repair exits $rc (want 1, all repaired): $(tail -3 "$WORK/$kind.repair" | tr '\n' ' ')"
	fi
	fsck_found "$VOL"
	found=$FOUND
	if [ "$FSCK_RC" = 0 ] && [ "$found" = none ]; then
		ok "$kind: fsck is clean after the repair"
	else
		bad "$kind: fsck after --repair: '$found' (exit $FSCK_RC)"
	fi
	after_repair "$kind"
	"$CTL" volume remove "$VOL" >/dev/null 2>&1 || true
done
finish
