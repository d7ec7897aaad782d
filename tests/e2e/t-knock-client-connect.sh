#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Client side of steps i-ii without the green daemon: a fake green made of
# wireguard-go + wg + the knock checker (kg-test-knock-recv) that adds the
# knocking client's key as a peer. `knockgate connect` must knock, bring
# its tunnel up and handshake (over IPv4, then IPv6); traffic must flow to green's tunnel
# address; `knockgate close` must remove everything. A profile with a
# wrong knock key gets no peer: connect times out, leaves nothing, and the
# fake green logs reason=unknown_id.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

tb_init
command -v wireguard-go >/dev/null || tb_skip "wireguard-go missing"
command -v wg >/dev/null || tb_skip "wireguard-tools missing"
kg="$KG_BUILD/client/knockgate"
recv="$KG_BUILD/tests/unit/knock/kg-test-knock-recv"
[ -x "$kg" ] && [ -x "$recv" ] || tb_skip "knockgate or kg-test-knock-recv not built in $KG_BUILD"
tb_up

export KG_RUN_DIR="$TB_DIR/run"
gif=$(tb_ifname gwg)
cif=$(tb_ifname cwg)
green=$(tb_addr green)

# Fake green: WireGuard on 51820 with 10.88.0.1, no peers yet.
(umask 077; wg genkey >"$TB_DIR/green.key")
gpub=$(wg pubkey <"$TB_DIR/green.key")
tb_exec green env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go "$gif" >/dev/null 2>&1
tb_exec green wg set "$gif" private-key "$TB_DIR/green.key" listen-port 51820
tb_exec green ip address add 10.88.0.1/16 dev "$gif"
tb_exec green ip link set "$gif" up
# Stands in for green's control port, reachable only through the tunnel.
tb_start green ctrl "$TB_DIR/ctrl.log" socat TCP-LISTEN:4433,bind=10.88.0.1,reuseaddr,fork /dev/null

key=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
mkdir -p "$TB_DIR/users.d" "$TB_DIR/profile" "$TB_DIR/badprofile"
cat >"$TB_DIR/users.d/alice.conf" <<EOC
[user alice]
knock_key = $key
tunnel_address = 10.88.1.10
spki_sha256 = $(printf '%064d' 0)
services = web
EOC
profile() {
	cat <<EOC
[profile]
user = alice
green_id = green1
green_address = ${2:-$green}
knock_port = 62201
green_wg_public_key = $gpub
green_wg_port = 51820
green_tunnel_address = 10.88.0.1
control_port = 4433
knock_key = $1
tunnel_address = 10.88.1.10
ca = ca.pem
EOC
}
profile "$key" >"$TB_DIR/profile/profile.conf"
mkdir -p "$TB_DIR/profile6"
profile "$key" "$(tb_addr green out 6)" >"$TB_DIR/profile6/profile.conf"
profile "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$TB_DIR/badprofile/profile.conf"
chmod 600 "$TB_DIR"/profile*/profile.conf "$TB_DIR/badprofile/profile.conf"  # holds the knock key: connect refuses it readable by others

# Its stdout ("accepted ...") and stderr (event=knock records) both go to recv.log.
tb_start green knockrecv "$TB_DIR/recv.log" "$recv" "$TB_DIR/users.d" "$gpub" 62201 120
# Adds each accepted knock's key as a peer, like green will (pending peer).
(
	seen=0
	while sleep 0.05; do
		n=$(grep -c '^accepted' "$TB_DIR/recv.log" 2>/dev/null || true)
		[ "${n:-0}" -gt "$seen" ] || continue
		seen=$n
		pub=$(grep '^accepted' "$TB_DIR/recv.log" | tail -1 | cut -d' ' -f3)
		ip netns exec "$(tb_ns green)" wg set "$gif" peer "$pub" allowed-ips 10.88.1.10/32
	done
) &
echo $! >"$TB_DIR/peeradder.pid"
sleep 0.3

tb_log "check: WireGuard peer list of green is empty before the knock"
[ -z "$(tb_exec green wg show "$gif" peers)" ] || tb_fail "green has peers before any knock"

tb_log "check: knockgate connect knocks, brings up $cif and handshakes"
if ! tb_exec client "$kg" connect --tunnel-only --profile "$TB_DIR/profile" --ifname "$cif" --timeout 20 >"$TB_DIR/connect.out" 2>&1; then
	cat "$TB_DIR/connect.out"; cat "$TB_DIR/recv.log"
	tb_fail "connect failed"
fi
cat "$TB_DIR/connect.out"
grep -q 'event=knock result=accepted reason=accepted user=alice src=198.51.100.10' "$TB_DIR/recv.log" ||
	tb_fail "fake green did not log the accepted knock"
tb_log "check: green sees a handshake with the client's ephemeral key"
hs=$(tb_exec green wg show "$gif" latest-handshakes | awk '{print $2}' | head -1)
[ "${hs:-0}" -gt 0 ] || tb_fail "no handshake on green's side"
tb_log "check: TCP through the tunnel reaches 10.88.0.1:4433 (green's control port)"
tb_tcp_probe client 10.88.0.1 4433 || tb_fail "no TCP through the tunnel to 10.88.0.1:4433"
tb_log "check: the session state is in \$KG_RUN_DIR for close/status"
[ -f "$KG_RUN_DIR/$cif.session" ] || tb_fail "no state file"

tb_log "check: knockgate close removes the interface and the state"
tb_exec client "$kg" close >/dev/null || tb_fail "close failed"
! tb_exec client ip link show "$cif" >/dev/null 2>&1 || tb_fail "$cif still exists"
[ ! -S "/var/run/wireguard/$cif.sock" ] || tb_fail "UAPI socket left"
[ ! -f "$KG_RUN_DIR/$cif.session" ] || tb_fail "state file left"

tb_log "check: the same over IPv6 (knock and WireGuard to $(tb_addr green out 6))"
tb_exec client "$kg" connect --tunnel-only --profile "$TB_DIR/profile6" --ifname "$cif" --timeout 20 >"$TB_DIR/connect6.out" 2>&1 ||
	{ cat "$TB_DIR/connect6.out"; tb_fail "connect over IPv6 failed"; }
grep -q "result=accepted reason=accepted user=alice src=$(tb_addr client out 6)" "$TB_DIR/recv.log" ||
	tb_fail "fake green did not accept the IPv6 knock"
tb_tcp_probe client 10.88.0.1 4433 || tb_fail "no TCP through the IPv6-carried tunnel"
tb_exec client "$kg" close --ifname "$cif" >/dev/null || tb_fail "close (IPv6) failed"

tb_log "check: a wrong knock key gets no peer; connect gives up and leaves nothing"
if tb_exec client "$kg" connect --tunnel-only --profile "$TB_DIR/badprofile" --ifname "$cif" --timeout 4 >"$TB_DIR/bad.out" 2>&1; then
	tb_fail "connect with a wrong knock key succeeded"
fi
grep -q 'no handshake with green' "$TB_DIR/bad.out" || { cat "$TB_DIR/bad.out"; tb_fail "wrong failure"; }
grep -q 'knocking again' "$TB_DIR/bad.out" || tb_fail "no re-knock while handshakes stalled"
grep -q 'event=knock result=rejected reason=unknown_id src=198.51.100.10' "$TB_DIR/recv.log" ||
	tb_fail "fake green did not log reason=unknown_id"
! tb_exec client ip link show "$cif" >/dev/null 2>&1 || tb_fail "$cif left after failure"
tb_log "PASS: connect/handshake/traffic/close over IPv4 and IPv6; wrong key refused (unknown_id) and cleaned up"
