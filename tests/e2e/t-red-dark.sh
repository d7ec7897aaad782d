#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Red is dark during a live session: nmap -sS -p- and -sU (top 100) from
# the insider find nothing open or closed on red's inside address, no
# socket listens on the knock port, the granted client still works, and
# the insider forging the granted client's tunnel address reaches nothing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-red.sh
. "$here/lib-red.sh"

red_need
command -v nmap >/dev/null || tb_skip "nmap missing"
tb_init
tb_up
red_setup
red4=$(tb_addr red in 4)

out=$(red_knock -S web -s 3 -q 1 -l 60)
port=$(echo "$out" | sed -E 's/.*port=([0-9]+).*/\1/')
case $out in result=granted*) ;; *) tb_fail "open: $out" ;; esac
tb_log "live session: web granted at 10.89.0.2:$port for 10.88.1.10"

tb_exec red ss -Hlun | tee "$TB_DIR/udp-sockets"
grep -q ':62202 ' "$TB_DIR/udp-sockets" && tb_fail "a socket listens on the knock port"
tb_log "ok: no socket on UDP 62202 (knocks arrive through NFLOG only)"

# the insider poses as the granted client
tb_exec insider ip addr add 10.88.1.10/32 dev lo
tb_exec insider ip route add 10.89.0.0/30 via "$red4"
tb_exec insider timeout 4 socat -T2 - "TCP4:10.89.0.2:$port,bind=10.88.1.10,connect-timeout=2" </dev/null 2>/dev/null | grep -q . &&
	tb_fail "the insider reached the grant with a forged tunnel address"
tb_exec insider timeout 4 socat -T2 - "TCP4:$red4:$port,bind=10.88.1.10,connect-timeout=2" </dev/null 2>/dev/null | grep -q . &&
	tb_fail "the insider reached the granted port on $red4 with a forged address"
tb_log "ok: the insider with source 10.88.1.10 reaches nothing"

tb_log "nmap -sS -p- from the insider on $red4 (about 30 s)"
tb_exec insider nmap -sS -p- --min-rate 5000 --max-retries 1 -n -Pn -oG - "$red4" >"$TB_DIR/tcp.gnmap"
grep -E 'Ports:|Ignored' "$TB_DIR/tcp.gnmap" || tb_fail "TCP scan: no result line"
open=$(grep -oE '[0-9]+/open/' "$TB_DIR/tcp.gnmap" | wc -l)
closed=$(grep -oE '[0-9]+/closed/' "$TB_DIR/tcp.gnmap" | wc -l)
[ "$open" = 0 ] && [ "$closed" = 0 ] || tb_fail "TCP scan: $open open, $closed closed"
# No open or closed port proves nothing unless nmap saw every port
# (an empty or aborted scan also has none): all 65535 filtered.
grep -qE 'Ignored State: filtered \(65535\)' "$TB_DIR/tcp.gnmap" || tb_fail "TCP scan: not all 65535 ports filtered"
tb_log "ok: TCP -p-: 0 open, 0 closed, 65535 filtered"
tb_exec insider nmap -sU --top-ports 100 -n -Pn -oG - "$red4" >"$TB_DIR/udp.gnmap"
open=$(grep -oE '[0-9]+/open/' "$TB_DIR/udp.gnmap" | wc -l)
closed=$(grep -oE '[0-9]+/closed/' "$TB_DIR/udp.gnmap" | wc -l)
grep -E 'Ignored|Ports:' "$TB_DIR/udp.gnmap" || tb_fail "UDP scan: no result line"
[ "$open" = 0 ] && [ "$closed" = 0 ] || tb_fail "UDP scan: $open open, $closed closed"
grep -qE 'Ignored State: open\|filtered \(100\)' "$TB_DIR/udp.gnmap" || tb_fail "UDP scan: not all 100 ports open|filtered (no answer)"
tb_log "ok: UDP top 100: 0 open, 0 closed, 100 open|filtered"

tb_wait_log "$TB_DIR/red.log" "event=ban result=banned src=$(tb_addr insider in 4)" 5 ||
	tb_fail "the scanner was not banned"
tb_log "ok: the insider was banned for scanning"
red_connect 10.88.1.10 "$port" || tb_fail "the granted client lost its service during the scan"
tb_log "ok: the granted client still reaches 10.89.0.2:$port"
tb_log "PASS"
