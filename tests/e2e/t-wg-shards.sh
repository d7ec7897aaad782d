#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Green with two WireGuard shards ([green] wg_shards = 2): the tunnel
# prefix 10.88.0.0/16 split into 10.88.0.0/17 (shard 0, wg_interface on
# 51820) and 10.88.128.0/17 (shard 1, wg_interface + "s1" on 51821):
#     (and fd88::/64 into fd88::/65 and fd88::8000:0:0:0/65);
#   - kg-user-enroll gives alice (10.88.1.x, from kg-lab) port 51820 and
#     carol (pool 10.88.200.10-20) port 51821 in their profiles;
#   - both real card clients (carol in a namespace of her own; her record
#     pins alice's certificate, so one virtual card serves both) both
#     live at once, each passing traffic through its tunnel;
#   - `wg show`: each shard holds its own peer on its own port, the
#     ruleset names both interfaces;
#   - a knock opens only its shard's port: wg_open4 holds alice's
#     source . 51820 and carol's . 51821, not the other port; UDP from
#     alice's namespace to shard 1's port is dropped by green's table
#     (counted by the named counter wg_closed), the same to 51820 is not;
#   - carol aiming at shard 0's port (her profile edited) gets no
#     handshake and no session;
#   - after green stops no shard interface is left, nor after a start
#     that fails because shard 1's port is taken (green exits dark).
# Green runs privilege-separated (-P, as its unit does): the monitor
# makes and feeds every shard.
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
shards_conf() { sed -i 's/^tunnel_address = 10.88.0.1$/&\ntunnel_prefix_len = 16\nwg_shards = 2\ntunnel_prefix6 = fd88::\/64/' "$1"; }
FLOW_CONF_HOOK=shards_conf
S1=${FLOW_GIF}s1
[ ${#S1} -le 15 ] || tb_skip "interface prefix too long for a shard name"

tb_log "step: enroll carol with wg_shards = 2 (her address in shard 1's block)"
flow_enroll carol --wg-shards 2 --tunnel-prefix-len 16 --tunnel-pool 10.88.200.10-20 \
	--tunnel-address6 fd88::8000:0:0:10
prof_a=$FLOW_LAB/users/alice/profile/profile.conf
prof_c=$FLOW_LAB/users/carol/profile/profile.conf
grep -qx "green_wg_port = 51820" "$prof_a" || tb_fail "alice's profile: $(grep green_wg_port "$prof_a")"
grep -qx "tunnel_address = 10.88.200.10" "$prof_c" && grep -qx "green_wg_port = 51821" "$prof_c" ||
	{ cat "$prof_c"; tb_fail "carol's profile lacks shard 1's port 51821"; }
pin=$(sed -nE 's/^spki_sha256 *= *//p' "$FLOW_LAB/green/users.d/alice.conf")
sed -i -E "s/^spki_sha256 = .*/spki_sha256 = $pin/" "$FLOW_LAB/green/users.d/carol.conf"
tb_log "ok: enroll wrote green_wg_port 51820 (alice, 10.88.1.x) and 51821 (carol, 10.88.200.10)"

ip netns add "$(tb_ns carol)"
TB_ROLES="$TB_ROLES carol"   # tb_cleanup removes it with the rest
ip -n "$(tb_ns carol)" link set lo up
tb_link carol out eth0
ip -n "$(tb_ns carol)" addr add 198.51.100.21/24 dev eth0

id knockgate >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin knockgate ||
	tb_fail "cannot create the knockgate system user"
TB_GREEN_ARGS="-P -u knockgate" flow_green_start
grep -q "event=privsep result=started" "$FLOW_GLOG" || tb_fail "green did not start privilege-separated"
tb_exec green nft list chain inet knockgate forward | grep -q "iifname { \"$FLOW_GIF\", \"$S1\" } drop" ||
	{ tb_exec green nft list chain inet knockgate forward; tb_fail "forward chain does not name both shards"; }
[ "$(tb_exec green wg show "$S1" listen-port)" = 51821 ] || tb_fail "$S1 is not on 51821"
tb_exec green ip route show dev "$S1" | grep -q "^10.88.128.0/17" ||
	{ tb_exec green ip route; tb_fail "no route for shard 1's block"; }
tb_exec green ip -6 route show dev "$S1" | grep -q "^fd88::8000:0:0:0/65" ||
	{ tb_exec green ip -6 route; tb_fail "no IPv6 route for shard 1's block"; }
tb_log "ok: $S1 up on 51821 with routes 10.88.128.0/17 and fd88::8000:0:0:0/65; the ruleset names both"

tb_log "step: alice (shard 0), then carol (shard 1) connect (one card: one proof at a time)"
flow_card alice
flow_connect alice "$FLOW_LAB/users/alice/profile"
flow_wait_session alice
tb_start carol carol "$TB_DIR/carol.out" env KG_RUN_DIR="$TB_DIR/run-carol" \
	"$FLOW_KG" connect --profile "$FLOW_LAB/users/carol/profile" \
	--ifname "$(tb_ifname c2)" --pin-file "$FLOW_PIN"
flow_wait_session carol
flow_tunnel_probe client || tb_fail "alice's tunnel (shard 0) carries nothing"
flow_tunnel_probe carol || tb_fail "carol's tunnel (shard 1) carries nothing"
tb_log "ok: both live, both pass traffic to 10.88.0.1:4433 through their tunnels"

tb_log "check: wg show: one peer on each shard, the right one"
akey=$(tb_exec client wg show "$FLOW_CIF" private-key | wg pubkey)
ckey=$(tb_exec carol wg show "$(tb_ifname c2)" private-key | wg pubkey)
[ "$(tb_exec green wg show "$FLOW_GIF" peers)" = "$akey" ] ||
	tb_fail "shard 0's peers: $(tb_exec green wg show "$FLOW_GIF" peers | tr '\n' ' ') (alice: $akey)"
[ "$(tb_exec green wg show "$S1" peers)" = "$ckey" ] ||
	tb_fail "shard 1's peers: $(tb_exec green wg show "$S1" peers | tr '\n' ' ') (carol: $ckey)"
tb_exec green wg show "$S1" allowed-ips | grep "10.88.200.10/32" | grep -q "fd88::8000:0:0:10/128" ||
	tb_fail "carol's peer lacks 10.88.200.10/32 or fd88::8000:0:0:10/128: $(tb_exec green wg show "$S1" allowed-ips)"
tb_log "ok: $FLOW_GIF holds alice's peer, $S1 carol's"

tb_log "check: each knock opened its own shard's port only (source . port)"
asrc=$(tb_addr client)
csrc=198.51.100.21
has_open() { tb_exec green nft get element inet knockgate wg_open4 "{ $1 . $2 }" >/dev/null 2>&1; }
has_open "$asrc" 51820 || { flow_green_elems; tb_fail "wg_open4 lacks $asrc . 51820 (alice, shard 0)"; }
has_open "$csrc" 51821 || { flow_green_elems; tb_fail "wg_open4 lacks $csrc . 51821 (carol, shard 1)"; }
! has_open "$asrc" 51821 || tb_fail "alice's knock opened shard 1's port 51821"
! has_open "$csrc" 51820 || tb_fail "carol's knock opened shard 0's port 51820"
closed() { tb_exec green nft -j list counter inet knockgate wg_closed |
	grep -oE '"packets": [0-9]+' | grep -oE '[0-9]+'; }
gout=$(tb_addr green)
probe() {   # 5 datagrams of junk from alice's namespace to green's port $1
	for _ in 1 2 3 4 5; do
		echo kg-shard-probe | tb_exec client socat -u - "UDP4-SENDTO:$gout:$1,sourceport=40999"
	done
}
c0=$(closed)
probe 51820
c1=$(closed)
probe 51821
c2=$(closed)
[ -n "$c0" ] || tb_fail "no counter wg_closed in green's table"
[ "$c1" = "$c0" ] || tb_fail "alice's datagrams to her own port 51820 were counted closed ($c0 -> $c1)"
[ $((c2 - c1)) -ge 5 ] || tb_fail "alice's datagrams to shard 1's port 51821 were not dropped (wg_closed $c1 -> $c2)"
tb_log "ok: wg_open4 holds $asrc . 51820 and $csrc . 51821 only; alice's 5 datagrams to 51821 dropped by the table (wg_closed $c1 -> $c2), to 51820 let in"

tb_log "step: carol closes, then aims at shard 0's port"
tb_exec carol env KG_RUN_DIR="$TB_DIR/run-carol" "$FLOW_KG" close >/dev/null 2>&1 || tb_fail "carol's close failed"
flow_wait_exit carol 10 || tb_fail "carol's connect still running after close"
for _ in $(seq 1 50); do [ -z "$(tb_exec green wg show "$S1" peers)" ] && break; sleep 0.1; done
[ -z "$(tb_exec green wg show "$S1" peers)" ] || tb_fail "carol's peer outlived her close"
mkdir -p "$TB_DIR/wrong"
cp -r "$FLOW_LAB/users/carol/profile/." "$TB_DIR/wrong/"
sed -i 's/^green_wg_port = 51821$/green_wg_port = 51820/' "$TB_DIR/wrong/profile.conf"
rc=0
cw0=$(closed)
tb_exec carol env KG_RUN_DIR="$TB_DIR/run-carol" timeout 8 "$FLOW_KG" connect \
	--profile "$TB_DIR/wrong" --ifname "$(tb_ifname c2)" --pin-file "$FLOW_PIN" \
	>"$TB_DIR/wrong.out" 2>&1 || rc=$?
[ "$rc" != 0 ] && ! grep -qE '^session [0-9a-f]{16}:' "$TB_DIR/wrong.out" ||
	{ cat "$TB_DIR/wrong.out"; tb_fail "carol got a session through shard 0's port"; }
hs=$(tb_exec green wg show "$S1" latest-handshakes | awk '{print $2}')
[ -z "$hs" ] || [ "$hs" = 0 ] || tb_fail "carol's peer on $S1 has a handshake ($hs)"
! tb_exec green wg show "$FLOW_GIF" peers | grep -qx "$ckey" || tb_fail "carol's key is a peer on shard 0"
cw1=$(closed)
[ "$cw1" -gt "$cw0" ] || tb_fail "carol's handshakes to 51820 were not dropped by the table (wg_closed $cw0 -> $cw1)"
! has_open "$csrc" 51820 || tb_fail "carol's knock opened shard 0's port 51820"
tb_log "ok: aimed at 51820 carol got nothing (connect exit $rc, no handshake on either shard, her handshakes dropped by the table: wg_closed $cw0 -> $cw1)"
tb_exec carol ip link del "$(tb_ifname c2)" 2>/dev/null || true

tb_log "step: green stops: no shard interface is left"
tb_stop alice
tb_stop green || true
for i in "$FLOW_GIF" "$S1"; do
	! tb_exec green ip link show "$i" >/dev/null 2>&1 || tb_fail "$i left after green stopped"
	[ ! -e "/var/run/wireguard/$i.sock" ] || tb_fail "wireguard-go socket of $i left"
done
tb_log "ok: $FLOW_GIF and $S1 gone after the stop"

tb_log "step: shard 1's port taken: green's start fails, dark, no shard left"
tb_start green squat "$TB_DIR/squat.log" socat -u UDP4-RECV:51821 /dev/null
for _ in $(seq 1 30); do tb_exec green ss -Hlun "sport = :51821" | grep -q . && break; sleep 0.1; done
tb_start green green2 "$TB_DIR/green2.log" "$FLOW_GREEN" -f -c "$FLOW_GCONF" -P -u knockgate
rc=0
wait "$(tb_pid green2)" || rc=$?
[ "$rc" != 0 ] || tb_fail "green started with shard 1's port taken"
grep -q "event=dark result=installed reason=start_failed" "$TB_DIR/green2.log" ||
	{ tail -5 "$TB_DIR/green2.log"; tb_fail "no dark table after the failed start"; }
for i in "$FLOW_GIF" "$S1"; do
	! tb_exec green ip link show "$i" >/dev/null 2>&1 || tb_fail "$i left after the failed start"
done
tb_stop squat || true
why=$(grep -F "$S1" "$TB_DIR/green2.log" | tail -1)
[ -n "$why" ] || { cat "$TB_DIR/green2.log"; tb_fail "the failed start does not name $S1"; }
tb_log "ok: failed start (exit $rc), dark: $why"
tb_log "PASS: two WireGuard shards: enroll's ports, one peer a shard, traffic on both, each knock opens its own shard's port only, wrong port refused, all removed at stop and after a failed start"
