#!/usr/bin/env bash
# Metrics end to end, on the test Ceph cluster with real FUSE mounts:
#
#   flocker-control --metrics and two cluster-mode flocker-agents --metrics
#   (host-a, host-b); host-a mounts a volume through Docker's plugin protocol
#   and writes N bytes into it; host-b asks for the same volume and is refused
#   promtool check metrics is clean on the agent's and control's /metrics
#   the agent's /metrics has the volume's flockerfs_written_bytes_total >= N,
#     its FUSE write latencies and its mount duration; control's has the
#     grant, the refusal, leader 1 and the API requests
#   flockerctl stats DIR (table and --json) shows the same bytes; a standby
#   control serves leader 0; the mount counts its lease renewals
#   a real Prometheus (own storage and port in a temp dir, 1 s scrapes)
#     scrapes the agent and control, and its query API returns the volume's
#     bytes written >= N and control's lease grants
#
# Needs root, /dev/fuse, curl, jq, promtool and prometheus (Debian package
# prometheus); exit 77 when missing.  Environment from tests/metrics.cmake.
set -u

TEST=metrics_test TAG=metrics FAIL_TAIL=30
# shellcheck source=../control/lib.sh
. "$(dirname "$0")/../control/lib.sh"
for t in promtool prometheus python3; do
	command -v $t >/dev/null || skip "no $t (contrib/install-deps.sh installs it)"
done
N=$((3 * 1048576 + 12345))
API=$(free_port)
AGP=$(free_port)
CM=$(free_port)
AM=$(free_port)
BM=$(free_port)
PP=$(free_port)

"$CTL" ca init "$T/certs" >/dev/null || fail "ca init"
"$CTL" ca node host-a --dir "$T/certs" >/dev/null || fail "ca node host-a"
"$CTL" ca node host-b --dir "$T/certs" >/dev/null || fail "ca node host-b"
"$CTL" ca user admin --dir "$T/certs" >/dev/null || fail "ca user"

# a bad address is refused before anything starts
"$AGENT" -c "$CEPH_CONF" --metrics 127.0.0.1 --help >/dev/null 2>&1 && fail "--metrics without a port accepted"
"$AGENT" -c "$CEPH_CONF" --metrics 127.0.0.1:99999 --help >/dev/null 2>&1 && fail "--metrics with port 99999 accepted"

"$CONTROL" -c "$CEPH_CONF" --certs "$T/certs" --bind 127.0.0.1 --api-port "$API" \
	--agent-port "$AGP" --lease 5 --heartbeat 1 --state-ns "$NS" --metrics "127.0.0.1:$CM" \
	>>"$T/control.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do ctl node list >/dev/null 2>&1 && break; sleep 0.2; done
ctl node list >/dev/null 2>&1 || fail "control did not start"

# a lease of 6 s: the mount daemon renews its writer lock every 2 s
start_agent() { # node metrics-port
	mkdir -p "$T/$1"
	"$AGENT" -c "$CEPH_CONF" ${ID:+--id "$ID"} --node "$1" --control "127.0.0.1:$AGP" \
		--certs "$T/certs" --state-dir "$T/$1/state" --plugin-socket "$T/$1/plugin.sock" \
		--mount-root "$T/$1/mnt" --mount-helper "$MOUNT" --metrics "127.0.0.1:$2" --lease 6 \
		>>"$T/agent-$1.log" 2>&1 &
	PIDS+=("$!")
	for _ in $(seq 100); do
		grep -q "connected to flocker-control" "$T/agent-$1.log" 2>/dev/null &&
			[ -S "$T/$1/plugin.sock" ] && return 0
		sleep 0.2
	done
	fail "agent $1 did not connect"
}
start_agent host-a "$AM"
start_agent host-b "$BM"

r=$(dock host-a Create "{\"Name\":\"$VOL\"}" | jq -r .Err)
[ -z "$r" ] || fail "create: $r"
r=$(dock host-a Mount "{\"Name\":\"$VOL\",\"ID\":\"c1\"}")
DIR=$(echo "$r" | jq -r .Mountpoint)
[ -d "$DIR" ] || fail "mount: $r"
head -c "$N" /dev/urandom >"$T/data"
dd if="$T/data" of="$DIR/file" bs=1M conv=fsync status=none || fail "write"
r=$(dock host-b Mount "{\"Name\":\"$VOL\",\"ID\":\"c2\"}" | jq -r .Err)
case "$r" in *"in use"*) ;; *) fail "host-b's mount was not refused: $r" ;; esac
echo "ok host-a mounted $VOL and wrote $N bytes; host-b was refused"

# value FILE SELECTOR: the sample's value ("" when absent)
value() { awk -v s="$2" '$1 == s {print $2; exit}' "$1"; }

curl -sf "http://127.0.0.1:$AM/metrics" -D "$T/agent.hdr" -o "$T/agent.txt" || fail "GET agent /metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/agent.hdr" || fail "agent content type: $(cat "$T/agent.hdr")"
promtool check metrics <"$T/agent.txt" >"$T/promtool-agent.out" 2>&1 ||
	fail "promtool check metrics on the agent's: $(cat "$T/promtool-agent.out")"
w=$(value "$T/agent.txt" "flockerfs_written_bytes_total{volume=\"$VOL\"}")
[ -n "$w" ] && [ "$w" -ge "$N" ] || fail "agent: flockerfs_written_bytes_total of $VOL is '$w', wanted >= $N"
c=$(value "$T/agent.txt" "flockerfs_fuse_op_duration_seconds_count{volume=\"$VOL\",op=\"write\"}")
[ -n "$c" ] && [ "$c" -ge 1 ] || fail "agent: no FUSE write latencies for $VOL"
c=$(value "$T/agent.txt" "flockerfs_fuse_op_duration_seconds_bucket{volume=\"$VOL\",op=\"write\",le=\"+Inf\"}")
[ -n "$c" ] && [ "$c" -ge 1 ] || fail "agent: no +Inf bucket of FUSE writes"
c=$(value "$T/agent.txt" "flockerfs_writeback_duration_seconds_count{volume=\"$VOL\"}")
[ -n "$c" ] && [ "$c" -ge 1 ] || fail "agent: no write-back of $VOL counted"
c=$(value "$T/agent.txt" "flockerfs_journal_commit_duration_seconds_count{volume=\"$VOL\"}")
[ -n "$c" ] && [ "$c" -ge 1 ] || fail "agent: no journal commit of $VOL counted"
c=$(value "$T/agent.txt" "flocker_agent_op_duration_seconds_count{op=\"mount\"}")
[ "$c" = 1 ] || fail "agent: mount requests counted '$c', wanted 1"
[ "$(grep -c '^# TYPE flockerfs_written_bytes_total ' "$T/agent.txt")" = 1 ] || fail "agent: TYPE of a family twice"
echo "ok agent /metrics: promtool clean, $VOL written $w bytes, FUSE, write-back and commit latencies"

curl -sf "http://127.0.0.1:$BM/metrics" -o "$T/agent-b.txt" || fail "GET agent b /metrics"
c=$(value "$T/agent-b.txt" "flocker_agent_op_errors_total{op=\"mount\"}")
[ "$c" = 1 ] || fail "agent b: failed mounts counted '$c', wanted 1"

ctl volume list >/dev/null || fail "volume list through control"
curl -sf "http://127.0.0.1:$CM/metrics" -o "$T/control.txt" || fail "GET control /metrics"
promtool check metrics <"$T/control.txt" >"$T/promtool-control.out" 2>&1 ||
	fail "promtool check metrics on control's: $(cat "$T/promtool-control.out")"
[ "$(value "$T/control.txt" flocker_control_leader)" = 1 ] || fail "control: not leader 1"
c=$(value "$T/control.txt" flocker_control_lease_grants_total)
[ -n "$c" ] && [ "$c" -ge 1 ] || fail "control: grants '$c'"
c=$(value "$T/control.txt" flocker_control_lease_refusals_total)
[ -n "$c" ] && [ "$c" -ge 1 ] || fail "control: refusals '$c'"
c=$(value "$T/control.txt" 'flocker_control_api_requests_total{code="200"}')
[ -n "$c" ] && [ "$c" -ge 2 ] || fail "control: API requests '$c'"
c=$(value "$T/control.txt" flocker_control_nodes_connected)
[ "$c" = 2 ] || fail "control: nodes connected '$c', wanted 2"
echo "ok control /metrics: promtool clean, leader, grants, refusals, API requests, 2 nodes"

# a standby serves its metrics too
SM=$(free_port)
"$CONTROL" -c "$CEPH_CONF" --certs "$T/certs" --bind 127.0.0.1 --api-port "$(free_port)" \
	--agent-port "$(free_port)" --state-ns "$NS" --instance standby --metrics "127.0.0.1:$SM" \
	>>"$T/control-standby.log" 2>&1 &
SPID=$!
PIDS+=("$SPID")
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$SM/metrics" -o "$T/standby.txt" && break; sleep 0.2; done
promtool check metrics <"$T/standby.txt" >/dev/null 2>&1 || fail "promtool check metrics on the standby's"
[ "$(value "$T/standby.txt" flocker_control_leader)" = 0 ] || fail "standby: leader is not 0"
[ "$(value "$T/standby.txt" flocker_control_leader_changes_total)" = 0 ] || fail "standby: leader changes"
kill "$SPID"
echo "ok a standby control serves leader 0"

# flockerctl stats: the same counter
"$CTL" stats "$DIR" >"$T/stats.txt" || fail "flockerctl stats"
grep -q "^flockerfs_written_bytes_total " "$T/stats.txt" || fail "stats table: $(cat "$T/stats.txt")"
s=$("$CTL" stats "$DIR" --json | jq '.metrics[] | select(.name == "flockerfs_written_bytes_total") | .value')
[ -n "$s" ] && [ "${s%.*}" -ge "$N" ] || fail "stats --json: written bytes '$s'"
"$CTL" stats "$T" >/dev/null 2>&1 && fail "stats of a directory that is no mount succeeded"
echo "ok flockerctl stats: $s bytes written"

# a real Prometheus scraping both
cat >"$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: agent
    static_configs: [{targets: ["127.0.0.1:$AM"]}]
  - job_name: control
    static_configs: [{targets: ["127.0.0.1:$CM"]}]
YML
promtool check config "$T/prometheus.yml" >/dev/null || fail "promtool check config"
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
	--web.listen-address="127.0.0.1:$PP" --log.level=warn >>"$T/prometheus.log" 2>&1 &
PIDS+=("$!")
q() { curl -sf -G "http://127.0.0.1:$PP/api/v1/query" --data-urlencode "query=$1"; }
# q1 QUERY: the value of QUERY's first sample, once Prometheus has one (30 s at most)
q1() {
	local v=
	for _ in $(seq 60); do
		v=$(q "$1" | jq -r '.data.result[0].value[1] // empty' 2>/dev/null)
		[ -n "$v" ] && break
		sleep 0.5
	done
	echo "$v"
}
got=$(q1 "flockerfs_written_bytes_total{volume=\"$VOL\",job=\"agent\"}")
[ -n "$got" ] && [ "${got%.*}" -ge "$N" ] || fail "Prometheus: flockerfs_written_bytes_total of $VOL is '$got', wanted >= $N"
# each target has its own scrape loop: the control's first scrape may come after the agent's
g=$(q1 'flocker_control_lease_grants_total{job="control"}')
[ -n "$g" ] && [ "${g%.*}" -ge 1 ] || fail "Prometheus: control's grants '$g'"
h=$(q "up{job=\"agent\"}" | jq -r '.data.result[0].value[1] // empty')
[ "$h" = 1 ] || fail "Prometheus: agent target not up ($h)"
echo "ok Prometheus: $VOL bytes written $got (>= $N), control's grants $g"

curl -sf "http://127.0.0.1:$AM/metrics" -o "$T/agent1.txt" || fail "GET agent /metrics"
c=$(value "$T/agent1.txt" "flockerfs_lease_renewals_total{volume=\"$VOL\"}")
[ -n "$c" ] && [ "$c" -ge 1 ] || fail "agent: lease renewals of $VOL '$c' (every 2 s)"
[ "$(value "$T/agent1.txt" "flockerfs_lease_renewal_failures_total{volume=\"$VOL\"}")" = 0 ] ||
	fail "agent: failed lease renewals of $VOL"
echo "ok $c lease renewals of $VOL, none failed"

r=$(dock host-a Unmount "{\"Name\":\"$VOL\",\"ID\":\"c1\"}" | jq -r .Err)
[ -z "$r" ] || fail "unmount: $r"
curl -sf "http://127.0.0.1:$AM/metrics" -o "$T/agent2.txt" || fail "GET agent /metrics after unmount"
c=$(value "$T/agent2.txt" "flocker_agent_op_duration_seconds_count{op=\"unmount\"}")
[ "$c" = 1 ] || fail "agent: unmount requests counted '$c', wanted 1"
grep -q "volume=\"$VOL\"" "$T/agent2.txt" && fail "agent: the unmounted volume's metrics are still served"
echo "ok after the unmount: its duration counted, the volume's series gone"
echo "metrics_test: PASS"
