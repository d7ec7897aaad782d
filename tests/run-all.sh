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
# Scenarios run N at a time (-j N, or KG_E2E_JOBS; default 2: they mostly
# wait), longest first (last run's times in BUILD/e2e-durations, else the
# checked-in tests/e2e/durations), each logged to BUILD/e2e-NAME.log and
# printed whole when it fails. A scenario with a line "# kg-serial" runs
# alone, after the others. The packages check and libFuzzer (CPU-bound)
# (and shellcheck) run niced in the background meanwhile; an executable
# tests/deploy-rootfs.sh starts in the background right after the
# dependencies (log BUILD/deploy-rootfs.log). Scenarios that need either
# wait with tb_wait_prep (tests/e2e/lib.sh). Every phase and scenario
# prints its duration.
#
#   tests/run-all.sh [--no-install] [--no-fuzz] [--no-packages] [--only PATTERN] [-j N]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

install=1 fuzz=1 packages=1 only="" jobs=${KG_E2E_JOBS:-2}
while [ $# -gt 0 ]; do
	case "$1" in
	--no-install) install=0 ;;
	--no-fuzz) fuzz=0 ;;
	--no-packages) packages=0 ;;
	--only) only=$2; shift ;;
	-j|--jobs) jobs=${2:-}; shift ;;
	-j*) jobs=${1#-j} ;;
	-h|--help) sed -n '3,28p' "$0"; exit 0 ;;
	*) echo "run-all: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
case "$jobs" in
''|*[!0-9]*|0) echo "run-all: -j wants a number of scenarios at a time (1 or more), not '$jobs'" >&2; exit 2 ;;
esac
t_run=$(date +%s)
# phase NAME: prints the "== NAME" header and starts its clock;
# phase_end prints how long the phase took, one line.
phase() { ph_name=$1; ph_t0=$(date +%s); echo "== $1"; }
phase_end() { echo "-- $ph_name: $(( $(date +%s) - ph_t0 )) s"; }

[ "$(id -u)" = 0 ] || { echo "run-all: needs root (network namespaces, nftables)" >&2; exit 2; }
if [ $install = 1 ]; then
	phase "install-deps"
	bash tests/install-deps.sh || exit 1
	phase_end
fi

build=${KG_BUILD:-$top/build-test}
export KG_BUILD=$build
mkdir -p "$build"

# prep_start NAME CMD...: runs CMD in the background holding an exclusive
# lock on BUILD/NAME.lock, taken here before it starts, so a scenario's
# tb_wait_prep NAME (a shared lock) cannot slip in before the holder.
declare -A prep_pid=() prep_t0=()
prep_start() {
	local name=$1 fd
	shift
	exec {fd}>"$build/$name.lock"
	flock -x "$fd"
	"$@" &
	prep_pid[$name]=$!
	prep_t0[$name]=$(date +%s)
	exec {fd}>&-
}
# Long, network-bound preparation first, while the rest builds and tests.
if [ -x tests/deploy-rootfs.sh ]; then
	prep_start deploy-rootfs bash -c 'exec tests/deploy-rootfs.sh >"$1" 2>&1' _ "$build/deploy-rootfs.log"
	echo "deploy-rootfs: started in the background (log: $build/deploy-rootfs.log)"
fi
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

phase "build"
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
phase_end

# ASan in long-lived daemons: report leaks only from unit tests.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

phase "meson test (unit, fuzz corpora)"
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
phase_end

phase "units"
if [ -z "$only" ]; then
	if bash tests/units-check.sh "$build"; then pass 1; else fail units; fi
fi
phase_end

# The packages check, shellcheck and libFuzzer are CPU-bound and the
# scenarios mostly wait: they run niced, one after the other, during the
# scenarios, each to BUILD/bg-NAME.out (.rc: its exit status, .took: its
# seconds). The packages lock is held until the .debs are in BUILD/debs.
bg_checks=()
rm -f "$build"/bg-*.rc "$build"/bg-*.took
if [ -z "$only" ]; then
	[ $packages = 1 ] && bg_checks+=(packages)
	bg_checks+=(shellcheck)
	# 8 s a target: longer runs with KG_FUZZ_SECONDS=60.
	[ $fuzz = 1 ] && bg_checks+=(fuzz)
fi
run_shellcheck() {
	local scripts
	mapfile -t scripts < <(git ls-files '*.sh' 'provisioning/*' 'demo/*' '.ci/run' | sort -u | while read -r f; do
		[ -f "$f" ] && head -1 "$f" | grep -qE '^#!.*(ba|da)?sh' && echo "$f"; done)
	[ ${#scripts[@]} -eq 0 ] || shellcheck -x -S warning "${scripts[@]}" || return 1
	echo "shellcheck: ${#scripts[@]} scripts clean"
}
bg_one() {
	case "$1" in
	packages) bash tests/packages-check.sh "$build" ;;
	shellcheck) run_shellcheck ;;
	fuzz) bash tests/fuzz/run.sh "${KG_FUZZ_SECONDS:-8}" ;;
	esac
}
if [ ${#bg_checks[@]} -gt 0 ]; then
	exec {pkg_fd}>"$build/packages.lock"
	[ $packages = 1 ] && [ -z "$only" ] && flock -x "$pkg_fd"
	(
		renice -n 10 -p $BASHPID >/dev/null
		for c in "${bg_checks[@]}"; do
			t0=$(date +%s)
			bg_one "$c" >"$build/bg-$c.out" 2>&1
			echo $? >"$build/bg-$c.rc"
			echo $(( $(date +%s) - t0 )) >"$build/bg-$c.took"
			# the scenarios waiting in tb_wait_prep packages go on
			[ "$c" = packages ] && exec {pkg_fd}>&-
		done
	) &
	bg_pid=$!
	bg_t0=$(date +%s)
	exec {pkg_fd}>&-
	echo "background (niced, in turn): ${bg_checks[*]}"
fi

phase "end-to-end scenarios"
# Typical seconds a scenario: last run's, else the checked-in table, else
# 120 (an unknown scenario starts early rather than end the run late).
durs_last=$build/e2e-durations durs_table=tests/e2e/durations
est() {
	local v
	v=$(awk -v n="$1" '$1 == n { print $2; exit }' "$durs_last" 2>/dev/null)
	[ -n "$v" ] || v=$(awk -v n="$1" '$1 == n { print $2; exit }' "$durs_table" 2>/dev/null)
	echo "${v:-120}"
}
pooled=() serial=() ran=0
while read -r _ t; do
	if grep -qE '^# kg-serial([[:space:]]|$)' "$t"; then serial+=("$t"); else pooled+=("$t"); fi
done < <(for t in tests/e2e/t-*.sh; do
	name=$(basename "$t" .sh)
	[ -n "$only" ] && [[ $name != *$only* ]] && continue
	echo "$(est "$name") $t"
done | sort -k1,1nr -k2,2)
[ -n "$only" ] && [ $(( ${#pooled[@]} + ${#serial[@]} )) = 0 ] && fail "no-scenario-matches-$only"
echo "e2e: ${#pooled[@]} scenarios $jobs at a time, longest first; ${#serial[@]} alone after them"

declare -A run_name=() run_t0=()
: >"$build/e2e-durations.new"
# Stop what runs (each scenario's own trap cleans its namespaces up).
stop_all() {
	local p
	for p in "${!run_name[@]}" "${prep_pid[@]}" ${bg_pid:-}; do kill -TERM "$p" 2>/dev/null; done
	wait
	exit 130
}
trap stop_all INT TERM
launch() {
	local t=$1 name
	name=$(basename "$t" .sh)
	timeout -k 10 600 bash "$t" >"$build/e2e-$name.log" 2>&1 </dev/null &
	run_name[$!]=$name
	run_t0[$!]=$(date +%s)
}
# reap: waits for one running scenario and prints its verdict.
reap() {
	local pid="" rc name took log
	wait -n -p pid "${!run_name[@]}"
	rc=$?
	[ -n "$pid" ] || return 0
	name=${run_name[$pid]} log="$build/e2e-${run_name[$pid]}.log"
	took=$(( $(date +%s) - run_t0[$pid] ))
	unset "run_name[$pid]" "run_t0[$pid]"
	ran=$((ran + 1))
	if [ $rc = 0 ] && grep -qE '(^|[] :])PASS([: ]|$)' "$log"; then
		pass 1; echo "PASS $name ($took s)"
		echo "$name $took" >>"$build/e2e-durations.new"
	elif [ $rc = 77 ]; then
		skip "$name" "$(grep -m1 -iE '^skip' "$log" || tail -1 "$log") ($took s)"
	else
		echo "$name $took" >>"$build/e2e-durations.new"
		if [ $rc = 0 ]; then
			fail "$name ($took s)"; echo "     exited 0 without its PASS line (it did not reach its end)"
		else
			fail "$name ($took s, exit $rc)"
		fi
		echo "---- $log:"; cat "$log"; echo "---- end of $name"
	fi
}
e2e_t0=$(date +%s)
for t in "${pooled[@]}"; do
	while [ ${#run_name[@]} -ge "$jobs" ]; do reap; done
	launch "$t"
done
while [ ${#run_name[@]} -gt 0 ]; do reap; done
for t in "${serial[@]}"; do
	launch "$t"
	reap
done
e2e_wall=$(( $(date +%s) - e2e_t0 ))
e2e_sum=$(awk '{ s += $2 } END { print s + 0 }' "$build/e2e-durations.new")
# This run's times, merged over the last (scenarios not run keep theirs).
awk 'NR == FNR { d[$1] = $2; next } !($1 in d) { d[$1] = $2 } END { for (n in d) print n, d[n] }' \
	"$build/e2e-durations.new" "$durs_last" 2>/dev/null | sort >"$build/e2e-durations.tmp" &&
	mv "$build/e2e-durations.tmp" "$durs_last"
rm -f "$build/e2e-durations.new"
# Every scenario on disk ran and has a verdict (a scenario the loop lost,
# e.g. to a runner killed mid-way, would be missing here).
n_disk=$(find tests/e2e -maxdepth 1 -name 't-*.sh' -printf '%f\n' |
	while read -r f; do n=${f%.sh}; [ -z "$only" ] || [[ $n == *$only* ]] && echo "$n"; done | grep -c .)
echo "e2e: $n_disk scenarios, $ran ran; $e2e_wall s wall at -j $jobs, $e2e_sum s summed"
[ "$ran" = "$n_disk" ] || fail "e2e-count ($n_disk scenarios, $ran ran)"
phase_end

[ ${#bg_checks[@]} -gt 0 ] && wait "$bg_pid"
for c in "${bg_checks[@]}"; do
	phase "$c (background)"
	cat "$build/bg-$c.out" 2>/dev/null
	if [ "$(cat "$build/bg-$c.rc" 2>/dev/null)" = 0 ]; then pass 1; else fail "$c"; fi
	echo "-- $c: $(cat "$build/bg-$c.took" 2>/dev/null || echo '?') s (niced, next to the scenarios)"
done
[ ${#bg_checks[@]} -gt 0 ] && echo "-- background checks: done $(( $(date +%s) - bg_t0 )) s after they started"
if [ -n "${prep_pid[deploy-rootfs]:-}" ]; then
	wait "${prep_pid[deploy-rootfs]}"
	echo "deploy-rootfs: exit $?, $(( $(date +%s) - prep_t0[deploy-rootfs] )) s since the start (log: $build/deploy-rootfs.log)"
fi

echo "-- total: $(( $(date +%s) - t_run )) s"
[ -n "$failures" ] && echo "failed:$failures"
summary
[ "$failed" = 0 ]
