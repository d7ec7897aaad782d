# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for the knock and tunnel scenarios (t-knock-*.sh): a lab from
# provisioning/kg-lab, green running with its own WireGuard interface,
# users from the lab, and the real client. Source after lib.sh; call
# knock_setup after tb_up.
#
#   knock_setup [EXTRA_CONF_FILE]   lab in $LAB, green.conf, green started
#   knock_conf FILE                 the gate's sections for the lab
#   knock_connect PROFILE IFNAME    knockgate connect (tunnel only)
#   knock_nft_has SET ADDR          0 if green's SET holds ADDR
# Vars: LAB, KG_BIN (client), GREEN_LOG, GWG (green's WireGuard ifname).

KG_BIN="$KG_BUILD/client/knockgate"

knock_conf() {
	local f=$1
	tb_green_conf "$f"
	cat >>"$f" <<CONF

[wireguard]
private_key = $LAB/green/wg.key

[knock]
users_dir = $LAB/green/users.d
sequence = ${KNOCK_SEQUENCE:-no}

[pki]
ca = $LAB/green/ca.pem
crl = $LAB/green/crl.pem

[session]
handshake_timeout = ${KNOCK_HANDSHAKE_TIMEOUT:-130}

[service web]
red = red1
address = $(tb_addr red in 4)

[service ssh]
red = red1
address = $(tb_addr red in 4)
CONF
}

knock_setup() {
	command -v wireguard-go >/dev/null || tb_skip "wireguard-go missing"
	command -v wg >/dev/null || tb_skip "wireguard-tools missing"
	[ -x "$KG_BUILD/green/knockgate-green" ] && [ -x "$KG_BIN" ] ||
		tb_skip "knockgate-green or knockgate not built in $KG_BUILD"
	LAB=$TB_DIR/lab
	GREEN_LOG="$TB_DIR/green.log"
	GWG=$(tb_ifname wg0)
	"$KG_BUILD/../provisioning/kg-lab" "$LAB" >"$TB_DIR/lab.log" 2>&1 ||
		{ tail "$TB_DIR/lab.log"; tb_fail "kg-lab failed"; }
	export KG_RUN_DIR="$TB_DIR/run"
	knock_conf "$TB_DIR/green.conf"
	[ -z "${1:-}" ] || cat "$1" >>"$TB_DIR/green.conf"
	# debug: the scan group's event=drop records show what the table dropped
	# shellcheck disable=SC2086
	tb_start green green "$GREEN_LOG" "${TB_GREEN_BIN:-$KG_BUILD/green/knockgate-green}" -f \
		-c "$TB_DIR/green.conf" -l debug ${TB_GREEN_ARGS:-}
	tb_wait_ready "$GREEN_LOG"
	tb_exec green ip link show "$GWG" >/dev/null 2>&1 ||
		tb_fail "green is ready but its WireGuard interface $GWG is missing"
}

# Tunnel only: the client's options to stop before the card proof, if it
# has one (the card proof is step iii, tested by t-auth-*.sh).
knock_connect() {
	local profile=$1 ifn=$2 stop=""
	shift 2
	"$KG_BIN" connect --help 2>&1 | grep -q -- '--tunnel-only' && stop=--tunnel-only
	tb_exec client "$KG_BIN" connect --profile "$profile" --ifname "$ifn" $stop "$@"
}

knock_nft_has() {
	tb_exec green nft list set inet knockgate "$1" 2>/dev/null | grep -qw -- "$2"
}
