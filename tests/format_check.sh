#!/usr/bin/env bash
# format_check.sh - every C source and header of the repository follows
# .clang-format.
#
# usage: format_check.sh [SOURCE_DIR]   (default: the repository holding this script)
#
# Checks the *.c and *.h files git tracks (or, without git, every such file
# outside build directories), lists the ones clang-format would change with
# the first place in each, and fails if there are any. Fix them with: clang-format -i FILE...
# Exit 0 pass, 1 fail, 77 skip (clang-format not installed).
set -euo pipefail

PROG=${0##*/}
SRC=${1:-$(cd "$(dirname "$0")/.." && pwd)}
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}

list_files() {
	if command -v git >/dev/null 2>&1 && git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$SRC" ls-files -z -- '*.c' '*.h'
	else
		(cd "$SRC" && find . \( -name 'build*' -o -name .git \) -prune -o \
			-type f \( -name '*.c' -o -name '*.h' \) -printf '%P\0')
	fi
}

main() {
	local f out bad=() n=0
	if ! command -v "$CLANG_FORMAT" >/dev/null 2>&1; then
		echo "$PROG: SKIP: $CLANG_FORMAT is not installed (run contrib/install-deps.sh)" >&2
		exit 77
	fi
	[ -f "$SRC/.clang-format" ] || {
		echo "$PROG: FAIL: no .clang-format in $SRC" >&2
		exit 1
	}
	cd "$SRC"
	local files=() rc=0
	while IFS= read -r -d '' f; do
		[ -f "$f" ] && files+=("$f") # not one deleted but still in the index
	done < <(list_files)
	n=${#files[@]}
	# one clang-format for all files: a process per file took minutes on a
	# loaded machine
	out=$("$CLANG_FORMAT" --style=file --dry-run --Werror "${files[@]}" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ]; then
		# the first place in each file that does not follow the style
		mapfile -t bad < <(printf '%s\n' "$out" | awk -F: '/^[^ :]+:[0-9]+:[0-9]+: (error|warning):/ && !seen[$1]++')
		[ ${#bad[@]} -gt 0 ] || bad=("$out")
		echo "$PROG: FAIL: ${#bad[@]} of $n files do not follow .clang-format:" >&2
		printf '  %s\n' "${bad[@]}" >&2
		echo "$PROG: see the changes with: clang-format --dry-run FILE; apply them with: clang-format -i FILE" >&2
		exit 1
	fi
	echo "$PROG: $n files follow .clang-format"
}

main "$@"
