#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attack battery, attack j: green's answer port flooded
# with spoofed UDP from red's address, from outside (the attacker) and
# inside (the insider), at once: a real answer of red's, captured on its
# way to green (in clear on the inside link, or inside the site link once
# answers move there), replayed to green's outside, inside and site
# addresses at the answer port it was sent to (a valid signature over an
# answer no longer pending: the most expensive thing to reject), 3 x
# 6000/s for at most 9 s. Alice's stream, running before, must keep
# flowing; fresh sessions opened one after the other during the flood (up
# to three) must get every grant they ask for; no forged answer may
# reach green's daemon (none came through the site link); green must not
# ban red; a fresh grant after it must succeed. Green's CPU over the flood
# is printed (no timing assert).
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
green_out=$(tb_addr green out 4)
red_in=$(tb_addr red in 4)
tb_exec insider ip route replace 10.89.0.0/30 via "$green_in"
ar_session j0 || tb_fail "first session: $AR_WHY"

attack_j() {
	local sel aport n n0 _ gpid t0 t1 c0 c1 hz busy running k ok=1 recs
	# One of red's answers, as it reaches green (any interface of green's).
	ar_capture_start green capa any "udp and (src host $red_in or src host 10.89.0.2) and not port 51821"
	n0=$(ar_count "$FLOW_GLOG" 'event=grant result=(renewed|moved)')
	for _ in $(seq 1 100); do
		n=$(ar_count "$FLOW_GLOG" 'event=grant result=(renewed|moved)')
		[ "$n" -gt "$n0" ] && break
		sleep 0.1
	done
	sleep 0.5
	ar_capture_stop capa
	sel=$(ar_pcap_payloads "$TB_DIR/capa.pcap" "$TB_DIR/ans" 40 62203 any)
	[ -n "$sel" ] || { AR_WHY="captured no answer from red to green"; return 1; }
	read -r aport _ <<<"$sel"
	tb_log "captured one of red's answers to green's port $aport ($(wc -c <"$TB_DIR/ans.0") bytes)"

	gpid=$(tb_pid green)
	hz=$(getconf CLK_TCK)
	c0=$(ar_cpu_ticks "$gpid")
	t0=$(date +%s%N)
	ar_spoof_bg fo attacker -s "$red_in" -n 54000 -r 6000 -T 9 -P "file:$TB_DIR/ans.0" "$green_out" "$aport"
	ar_spoof_bg fn insider -s "$red_in" -n 54000 -r 6000 -T 9 -P "file:$TB_DIR/ans.0" "$green_in" "$aport"
	ar_spoof_bg fs insider -s 10.89.0.2 -n 54000 -r 6000 -T 9 -P "file:$TB_DIR/ans.0" 10.89.0.1 "$aport"
	tb_log "flooding green's answer port $aport from red's addresses: outside, inside, site (3 x 6000/s, <= 9 s)"
	for k in 1 2; do
		sleep 1
		ar_stream_flows 2 || { ok=0; tb_log "alice's stream stalled ${k} s into the flood"; }
	done
	[ "$ok" = 0 ] || tb_log "ok: alice's stream flows during the flood"
	if [ "$ok" = 1 ]; then
		# fresh sessions, one after the other, while the flood runs (at
		# least one, at most three): every grant must come
		for k in 1 2 3; do
			[ "$k" = 1 ] || kill -0 "$(tb_pid fo)" 2>/dev/null || break
			tb_log "fresh session $k asks for web and stream during the flood"
			ar_session "j1-$k" || { ok=0; AR_WHY="grant asked for during the flood (session $k): $AR_WHY"; break; }
		done
	else
		AR_WHY="alice's stream stalled during the flood"
	fi
	running=0
	for k in fo fn fs; do kill -0 "$(tb_pid "$k")" 2>/dev/null && running=$((running + 1)); done
	tb_log "$running of 3 floods still ran when the last grant was decided"
	for k in fo fn fs; do tb_log "flood $k: $(ar_spoof_wait "$k")"; done
	t1=$(date +%s%N)
	c1=$(ar_cpu_ticks "$gpid")
	busy=$(( (c1 - c0) * 100000 / hz / ((t1 - t0) / 1000000) ))
	tb_log "measure: green's CPU over the flood: $((c1 - c0)) ticks in $(( (t1 - t0) / 1000000 )) ms = ${busy}% of one core"
	recs=$(ar_since "$FLOW_GLOG" | grep -c 'event=red_answer' || true)
	tb_log "green's daemon logged $recs red_answer records (one per answer it read and dropped) during the attack"
	[ "$ok" = 1 ] || return 1
	# The forged answers came from outside and the inside network, never
	# through the site link: none may reach green's daemon (a few records
	# are red's own answers resent).
	[ "$recs" -le 50 ] || { AR_WHY="$recs forged answers reached green's daemon (its answer port is open off the site link)"; return 1; }
	[ "$running" -gt 0 ] || tb_log "note: the floods ended before the grant came (slow machine)"
	ar_not_banned green "$FLOW_GLOG" "$red_in" 10.89.0.2 || return 1
	ar_stream_flows 3 || { AR_WHY="the stream of the session granted during the flood stopped"; return 1; }
	tb_log "ok: green bans no red address; the stream granted during the flood flows"
	ar_session j2 || { AR_WHY="fresh grant after the flood: $AR_WHY"; return 1; }
}

ar_run j "answer port flooded with red's signed answer, spoofed from red's addresses (outside + inside)" attack_j
ar_finish
