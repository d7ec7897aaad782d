#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Green's IPS: more than N distinct closed ports in T s bans the source
# (IPv4 by address, IPv6 by /64) for B s, then the element expires; a host
# touching fewer than N ports is not banned; a never-ban address that scans
# is not banned; knocks are never counted as scan ports, reach the daemon
# even from a banned source, and are rate-limited per source.
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
N=10 B=8
client=$(tb_addr client out 4)

TB_SCAN_PORTS=$N TB_BAN_TIME=$B TB_NEVER_BAN=$client tb_green_conf "$TB_DIR/green.conf"
tb_green_start "$TB_DIR/green.conf" "$TB_DIR/green.log"
log=$TB_DIR/green.log
set4() { tb_exec green nft list set inet knockgate banned4; }
set6() { tb_exec green nft list set inet knockgate banned6; }
scan() { tb_exec "$1" nmap "${@:3}" -sS --max-retries 0 -n -Pn -p "$2" "$green4" >/dev/null; }

# client2: N-1 distinct ports (and knocks, which are not scan ports).
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	tb_udp_send client2 "$green4" 62201 "knock$i"
done
scan client2 "1-$((N - 1))"
sleep 1
set4 | grep -q "$(tb_addr client2 out 4)" && tb_fail "client2 banned after $((N - 1)) ports"
grep -q "event=ban .*src=198\.51\.100\.11 " "$log" && tb_fail "ban record for client2"
tb_log "ok: client2 touched $((N - 1)) ports (+12 knocks): not banned"

# client: on the never-ban list, scans 200 ports.
scan client 1-200
sleep 1
set4 | grep -q "$client" && tb_fail "never-ban client is in banned4"
grep -q "event=ban .*src=198\.51\.100\.10 " "$log" && tb_fail "ban record for never-ban client"
tb_log "ok: never-ban $client scanned 200 ports: not banned"

# attacker, IPv4: N+1 ports.
scan attacker "1-$((N + 1))"
tb_wait_log "$log" 'event=ban result=banned src=198\.51\.100\.66 ' 5 || tb_fail "no ban record for the attacker"
set4 | grep -q '198\.51\.100\.66' || tb_fail "attacker not in banned4"
grep -E 'event=ban result=banned src=198\.51\.100\.66 ' "$log"
tb_log "ok: attacker banned after $((N + 1)) ports"

# A banned source still reaches the knock handler (a valid knock lifts a ban).
tb_udp_send attacker "$green4" 62201 "knock-while-banned"
tb_wait_log "$log" 'event=knock .*src=198\.51\.100\.66' 5 || tb_fail "knock from a banned source did not reach the daemon"
tb_log "ok: a knock from the banned attacker reached the knock handler"

# Knocks are rate-limited per source (knock_rate 20/s, burst 40).
before=$(grep -c 'event=knock .*src=198\.51\.100\.11$' "$log" || true)
tb_exec client2 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(300):
    s.sendto(b"k%d" % i, (sys.argv[1], 62201))' "$green4"
sleep 1
after=$(grep -c 'event=knock .*src=198\.51\.100\.11$' "$log" || true)
got=$((after - before))
tb_log "client2 sent 300 knocks at once, the daemon saw $got"
[ "$got" -ge 20 ] && [ "$got" -le 120 ] || tb_fail "knock rate limit: $got of 300 knocks logged"
tb_log "ok: knocks are rate-limited per source"

# attacker, IPv6: banned by /64.
tb_exec attacker nmap -6 -sS --max-retries 0 -n -Pn -p "1-$((N + 1))" "$green6" >/dev/null
tb_wait_log "$log" 'event=ban result=banned src=2001:db8:100::66 key=2001:db8:100::/64 ' 5 || tb_fail "no /64 ban record"
set6 | tee "$TB_DIR/set6"
grep -q '2001:db8:100:: ' "$TB_DIR/set6" || tb_fail "banned6 does not hold 2001:db8:100::/64 as 2001:db8:100::"
tb_log "ok: IPv6 attacker banned by /64"

# Expiry after B seconds, by the kernel.
sleep $((B + 2))
set4 | grep -q '198\.51\.100\.66' && tb_fail "ban still there after $B s"
set6 | grep -q '2001:db8:100::' && tb_fail "v6 ban still there after $B s"
tb_log "ok: bans expired after $B s"
# A fresh scan bans again (the daemon forgot the expired ban too).
sleep 1
scan attacker "100-$((100 + N))"
tb_wait_log "$log" 'event=ban result=banned src=198\.51\.100\.66 .*' 5
[ "$(grep -c 'event=ban result=banned src=198\.51\.100\.66 ' "$log")" = 2 ] || tb_fail "no second ban after expiry"
tb_log "ok: banned again after expiry"
tb_stop green TERM || tb_fail "green did not exit 0"
tb_log "PASS"
