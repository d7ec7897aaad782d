#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite, as root on Debian 12: installs what is missing,
# builds with -Werror and ASan+UBSan, runs the unit tests and fuzz corpora
# (meson test), shellcheck, the systemd units (verify, security score
# against tests/units-security-threshold), the Debian packages (build +
# lintian; --no-packages skips them), every end-to-end scenario
# (tests/e2e/t-*.sh) and a short libFuzzer run of every fuzz target. Ends
# with one line, alone: "N passed, N failed, N skipped".
#
# A scenario skips (exit 77) only when something it needs is missing. With
# CI=true (.ci/run sets it) every skip is a failure unless the scenario is
# in tests/skip-allowed with a reason. Every tests/e2e/t-*.sh is counted:
# the run fails unless each one passed, failed or skipped, and a scenario
# passes only if it exited 0 AND printed its PASS line (reached its end).
#
#   tests/run-all.sh [--no-install] [--no-fuzz] [--no-packages] [--only PATTERN]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

install=1 fuzz=1 packages=1 only=""
while [ $# -gt 0 ]; do
	case "$1" in
	--no-install) install=0 ;;
	--no-fuzz) fuzz=0 ;;
	--no-packages) packages=0 ;;
	--only) only=$2; shift ;;
	-h|--help) sed -n '3,17p' "$0"; exit 0 ;;
	*) echo "run-all: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

[ "$(id -u)" = 0 ] || { echo "run-all: needs root (network namespaces, nftables)" >&2; exit 2; }
[ $install = 1 ] && { bash tests/install-deps.sh || exit 1; }

build=${KG_BUILD:-$top/build-test}
export KG_BUILD=$build
passed=0 failed=0 skipped=0 failures=""
pass() { passed=$((passed + $1)); }
fail() { failed=$((failed + 1)); failures="$failures $1"; echo "FAIL: $1"; }
summary() { echo "$passed passed, $failed failed, $skipped skipped"; }
# skip NAME REASON: counted as skipped, or as failed on CI unless allowed.
skip_allowed=tests/skip-allowed
skip() {
	local why
	why=$(awk -v n="$1" '$1 == n && NF >= 2 { $1 = ""; sub(/^ +/, ""); print; exit }' "$skip_allowed" 2>/dev/null)
	if [ "${CI:-}" = true ] && [ -z "$why" ]; then
		fail "$1"; echo "     (skipped on CI: $2; not in $skip_allowed)"
	else
		skipped=$((skipped + 1)); echo "skip $1: $2${why:+ (allowed: $why)}"
	fi
}

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" -Dwerror=true -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null || { echo "run-all: meson setup failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
fi
if ! ninja -C "$build" >"$build/ninja.log" 2>&1; then
	tail -40 "$build/ninja.log"
	echo "run-all: build failed"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

# ASan in long-lived daemons: report leaks only from unit tests.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "== meson test (unit, fuzz corpora)"
if [ -z "$only" ]; then
	meson test -C "$build" --num-processes 2 --print-errorlogs >"$build/meson-test.out" 2>&1
	tail -12 "$build/meson-test.out"
	ok=$(awk '/^Ok:/ {print $2}' "$build/meson-test.out")
	bad=$(awk '/^(Fail|Unexpected Pass|Timeout):/ {s += $2} END {print s + 0}' "$build/meson-test.out")
	mskip=$(awk '/^Skipped:/ {print $2}' "$build/meson-test.out")
	# Count cmocka's cases, not its programs; other tests (fuzz corpus
	# replays) count one each. A program that crashed counts as failed
	# even when cmocka printed nothing.
	tlog="$build/meson-logs/testlog.txt"
	cm_pass=$(grep -Eo '^\[  PASSED  \] [0-9]+' "$tlog" | awk '{s += $NF} END {print s + 0}')
	cm_fail=$(grep -Eo '^\[  FAILED  \] [0-9]+' "$tlog" | awk '{s += $NF} END {print s + 0}')
	cm_progs=$(grep -c '^\[  PASSED  \]' "$tlog")
	other=$(( ${ok:-0} - cm_progs ))
	[ "$other" -lt 0 ] && other=0
	pass $(( cm_pass + other ))
	echo "meson test: ${ok:-0} programs ok, $bad not; $cm_pass cmocka cases passed, $cm_fail failed"
	[ "$cm_fail" -gt "$bad" ] && bad=$cm_fail
	for _ in $(seq 1 "$bad"); do fail "meson-test"; done
	[ -n "$ok" ] || fail "meson-test-did-not-run"
	for _ in $(seq 1 "${mskip:-0}"); do skip meson-test "a meson test skipped (see $build/meson-logs/testlog.txt)"; done
fi

echo "== shellcheck"
if [ -z "$only" ]; then
	mapfile -t scripts < <(git ls-files '*.sh' 'provisioning/*' 'demo/*' '.ci/run' | sort -u | while read -r f; do
		[ -f "$f" ] && head -1 "$f" | grep -qE '^#!.*(ba|da)?sh' && echo "$f"; done)
	if [ ${#scripts[@]} -eq 0 ] || shellcheck -x -S warning "${scripts[@]}"; then
		pass 1; echo "shellcheck: ${#scripts[@]} scripts clean"
	else
		fail shellcheck
	fi
fi

echo "== units"
if [ -z "$only" ]; then
	if bash tests/units-check.sh "$build"; then pass 1; else fail units; fi
fi

echo "== packages"
if [ -z "$only" ] && [ $packages = 1 ]; then
	if bash tests/packages-check.sh "$build"; then pass 1; else fail packages; fi
fi

echo "== end-to-end scenarios"
scenarios=() ran=0
for t in tests/e2e/t-*.sh; do
	name=$(basename "$t" .sh)
	[ -n "$only" ] && [[ $name != *$only* ]] && continue
	scenarios+=("$t")
done
[ -n "$only" ] && [ ${#scenarios[@]} = 0 ] && fail "no-scenario-matches-$only"
for t in "${scenarios[@]}"; do
	name=$(basename "$t" .sh)
	log="$build/e2e-$name.log"
	start=$(date +%s)
	timeout -k 10 600 bash "$t" >"$log" 2>&1
	rc=$?
	took=$(( $(date +%s) - start ))
	ran=$((ran + 1))
	if [ $rc = 0 ] && grep -qE '(^|[] :])PASS([: ]|$)' "$log"; then
		pass 1; echo "ok   $name (${took}s)"
	elif [ $rc = 0 ]; then
		fail "$name"; echo "     exited 0 without its PASS line (it did not reach its end); see $log"
	elif [ $rc = 77 ]; then
		skip "$name" "$(grep -m1 -iE '^skip' "$log" || tail -1 "$log")"
	else
		fail "$name"; echo "---- last lines of $log:"; tail -25 "$log"; echo "----"
	fi
done
# Every scenario on disk ran and has a verdict (a scenario the loop lost,
# e.g. to a runner killed mid-way, would be missing here).
n_disk=$(find tests/e2e -maxdepth 1 -name 't-*.sh' -printf '%f\n' |
	while read -r f; do n=${f%.sh}; [ -z "$only" ] || [[ $n == *$only* ]] && echo "$n"; done | grep -c .)
echo "e2e: $n_disk scenarios, $ran ran"
[ "$ran" = "$n_disk" ] || fail "e2e-count ($n_disk scenarios, $ran ran)"

if [ $fuzz = 1 ] && [ -z "$only" ]; then
	echo "== libFuzzer (bounded)"
	# 8 s a target keeps the whole suite well under 30 minutes on two
	# cores (25 min measured with 15 s); longer runs: KG_FUZZ_SECONDS=60.
	if bash tests/fuzz/run.sh "${KG_FUZZ_SECONDS:-8}"; then pass 1; else fail fuzz; fi
fi

[ -n "$failures" ] && echo "failed:$failures"
summary
[ "$failed" = 0 ]
