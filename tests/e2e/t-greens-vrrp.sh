#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An active/standby pair on one published address. green1 and green2
# (lib-greens.sh: each its own keys, tunnel range and site link to red)
# run keepalived in their namespaces: VRRP unicast on the inside link
# (203.0.113.1 <-> .3, let in by [green] vrrp_peers), the address
# 198.51.100.20 on the master's outside interface. alice's profile lists
# both greens under that one address. (1) alice connects through the
# master (green1) and reads the stream. (2) A wrong_green knock (one for
# green1's key, at green2) bans nobody. (3) The master stops (keepalived
# stopped, green1's daemon killed): the address moves to green2, alice's
# client finds its traffic unanswered, knocks with green2's key at the
# same address and reads the stream through green2 (timed). (4) The
# master returns and takes the address back: alice's client moves back
# to green1 by itself.
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
command -v keepalived >/dev/null || tb_skip "keepalived missing (tests/install-deps.sh)"

VIP=198.51.100.20
# each green lets the other's VRRP in
vrrp_peer() {
	local f=$1 peer=203.0.113.3
	grep -q "^users_dir = .*/green2/" "$f" && peer=203.0.113.1
	sed -i "/^\[green\]/a vrrp_peers = $peer" "$f"
}
FLOW_CONF_HOOK=vrrp_peer

# keepalived ROLE NAME PRIO SRC PEER: one keepalived (VRRPv3, 100 ms
# adverts) in ROLE's namespace, its pid files in $TB_DIR.
keepalived_start() {
	local role=$1 name=$2 prio=$3 src=$4 peer=$5 c=$TB_DIR/$2.conf
	cat >"$c" <<CONF
global_defs {
	vrrp_version 3
	script_user root
}
vrrp_instance kg {
	state BACKUP
	interface eth1
	virtual_router_id 51
	priority $prio
	advert_int 0.1
	unicast_src_ip $src
	unicast_peer {
		$peer
	}
	virtual_ipaddress {
		$VIP/24 dev eth0
	}
}
CONF
	tb_start "$role" "$name" "$TB_DIR/$name.log" keepalived -n -l -D -G -P -f "$c" \
		-p "$TB_DIR/$name.main.pid" -r "$TB_DIR/$name.vrrp.pid" -c "$TB_DIR/$name.chk.pid"
}
has_vip() { ip -n "$(tb_ns "$1")" -4 addr show dev eth0 | grep -q " $VIP/"; }
wait_vip() {
	local _
	for _ in $(seq 1 100); do has_vip "$1" && return 0; sleep 0.05; done
	tail -5 "$TB_DIR/ka1.log" "$TB_DIR/ka2.log"
	tb_fail "the address never reached $1"
}
# traffic of alice's own until a grant of the stream after line $2 of
# a1.out answers; prints the gport
until_stream_after() {
	local from=$1 prev=$2 line gport _
	for _ in $(seq 1 200); do
		line=$(tail -n +"$from" "$TB_DIR/a1.out" | grep -E "^service stream at " | tail -1 || true)
		if [ -n "$line" ]; then
			gport=$(sed -nE 's/^service [^ ]+ at [0-9.]+:([0-9]+) .*/\1/p' <<<"$line")
			greens_stream_read "$gport" && { echo "$gport"; return 0; }
		else
			tb_exec client timeout 0.3 socat -u "TCP4:10.89.0.2:$prev,connect-timeout=0.2" - </dev/null >/dev/null 2>&1 || true
		fi
		sleep 0.05
	done
	return 1
}

FLOWRED_LEASE=10
greens_init
flowred_green_start
greens_green2_start
keepalived_start green ka1 150 203.0.113.1 203.0.113.3
keepalived_start green2 ka2 100 203.0.113.3 203.0.113.1
wait_vip green
sleep 0.5
has_vip green2 && tb_fail "both greens hold $VIP"
tb_log "ok: $VIP on green1 (master), green2 standby"
# one address for both greens in alice's profile
prof=$TB_DIR/alice-pair
mkdir -m 700 "$prof"
cp "$FLOW_LAB/users/alice/profile/ca.pem" "$prof/"
sed -e "s/^green_address = .*/green_address = $VIP/" "$FLOW_LAB/users/alice/profile/profile.conf" >"$prof/profile.conf"
chmod 600 "$prof/profile.conf"
[ "$(grep -c "^green_address = $VIP" "$prof/profile.conf")" = 2 ] || tb_fail "the pair's profile does not list both greens"

tb_log "part 1: alice through the master"
flow_card alice
flow_connect a1 "$prof" stream
flow_wait_session a1
grep -q "^connected: .* green green1," "$TB_DIR/a1.out" || { cat "$TB_DIR/a1.out"; tb_fail "connect did not take green1 at $VIP"; }
flowred_grant a1 stream
port1=$FR_PORT
greens_stream_read "$port1" || tb_fail "no stream through green1"
tb_log "ok: stream through green1 at 10.89.0.2:$port1"

tb_log "part 2: knocks for green1 at green2 (wrong_green) ban nobody"
pub=$(wg genkey | wg pubkey)
for i in $(seq 1 12); do
	"$KG_BUILD/tests/tools/kg-knock-build" "$FLOW_LAB/users/alice/profile" "$pub" "$TB_DIR/k$i" ||
		tb_fail "kg-knock-build"
	tb_exec client socat -u "OPEN:$TB_DIR/k$i" "UDP4-SENDTO:198.51.100.2:62201" || true
done
sleep 0.5
tb_exec green2 nft list set inet knockgate banned4 | grep -q "198.51.100.10" &&
	tb_fail "green2 banned alice for knocks meant for green1"
tb_log "ok: 12 knocks for green1 at green2, alice not banned there ($(grep -c 'reason=wrong_green' "$TB_DIR/green2.log" || true) reached the checker)"

tb_log "part 3: the master stops"
lines=$(wc -l <"$TB_DIR/a1.out")
t0=$(date +%s%N)
tb_stop ka1 TERM
kill -KILL "$(tb_pid green)"
wait_vip green2
tv=$(date +%s%N)
port2=$(until_stream_after "$lines" "$port1") || { cat "$TB_DIR/a1.out"; tail -5 "$TB_DIR/green2.log"; grep -E "sknock|error|warn|site" "$TB_DIR/red.log" | tail -15; tb_exec red wg show all; tb_exec red nft list ruleset | grep -E "knock|10.89" | head -20; tb_fail "no stream through green2 at $VIP"; }
t1=$(date +%s%N)
grep -q "^connected: .* green green2," "$TB_DIR/a1.out" || { cat "$TB_DIR/a1.out"; tb_fail "the client did not move to green2"; }
ms=$(((t1 - t0) / 1000000))
tb_log "vrrp timing: address on green2 $(((tv - t0) / 1000000)) ms, stream through green2 $ms ms after the master stopped"
echo "VRRP_FAILOVER_MS=$ms"

tb_log "part 4: the master returns"
lines=$(wc -l <"$TB_DIR/a1.out")
flow_green_start
keepalived_start green ka1 150 203.0.113.1 203.0.113.3
wait_vip green
t0=$(date +%s%N)
for _ in $(seq 1 40); do has_vip green2 || break; sleep 0.05; done
has_vip green2 && tb_fail "green2 kept $VIP after the master returned"
port3=$(until_stream_after "$lines" "$port2") || { cat "$TB_DIR/a1.out"; tail -5 "$FLOW_GLOG"; tb_fail "no stream through green1 after its return"; }
tail -n +"$lines" "$TB_DIR/a1.out" | grep -q "^connected: .* green green1," || { cat "$TB_DIR/a1.out"; tb_fail "the client did not move back to green1"; }
ms2=$((($(date +%s%N) - t0) / 1000000))
tb_log "ok: master back; stream through green1 again at $port3 ($ms2 ms after the address moved back)"
tb_stop a1 TERM || true
tb_log "PASS: t-greens-vrrp (standby serves ${ms} ms after the master stopped; the client follows the master back)"
