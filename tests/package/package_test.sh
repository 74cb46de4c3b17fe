#!/usr/bin/env bash
# package_test.sh - build the Debian packages with contrib/build-deb.sh and
# check them: the exact file list of each package (nothing more, nothing
# less), lintian (no error or warning that contrib/debian does not override
# with a reason), and, unpacked into a throwaway root (dpkg -x): the systemd
# units (units_test.sh --root), each program's --help run from the root, and
# every man page rendered by man without a warning.
#
# usage: package_test.sh SOURCE_DIR [DEBS_DIR]   (a few minutes: one full build)
#   DEBS_DIR: where the .debs are left for package_systemd (nspawn_test.sh)
set -euo pipefail

# shellcheck source=tests/package/lib.sh
. "$(dirname "$0")/lib.sh"
SRC=${1:?usage: $PROG SOURCE_DIR [DEBS_DIR]}
KEEP_DEBS=${2-}
HERE=$(cd "$(dirname "$0")" && pwd)

for t in dpkg-buildpackage dh lintian dpkg-deb; do
	command -v "$t" >/dev/null || skip "no $t: contrib/install-deps.sh installs the packaging tools"
done

WORK=$(mktemp -d /tmp/flocker-package-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

start=$SECONDS
"$SRC/contrib/build-deb.sh" --out "$WORK/debs" >"$WORK/built" || fail "contrib/build-deb.sh failed"
echo "$PROG: built $(wc -l <"$WORK/built") packages in $((SECONDS - start)) s"
if [ -n "$KEEP_DEBS" ]; then
	rm -rf "$KEEP_DEBS"
	mkdir -p "$KEEP_DEBS"
	cp "$WORK/debs"/*.deb "$KEEP_DEBS/"
fi

expect() { # package: the files and links it must hold, exactly
	case $1 in
	flockerfs)
		cat <<-'EOF2'
			./sbin/mount.flockerfs
			./sbin/umount.fuse -> umount.fuse.flockerfs
			./sbin/umount.fuse.flockerfs
			./usr/bin/flockerctl
			./usr/share/bash-completion/completions/flockerctl
			./usr/share/doc/flockerfs/changelog.gz
			./usr/share/doc/flockerfs/copyright
			./usr/share/man/man7/flockerfs.7.gz
			./usr/share/man/man8/flockerctl.8.gz
			./usr/share/man/man8/mount.flockerfs.8.gz
			./usr/share/man/man8/umount.fuse.8.gz -> umount.fuse.flockerfs.8.gz
			./usr/share/man/man8/umount.fuse.flockerfs.8.gz
		EOF2
		;;
	flocker-agent | flocker-control)
		# the two daemons' packages: the same files under their own names
		printf './%s\n' "etc/flocker/$1.conf" "lib/systemd/system/$1.service" "usr/sbin/$1" \
			"usr/share/doc/$1/changelog.gz" "usr/share/doc/$1/copyright" \
			"usr/share/lintian/overrides/$1" "usr/share/man/man8/$1.8.gz"
		if [ "$1" = flocker-agent ]; then
			echo ./var/lib/flocker-agent/ # its state directory, empty
		fi
		;;
	esac
}

ROOT=$WORK/root
mkdir -p "$ROOT"
for pkg in flockerfs flocker-agent flocker-control; do
	deb=$(ls "$WORK/debs/${pkg}"_*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || fail "no ${pkg}_*.deb"
	# files, links and empty directories of the package (not the directories on the way)
	dpkg-deb -c "$deb" | awk '{ $1=$2=$3=$4=$5=""; sub(/^ +/, ""); print }' | sort >"$WORK/all"
	grep -v '/$' "$WORK/all" >"$WORK/got" || true
	# a directory that holds nothing else is shipped for itself (var/lib/flocker-agent)
	grep '/$' "$WORK/all" | while read -r d; do
		grep -q "^${d//./\\.}." "$WORK/all" || echo "$d"
	done >>"$WORK/got"
	sort -o "$WORK/got" "$WORK/got"
	expect "$pkg" | sort >"$WORK/want"
	diff -u "$WORK/want" "$WORK/got" >"$WORK/diff" ||
		{ cat "$WORK/diff"; fail "$pkg: the package's files differ from the expected list (- expected, + in the .deb)"; }
	# conffiles: the configuration and nothing else
	dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles 2>/dev/null >"$WORK/conffiles" || true
	grep -v '^/etc/flocker/' "$WORK/conffiles" && fail "$pkg: conffile outside /etc/flocker"
	dpkg -x "$deb" "$ROOT"
	echo "$PROG: $pkg: $(wc -l <"$WORK/got") entries, as expected"
done
grep -qx /etc/flocker/flocker-agent.conf < <(dpkg-deb --ctrl-tarfile "$WORK/debs"/flocker-agent_*.deb | tar -xOf - ./conffiles) ||
	fail "flocker-agent: /etc/flocker/flocker-agent.conf is not a conffile"

# lintian: errors and warnings fail the test; overrides live in contrib/debian
lintian --fail-on error,warning --display-info "$WORK/debs"/*.changes >"$WORK/lintian" 2>&1 ||
	{ cat "$WORK/lintian"; fail "lintian"; }
echo "$PROG: lintian: $(grep -c '^[IPX]:' "$WORK/lintian" || true) info tags, no error or warning"

# the units from the packages
"$HERE/units_test.sh" --root "$ROOT" >"$WORK/units" 2>&1 || { cat "$WORK/units"; fail "units from the packages"; }
echo "$PROG: units from the packages: verify clean"

# the programs from the packages run (their libraries are on this machine)
for p in sbin/mount.flockerfs usr/bin/flockerctl usr/sbin/flocker-agent usr/sbin/flocker-control; do
	"$ROOT/$p" --help >/dev/null || fail "$p --help from the package failed"
done
# every man page renders without a warning (as lintian's check, with all warnings)
for m in "$ROOT"/usr/share/man/man*/*.gz; do
	[ -L "$m" ] && continue
	out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$m" 2>&1 >/dev/null) || true
	[ -z "$out" ] || fail "man page ${m##*/}: $out"
done
echo "$PROG: programs run, man pages render cleanly"
echo "$PROG: PASS ($((SECONDS - start)) s)"
