#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Green's kernel pre-filter and reverse-path checks, seen in the kernel:
# - knock_ids holds exactly every user's key ids for slots c-1 .. c+2
#   (computed here independently from the users' knock keys);
# - a user removed on reload loses its ids, the other user keeps hers;
# - a real client connects through the pre-filter;
# - a knock with a forged key id never reaches green (counter
#   knock_prefilter_drop, no reason= record); the same knock with its
#   real id does (reason=duplicate: it is a replay);
# - SYNs from the outside spoofing a tunnel-range source are dropped by
#   the prerouting chain before the scan group sees them, while the same
#   SYNs from the attacker's own address reach it (so the check can fail);
# - a ban element for the source of a live session (however it came
#   about) does not cut the session: its WireGuard and control traffic is
#   accepted before the ban rules;
# - knocks carrying one current id (the captured knock with its tag
#   changed) from 300 random sources pass at the per-id rate only
#   (counter knock_id_limited), so they neither fill the per-source meter
#   nor reach green more than that;
# - at the next slot boundary the set moves on: green's tick adds the new
#   "following" ids and deletes the slot no longer "previous";
# - IPv6: a scan from another address of the /64 of a session's source
#   bans nothing (the ban key, the /64, holds a protected address:
#   result=skipped reason=protected), while the same scan from the next
#   /64 is banned (so the check can fail); the session keeps working.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-knock.sh
. "$here/lib-knock.sh"

tb_init
command -v tcpdump >/dev/null || tb_skip "tcpdump missing"
command -v nmap >/dev/null || tb_skip "nmap missing"
tb_up
knock_setup
cif=$(tb_ifname cwg)
green=$(tb_addr green)
attacker=$(tb_addr attacker)

# The ids the set must hold now: HMAC-SHA256(knock_key, label || slot)
# [0..8] for slots c-1 .. c+2 of every user record in users.d.
want_ids() {
	python3 - "$LAB/green/users.d" <<'PY'
import glob, hmac, hashlib, struct, sys, time
c = int(time.time()) // 60
for f in sorted(glob.glob(sys.argv[1] + "/*.conf")):
    for line in open(f):
        k, _, v = line.partition("=")
        if k.strip() == "knock_key":
            key = bytes.fromhex(v.strip())
            for s in range(c - 1, c + 3):
                m = hmac.new(key, b"knockgate keyid v1" + struct.pack(">Q", s), hashlib.sha256)
                print("0x%x" % struct.unpack(">Q", m.digest()[:8])[0])
PY
}
have_ids() {
	tb_exec green nft list set inet knockgate knock_ids | grep -o '0x[0-9a-f]*' | sort
}
# check_ids WHAT: the set equals want_ids (retried across a slot boundary).
check_ids() {
	local _
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		want_ids | sort >"$TB_DIR/want"
		have_ids >"$TB_DIR/have"
		cmp -s "$TB_DIR/want" "$TB_DIR/have" && return 0
		sleep 0.5
	done
	diff "$TB_DIR/want" "$TB_DIR/have" || true
	tb_fail "knock_ids does not hold $1"
}
drops() { tb_exec green nft list counter inet knockgate knock_prefilter_drop | awk '/packets/ { print $2 }'; }

tb_log "check: knock_ids holds every user's ids for four slots"
check_ids "alice's and bob's ids"
n=$(wc -l <"$TB_DIR/have")
[ "$n" = 8 ] || tb_fail "knock_ids holds $n ids for two users"
tb_log "ok: $n ids, as computed from the users' knock keys"

tb_log "check: a removed user's ids leave on reload"
mv "$LAB/green/users.d/bob.conf" "$TB_DIR/bob.conf.removed"
kill -HUP "$(tb_pid green)"
check_ids "alice's ids alone after bob's record was removed"
tb_log "ok: $(wc -l <"$TB_DIR/have") ids left (alice's)"

tb_log "check: a real client connects through the pre-filter"
tb_start green capture "$TB_DIR/tcpdump.log" tcpdump -Z root -i eth0 -U -n -c 1 -w "$TB_DIR/knock.pcap" udp dst port 62201
sleep 1
knock_connect "$LAB/users/alice/profile" "$cif" --timeout 20 >"$TB_DIR/connect.out" 2>&1 ||
	{ cat "$TB_DIR/connect.out"; tail -20 "$GREEN_LOG"; tb_fail "connect failed"; }
tb_wait_log "$TB_DIR/tcpdump.log" "1 packet captured" 5 || tb_fail "tcpdump captured no knock"
tcpdump -r "$TB_DIR/knock.pcap" -n -x -c 1 2>/dev/null |
	awk '/^\t0x/ { for (i = 2; i <= NF; i++) printf "%s", $i }' |
	cut -c57- | xxd -r -p >"$TB_DIR/knock.bin"
[ "$(stat -c %s "$TB_DIR/knock.bin")" = 81 ] || tb_fail "captured knock is not 81 bytes"
tb_log "ok: alice connected"

tb_log "check: a forged key id never reaches green; the real one does"
# Bytes 5..12 are the key id: flip its last byte.
python3 -c '
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[12] ^= 0xff
open(sys.argv[2], "wb").write(b)' "$TB_DIR/knock.bin" "$TB_DIR/forged-id.bin"
send() { tb_exec attacker socat -u "OPEN:$1" "UDP4-SENDTO:$green:62201" >/dev/null 2>&1; }
d0=$(drops)
for _ in 1 2 3 4 5; do send "$TB_DIR/forged-id.bin"; done
sleep 1
d1=$(drops)
[ $((d1 - d0)) = 5 ] || tb_fail "knock_prefilter_drop went $d0 -> $d1 for 5 forged ids"
grep -q "event=knock result=rejected .*src=$attacker" "$GREEN_LOG" &&
	tb_fail "a knock with a forged id reached the knock handler"
send "$TB_DIR/knock.bin"
tb_wait_log "$GREEN_LOG" "event=knock result=rejected reason=duplicate user=alice src=$attacker" 3 ||
	tb_fail "the knock with its real id did not reach green"
[ "$(drops)" = "$d1" ] || tb_fail "the real id was counted as a miss"
tb_log "ok: 5 forged ids dropped in the kernel ($d0 -> $d1), the real one reached green"

tb_log "check: tunnel-range sources from the outside are dropped before anything counts them"
# packets the prerouting chain's drop rules counted
rp_drops() {
	tb_exec green nft list chain inet knockgate prerouting |
		awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }'
}
r0=$(rp_drops)
# 15 SYNs from 10.88.1.10 to ports 2000-2014, written whole (raw socket).
tb_exec attacker python3 -c '
import socket, struct, sys
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
src, dst = socket.inet_aton(sys.argv[1]), socket.inet_aton(sys.argv[2])
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for port in range(2000, 2015):
    tcp = struct.pack("!HHIIBBHHH", 40000, port, 1, 0, 5 << 4, 0x02, 64240, 0, 0)
    tcp = tcp[:16] + struct.pack("!H", csum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), port, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    r.sendto(ip + tcp, (sys.argv[2], 0))' 10.88.1.10 "$green"
tb_exec attacker nmap -sS --max-retries 0 -n -Pn -p 3000 "$green" >/dev/null
tb_wait_log "$GREEN_LOG" "event=drop src=$attacker proto=tcp dport=3000" 5 ||
	tb_fail "the scan group saw nothing from the attacker (check proves nothing)"
r1=$(rp_drops)
[ $((r1 - r0)) -ge 15 ] || tb_fail "the prerouting chain dropped $((r1 - r0)) of 15 spoofed SYNs"
# (alice's own stray tunnel packets may be logged: only the scanned ports count)
grep -E "event=drop src=10\.88\.1\.10 proto=tcp dport=20(0[0-9]|1[0-4])$" "$GREEN_LOG" &&
	tb_fail "a spoofed tunnel source reached the scan group"
grep -q "event=ban .*src=10\.88\.1\.10 " "$GREEN_LOG" && tb_fail "a spoofed tunnel source made a ban record"
knock_nft_has peers_live 10.88.1.10 || knock_nft_has peers_pending 10.88.1.10 ||
	tb_fail "alice's control-port opening is gone"
tb_log "check: a ban of alice's source does not cut her session"
tb_exec green nft add element inet knockgate banned4 "{ $(tb_addr client) timeout 60s }"
knock_nft_has banned4 "$(tb_addr client)" || tb_fail "could not add the ban element"
tb_tcp_probe client 10.88.0.1 4433 || tb_fail "alice's tunnel does not reach the control port"
tb_log "ok: 15 spoofed SYNs from 10.88.1.10 on the outside: prerouting dropped $((r1 - r0)), no record; with her source in banned4, alice's tunnel still works"
tb_exec client "$KG_BIN" close --ifname "$cif" >/dev/null 2>&1 || true

tb_log "check: a scan from a neighbour in the /64 of an IPv6 session's source bans nothing"
# The outside /64 holds the admin's never-ban address (protected anyway):
# the client moves to a /64 of its own, reached over green's default route.
tb_exec client ip -6 addr del "$(tb_addr client out 6)/64" dev eth0
tb_exec client ip -6 addr add 2001:db8:177::10/64 dev eth0 nodad
tb_exec client ip -6 route add 2001:db8:100::/64 dev eth0
cp -r "$LAB/users/alice/profile" "$TB_DIR/profile6"
sed -i "s/^green_address = .*/green_address = $(tb_addr green out 6)/" "$TB_DIR/profile6/profile.conf"
knock_connect "$TB_DIR/profile6" "$cif" --timeout 20 >"$TB_DIR/connect6.out" 2>&1 ||
	{ cat "$TB_DIR/connect6.out"; tail -5 "$GREEN_LOG"; tb_fail "connect over IPv6 failed"; }
knock_nft_has wg_open6 2001:db8:177::10 || tb_fail "wg_open6 lacks the client's IPv6 address"
tb_exec attacker ip -6 addr add 2001:db8:177::66/64 dev eth0 nodad
tb_exec attacker ip -6 addr add 2001:db8:178::66/64 dev eth0 nodad
green6=$(tb_addr green out 6)
tb_exec attacker nmap -6 -S 2001:db8:177::66 -e eth0 -sS --max-retries 0 -n -Pn -p 2000-2011 "$green6" >/dev/null
tb_exec attacker nmap -6 -S 2001:db8:178::66 -e eth0 -sS --max-retries 0 -n -Pn -p 2000-2011 "$green6" >/dev/null
tb_wait_log "$GREEN_LOG" "event=ban result=banned src=2001:db8:178::66 key=2001:db8:178::/64 " 5 ||
	tb_fail "the scan from the next /64 was not banned (check proves nothing)"
grep -q "event=ban result=skipped src=2001:db8:177::66 key=2001:db8:177::/64 reason=protected" "$GREEN_LOG" ||
	tb_fail "no result=skipped reason=protected record for the session's /64"
tb_exec green nft list set inet knockgate banned6 | grep -q '2001:db8:177::' &&
	tb_fail "the /64 of alice's session source was banned"
tb_tcp_probe client 10.88.0.1 4433 || tb_fail "alice's IPv6-carried tunnel does not reach the control port"
tb_log "ok: the session's /64 is not banned, the next /64 is; alice's tunnel works"
tb_exec client "$KG_BIN" close --ifname "$cif" >/dev/null 2>&1 || true

tb_log "check: 300 forged knocks with alice's current id from 300 sources pass at the per-id rate"
spoof=$KG_BUILD/tests/tools/kg-spoof
[ -x "$spoof" ] || tb_skip "no $spoof (build first)"
lim() { tb_exec green nft list counter inet knockgate knock_id_limited | awk '/packets/ { print $2 }'; }
nmeter() { tb_exec green nft list set inet knockgate knock_meter4 | grep -o '100\.64\.[0-9.]*' | wc -l; }
tags() { grep -c "event=knock result=rejected reason=bad_tag .*src=100\.64\." "$GREEN_LOG" || true; }
# A fresh knock of this slot (ids roll every 60 s), then the flood.
tb_start green capture2 "$TB_DIR/tcpdump2.log" tcpdump -Z root -i eth0 -U -n -c 1 -w "$TB_DIR/knock2.pcap" udp dst port 62201
sleep 1
knock_connect "$LAB/users/alice/profile" "$cif" --timeout 20 >/dev/null 2>&1 || tb_fail "connect (for a fresh knock) failed"
tb_exec client "$KG_BIN" close --ifname "$cif" >/dev/null 2>&1 || true
tb_wait_log "$TB_DIR/tcpdump2.log" "1 packet captured" 5 || tb_fail "tcpdump captured no knock"
tcpdump -r "$TB_DIR/knock2.pcap" -n -x -c 1 2>/dev/null |
	awk '/^\t0x/ { for (i = 2; i <= NF; i++) printf "%s", $i }' |
	cut -c57- | xxd -r -p >"$TB_DIR/knock2.bin"
l0=$(lim)
tb_exec attacker "$spoof" -s 100.64.0.0/16 -n 300 -r 0 -T 10 -P "mutate:$TB_DIR/knock2.bin:16" "$green" 62201
sleep 1
l1=$(lim) m=$(nmeter) g=$(tags)
tb_log "knock_id_limited $l0 -> $l1; sources in knock_meter4: $m; bad_tag records: $g"
[ $((l1 - l0)) -ge 250 ] || tb_fail "the per-id limit dropped $((l1 - l0)) of 300"
[ "$m" -le 50 ] || tb_fail "$m flood sources in the per-source meter"
[ "$g" -ge 1 ] && [ "$g" -le 50 ] || tb_fail "$g forged knocks reached green"
tb_log "ok: one id's flood passes at its rate, the meter and green barely see it"

tb_log "check: after the next slot boundary knock_ids holds the next four slots"
before=$(grep -c 'event=knock_ids result=synced' "$GREEN_LOG" || true)
sleep $((60 - $(date +%s) % 60 + 6))
check_ids "the next slot's window"
after=$(grep -c 'event=knock_ids result=synced' "$GREEN_LOG" || true)
[ "$after" -gt "$before" ] || tb_fail "no knock_ids sync record at the slot change"
grep 'event=knock_ids result=synced' "$GREEN_LOG" | tail -1
tb_log "ok: the set moved on with the slot"
tb_log "PASS"
