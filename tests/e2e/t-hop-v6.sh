#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Port hopping for an IPv6 tunnel address. As t-flow-ipv6.sh (alice has
# fd88::10, green asks red for IPv6 grants at red's IPv6 site address
# fd89::2), with red hopping web and stream every 1-2 s (overlap 300 ms);
# alice connects with web=127.0.0.1:18080 and stream=127.0.0.1:18081.
# Checked:
#  - the stream through the local port runs on through several hops over
#    ONE upstream IPv6 connection, which stays on its first port (red's
#    held6, green's fwd_held6);
#  - green follows each hop (its hop message names red's IPv6 address:
#    no hop is dropped) and fwd_grants6 holds the current port; a new
#    connection through the local port gets the page;
#    (only each hop's second copy is dropped, as stale);
#  - the port the stream started on drops new connections (a timeout, no
#    RST) once the grant has left it;
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
export RED_V6=1
flowred_red_start() {
	RED_MAX_LEASE=$FLOWRED_LEASE red_conf "$TB_DIR/red.conf" "$FLOW_LAB"
	sed -i -E \
		-e 's/^pool = 40000-40999$/pool = 9001-9099\nhop = yes\nhop_interval = 1-2\nhop_overlap = 300ms/' \
		-e 's/^pool = 41000-41999$/pool = 9101-9199\nhop = yes\nhop_interval = 1-2\nhop_overlap = 300ms/' \
		"$TB_DIR/red.conf"
	tb_start red red "$TB_DIR/red.log" "$RED_BIN" -c "$TB_DIR/red.conf"
	tb_wait_ready "$TB_DIR/red.log"
}
flowred_init
tb_start red web6 "$TB_DIR/web6.log" python3 -m http.server 8080 --bind fd89::2 --directory "$TB_DIR/www"
tb_start red stream6 "$TB_DIR/stream6.log" socat "TCP6-LISTEN:8081,bind=[fd89::2],ipv6only=1,fork,reuseaddr" EXEC:"$TB_DIR/stream.sh"
for _ in $(seq 1 50); do
	tb_exec red ss -ltn | grep -q '\[fd89::2\]:8080' && break
	sleep 0.1
done
FLOW_GREEN_EXTRA=${FLOW_GREEN_EXTRA/address = 10.89.0.1\/30/address = 10.89.0.1\/30
address6 = fd89::1\/64}
FLOW_GREEN_EXTRA=${FLOW_GREEN_EXTRA/site_address = 10.89.0.2/site_address = 10.89.0.2
site_address6 = fd89::2}
FLOW_GREEN_EXTRA="$FLOW_GREEN_EXTRA
[green]
tunnel_prefix6 = fd88::/64"
export FLOW_GREEN_EXTRA
echo "tunnel_address6 = fd88::10" >>"$FLOW_LAB/green/users.d/alice.conf"
prof=$FLOW_LAB/users/alice/profile
echo "tunnel_address6 = fd88::10" >>"$prof/profile.conf"
flowred_green_start
flow_card alice
tb_exec client ip link set lo up
flow_connect a1 "$prof" web=127.0.0.1:18080 --forward stream=18081
flow_wait_session a1
flowred_grant a1 web
flowred_grant a1 stream

# The port the client was last told for a service (at red's IPv6 address).
current() {
	grep -E "^service $1 (at|moved to) " "$TB_DIR/a1.out" | tail -1 |
		sed -nE 's/.* \[fd89::2\]:([0-9]+) until.*/\1/p'
}
fwd_conns() { grep -cE "^forward $1: connection " "$TB_DIR/a1.out" || true; }
fwd_port() {
	grep -E "^forward $1: connection " "$TB_DIR/a1.out" | sed -n "$2p" |
		sed -nE 's/.*:([0-9]+)$/\1/p'
}
[ -n "$(current stream)" ] || { cat "$TB_DIR/a1.out"; tb_fail "stream is not granted at [fd89::2]"; }

tb_start client sess "$TB_DIR/sess.out" socat -u "TCP4:127.0.0.1:18081,connect-timeout=3" STDOUT
for _ in $(seq 1 30); do [ "$(wc -l <"$TB_DIR/sess.out")" -ge 3 ] && break; sleep 0.1; done
[ "$(wc -l <"$TB_DIR/sess.out")" -ge 3 ] || { tail -5 "$TB_DIR/a1.out"; tb_fail "the stream through 127.0.0.1:18081 carries nothing"; }
p_s=$(fwd_port stream 1)
[ -n "$p_s" ] || { cat "$TB_DIR/a1.out"; tb_fail "the forwarder logged no upstream connection"; }
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
[ "$n2" -gt "$n1" ] || tb_fail "the stream stopped after the hops ($n1 -> $n2 lines)"
[ "$(fwd_conns stream)" = 1 ] || tb_fail "the forwarder opened $(fwd_conns stream) connections for one stream"
tb_exec red nft list set inet knockgate held6 | grep -qE "fd88::10 \. $p_s " ||
	tb_fail "red's held6 lost $p_s: $(tb_exec red nft list set inet knockgate held6)"
tb_log "ok: the stream ran $n2 lines through $(grep -c "event=hop result=moved .*service=stream" "$TB_DIR/red.log") hops over one upstream IPv6 connection to port $p_s (now at $(current stream))"

# a new connection through the local port: the page, from the current
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
tb_log "PASS: IPv6 grants hop: a stream survives on its first port, green follows, the port left drops new connections, the close empties held6/fwd_held6 ($(($(date +%s) - t_start)) s)"
