#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Steps i and ii end to end with the real green: before the knock green's
# WireGuard port is dark to the client; junk knocks stay in the kernel
# (key-id pre-filter: counted, no ban); a scan bans the client and its
# valid knock (which passes the banned source's drop) lifts the ban; `knockgate connect` knocks, green
# opens the WireGuard port for the client's address and adds its key as a
# pending peer (nft elements wg_open4 + peers_pending, WireGuard peer with
# allowed-ips 10.88.1.10/32); the tunnel comes up; through it the client
# reaches green's control port on 10.88.0.1 and nothing else (another
# port on 10.88.0.1, green's outside address, red). Green logs its own
# processing time per knock (us=); every element times out within one
# lease; the same over IPv6; SIGTERM removes the interface and leaves the
# dark table (no openings).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-knock.sh
. "$here/lib-knock.sh"

tb_init
tb_up
knock_setup
cif=$(tb_ifname cwg)
green=$(tb_addr green)

tb_log "check: green owns $GWG with the lab's key, port 51820, 10.88.0.1/16"
[ "$(tb_exec green wg show "$GWG" public-key)" = "$(cat "$LAB/green/wg.pub")" ] ||
	tb_fail "green's interface has another public key"
[ "$(tb_exec green wg show "$GWG" listen-port)" = 51820 ] || tb_fail "wrong listen port"
tb_exec green ip -4 addr show dev "$GWG" | grep -q '10.88.0.1/16' || tb_fail "no 10.88.0.1/16 on $GWG"
[ -z "$(tb_exec green wg show "$GWG" peers)" ] || tb_fail "peers before any knock"

tb_log "check: before the knock the WireGuard port is dark: the table drops it"
tb_udp_probe client "$green" 51820 && tb_fail "WireGuard port answered before a knock"
tb_wait_log "$GREEN_LOG" "event=drop src=$(tb_addr client) proto=udp dport=51820" 3 ||
	tb_fail "datagram to 51820 was not dropped by the table"
knock_nft_has wg_open4 "$(tb_addr client)" && tb_fail "wg_open4 has the client before any knock"

tb_log "check: junk knocks from the client's own address are dropped in the kernel, ban nothing"
d0=$(tb_exec green nft list counter inet knockgate knock_prefilter_drop | awk '/packets/ { print $2 }')
for _ in $(seq 1 7); do tb_udp_send client "$green" 62201 "junk-knock-junk-knock"; done
sleep 1
d1=$(tb_exec green nft list counter inet knockgate knock_prefilter_drop | awk '/packets/ { print $2 }')
[ $((d1 - d0)) = 7 ] || tb_fail "knock_prefilter_drop went $d0 -> $d1 for 7 junk knocks"
grep -q "event=ban result=banned src=$(tb_addr client)" "$GREEN_LOG" && tb_fail "junk banned the client"
tb_log "check: a scan from the client's own address gets it banned"
command -v nmap >/dev/null || tb_skip "nmap missing"
tb_exec client nmap -sS --max-retries 0 -n -Pn -p 1-11 "$green" >/dev/null
tb_wait_log "$GREEN_LOG" "event=ban result=banned src=$(tb_addr client)" 3 || tb_fail "client not banned by its scan"
knock_nft_has banned4 "$(tb_addr client)" || tb_fail "banned4 lacks the client"

tb_log "check: knockgate connect knocks (its valid knock lifts the ban); the tunnel comes up"
knock_connect "$LAB/users/alice/profile" "$cif" --timeout 20 >"$TB_DIR/connect.out" 2>&1 ||
	{ cat "$TB_DIR/connect.out"; tail -20 "$GREEN_LOG"; tb_fail "connect failed"; }
grep -q "event=knock result=accepted reason=accepted user=alice src=$(tb_addr client)" "$GREEN_LOG" ||
	tb_fail "green did not log the accepted knock"
grep -q "event=session result=pending reason=new user=alice" "$GREEN_LOG" ||
	tb_fail "no pending session record"
knock_nft_has wg_open4 "$(tb_addr client)" || tb_fail "wg_open4 lacks the client"
grep -q "event=unban result=lifted src=$(tb_addr client)" "$GREEN_LOG" || tb_fail "no unban record"
knock_nft_has banned4 "$(tb_addr client)" && tb_fail "banned4 still holds the client"
knock_nft_has peers_pending 10.88.1.10 || tb_fail "peers_pending lacks 10.88.1.10"
tb_log "check: the openings lapse by themselves within one lease (handshake_timeout 130 s)"
tb_exec green nft list set inet knockgate wg_open4 | grep -q "$(tb_addr client) . 51820 timeout 2m10s" ||
	{ tb_exec green nft list set inet knockgate wg_open4; tb_fail "wg_open4 element without a 130 s timeout"; }
tb_exec green nft list set inet knockgate peers_pending | grep -q "10.88.1.10 timeout 2m10s" ||
	tb_fail "peers_pending element without a 130 s timeout"
tb_exec green wg show "$GWG" allowed-ips | grep -q '10.88.1.10/32' || tb_fail "no peer for 10.88.1.10/32"
hs=$(tb_exec green wg show "$GWG" latest-handshakes | awk '{print $2}' | head -1)
[ "${hs:-0}" -gt 0 ] || tb_fail "no handshake on green's side"

tb_log "check: through the tunnel: control port open, nothing else"
tb_start green other "$TB_DIR/other.log" socat TCP-LISTEN:4434,reuseaddr,fork /dev/null
tb_start green outside "$TB_DIR/outside.log" socat TCP-LISTEN:8443,reuseaddr,fork /dev/null
tb_start red redweb "$TB_DIR/redweb.log" socat TCP-LISTEN:8080,reuseaddr,fork /dev/null
sleep 0.3
tb_tcp_probe client 10.88.0.1 4433 || tb_fail "control port 10.88.0.1:4433 not reachable through the tunnel"
tb_log "ok: 10.88.0.1:4433 reachable"
tb_tcp_probe client 10.88.0.1 4434 && tb_fail "10.88.0.1:4434 reachable"
tb_tcp_probe client "$green" 8443 && tb_fail "green's outside address port 8443 reachable"
tb_tcp_probe client "$green" 4433 && tb_fail "control port reachable outside the tunnel"
tb_tcp_probe client "$(tb_addr red in 4)" 8080 && tb_fail "red reachable through the tunnel"
tb_log "ok: 10.88.0.1:4434, $green:8443, $green:4433, red:8080 all dark"

tb_log "check: green's processing time per knock (us=, knock packet to element present)"
for i in 1 2 3 4; do
	tb_exec client "$KG_BIN" close --ifname "$cif" >/dev/null 2>&1 || true
	knock_connect "$LAB/users/alice/profile" "$cif" --timeout 20 >/dev/null 2>&1 ||
		tb_fail "connect $i failed"
done
stats() {   # stats FIELD LABEL: min/median/max of FIELD over the pending records
	grep 'event=session result=pending' "$GREEN_LOG" | grep -o " $1=[0-9]*" | cut -d= -f2 | sort -n |
		awk -v l="$2" '{v[NR]=$1} END {printf "[tb] %s: n=%d min=%dus median=%dus max=%dus\n", l, NR, v[1], v[int((NR+1)/2)], v[NR]}'
}
stats nft_us "knock -> nft elements present"
stats us "knock -> elements + WireGuard peer (all in place)"

tb_exec client "$KG_BIN" close --ifname "$cif" >/dev/null 2>&1 || true

tb_log "check: the same over IPv6 (knock and WireGuard to $(tb_addr green out 6))"
cp -r "$LAB/users/alice/profile" "$TB_DIR/profile6"
sed -i "s/^green_address = .*/green_address = $(tb_addr green out 6)/" "$TB_DIR/profile6/profile.conf"
knock_connect "$TB_DIR/profile6" "$cif" --timeout 20 >"$TB_DIR/connect6.out" 2>&1 ||
	{ cat "$TB_DIR/connect6.out"; tail -5 "$GREEN_LOG"; tb_fail "connect over IPv6 failed"; }
knock_nft_has wg_open6 "$(tb_addr client out 6)" || tb_fail "wg_open6 lacks the client's IPv6 address"
tb_tcp_probe client 10.88.0.1 4433 || tb_fail "control port not reachable through the IPv6-carried tunnel"
tb_exec client "$KG_BIN" close --ifname "$cif" >/dev/null 2>&1 || true
tb_log "ok: wg_open6 element, tunnel over IPv6 reaches the control port"

tb_log "check: SIGTERM removes green's interface and leaves the dark table"
tb_stop green || tb_fail "green did not exit cleanly"
! tb_exec green ip link show "$GWG" >/dev/null 2>&1 || tb_fail "$GWG left after stop"
tb_exec green nft list table inet knockgate 2>/dev/null | grep -qF 'comment "knockgate dark: daemon not running"' ||
	tb_fail "no dark table after stop"
! tb_exec green nft list table inet knockgate | grep -qE 'wg_open|peers_' || tb_fail "openings left after stop"
tb_log "PASS: dark before the knock; knock -> pending peer + openings; tunnel reaches only the control port; clean stop"
