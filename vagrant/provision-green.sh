#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# green: the knockgate-green package, its own part of the lab (never the
# CA key nor red's keys: $KG_LAB/green and red's certificate $KG_RED_CERT),
# a config for the VM's interfaces, and the packaged unit. eth0 is Vagrant's NAT link: it stays a
# management interface so that 'vagrant ssh' keeps working while green is
# dark on eth1 (outside) and eth2 (inside).
set -eu
lab=${KG_LAB:-/opt/knockgate-lab}
red_cert=${KG_RED_CERT:-$lab/red/host.pem}
# Its own packages from the ones provision-common.sh left; apt reaches the
# registry only when something is missing (an offline system container
# with everything preinstalled works too).
debs=${KG_DEBS:-/opt/knockgate-debs}
export DEBIAN_FRONTEND=noninteractive
apt_install() {
	apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}
apt_install "$debs"/knockgate-green_*.deb wireguard-go
etc=/etc/knockgate
install -d -m 0700 "$etc" "$etc/users.d"
install -m 0600 "$lab"/green/host.key "$lab"/green/wg.key "$lab"/green/site.key "$etc/"
install -m 0644 "$lab"/green/host.pem "$lab"/green/ca.pem "$lab"/green/crl.pem "$etc/"
install -m 0644 "$red_cert" "$etc/red1.pem"
install -m 0600 "$lab"/green/users.d/*.conf "$etc/users.d/"
red_site_pub=$(cat "$lab/green/red-site.pub")
cat >"$etc/green.conf" <<CONF
# Written by vagrant/provision-green.sh; see knockgate-green.conf(5).
[green]
wg_interface = kg-green0
knock_port = 62201
wg_port = 51820
control_port = 4433
tunnel_address = 10.88.0.1
management_interfaces = eth0
management_ports = all
log_level = info

[ips]
scan_ports = 10
scan_window = 60
ban_time = 600
never_ban = 203.0.113.2

[wireguard]
private_key = $etc/wg.key

[knock]
users_dir = $etc/users.d

[pki]
ca = $etc/ca.pem
crl = $etc/crl.pem

[session]
control_port = 4433

[service web]
red = red1
address = 203.0.113.2

# kg-lab enrolls alice for web and ssh: a record naming a service green
# does not know is refused whole (event=users result=error).
[service ssh]
red = red1
address = 203.0.113.2

[site]
id = green1
interface = kg-site
private_key = $etc/site.key
listen_port = 51821
address = 10.89.0.1/30
host_key = $etc/host.key
ca = $etc/ca.pem
crl = $etc/crl.pem

[red red1]
address = 203.0.113.2
knock_port = 62202
site_address = 10.89.0.2
site_port = 51821
site_public_key = $red_site_pub
cert = $etc/red1.pem
CONF
chmod 0600 "$etc/green.conf"
knockgate-green --check-config -c "$etc/green.conf"
systemctl daemon-reload
systemctl enable --now knockgate-green.service
systemctl --no-pager status knockgate-green.service | head -5
