#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Port hopping with a stable local port. Red hops web and stream every
# 2-5 s over per-client pools (overlap 1 s); alice connects with
# web=127.0.0.1:18080 and stream=127.0.0.1:18081, so her client listens
# there and forwards. Checked:
#  - a long download (rate-limited, ~15-25 s: longer than a lease, so the
#    port it stays on must be held through renewals, and several hops)
#    through the local port arrives whole (SHA-256 equal to red's file) over ONE
#    upstream connection (the forwarder logs one connection) that stays
#    on its first port while the grant hops away from it;
#  - a long-lived TCP session (the 100 ms stream, with input sent the
#    other way) through the other local port runs through several hops
#    without a gap or reset, again over one upstream connection;
#  - each new connection through the forwarder lands on the port green
#    last told the client, and gets the page;
#  - a port left more than the overlap ago drops new connections (a
#    timeout, no RST), while held4 still holds it for the flows on it;
#  - green's fwd_grants follows each hop (the current port is in it);
#  - the close removes every held port (red's held4, green's fwd_held
#    empty) and cuts the flows.
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

FLOWRED_LEASE=12   # shorter than the download: held ports must be renewed
t_start=$(date +%s)

# red's config as lib-flow-red.sh writes it, with hopping on
flowred_red_start() {
	RED_MAX_LEASE=$FLOWRED_LEASE red_conf "$TB_DIR/red.conf" "$FLOW_LAB"
	sed -i -E \
		-e 's/^pool = 40000-40999$/pool = 9001-9099\nhop = yes\nhop_interval = 2-5\nhop_overlap = 1/' \
		-e 's/^pool = 41000-41999$/pool = 9101-9150, 9160-9199\nhop = yes\nhop_interval = 2, 3, 4\nhop_overlap = 1/' \
		"$TB_DIR/red.conf"
	tb_start red red "$TB_DIR/red.log" "$RED_BIN" -c "$TB_DIR/red.conf"
	tb_wait_ready "$TB_DIR/red.log"
}

flowred_init
# a file big enough for a download that spans several hops
head -c $((24 * 1024 * 1024)) /dev/urandom >"$TB_DIR/www/big.bin"
want=$(sha256sum <"$TB_DIR/www/big.bin" | cut -d' ' -f1)
flowred_green_start
flow_card alice
tb_exec client ip link set lo up
flow_connect a1 "$FLOW_LAB/users/alice/profile" web=127.0.0.1:18080 --forward stream=18081
flow_wait_session a1
flowred_grant a1 web
flowred_grant a1 stream
tb_log "granted: web and stream; the client forwards 127.0.0.1:18080 and :18081"

# The port the client was last told for a service.
current() {
	grep -E "^service $1 (at|moved to) " "$TB_DIR/a1.out" | tail -1 |
		sed -nE 's/.* [0-9.]+:([0-9]+) until.*/\1/p'
}
# Upstream connections the forwarder opened for a service so far.
fwd_conns() { grep -cE "^forward $1: connection " "$TB_DIR/a1.out" || true; }
fwd_port() {
	grep -E "^forward $1: connection " "$TB_DIR/a1.out" | sed -n "$2p" |
		sed -nE 's/.* to [0-9.]+:([0-9]+)$/\1/p'
}

tb_log "part 1: a long download and a long session through the local ports, across hops"
# the session: the stream's lines come back, keystrokes go the other way
mkfifo "$TB_DIR/keys"
(for i in $(seq 1 600); do echo "key $i"; sleep 0.1; done) >"$TB_DIR/keys" &
tb_start client sess "$TB_DIR/sess.out" socat "TCP4:127.0.0.1:18081,connect-timeout=3" "OPEN:$TB_DIR/keys!!STDOUT"
d0=$(fwd_conns web)
dl0=$(date +%s)
tb_exec client curl -s --limit-rate 1000K -m 60 -o "$TB_DIR/got.bin" \
	-w '%{http_code} %{size_download}\n' http://127.0.0.1:18080/big.bin >"$TB_DIR/dl.txt" ||
	{ cat "$TB_DIR/dl.txt"; tail -5 "$TB_DIR/a1.out"; tb_fail "the download through the local port failed"; }
dl_s=$(($(date +%s) - dl0))
got=$(sha256sum <"$TB_DIR/got.bin" | cut -d' ' -f1)
[ "$got" = "$want" ] || tb_fail "download corrupted: $(cat "$TB_DIR/dl.txt")"
d1=$(fwd_conns web)
[ $((d1 - d0)) = 1 ] || tb_fail "the forwarder opened $((d1 - d0)) upstream connections for one download"
p_dl=$(fwd_port web "$d1")
hops_web=$(grep -c "event=hop result=moved .*service=web" "$TB_DIR/red.log" || true)
[ "$hops_web" -ge 3 ] || tb_fail "only $hops_web hops of web during the download"
[ "$(current web)" != "$p_dl" ] || tb_fail "web is still at $p_dl: the download did not outlive its port"
[ "$dl_s" -gt "$FLOWRED_LEASE" ] || tb_fail "the download took $dl_s s, not more than one lease ($FLOWRED_LEASE s)"
tb_log "ok: 24 MiB downloaded whole in $dl_s s (more than a $FLOWRED_LEASE s lease: its port was held through renewals; sha256 ${want:0:16}...) over one upstream connection to port $p_dl, through $hops_web hops of web (now at $(current web))"

# the session: still running, one upstream connection, no gap > 1 s
kill -0 "$(tb_pid sess)" || { cat "$TB_DIR/sess.out"; tb_fail "the session ended"; }
[ "$(fwd_conns stream)" = 1 ] || tb_fail "the forwarder opened $(fwd_conns stream) connections for one session"
p_s=$(fwd_port stream 1)
hops_s=$(grep -c "event=hop result=moved .*service=stream" "$TB_DIR/red.log" || true)
[ "$hops_s" -ge 3 ] || tb_fail "only $hops_s hops of stream during the session"
gap=$(awk 'NR > 1 { d = $1 - p; if (d > m) m = d } { p = $1 } END { printf "%d", m * 1000 }' "$TB_DIR/sess.out")
lines=$(wc -l <"$TB_DIR/sess.out")
[ "$lines" -ge 100 ] || tb_fail "the session carried only $lines lines"
[ "$gap" -lt 1000 ] || tb_fail "the session stalled for $gap ms"
tb_log "ok: the session ran $lines lines (largest gap $gap ms) over one upstream connection to port $p_s through $hops_s hops of stream (now at $(current stream))"
tb_exec client ss -tn state established "( dport = :$p_dl or dport = :$p_s )" >"$TB_DIR/ss.txt" || true
tb_stop sess || true

tb_log "part 2: each new connection lands on the current port"
ok=0
for i in 1 2 3 4 5 6; do
	before=$(current web)
	n0=$(fwd_conns web)
	page=$(tb_exec client curl -s --connect-timeout 3 -m 5 http://127.0.0.1:18080/) || tb_fail "new connection $i: no page"
	[ "$page" = "hello from red" ] || tb_fail "new connection $i: unexpected page"
	after=$(current web)
	p=$(fwd_port web $((n0 + 1)))
	if [ "$before" = "$after" ]; then
		[ "$p" = "$before" ] || tb_fail "new connection $i went to $p, the current port is $before"
		ok=$((ok + 1))
	fi
	sleep 1
done
[ "$ok" -ge 3 ] || tb_fail "only $ok connections fell between hops"
flowred_fwd | grep -q "10.89.0.2 . $(current web)" || tb_fail "green's fwd_grants lacks the current port $(current web)"
tb_log "ok: $ok new connections went to the port current at the time, and got the page"

tb_log "part 3: a retired port drops new connections after the overlap"
cur=$(current web)
retired=$p_dl
[ "$retired" != "$cur" ] || tb_fail "no retired port to try"
tb_exec red nft list set inet knockgate held4 | grep -q "\. $retired " ||
	tb_log "note: held4 no longer lists $retired"
set +e
tb_exec client curl -s --connect-timeout 2 -m 3 "http://10.89.0.2:$retired/" >/dev/null
rc=$?
set -e
[ "$rc" = 28 ] || tb_fail "a new connection to the retired port $retired: curl exit $rc (28 = timed out, i.e. dropped; 7 = refused)"
page=$(flowred_get "$(current web)") || tb_fail "the current port $(current web) refuses a direct connection"
tb_log "ok: retired port $retired times out (dropped, no RST); current port $(current web) answers"

tb_stop a1 || true
# the close cut every port the grants held: held4 empties
for _ in $(seq 1 30); do
	tb_exec red nft list set inet knockgate held4 | grep -q '10\.88\.' || break
	sleep 0.2
done
! tb_exec red nft list set inet knockgate held4 | grep -q '10\.88\.' ||
	tb_fail "held4 still holds ports after the session closed: $(tb_exec red nft list set inet knockgate held4)"
grep -q "event=conntrack .*result=cut" "$TB_DIR/red.log" || tb_fail "red logged no conntrack cut at the close"
! tb_exec green nft list set inet knockgate fwd_held | grep -q '10\.88\.' ||
	tb_fail "green's fwd_held still holds ports after the close: $(tb_exec green nft list set inet knockgate fwd_held)"
tb_log "PASS: downloads and sessions survive hops over their first upstream connection; new connections follow the hops; retired ports drop new connections ($(($(date +%s) - t_start)) s)"
