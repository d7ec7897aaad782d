#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes, once, the Debian 12 root filesystem that tests/e2e/t-deploy.sh
# boots as green, red and the client: debootstrap from Debian's registry
# with every runtime dependency of the three hosts already installed,
# because a container joined to a testbed namespace cannot reach the
# registry. Cached in $KG_ROOTFS_CACHE (default
# /var/cache/knockgate-test/rootfs-deploy) with the package list it was
# made from; a changed list makes it again.
#
#   tests/deploy-rootfs.sh            build if missing, print the path
#   KG_DEBIAN_MIRROR=URL              another mirror (default deb.debian.org)
#
# Idempotent and safe to run twice at once (the second waits on a lock
# and finds the cache made): run-all can start it in the background at
# its beginning and t-deploy.sh runs it again to wait for it.
# Exit 0: the path is printed; 1: debootstrap failed (its log is printed).
set -eu
cache=${KG_ROOTFS_CACHE:-/var/cache/knockgate-test/rootfs-deploy}
mirror=${KG_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# green, red: the daemons' libraries, nftables, wireguard-go; red: python3
# for the demo web server; client: pcscd, vpcd, curl for the page, sudo
# and nmap as the user guide and provision-client.sh use them; openssl
# for the provisioning scripts.
pkgs="systemd systemd-sysv dbus iproute2 procps nftables wireguard-go
wireguard-tools libnftables1 libnftnl11 libmnl0 libssl3 libpcsclite1
libnetfilter-conntrack3 libsystemd0 libseccomp2 python3 pcscd
vsmartcard-vpcd curl sudo nmap openssl"
want=$(echo $pkgs | tr ' ' ',')
for c in debootstrap flock; do
	command -v $c >/dev/null || { echo "deploy-rootfs: $c missing" >&2; exit 77; }
done
mkdir -p "$(dirname "$cache")"
exec 9>"$cache.lock"
flock 9
# As Vagrant's box has it: the account the provisioners expect (vagrant,
# sudo without a password) and the host names t-deploy.sh gives the
# containers in /etc/hosts (sudo looks its host up).
vagrant_user() {
	chroot "$1" id vagrant >/dev/null 2>&1 || chroot "$1" useradd -m -s /bin/bash vagrant
	printf 'vagrant ALL=(ALL) NOPASSWD: ALL\n' >"$1/etc/sudoers.d/vagrant"
	chmod 0440 "$1/etc/sudoers.d/vagrant"
	printf '127.0.0.1 localhost\n127.0.1.1 debian green red client\n::1 localhost\n' >"$1/etc/hosts"
	echo debian >"$1/etc/hostname"
}
if [ -f "$cache/.kg-packages" ] && [ "$(cat "$cache/.kg-packages")" = "$want" ]; then
	grep -qs "debian green red client" "$cache/etc/hosts" || vagrant_user "$cache"
	echo "$cache"
	exit 0
fi
rm -rf "$cache.tmp" "$cache.old"
start=$(date +%s)
if ! debootstrap --variant=minbase --include="$want" bookworm "$cache.tmp" "$mirror" \
	>"$cache.log" 2>&1; then
	tail -20 "$cache.log" >&2
	echo "deploy-rootfs: debootstrap failed (log $cache.log)" >&2
	rm -rf "$cache.tmp"
	exit 1
fi
# the packages' own services stay off until a provisioner enables them
chroot "$cache.tmp" systemctl disable pcscd.socket >/dev/null 2>&1 || true
vagrant_user "$cache.tmp"
chroot "$cache.tmp" apt-get clean
echo "$want" >"$cache.tmp/.kg-packages"
[ -d "$cache" ] && mv "$cache" "$cache.old"
mv "$cache.tmp" "$cache"
rm -rf "$cache.old"
echo "deploy-rootfs: made in $(($(date +%s) - start)) s" >&2
echo "$cache"
