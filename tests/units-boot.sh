#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Manual check (not in run-all; tests/e2e/t-deploy.sh walks the five
# steps on the same containers): one daemon's package under its unit in a booted
# Debian 12 system container (systemd-nspawn, see
# docs/install.md), joined to a private network namespace,
# provisioned by the Vagrant provisioner itself (vagrant/provision-HOST.sh)
# from a fresh kg-lab. Passes when the unit is running with NRestarts=0
# after more than one WatchdogSec (the keepalive is served), STATUS= is
# the daemon's, no record says result=error, and after a stop the dark table is left and the shared
# /run/wireguard stays.
#
#   tests/units-boot.sh green|red [DEBS_DIR]   (default: build-test/debs,
#                                               from tests/packages-check.sh)
# KG_BOOT_DROPIN=TEXT: a drop-in for the unit first (to show that a
# relaxation is needed: without it the check must fail).
# The root filesystem is t-deploy's (tests/deploy-rootfs.sh: made once
# with debootstrap and cached).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
host=${1:?green or red}
debs=${2:-${KG_BUILD:-$top/build-test}/debs}
case $host in green | red) ;; *) echo "units-boot: green or red" >&2; exit 2 ;; esac
for c in systemd-nspawn debootstrap nsenter; do
	command -v $c >/dev/null || { echo "skip: $c missing"; exit 77; }
done
cache=$("$top/tests/deploy-rootfs.sh") || exit 1
w=$(mktemp -d /var/tmp/kg-boot.XXXXXX)
ns=kgboot$$
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$w"
}
trap cleanup EXIT
cp -a "$cache" "$w/root"
"$top"/provisioning/kg-lab "$w/lab" >/dev/null 2>&1
# only this host's files: the Vagrant layout
lab=$w/root/opt/knockgate-lab
mkdir -p "$lab" "$w/root/opt/knockgate-debs" "$w/root/opt/src"
cp -r "$w/lab/$host" "$lab/$host"
if [ "$host" = green ]; then mkdir -p "$lab/red"; cp "$w/lab/red/host.pem" "$lab/red/"; fi
cp "$debs"/knockgate-"$host"_*.deb "$w/root/opt/knockgate-debs/"
cp "$top/vagrant/provision-$host.sh" "$w/root/opt/src/"
ip netns add "$ns"
systemd-nspawn -D "$w/root" --boot --keep-unit --register=no -M "kg$host$$" \
	--network-namespace-path=/run/netns/"$ns" --capability=CAP_NET_ADMIN \
	--bind=/dev/net/tun --property="DeviceAllow=/dev/net/tun rwm" >"$w/console.log" 2>&1 &
pid=$!
sd=""
for _ in $(seq 90); do
	child=$(pgrep -P "$pid" | head -1 || true)
	[ -n "$child" ] && sd=$(pgrep -P "$child" | head -1 || true)
	[ -n "$sd" ] && nsenter -t "$sd" -a systemctl is-system-running 2>/dev/null |
		grep -qE 'running|degraded' && break
	sleep 1
done
[ -n "$sd" ] || { echo "units-boot: the container did not boot"; tail "$w/console.log"; exit 1; }
x() { nsenter -t "$sd" -a "$@"; }
unit=knockgate-$host.service
if [ -n "${KG_BOOT_DROPIN:-}" ]; then
	mkdir -p "$w/root/etc/systemd/system/$unit.d"
	printf '%s\n' "$KG_BOOT_DROPIN" >"$w/root/etc/systemd/system/$unit.d/test.conf"
fi
x bash "/opt/src/provision-$host.sh" >"$w/provision.log" 2>&1 ||
	{ tail -20 "$w/provision.log"; x journalctl -u "$unit" --no-pager -o cat | tail -8
	  echo "units-boot: provision-$host.sh failed"; exit 1; }
sleep 40   # more than WatchdogSec=30s
show=$(x systemctl show "$unit" -p SubState -p NRestarts -p StatusText -p WatchdogUSec)
echo "$show"
x journalctl -u "$unit" --no-pager -o cat | grep -E 'event=(ready|wireguard|site)' || true
fail=0
grep -qx 'SubState=running' <<<"$show" || fail=1
grep -qx 'NRestarts=0' <<<"$show" || fail=1
grep -q '^StatusText=table inet knockgate' <<<"$show" || fail=1
if x journalctl -u "$unit" --no-pager -o cat | grep 'result=error'; then
	echo "an error record while it ran"; fail=1
fi
x systemctl stop "$unit"
x nft list table inet knockgate | grep -q 'knockgate dark' || { echo "no dark table after stop"; fail=1; }
x test -d /run/wireguard || { echo "/run/wireguard gone after stop"; fail=1; }
if [ $fail = 0 ]; then echo "PASS units-boot $host"; else x journalctl -u "$unit" --no-pager | tail -20; echo "FAIL units-boot $host"; fi
exit $fail
