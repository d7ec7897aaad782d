#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Red grants an IPv6 tunnel address (tunnel_range6): a signed open knock
# for fd88::10 maps an element in grants6, the granted port reaches the
# real server over the site link's IPv6 end from that address only, the
# real port not at all; close removes the element and cuts an established
# stream through the kernel-filtered conntrack dump, and leaves the IPv4
# grant of the same red alone. Hopping is IPv4 only: a hop = yes service
# hops an IPv4 client's grant and leaves the IPv6 client's on its port.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-red.sh
. "$here/lib-red.sh"

RED_V6=1
RED_HOP_SERVICE=1
red_need
tb_init
tb_up
red_setup

v4=$(red_knock -S web -s 8 -q 1 -a open)
case $v4 in result=granted\ *) ;; *) tb_fail "IPv4 open not granted: $v4" ;; esac
port4=$(sed -E 's/.*port=([0-9]+).*/\1/' <<<"$v4")

out=$(red_knock -c fd88::10 -S web -s 7 -q 1 -a open)
tb_log "open web for fd88::10: $out"
case $out in result=granted\ port=4[0-9][0-9][0-9][0-9]\ *) ;; *) tb_fail "open not granted: $out" ;; esac
port=$(sed -E 's/.*port=([0-9]+).*/\1/' <<<"$out")
grep -qE "event=sknock result=accepted .*action=open service=web client=fd88::10 .*port=$port" "$TB_DIR/red.log" ||
	tb_fail "no accepted record for fd88::10 port $port"
red_map6 | tee "$TB_DIR/map6"
grep -qE "^fd88::10 \. $port .*: 8080$" "$TB_DIR/map6" || tb_fail "no grants6 element fd88::10 . $port : 8080"
[ "$(wc -l <"$TB_DIR/map6")" = 1 ] || tb_fail "more than one grants6 element"
tb_log "ok: grants6 element fd88::10 . $port -> 8080, nothing else"

red_connect6 fd88::10 "$port" || tb_fail "fd88::10 cannot reach granted port $port"
tb_log "ok: fd88::10 reaches the web server at [fd89::2]:$port"
red_connect6 fd88::11 "$port" && tb_fail "fd88::11 reached port $port granted to fd88::10"
red_connect6 fd88::10 8080 && tb_fail "the real port 8080 is reachable over IPv6"
tb_log "ok: not from fd88::11, and the real port 8080 not at all"

bad=$(red_knock -c fd87::10 -S web -s 9 -q 1 -a open)
case $bad in *reason=bad_client*) ;; *) tb_fail "a client outside tunnel_range6 got '$bad'" ;; esac
tb_log "ok: a client outside tunnel_range6 is refused: $bad"

sout=$(red_knock -c fd88::10 -S stream -s 7 -q 2 -a open)
sport=$(sed -E 's/.*port=([0-9]+).*/\1/' <<<"$sout")
tb_start green reader "$TB_DIR/reader.out" socat -u "TCP6:[fd89::2]:$sport,bind=[fd88::10]" -
for _ in $(seq 1 30); do [ "$(wc -l <"$TB_DIR/reader.out")" -ge 5 ] && break; sleep 0.1; done
[ "$(wc -l <"$TB_DIR/reader.out")" -ge 5 ] || tb_fail "the IPv6 stream on $sport carries nothing"
tb_log "ok: stream over IPv6 on port $sport carries traffic"

cl=$(red_knock -c fd88::10 -S stream -s 7 -q 3 -a close)
[ "$cl" = "result=closed" ] || tb_fail "close answered '$cl'"
tb_wait_log "$TB_DIR/red.log" "event=conntrack client=fd88::10 port=$sport result=cut flows=[1-9]" 3 ||
	tb_fail "no conntrack cut record for fd88::10 port $sport"
sleep 1
n2=$(wc -l <"$TB_DIR/reader.out")
sleep 1
n3=$(wc -l <"$TB_DIR/reader.out")
[ "$n3" = "$n2" ] || tb_fail "the IPv6 stream still carries traffic after close ($n2 -> $n3 lines)"
red_map6 | grep -q " $sport " && tb_fail "grants6 element for $sport still there"
tb_log "ok: close cut the IPv6 stream and removed its element"

red_connect6 fd88::10 "$port" || tb_fail "the IPv6 web grant was lost by closing the stream"
red_connect 10.88.1.10 "$port4" || tb_fail "the IPv4 grant was lost"
tb_log "ok: the other IPv6 grant and the IPv4 grant are untouched"

# hop = yes: the IPv6 grant keeps its port, logged; an IPv4 grant of the
# same service, opened after it, hops (twice before the check, so the
# IPv6 one had its chance too)
h6=$(red_knock -c fd88::10 -S hopweb -s 21 -q 1 -a open)
case $h6 in result=granted\ *) ;; *) tb_fail "hopweb for fd88::10 not granted: $h6" ;; esac
hp6=$(sed -E 's/.*port=([0-9]+).*/\1/' <<<"$h6")
tb_wait_log "$TB_DIR/red.log" "event=hop result=skipped reason=ipv6_client service=hopweb client=fd88::10" 3 ||
	tb_fail "no hop skipped record for the IPv6 grant"
h4=$(red_knock -c 10.88.1.11 -S hopweb -s 22 -q 1 -a open)
case $h4 in result=granted\ *) ;; *) tb_fail "hopweb for 10.88.1.11 not granted: $h4" ;; esac
tb_wait_log "$TB_DIR/red.log" "event=hop result=[a-z]+ green=green1 service=hopweb .*client=10\.88\.1\.11 .* hop=2 " 6 ||
	tb_fail "the IPv4 hopweb grant did not hop twice"
grep -E "event=hop .*client=fd88::10" "$TB_DIR/red.log" | grep -v "result=skipped" &&
	tb_fail "the IPv6 grant hopped"
red_map6 | grep -qE "^fd88::10 \. $hp6 .*: 8080$" || tb_fail "grants6 lost fd88::10 . $hp6: $(red_map6)"
red_connect6 fd88::10 "$hp6" || tb_fail "fd88::10 cannot reach its hopweb port $hp6"
tb_log "ok: the IPv4 grant hopped, the IPv6 one stayed on $hp6 and is reachable"
tb_log "PASS"
