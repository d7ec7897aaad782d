# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# lib-flow.sh: the whole user flow in the testbed (steps i to v): the
# namespaces of lib.sh, a lab from provisioning/kg-lab, knockgate-green
# with its gate sections, and pcscd + knockgate-vcard INSIDE the client's
# namespace (lib-card.sh), so `knockgate connect` there finds the card.
#
# Use (in this order; card_reexec must come before anything else):
#
#   here=$(cd "$(dirname "$0")" && pwd)
#   . "$here/lib.sh"; . "$here/lib-card.sh"; . "$here/lib-flow.sh"
#   card_reexec "$@"
#   flow_init               tb_init + tb_up + lab + pcscd in the client ns;
#                           skips (77) when a part is missing
#   flow_green_conf FILE    green.conf: lib.sh's [green]/[ips] plus
#                           [wireguard] [knock] [pki] [session] and
#                           [service web], [service ssh] on red1; extra
#                           text to append in $FLOW_GREEN_EXTRA, session
#                           keys in $FLOW_SESSION (e.g. "reproof_interval = 30")
#   flow_green_start        writes $FLOW_GCONF and starts green (log
#                           $FLOW_GLOG), waits for event=ready
#   flow_green_reload       SIGHUP green
#   flow_card USER          starts USER's virtual card (a fresh copy of
#                           $FLOW_LAB/users/USER/USER.card, PIN 123456)
#   flow_connect NAME PROFILE [ARGS...]   `knockgate connect` in the
#                           client ns in the background (tb_start name
#                           NAME, output $TB_DIR/NAME.out), PIN from a file
#   flow_wait_session NAME [T]   waits for the "session ID:" line; fails
#                           (with the output) if connect exits first
#   flow_wait_exit NAME [T] waits until connect NAME has exited; 0/1
#   flow_connect_once PROFILE [ARGS...]   connect in the foreground; its
#                           status is returned, output in $TB_DIR/once.out
#   flow_session_id NAME    the session id connect NAME printed (hex)
#   flow_sid_re HEX         regex matching that id in green's log (every
#                           record prints session ids as 16 hex digits)
#   flow_green_peers        green's WireGuard peers (one key a line)
#   flow_green_elems        elements of wg_open4/6, peers_pending,
#                           peers_live (one a line; empty: none)
#   flow_assert_nothing_open WHAT   fails unless no peer and no element
#   flow_glog REGEX         green log lines matching REGEX
#   flow_tunnel_probe [FROM]  0 if green's control port (10.88.0.1:4433)
#                           accepts a TCP connection through the tunnel
#                           (during a live session green then refuses it
#                           as already_connected: the session is untouched)
#   flow_enroll NAME [kg-user-enroll args]   a further user on green1
# Variables: FLOW_LAB (the lab), FLOW_GLOG, FLOW_GCONF, FLOW_GIF (green's
# WireGuard interface), FLOW_CIF (client's), FLOW_PIN (PIN file, 123456),
# FLOW_KG (the client binary); KG_RUN_DIR is per run.

FLOW_KG=$KG_BUILD/client/knockgate
FLOW_GREEN=$KG_BUILD/green/knockgate-green
_flow_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FLOW_PROV=$_flow_top/provisioning

flow_init() {
	[ -x "$FLOW_KG" ] || tb_skip "build $FLOW_KG first"
	[ -x "$FLOW_GREEN" ] || tb_skip "build $FLOW_GREEN first"
	command -v wg >/dev/null || tb_skip "wireguard-tools missing"
	command -v socat >/dev/null || tb_skip "socat missing"
	tb_init
	tb_up
	FLOW_LAB=$TB_DIR/lab
	KG_VCARD=$CARD_VCARD_BIN "$FLOW_PROV/kg-lab" "$FLOW_LAB" >"$TB_DIR/lab.log" 2>&1 ||
		{ cat "$TB_DIR/lab.log"; tb_fail "kg-lab"; }
	[ -f "$FLOW_LAB/users/alice/alice.card" ] || tb_skip "kg-lab made no card files"
	FLOW_GLOG=$TB_DIR/green.log
	FLOW_GCONF=$TB_DIR/green.conf
	FLOW_GIF=$(tb_ifname wg0)
	FLOW_CIF=$(tb_ifname c0)
	FLOW_PIN=$TB_DIR/pin
	printf '123456\n' >"$FLOW_PIN"
	chmod 600 "$FLOW_PIN"
	KG_RUN_DIR=$TB_DIR/run
	export KG_RUN_DIR FLOW_LAB
	card_setup "$(tb_ns client)"
	tb_log "flow: lab in $FLOW_LAB, pcscd in $(tb_ns client)"
}

flow_green_conf() {
	local f=$1 g=$FLOW_LAB/green
	tb_green_conf "$f"
	cat >>"$f" <<CONF

[wireguard]
private_key = $g/wg.key

[knock]
users_dir = $g/users.d

[pki]
ca = $g/ca.pem
crl = $g/crl.pem

[session]
${FLOW_SESSION:-}

[service web]
red = red1
address = $(tb_addr red in 4)

[service ssh]
red = red1
address = $(tb_addr red in 4)
CONF
	[ -z "${FLOW_GREEN_EXTRA:-}" ] || printf '\n%s\n' "$FLOW_GREEN_EXTRA" >>"$f"
}

flow_green_start() {
	flow_green_conf "$FLOW_GCONF"
	# FLOW_CONF_HOOK: a function given the file to edit before the check
	[ -z "${FLOW_CONF_HOOK:-}" ] || "$FLOW_CONF_HOOK" "$FLOW_GCONF"
	# A refused config is a failure, whatever it mentions: a scenario
	# must never vanish as a skip because green broke.
	if ! "$FLOW_GREEN" --check-config -c "$FLOW_GCONF" >"$TB_DIR/check.log" 2>&1; then
		cat "$TB_DIR/check.log"
		tb_fail "green.conf refused"
	fi
	tb_green_start "$FLOW_GCONF" "$FLOW_GLOG"
}

flow_green_reload() { kill -HUP "$(tb_pid green)"; }

flow_card() {
	local u=$1
	cp "$FLOW_LAB/users/$u/$u.card" "$TB_DIR/$u.card"
	chmod 600 "$TB_DIR/$u.card"
	card_start "$TB_DIR/$u.card"
}

flow_connect() {
	local name=$1 prof=$2
	shift 2
	tb_start client "$name" "$TB_DIR/$name.out" env KG_RUN_DIR="$KG_RUN_DIR" \
		"$FLOW_KG" connect --profile "$prof" --ifname "$FLOW_CIF" \
		--pin-file "$FLOW_PIN" "$@"
}

flow_wait_session() {
	local name=$1 t=${2:-30} pid _
	pid=$(tb_pid "$name")
	for _ in $(seq 1 $((t * 10))); do
		grep -qE '^session [0-9a-f]{16}:' "$TB_DIR/$name.out" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$TB_DIR/$name.out"
	tail -20 "$FLOW_GLOG"
	tb_fail "connect $name: no session"
}

flow_wait_exit() {
	local name=$1 t=${2:-10} pid _
	pid=$(tb_pid "$name") || return 0
	for _ in $(seq 1 $((t * 10))); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

flow_connect_once() {
	local prof=$1 rc=0
	shift
	tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" timeout 60 "$FLOW_KG" connect \
		--profile "$prof" --ifname "$FLOW_CIF" "$@" >"$TB_DIR/once.out" 2>&1 || rc=$?
	return "$rc"
}

flow_session_id() {
	sed -nE 's/^session ([0-9a-f]{16}):.*/\1/p' "$TB_DIR/$1.out" | head -1
}

flow_sid_re() { printf '%016x' "0x$1"; }

flow_green_peers() { tb_exec green wg show "$FLOW_GIF" peers 2>/dev/null || true; }

flow_green_elems() {
	local s
	for s in wg_open4 wg_open6 peers_pending peers_live; do
		# greedy: wg_open4/6 elements are concatenations (source .
		# port), whose own brackets must not end the list early
		tb_exec green nft -j list set inet knockgate "$s" 2>/dev/null |
			grep -oE '"elem": \[.*\]' | sed "s/^/$s /" || true
	done
}

flow_assert_nothing_open() {
	local what=$1 peers elems _
	# Green removes what it opened when it decides (peer, elements) and
	# the client its interface and state when it exits; wait for both, as
	# long as a loaded machine needs (the loop ends as soon as they are).
	for _ in $(seq 1 150); do
		peers=$(flow_green_peers)
		elems=$(flow_green_elems)
		[ -z "$peers$elems$(ls "$KG_RUN_DIR" 2>/dev/null)" ] &&
			! tb_exec client ip link show "$FLOW_CIF" >/dev/null 2>&1 && break
		sleep 0.1
	done
	[ -z "$peers" ] || tb_fail "$what: green still has WireGuard peer(s): $peers"
	[ -z "$elems" ] || tb_fail "$what: green's table still holds: $elems"
	[ -z "$(ls "$KG_RUN_DIR" 2>/dev/null)" ] || tb_fail "$what: client state left in $KG_RUN_DIR: $(ls "$KG_RUN_DIR")"
	! tb_exec client ip link show "$FLOW_CIF" >/dev/null 2>&1 ||
		tb_fail "$what: client interface $FLOW_CIF still exists"
	tb_log "ok: $what: no peer on green, no wg_open/peers_* element, no client interface or state"
}

flow_glog() { grep -E -- "$1" "$FLOW_GLOG" || true; }

flow_tunnel_probe() { tb_tcp_probe "${1:-client}" 10.88.0.1 4433; }

flow_enroll() {
	local u=$1
	shift
	"$FLOW_PROV/kg-user-enroll" --ca "$FLOW_LAB/ca" --green "$FLOW_LAB/green" \
		--out "$FLOW_LAB/users/$u" "$@" "$u" >>"$TB_DIR/lab.log" 2>&1 ||
		{ cat "$TB_DIR/lab.log"; tb_fail "kg-user-enroll $u"; }
}
