#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs, from Debian 12's own packages, everything knockgate needs to
# build, run its demo and run its tests. Safe to run again: it asks apt
# only for what is missing.
set -eu
pkgs="meson ninja-build gcc clang pkg-config libssl-dev libnftnl-dev libmnl-dev libseccomp-dev
libpcsclite-dev pcscd libsystemd-dev libcmocka-dev libnetfilter-conntrack-dev libnftables-dev
nftables iproute2 wireguard-tools wireguard-go conntrack
vsmartcard-vpcd opensc yubico-piv-tool nmap knockd socat curl python3
openssl shellcheck procps psmisc util-linux tcpdump vagrant xxd
systemd dpkg-dev debhelper lintian"
# the deployment test: Debian 12 system containers (tests/deploy-rootfs.sh)
pkgs="$pkgs systemd-container debootstrap"
# t-clock-step runs the daemons under libfaketime (their wall clock only)
pkgs="$pkgs faketime"
missing=""
# the attack battery builds valid knocks (tests/e2e/lib-attack-green.sh)
pkgs="$pkgs python3-cryptography"
# t-greens-vrrp: an active/standby pair on one address
pkgs="$pkgs keepalived"
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
		|| missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "install-deps: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086 # word splitting of the list is wanted
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# pcscd's own service would hold /run/pcscd; the tests run a private one.
if command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now pcscd.socket pcscd.service >/dev/null 2>&1 || true
fi
# knockd's package may start a daemon; the tests only use its client.
if command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now knockd.service >/dev/null 2>&1 || true
fi
exit 0
