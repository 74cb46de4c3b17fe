#!/usr/bin/env bash
# long_functions.sh - lists the C functions longer than a limit, longest first.
#
# usage: long_functions.sh [-a] [-n LINES] [SOURCE_DIR]
#   -n LINES  the limit (default 100)
#   -a        tests, fuzzers and benchmarks too (default: the programs and
#             libraries only: fs/ cluster/ plugin/)
#   SOURCE_DIR  default: the repository holding this script
#
# A function's length is counted from the line of its name to its closing
# brace (universal-ctags' start and end lines).  Reads the *.c files git
# tracks.  Prints "LINES FILE:LINE NAME" a
# function, then the count.  Exit 0; 2 for a usage error or without ctags.
set -euo pipefail

PROG=${0##*/}
LIMIT=100
DIRS=(fs cluster plugin)
while [ $# -gt 0 ]; do
	case $1 in
	-a) DIRS=(.); shift ;;
	-n) LIMIT=${2:-}; shift 2 || { echo "$PROG: -n takes a number" >&2; exit 2; } ;;
	-*) echo "usage: $PROG [-a] [-n LINES] [SOURCE_DIR]" >&2; exit 2 ;;
	*) break ;;
	esac
done
SRC=${1:-$(cd "$(dirname "$0")/.." && pwd)}
case $LIMIT in '' | *[!0-9]*) echo "$PROG: -n takes a number, not $LIMIT" >&2; exit 2 ;; esac
if ! ctags --version 2>/dev/null | grep -q 'Universal Ctags'; then
	echo "$PROG: universal-ctags is not installed" >&2
	exit 2
fi

cd "$SRC"
git ls-files -z -- "${DIRS[@]/%//*.c}" |
	xargs -0 ctags -x --_xformat='%N %F %n %{end}' --kinds-C=f --language-force=C -f - |
	awk -v lim="$LIMIT" '$4 != "" { n = $4 - $3 + 1; if (n > lim) printf "%d %s:%d %s\n", n, $2, $3, $1 }' |
	sort -rn | awk '{ print } END { printf "%d functions over '"$LIMIT"' lines\n", NR }'
