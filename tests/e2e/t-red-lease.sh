#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Leases end on red by themselves: with green silent (as if SIGKILLed), a
# connection carrying traffic every 100 ms stops within one lease
# (measured) and no new one opens; a renewal before the end keeps the
# same port alive past the first lease.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-red.sh
. "$here/lib-red.sh"

red_need
tb_init
tb_up
RED_MAX_LEASE=8 red_setup
lease=8

# 1. renewal keeps the grant: open (8 s), renew at 5 s, alive at 10 s
out=$(red_knock -S web -s 1 -q 1 -l 30)
port=$(echo "$out" | sed -E 's/.*port=([0-9]+).*/\1/')
case $out in result=granted*) ;; *) tb_fail "open: $out" ;; esac
tb_log "open web, lifetime capped to $lease s: $out"
sleep 5
rn=$(red_knock -S web -s 1 -q 2 -a renew -l 30)
case $rn in "result=granted port=$port "*) ;; *) tb_fail "renew did not keep port $port: $rn" ;; esac
sleep 5
red_connect 10.88.1.10 "$port" || tb_fail "grant gone 10 s after open despite renewal at 5 s"
tb_log "ok: renewed at 5 s, same port $port, still reachable at 10 s"

# 2. green goes silent: a live stream stops within one lease
out=$(red_knock -S stream -s 2 -q 1 -l 30)
sport=$(echo "$out" | sed -E 's/.*port=([0-9]+).*/\1/')
t_open=$(date +%s.%N)
tb_start green reader "$TB_DIR/reader.out" socat -u "TCP4:10.89.0.2:$sport,bind=10.88.1.10" -
sleep 1
[ "$(wc -l <"$TB_DIR/reader.out")" -ge 5 ] || tb_fail "stream carries no traffic"
tb_log "stream on $sport carries traffic; green sends nothing more"
last=0
stale=0
t_last=$t_open
for _ in $(seq 1 $((lease * 10 + 40))); do
	n=$(wc -l <"$TB_DIR/reader.out")
	if [ "$n" = "$last" ]; then
		stale=$((stale + 1))
	else
		stale=0
		t_last=$(date +%s.%N)
	fi
	last=$n
	[ "$stale" -ge 10 ] && break
	sleep 0.1
done
[ "$stale" -ge 10 ] || tb_fail "the stream still runs $((lease + 4)) s after its open"
took=$(awk "BEGIN { printf \"%.2f\", $t_last - $t_open }")
tb_log "measured: last data ${took}s after the open (lease ${lease}s)"
ok=$(awk "BEGIN { print ($took <= $lease + 1.5) ? 1 : 0 }")
[ "$ok" = 1 ] || tb_fail "stream lasted ${took}s, more than one lease (${lease}s) + 1.5 s"
tb_wait_log "$TB_DIR/red.log" "event=lease result=ended green=green1 service=stream client=10\.88\.1\.10 port=$sport" 3 ||
	tb_fail "no lease-ended record"
tb_wait_log "$TB_DIR/red.log" "event=conntrack client=10\.88\.1\.10 port=$sport result=cut" 3 || tb_fail "no conntrack cut at lease end"
tb_log "ok: lease end logged and its flows cut"
red_connect 10.88.1.10 "$sport" && tb_fail "a new connection opened after the lease"
[ -z "$(red_map | grep " $sport ")" ] || tb_fail "map element for $sport survived its lease"
tb_log "ok: no new connection to $sport, no element left"
tb_log "PASS"
