#!/usr/bin/env bash
# completion_test.sh - contrib/completion/flockerctl completes commands,
# subcommands and options as flockerctl --help names them. The volume-name
# completion runs "flockerctl volume list --json": a stub flockerctl on PATH
# answers it here.
#
# usage: completion_test.sh SOURCE_DIR
set -uo pipefail

PROG=${0##*/}
SRC=${1:?usage: $PROG SOURCE_DIR}
BC=/usr/share/bash-completion/bash_completion
[ -r "$BC" ] || { echo "$PROG: SKIP: no $BC (apt install bash-completion)" >&2; exit 77; }

WORK=$(mktemp -d /tmp/flocker-completion-c.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/flockerctl" <<'STUB'
#!/bin/sh
echo '[{"name": "vol-a", "uuid": "u1"}, {"name": "vol-b", "uuid": "u2"}]'
STUB
chmod +x "$WORK/flockerctl"
export PATH=$WORK:$PATH

# shellcheck disable=SC1090
. "$BC"
. "$SRC/contrib/completion/flockerctl"

failures=0
# check "WORDS..." "EXPECTED (sorted, space-separated)": the last word is completed
check() {
	local line=$1 want=$2 got
	read -r -a COMP_WORDS <<<"$line"
	[[ $line == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMPREPLY=()
	_flockerctl flockerctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//')
	if [ "$got" != "$want" ]; then
		echo "$PROG: FAIL: '$line' completes to '$got', expected '$want'" >&2
		failures=$((failures + 1))
	fi
}

check "flockerctl " "--conf --control --help --id --pool -c bench ca fsck snapshot stats volume"
check "flockerctl vol" "volume"
check "flockerctl volume " "clone create flatten inspect list purge remove resize restore rollback trash"
check "flockerctl volume create x --" "--block-size --help --size"
check "flockerctl volume list --" "--help --json --trash"
check "flockerctl --pool p volume inspect " "vol-a vol-b"
check "flockerctl fsck vol-" "vol-a vol-b"
check "flockerctl fsck v1 --r" "--repair"
check "flockerctl snapshot " "create list remove"
check "flockerctl snapshot create --" "--help --json --takeover"
check "flockerctl snapshot list vol-" "vol-a vol-b"
check "flockerctl bench /tmp --" "--big-size --files --help --json --quick --threads"
check "flockerctl stats /mnt --" "--help --json --raw"
check "flockerctl ca " "--help control init node user"
check "flockerctl --control h:1 " "--certs --help --if-tag --json --user lease node volume"
check "flockerctl --control h:1 lease " "acquire list release"
check "flockerctl --control h:1 volume " "create list move remove restore"

[ "$failures" = 0 ] || { echo "$PROG: $failures case(s) failed" >&2; exit 1; }
echo "$PROG: PASS (16 cases)"
