#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attack battery, faults at red, on one testbed with
# alice's live session (web + stream) through red:
#   k  red is SIGKILLed (outside any service manager): its wireguard-go is
#      orphaned and keeps the site interface; red is started again. While
#      all this happens the insider probes red's real service ports (8080,
#      8081 on red's inside address) without pause: none may ever answer
#      (the host must never fail open). Red must recover by itself (take
#      over or remove the orphaned interface, reach ready) and a fresh
#      grant must work.
#   l  red is restarted (SIGTERM, 2 s down, start) while green is
#      resending a renewal, 5 times, each aimed at a renewal: the grant
#      must never end silently: green logs no `event=grant result=ended`,
#      and after each restart web answers at the port the client was last
#      told (MOVED, or the same grant continuing). How often the race was
#      hit (red refused a knock as before_start) is printed.
# Red restarting starts from an empty table, which cuts flows through the
# old grant by design: the streams checked here are the fresh ones.
# One "ATTACK <id>: PASS|FAIL" line each; exit 1 if any failed.
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
# shellcheck source=tests/e2e/lib-attack.sh
. "$here/lib-attack.sh"
card_reexec "$@"
ar_need

FLOWRED_LEASE=12
TB_BAN_TIME=6
flowred_init
flowred_green_start
flow_card alice
green_in=$(tb_addr green in 4)
red_in=$(tb_addr red in 4)
rs_if=$(tb_ifname rs0)
RED_LOG=$TB_DIR/red.log
ar_session s0 || tb_fail "first session: $AR_WHY"

now_ms() { date +%s%3N; }

# The insider's probe of red's real service ports, one line per try.
printf '#!/bin/sh\nwhile :; do\n for p in 8080 8081; do\n  if timeout 2 socat -T1 /dev/null TCP4:%s:$p,connect-timeout=0.3 >/dev/null 2>&1; then\n   echo "$(date +%%T.%%N) $p OPEN"\n  else\n   echo "$(date +%%T.%%N) $p dark"\n  fi\n done\n sleep 0.05\ndone\n' \
	"$red_in" >"$TB_DIR/probe.sh"
chmod +x "$TB_DIR/probe.sh"

# red_start LOG: red again under the name "red"; 0 once ready, 1 if it
# exits or is not ready within 30 s. RED_START_MS: how long it took.
red_start() {
	local log=$1 t0 _
	t0=$(now_ms)
	RED_LOG=$log
	tb_start red red "$log" "$RED_BIN" -c "$TB_DIR/red.conf"
	for _ in $(seq 1 300); do
		grep -q 'event=ready' "$log" 2>/dev/null && { RED_START_MS=$(($(now_ms) - t0)); return 0; }
		kill -0 "$(tb_pid red)" 2>/dev/null || break
		sleep 0.1
	done
	RED_START_MS=$(($(now_ms) - t0))
	return 1
}

# Whatever a failed attack left at red goes: orphaned wireguard-go
# processes of red's namespace (ours: the testbed started them), the
# interface, then red starts afresh.
red_recover() {
	local p
	tb_stop red KILL 2>/dev/null || true
	for p in $(ip netns pids "$(tb_ns red)"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = wireguard-go ] && kill -KILL "$p" 2>/dev/null
	done
	sleep 0.5
	tb_exec red ip link del "$rs_if" 2>/dev/null || true
	red_start "$TB_DIR/red-recover-$1.log" || tb_fail "red does not start even after the orphans went: $(tail -3 "$RED_LOG")"
	tb_log "red recovered by hand after attack $1"
}

attack_k() {
	local rpid wgs p n open ok=0 _
	tb_start insider probe "$TB_DIR/probe.log" "$TB_DIR/probe.sh"
	sleep 1
	rpid=$(tb_pid red)
	wgs=$(ps -o pid= --ppid "$rpid" | tr -d ' ' | tr '\n' ' ')
	kill -KILL "$rpid"
	for _ in $(seq 1 50); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$TB_DIR/red.pid"
	tb_exec red ip link show "$rs_if" >/dev/null 2>&1 ||
		{ AR_WHY="no orphaned site interface after SIGKILL: the fault was not reproduced"; tb_stop probe KILL; return 1; }
	tb_log "red SIGKILLed; its wireguard-go ($wgs) is orphaned and holds $rs_if"
	sleep 1
	if red_start "$TB_DIR/red-k.log"; then
		ok=1
		tb_log "red started again over the orphan: ready after $RED_START_MS ms"
	else
		tb_log "red's second start failed after $RED_START_MS ms: $(grep -vE 'event=(sknock|ban)' "$RED_LOG" | tail -2 | tr '\n' ' ')"
	fi
	sleep 4
	tb_stop probe KILL || true
	n=$(grep -c . "$TB_DIR/probe.log" || true)
	open=$(grep -c OPEN "$TB_DIR/probe.log" || true)
	tb_log "the insider probed red's 8080/8081 $n times: $open answered"
	[ "$open" = 0 ] || { AR_WHY="red's real service port answered the insider $open times (first: $(grep -m1 OPEN "$TB_DIR/probe.log"))"; return 1; }
	[ "$n" -ge 8 ] || { AR_WHY="only $n probes: the probe did not run"; return 1; }
	[ "$ok" = 1 ] || { AR_WHY="red did not recover from the orphaned interface (not ready)"; return 1; }
	tb_log "wireguard-go in red's namespace now: $(for p in $(ip netns pids "$(tb_ns red)"); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = wireguard-go ] && printf '%s ' "$p"; done)"
	ar_not_banned red "$RED_LOG" "$green_in" 10.89.0.1 || return 1
	ar_session k || return 1
}

attack_l() {
	local i x n0 target kill_at stop_ms=300 start_ms=400 off t web hit hits=0 ended0 ended fails=0 m0 m1 port page g0 _
	ended0=$(ar_count "$FLOW_GLOG" 'event=grant result=ended')
	for i in 1 2 3 4 5; do
		# a renewal answered: the next one is due a third of a lease later
		n0=$(ar_count "$FLOW_GLOG" 'event=grant result=(renewed|moved)')
		for _ in $(seq 1 200); do
			[ "$(ar_count "$FLOW_GLOG" 'event=grant result=(renewed|moved)')" -gt "$n0" ] && break
			sleep 0.05
		done
		x=$(now_ms)
		# aim red's new start ~1 s after that renewal's first send (its
		# timestamp then predates red's start) and its ready before
		# green's last resend (1.5 s after the first)
		off=$((1300 - start_ms))
		[ "$off" -gt 1000 ] && off=1000
		[ "$off" -lt 200 ] && off=200
		target=$((x + FLOWRED_LEASE * 1000 / 3 + off))
		kill_at=$((target - 2000 - stop_ms))
		t=$(( kill_at - $(now_ms) ))
		[ "$t" -le 0 ] || sleep "$(printf '%d.%03d' $((t / 1000)) $((t % 1000)))"
		web=$(ar_port "$AR_SESSION" web)
		m0=$(ar_count "$TB_DIR/$AR_SESSION.out" '^service web moved to ')
		g0=$(wc -l <"$FLOW_GLOG")
		t=$(now_ms)
		tb_stop red TERM || true
		stop_ms=$(($(now_ms) - t))
		sleep 2
		red_start "$TB_DIR/red-l$i.log" || { AR_WHY="red did not start again (restart $i)"; return 1; }
		start_ms=$RED_START_MS
		# the renewal green was resending meets the new red; give green up
		# to a lease to settle
		for _ in $(seq 1 $((FLOWRED_LEASE * 10))); do
			m1=$(ar_count "$TB_DIR/$AR_SESSION.out" '^service web moved to ')
			ended=$(ar_count "$FLOW_GLOG" 'event=grant result=ended')
			[ "$m1" -gt "$m0" ] || [ "$ended" -gt "$ended0" ] && break
			sleep 0.1
		done
		# the other service's answer comes in the same moment
		sleep 1
		ended=$(ar_count "$FLOW_GLOG" 'event=grant result=ended')
		hit=$(ar_count "$RED_LOG" 'reason=before_start')
		[ "$hit" -gt 0 ] && hits=$((hits + 1))
		port=$(ar_port "$AR_SESSION" web)
		page=$(flowred_get "$port" 2>/dev/null) || page=
		tb_log "restart $i: red down $((stop_ms + 2000)) ms, ready after $start_ms ms; before_start refusals: $hit; web $web -> $port; page: ${page:-none}; green: $(tail -n +"$((g0 + 1))" "$FLOW_GLOG" | grep -oE 'event=grant result=[a-z]+' | sort | uniq -c | awk '{printf "%s x%s, ", $3, $1}')grants ended: $((ended - ended0))"
		if [ "$ended" -gt "$ended0" ] || [ "$page" != "hello from red" ]; then
			fails=$((fails + 1))
			tail -n +"$((g0 + 1))" "$FLOW_GLOG" | grep -E 'event=grant result=ended' | tail -2 | sed 's/^.*event=/  green: event=/'
			ar_session "l$i-again" || { AR_WHY="no session after restart $i: $AR_WHY"; return 1; }
			ended0=$(ar_count "$FLOW_GLOG" 'event=grant result=ended')
		fi
	done
	tb_log "the race (a renewal resent across red's restart, refused as before_start) was hit in $hits of 5 restarts"
	[ "$fails" = 0 ] || { AR_WHY="the grant ended without notice (or web stopped answering at the port the client was told) in $fails of 5 restarts (race hit $hits times)"; return 1; }
	ar_not_banned red "$RED_LOG" "$green_in" 10.89.0.1 || return 1
	ar_not_banned green "$FLOW_GLOG" "$red_in" 10.89.0.2 || return 1
	ar_session l || return 1
}

# The failure of k leaves no red running: recover it before ar_run
# re-establishes alice's session.
attack_k_then_recover() {
	local rc=0
	attack_k || rc=$?
	grep -q 'event=ready' "$RED_LOG" 2>/dev/null && kill -0 "$(tb_pid red)" 2>/dev/null ||
		red_recover k
	return "$rc"
}

ar_run k "red SIGKILLed, orphaned wireguard-go holds the site interface, red started again" attack_k_then_recover
ar_run l "red restarted (2 s) while green resends a renewal, 5 times" attack_l
ar_finish
