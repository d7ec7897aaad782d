#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sequence mode ([knock] sequence = yes) with Debian's knockd client: a
# user enrolled with a static sequence (kg-user-enroll --sequence) knocks
# 7001/tcp 7002/udp 7003/tcp with /usr/bin/knock; green opens its
# WireGuard port for that source and adds the user's static key as a
# pending peer; a WireGuard tunnel with that key then handshakes. The
# sequence ports are not counted as a scan. The wrong order (from
# client2) opens nothing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-knock.sh
. "$here/lib-knock.sh"

tb_init
[ -x /usr/bin/knock ] || tb_skip "/usr/bin/knock (knockd) missing"
tb_up
# carol is enrolled into the lab before green starts (knock_setup makes
# the lab, so enrol through a hook: a second start after enrolment).
KNOCK_SEQUENCE=yes TB_SCAN_PORTS=2 knock_setup
"$KG_BUILD/../provisioning/kg-user-enroll" --ca "$LAB/ca" --green "$LAB/green" \
	--out "$TB_DIR/carol" --sequence "7001/tcp, 7002/udp, 7003/tcp" carol >"$TB_DIR/enroll.log" 2>&1 ||
	{ cat "$TB_DIR/enroll.log"; tb_fail "kg-user-enroll --sequence failed"; }
# The users dir changed: green reloads it by itself (inotify).
tb_wait_log "$GREEN_LOG" "event=revocation result=reloaded reason=files_changed" 5 ||
	tb_fail "green did not reload the users dir"
green=$(tb_addr green)
client=$(tb_addr client)
client2=$(tb_addr client2)
tunnel=$(sed -n 's/^tunnel_address = //p' "$LAB/green/users.d/carol.conf")
cpub=$(cat "$TB_DIR/carol/wg.pub")

tb_log "check: green's table sends the sequence ports to the knock group"
tb_exec green nft list set inet knockgate seq_ports | grep -q 'tcp . 7001' ||
	tb_fail "seq_ports lacks tcp . 7001"

tb_log "check: the wrong order from client2 opens nothing"
tb_exec client2 knock "$green" 7003:tcp 7002:udp 7001:tcp
sleep 1
knock_nft_has wg_open4 "$client2" && tb_fail "wrong order opened the WireGuard port"
tb_exec green wg show "$GWG" peers | grep -qF "$cpub" && tb_fail "wrong order added carol's peer"
grep -q "event=ban result=banned src=$client2" "$GREEN_LOG" && tb_fail "sequence ports counted as a scan"

tb_log "check: knock $green 7001:tcp 7002:udp 7003:tcp opens green for the client"
tb_exec client knock -d 100 "$green" 7001:tcp 7002:udp 7003:tcp
tb_wait_log "$GREEN_LOG" "event=sequence result=accepted user=carol src=$client" 5 ||
	{ tail -20 "$GREEN_LOG"; tb_fail "no accepted sequence"; }
knock_nft_has wg_open4 "$client" || tb_fail "wg_open4 lacks the client"
knock_nft_has peers_pending "$tunnel" || tb_fail "peers_pending lacks $tunnel"
tb_exec green wg show "$GWG" allowed-ips | grep -F "$cpub" | grep -q "$tunnel/32" ||
	tb_fail "carol's static key is not a peer for $tunnel/32"

tb_log "check: a tunnel with carol's static key handshakes"
cif=$(tb_ifname cwg)
tb_exec client env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go "$cif" >/dev/null 2>&1
tb_exec client wg set "$cif" private-key "$TB_DIR/carol/wg.key" \
	peer "$(cat "$LAB/green/wg.pub")" endpoint "$green:51820" allowed-ips 10.88.0.1/32 persistent-keepalive 1
tb_exec client ip addr add "$tunnel/32" dev "$cif"
tb_exec client ip link set "$cif" up
tb_exec client ip route add 10.88.0.1/32 dev "$cif"
ok=""
for _ in $(seq 1 20); do
	tb_exec client ping -c 1 -W 1 10.88.0.1 >/dev/null 2>&1 || true
	hs=$(tb_exec client wg show "$cif" latest-handshakes | awk '{print $2}')
	[ "${hs:-0}" -gt 0 ] && { ok=1; break; }
	sleep 0.5
done
tb_exec client ip link del "$cif"
[ -n "$ok" ] || tb_fail "no handshake with carol's static key"
grep -q "event=ban result=banned src=$client " "$GREEN_LOG" && tb_fail "the client was banned"
tb_log "PASS: knockd's knock opens green (wg_open4, pending peer, handshake); wrong order opens nothing; no ban"
