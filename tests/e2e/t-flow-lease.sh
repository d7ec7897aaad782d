#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Leases, end to end. (0) Renewals keep a grant alive past its first
# lease (re-adding an element with an unchanged timeout would not). (1) Red restarts during alice's session: it comes
# back with an empty table; green's next renewal is granted afresh at a
# new port, green moves its fwd_grants element and tells the client, and
# the service answers again at the port the client is told. (2) Green is
# SIGKILLed while a stream (a line every 100 ms) runs through the grant:
# nothing renews it, so red ends the grant at the lease end and cuts the
# flow; the stream stops within one lease (measured against the lease)
# and no new connection opens.
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

FLOWRED_LEASE=15
flowred_init
flowred_green_start
flow_card alice
flow_connect a1 "$FLOW_LAB/users/alice/profile" web stream
flow_wait_session a1
flowred_grant a1 web
wport=$FR_PORT
flowred_grant a1 stream
page=$(flowred_get "$wport") || tb_fail "no page at $wport"
tb_log "ok: web at $wport answers: $page"

tb_log "part 0: renewals keep the grant past its first lease ($((FLOWRED_LEASE * 3 / 2)) s)"
sleep $((FLOWRED_LEASE * 3 / 2))
flowred_get "$wport" >/dev/null || tb_fail "the grant lapsed although green renews it"
n=$(flow_glog "event=grant result=renewed" | grep -c "service=web" || true)
[ "$n" -ge 2 ] || tb_fail "$n renewals of web in 1.5 leases"
tb_log "ok: web still answers after $n renewals"

tb_log "part 1: red restarts during the session"
kill -TERM "$(tb_pid red)"
for _ in $(seq 1 50); do kill -0 "$(tb_pid red)" 2>/dev/null || break; sleep 0.1; done
! flowred_get "$wport" >/dev/null || tb_fail "web answers while red is down"
flowred_red_start
t0=$(date +%s)
moved=
for _ in $(seq 1 $((FLOWRED_LEASE * 10))); do
	moved=$(grep -E "^service web moved to " "$TB_DIR/a1.out" | tail -1)
	[ -z "$moved" ] || break
	sleep 0.1
done
[ -n "$moved" ] || { cat "$TB_DIR/a1.out"; flow_glog "event=grant" | tail; tb_fail "the client was not told a new port for web"; }
nport=$(sed -nE 's/^service web moved to [0-9.]+:([0-9]+) .*/\1/p' <<<"$moved")
tb_log "ok: $(($(date +%s) - t0)) s after red came back the client was told: $moved"
flowred_fwd | grep -q "10.89.0.2 . $nport" || tb_fail "green's fwd_grants has no element for the new port $nport"
page=$(flowred_get "$nport") || tb_fail "no page at the new port $nport"
[ "$page" = "hello from red" ] || tb_fail "unexpected page: $page"
[ "$nport" = "$wport" ] || ! flowred_get "$wport" >/dev/null || tb_fail "the old port $wport still answers"
tb_log "ok: access resumed at the port the client was told ($wport -> $nport)"

tb_log "part 2: SIGKILL green while a stream runs"
for _ in $(seq 1 100); do
	grep -qE "^service stream moved to " "$TB_DIR/a1.out" && break
	sleep 0.1
done
sport=$(grep -E "^service stream (at|moved to) " "$TB_DIR/a1.out" | tail -1 | sed -nE 's/.* ([0-9.]+):([0-9]+) .*/\2/p')
tb_start client s1 "$TB_DIR/s1.out" socat -u "TCP4:10.89.0.2:$sport,connect-timeout=3" STDOUT
sleep 1.5
[ "$(wc -l <"$TB_DIR/s1.out")" -ge 5 ] || tb_fail "the stream at $sport carries nothing"
ngrants=$(flowred_red_map | grep -c . || true)
# The client would notice green's death (its control connection ends) and
# take its tunnel down, which would stop the stream for the wrong reason:
# freeze it, as a client that does not cooperate.
kill -STOP "$(tb_pid a1)"
t0=$(date +%s%N)
kill -KILL "$(tb_pid green)"
tb_log "green SIGKILLed; waiting up to $((FLOWRED_LEASE + 5)) s for the stream to stop"
prev=-1
for _ in $(seq 1 $(((FLOWRED_LEASE + 5) * 2))); do
	n=$(wc -l <"$TB_DIR/s1.out")
	[ "$n" = "$prev" ] && break
	prev=$n
	sleep 0.5
done
sleep 1
n1=$(wc -l <"$TB_DIR/s1.out")
sleep 2
[ "$(wc -l <"$TB_DIR/s1.out")" = "$n1" ] || tb_fail "the stream still runs $((FLOWRED_LEASE + 8)) s after green died"
last=$(tail -1 "$TB_DIR/s1.out" | tr -d .)
cut=$(( (last - t0) / 1000000 ))
tb_log "measure: stream stopped ${cut} ms after SIGKILL (lease ${FLOWRED_LEASE} s; red had $ngrants grant(s))"
[ "$cut" -le $((FLOWRED_LEASE * 1000 + 1000)) ] || tb_fail "stream outlived one lease: ${cut} ms"
[ "$cut" -ge 1000 ] || tb_fail "stream stopped at once (${cut} ms): not the lease that cut it"
for _ in $(seq 1 30); do
	grep -q "event=lease result=ended" "$TB_DIR/red.log" && break
	sleep 0.2
done
grep -q "event=lease result=ended" "$TB_DIR/red.log" || { tail "$TB_DIR/red.log"; tb_fail "red logged no lease end"; }
[ -z "$(flowred_red_map)" ] || tb_fail "red still maps: $(flowred_red_map)"
! tb_exec client timeout 4 socat -u "TCP4:10.89.0.2:$sport,connect-timeout=3" STDOUT 2>/dev/null | grep -q . ||
	tb_fail "a new stream connection opened after the lease"
tb_log "ok: no new connection opens"
kill -CONT "$(tb_pid a1)" 2>/dev/null || true
# green died without cleaning up: its interfaces (wireguard-go) go now
tb_exec green ip link del "$FLOW_GIF" 2>/dev/null || true
tb_exec green ip link del "$(tb_ifname gs0)" 2>/dev/null || true
tb_log "PASS: red restart -> new port told and working; green SIGKILL -> stream cut after ${cut} ms (lease ${FLOWRED_LEASE} s)"
