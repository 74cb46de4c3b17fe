#!/usr/bin/env bash
# units_test.sh - the systemd units and the fstab example, checked with
# systemd's own tools (systemd need not run as PID 1).
#
# usage: units_test.sh --build DIR     install DIR (cmake --install) into a temporary root
#        units_test.sh --root ROOT     a root holding installed files (dpkg -x of the packages)
#
# 1. systemd-analyze verify on flocker-agent.service and flocker-control.service,
#    in a private mount namespace where the directory of each ExecStart binary
#    is the installed one, and with MANPATH at the installed man pages (verify
#    runs "man" for every Documentation= entry): no message at all is allowed.
# 2. The properties the design relies on: Type=notify, Restart=on-failure,
#    KillMode=process for the agent (mount daemons outlive it).
# 3. systemd-fstab-generator on the fstab line of mount.flockerfs(8): the mount
#    unit is a remote mount (remote-fs.target) of type flockerfs, and verify
#    accepts it.
set -euo pipefail

# shellcheck source=tests/package/lib.sh
. "$(dirname "$0")/lib.sh"

ROOT= BUILD=
case ${1-} in
--build) BUILD=$2 ;;
--root) ROOT=$2 ;;
*) echo "usage: $PROG --build DIR | --root ROOT" >&2; exit 2 ;;
esac

command -v systemd-analyze >/dev/null || skip "no systemd-analyze (apt install systemd)"
[ "$(id -u)" = 0 ] || skip "needs root for a private mount namespace (unshare -m)"
GEN=/lib/systemd/system-generators/systemd-fstab-generator
[ -x "$GEN" ] || GEN=/usr/lib/systemd/system-generators/systemd-fstab-generator

WORK=$(mktemp -d /tmp/flocker-units-c.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
if [ -n "$BUILD" ]; then
	ROOT=$WORK/root
	DESTDIR=$ROOT cmake --install "$BUILD" >"$WORK/install.log" 2>&1 ||
		{ cat "$WORK/install.log"; fail "cmake --install $BUILD"; }
fi

mapfile -t units < <(find "$ROOT" -name 'flocker-*.service' | sort)
[ ${#units[@]} -eq 2 ] || fail "expected flocker-agent.service and flocker-control.service under $ROOT, found: ${units[*]:-none}"
man=$(find "$ROOT" -type d -path '*/share/man' | head -1)
[ -n "$man" ] || fail "no man pages under $ROOT"

# the directories of the ExecStart binaries, bound from the root in a private namespace
dirs=()
for u in "${units[@]}"; do
	exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$u")
	[ -x "$ROOT$exe" ] || fail "$(basename "$u"): ExecStart $exe is not in the installed tree"
	dirs+=("$(dirname "$exe")")
done
mapfile -t dirs < <(printf '%s\n' "${dirs[@]}" | sort -u)
binds=""
for d in "${dirs[@]}"; do
	[ -d "$d" ] || fail "$d does not exist on this machine: cannot bind the installed one over it"
	binds+="mount --bind '$ROOT$d' '$d' && "
done
out=$(unshare -m --propagation private sh -c "$binds MANPATH='$man' systemd-analyze verify $(printf "'%s' " "${units[@]}")" 2>&1) ||
	fail "systemd-analyze verify failed: $out"
[ -z "$out" ] || fail "systemd-analyze verify said: $out"
echo "$PROG: systemd-analyze verify: ${units[*]##*/} clean"

prop() { # unit key -> value of the last key= line
	sed -n "s/^$2=//p" "$1" | tail -1
}
for u in "${units[@]}"; do
	n=$(basename "$u")
	[ "$(prop "$u" Type)" = notify ] || fail "$n: Type is not notify"
	[ "$(prop "$u" Restart)" = on-failure ] || fail "$n: Restart is not on-failure"
done
agent=$(printf '%s\n' "${units[@]}" | grep flocker-agent.service)
[ "$(prop "$agent" KillMode)" = process ] ||
	fail "flocker-agent.service: KillMode is not process: a restart would kill the mount daemons"
echo "$PROG: Type=notify, Restart=on-failure, agent KillMode=process"

# the fstab example of mount.flockerfs(8)
line=$(sed -n 's/^\(volume-1 .*flockerfs .*_netdev.*\)$/\1/p' "$(dirname "$0")/../../contrib/man/mount.flockerfs.8.scd" | head -1)
[ -n "$line" ] || fail "no fstab example in mount.flockerfs.8.scd"
mkdir -p "$WORK/gen/normal" "$WORK/gen/early" "$WORK/gen/late"
echo "$line" >"$WORK/fstab"
SYSTEMD_FSTAB=$WORK/fstab SYSTEMD_PROC_CMDLINE="" "$GEN" "$WORK/gen/normal" "$WORK/gen/early" "$WORK/gen/late" ||
	fail "systemd-fstab-generator failed on: $line"
mu=$(find "$WORK/gen/normal" -maxdepth 1 -name 'mnt-volume*.mount' | head -1)
[ -n "$mu" ] || fail "the generator made no mount unit for: $line"
grep -qx 'Type=flockerfs' "$mu" || fail "generated unit has no Type=flockerfs: $(cat "$mu")"
grep -q '^Options=.*_netdev' "$mu" || fail "generated unit lost _netdev: $(cat "$mu")"
ls "$WORK/gen/normal"/remote-fs.target.*/"$(basename "$mu")" >/dev/null 2>&1 ||
	fail "the mount is not pulled in by remote-fs.target (so not ordered after the network)"
out=$(systemd-analyze verify "$mu" 2>&1) || fail "systemd-analyze verify on the fstab mount unit: $out"
echo "$PROG: fstab line -> $(basename "$mu") in remote-fs.target (after network-online.target), verify clean"
echo "$PROG: PASS"
