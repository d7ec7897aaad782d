#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# NAT and roaming (docs/architecture.md "NAT and roaming"): alice's
# session is live; the client moves to a new outside address
# (198.51.100.10 -> .12), so its WireGuard
# packets reach green from a source green never opened. `knockgate
# connect` notices (source changed / handshake stalled) and knocks again
# with the tunnel's own key; green adds the new source to the live
# session's opening (action add_source) without replacing the peer; the
# session id is unchanged (no second card proof) and the tunnel carries
# traffic again. Prints the time from the address change to a working
# tunnel.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-card.sh
. "$here/lib-card.sh"
# shellcheck source=tests/e2e/lib-flow.sh
. "$here/lib-flow.sh"
card_reexec "$@"

flow_init
flow_green_start
flow_card alice
oldsrc=$(tb_addr client out 4)
newsrc=198.51.100.12

tb_log "check: alice connects (short stall threshold for the test)"
tb_start client alice "$TB_DIR/alice.out" env KG_RUN_DIR="$KG_RUN_DIR" KG_STALL_SECS=5 \
	"$FLOW_KG" connect --profile "$FLOW_LAB/users/alice/profile" --ifname "$FLOW_CIF" \
	--pin-file "$FLOW_PIN" -v
flow_wait_session alice
sid=$(flow_session_id alice)
sids=$(flow_sid_re "$sid")
flow_tunnel_probe || tb_fail "no traffic through the tunnel before the move"
tb_log "ok: session $sid live from $oldsrc"

tb_log "check: the client moves from $oldsrc to $newsrc"
tb_exec client sysctl -qw net.ipv4.conf.eth0.promote_secondaries=1
t0=$(date +%s%N)
tb_exec client ip addr add "$newsrc/24" dev eth0
tb_exec client ip addr del "$oldsrc/24" dev eth0
tb_exec client ip -4 addr show dev eth0 2>/dev/null | grep -q "inet $newsrc/" || tb_fail "client has no $newsrc"

ok=0
for _ in $(seq 1 300); do
	if flow_glog "event=session .*src=$newsrc( |$)" | grep -q "add_source"; then ok=1; break; fi
	sleep 0.1
done
[ "$ok" = 1 ] || { tail -20 "$FLOW_GLOG"; cat "$TB_DIR/alice.out"; tb_fail "green logged no add_source from $newsrc"; }
tb_log "ok: green: $(flow_glog "event=session .*src=$newsrc( |$)" | grep add_source | head -1)"
flow_glog "event=session .*src=$newsrc( |$)" | grep add_source | head -1 | grep -q "session=$sids" ||
	tb_fail "the add_source record does not name session $sid"
grep -qE "knocking again" "$TB_DIR/alice.out" || tb_fail "connect -v printed no re-knock"
grep -E "knocking again" "$TB_DIR/alice.out" | head -3

tb_log "check: the tunnel works again from $newsrc"
ok=0
for _ in $(seq 1 100); do
	if tb_exec client timeout 1 bash -c 'exec 3<>/dev/tcp/10.88.0.1/4433' 2>/dev/null; then ok=1; break; fi
	sleep 0.1
done
t1=$(date +%s%N)
[ "$ok" = 1 ] || tb_fail "no TCP through the tunnel after the move"
ms=$(((t1 - t0) / 1000000))
cat "$TB_DIR/alice.out"
flow_green_elems | grep "wg_open4" | grep -q "$newsrc" || { flow_green_elems; tb_fail "wg_open4 lacks $newsrc"; }
peers=$(flow_green_peers)
[ "$(echo "$peers" | wc -l)" = 1 ] || tb_fail "green should still have exactly one peer: $peers"
tb_exec green wg show "$FLOW_GIF" endpoints | grep -q "$newsrc:" ||
	tb_fail "green's peer endpoint is not $newsrc: $(tb_exec green wg show "$FLOW_GIF" endpoints)"
kill -0 "$(tb_pid alice)" || { cat "$TB_DIR/alice.out"; tb_fail "connect exited"; }
[ "$(grep -cE '^session [0-9a-f]{16}:' "$TB_DIR/alice.out")" = 1 ] || tb_fail "connect printed a second session"
[ "$(grep -c "event=auth result=accepted" "$FLOW_GLOG")" = 1 ] || tb_fail "a second card proof happened"
! flow_glog "session=$sids" | grep -qE "reason=(close|peer_silent|reproof)" ||
	tb_fail "session $sid was ended: $(flow_glog "session=$sids" | tail -1)"
tb_log "ok: wg_open4 holds $newsrc, one peer with endpoint $newsrc, session $sid unchanged, one card proof"

tb_log "check: an opening lost on the way (NAT rebinding, invisible to the client): handshakes stall, connect knocks again"
tb_exec green nft flush set inet knockgate wg_open4
t2=$(date +%s%N)
sleep 1
ok=0
for _ in $(seq 1 150); do
	if tb_exec client timeout 1 bash -c 'exec 3<>/dev/tcp/10.88.0.1/4433' 2>/dev/null; then ok=1; break; fi
	sleep 0.1
done
[ "$ok" = 1 ] || { cat "$TB_DIR/alice.out"; tb_fail "no TCP through the tunnel after the opening was lost"; }
ms2=$((($(date +%s%N) - t2) / 1000000))
grep -qE "handshake stalled [0-9]+ s: knocking again" "$TB_DIR/alice.out" || tb_fail "no stall re-knock printed"
flow_green_elems | grep "wg_open4" | grep -q "$newsrc" || tb_fail "wg_open4 lacks $newsrc after the stall knock"
[ "$(grep -c "event=auth result=accepted" "$FLOW_GLOG")" = 1 ] || tb_fail "a second card proof happened"
tb_log "ok: stalled tunnel reopened by a re-knock after $ms2 ms, same session"

tb_log "check: close still ends everything"
tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" "$FLOW_KG" close >/dev/null || tb_fail "close failed"
flow_wait_exit alice 10 || tb_fail "connect still running after close"
flow_assert_nothing_open "after close"
tb_log "PASS: roaming $oldsrc -> $newsrc: re-knock accepted as add_source for session $sid, tunnel working again after $ms ms; after a lost opening $ms2 ms"
