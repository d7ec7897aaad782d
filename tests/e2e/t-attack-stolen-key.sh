#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attack battery, green side: a stolen knock key alone (alice's knock key from
# her profile, not her card). Alice's session is live from 198.51.100.10
# with web and stream granted through red and a stream running. The
# thief sends valid knocks (tests/e2e/lib-attack-green.sh atk_knocks: what
# anyone holding K can build) from the attacker's namespace with forged
# sources:
#   f-roam   8 knocks carrying alice's live WireGuard key (a thief learns
#            it by opening her captured knock with K) from 8 sources, more
#            than a session's roaming slots: alice's own source stays in
#            wg_open4 and stays her peer's endpoint, no ban of it, her
#            stream flows, her session lives.
#   f-roam-move  one lease (handshake_timeout, 130 s) after that, alice
#            moves to a new address: the thief's slots, silent all along,
#            must not keep her out (her tunnel and stream work again, same
#            session), and her stream through the grant flows again
#            (f-roam-move-stream); then a fresh connect. Only this check
#            waits a lease: a slot is freed only for a source that held it
#            that long.
#   f-cache  600 knocks (fresh nonces, random client keys) from 100
#            sources against a replay cache of 256 entries: bob (another
#            user, tunnel only) still knocks and gets a tunnel at once;
#            alice's session and stream are untouched. The cache is made
#            small so the attack stays bounded (65,536 entries by
#            default: the same fill, 256 times the packets).
# One "ATTACK id: PASS|FAIL" line each; exits 1 if any failed.
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
# shellcheck source=tests/e2e/lib-attack-green.sh
. "$here/lib-attack-green.sh"
card_reexec "$@"

CACHE=256
LEASE=130
export FLOW_SESSION="handshake_timeout = $LEASE"
atk_init
flowred_init
atkf_knock_conf "replay_cache = $CACHE"
atkf_green_start
atk_keep_logs
grep -q "^replay_cache = $CACHE" "$FLOW_GCONF" || tb_fail "green.conf has no replay_cache = $CACHE"
g4=$(tb_addr green out 4)
alice4=$(tb_addr client out 4)
prof=$FLOW_LAB/users/alice/profile
flow_card alice
atkf_up "$prof" || tb_fail "alice's first connect failed"

tb_log "f-roam: 8 knocks with alice's live WireGuard key from 198.51.100.230-237"
apub=$(tb_exec client wg show "$FLOW_CIF" public-key)
n0=$(grep -c . "$FLOW_GLOG")
atk_knocks "$TB_DIR/roam.bin" "$prof" 8 "$apub"
atk_send_knocks attacker "$TB_DIR/roam.bin" "$g4" 62201 198.51.100.230 8
sleep 1
tail -n +$((n0 + 1)) "$FLOW_GLOG" | grep -E 'event=(knock|session) .*user=alice' |
	sed -nE 's/.*event=(knock|session) result=([a-z_]+) reason=([a-z_]+).*/\1 \2 \3/p' | sort | uniq -c |
	while read -r line; do tb_log "  green (thief's knocks): $line"; done
why=""
flow_green_elems | grep -qE "wg_open4 .*\"$alice4\"|wg_open4 .*$alice4" || why="$why alice's source $alice4 left wg_open4"
tb_exec green wg show "$FLOW_GIF" endpoints | grep -q "	$alice4:" ||
	why="$why peer endpoint now $(tb_exec green wg show "$FLOW_GIF" endpoints | cut -f2)"
if [ -z "$why" ]; then
	atk_result f-roam-source pass "alice's source $alice4 still in wg_open4 and her peer's endpoint"
else
	atk_result f-roam-source fail "$why"
fi
atkf_check f-roam "$alice4" || true
t_fill=$(date +%s)

tb_log "f-cache: 600 valid knocks for alice (random client keys) from 198.51.100.128-227, replay cache $CACHE"
n0=$(grep -c . "$FLOW_GLOG")
atk_knocks "$TB_DIR/cache.bin" "$prof" 600
atk_send_knocks attacker "$TB_DIR/cache.bin" "$g4" 62201 198.51.100.128 100
sleep 2
tail -n +$((n0 + 1)) "$FLOW_GLOG" | grep -E 'event=knock .*user=alice' |
	sed -nE 's/.*event=knock result=([a-z_]+) reason=([a-z_]+).*/\1 \2/p' | sort | uniq -c |
	while read -r line; do tb_log "  green (thief's knocks): $line"; done
bcif=$(tb_ifname cb)
rc=0
tb_exec client2 env KG_RUN_DIR="$TB_DIR/run-bob" timeout 30 "$FLOW_KG" connect \
	--profile "$FLOW_LAB/users/bob/profile" --ifname "$bcif" --tunnel-only --timeout 10 \
	>"$TB_DIR/bob.out" 2>&1 || rc=$?
bobrec=$(grep -E 'event=knock .*user=bob' "$FLOW_GLOG" | tail -1)
if [ "$rc" = 0 ] && tb_exec client2 wg show "$bcif" latest-handshakes | grep -qv '	0$'; then
	atk_result f-cache-bob pass "bob knocked and got a tunnel right after the fill ($bobrec)"
else
	atk_result f-cache-bob fail "bob's connect: rc=$rc $(tail -1 "$TB_DIR/bob.out"); green: $bobrec"
fi
tb_exec client2 env KG_RUN_DIR="$TB_DIR/run-bob" "$FLOW_KG" close --ifname "$bcif" >/dev/null 2>&1 || true
tb_exec client2 ip link del "$bcif" 2>/dev/null || true
atkf_check f-cache "$alice4" || true

wait_s=$((t_fill + LEASE + 3 - $(date +%s)))
tb_log "f-roam-move: waiting ${wait_s} s, until the thief's sources have held their slots for a lease ($LEASE s)"
[ "$wait_s" -le 0 ] || sleep "$wait_s"
newsrc=198.51.100.12
n0=$(grep -c . "$FLOW_GLOG")
tb_exec client sysctl -qw net.ipv4.conf.eth0.promote_secondaries=1
tb_exec client ip addr add "$newsrc/24" dev eth0
tb_exec client ip addr del "$alice4/24" dev eth0
tb_log "f-roam-move: alice moved from $alice4 to $newsrc"
why="" ok=0
t_end=$(($(date +%s) + 30))
while [ "$(date +%s)" -lt "$t_end" ]; do
	if flow_tunnel_probe; then ok=1; break; fi
	sleep 0.5
done
[ "$ok" = 1 ] || why="$why tunnel-dead-after-move"
tail -n +$((n0 + 1)) "$FLOW_GLOG" | grep -E "event=session .*src=$newsrc( |$)" |
	sed -nE 's/.*event=session result=([a-z_]+) reason=([a-z_]+).*/\1 \2/p' | sort | uniq -c |
	while read -r line; do tb_log "  green (alice's knock from $newsrc): $line"; done
atkf_alive || why="$why session-ended"
[ -z "$(atk_ban_covering "$newsrc")" ] || why="$why ban:[$(atk_ban_covering "$newsrc" | tr '\n' ' ')]"
if [ -z "$why" ]; then
	atk_result f-roam-move pass "alice roamed to $newsrc past the thief's slots: tunnel works, session $ATKF_SID unchanged"
else
	atk_result f-roam-move fail "$why; green: $(tail -n +$((n0 + 1)) "$FLOW_GLOG" | grep -E "event=session .*user=alice" | tail -1)"
fi
# Her granted stream must come back too (TCP backs off while the path is
# down: up to 18 s). A separate line: besides the slots, this needs the
# client to keep its services' allowed-ips when it re-knocks.
ok=0
for _ in 1 2 3 4 5 6; do
	if atk_flowing "$ATKF_STREAM" 3; then ok=1; break; fi
done
if [ "$ok" = 1 ]; then
	atk_result f-roam-move-stream pass "alice's stream through the grant flows again after the move"
else
	atk_result f-roam-move-stream fail "alice's stream stopped at the move; her tunnel's allowed-ips: $(tb_exec client wg show "$FLOW_CIF" allowed-ips | cut -f2)"
fi
atkf_fresh f-roam "$prof" || true

atkf_down
atk_finish
tb_log "PASS: a stolen knock key alone neither displaced alice's source, nor kept her from roaming, nor locked bob out"
