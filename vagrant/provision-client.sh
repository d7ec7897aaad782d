#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# client: the knockgate-client and knockgate-tools packages, alice's
# profile and her virtual card ($KG_LAB/users/alice), served by pcscd's
# vpcd reader on loopback. With a real YubiKey, skip the vcard unit and write
# the card with provisioning/kg-card-yubikey on the admin machine instead.
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
# nmap only for the demo's "the host is dark" scan.
apt_install "$debs"/knockgate-client_*.deb "$debs"/knockgate-tools_*.deb \
	pcscd vsmartcard-vpcd wireguard-go nmap
install -d -m 0700 /etc/knockgate
home=/home/vagrant/knockgate
install -d -o vagrant -g vagrant -m 0700 "$home"
cp -r "$lab/users/alice/profile" "$home/profile"
install -m 0600 "$lab/users/alice/alice.card" /etc/knockgate/alice.card
chown -R vagrant:vagrant "$home"
cat >/etc/systemd/system/knockgate-vcard.service <<'UNIT'
[Unit]
Description=knockgate virtual PIV card (alice) in pcscd's vpcd reader
After=pcscd.service
Wants=pcscd.service
[Service]
ExecStart=/usr/bin/knockgate-vcard --card /etc/knockgate/alice.card --host 127.0.0.1 --port 35963
Restart=always
[Install]
WantedBy=multi-user.target
UNIT
systemctl enable --now pcscd.socket
systemctl daemon-reload
systemctl enable --now knockgate-vcard.service
echo "client ready: sudo knockgate connect --profile $home/profile web"
