#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Port hopping and address shuffling for an IPv6 tunnel address. As
# t-flow-ipv6.sh (alice has fd88::10, green asks red for IPv6 grants at
# red's IPv6 site address fd89::2), with red hopping web and stream every
# 1-2 s (overlap 300 ms); stream's hops also move its address inside
# hop_prefix fd89::1:0/120 (routed to red: a local route), so a scan must
# cover address x port. alice connects with web=127.0.0.1:18080 and
# stream=127.0.0.1:18081. Checked:
#  - stream's grant moves address and port, web's port only;
#  - the stream through the local port runs on through several hops over
#    ONE upstream IPv6 connection, which stays on its first address and
#    port (red's held6, green's fwd_held6);
#  - green follows each hop (its hop message names red's IPv6 address:
#    no hop is dropped) and fwd_grants6 holds the current port; a new
#    connection through the local port gets the page;
#    (only each hop's second copy is dropped, as stale);
#  - the place the stream started at drops new connections (a timeout, no
#    RST) once the grant has left it, and so does the place it is at now
#    at the previous address or port (red's allowed6 is keyed on both);
#  - the close empties held6 and fwd_held6.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-card.sh
. "$here/lib-card.sh"
# shellcheck source=tests/e2e/lib-flow.sh
. "$here/lib-flow.sh"
# shellcheck source=tests/e2e/lib-red.sh
. "$here/lib-red.sh"
# shellcheck source=tests/e2e/lib-flow-red.sh
. "$here/lib-flow-red.sh"
card_reexec "$@"

t_start=$(date +%s)
flowred_red_start() {
	RED_MAX_LEASE=$FLOWRED_LEASE red_conf "$TB_DIR/red.conf" "$FLOW_LAB"
	sed -i -E \
		-e 's/^pool = 40000-40999$/pool = 9001-9099\nhop = yes\nhop_interval = 1-2\nhop_overlap = 300ms/' \
		-e 's/^pool = 41000-41999$/pool = 9101-9199\nhop = yes\nhop_interval = 1-2\nhop_overlap = 300ms\nhop_shuffle = yes\nhop_prefix = fd89::1:0\/120/' \
		"$TB_DIR/red.conf"
	tb_start red red "$TB_DIR/red.log" "$RED_BIN" -c "$TB_DIR/red.conf"
	tb_wait_ready "$TB_DIR/red.log"
}
flowred_v6_init
# the prefix red shuffles in: delivered locally on red
tb_exec red ip -6 route add local fd89::1:0/120 dev lo
flowred_v6_green_conf "hop_prefix = fd89::1:0/120"
prof=$FLOW_LAB/users/alice/profile
flowred_green_start
flow_card alice
tb_exec client ip link set lo up
flow_connect a1 "$prof" web=127.0.0.1:18080 --forward stream=18081
flow_wait_session a1
flowred_grant a1 web
flowred_grant a1 stream

# The [address]:port the client was last told for a service.
place() {
	grep -E "^service $1 (at|moved to) " "$TB_DIR/a1.out" | tail -1 |
		sed -nE 's/.* \[(fd89:[0-9a-f:]+)\]:([0-9]+) until.*/\1 \2/p'
}
current() { place "$1" | cut -d' ' -f2; }
fwd_conns() { grep -cE "^forward $1: connection " "$TB_DIR/a1.out" || true; }
fwd_port() {
	grep -E "^forward $1: connection " "$TB_DIR/a1.out" | sed -n "$2p" |
		sed -nE 's/.*:([0-9]+)$/\1/p'
}
fwd_addr() {
	grep -E "^forward $1: connection " "$TB_DIR/a1.out" | sed -n "$2p" |
		sed -nE 's/.* to ([0-9a-f:]+):[0-9]+$/\1/p'
}
[ "$(place stream | cut -d' ' -f1)" = fd89::2 ] || { cat "$TB_DIR/a1.out"; tb_fail "stream is not granted at [fd89::2]"; }

tb_start client sess "$TB_DIR/sess.out" socat -u "TCP4:127.0.0.1:18081,connect-timeout=3" STDOUT
for _ in $(seq 1 30); do [ "$(wc -l <"$TB_DIR/sess.out")" -ge 3 ] && break; sleep 0.1; done
[ "$(wc -l <"$TB_DIR/sess.out")" -ge 3 ] || { tail -5 "$TB_DIR/a1.out"; tb_fail "the stream through 127.0.0.1:18081 carries nothing"; }
p_s=$(fwd_port stream 1)
a_s=$(fwd_addr stream 1)
if [ -z "$p_s" ] || [ "$a_s" != fd89::2 ]; then
	cat "$TB_DIR/a1.out"
	tb_fail "the forwarder logged no upstream connection to fd89::2"
fi
tb_exec client ss -tn state established "( dport = :$p_s )" | grep -q "\[fd89::2\]:$p_s" ||
	tb_fail "the upstream connection is not IPv6 to [fd89::2]:$p_s"
# three hops of stream, each one followed by green
tb_wait_log "$TB_DIR/red.log" "event=hop result=moved .*service=stream .*client=fd88::10 .* hop=3 " 10 ||
	{ grep "event=hop" "$TB_DIR/red.log" | tail -5; tb_fail "stream did not hop three times"; }
tb_wait_log "$FLOW_GLOG" "event=grant result=hopped .*service=stream" 3 ||
	{ grep "event=hop\|hopped" "$FLOW_GLOG" | tail -5; tb_fail "green did not follow the hops"; }
grep -E "event=hop result=moved .*client=fd88::10 .*error=" "$TB_DIR/red.log" &&
	tb_fail "red could not push a hop"
# (stale_hop: red sends each hop twice, green applies it once)
grep -E "event=hop result=dropped" "$FLOW_GLOG" | grep -v "reason=stale_hop" && tb_fail "green dropped a hop"
sleep 1
n1=$(wc -l <"$TB_DIR/sess.out")
sleep 1
n2=$(wc -l <"$TB_DIR/sess.out")
[ "$n2" -gt "$n1" ] || {
	grep -E "service=stream|conntrack" "$TB_DIR/red.log" | tail -8
	grep -E "service=stream|fwd_" "$FLOW_GLOG" | tail -8
	tail -5 "$TB_DIR/a1.out"
	tb_exec red nft list set inet knockgate held6
	tb_exec green nft list set inet knockgate fwd_held6
	tb_fail "the stream stopped after the hops ($n1 -> $n2 lines)"
}
[ "$(fwd_conns stream)" = 1 ] || tb_fail "the forwarder opened $(fwd_conns stream) connections for one stream"
tb_exec red nft list set inet knockgate held6 | grep -qE "fd88::10 \. $p_s " ||
	tb_fail "red's held6 lost $p_s: $(tb_exec red nft list set inet knockgate held6)"
# stream's hops moved the address inside the prefix, web's never
grep -E "event=hop result=moved .*service=stream .*client=fd88::10 " "$TB_DIR/red.log" >"$TB_DIR/hops_s"
grep -qE " addr=fd89::1:[0-9a-f]{1,2} old_addr=fd89::2( |$)" "$TB_DIR/hops_s" ||
	{ cat "$TB_DIR/hops_s"; tb_fail "stream's first hop did not move its address into fd89::1:0/120"; }
! grep -vE " addr=fd89::1:[0-9a-f]{1,2} old_addr=fd89:[0-9a-f:]+( |$)" "$TB_DIR/hops_s" ||
	tb_fail "a hop of stream left its address where it was or outside the prefix"
! grep -E "event=hop result=moved .*service=web .* addr=" "$TB_DIR/red.log" ||
	tb_fail "web (no hop_shuffle) moved its address"
pl=$(place stream)
case $pl in fd89::1:*) ;; *) cat "$TB_DIR/a1.out"; tb_fail "the client was not told stream's new address: $pl" ;; esac
tb_log "ok: stream hops address and port (now at [${pl% *}]:${pl#* }), web the port only"
tb_log "ok: the stream ran $n2 lines through $(grep -c "event=hop result=moved .*service=stream" "$TB_DIR/red.log") hops over one upstream IPv6 connection to port $p_s (now at $(current stream))"

# a new connection through the stream's local port lands on its
# current address, and green forwards it there (fwd_grants6)
ok=0
for _ in 1 2 3 4 5; do
	before=$(place stream)
	n0=$(fwd_conns stream)
	tb_exec client timeout 3 socat -u "TCP4:127.0.0.1:18081,connect-timeout=2" - 2>/dev/null | head -1 >"$TB_DIR/one.out" || true
	[ -s "$TB_DIR/one.out" ] || tb_fail "a new stream through 127.0.0.1:18081 got nothing (at $before)"
	[ "$before" = "$(place stream)" ] || continue
	[ "$(fwd_addr stream $((n0 + 1))) $(fwd_port stream $((n0 + 1)))" = "$before" ] || continue
	tb_exec green nft list set inet knockgate fwd_grants6 | grep -q "fd88::10 \. ${before% *} \. ${before#* } " || continue
	ok=1
	break
done
[ "$ok" = 1 ] || tb_fail "no new stream went to the current place with green's fwd_grants6 naming it: $(tb_exec green nft list set inet knockgate fwd_grants6)"
tb_log "ok: a new stream through 127.0.0.1:18081 went to [${before% *}]:${before#* }, fwd_grants6 holds it"
# the current port at another address of the prefix, and the current
# address at another port: both dropped (a scan must hit both)
pl=$(place stream)
a_now=${pl% *}
p_now=${pl#* }
other=fd89::1:$(printf '%x' $(( (0x${a_now##*:} % 254) + 1 )))
# (a scanner on alice's machine: the whole prefix into her tunnel)
tb_exec client ip -6 route replace fd89::1:0/120 dev "$FLOW_CIF"
set +e
tb_exec client timeout 4 socat -u "TCP6:[$other]:$p_now,connect-timeout=2" - </dev/null >/dev/null 2>&1
rc1=$?
tb_exec client timeout 4 socat -u "TCP6:[$a_now]:$(( p_now == 9199 ? 9101 : p_now + 1 )),connect-timeout=2" - </dev/null >/dev/null 2>&1
rc2=$?
set -e
if [ "$rc1" = 0 ] || [ "$rc2" = 0 ]; then
	tb_fail "a wrong address ($rc1) or port ($rc2) of stream's place got through"
fi
tb_log "ok: [$other]:$p_now and [$a_now]:another port are dropped"

# web: a new connection through the local port: the page, from the current
# port (several tries: a hop may fall between the check and the use)
ok=0
for _ in 1 2 3 4 5; do
	before=$(current web)
	page=$(tb_exec client curl -s --connect-timeout 3 -m 5 http://127.0.0.1:18080/) || tb_fail "no page through 127.0.0.1:18080"
	[ "$page" = "hello from red" ] || tb_fail "unexpected page: $page"
	[ "$before" = "$(current web)" ] || continue
	tb_exec green nft list set inet knockgate fwd_grants6 | grep -q "fd88::10 \. fd89::2 \. $before " || continue
	ok=1
	break
done
[ "$ok" = 1 ] || tb_fail "green's fwd_grants6 never showed the current web port: $(tb_exec green nft list set inet knockgate fwd_grants6)"
tb_log "ok: a new connection through 127.0.0.1:18080 got the page; fwd_grants6 holds the current port $before"

# the port the stream started on, left: new connections are dropped
# (unless a later hop drew it again: 1 in 98 a hop)
if ! grep -qE "event=hop result=moved .*service=stream .* port=$p_s " "$TB_DIR/red.log"; then
	set +e
	tb_exec client curl -gs --connect-timeout 2 -m 3 "http://[fd89::2]:$p_s/" >/dev/null
	rc=$?
	set -e
	[ "$rc" = 28 ] || tb_fail "a new connection to the port left ($p_s): curl exit $rc (28 = timed out, i.e. dropped)"
	tb_log "ok: the port left ($p_s) times out for new connections"
else
	tb_log "the stream's grant is back on $p_s: the drop check is skipped"
fi
kill -0 "$(tb_pid sess)" || tb_fail "the stream ended"

tb_stop a1 || true
for _ in $(seq 1 30); do
	tb_exec red nft list set inet knockgate held6 | grep -q 'fd88::' || break
	sleep 0.2
done
! tb_exec red nft list set inet knockgate held6 | grep -q 'fd88::' ||
	tb_fail "held6 still holds ports after the close: $(tb_exec red nft list set inet knockgate held6)"
! tb_exec green nft list set inet knockgate fwd_held6 | grep -q 'fd88::' ||
	tb_fail "green's fwd_held6 still holds ports after the close: $(tb_exec green nft list set inet knockgate fwd_held6)"
tb_log "PASS: IPv6 grants hop (stream also shuffles its address in fd89::1:0/120): a stream survives on its first place, green follows, the port left drops new connections, the close empties held6/fwd_held6 ($(($(date +%s) - t_start)) s)"
