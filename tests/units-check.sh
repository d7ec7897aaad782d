#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The systemd units as meson generates them: systemd-analyze verify (syntax,
# the units they order against, executables present) and
# systemd-analyze security --offline=yes, whose exposure score must not be
# worse than tests/units-security-threshold. Needs no booted systemd.
#
#   tests/units-check.sh [BUILD_DIR]   (default: $KG_BUILD or build-test)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${KG_BUILD:-$top/build-test}}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v systemd-analyze >/dev/null || { echo "units: systemd-analyze missing"; exit 1; }

# verify checks that ExecStart= programs exist: point them at this build.
mkdir -p "$tmp/sbin"
ln -s "$build/green/knockgate-green" "$tmp/sbin/knockgate-green"
ln -s "$build/red/knockgate-red" "$tmp/sbin/knockgate-red"
rc=0
while read -r unit max; do
	case "$unit" in ''|'#'*) continue ;; esac
	sed -e "s|@sbindir@|$tmp/sbin|g" -e "s|@sysconfdir@|/etc|g" \
		"$top/systemd/$unit.in" >"$tmp/$unit"
	if ! out=$(systemd-analyze verify --man=no "$tmp/$unit" 2>&1) || [ -n "$out" ]; then
		echo "units: $unit: systemd-analyze verify:"; echo "$out"; rc=1
	fi
	score=$(systemd-analyze security --offline=yes "$tmp/$unit" 2>&1 |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
	if [ -z "$score" ]; then
		echo "units: $unit: no security score"; rc=1
	elif awk -v s="$score" -v m="$max" 'BEGIN { exit !(s > m) }'; then
		echo "units: $unit: exposure $score, worse than $max (tests/units-security-threshold)"; rc=1
	else
		echo "units: $unit: verify clean, exposure $score (threshold $max)"
	fi
done <"$top/tests/units-security-threshold"
exit $rc
