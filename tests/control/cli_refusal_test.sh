#!/usr/bin/env bash
# flockerctl and curl against a real flocker-control that refuses their
# certificate, and flockerctl's choice of control:
#
#   a certificate of another CA, a certificate of the wrong role: flockerctl
#     exits 1 with one line naming the control and the reason, every time
#     (never killed by SIGPIPE, never silent)
#   a missing user certificate: "No such file or directory"
#   several controls: the reason of each one tried
#   curl with a refused certificate sees the TLS alert, not a reset
#   FLOCKER_CONTROL and FLOCKER_CERTS alone: volume create/list/trash go
#     through control (no Ceph configuration needed)
#
# Needs curl; exit 77 without it.  Environment from tests/control.cmake:
# CEPH_CONF (for control), FLOCKER_CONTROL_BIN, FLOCKERCTL_BIN.
set -u

# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh" # free_port; skip and fail are ours
skip() { echo "cli_refusal_test: SKIP: $*"; exit 77; }
command -v curl >/dev/null || skip "no curl"
[ -n "${CEPH_CONF:-}" ] || skip "CEPH_CONF is not set"

CONTROL=${FLOCKER_CONTROL_BIN:?}
CTL=${FLOCKERCTL_BIN:?}
ROUNDS=10 # refusals race the request: try each case this often

T=$(mktemp -d /tmp/flocker-clirefusal-XXXXXX)
NS="ctltest.clirefusal$$"
VOL="clirefusal$$-vol"
CONTROL_PID=
fail() {
	echo "cli_refusal_test: FAIL: $*" >&2
	echo "--- control.log" >&2
	tail -20 "$T/control.log" >&2
	exit 1
}
cleanup() {
	[ -n "$CONTROL_PID" ] && { kill -9 "$CONTROL_PID" && wait "$CONTROL_PID"; } 2>/dev/null
	[ -n "${FLOCKER_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

API=$(free_port)
AGP=$(free_port)
DEAD=$(free_port) # nothing listens there

"$CTL" ca init "$T/certs" >/dev/null || fail "ca init"
"$CTL" ca user admin --dir "$T/certs" >/dev/null || fail "ca user"
"$CTL" ca node host-a --dir "$T/certs" >/dev/null || fail "ca node"
# rogue: a user certificate of another CA, whose holder trusts ours
"$CTL" ca init "$T/rogue" >/dev/null || fail "ca init (rogue)"
"$CTL" ca user admin --dir "$T/rogue" >/dev/null || fail "ca user (rogue)"
cp "$T/certs/ca.crt" "$T/rogue/ca.crt"
# role: a node certificate of our CA where a user certificate belongs
mkdir "$T/role"
cp "$T/certs/ca.crt" "$T/role/ca.crt"
cp "$T/certs/node-host-a.crt" "$T/role/user-a.crt"
cp "$T/certs/node-host-a.key" "$T/role/user-a.key"

"$CONTROL" -c "$CEPH_CONF" --certs "$T/certs" --bind 127.0.0.1 --api-port "$API" \
	--agent-port "$AGP" --state-ns "$NS" >>"$T/control.log" 2>&1 &
CONTROL_PID=$!
for _ in $(seq 100); do
	"$CTL" --control "127.0.0.1:$API" --certs "$T/certs" node list >/dev/null 2>&1 && break
	sleep 0.2
done
"$CTL" --control "127.0.0.1:$API" --certs "$T/certs" node list >/dev/null 2>&1 || fail "control did not start"

# refused CERTS-DIR WANT: flockerctl with that certificate directory, ROUNDS times:
# exit 1, exactly one line on stderr naming the control and WANT
refused() {
	local dir=$1 want=$2 i rc lines
	for i in $(seq $ROUNDS); do
		"$CTL" --control "127.0.0.1:$API" --certs "$dir" volume list >"$T/out" 2>"$T/err"
		rc=$?
		lines=$(wc -l <"$T/err")
		[ "$rc" = 1 ] || fail "round $i, $dir: exit $rc (141: killed by SIGPIPE); stderr: $(cat "$T/err")"
		[ "$lines" = 1 ] || fail "round $i, $dir: $lines lines on stderr: $(cat "$T/err")"
		grep -q "127.0.0.1:$API" "$T/err" || fail "round $i, $dir: the control is not named: $(cat "$T/err")"
		grep -q "$want" "$T/err" || fail "round $i, $dir: no '$want' in: $(cat "$T/err")"
	done
	echo "ok $ROUNDS of $ROUNDS refusals say: $(cat "$T/err")"
}
refused "$T/rogue" "unknown CA"
refused "$T/role" "wrong role"

# a missing user certificate
"$CTL" --control "127.0.0.1:$API" --certs "$T/certs" --user nobody node list 2>"$T/err" && fail "a missing certificate worked"
grep -q "user-nobody.crt: No such file or directory" "$T/err" || fail "missing certificate: $(cat "$T/err")"
echo "ok missing certificate: $(cat "$T/err")"

# several controls: each one's reason
"$CTL" --control "127.0.0.1:$DEAD,127.0.0.1:$API" --certs "$T/rogue" node list 2>"$T/err" && fail "the rogue certificate worked"
[ "$(wc -l <"$T/err")" = 1 ] || fail "several controls: not one line: $(cat "$T/err")"
grep -q "127.0.0.1:$DEAD: cannot connect: Connection refused" "$T/err" || fail "several controls: the first one's reason is missing: $(cat "$T/err")"
grep -q "127.0.0.1:$API: .*unknown CA" "$T/err" || fail "several controls: the second one's reason is missing: $(cat "$T/err")"
echo "ok several controls: $(cat "$T/err")"

# curl: the alert, not a reset
for i in $(seq $ROUNDS); do
	curl -sS -k --max-time 10 --cert "$T/rogue/user-admin.crt" --key "$T/rogue/user-admin.key" \
		"https://127.0.0.1:$API/v1/version" >/dev/null 2>"$T/err" && fail "curl with the rogue certificate got an answer"
	grep -q "alert unknown ca" "$T/err" || fail "round $i: curl does not see the TLS alert: $(cat "$T/err")"
done
echo "ok curl sees the alert $ROUNDS of $ROUNDS times: $(cat "$T/err")"

# FLOCKER_CONTROL and FLOCKER_CERTS alone, no Ceph configuration
envctl() { env -u CEPH_CONF -u CEPH_ARGS FLOCKER_CONTROL="127.0.0.1:$API" FLOCKER_CERTS="$T/certs" "$CTL" "$@"; }
envctl volume create "$VOL" >"$T/out" 2>&1 || fail "volume create with FLOCKER_CONTROL: $(cat "$T/out")"
envctl volume list >"$T/out" 2>&1 || fail "volume list with FLOCKER_CONTROL: $(cat "$T/out")"
head -1 "$T/out" | grep -q "NODE *STATE" || fail "volume list with FLOCKER_CONTROL did not go through control: $(cat "$T/out")"
grep -q "^$VOL .*idle" "$T/out" || fail "volume list with FLOCKER_CONTROL: $(cat "$T/out")"
envctl volume remove "$VOL" >"$T/out" 2>&1 || fail "volume remove with FLOCKER_CONTROL: $(cat "$T/out")"
envctl volume trash >"$T/out" 2>&1 || fail "volume trash with FLOCKER_CONTROL: $(cat "$T/out")"
grep -q "^$VOL " "$T/out" || fail "volume trash with FLOCKER_CONTROL: $(cat "$T/out")"
echo "ok FLOCKER_CONTROL and FLOCKER_CERTS alone: volume create, list, remove and trash go through control"
echo "cli_refusal_test: all checks passed"
