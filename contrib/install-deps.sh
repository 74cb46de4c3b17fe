#!/usr/bin/env bash
# install-deps.sh - install, with apt, everything flockerfs needs to build,
# run and test on Debian 12: compilers and libraries, FUSE, Ceph daemons and
# tools, Docker, and the test tools. Nothing is downloaded from elsewhere.
#
# Quick and quiet when everything is present: it asks dpkg first and runs
# "apt-get update" and "apt-get install" only for what is missing.
#
# usage: install-deps.sh [--check] [--print]
#   --check   only report missing packages; exit 1 if any
#   --print   print the package list and exit
set -euo pipefail

# shellcheck source=contrib/lib.sh
. "$(dirname "$0")/lib.sh"

PACKAGES=(
	# build
	build-essential cmake pkg-config git ca-certificates
	clang clang-format libclang-rt-14-dev # libFuzzer and sanitizer runtimes
	libfuse3-dev librados-dev libevent-dev libmsgpack-dev libssl-dev libjansson-dev
	libmount-dev uuid-dev
	libsystemd-dev scdoc # sd_notify (Type=notify units), man pages
	# Debian packages (contrib/build-deb.sh) and their checks
	dpkg-dev debhelper fakeroot lintian bash-completion systemd systemd-container
	# run
	fuse3 kmod
	# Ceph for the dev cluster and the benchmarks (CephFS through ceph-fuse)
	ceph-mon ceph-osd ceph-mgr ceph-mds ceph-common ceph-fuse
	# Docker plugin tests: dockerd, and busybox for a locally built image
	docker.io busybox-static
	# tests and benchmarks
	prometheus # promtool check metrics, a real Prometheus scraping an agent
	fio valgrind attr acl iproute2 iptables nftables curl jq python3 procps psmisc sqlite3
	# benchmark row (13): the PostgreSQL server and pgbench
	postgresql-15
	e2fsprogs util-linux coreutils
)

# Print the packages of PACKAGES that are not installed.
missing_packages() {
	local p installed
	# One dpkg-query for all (unknown names are simply not printed).
	installed=" $(dpkg-query -W -f='${Package}=${db:Status-Status} ' "${PACKAGES[@]}" 2>/dev/null || true) "
	for p in "${PACKAGES[@]}"; do
		if [[ $installed != *" $p=installed "* ]]; then
			echo "$p"
		fi
	done
}

main() {
	local check=0 print=0 missing sudo=()
	parse_options '--check check=1' '--print print=1' -- "$@"
	if [ "$print" = 1 ]; then
		printf '%s\n' "${PACKAGES[@]}"
		exit 0
	fi
	command -v dpkg-query >/dev/null || die "cannot find dpkg-query: this script is for Debian 12"

	mapfile -t missing < <(missing_packages)
	if [ ${#missing[@]} -eq 0 ]; then
		[ "$check" = 1 ] && say "all ${#PACKAGES[@]} packages are installed"
		exit 0
	fi
	if [ "$check" = 1 ]; then
		say "missing packages: ${missing[*]}"
		exit 1
	fi

	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || die "cannot install ${missing[*]}: not root and no sudo"
		sudo=(sudo)
	fi
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
		die "apt-get update failed"
	# Installing the Ceph and Docker packages enables their systemd units;
	# harmless where systemd does not run, and the dev cluster never uses them.
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" </dev/null ||
		die "cannot install ${missing[*]}"

	mapfile -t missing < <(missing_packages)
	[ ${#missing[@]} -eq 0 ] || die "still missing after apt-get install: ${missing[*]}"
	say "done"
}

main "$@"
