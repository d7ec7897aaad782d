#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Debian packages from this tree (dpkg-buildpackage -us -uc -b,
# no sanitizers, in a temporary copy of the tracked and new files) and
# runs lintian on them: any E: or W: tag fails. Writes every package's
# file list to BUILD_DIR/packages-files.txt and keeps the .debs in
# BUILD_DIR/debs (the deployment test installs them from there).
#
#   tests/packages-check.sh [BUILD_DIR]   (default: $KG_BUILD or build-test)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${KG_BUILD:-$top/build-test}}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
for c in dpkg-buildpackage dh lintian; do
	command -v $c >/dev/null || { echo "packages: $c missing (tests/install-deps.sh)"; exit 1; }
done
mkdir -p "$build" "$tmp/src"
(cd "$top" && git ls-files -co --exclude-standard | grep -v '^build' |
	while read -r f; do [ -e "$f" ] && printf '%s\n' "$f"; done |
	tar -cf - -T -) | tar -xf - -C "$tmp/src"
if ! (cd "$tmp/src" && dpkg-buildpackage -us -uc -b) >"$build/packages-build.log" 2>&1; then
	tail -30 "$build/packages-build.log"
	echo "packages: dpkg-buildpackage failed (log: $build/packages-build.log)"
	exit 1
fi
rm -rf "$build/debs"; mkdir -p "$build/debs"
cp "$tmp"/*.deb "$tmp"/*.changes "$tmp"/*.buildinfo "$build/debs/"
: >"$build/packages-files.txt"
for d in "$build"/debs/*.deb; do
	case "$d" in *-dbgsym_*) continue ;; esac
	{ echo "## $(basename "$d")"; dpkg-deb -c "$d" | awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }'; echo; } \
		>>"$build/packages-files.txt"
done
# lintian warns when run as root (CI runs as root): that line is not a tag.
lrc=0
lintian --tag-display-limit 0 "$build"/debs/*.changes >"$build/packages-lintian.raw" 2>&1 || lrc=$?
grep -v '^running with root privileges' "$build/packages-lintian.raw" >"$build/packages-lintian.txt" || true
rm -f "$build/packages-lintian.raw"
# 1: tags found (judged below); anything else: lintian itself failed
if [ $lrc -gt 1 ]; then
	cat "$build/packages-lintian.txt"; echo "packages: lintian failed (exit $lrc)"; exit 1
fi
took=$(( $(date +%s) - start ))
n=$(find "$build/debs" -name '*.deb' ! -name '*-dbgsym_*' | wc -l)
if grep -qE '^[EW]: ' "$build/packages-lintian.txt"; then
	grep -E '^[EW]: ' "$build/packages-lintian.txt"
	echo "packages: lintian has E:/W: tags (${took}s)"
	exit 1
fi
echo "packages: $n built, lintian clean of E:/W: tags, file lists in $build/packages-files.txt (${took}s)"
