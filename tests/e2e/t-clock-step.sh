#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Wall-clock steps: green and red run under libfaketime with
# their monotonic clock left alone (FAKETIME_DONT_FAKE_MONOTONIC) and a
# timestamp file the test rewrites, so only THEIR wall clock steps (never
# the machine's). Alice's session (max_lifetime 90 s) and her web grant
# (lease 10 s) are live; then:
#   A  both daemons' clocks step back 1 h, then forward 1 h (2 h jump):
#      the grant is renewed across both steps and keeps answering,
#      nothing ends (no session, grant or lease end record), green's
#      fwd_grants element never gets more than one lease;
#   B  clocks back 1 h again, green's knocks to red blocked (a table of
#      the test's own in red's namespace): red ends the lease by itself
#      within one lease of the last renewal (event=lease result=ended);
#      unblocked, green's next renewal is granted afresh;
#   C  the session ends for reason=lifetime at 90 s of monotonic time
#      after it went live, not an hour late (step back) nor early (step
#      forward), and its grant closes in that same step.
# Each check fails if the daemons used the wall clock for it (break
# kg_sess's clock, red's kg_grants_expire time or before_start's frame:
# the test fails).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-card.sh
. "$here/lib-card.sh"
# shellcheck source=tests/e2e/lib-flow.sh
. "$here/lib-flow.sh"
# shellcheck source=tests/e2e/lib-red.sh
. "$here/lib-red.sh"
# shellcheck source=tests/e2e/lib-flow-red.sh
. "$here/lib-flow-red.sh"
card_reexec "$@"

FT_LIB=
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 \
	/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1 \
	/usr/lib/faketime/libfaketime.so.1; do
	[ -r "$f" ] && { FT_LIB=$f; break; }
done
[ -n "$FT_LIB" ] || tb_skip "libfaketime missing (Debian package faketime)"

FLOWRED_LEASE=10
LIFETIME=90
FLOW_SESSION="max_lifetime = $LIFETIME"

# ft CMD...: CMD with a wall clock the test steps through $TB_DIR/clock.rc
# (re-read at every call) and the real monotonic clock. ASan would refuse
# a preloaded library ahead of its runtime.
ft_wrapper() {
	[ -x "$TB_DIR/ft" ] && return 0
	printf '+0\n' >"$TB_DIR/clock.rc"
	cat >"$TB_DIR/ft" <<EOF
#!/bin/sh
export LD_PRELOAD="$FT_LIB"
export FAKETIME_TIMESTAMP_FILE="$TB_DIR/clock.rc"
export FAKETIME_NO_CACHE=1
export FAKETIME_DONT_FAKE_MONOTONIC=1
export DONT_FAKE_MONOTONIC=1
export ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0"
exec "\$@"
EOF
	chmod +x "$TB_DIR/ft"
}

# Both daemons start under ft (the library functions, redefined here).
tb_green_start() {
	ft_wrapper
	tb_start green green "$2" "$TB_DIR/ft" "$KG_BUILD/green/knockgate-green" -f -c "$1"
	tb_wait_ready "$2"
}
flowred_red_start() {
	ft_wrapper
	RED_MAX_LEASE=$FLOWRED_LEASE red_conf "$TB_DIR/red.conf" "$FLOW_LAB"
	tb_start red red "$TB_DIR/red.log" "$TB_DIR/ft" "$RED_BIN" -c "$TB_DIR/red.conf"
	tb_wait_ready "$TB_DIR/red.log"
}

step() {
	printf '%s\n' "$1" >"$TB_DIR/clock.rc"
	tb_log "daemons' wall clock now at real time $1"
}

# now_ms: the test's own (real) clock.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# last_stamp LOG REGEX: the wall time (s) the daemon put on its last record
# matching REGEX.
last_stamp() {
	local l
	l=$(grep -E -- "$2" "$1" | tail -1 | cut -d' ' -f1)
	[ -n "$l" ] || { echo 0; return; }
	date -d "$l" +%s
}

# wait_new LOG REGEX N T: waits up to T s for more than N lines matching.
wait_new() {
	local _
	for _ in $(seq 1 $(($4 * 10))); do
		[ "$(grep -cE -- "$2" "$1" || true)" -gt "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

count() { grep -cE -- "$2" "$1" || true; }

# The fwd_grants element's seconds left (nft prints "expires 9s874ms").
fwd_expires() {
	local e
	e=$(flowred_fwd | grep -oE 'expires ([0-9]+m)?[0-9]+s' | head -1 | sed 's/expires //')
	[ -n "$e" ] || { echo -1; return; }
	case $e in
	*m*) echo $((${e%%m*} * 60 + $(sed -E 's/.*m([0-9]+)s/\1/' <<<"$e"))) ;;
	*) echo "${e%s}" ;;
	esac
}

ended_re='event=session result=ended'
gend_re='event=grant result=(ended|closed)'
lend_re='event=lease result=ended'
renew_re='event=grant result=renewed'

flowred_init
flowred_green_start
flow_card alice
flow_connect a1 "$FLOW_LAB/users/alice/profile" web
flow_wait_session a1
t_live=$(now_ms)
flowred_grant a1 web
wport=$FR_PORT
flowred_get "$wport" >/dev/null || tb_fail "no page at $wport"
tb_log "session live, web granted at $wport (lease $FLOWRED_LEASE s, lifetime $LIFETIME s)"
# roaming's kernel side: the client's WireGuard packets mark its source
# seen (green frees a roaming slot only for a source absent from it)
csrc=$(tb_addr client out 4)
tb_exec green nft list set inet knockgate wg_seen4 | grep -qF "$csrc" ||
	tb_fail "wg_seen4 does not hold the client's source $csrc"

tb_log "part A: wall clock back 1 h, then forward 1 h, while session and grant live"
for off in -1h +1h; do
	n=$(count "$FLOW_GLOG" "$renew_re")
	step "$off"
	# two renewals at the stepped clock (one every third of a lease)
	wait_new "$FLOW_GLOG" "$renew_re" $((n + 1)) $((FLOWRED_LEASE + 5)) ||
		{ tail -20 "$FLOW_GLOG"; tail -20 "$TB_DIR/red.log"; tb_fail "no renewal after the step to $off"; }
	# the daemons really run on the stepped clock (else this test proves
	# nothing): their records are stamped about 1 h off
	real=$(date +%s)
	for log in "$FLOW_GLOG" "$TB_DIR/red.log"; do
		st=$(last_stamp "$log" '.')
		d=$((st - real))
		case $off in
		-1h) [ "$d" -le -3500 ] && [ "$d" -ge -3700 ] ;;
		+1h) [ "$d" -ge 3500 ] && [ "$d" -le 3700 ] ;;
		esac || tb_fail "$log is stamped $d s from real time at $off: faketime not in effect"
	done
	sleep $((FLOWRED_LEASE + 2))
	page=$(flowred_get "$wport") || tb_fail "web at $wport stopped answering after the step to $off"
	[ "$page" = "hello from red" ] || tb_fail "unexpected page: $page"
	left=$(fwd_expires)
	[ "$left" -ge 0 ] && [ "$left" -le "$FLOWRED_LEASE" ] ||
		tb_fail "green's fwd_grants element has $left s left at $off (lease $FLOWRED_LEASE s)"
	[ "$(count "$FLOW_GLOG" "$ended_re")" = 0 ] || tb_fail "a session ended after the step to $off: $(flow_glog "$ended_re")"
	[ "$(count "$FLOW_GLOG" "$gend_re")" = 0 ] || tb_fail "a grant ended after the step to $off: $(flow_glog "$gend_re")"
	[ "$(count "$TB_DIR/red.log" "$lend_re")" = 0 ] || tb_fail "red ended a lease after the step to $off"
	grep -q "reason=before_start" "$TB_DIR/red.log" && tb_fail "red refused a renewal as before_start at $off"
	tb_log "ok: at $off: renewed ($(count "$FLOW_GLOG" "$renew_re") renewals so far), web answers, fwd_grants $left s left, nothing ended"
done

tb_log "part B: clock back 1 h, green's knocks to red blocked: red must end the lease itself"
step -1h
# the test's own table in red's namespace, ahead of red's: drops green's
# knocks (on the inside link or inside the site link alike)
tb_exec red nft -f - <<'NFT'
table inet kgclocktest {
	chain input {
		type filter hook input priority -300; policy accept;
		udp dport 62202 drop
	}
}
NFT
t_block=$(now_ms)
wait_new "$TB_DIR/red.log" "$lend_re" 0 $((FLOWRED_LEASE + 10)) ||
	{ tb_exec red nft delete table inet kgclocktest; tail -20 "$TB_DIR/red.log"; tb_fail "red did not end the lease within $((FLOWRED_LEASE + 10)) s of green going silent (clock stepped back)"; }
t_end=$(now_ms)
cut=$((t_end - t_block))
tb_log "measure: red ended the lease ${cut} ms after green's renewals stopped (lease $FLOWRED_LEASE s)"
[ "$cut" -le $((FLOWRED_LEASE * 1000 + 3000)) ] || tb_fail "the lease outlived its monotonic timeout: ${cut} ms"
tb_exec red nft delete table inet kgclocktest
n=$(count "$FLOW_GLOG" 'event=grant result=(moved|renewed)')
wait_new "$FLOW_GLOG" 'event=grant result=(moved|renewed)' "$n" $((FLOWRED_LEASE + 5)) ||
	{ tail -20 "$FLOW_GLOG"; tail -20 "$TB_DIR/red.log"; tb_fail "green's renewal was not granted again after the block"; }
tb_log "ok: unblocked, green's renewal is granted again"

tb_log "part C: the session must end at its $LIFETIME s lifetime (monotonic), clock still 1 h back"
wait_new "$FLOW_GLOG" "$ended_re" 0 $((LIFETIME + 20)) ||
	{ tail -20 "$FLOW_GLOG"; tb_fail "the session outlived its lifetime ($LIFETIME s) by 20 s"; }
t_gone=$(now_ms)
age=$((t_gone - t_live))
line=$(flow_glog "$ended_re" | tail -1)
tb_log "measure: session ended ${age} ms after it went live: $line"
case $line in *reason=lifetime*) ;; *) tb_fail "session ended for another reason: $line" ;; esac
[ "$age" -ge $(((LIFETIME - 3) * 1000)) ] || tb_fail "session ended early: ${age} ms < lifetime $LIFETIME s"
[ "$age" -le $(((LIFETIME + 8) * 1000)) ] || tb_fail "session outlived its lifetime: ${age} ms"
wait_new "$FLOW_GLOG" 'event=grant result=closed reason=session_end' 0 5 ||
	tb_fail "the session's grant was not closed with it"
# in the same step that ended the session (before its end record), not at
# the grants' next tick
prev=$(grep -B1 -E "$ended_re" "$FLOW_GLOG" | head -1)
case $prev in *"event=grant result=closed reason=session_end"*) ;;
*) tb_fail "the grant was not closed in the step that ended the session: $prev" ;; esac
# and nothing of it stays in green's kernel state
for _ in $(seq 1 30); do
	[ -z "$(flow_green_peers)$(flow_green_elems)$(flowred_fwd)" ] && break
	sleep 0.1
done
[ -z "$(flow_green_peers)" ] || tb_fail "green still has a WireGuard peer after the session ended"
[ -z "$(flow_green_elems)" ] || tb_fail "green's table still holds: $(flow_green_elems)"
[ -z "$(flowred_fwd)" ] || tb_fail "green still forwards: $(flowred_fwd)"
step +0
tb_log "PASS: steps of -1 h / +1 h: grant renewed throughout, red's lease ended ${cut} ms after renewals stopped (lease $FLOWRED_LEASE s), session ended at ${age} ms (lifetime $LIFETIME s)"
