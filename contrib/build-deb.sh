#!/usr/bin/env bash
# build-deb.sh - build the Debian packages (flockerfs, flocker-agent,
# flocker-control) offline, from this source tree, on Debian 12.
#
# Copies the tree (the files git knows, plus new ones it does not ignore; all
# files when this is not a git checkout) to a temporary directory, places
# contrib/debian there as debian/, and runs "dpkg-buildpackage -b -us -uc".
# The .deb files (and the .buildinfo/.changes) land in the output directory.
# Build dependencies: contrib/install-deps.sh installs them.
#
# usage: build-deb.sh [--out DIR] [--jobs N] [--keep]
#   --out DIR   where the packages go (default: ./debs)
#   --jobs N    parallel build jobs (default 2)
#   --keep      keep the temporary build tree and say where it is
set -euo pipefail

# shellcheck source=contrib/lib.sh
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=$PWD/debs
JOBS=2
KEEP=0

parse_options '--out OUT' '--jobs JOBS' '--keep KEEP=1' -- "$@"

command -v dpkg-buildpackage >/dev/null || die "cannot find dpkg-buildpackage: apt install dpkg-dev debhelper (or contrib/install-deps.sh)"
[ -d "$SRC/contrib/debian" ] || die "cannot find $SRC/contrib/debian"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/flockerfs-deb.XXXXXX")
cleanup() {
	if [ "$KEEP" = 1 ]; then
		echo "$PROG: build tree kept in $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

# dpkg-buildpackage writes its results into the parent of the source tree
TREE=$WORK/flockerfs-src
mkdir -p "$TREE"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -C "$TREE" -xf -
else
	tar -C "$SRC" --exclude='./build*' -cf - . | tar -C "$TREE" -xf -
fi
rm -rf "$TREE/debian"
cp -a "$SRC/contrib/debian" "$TREE/debian"

say "building in $TREE"
(cd "$TREE" && DEB_BUILD_OPTIONS="parallel=$JOBS ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -b -us -uc) >"$WORK/build.log" 2>&1 || {
	tail -n 40 "$WORK/build.log" >&2
	die "dpkg-buildpackage failed (log above; --keep keeps $WORK/build.log)"
}

shopt -s nullglob
debs=("$WORK"/*.deb)
[ ${#debs[@]} -gt 0 ] || die "dpkg-buildpackage made no .deb"
cp "${debs[@]}" "$WORK"/*.buildinfo "$WORK"/*.changes "$OUT"/
for d in "${debs[@]}"; do
	echo "$OUT/${d##*/}"
done
