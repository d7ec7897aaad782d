#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# client: alice's profile and her virtual card, served by pcscd's vpcd
# reader on loopback. With a real YubiKey, skip the vcard unit and write
# the card with provisioning/kg-card-yubikey on the admin machine instead.
set -eu
lab=/vagrant/vagrant/lab
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
# install-deps disables pcscd for the test suite; the client VM wants it.
systemctl enable --now pcscd.socket
systemctl daemon-reload
systemctl enable --now knockgate-vcard.service
echo "client ready: sudo knockgate connect --profile $home/profile web"
