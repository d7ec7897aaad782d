#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds every fuzz target with clang + libFuzzer (ASan, UBSan) and runs
# each for SECONDS (default 15) from a copy of its seed corpus. Exit 1 if
# any target finds a crash, a leak or a timeout.
set -u
secs=${1:-15}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${KG_FUZZ_BUILD:-$top/build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null || exit 1
fi
ninja -C "$build" >/dev/null || { ninja -C "$build" | tail -20; exit 1; }
rc=0
for bin in "$build"/tests/fuzz/fuzz_*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	case "$name" in replay_*|*.p) continue ;; esac
	work=$(mktemp -d)
	cp -r "$top/tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
	# Crash inputs go to the build dir, never into the source tree.
	mkdir -p "$build/fuzz-artifacts"
	if "$bin" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 \
		-artifact_prefix="$build/fuzz-artifacts/$name-" \
		-print_final_stats=0 "$work" >"$work.log" 2>&1; then
		echo "fuzz $name: $(grep -Eo '#[0-9]+' "$work.log" | tail -1 | tr -d '#') runs, no crash"
	else
		echo "fuzz $name: FAILED"; tail -30 "$work.log"; rc=1
	fi
	rm -rf "$work" "$work.log"
done
exit $rc
