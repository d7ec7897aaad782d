#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The paper's five steps end to end: alice knocks, tunnels, proves her
# card and asks for "web"; green knocks on red (signed), red grants a port
# and green forwards alice's tunnel address to red's site address at that
# port only. Checked: the page comes through the tunnel at the granted
# port and nowhere else (not red's real port, not another pool port, not
# from the attacker outside, not from the insider spoofing alice's tunnel
# address); bob, authenticated, is refused "stream" (not in his policy);
# `knockgate close` ends it: the open connection is cut, the port no longer
# answers, red's map and green's fwd_grants are empty. Prints the time
# from service request to grant as the client saw it.
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

flowred_init
flowred_green_start
prof=$FLOW_LAB/users/alice/profile

tb_log "check: before any session, red's site address answers nothing from the client"
! tb_exec client curl -s --connect-timeout 2 -m 3 http://10.89.0.2:8080/ >/dev/null ||
	tb_fail "red reachable without a session"

tb_log "step i-iv: alice connects and asks for web (-v)"
flow_card alice
flow_connect a1 "$prof" -v web
flow_wait_session a1
flowred_grant a1 web
ms=$(sed -nE 's/.*granted after ([0-9]+) ms.*/\1/p' "$TB_DIR/a1.out" | tail -1)
tb_log "measure: service request -> grant as seen by the client: ${ms} ms"
for step in "card:" "service:"; do
	grep -q "knockgate connect: $step" "$TB_DIR/a1.out" || { cat "$TB_DIR/a1.out"; tb_fail "-v does not show the $step step"; }
done
[ "$FR_ADDR" = 10.89.0.2 ] || tb_fail "grant names $FR_ADDR, not red's site address"

tb_log "check: the page comes through the tunnel at the granted port $FR_PORT"
page=$(flowred_get "$FR_PORT") || tb_fail "no page at the granted port"
[ "$page" = "hello from red" ] || tb_fail "unexpected page: $page"
flowred_fwd | grep -q "10.88.1.10 . 10.89.0.2 . $FR_PORT" || tb_fail "no fwd_grants element on green"
flowred_red_map | grep -q "10.88.1.10 . $FR_PORT" || tb_fail "no grant on red"
flow_glog "event=grant result=granted" | grep -q "service=web" || tb_fail "no grant record on green"
# Grant records name the user as session records do (KG_USER= in the journal).
flow_glog "event=grant result=granted reason=[a-z_]+ user=alice session=[0-9a-f]{16} service=web" | grep -q . ||
	{ flow_glog "event=grant"; tb_fail "green's grant record does not name user=alice"; }

tb_log "check: only at the granted port (not red's real port 8080, not port $((FR_PORT + 1)))"
! flowred_get 8080 >/dev/null || tb_fail "red's real port reachable"
! flowred_get $((FR_PORT + 1)) >/dev/null || tb_fail "a port next to the grant reachable"

tb_log "check: the attacker outside reaches neither red's site address nor its inside address"
tb_exec attacker ip route replace 10.89.0.0/30 via "$(tb_addr green out 4)" 2>/dev/null || true
tb_exec attacker ip route replace "$(tb_addr red in 4)/32" via "$(tb_addr green out 4)" 2>/dev/null || true
! flowred_get attacker "$FR_PORT" >/dev/null || tb_fail "attacker reached the grant"
! tb_exec attacker curl -s --connect-timeout 2 -m 3 "http://$(tb_addr red in 4):8080/" >/dev/null ||
	tb_fail "attacker reached red's web server through green"

tb_log "check: the insider spoofing alice's tunnel address reaches nothing on red"
tb_exec insider ip addr add 10.88.1.10/32 dev lo 2>/dev/null || true
tb_exec insider ip route replace 10.89.0.2/32 via "$(tb_addr red in 4)" 2>/dev/null || true
! tb_exec insider curl -s --interface 10.88.1.10 --connect-timeout 2 -m 3 "http://10.89.0.2:$FR_PORT/" >/dev/null ||
	tb_fail "insider with alice's tunnel address reached the grant"
! tb_exec insider curl -s --interface 10.88.1.10 --connect-timeout 2 -m 3 "http://$(tb_addr red in 4):$FR_PORT/" >/dev/null ||
	tb_fail "insider with alice's tunnel address reached red's inside address"

tb_log "check: bob (authenticated, web only) is refused stream"
kill "$(tb_pid a1)" 2>/dev/null || true
flow_wait_exit a1 10 || tb_fail "connect a1 did not end on SIGTERM"
card_stop
flow_card bob
if flow_connect_once "$FLOW_LAB/users/bob/profile" --pin-file "$FLOW_PIN" stream; then
	cat "$TB_DIR/once.out"
	tb_fail "bob was granted stream"
fi
grep -q "service stream: not_allowed" "$TB_DIR/once.out" || { cat "$TB_DIR/once.out"; tail -25 "$FLOW_GLOG"; tb_fail "bob's refusal does not say not_allowed"; }
tb_log "ok: bob refused: $(grep 'service stream' "$TB_DIR/once.out")"
flow_assert_nothing_open "after bob's refusal"

tb_log "step v: alice with web and stream; an open stream connection is cut by close"
card_stop 2>/dev/null || true
flow_card alice
flow_connect a3 "$prof" web stream
flow_wait_session a3
flowred_grant a3 stream
sport=$FR_PORT
tb_start client s1 "$TB_DIR/s1.out" socat -u "TCP4:10.89.0.2:$sport,connect-timeout=3" STDOUT
for _ in $(seq 1 150); do
	[ "$(wc -l <"$TB_DIR/s1.out")" -ge 5 ] && break
	sleep 0.1
done
n1=$(wc -l <"$TB_DIR/s1.out")
[ "$n1" -ge 5 ] || tb_fail "the stream carries nothing ($n1 lines in 15 s)"
t0=$(date +%s%N)
# No fallback: a `knockgate close` that fails, or returns without ending
# the session, fails the test (connect must end because of it).
tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" "$FLOW_KG" close --ifname "$FLOW_CIF" >"$TB_DIR/close.out" 2>&1 ||
	{ cat "$TB_DIR/close.out"; tb_fail "knockgate close failed"; }
flow_wait_exit a3 10 || tb_fail "connect did not end on close"
sid3=$(flow_session_id a3)
tb_wait_log "$FLOW_GLOG" "event=session result=ended reason=close user=alice session=$(flow_sid_re "$sid3")" 5 ||
	{ tail -8 "$FLOW_GLOG"; tb_fail "green did not end session $sid3 as close"; }
# Red cuts the connection when green's close reaches it: sample the
# stream after that, so what follows measures a cut stream, not the race.
tb_wait_log "$TB_DIR/red.log" "event=conntrack.*result=cut" 15 || tb_fail "red logged no conntrack cut"
sleep 1
n2=$(wc -l <"$TB_DIR/s1.out")
sleep 2
n3=$(wc -l <"$TB_DIR/s1.out")
[ "$n3" = "$n2" ] || tb_fail "the stream still runs after close ($n2 -> $n3 lines)"
last=$(tail -1 "$TB_DIR/s1.out" | tr -d .)
tb_log "measure: the stream's last line left red $(( (last - t0) / 1000000 )) ms after 'knockgate close' was run"
# Both daemons remove the grant when they handle the close; a loaded
# machine may take seconds to get there.
for _ in $(seq 1 150); do
	[ -z "$(flowred_red_map)$(flowred_fwd)" ] && break
	sleep 0.1
done
[ -z "$(flowred_fwd)" ] || tb_fail "green still forwards: $(flowred_fwd)"
[ -z "$(flowred_red_map)" ] || tb_fail "red still maps: $(flowred_red_map)"
grep -q "event=conntrack.*result=cut" "$TB_DIR/red.log" || tb_fail "red logged no conntrack cut"
flow_glog "event=grant result=closed" | grep -q "user=alice .*service=stream" || tb_fail "green logged no close for alice"
! tb_exec client curl -s --connect-timeout 2 -m 3 "http://10.89.0.2:$sport/" >/dev/null ||
	tb_fail "the stream port answers after close"
flow_assert_nothing_open "after close"
tb_log "PASS: five steps; grant only at the port, only for alice, cut at close (request->grant ${ms} ms)"
