#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Batched renewals: one signed batch renews an IPv4 and an IPv6 client's
# grants at once (the same ports, each entry logged as a renew), refuses
# the entry it must (a client outside the tunnel ranges) without
# touching the others; the same batch sent again is answered from the
# cache; a stale entry is refused; a batch signed by another key is
# dropped unanswered. The renewed grants still carry traffic.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-red.sh
. "$here/lib-red.sh"

BATCH="$KG_BUILD/tests/tools/kg-sknock-batch"
[ -x "$BATCH" ] || tb_skip "no $BATCH (build first)"
RED_V6=1
red_need
tb_init
tb_up
red_setup

batch() {
	tb_exec green "$BATCH" -k "$LAB/green/host.key" -C "$LAB/red/host.pem" \
		-g green1 -r red1 -b 10.89.0.1 -I "$(tb_ifname gs0)" "$@" 10.89.0.2 62202 || true
}
port_of() { sed -E 's/.*port=([0-9]+).*/\1/' <<<"$1"; }

w4=$(port_of "$(red_knock -S web -s 7 -q 1 -a open)")
s4=$(port_of "$(red_knock -S stream -s 7 -q 1 -a open)")
w6=$(port_of "$(red_knock -c fd88::10 -S web -s 8 -q 1 -a open)")
tb_log "opened: web $w4, stream $s4 (10.88.1.10), web $w6 (fd88::10)"

out=$(batch -e 7,2,10.88.1.10,web -e 7,2,10.88.1.10,stream -e 8,2,fd88::10,web \
	-e 9,1,10.77.0.1,web -o "$TB_DIR/batch.bin")
printf '%s\n' "$out"
grep -qx "entry=0 result=granted port=$w4 lease=60" <<<"$out" || tb_fail "entry 0 (web $w4) not renewed"
grep -qx "entry=1 result=granted port=$s4 lease=60" <<<"$out" || tb_fail "entry 1 (stream $s4) not renewed"
grep -qx "entry=2 result=granted port=$w6 lease=60" <<<"$out" || tb_fail "entry 2 (fd88::10 web $w6) not renewed"
grep -qx "entry=3 result=refused reason=bad_client" <<<"$out" || tb_fail "entry 3 (outside the ranges) not refused"
grep -qE "event=sknock_batch result=answered .*entries=4 accepted=3" "$TB_DIR/red.log" ||
	tb_fail "no batch record (entries=4 accepted=3)"
n=$(grep -cE "event=sknock result=accepted .*action=renew .*seq=2" "$TB_DIR/red.log")
[ "$n" = 3 ] || tb_fail "$n accepted renew records, not 3"
tb_log "ok: one batch renewed three grants (IPv4 and IPv6) and refused the fourth"

again=$(batch -i "$TB_DIR/batch.bin")
[ "$again" = "$out" ] || tb_fail "the same batch again answered differently: $again"
n=$(grep -cE "event=sknock result=repeat .*action=renew .*seq=2" "$TB_DIR/red.log")
[ "$n" = 3 ] || tb_fail "$n repeat records, not 3"
tb_log "ok: the same batch again is answered from the cache, nothing changes"

stale=$(batch -e 7,1,10.88.1.10,web)
[ "$stale" = "entry=0 result=refused reason=stale_sequence" ] || tb_fail "stale entry answered '$stale'"
tb_log "ok: an entry older than the grant's last request: $stale"

forged=$(tb_exec green "$BATCH" -k "$LAB/red/host.key" -C "$LAB/red/host.pem" \
	-g green1 -r red1 -b 10.89.0.1 -I "$(tb_ifname gs0)" -e 7,3,10.88.1.10,web 10.89.0.2 62202 || true)
[ "$forged" = "result=no_answer" ] || tb_fail "a batch signed by another key got '$forged'"
grep -qE "event=sknock result=dropped reason=bad_signature" "$TB_DIR/red.log" || tb_fail "no bad_signature record"
tb_log "ok: a batch signed by another key is dropped unanswered"

red_connect 10.88.1.10 "$w4" || tb_fail "the renewed IPv4 grant does not carry traffic"
red_connect6 fd88::10 "$w6" || tb_fail "the renewed IPv6 grant does not carry traffic"
tb_log "ok: the renewed grants carry traffic"
tb_log "PASS"
