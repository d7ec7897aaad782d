#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# red: the knockgate-red package, its own part of the lab ($KG_LAB/red),
# a config, the packaged unit, and a small web server on 8080 that only
# granted clients reach (through red's mapping).
set -eu
lab=${KG_LAB:-/opt/knockgate-lab}
# Its own packages from the ones provision-common.sh left; apt reaches the
# registry only when something is missing (an offline system container
# with everything preinstalled works too).
debs=${KG_DEBS:-/opt/knockgate-debs}
export DEBIAN_FRONTEND=noninteractive
apt_install() {
	apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}
apt_install "$debs"/knockgate-red_*.deb wireguard-go python3
etc=/etc/knockgate
install -d -m 0700 "$etc"
install -m 0600 "$lab"/red/host.key "$lab"/red/site.key "$etc/"
install -m 0644 "$lab"/red/host.pem "$lab"/red/ca.pem "$lab"/red/crl.pem \
	"$lab"/red/green.pem "$etc/"
green_site_pub=$(cat "$lab/red/green-site.pub")
cat >"$etc/red.conf" <<CONF
# Written by vagrant/provision-red.sh; see knockgate-red.conf(5).
[red]
id = red1
addresses = 203.0.113.2
knock_port = 62202
ca = $etc/ca.pem
crl = $etc/crl.pem
host_key = $etc/host.key
host_cert = $etc/host.pem
tunnel_range = 10.88.0.0/16
never_ban = 203.0.113.1
management = 10.0.2.2

[site]
interface = kg-red0
private_key = $etc/site.key
listen_port = 51821
address = 10.89.0.2/30
peer_public_key = $green_site_pub
peer_address = 10.89.0.1
peer_endpoint = 203.0.113.1:51821

[green green1]
address = 203.0.113.1
# second knocks come through the site link, from green's end of it
link_address = 10.89.0.1
cert = $etc/green.pem

[service web]
port = 8080
pool = 40000-40999
proto = tcp

[service ssh]
port = 22
pool = 41000-41999
proto = tcp
CONF
chmod 0600 "$etc/red.conf"
install -d /srv/knockgate-web
echo "hello from red: you reached a hidden service" >/srv/knockgate-web/index.html
cat >/etc/systemd/system/knockgate-demo-web.service <<'UNIT'
[Unit]
Description=knockgate demo web server (reachable only through a grant)
[Service]
ExecStart=/usr/bin/python3 -m http.server 8080 --directory /srv/knockgate-web
DynamicUser=yes
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now knockgate-demo-web.service
knockgate-red -t -c "$etc/red.conf"
systemctl enable --now knockgate-red.service
systemctl --no-pager status knockgate-red.service | head -5
