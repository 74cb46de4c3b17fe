#!/usr/bin/env bash
# run-tests.sh - the project's test command (CI runs it through .ci/run).
#
# Installs missing packages (contrib/install-deps.sh), configures and builds
#   build/       RelWithDebInfo, warnings are errors
#   build-asan/  Debug with AddressSanitizer + UndefinedBehaviorSanitizer
# then runs every test (all labels) with ctest in build-asan/ and then in
# build/, so the output ends with the normal build's ctest summary. Exits
# non-zero when a build or a test fails.
#
# usage: run-tests.sh [options] [-- CTEST_ARGS...]
#   -L REGEX, -LE REGEX   run only tests with / without a matching label
#   -R REGEX, -E REGEX    run only tests with / without a matching name
#   --no-asan             skip the sanitizer build (quick local runs)
#   --no-deps             do not check or install packages
#   -j N                  build jobs (default 2)
#   -h, --help            this text
# Arguments after "--" go to both ctest runs unchanged.
set -euo pipefail

# shellcheck source=contrib/lib.sh
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JOBS=2
ASAN=1
DEPS=1
CTEST_ARGS=()
FAILED=()

# step WHAT: a line of its own, after a blank one, between the builds' output
step() {
	printf '\n%s: %s\n' "$PROG" "$*" >&2
}

# Stop the ctest fixture clusters, should a run have been cut short before
# its cleanup test ran. Quiet: the output must end with ctest's summary.
stop_test_clusters() {
	local d
	for d in "$ROOT/build/testcluster" "$ROOT/build-asan/testcluster"; do
		if [ -f "$d/ceph.conf" ]; then
			"$ROOT/contrib/dev-cluster.sh" stop --dir "$d" >/dev/null 2>&1 ||
				say "warning: cannot stop the test cluster in $d"
		fi
	done
}

# build DIR CMAKE_ARGS... : configure and build; fail without exiting.
build() {
	local dir=$1
	shift
	step "configuring $dir ($*)"
	if ! cmake -S "$ROOT" -B "$ROOT/$dir" "$@"; then
		FAILED+=("configure $dir")
		return 1
	fi
	step "building $dir"
	if ! cmake --build "$ROOT/$dir" -j "$JOBS"; then
		FAILED+=("build $dir")
		return 1
	fi
}

run_ctest() {
	local dir=$1
	step "testing $dir"
	if ! ctest --test-dir "$ROOT/$dir" --output-on-failure --timeout 900 "${CTEST_ARGS[@]}"; then
		FAILED+=("tests in $dir")
		return 1
	fi
}

prepare_fuse() {
	if [ ! -c /dev/fuse ]; then
		# Fails in most containers; /dev/fuse may still be there.
		modprobe fuse >/dev/null 2>&1 || true
	fi
	if [ ! -c /dev/fuse ]; then
		say "warning: /dev/fuse is missing: FUSE tests will skip or fail"
	fi
}

# become_subreaper ARGS...: runs this script again as a child subreaper
# (prctl PR_SET_CHILD_SUBREAPER, through python3): the daemons the tests start
# (test clusters, mount daemons, dockerds) fork and leave their parents, and
# are then adopted by this script instead of by init, so every process of the
# run stays inside its process tree, where the run can see and stop it.
become_subreaper() {
	[ -z "${FLOCKER_RUN_TESTS_SUBREAPER:-}" ] || return 0
	export FLOCKER_RUN_TESTS_SUBREAPER=1
	if ! command -v python3 >/dev/null 2>&1; then
		say "warning: no python3: daemons started by the tests are adopted by init"
		return 0
	fi
	exec python3 -c '
import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:
    print("run-tests.sh: warning: prctl(PR_SET_CHILD_SUBREAPER): "
          + os.strerror(ctypes.get_errno()), file=sys.stderr)
os.execvp("bash", ["bash"] + sys.argv[1:])' "$0" "$@"
}

main() {
	while [ $# -gt 0 ]; do
		case $1 in
		-L | -LE | -R | -E)
			[ $# -ge 2 ] || die "option '$1' needs a value"
			CTEST_ARGS+=("$1" "$2")
			shift
			;;
		-j)
			[ $# -ge 2 ] || die "option '$1' needs a value"
			[[ $2 =~ ^[1-9][0-9]*$ ]] || die "invalid -j '$2'"
			JOBS=$2
			shift
			;;
		--no-asan) ASAN=0 ;;
		--no-deps) DEPS=0 ;;
		-h | --help)
			usage
			exit 0
			;;
		--)
			shift
			CTEST_ARGS+=("$@")
			break
			;;
		*) die "unknown argument '$1' (see --help)" ;;
		esac
		shift
	done
	cd "$ROOT"

	if [ "$DEPS" = 1 ]; then
		"$ROOT/contrib/install-deps.sh" || die "cannot install the dependencies"
	fi

	trap stop_test_clusters EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	# LeakSanitizer works here (root, ptrace allowed); leaks fail the tests.
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
	# Tests find the cluster through their own ENVIRONMENT; a caller's
	# cluster must not leak into them.
	unset CEPH_CONF CEPH_ARGS

	local asan_built=0 built=0
	if [ "$ASAN" = 1 ] && build build-asan -DFLOCKER_WERROR=ON -DFLOCKER_SANITIZE=ON \
		-DCMAKE_BUILD_TYPE=Debug; then
		asan_built=1
	fi
	if build build -DFLOCKER_WERROR=ON -DFLOCKER_SANITIZE=OFF \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo; then
		built=1
	fi

	prepare_fuse
	if [ "$asan_built" = 1 ]; then
		run_ctest build-asan || true
	fi
	if [ ${#FAILED[@]} -gt 0 ]; then
		step "FAILED so far: $(printf '%s, ' "${FAILED[@]}" | sed 's/, $//')"
	fi
	if [ "$built" = 1 ]; then
		run_ctest build || true
	else
		step "FAILED: $(printf '%s, ' "${FAILED[@]}" | sed 's/, $//')"
	fi
	[ ${#FAILED[@]} -eq 0 ]
}

become_subreaper "$@"
main "$@"
