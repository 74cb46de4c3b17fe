# lib.sh - sourced by the tests of tests/package: the program's name and its
# two ways out (fail: exit 1; skip: exit 77, when the machine lacks something).
# shellcheck shell=bash

PROG=${0##*/}
fail() {
	echo "$PROG: FAIL: $*" >&2
	exit 1
}
skip() {
	echo "$PROG: SKIP: $*" >&2
	exit 77
}
