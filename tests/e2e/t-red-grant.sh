#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Red grants a signed open knock for one tunnel address only: the map
# element appears, the granted port reaches the real server from that
# address (over the site link) and from no other, the real port is not
# reachable at all; a repeated open gets the same port; close removes the
# element, cuts an established connection that carries traffic, and is
# itself idempotent.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-red.sh
. "$here/lib-red.sh"

red_need
tb_init
tb_up
red_setup

out=$(red_knock -S web -s 7 -q 1 -a open)
tb_log "open web: $out"
case $out in result=granted\ port=4[0-9][0-9][0-9][0-9]\ *) ;; *) tb_fail "open not granted: $out" ;; esac
port=$(echo "$out" | sed -E 's/.*port=([0-9]+).*/\1/')
grep -qE "event=sknock result=accepted .*action=open service=web client=10\.88\.1\.10 .*port=$port" "$TB_DIR/red.log" ||
	tb_fail "no accepted record for port $port"
red_map | tee "$TB_DIR/map"
grep -qE "^10\.88\.1\.10 \. $port .*: 8080$" "$TB_DIR/map" || tb_fail "no map element 10.88.1.10 . $port : 8080"
[ "$(wc -l <"$TB_DIR/map")" = 1 ] || tb_fail "more than one map element"
tb_log "ok: map element 10.88.1.10 . $port -> 8080, nothing else"

red_connect 10.88.1.10 "$port" || tb_fail "10.88.1.10 cannot reach granted port $port"
tb_log "ok: 10.88.1.10 reaches the web server at 10.89.0.2:$port"
red_connect 10.88.1.11 "$port" && tb_fail "10.88.1.11 reached port $port granted to 10.88.1.10"
tb_log "ok: 10.88.1.11 (another tunnel address) does not"
red_connect 10.88.1.10 8080 && tb_fail "the real port 8080 is reachable"
tb_log "ok: the real port 8080 is not reachable, even from 10.88.1.10"
tb_tcp_probe insider "$(tb_addr red in 4)" "$port" && tb_fail "insider reached granted port"
tb_log "ok: the insider does not reach port $port"

again=$(red_knock -S web -s 7 -q 1 -a open)
# the same grant: same port, and the lease said as what is left of the
# same end (a duration on the wire), never more than the first answer's
l1=$(sed -nE 's/.* lease=([0-9]+).*/\1/p' <<<"$out")
l2=$(sed -nE 's/.* lease=([0-9]+).*/\1/p' <<<"$again")
case $again in "result=granted port=$port lease="*) ;; *) tb_fail "repeated open answered '$again', not port $port" ;; esac
[ -n "$l2" ] && [ "$l2" -ge 1 ] && [ "$l2" -le "$l1" ] || tb_fail "repeated open's lease $l2 s is not what is left of the first's $l1 s"
grep -qE "event=sknock result=repeat .*seq=1 port=$port" "$TB_DIR/red.log" || tb_fail "no repeat record"
tb_log "ok: the same open again (re-signed) is answered from the cache: $again"

# a stream that sends every 100 ms over the granted port
sout=$(red_knock -S stream -s 7 -q 1 -a open)
sport=$(echo "$sout" | sed -E 's/.*port=([0-9]+).*/\1/')
tb_log "open stream: $sout"
tb_start green reader "$TB_DIR/reader.out" socat -u "TCP4:10.89.0.2:$sport,bind=10.88.1.10" -
sleep 1.5
n1=$(wc -l <"$TB_DIR/reader.out")
[ "$n1" -ge 5 ] || tb_fail "stream carried only $n1 lines in 1.5 s"
tb_log "ok: stream on port $sport carries traffic ($n1 lines)"

cl=$(red_knock -S stream -s 7 -q 2 -a close)
[ "$cl" = "result=closed" ] || tb_fail "close answered '$cl'"
# cuts are flushed every 100 ms (a walk of the conntrack table shared by
# the closes of that moment)
tb_wait_log "$TB_DIR/red.log" "event=conntrack client=10\.88\.1\.10 port=$sport result=cut flows=[1-9]" 3 ||
	tb_fail "no conntrack cut record for port $sport"
sleep 1
n2=$(wc -l <"$TB_DIR/reader.out")
sleep 1.5
n3=$(wc -l <"$TB_DIR/reader.out")
[ "$n3" = "$n2" ] || tb_fail "the stream still carries traffic after close ($n2 -> $n3 lines)"
tb_log "ok: close cut the established stream (stopped at $n3 lines)"
red_map | grep -q " $sport " && tb_fail "map element for $sport still there"
red_connect 10.88.1.10 "$sport" && tb_fail "port $sport reachable after close"
tb_log "ok: after close the element is gone and $sport is unreachable"
cl2=$(red_knock -S stream -s 7 -q 2 -a close)
[ "$cl2" = "result=closed" ] || tb_fail "repeated close answered '$cl2'"
tb_log "ok: the same close again: $cl2"

red_connect 10.88.1.10 "$port" || tb_fail "web grant lost by closing stream"
tb_log "ok: the web grant of the same session is untouched"
tb_log "PASS"
