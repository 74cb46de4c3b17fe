#!/usr/bin/env bash
# nspawn_test.sh - the packages under a real systemd: a container booted with
# systemd-nspawn from this machine's own root (an overlay whose upper layer is
# thrown away; the units Docker, Ceph, timers, ... enabled here are masked in
# it), sharing the network with the test's Ceph cluster.
#
#   1. apt install of the three .debs: the units are installed, not enabled
#   2. systemctl enable --now flocker-agent: Type=notify reaches "active"
#      with the agent's status; the journal has its lines
#   3. Docker's Create and Mount on the plugin socket: a mount daemon
#   4. systemctl restart, kill -9 of the agent (Restart=on-failure) and a
#      reinstall of the packages (the upgrade path restarts the agent): each
#      time a new agent, the same mount daemon, the mount still serving
#   5. Unmount: the daemon writes everything and exits
#   6. the fstab line of mount.flockerfs(8) through systemd's mount unit:
#      start mounts, stop unmounts after everything is in RADOS
#   7. flocker-control.service: Type=notify reaches "active", status leader
#   8. apt purge removes /var/lib/flocker-agent and the units
#
# usage: nspawn_test.sh DEBS_DIR      (ctest: after package_debs, with the ceph fixture)
set -euo pipefail

# shellcheck source=tests/package/lib.sh
. "$(dirname "$0")/lib.sh"
DEBS=${1:?usage: $PROG DEBS_DIR}
say() { echo "$PROG: $*"; }

[ "$(id -u)" = 0 ] || skip "needs root (overlay mount, systemd-nspawn)"
command -v systemd-nspawn >/dev/null || skip "no systemd-nspawn (apt install systemd-container)"
[ -e /dev/fuse ] || skip "no /dev/fuse"
: "${CEPH_CONF:?set by the ceph fixture}"
for p in flockerfs flocker-agent flocker-control; do
	ls "$DEBS/${p}"_*.deb >/dev/null 2>&1 || fail "no ${p}_*.deb in $DEBS (package_debs makes them)"
done

TAG=n$$
WORK=$(mktemp -d /tmp/flocker-nspawn-$TAG.XXXXXX)
ROOT=$WORK/root
VOL=nspawn-$TAG
NSPID= CPID=
cleanup() {
	set +e
	if [ -n "$NSPID" ] && kill -0 "$NSPID" 2>/dev/null; then
		kill -TERM "$NSPID"
		for _ in $(seq 100); do kill -0 "$NSPID" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$NSPID" 2>/dev/null
	fi
	mountpoint -q "$ROOT" && { umount "$ROOT" || umount -l "$ROOT"; }
	rm -rf "/run/systemd/nspawn/propagate/flk$TAG"
	flockerctl_host volume remove "$VOL" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
flockerctl_host() { "${FLOCKER_BINARY_DIR:?}/cluster/flockerctl" "$@"; }

# the container's root: this machine's, writable through an overlay
mkdir -p "$WORK/upper" "$WORK/work" "$ROOT"
mount -t overlay overlay -o "lowerdir=/,upperdir=$WORK/upper,workdir=$WORK/work" "$ROOT" ||
	skip "cannot mount an overlay of / (kernel without overlayfs?)"
sysd=$ROOT/etc/systemd/system
for w in "$sysd"/{multi-user,sockets,timers,default}.target.wants; do
	[ -d "$w" ] || continue
	for u in "$w"/*; do [ -e "$u" ] || [ -L "$u" ] && ln -sfn /dev/null "$sysd/${u##*/}"; done
done
for u in docker.service docker.socket containerd.service ceph.target; do ln -sfn /dev/null "$sysd/$u"; done
rm -f "$ROOT/usr/sbin/policy-rc.d" # a container image's "do not start services": not on a host
mkdir -p "$ROOT/root/debs" "$ROOT/etc/ceph"
cp "$DEBS"/flockerfs_*.deb "$DEBS"/flocker-agent_*.deb "$DEBS"/flocker-control_*.deb "$ROOT/root/debs/"
# the cluster's address and client.flocker's key, in the usual places
keyring=$(awk '/^\[client.flocker\]/{s=1;next} /^\[/{s=0} s && /keyring/{print $3}' "$CEPH_CONF")
[ -r "$keyring" ] || fail "cannot find client.flocker's keyring in $CEPH_CONF"
{
	echo "[global]"
	grep -E '^(fsid|mon host|ms bind msgr[12])' "$CEPH_CONF"
} >"$ROOT/etc/ceph/ceph.conf"
cp "$keyring" "$ROOT/etc/ceph/ceph.client.flocker.keyring"

systemd-nspawn -q --keep-unit --register=no -D "$ROOT" -M "flk$TAG" --bind=/dev/fuse \
	--console=pipe -b </dev/null >"$WORK/console.log" 2>&1 &
NSPID=$!
IN() {
	nsenter -t "$CPID" -a env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
for _ in $(seq 300); do
	CPID=$(pgrep -P "$NSPID" | head -1 || true)
	if [ -n "$CPID" ]; then
		state=$(IN systemctl is-system-running 2>/dev/null || true)
		case $state in running | degraded) break ;; esac
	fi
	kill -0 "$NSPID" 2>/dev/null || { cat "$WORK/console.log"; fail "systemd-nspawn exited while booting"; }
	sleep 0.2
done
case ${state-} in running | degraded) ;; *) fail "the container's systemd is not up after 60 s (state '${state-}')" ;; esac
say "container booted under systemd $(IN systemctl --version | head -1 | cut -d' ' -f2) (state $state)"

# 1. install
IN sh -c 'cd /root/debs && apt-get install -y -q --no-install-recommends ./*.deb' >"$WORK/apt.log" 2>&1 ||
	{ cat "$WORK/apt.log"; fail "apt install of the packages"; }
for u in flocker-agent flocker-control; do
	[ "$(IN systemctl is-enabled $u || true)" = disabled ] || fail "$u is enabled by the install"
	[ "$(IN systemctl is-active $u || true)" = inactive ] || fail "$u was started by the install"
done
say "1. installed; units disabled and inactive"

# 2. the agent
IN systemctl enable --now flocker-agent >/dev/null 2>&1 || { IN journalctl -u flocker-agent --no-pager | tail; fail "systemctl enable --now flocker-agent"; }
[ "$(IN systemctl is-active flocker-agent)" = active ] || fail "flocker-agent not active"
IN systemctl show -p StatusText flocker-agent | grep -q "standalone agent serving Docker" ||
	fail "no sd_notify status from the agent: $(IN systemctl show -p StatusText flocker-agent)"
IN journalctl -u flocker-agent --no-pager | grep -q "node .*: standalone agent ready" || fail "the agent's 'ready' line is not in the journal"
say "2. flocker-agent active (Type=notify, status from sd_notify), its log in the journal"

# 3. a mount through Docker's plugin protocol
plugin() {
	IN curl -sS --unix-socket /run/docker/plugins/flocker.sock -H 'Content-Type: application/json' -d "$2" "http://plugin/VolumeDriver.$1"
}
out=$(plugin Create "{\"Name\":\"$VOL\"}")
[ "$out" = '{"Err":""}' ] || fail "Create: $out"
out=$(plugin Mount "{\"Name\":\"$VOL\",\"ID\":\"c1\"}")
mnt=$(echo "$out" | sed -n 's/.*"Mountpoint":"\([^"]*\)".*/\1/p')
[ -n "$mnt" ] || fail "Mount: $out"
IN sh -c "echo one > $mnt/f"
daemon=$(IN pgrep -f "mount.flockerfs $VOL ")
[ -n "$daemon" ] || fail "no mount daemon for $VOL"
IN systemctl status flocker-agent --no-pager 2>/dev/null | grep -q "$daemon .*mount.flockerfs" ||
	fail "the mount daemon is not in flocker-agent.service's control group"
say "3. $VOL mounted at $mnt by mount daemon $daemon, in the agent's control group"

# 4. restart, crash, upgrade: the mount daemon stays
same_daemon() { # what happened
	local pid
	pid=$(IN pgrep -f "mount.flockerfs $VOL " || true)
	[ "$pid" = "$daemon" ] || fail "after $1 the mount daemon is '${pid:-gone}', was $daemon"
	IN sh -c "echo '$1' >> $mnt/f && grep -qx '$1' $mnt/f" || fail "after $1 the mount does not serve"
}
wait_new_agent() { # old main pid
	local pid=
	for _ in $(seq 150); do
		pid=$(IN systemctl show -p MainPID --value flocker-agent)
		[ "$pid" != 0 ] && [ "$pid" != "$1" ] && [ "$(IN systemctl is-active flocker-agent)" = active ] && return 0
		sleep 0.2
	done
	fail "no new active agent 30 s after pid $1 went (MainPID $pid)"
}
old=$(IN systemctl show -p MainPID --value flocker-agent)
IN systemctl restart flocker-agent
wait_new_agent "$old"
same_daemon "restart"
IN journalctl -u flocker-agent --no-pager | grep -q "volume $VOL: adopted the mount" ||
	say "   (no 'adopted the mount' line for $VOL in the journal)"
old=$(IN systemctl show -p MainPID --value flocker-agent)
IN kill -KILL "$old"
wait_new_agent "$old"
same_daemon "kill-9"
old=$(IN systemctl show -p MainPID --value flocker-agent)
IN sh -c 'dpkg -i /root/debs/flockerfs_*.deb /root/debs/flocker-agent_*.deb' >"$WORK/upgrade.log" 2>&1 ||
	{ cat "$WORK/upgrade.log"; fail "reinstall of the packages"; }
wait_new_agent "$old"
same_daemon "upgrade"
say "4. systemctl restart, kill -9 (Restart=on-failure), package upgrade: new agent each time, mount daemon $daemon serving throughout"

# 5. unmount
out=$(plugin Unmount "{\"Name\":\"$VOL\",\"ID\":\"c1\"}")
[ "$out" = '{"Err":""}' ] || fail "Unmount: $out"
IN pgrep -f "mount.flockerfs $VOL " >/dev/null && fail "the mount daemon still runs after Unmount"
IN grep -q "volume $VOL unmounted, everything is in RADOS" "/var/lib/flocker-agent/log/$VOL.log" ||
	fail "the mount log lacks the clean unmount"
say "5. Unmount: the daemon wrote everything and exited"

# 6. fstab through systemd's mount unit
line=$(sed -n 's/^volume-1 \(.*flockerfs .*_netdev.*\)$/\1/p' "$(dirname "$0")/../../contrib/man/mount.flockerfs.8.scd" | head -1)
line=$(echo "$line" | sed 's|/mnt/volume-1|/mnt/fstab-test|')
[ -n "$line" ] || fail "no fstab example in mount.flockerfs.8.scd"
IN sh -c "mkdir -p /mnt/fstab-test && echo '$VOL $line' >> /etc/fstab && systemctl daemon-reload"
IN systemctl start mnt-fstab\\x2dtest.mount || { IN journalctl --no-pager | tail; fail "systemctl start of the fstab mount"; }
IN findmnt -n -t fuse.flockerfs /mnt/fstab-test >/dev/null || fail "the fstab mount is not mounted"
IN grep -qx upgrade /mnt/fstab-test/f || fail "the fstab mount does not show the volume's file"
IN sh -c 'echo fstab >> /mnt/fstab-test/f'
IN systemctl show -p After --value 'mnt-fstab\x2dtest.mount' | grep -q network-online.target ||
	fail "the fstab mount is not ordered after network-online.target"
IN systemctl stop 'mnt-fstab\x2dtest.mount'
IN findmnt /mnt/fstab-test >/dev/null && fail "the fstab mount is still mounted after stop"
IN pgrep -f "mount.flockerfs $VOL " >/dev/null && fail "the fstab mount's daemon still runs after stop"
IN mount.flockerfs "$VOL" /mnt/fstab-test -o ro,id=flocker,conf=/etc/ceph/ceph.conf >/dev/null 2>&1 ||
	fail "read-only mount after the fstab unit stopped"
IN grep -qx fstab /mnt/fstab-test/f || fail "the write through the fstab mount is lost after stop"
IN umount /mnt/fstab-test
say "6. fstab line ($line): a mount unit after network-online.target; stop returned with everything in RADOS"

# 7. the control service
api=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
agentp=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
IN flockerctl ca init /etc/flocker >/dev/null || fail "flockerctl ca init /etc/flocker"
IN sed -i "s|^FLOCKER_CONTROL_OPTS=.*|FLOCKER_CONTROL_OPTS=\"-c /etc/ceph/ceph.conf --id flocker --certs /etc/flocker --bind 127.0.0.1 --api-port $api --agent-port $agentp --state-ns nspawn-$TAG\"|" /etc/flocker/flocker-control.conf
IN systemctl enable --now flocker-control >/dev/null 2>&1 || { IN journalctl -u flocker-control --no-pager | tail; fail "systemctl enable --now flocker-control"; }
[ "$(IN systemctl is-active flocker-control)" = active ] || fail "flocker-control not active"
[ "$(IN systemctl show -p StatusText --value flocker-control)" = leader ] || fail "flocker-control's status is not 'leader'"
IN systemctl stop flocker-control
say "7. flocker-control active (Type=notify, status leader)"

# 8. purge
IN apt-get purge -y -q flockerfs flocker-agent flocker-control >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log"; fail "apt purge"; }
IN test -e /var/lib/flocker-agent && fail "/var/lib/flocker-agent is left after purge"
IN test -e /lib/systemd/system/flocker-agent.service && fail "the agent's unit is left after purge"
IN test -e /sbin/mount.flockerfs && fail "/sbin/mount.flockerfs is left after purge"
say "8. purge removed the state directory, the units and the helpers"
say "PASS"
