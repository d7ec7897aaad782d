#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A stolen knock key cannot push the real user out of her session's
# roaming slots. Alice's session is live from 198.51.100.10.
# The thief holds alice's knock key and her session's WireGuard public
# key (both in a decrypted knock), not the private key: it knocks from
# new sources in the attacker's namespace.
#   1  three new sources fill the other three slots (add_source); a fourth
#      is refused (reason=sources_busy): every slot is young;
#   2  one lease later the thief's sources never sent a WireGuard packet,
#      alice's did (wg_seen4): a fifth source frees the oldest SILENT slot
#      (a thief's), never alice's, whose opening and tunnel stay.
# Break silent_slot() in green/session.c (free the oldest slot whatever
# it did) and part 2 frees alice's source: the test fails.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-card.sh
. "$here/lib-card.sh"
# shellcheck source=tests/e2e/lib-flow.sh
. "$here/lib-flow.sh"
card_reexec "$@"

BUILD_KNOCK=$KG_BUILD/tests/tools/kg-knock-build
[ -x "$BUILD_KNOCK" ] || tb_skip "build $BUILD_KNOCK first"
LEASE=130   # handshake_timeout: its minimum, the session's lease
FLOW_SESSION="handshake_timeout = $LEASE"

flow_init
flow_green_start
flow_card alice
flow_connect a1 "$FLOW_LAB/users/alice/profile"
flow_wait_session a1
csrc=$(tb_addr client out 4)
green=$(tb_addr green out 4)
cpub=$(tb_exec client wg show "$FLOW_CIF" public-key)
sid=$(flow_session_id a1)
tb_log "alice's session $sid live from $csrc (client key $cpub)"

# thief_knock N: a knock with alice's key and her session's WireGuard key
# from 198.51.100.N (an address of the attacker's namespace).
thief_knock() {
	local src=198.51.100.$1
	tb_exec attacker ip addr add "$src/24" dev eth0 2>/dev/null || true
	"$BUILD_KNOCK" "$FLOW_LAB/users/alice/profile" "$cpub" "$TB_DIR/k$1" ||
		tb_fail "kg-knock-build"
	tb_exec attacker socat -u "OPEN:$TB_DIR/k$1" "UDP4-SENDTO:$green:62201,bind=$src"
}

# wait_rec REGEX: up to 5 s for a green record matching REGEX.
wait_rec() {
	local _
	for _ in $(seq 1 50); do
		flow_glog "$1" | grep -q . && return 0
		sleep 0.1
	done
	tail -20 "$FLOW_GLOG"
	tb_fail "no record matching: $1"
}

alice_ok() {
	flow_green_elems | grep -q "^wg_open4 .*\"$csrc\"" ||
		flow_green_elems | grep -q "^wg_open4 .*$csrc" ||
		tb_fail "$1: alice's source $csrc lost its WireGuard opening"
	flow_tunnel_probe || tb_fail "$1: alice's tunnel carries nothing"
	[ -z "$(flow_glog 'event=session result=ended')" ] || tb_fail "$1: a session ended: $(flow_glog 'event=session result=ended')"
}

tb_log "part 1: the thief fills the free slots, then is refused"
for n in 70 71 72; do
	thief_knock "$n"
	wait_rec "event=session result=live reason=add_source .*src=198\.51\.100\.$n "
done
thief_knock 73
wait_rec "event=session result=refused reason=sources_busy .*src=198\.51\.100\.73 "
flow_glog "reason=sources_busy" | grep -q "session=$(flow_sid_re "$sid")" ||
	tb_fail "the sources_busy record does not name alice's session"
alice_ok "after the refusal"
tb_log "ok: 3 thief sources added, the 4th refused (sources_busy); alice untouched"

tb_log "part 2: one lease ($LEASE s) later, a 5th source may only take a silent slot"
sleep $((LEASE + 5))
tb_exec green nft list set inet knockgate wg_seen4 | grep -qF "$csrc" ||
	tb_fail "wg_seen4 lost alice's source although her WireGuard keepalives flow"
! tb_exec green nft list set inet knockgate wg_seen4 | grep -qF "198.51.100.70" ||
	tb_fail "wg_seen4 holds a thief source that never sent WireGuard"
thief_knock 74
wait_rec "event=session result=source_freed .*src=198\.51\.100\.70( |$)"
wait_rec "event=session result=live reason=move_source .*src=198\.51\.100\.74 "
! flow_glog "result=source_freed" | grep -q "src=$csrc" || tb_fail "alice's source was freed for the thief"
! flow_green_elems | grep -q "198.51.100.70" || tb_fail "the freed source 198.51.100.70 is still open"
alice_ok "after the 5th source"
tb_log "PASS: a stolen knock key filled the free slots, was refused while they were young, and later took only its own silent slot; alice's source and tunnel stayed"
