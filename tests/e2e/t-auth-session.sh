#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole flow for a provisioned user: alice knocks, tunnels, proves her
# card and is told her services (web, ssh); `knockgate status` shows the
# session; the client's peer keeps alive every 25 s; the tunnel carries
# traffic; `knockgate close` ends the session on green (peer and port
# gone) and on the client (interface and state gone); the same with
# `connect --background`. Green's log holds one
# record per decision with user, source, session and reason. Prints the
# card proof time as the client saw it.
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
src=$(tb_addr client out 4)

tb_log "check: alice connects, proves her card and is told her services"
flow_connect alice "$FLOW_LAB/users/alice/profile" -v
flow_wait_session alice
cat "$TB_DIR/alice.out"
sid=$(flow_session_id alice)
sids=$(flow_sid_re "$sid")
grep -qE "^services: web, ssh$" "$TB_DIR/alice.out" || tb_fail "services not 'web, ssh'"
ms=$(sed -nE 's/.*card proof ([0-9]+) ms.*/\1/p' "$TB_DIR/alice.out")
tb_log "ok: session $sid, services web, ssh; card proof took $ms ms (client side)"
rec=$(flow_glog "event=auth result=accepted")
echo "$rec"
echo "$rec" | grep -q "user=alice" && echo "$rec" | grep -qE "src=($src|10\.88\.1\.[0-9]+)( |$)" &&
	echo "$rec" | grep -q "session=$sid" ||
	tb_fail "green's auth record lacks user/src/session"
tb_log "ok: green logged event=auth result=accepted user=alice src session=$sid"

tb_log "check: status shows the session"
tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" "$FLOW_KG" status >"$TB_DIR/status.out" ||
	{ cat "$TB_DIR/status.out"; tb_fail "status exit non-zero with a live session"; }
cat "$TB_DIR/status.out"
grep -q "session:   $sid" "$TB_DIR/status.out" && grep -q "user:      alice" "$TB_DIR/status.out" &&
	grep -q "services:  web, ssh" "$TB_DIR/status.out" && grep -q "tunnel:    10.88.1." "$TB_DIR/status.out" ||
	tb_fail "status lacks session/user/services/tunnel"

tb_log "check: persistent keepalive 25 s on the client's peer, traffic through the tunnel"
ka=$(tb_exec client wg show "$FLOW_CIF" persistent-keepalive | awk '{print $2}')
[ "$ka" = 25 ] || tb_fail "client keepalive is '$ka', not 25"
flow_tunnel_probe || tb_fail "no TCP connection to 10.88.0.1:4433 through the tunnel"
[ "$(flow_green_peers | wc -l)" = 1 ] || tb_fail "green should have exactly one peer"
tb_log "ok: keepalive 25, TCP through the tunnel, one peer on green"

tb_log "check: knockgate close ends the session everywhere"
tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" "$FLOW_KG" close >"$TB_DIR/close.out" ||
	{ cat "$TB_DIR/close.out"; tb_fail "close failed"; }
flow_wait_exit alice 10 || tb_fail "connect still running after close"
cat "$TB_DIR/alice.out" | tail -2
grep -q "ended: closed on request" "$TB_DIR/alice.out" || tb_fail "connect did not report the close"
flow_assert_nothing_open "after close"
tb_wait_log "$FLOW_GLOG" "reason=close.*session=$sids( |$)" 5 ||
	{ tail -20 "$FLOW_GLOG"; tb_fail "green logged no close of session $sid"; }
tb_log "ok: green: $(flow_glog "reason=close" | tail -1)"
if tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" "$FLOW_KG" status >/dev/null; then
	tb_fail "status exit 0 without a session"
fi
tb_log "ok: status exits non-zero without a session"

tb_log "check: connect --background returns once the session is up; close ends it"
tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" timeout 60 "$FLOW_KG" connect --background \
	--profile "$FLOW_LAB/users/alice/profile" --ifname "$FLOW_CIF" --pin-file "$FLOW_PIN" \
	>"$TB_DIR/bg.out" 2>&1 || { cat "$TB_DIR/bg.out"; tb_fail "connect --background failed"; }
grep -E "^session [0-9a-f]{16}:" "$TB_DIR/bg.out" || tb_fail "connect --background printed no session"
tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" "$FLOW_KG" status >"$TB_DIR/status.out" ||
	{ cat "$TB_DIR/status.out"; tb_fail "no session after connect --background"; }
bgpid=$(sed -nE 's/^process: +([0-9]+)/\1/p' "$TB_DIR/status.out")
sleep 1
kill -0 "$bgpid" || tb_fail "background connect ($bgpid) is gone"
flow_tunnel_probe || tb_fail "background session: no TCP through the tunnel"
tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" "$FLOW_KG" close >/dev/null || tb_fail "close (background) failed"
! kill -0 "$bgpid" 2>/dev/null || tb_fail "background connect still running after close"
flow_assert_nothing_open "background session closed"

tb_log "check: one record per decision, each with user, src, session and reason/result"
grep -E "event=(auth|session|ctrl|knock)" "$FLOW_GLOG" | tee "$TB_DIR/decisions"
while read -r line; do
	case "$line" in
	*event=knock*) echo "$line" | grep -q "src=" || tb_fail "knock record without src: $line" ;;
	*event=auth*|*event=session*)
		for f in user= src= session= result=; do
			echo "$line" | grep -q "$f" || tb_fail "record without $f: $line"
		done ;;
	esac
done <"$TB_DIR/decisions"
[ "$(grep -c "event=auth result=accepted" "$FLOW_GLOG")" = 2 ] || tb_fail "not exactly one auth record per session"
tb_log "PASS: knock, tunnel, card proof ($ms ms), services, status, keepalive, close; nothing left; records complete"
