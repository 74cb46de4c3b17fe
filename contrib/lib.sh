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
# -h and --help print the usage and exit 0.  An unknown option or a missing
# value is a usage error (usage_error).
parse_options() {
	local _po_specs=() _po_words='' _po_s _po_spec _po_opt _po_var
	while [ "$1" != -- ]; do
		case $1 in
		'WORDS '*) _po_words=${1#WORDS } ;;
		*) _po_specs+=("$1") ;;
		esac
		shift
	done
	shift
	if [ -n "$_po_words" ]; then
		local -n _po_list=$_po_words
		_po_list=()
	fi
	while [ $# -gt 0 ]; do
		case $1 in
		-h | --help)
			usage
			exit 0
			;;
		-*) ;;
		*)
			[ -n "$_po_words" ] || usage_error "unknown argument '$1' (see --help)"
			_po_list+=("$1")
			shift
			continue
			;;
		esac
		_po_opt=${1%%=*}
		_po_spec=
		for _po_s in "${_po_specs[@]}"; do
			if [ "${_po_s%% *}" = "$_po_opt" ]; then
				_po_spec=$_po_s
				break
			fi
		done
		[ -n "$_po_spec" ] || usage_error "unknown argument '$1' (see --help)"
		_po_var=${_po_spec#* }
		if [[ $_po_var == *=* ]]; then
			[ "$_po_opt" = "$1" ] || usage_error "option '$_po_opt' takes no value"
			printf -v "${_po_var%%=*}" '%s' "${_po_var#*=}"
		elif [ "$_po_opt" != "$1" ]; then
			printf -v "$_po_var" '%s' "${1#*=}"
		else
			[ $# -ge 2 ] || usage_error "option '$1' needs a value"
			printf -v "$_po_var" '%s' "$2"
			shift
		fi
		shift
	done
}
