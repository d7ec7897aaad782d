#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# How live sessions end, and what cannot end them:
#   1. With alice's session live, someone holding a copy of her profile
#      but not her card knocks from another host (client2, tunnel only):
#      refused and logged; alice's session, peer and tunnel unaffected
#      (a knock cannot displace the peer of a live session).
#   2. Revoking alice (kg-user-revoke + SIGHUP) ends her live session:
#      green's end record comes within a second of the reload (measured),
#      her openings are gone with it, her client gets green's CLOSE and
#      reports the revocation, then the peer is gone too.
#   3. Pulling bob's card ends his session: the client notices and closes
#      (measured), nothing stays open; also with connect --background.
#   4. A client that ignores the removal (kg-test-client
#      --test-ignore-card-removal): green's periodic card proof
#      (reproof_interval 30 s here) fails and green ends the session.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-card.sh
. "$here/lib-card.sh"
# shellcheck source=tests/e2e/lib-flow.sh
. "$here/lib-flow.sh"
card_reexec "$@"
tkg=$KG_BUILD/tests/tools/kg-test-client
[ -x "$tkg" ] || tb_skip "build $tkg first"

flow_init
L=$FLOW_LAB
export FLOW_SESSION="reproof_interval = 30
io_timeout = 3"
flow_green_start
log_ms() { date -d "$(echo "$1" | cut -d' ' -f1)" +%s%3N; }

# ---- 1. a copy of alice's profile without her card
flow_card alice
flow_connect alice "$L/users/alice/profile"
flow_wait_session alice
sid=$(flow_session_id alice)
peer=$(flow_green_peers)
tb_log "alice live: session $sid, green's peer $peer"
tb_log "check: a copy of alice's profile on client2 (no card) knocks"
src2=$(tb_addr client2 out 4)
cp -r "$L/users/alice/profile" "$TB_DIR/alice-copy"
if tb_exec client2 env KG_RUN_DIR="$TB_DIR/run2" "$FLOW_KG" connect --tunnel-only \
	--profile "$TB_DIR/alice-copy" --ifname "$(tb_ifname c2)" --timeout 6 \
	>"$TB_DIR/copy.out" 2>&1; then
	# A handshake alone is no session; its control connection must fail.
	flow_tunnel_probe client2 && tb_fail "the profile copy reached green's control port"
	tb_exec client2 env KG_RUN_DIR="$TB_DIR/run2" "$FLOW_KG" close >/dev/null 2>&1 || true
fi
cat "$TB_DIR/copy.out"
tb_wait_log "$FLOW_GLOG" "src=$src2" 5 || tb_fail "green logged nothing about $src2"
flow_glog "src=$src2" | sed 's/.*notice /green: /'
# The knock itself is valid (her key); green refuses the new peer.
ref=$(flow_glog "event=(session|knock) result=(rejected|refused) reason=[a-z_]+ user=alice")
[ -n "$ref" ] || { sed "s/.*notice //" "$FLOW_GLOG"; tb_fail "no refusal record for the profile copy"; }
echo "$ref" | sed 's/.*notice /green: /'
echo "$ref" | grep -q "src=$src2" || tb_log "note: green's refusal record has no src= (the knock record before it has)"
[ "$(flow_green_peers)" = "$peer" ] || tb_fail "green's peer changed: $(flow_green_peers)"
kill -0 "$(tb_pid alice)" || tb_fail "alice's connect ended"
flow_tunnel_probe || tb_fail "alice's tunnel no longer reaches green"
flow_glog "event=session result=ended" | grep -q . && tb_fail "a session ended: $(flow_glog "event=session result=ended")"
tb_log "ok: refused and logged; alice's session, peer and tunnel unaffected"

# ---- 2. revocation while live
tb_log "check: revoking alice ends her live session within a second of the reload"
"$FLOW_PROV/kg-user-revoke" --ca "$L/ca" --green "$L/green" alice >>"$TB_DIR/lab.log" 2>&1 ||
	{ cat "$TB_DIR/lab.log"; tb_fail "kg-user-revoke alice"; }
t0=$(date +%s%3N)
flow_green_reload
tb_wait_log "$FLOW_GLOG" "event=session result=ended reason=(revoked|removed) user=alice" 5 ||
	{ tail -8 "$FLOW_GLOG"; tb_fail "alice's session did not end"; }
rec=$(flow_glog "event=session result=ended reason=(revoked|removed) user=alice" | head -1)
lat=$(($(log_ms "$rec") - t0))
tb_log "green: ${rec#*notice }"
tb_log "revocation latency: SIGHUP -> session end record: $lat ms"
[ "$lat" -lt 1000 ] || tb_fail "session ended $lat ms after the reload (limit 1000)"
# The openings go with the end record (it is logged after them); only
# the peer stays a moment, so that green's CLOSE still reaches her.
elems=$(flow_green_elems)
[ -z "$elems" ] || tb_fail "green's table still holds after the end record: $elems"
flow_tunnel_probe && tb_fail "alice's tunnel still carries traffic to green"
# Her client learns it from green's CLOSE, not from a TCP keepalive a
# minute later.
flow_wait_exit alice 5 || { tb_stop alice; tb_fail "alice's client did not get green's CLOSE"; }
tb_log "alice's client: $(tail -1 "$TB_DIR/alice.out")"
grep -qE "green ended the session: (revoked|removed)" "$TB_DIR/alice.out" || tb_fail "alice's client did not report the revocation"
flow_assert_nothing_open "revoked session"
tb_log "ok: revoked session ended in $lat ms; no peer; the tunnel carries nothing"

# ---- 3. card removal, cooperative client
tb_log "check: pulling bob's card ends his session"
card_stop >/dev/null
flow_card bob
flow_connect bob "$L/users/bob/profile"
flow_wait_session bob
bsid=$(flow_session_id bob)
t0=$(date +%s%3N)
card_pull
flow_wait_exit bob 10 || tb_fail "bob's connect did not end after the card was pulled"
t1=$(date +%s%3N)
tail -1 "$TB_DIR/bob.out"
grep -q "ended: the card was removed" "$TB_DIR/bob.out" || tb_fail "connect did not report the removal"
tb_wait_log "$FLOW_GLOG" "event=session result=ended reason=close user=bob session=$(flow_sid_re "$bsid")" 5 ||
	{ tail -5 "$FLOW_GLOG"; tb_fail "green did not end bob's session"; }
flow_assert_nothing_open "card pulled"
tb_log "ok: card pulled -> client gone and session closed in $((t1 - t0)) ms"

tb_log "check: the same with connect --background (the card watched from the detached process)"
card_insert
tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" timeout 60 "$FLOW_KG" connect --background \
	--profile "$L/users/bob/profile" --ifname "$FLOW_CIF" --pin-file "$FLOW_PIN" \
	>"$TB_DIR/bg.out" 2>&1 || { cat "$TB_DIR/bg.out"; tb_fail "connect --background failed"; }
bgpid=$(tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" "$FLOW_KG" status | sed -nE 's/^process: +([0-9]+)/\1/p')
[ -n "$bgpid" ] || tb_fail "no background session"
card_pull
for _ in $(seq 1 50); do kill -0 "$bgpid" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$bgpid" 2>/dev/null || { kill "$bgpid"; tb_fail "background connect did not end when the card was pulled"; }
flow_assert_nothing_open "card pulled (background)"

# ---- 4. card removal, client that ignores it
tb_log "check: a client that ignores the removal is caught by green's periodic proof (30 s)"
card_insert
FLOW_KG=$tkg flow_connect bob2 "$L/users/bob/profile" --test-ignore-card-removal
flow_wait_session bob2
bsid=$(flow_session_id bob2)
card_pull
tb_wait_log "$TB_DIR/bob2.out" "card removed, ignored" 5 || tb_fail "test client did not see the removal"
t0=$(date +%s)
tb_wait_log "$FLOW_GLOG" "event=session result=ended reason=[a-z_]*(reproof|proof)[a-z_]* user=bob" 60 ||
	{ tail -8 "$FLOW_GLOG"; tb_fail "green did not end the session of a card-less client"; }
tb_log "green: $(flow_glog "event=session result=ended reason=[a-z_]*proof" | tail -1 | sed 's/.*notice //')"
flow_glog "reproof" | sed 's/.*notice /green: /'
flow_wait_exit bob2 10 || tb_stop bob2 || true
tail -1 "$TB_DIR/bob2.out"
flow_assert_nothing_open "reproof failed"
tb_log "ok: session $bsid ended by green $(($(date +%s) - t0)) s after the pull (reproof every 30 s)"

tb_log "PASS: profile copy refused (session unaffected); revocation ends the session in $lat ms; card removal ends it, also for a non-cooperating client"
