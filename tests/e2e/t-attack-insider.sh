#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attack battery, red side, on one testbed: alice has a
# live session with web and a stream (a line every 100 ms from red)
# through red; each attack runs against it and must leave the protected
# party whole: no ban element (and no ban record) for the protected
# address, the stream keeps flowing, a fresh grant succeeds afterwards.
#   g  the insider, spoofing a user's tunnel address, sends junk to red's
#      knock port and SYN-scans red: red must ban neither alice's address
#      (live grants) nor bob's (not connected), and bob's later grant works
#   h  the insider, spoofing green's inside address and green's site-link
#      address, floods red's knock ports (inside and site address, 14 s):
#      green's renewals still get through during the flood, and a fresh
#      session's opens; red bans neither address
#   i  the insider replays the second knocks it captured on the inside
#      link (whatever travels there: clear knocks, or WireGuard packets
#      once knocks move into the site link), spoofed from green's address
#      with varied source ports: green must not ban red
#   i2 the attacker outside sends 15 SYNs to closed ports of green,
#      spoofed from red's address: green must not ban red
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

# Renewals every 4 s (a third of the lease): several fall inside each attack.
FLOWRED_LEASE=12
# Green's bans end soon: after a failed attack the next one starts clean.
TB_BAN_TIME=6
flowred_init
flowred_green_start
flow_card alice
green_in=$(tb_addr green in 4)
green_out=$(tb_addr green out 4)
red_in=$(tb_addr red in 4)
alice_t=10.88.1.10
bob_t=$(sed -nE 's/^tunnel_address *= *([0-9.]+).*/\1/p' "$FLOW_LAB/green/users.d/bob.conf")
[ -n "$bob_t" ] || tb_fail "no tunnel address for bob in users.d/bob.conf"
# The insider reaches red's site address through red's inside address.
tb_exec insider ip route replace 10.89.0.0/30 via "$red_in"
ar_session s0 || tb_fail "first session: $AR_WHY"

# Junk knocks and a SYN scan from tunnel address $1, to red's inside
# address and (through it) its site address.
spoof_tunnel() {
	local t=$1 p out
	out=$(ar_spoof insider -s "$t" -n 12 -r 50 -P junk:80 "$red_in" 62202)
	tb_log "junk to red's knock port from $t: $out"
	out=$(ar_spoof insider -s "$t" -n 12 -r 50 -P junk:80 10.89.0.2 62202)
	tb_log "junk to red's site address, knock port, from $t: $out"
	for p in $(seq 1001 1020); do
		ar_spoof insider -s "$t" -t syn -n 1 "$red_in" "$p" >/dev/null
	done
	tb_log "SYN scan of red's ports 1001-1020 from $t sent"
}

# Alice's address while her grants live, and bob's, who is not connected
# (red exempts a live grant's client from bans; bob has none to shield
# him): then bob's later grant must work.
attack_g() {
	local port page
	spoof_tunnel "$alice_t"
	spoof_tunnel "$bob_t"
	sleep 2
	ar_not_banned red "$TB_DIR/red.log" "$alice_t" "$bob_t" || return 1
	ar_stream_flows 3 || { AR_WHY="alice's stream stopped"; return 1; }
	tb_log "ok: red holds no ban of $alice_t or $bob_t, alice's stream flows"
	ar_end_session
	card_stop
	flow_card bob
	flow_connect g-bob "$FLOW_LAB/users/bob/profile" web
	port=$(ar_wait_grant g-bob web 30) || { AR_WHY="bob got no grant of web: $(tail -2 "$TB_DIR/g-bob.out" | tr '\n' ' ')"; return 1; }
	page=$(flowred_get "$port") || { AR_WHY="bob's grant of web at $port: no page (red drops $bob_t?)"; return 1; }
	tb_log "ok: bob's later grant at $port answers: $page"
	kill "$(tb_pid g-bob)" 2>/dev/null || true
	flow_wait_exit g-bob 10 || true
	card_stop
	flow_card alice
	ar_session g || return 1
}

attack_h() {
	local n0 n1 ok=1 k
	n0=$(ar_count "$FLOW_GLOG" 'event=grant result=(renewed|moved|granted)')
	ar_spoof_bg fl1 insider -s "$green_in" -n 28000 -r 2000 -T 14 -P junk:80 "$red_in" 62202
	ar_spoof_bg fl2 insider -s 10.89.0.1 -n 28000 -r 2000 -T 14 -P junk:80 10.89.0.2 62202
	tb_log "flooding red's knock ports from $green_in and 10.89.0.1 (2 x 2000/s, 14 s)"
	for k in 1 2 3; do
		sleep 3
		ar_stream_flows 2 || { ok=0; tb_log "stream stalled at ${k}x3 s into the flood"; }
	done
	# a fresh open, too, while the flood still runs
	if [ "$ok" = 1 ]; then
		ar_session h-during || { ok=0; AR_WHY="a grant asked for during the flood: $AR_WHY"; }
		tb_log "a fresh session during the flood: $([ "$ok" = 1 ] && echo granted || echo failed); the flood $(kill -0 "$(tb_pid fl1)" 2>/dev/null && echo still ran || echo had ended)"
	else
		AR_WHY="alice's stream stalled during the flood"
	fi
	tb_log "flood from $green_in: $(ar_spoof_wait fl1)"
	tb_log "flood from 10.89.0.1: $(ar_spoof_wait fl2)"
	n1=$(ar_count "$FLOW_GLOG" 'event=grant result=(renewed|moved|granted)')
	tb_log "green's grant answers during the flood: $((n1 - n0)) (renewals due every 4 s, and a fresh session's 2 opens)"
	[ "$ok" = 1 ] || return 1
	[ $((n1 - n0)) -ge 4 ] || { AR_WHY="only $((n1 - n0)) grant answers during a 14-s flood (web + stream renewed every 4 s, 2 opens)"; return 1; }
	ar_since "$FLOW_GLOG" | grep -E "event=grant result=(ended|refused)" | tail -2
	ar_not_banned red "$TB_DIR/red.log" "$green_in" 10.89.0.1 || return 1
	ar_stream_flows 3 || { AR_WHY="alice's stream stopped after the flood"; return 1; }
	tb_log "ok: renewals went through the flood, red bans neither of green's addresses"
	ar_session h || return 1
}

attack_i() {
	local sel port nfile k out
	# What an insider tapping the inside link sees of green's second knocks
	# (a mirror port on the switch, towards red).
	# (6 s: at least one renewal of each grant, due every 4 s)
	ar_capture_start switch capk in-red "udp and src host $green_in"
	sleep 6
	ar_capture_stop capk
	sel=$(ar_pcap_payloads "$TB_DIR/capk.pcap" "$TB_DIR/knk" 33 62202 51821)
	[ -n "$sel" ] || { AR_WHY="captured nothing from green to red in 6 s"; return 1; }
	read -r port nfile <<<"$sel"
	tb_log "captured from green to red port $port on the inside link; replaying the $nfile largest ($(for k in $(seq 0 $((nfile - 1))); do printf '%s ' "$(wc -c <"$TB_DIR/knk.$k")"; done)bytes)"
	for k in $(seq 0 $((nfile - 1))); do
		out=$(ar_spoof insider -s "$green_in" -n 12 -r 50 -P "file:$TB_DIR/knk.$k" "$red_in" "$port")
		tb_log "replay $k from $green_in, random source ports: $out"
	done
	sleep 3
	ar_not_banned green "$FLOW_GLOG" "$red_in" 10.89.0.2 || return 1
	ar_stream_flows 3 || { AR_WHY="alice's stream stopped"; return 1; }
	tb_log "ok: green bans no red address, alice's stream flows"
	ar_session i || return 1
}

attack_i2() {
	local p
	for p in $(seq 1001 1015); do
		ar_spoof attacker -s "$red_in" -t syn -n 1 "$green_out" "$p" >/dev/null
	done
	tb_log "15 SYNs from the attacker to green's ports 1001-1015, spoofed from $red_in"
	sleep 2
	ar_not_banned green "$FLOW_GLOG" "$red_in" || return 1
	ar_stream_flows 3 || { AR_WHY="alice's stream stopped"; return 1; }
	tb_log "ok: green bans no red address, alice's stream flows"
	ar_session i2 || return 1
}

ar_run g "insider spoofing users' tunnel addresses: junk knocks + scan of red" attack_g
ar_run h "insider spoofing green (inside + site-link address) floods red's knock port" attack_h
ar_run i "insider replays captured second knocks spoofed from green, varied source ports" attack_i
ar_run i2 "attacker: 15 SYNs to green spoofed from red's address" attack_i2
ar_finish
