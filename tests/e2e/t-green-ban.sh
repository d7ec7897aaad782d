#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Green's IPS: more than N distinct closed ports in T s bans the source
# (IPv4 by address, IPv6 by /64) for B s, then the element expires; a host
# touching fewer than N ports is not banned; a never-ban address that scans
# is not banned, nor is any address of its IPv6 /64; knocks are never
# counted as scan ports, reach the daemon even from a banned source, and
# are rate-limited per source (IPv6: per /64). The key-id pre-filter drops
# junk in the kernel (counter knock_prefilter_drop, one sampled record a
# second, no ban); a full knock meter still lets knocks through under the
# global limit.
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
# A small knock meter, so that the test can fill it; the per-key-id limit
# (checked in t-green-prefilter) out of the way of the per-source one.
sed -i '/^log_level/a knock_meter_size = 16\nknock_id_rate = 100000' "$TB_DIR/green.conf"
tb_green_start "$TB_DIR/green.conf" "$TB_DIR/green.log"
log=$TB_DIR/green.log
set4() { tb_exec green nft list set inet knockgate banned4; }
set6() { tb_exec green nft list set inet knockgate banned6; }
scan() { tb_exec "$1" nmap "${@:3}" -sS --max-retries 0 -n -Pn -p "$2" "$green4" >/dev/null; }
# No users here (no [knock] section): the pre-filter's set is empty, so a
# test id is put in by hand and knocks carrying it pass the pre-filter.
ID=0102030405060708
tb_exec green nft add element inet knockgate knock_ids "{ 0x$ID timeout 1h }"
drops() { tb_exec green nft list counter inet knockgate knock_prefilter_drop | awk '/packets/ { print $2 }'; }
# knocks ROLE ADDR COUNT [SRC...]: COUNT first-knock-sized datagrams with
# the test id (no [knock] section: reason=not_ready), round robin over the
# source addresses given (default: the role's own).
knocks() {
	tb_exec "$1" python3 -c '
import socket, sys
dst, n, srcs = sys.argv[1], int(sys.argv[2]), sys.argv[4:]
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
pkt = bytes([1, 0, 0, 0, 0]) + bytes.fromhex(sys.argv[3]) + bytes(81 - 13)
socks = []
for a in srcs or [None]:
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if a:
        s.bind((a, 0))
    socks.append(s)
for i in range(n):
    socks[i % len(socks)].sendto(pkt, (dst, 62201))' "$2" "$3" "$ID" "${@:4}"
}

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
knocks attacker "$green4" 1
tb_wait_log "$log" 'event=knock result=rejected reason=not_ready src=198\.51\.100\.66$' 5 ||
	tb_fail "a knock with a current id from a banned source did not reach the daemon"
tb_log "ok: a knock from the banned attacker reached the knock handler"

# Junk never reaches the meter or the IPS: counted and sampled (1/s).
d0=$(drops)
tb_exec client2 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(300):
    s.sendto(b"k%d" % i, (sys.argv[1], 62201))' "$green4"
sleep 1
d1=$(drops)
tb_log "client2 sent 300 junk knocks: knock_prefilter_drop $d0 -> $d1"
[ $((d1 - d0)) -ge 300 ] || tb_fail "the pre-filter's counter did not count 300 junk knocks"
grep -q 'event=knock result=rejected .*src=198\.51\.100\.11$' "$log" && tb_fail "junk reached the knock handler"
misses=$(grep -c 'event=knock result=prefilter_miss src=198\.51\.100\.11 ' "$log" || true)
[ "$misses" -ge 1 ] && [ "$misses" -le 3 ] || tb_fail "$misses sampled prefilter_miss records for 300 junk knocks in ~1 s"
set4 | grep -q "$(tb_addr client2 out 4)" && tb_fail "junk knocks banned client2"
tb_log "ok: 300 junk knocks dropped in the kernel, $misses sampled records, no ban"

# Knocks that pass are rate-limited per source (knock_rate 20/s, burst 40).
knocks client2 "$green4" 300
sleep 1
got=$(grep -c 'event=knock result=rejected reason=not_ready src=198\.51\.100\.11$' "$log" || true)
tb_log "client2 sent 300 knocks with a current id at once, the daemon saw $got"
[ "$got" -ge 20 ] && [ "$got" -le 120 ] || tb_fail "knock rate limit: $got of 300 knocks logged"
tb_log "ok: knocks are rate-limited per source"

# IPv6: one /64 is one source for the meter (two addresses share 40+20/s).
tb_exec attacker ip addr add 2001:db8:166::66/64 dev eth0 nodad
tb_exec attacker ip addr add 2001:db8:166::67/64 dev eth0 nodad
knocks attacker "$green6" 120 2001:db8:166::66 2001:db8:166::67
sleep 1
got=$(grep -cE 'event=knock result=rejected reason=not_ready src=2001:db8:166::6[67]$' "$log" || true)
tb_log "two addresses of one /64 sent 60 knocks each, the daemon saw $got"
[ "$got" -ge 20 ] && [ "$got" -le 60 ] || tb_fail "IPv6 knock meter not per /64: $got of 120 logged"
tb_log "ok: the IPv6 knock meter is keyed per /64"

# A full meter (16 sources) degrades: new sources still reach green under
# the global limit instead of being dropped.
for i in $(seq 100 119); do tb_exec attacker ip addr add "198.51.100.$i/24" dev eth0; done
srcs=$(seq -f '198.51.100.%g' 100 119)
# shellcheck disable=SC2086
knocks attacker "$green4" 20 $srcs
sleep 1
n=$(tb_exec green nft list set inet knockgate knock_meter4 | grep -o '198\.51\.100\.[0-9]*' | sort -u | wc -l)
got=$(grep -cE 'event=knock result=rejected reason=not_ready src=198\.51\.100\.1[01][0-9]$' "$log" || true)
tb_log "20 new sources knocked once each: the meter holds $n sources, the daemon saw $got knocks"
[ "$n" -le 16 ] || tb_fail "meter over its size"
[ "$got" = 20 ] || tb_fail "a full meter dropped knocks: $got of 20 reached the daemon"
tb_log "ok: knocks from sources a full meter has no room for still reach green"

# attacker, IPv6, from the outside /64, which holds the admin's never-ban
# address: banning the /64 would ban the admin, so nothing is banned.
tb_exec attacker nmap -6 -sS --max-retries 0 -n -Pn -p "1-$((N + 1))" "$green6" >/dev/null
sleep 1
set6 | grep -q '2001:db8:100::' && tb_fail "banned the /64 of a never-ban address"
grep -q 'event=ban result=banned src=2001:db8:100::66 ' "$log" && tb_fail "ban record for the never-ban /64"
tb_log "ok: a scan from the /64 of a never-ban address bans nothing"
# attacker, IPv6, from its own /64: banned by /64.
tb_exec attacker nmap -6 -S 2001:db8:166::66 -e eth0 -sS --max-retries 0 -n -Pn -p "1-$((N + 1))" "$green6" >/dev/null
tb_wait_log "$log" 'event=ban result=banned src=2001:db8:166::66 key=2001:db8:166::/64 ' 5 || tb_fail "no /64 ban record"
set6 | tee "$TB_DIR/set6"
grep -q '2001:db8:166:: ' "$TB_DIR/set6" || tb_fail "banned6 does not hold 2001:db8:166::/64 as 2001:db8:166::"
tb_log "ok: IPv6 attacker banned by /64"

# Expiry after B seconds, by the kernel.
sleep $((B + 2))
set4 | grep -q '198\.51\.100\.66' && tb_fail "ban still there after $B s"
set6 | grep -q '2001:db8:166::' && tb_fail "v6 ban still there after $B s"
tb_log "ok: bans expired after $B s"
# A fresh scan bans again (the daemon forgot the expired ban too).
sleep 1
scan attacker "100-$((100 + N))"
tb_wait_log "$log" 'event=ban result=banned src=198\.51\.100\.66 .*' 5
[ "$(grep -c 'event=ban result=banned src=198\.51\.100\.66 ' "$log")" = 2 ] || tb_fail "no second ban after expiry"
tb_log "ok: banned again after expiry"
tb_stop green TERM || tb_fail "green did not exit 0"
tb_log "PASS"
