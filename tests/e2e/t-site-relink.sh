#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A site link that WireGuard keeps up on green's side while red cannot
# answer over it: green relinks red's peer (drops it, puts it back: a fresh
# handshake) once a knock goes a whole retry interval without a word from
# red, and the knock is answered.
# (1) Crossed handshakes at start. red starts before green2's host is on
# the inside network, so red's handshake initiation to green2 waits in
# red's ARP queue and leaves the moment green2 first asks for red's
# address, crossing green2's own initiation: each side takes the other's,
# each drops the other's response, and wireguard-go sends nothing more for
# about 5 s. green2 is not waited for; alice (green1 not running: her
# client moves to green2 after 300 ms) asks for the stream at once. Without
# the relink the knock went unanswered (red_silent); now it is granted.
# (2) red loses green2's session: red's peer for green2 is dropped and put
# back without an endpoint (red's WireGuard after a restart when its
# [green green2] names no site_endpoint: red cannot start a handshake), so
# green2 keeps sending on keys red no longer has, and green2's WireGuard
# would only handshake again after 15 s. green2's renewals relink the peer: the grant
# outlives its 10 s lease, the stream still answers and red renews it.
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
# shellcheck source=tests/e2e/lib-greens.sh
. "$here/lib-greens.sh"
card_reexec "$@"

FLOWRED_LEASE=10
greens_init
GREENS_NO_WAIT=1 greens_green2_start
g2s=$(tb_ifname g2s)
hs=$(tb_exec green2 wg show "$g2s" latest-handshakes | awk '{print $2}')
tb_log "part 1: alice asks green2 for the stream at once (green2's site link: latest handshake ${hs:-none})"
flow_card alice
flow_connect a1 "$FLOW_LAB/users/alice/profile" stream
flow_wait_session a1
grep -q "^connected: .* green green2," "$TB_DIR/a1.out" || { cat "$TB_DIR/a1.out"; tb_fail "connect did not move to green2"; }
flowred_grant a1 stream
port=$FR_PORT
greens_stream_read "$port" || tb_fail "no stream through green2"
if grep -q "event=site result=relinked .*red=red1" "$TB_DIR/green2.log"; then
	tb_log "ok: stream through green2 at 10.89.0.2:$port; green2 relinked red: $(grep -m1 'result=relinked' "$TB_DIR/green2.log" | sed 's/.*event=/event=/')"
else
	tb_log "ok: stream through green2 at 10.89.0.2:$port (the handshakes did not cross this time: no relink needed)"
fi

tb_log "part 2: red loses its session with green2"
rs0=$(tb_ifname rs0)
gpub=$(cat "$FLOW_LAB/red/greens/green2-site.pub" 2>/dev/null || true)
[ -n "$gpub" ] || gpub=$(tb_exec green2 wg show "$g2s" public-key)
allowed=$(tb_exec red wg show "$rs0" allowed-ips | awk -v k="$gpub" '$1 == k { $1 = ""; print }' | tr -s ' ' ',' | sed 's/^,//')
[ -n "$allowed" ] || { tb_exec red wg show "$rs0"; tb_fail "red has no site peer for green2"; }
before=$(grep -c "event=site result=relinked" "$TB_DIR/green2.log" || true)
renews=$(grep -c "event=sknock result=accepted src=10.89.0.3 .*action=renew" "$TB_DIR/red.log" || true)
tb_exec red wg set "$rs0" peer "$gpub" remove
tb_exec red wg set "$rs0" peer "$gpub" allowed-ips "$allowed"
t0=$(date +%s)
# past a whole lease: red's grant lives only if green2's renewals reach it
sleep 12
now_renews=$(grep -c "event=sknock result=accepted src=10.89.0.3 .*action=renew" "$TB_DIR/red.log" || true)
[ "$now_renews" -gt "$renews" ] || { grep -E "sknock|grant" "$TB_DIR/red.log" | tail; tail -5 "$TB_DIR/green2.log"; tb_fail "red renewed nothing of green2's after losing the session"; }
flowred_red_map | grep -q "10.88.129.10 . $port" || { flowred_red_map; tb_fail "red's grant for alice at green2 ended"; }
greens_stream_read "$port" || tb_fail "the stream stopped answering $(( $(date +%s) - t0 )) s after red lost green2's session"
after=$(grep -c "event=site result=relinked" "$TB_DIR/green2.log" || true)
[ "$after" -gt "$before" ] || { tail -20 "$TB_DIR/green2.log"; grep -E "sknock|hop|site" "$TB_DIR/red.log" | tail -20; tb_exec red wg show "$rs0"; tb_fail "green2 did not relink red after red lost the session"; }
tb_log "ok: $((after - before)) relink(s), $((now_renews - renews)) renewal(s) accepted by red, grant and stream alive past the lease"
tb_stop a1 TERM || true
tb_log "PASS: t-site-relink"
