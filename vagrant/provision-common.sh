#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every VM: install what knockgate needs from Debian 12, build and install it.
set -eu
cd /vagrant
bash tests/install-deps.sh
meson setup /opt/knockgate-build --prefix=/usr --buildtype=release --wipe >/dev/null 2>&1 \
	|| meson setup /opt/knockgate-build --prefix=/usr --buildtype=release >/dev/null
ninja -C /opt/knockgate-build
ninja -C /opt/knockgate-build install >/dev/null
install -d -m 0700 /etc/knockgate
echo "knockgate installed: $(knockgate --version)"
