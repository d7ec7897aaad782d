#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Red grants an IPv6 tunnel address (tunnel_range6): a signed open knock
# for fd88::10 maps an element in grants6, the granted port reaches the
# real server over the site link's IPv6 end from that address only, the
# real port not at all; close removes the element and cuts an established
# stream through the kernel-filtered conntrack dump, and leaves the IPv4
# grant of the same red alone. A hop = yes service hops an IPv6 client's
# grant as it does an IPv4 one's: a stream on the first port survives,
# the port left drops new connections, the close empties held6.
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

# hop = yes: an IPv6 grant hops like an IPv4 one (grants6/allowed6 for
# new connections, held6 for established ones); a stream on the port it
# started on survives the hops, the port left drops new connections
# after the overlap, the current one takes them
h6=$(red_knock -c fd88::10 -S hopstream -s 21 -q 1 -a open)
case $h6 in result=granted\ *) ;; *) tb_fail "hopstream for fd88::10 not granted: $h6" ;; esac
hp6=$(sed -E 's/.*port=([0-9]+).*/\1/' <<<"$h6")
tb_start green hreader "$TB_DIR/hreader.out" socat -u "TCP6:[fd89::2]:$hp6,bind=[fd88::10]" -
tb_wait_log "$TB_DIR/hreader.out" . 3 || tb_fail "the IPv6 hopstream on $hp6 carries nothing"
h4=$(red_knock -c 10.88.1.11 -S hopweb -s 22 -q 1 -a open)
case $h4 in result=granted\ *) ;; *) tb_fail "hopweb for 10.88.1.11 not granted: $h4" ;; esac
hop_re="event=hop result=moved green=green1 service=hopstream .*client=fd88::10 port=([0-9]+) old_port=[0-9]+ hop=2 "
tb_wait_log "$TB_DIR/red.log" "$hop_re" 6 || {
	grep "event=hop" "$TB_DIR/red.log" | tail -5
	tb_fail "the IPv6 hopstream grant did not hop twice"
}
tb_wait_log "$TB_DIR/red.log" "event=hop result=moved green=green1 service=hopweb .*client=10\.88\.1\.11 .* hop=2 " 6 ||
	tb_fail "the IPv4 hopweb grant did not hop twice"
grep -q "reason=ipv6_client" "$TB_DIR/red.log" && tb_fail "an IPv6 grant was skipped"
tb_exec red nft list set inet knockgate held6 | grep -qE "fd88::10 \. $hp6 " ||
	tb_fail "held6 lost fd88::10 . $hp6: $(tb_exec red nft list set inet knockgate held6)"
m1=$(wc -l <"$TB_DIR/hreader.out")
sleep 1
m2=$(wc -l <"$TB_DIR/hreader.out")
[ "$m2" -gt "$m1" ] || tb_fail "the IPv6 stream on $hp6 stopped after the hops ($m1 -> $m2 lines)"
tb_log "ok: the IPv6 stream on its first port $hp6 runs on through two hops ($m2 lines)"
# allowed6 takes new connections on a port other than the first
tb_exec red nft list set inet knockgate allowed6 | grep -oE "fd88::10 \. fd89::2 \. [0-9]+" | grep -qv " $hp6\$" ||
	tb_fail "allowed6 has no other port for fd88::10: $(tb_exec red nft list set inet knockgate allowed6)"
# a later hop may draw the first port again (1 in 999): then it is current
if grep -qE "event=hop result=moved .*service=hopstream .*client=fd88::10 port=$hp6 " "$TB_DIR/red.log"; then
	tb_log "a hop went back to $hp6: the drop check is skipped"
else
	red_map6 | grep -qE "^fd88::10 \. $hp6 " && tb_fail "grants6 still redirects the port $hp6 left two hops ago"
	red_connect6 fd88::10 "$hp6" && tb_fail "a new IPv6 connection to the port left ($hp6) got through"
	tb_log "ok: the port left ($hp6) drops new IPv6 connections, held6 still holds it for the stream"
fi
cl=$(red_knock -c fd88::10 -S hopstream -s 21 -q 2 -a close)
[ "$cl" = "result=closed" ] || tb_fail "close of hopstream answered '$cl'"
# the cut covers the port the stream is on, two hops behind the grant
tb_wait_log "$TB_DIR/red.log" "event=conntrack client=fd88::10 port=$hp6 result=cut flows=[1-9]" 3 ||
	tb_fail "no conntrack cut of the stream on the port left ($hp6)"
m3=$(wc -l <"$TB_DIR/hreader.out")
sleep 1
[ "$(wc -l <"$TB_DIR/hreader.out")" = "$m3" ] || tb_fail "the IPv6 stream on $hp6 runs on after the close"
# hopstream's pool is 43000-43999; the web grant's element stays
tb_exec red nft list set inet knockgate held6 | grep -qE "fd88::10 \. 43[0-9]{3} " &&
	tb_fail "held6 keeps a hopstream port after the close: $(tb_exec red nft list set inet knockgate held6)"
tb_exec red nft list set inet knockgate held6 | grep -qE "fd88::10 \. $port " ||
	tb_fail "the close of hopstream took the web grant's held6 element"
tb_log "ok: the close took every held6 element of hopstream, the web grant keeps its own"
tb_log "PASS"
