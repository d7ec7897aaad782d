#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Green is dark: a full TCP SYN scan from the attacker and TCP/UDP scans
# from a never-banned client find no port open or closed (no SYN-ACK, no RST, no ICMP unreachable),
# even ports where a socket listens; the scanner is banned during the scan
# and a log record names it; management (TCP 22 from admin, v4 and v6)
# still works while the attacker cannot reach it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

[ -x "$KG_BUILD/green/knockgate-green" ] || tb_skip "no $KG_BUILD/green/knockgate-green (build first)"
command -v nmap >/dev/null || tb_skip "nmap missing"
tb_init
tb_up
green4=$(tb_addr green out 4)
green6=$(tb_addr green out 6)

TB_BAN_TIME=300 TB_NEVER_BAN=$(tb_addr client out 4) tb_green_conf "$TB_DIR/green.conf"
tb_green_start "$TB_DIR/green.conf" "$TB_DIR/green.log"
# Sockets that listen on green: the table must hide them from outside.
tb_start green mgmt "$TB_DIR/mgmt.log" socat TCP6-LISTEN:22,fork,reuseaddr,ipv6only=0 SYSTEM:'echo mgmt'
tb_start green web "$TB_DIR/web.log" socat TCP6-LISTEN:8080,fork,reuseaddr,ipv6only=0 SYSTEM:'echo web'
tb_start green udp "$TB_DIR/udp.log" socat UDP6-RECVFROM:53,fork,ipv6only=0 SYSTEM:'echo dns'
sleep 0.5

tb_tcp_probe admin "$green4" 22 || tb_fail "admin cannot reach management port 22 (IPv4)"
tb_log "ok: admin reaches TCP 22 on $green4"
tb_tcp_probe admin "$green6" 22 || tb_fail "admin cannot reach management port 22 (IPv6)"
tb_log "ok: admin reaches TCP 22 on $green6"
tb_tcp_probe attacker "$green4" 22 && tb_fail "attacker reached management port 22"
tb_log "ok: attacker cannot reach TCP 22 (not banned yet)"
tb_udp_probe attacker "$green4" 53 && tb_fail "UDP 53 answered the attacker (answer or ICMP)"
tb_log "ok: UDP 53 (listening) answers nothing"

tb_log "nmap -sS -p- from attacker (about 30 s)"
tb_exec attacker nmap -sS -p- --min-rate 5000 --max-retries 1 -n -Pn -oG - "$green4" >"$TB_DIR/tcp.gnmap"
grep -E 'Ports:|Ignored' "$TB_DIR/tcp.gnmap" || tb_fail "TCP scan: no result line"
open=$(grep -oE '[0-9]+/open/' "$TB_DIR/tcp.gnmap" | wc -l)
closed=$(grep -oE '[0-9]+/closed/' "$TB_DIR/tcp.gnmap" | wc -l)
grep -qE 'Ignored State: filtered \(65535\)' "$TB_DIR/tcp.gnmap" || tb_fail "TCP scan: not all 65535 ports filtered"
[ "$open" = 0 ] && [ "$closed" = 0 ] || tb_fail "TCP scan: $open open, $closed closed"
tb_log "ok: TCP -p-: 0 open, 0 closed, 65535 filtered"

# The client is on the never-ban list: its scans go through the
# log-and-drop path all the way, not through the ban.
tb_exec client nmap -sS -p 1-2000 --min-rate 5000 --max-retries 1 -n -Pn -oG - "$green4" >"$TB_DIR/tcp2.gnmap"
grep -qE 'Ignored State: filtered \(2000\)' "$TB_DIR/tcp2.gnmap" || tb_fail "TCP scan from a never-banned host: not all filtered"
tb_log "ok: TCP 1-2000 from the (never-banned) client: all filtered"
tb_exec client nmap -sU --top-ports 100 -n -Pn -oG - "$green4" >"$TB_DIR/udp.gnmap"
open=$(grep -oE '[0-9]+/open/' "$TB_DIR/udp.gnmap" | wc -l)
closed=$(grep -oE '[0-9]+/closed/' "$TB_DIR/udp.gnmap" | wc -l)
grep -E 'Ignored|Ports:' "$TB_DIR/udp.gnmap" || tb_fail "UDP scan: no result line"
[ "$open" = 0 ] && [ "$closed" = 0 ] || tb_fail "UDP scan: $open open, $closed closed"
grep -qE 'Ignored State: open\|filtered \(100\)' "$TB_DIR/udp.gnmap" || tb_fail "UDP scan: not all 100 ports open|filtered (no answer)"
tb_log "ok: UDP top 100 from the client: 0 open, 0 closed, 100 open|filtered"

tb_exec green nft list set inet knockgate banned4 | tee "$TB_DIR/banned4"
grep -q '198\.51\.100\.66' "$TB_DIR/banned4" || tb_fail "attacker not in banned4"
tb_log "ok: 198.51.100.66 is in banned4"
grep -E 'event=ban result=banned src=198\.51\.100\.66 ' "$TB_DIR/green.log" || tb_fail "no ban record names the attacker"
tb_log "ok: ban record names the attacker"

tb_tcp_probe admin "$green4" 22 || tb_fail "admin lost management access"
tb_log "ok: admin still reaches TCP 22 while green is dark"
grep -E 'event=ban .*src=198\.51\.100\.5 ' "$TB_DIR/green.log" && tb_fail "admin was banned"
tb_stop green TERM || tb_fail "green did not exit 0 on SIGTERM"
tb_log "PASS"
