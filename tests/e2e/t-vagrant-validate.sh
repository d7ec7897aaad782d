#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The VM setup stays valid: 'vagrant validate --ignore-provider' (offline;
# these machines cannot fetch a box) accepts the Vagrantfile, the three
# machines are defined with the testbed's addresses, and every provisioner
# script it names exists and is shellcheck-clean.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
command -v vagrant >/dev/null || { echo "vagrant is not installed"; exit 77; }
cd "$top/vagrant"
out=$(vagrant validate --ignore-provider 2>&1) || { echo "$out"; exit 1; }
echo "$out" | grep -q "validated successfully" || { echo "$out"; exit 1; }
for m in green red client; do
	grep -q "config.vm.define \"$m\"" Vagrantfile || { echo "no machine $m"; exit 1; }
done
for ip in 198.51.100.1 203.0.113.1 203.0.113.2 198.51.100.10; do
	grep -q "ip: \"$ip\"" Vagrantfile || { echo "address $ip missing"; exit 1; }
done
grep -Eo 'path: "[^"]+"' Vagrantfile | cut -d'"' -f2 | sort -u | while read -r p; do
	[ -x "$p" ] || { echo "provisioner $p missing or not executable"; exit 1; }
	shellcheck -S warning "$p"
done
echo "PASS: Vagrantfile valid, 3 machines, provisioners present and clean"
