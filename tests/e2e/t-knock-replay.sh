#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Captured knocks and spoofed junk against the real green. The client
# connects (tunnel only); its knock is captured on green's outside link.
# The attacker replays it from its own address and with the client's
# address spoofed: green logs reason=duplicate, opens nothing for the
# attacker (no wg_open4 element, and no handshake is possible without the
# client's ephemeral private key), and bans nobody. Junk knocks never reach
# green (the key-id pre-filter drops them in the kernel: counted, no
# record but the sampled prefilter_miss). Forged knocks (the captured
# knock, its current key id kept, its tag changed) spoofed from the
# connected client's address do not ban the client (its session exempts
# it), while the same from the attacker's own address bans the attacker
# (so the check can fail). The client's tunnel still works.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-knock.sh
. "$here/lib-knock.sh"

tb_init
command -v tcpdump >/dev/null || tb_skip "tcpdump missing"
command -v xxd >/dev/null || tb_skip "xxd missing"
tb_up
knock_setup
cif=$(tb_ifname cwg)
green=$(tb_addr green)
client=$(tb_addr client)
attacker=$(tb_addr attacker)

tb_start green capture "$TB_DIR/tcpdump.log" tcpdump -Z root -i eth0 -U -n -c 1 -w "$TB_DIR/knock.pcap" udp dst port 62201
sleep 1
knock_connect "$LAB/users/alice/profile" "$cif" --timeout 20 >"$TB_DIR/connect.out" 2>&1 ||
	{ cat "$TB_DIR/connect.out"; tail -20 "$GREEN_LOG"; tb_fail "connect failed"; }
tb_wait_log "$TB_DIR/tcpdump.log" "1 packet captured" 5 || tb_fail "tcpdump captured no knock"
# The first knock's UDP payload: IPv4 header (20) + UDP header (8) skipped.
tcpdump -r "$TB_DIR/knock.pcap" -n -x -c 1 2>/dev/null |
	awk '/^\t0x/ { for (i = 2; i <= NF; i++) printf "%s", $i }' |
	cut -c57- | xxd -r -p >"$TB_DIR/knock.bin"
n=$(stat -c %s "$TB_DIR/knock.bin")
[ "$n" -gt 40 ] || tb_fail "captured knock too short ($n bytes)"
tb_log "captured the client's knock: $n bytes"
# (No probe of the control port yet: a control connection that closes
# without a card proof ends the pending session, by design.)

# The attacker may use the client's address without stealing its ARP
# entry on green: it answers no ARP and knows green's MAC statically.
gmac=$(tb_exec green cat /sys/class/net/eth0/address)
tb_exec attacker sysctl -qw net.ipv4.conf.eth0.arp_ignore=8
tb_exec attacker ip neigh replace "$green" lladdr "$gmac" dev eth0 nud permanent
tb_exec attacker ip addr add "$client/32" dev eth0
send_from() {   # send_from SRC FILE
	tb_exec attacker socat -u "OPEN:$2" "UDP4-SENDTO:$green:62201,bind=$1" >/dev/null 2>&1
}

tb_log "check: the replay from the attacker's own address is a duplicate and opens nothing"
send_from "$attacker" "$TB_DIR/knock.bin"
tb_wait_log "$GREEN_LOG" "event=knock result=rejected reason=duplicate user=alice src=$attacker" 3 ||
	tb_fail "no reason=duplicate record for the replay from $attacker"
knock_nft_has wg_open4 "$attacker" && tb_fail "the replay opened the WireGuard port for $attacker"

tb_log "check: the replay spoofed from the client's address is a duplicate too"
send_from "$client" "$TB_DIR/knock.bin"
tb_wait_log "$GREEN_LOG" "event=knock result=rejected reason=duplicate user=alice src=$client" 3 ||
	tb_fail "no reason=duplicate record for the spoofed replay"
[ "$(grep -c 'event=session result=pending' "$GREEN_LOG")" = 1 ] ||
	tb_fail "a replay created or replaced a session"

tb_log "check: an attacker WireGuard peer cannot handshake (no private key for the knock's key)"
awg=$(tb_ifname awg)
tb_exec attacker env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go "$awg" >/dev/null 2>&1
(umask 077; wg genkey >"$TB_DIR/attacker.key")
tb_exec attacker wg set "$awg" private-key "$TB_DIR/attacker.key" \
	peer "$(cat "$LAB/green/wg.pub")" endpoint "$green:51820" allowed-ips 10.88.0.1/32 persistent-keepalive 1
tb_exec attacker ip addr add 10.88.1.10/32 dev "$awg"
tb_exec attacker ip link set "$awg" up
# wireguard-go retries its handshake initiation every 5 s: wait for two
for _ in $(seq 1 6); do
	tb_exec attacker ping -c 1 -W 1 -I "$awg" 10.88.0.1 >/dev/null 2>&1 &&
		tb_fail "the attacker reached green through a tunnel"
	sleep 1
done
hs=$(tb_exec attacker wg show "$awg" latest-handshakes | awk '{print $2}')
[ "${hs:-0}" = 0 ] || tb_fail "the attacker completed a handshake"
sent=$(tb_exec attacker wg show "$awg" transfer | awk '{print $3}')
[ "${sent:-0}" -gt 0 ] || tb_fail "the attacker's WireGuard sent nothing (check proves nothing)"
tb_exec attacker ip link del "$awg"
tb_log "ok: no handshake for the attacker"

tb_log "check: junk is dropped in the kernel, before the meter and green"
head -c 100 /dev/urandom >"$TB_DIR/junk.bin"
drops() { tb_exec green nft list counter inet knockgate knock_prefilter_drop | awk '/packets/ { print $2 }'; }
d0=$(drops)
for _ in $(seq 1 12); do send_from "$client" "$TB_DIR/junk.bin"; done
sleep 1
[ $(($(drops) - d0)) -ge 12 ] || tb_fail "knock_prefilter_drop did not count the junk"
grep -q "event=knock result=rejected reason=[a-z_]* src=$client" "$GREEN_LOG" &&
	tb_fail "junk reached green's knock handler"
grep -q "event=knock result=prefilter_miss src=$client" "$GREEN_LOG" ||
	tb_fail "no sampled prefilter_miss record for the junk"
tb_log "ok: junk counted in the kernel, one sampled record"

tb_log "check: forged knocks spoofed from the connected client's address do not ban it"
head -c 65 "$TB_DIR/knock.bin" >"$TB_DIR/forged.bin"
head -c 16 /dev/urandom >>"$TB_DIR/forged.bin"
for _ in $(seq 1 12); do send_from "$client" "$TB_DIR/forged.bin"; done
sleep 1
grep -q "event=knock result=rejected reason=bad_tag .*src=$client" "$GREEN_LOG" ||
	tb_fail "green did not see the spoofed forged knocks"
grep -q "event=ban result=banned src=$client" "$GREEN_LOG" && tb_fail "the client was banned"
knock_nft_has banned4 "$client" && tb_fail "banned4 holds the client"
knock_nft_has wg_open4 "$client" || tb_fail "the client's WireGuard opening is gone"
tb_log "ok: client not banned, its opening still there"

tb_log "check: the same forged knocks from the attacker's own address ban the attacker"
for _ in $(seq 1 12); do send_from "$attacker" "$TB_DIR/forged.bin"; done
tb_wait_log "$GREEN_LOG" "event=ban result=banned src=$attacker" 3 || tb_fail "the attacker was not banned"
grep -q "event=ban result=banned src=$client" "$GREEN_LOG" && tb_fail "the client was banned"
tb_tcp_probe client 10.88.0.1 4433 || tb_fail "the client's tunnel does not reach the control port"
tb_exec client "$KG_BIN" close --ifname "$cif" >/dev/null 2>&1 || true
tb_log "PASS: replays are duplicates (own and spoofed source), open nothing, no handshake; junk stays in the kernel; spoofed forged knocks ban not the client; the attacker's own ban it"
