# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# lib-attack-flow.sh: the protected party of the green-side attack
# scenarios: alice with a live session, web and stream granted through
# red, and a stream (a line every 100 ms) running through the grant. On
# top of lib.sh, lib-card.sh, lib-flow.sh, lib-red.sh, lib-flow-red.sh and
# lib-attack.sh; after flowred_init + flowred_green_start + flow_card.
#
#   atkf_up PROFILE          connects alice (web, stream), checks the page,
#                            starts the stream; 0 or 1 (no tb_fail: a
#                            fresh grant after an attack is a result)
#   atkf_down                `knockgate close`, stream reader stopped
#   atkf_alive               0 if alice's session still runs: her connect
#                            process lives and green logged no end of it
#   atkf_check ID ADDR...    after an attack: no ban covering any ADDR,
#                            the stream flows, the session lives, the
#                            control port answers through the tunnel;
#                            prints one ATTACK line (atk_result); 0 = held
#   atkf_fresh ID PROFILE    a fresh grant (close, connect again, page,
#                            stream): ATTACK ID-fresh line; then, if an
#                            attack since the last fresh grant succeeded,
#                            atkf_restore, so the next attack starts clean
#   atkf_restore PROFILE     restarts green (its log kept as
#                            green-N.log): a ban, the IPS's memory of it
#                            and a session green could not hear close
#                            would otherwise spill into the next attack
# Variables: ATKF_NAME (connect's tb name), ATKF_SID, ATKF_STREAM (the
# stream's output file), ATKF_WPORT, ATKF_SPORT.

ATKF_N=0 ATKF_DIRTY=0
ATKF_NAME="" ATKF_SID="" ATKF_STREAM="" ATKF_WPORT="" ATKF_SPORT=""

# Port of SERVICE in connect NAME's output (the latest at/moved line).
atkf_port() {
	grep -E "^service $2 (at|moved to) " "$TB_DIR/$1.out" 2>/dev/null | tail -1 |
		sed -nE 's/.* ([0-9.]+):([0-9]+) .*/\2/p'
}

atkf_up() {
	local prof=$1 pid _
	ATKF_N=$((ATKF_N + 1))
	ATKF_NAME=a$ATKF_N
	ATKF_STREAM=$TB_DIR/s$ATKF_N.out
	flow_connect "$ATKF_NAME" "$prof" web stream
	pid=$(tb_pid "$ATKF_NAME")
	ATKF_WPORT="" ATKF_SPORT=""
	for _ in $(seq 1 400); do
		ATKF_WPORT=$(atkf_port "$ATKF_NAME" web)
		ATKF_SPORT=$(atkf_port "$ATKF_NAME" stream)
		[ -n "$ATKF_WPORT" ] && [ -n "$ATKF_SPORT" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$ATKF_WPORT" ] || [ -z "$ATKF_SPORT" ]; then
		tb_log "connect $ATKF_NAME got no web+stream grant:"
		tail -5 "$TB_DIR/$ATKF_NAME.out"
		return 1
	fi
	ATKF_SID=$(flow_session_id "$ATKF_NAME")
	[ "$(flowred_get "$ATKF_WPORT")" = "hello from red" ] ||
		{ tb_log "no page at the granted web port $ATKF_WPORT"; return 1; }
	tb_start client "s$ATKF_N" "$ATKF_STREAM" socat -u "TCP4:10.89.0.2:$ATKF_SPORT,connect-timeout=3" STDOUT
	atk_flowing "$ATKF_STREAM" 2 || { tb_log "the stream at $ATKF_SPORT carries nothing"; return 1; }
	tb_log "alice up: session $ATKF_SID, web $ATKF_WPORT, stream $ATKF_SPORT flowing"
}

atkf_down() {
	[ -n "$ATKF_NAME" ] || return 0
	tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" "$FLOW_KG" close --ifname "$FLOW_CIF" >/dev/null 2>&1 || true
	flow_wait_exit "$ATKF_NAME" 10 || tb_stop "$ATKF_NAME" >/dev/null 2>&1 || true
	tb_stop "s$ATKF_N" >/dev/null 2>&1 || true
	# a killed connect may leave its interface behind
	tb_exec client ip link del "$FLOW_CIF" 2>/dev/null || true
	rm -rf "${KG_RUN_DIR:?}"/* 2>/dev/null || true
}

atkf_alive() {
	kill -0 "$(tb_pid "$ATKF_NAME")" 2>/dev/null || return 1
	! grep -qE "event=session result=ended .*session=$(flow_sid_re "$ATKF_SID")" "$FLOW_GLOG"
}

atkf_check() {
	local id=$1 a bans="" why="" flow=ok alive=ok ctrl=ok
	shift
	# the attack's packets are in green's hands by now; give its loop a
	# moment to act on them (a ban is one nft batch)
	sleep 2
	atk_flowing "$ATKF_STREAM" 3 || flow="stopped"
	for a in "$@"; do bans="$bans$(atk_ban_covering "$a" | tr '\n' ' ')"; done
	atkf_alive || alive="ended"
	flow_tunnel_probe || ctrl="unreachable"
	[ -z "$bans" ] || why="$why ban:[${bans% }]"
	[ "$flow" = ok ] || why="$why stream=$flow"
	[ "$alive" = ok ] || why="$why session=$alive"
	[ "$ctrl" = ok ] || why="$why control=$ctrl"
	if [ -z "$why" ]; then
		atk_result "$id" pass "no ban of $*; stream flowing; session $ATKF_SID alive; control port reachable"
		return 0
	fi
	atk_result "$id" fail "$why; green: $(grep -E 'event=ban result=banned' "$FLOW_GLOG" | tail -1)"
	ATKF_DIRTY=1
	return 1
}

atkf_restore() {
	atkf_down
	cp "$FLOW_GLOG" "$TB_DIR/green-$ATKF_N.log"
	tb_log "restoring: green restarts (log so far kept in green-$ATKF_N.log)"
	tb_stop green >/dev/null 2>&1 || true
	flowred_green_start
	ATKF_DIRTY=0
	atkf_up "$1" || tb_fail "alice cannot connect even after green's restart: testbed broken"
}

atkf_fresh() {
	local id=$1 prof=$2 ok=0
	atkf_down
	if atkf_up "$prof"; then
		ok=1
		atk_result "$id-fresh" pass "fresh connect: session $ATKF_SID, web $ATKF_WPORT answers, stream flowing"
	else
		atk_result "$id-fresh" fail "no fresh grant after the attack"
		ATKF_DIRTY=1
	fi
	[ "$ATKF_DIRTY" = 0 ] || atkf_restore "$prof"
	[ "$ok" = 1 ]
}
