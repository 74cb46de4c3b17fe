# shellcheck shell=bash
# lib.sh - what the scripts of contrib/ and tests/bench/compare.sh share: the
# script's name in messages, die and say, the usage text from the script's
# header comment, and parse_options, which reads the script's options from a
# table.  Sourced, from the script's own folder, right after "set -euo
# pipefail":
#
#   . "$(dirname "$0")/lib.sh"
#
# None of these scripts is in the Debian packages; they run from the tree.

PROG=${0##*/}
# The exit status of a usage error (an unknown option, a missing value); a
# script that documents another one sets it after sourcing this file.
USAGE_STATUS=1

die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

say() {
	printf '%s: %s\n' "$PROG" "$*" >&2
}

usage_error() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit "$USAGE_STATUS"
}

# usage: the script's header comment, from its second line down to "set
# -euo".  A script with a usage text of its own defines usage again.
usage() {
	sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"
}

# parse_options SPEC... -- ARG...: sets the script's variables (globals, or
# locals of the caller) from its arguments, by a table of SPECs:
#   "--name VAR"        an option with a value: "--name VALUE" or
#                       "--name=VALUE" sets VAR to VALUE
#   "--name VAR=TEXT"   an option without one: sets VAR to TEXT
#   "WORDS ARRAY"       the arguments that are not options go to ARRAY, in
#                       order; without this SPEC they are usage errors
# -h and --help print the usage and exit 0.  util-linux getopt(1) does the
# parsing (GNU rules: options anywhere, unambiguous abbreviations, "--" ends
# them); what it refuses is a usage error, with its message.
parse_options() {
	local _po_specs=() _po_words='' _po_longs='help' _po_s _po_var _po_parsed
	while [ "$1" != -- ]; do
		case $1 in
		'WORDS '*) _po_words=${1#WORDS } ;;
		*)
			_po_specs+=("$1")
			_po_s=${1%% *}
			_po_var=${1#* }
			[[ $_po_var == *=* ]] || _po_s+=:
			_po_longs+=,${_po_s#--}
			;;
		esac
		shift
	done
	shift
	_po_parsed=$(getopt -n "$PROG" -o h -l "$_po_longs" -- "$@") || {
		printf '%s: see --help\n' "$PROG" >&2
		exit "$USAGE_STATUS"
	}
	eval set -- "$_po_parsed"
	while [ "$1" != -- ]; do
		if [ "$1" = -h ] || [ "$1" = --help ]; then
			usage
			exit 0
		fi
		for _po_s in "${_po_specs[@]}"; do
			[ "${_po_s%% *}" = "$1" ] || continue
			_po_var=${_po_s#* }
			if [[ $_po_var == *=* ]]; then
				printf -v "${_po_var%%=*}" '%s' "${_po_var#*=}"
			else
				printf -v "$_po_var" '%s' "$2"
				shift
			fi
			break
		done
		shift
	done
	shift
	if [ -n "$_po_words" ]; then
		local -n _po_list=$_po_words
		_po_list=("$@")
	elif [ $# -gt 0 ]; then
		usage_error "unknown argument '$1' (see --help)"
	fi
}
