#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every VM: knockgate's Debian packages in $KG_DEBS (default
# /opt/knockgate-debs), for the host provisioner to install its own. Taken
# from vagrant/debs/ when the admin built them there
# (tests/packages-check.sh leaves them in BUILD/debs), else built here
# from the synced tree (build dependencies only, no test tools).
set -eu
src=${KG_SRC:-/vagrant}
debs=${KG_DEBS:-/opt/knockgate-debs}
install -d "$debs"
if ls "$src"/vagrant/debs/knockgate-green_*.deb >/dev/null 2>&1; then
	cp "$src"/vagrant/debs/*.deb "$debs/"
elif ! ls "$debs"/knockgate-green_*.deb >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends build-essential dpkg-dev >/dev/null
	apt-get build-dep -y -qq "$src" >/dev/null
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	cp -r "$src" "$work/knockgate"
	rm -rf "$work/knockgate"/build* "$work/knockgate/vagrant/lab"
	(cd "$work/knockgate" && dpkg-buildpackage -us -uc -b >/dev/null)
	cp "$work"/*.deb "$debs/"
fi
ls "$debs"
