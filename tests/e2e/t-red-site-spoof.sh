#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The second knock's path under an insider (issue #10), with green's and
# red's daemons: nothing of it is on the inside wire any more (a capture
# at green's inside interface during a grant sees the link's WireGuard
# packets but no knock and no answer); a knock captured
# inside the link and replayed 12 times spoofed from green's inside
# address, varied source ports, makes red answer nothing (so green sees
# nothing at closed ports and bans no red); 2000 junk datagrams spoofed
# from red's inside and site addresses to green's answer port never reach
# green's daemon (no red_answer record). Afterwards red is banned nowhere,
# alice's stream keeps flowing and a fresh grant (a new session) succeeds.
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
card_reexec "$@"
command -v tcpdump >/dev/null || tb_skip "tcpdump missing"
spoof=$KG_BUILD/tests/tools/kg-spoof
[ -x "$spoof" ] || tb_skip "no $spoof (build first)"

FLOWRED_LEASE=30
flowred_init
flowred_green_start
green_in=$(tb_addr green in 4)
red_in=$(tb_addr red in 4)

tb_start green wire "$TB_DIR/wire.log" tcpdump -ni eth1 -U -w "$TB_DIR/wire.pcap" \
	udp port 62202 or udp port 62203 or udp port 51821
tb_start green link "$TB_DIR/link.log" tcpdump -ni "$(tb_ifname gs0)" -U -w "$TB_DIR/link.pcap" \
	udp dst port 62202
sleep 1
flow_card alice
flow_connect a1 "$FLOW_LAB/users/alice/profile" web stream
flow_wait_session a1
flowred_grant a1 web
wport=$FR_PORT
flowred_grant a1 stream
sport=$FR_PORT
sleep 0.5
kill "$(tb_pid wire)" "$(tb_pid link)" 2>/dev/null || true
sleep 0.3
tcpdump -nr "$TB_DIR/wire.pcap" >"$TB_DIR/wire.txt" 2>/dev/null || true
nwg=$(grep -cE '\.51821[ :]' "$TB_DIR/wire.txt" || true)
nknock=$(grep -cE '\.6220[23][ :]' "$TB_DIR/wire.txt" || true)
[ "$nwg" -gt 0 ] || tb_fail "the capture on the inside wire saw no site-link packet at all"
[ "$nknock" = 0 ] || tb_fail "$nknock knock or answer packets on the inside wire"
tb_log "ok: the inside wire carried $nwg site-link WireGuard packets and no second knock or answer"

python3 - "$TB_DIR/link.pcap" "$TB_DIR/open.knock" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
link = struct.unpack('<I', d[20:24])[0]
hdr = {1: 14, 12: 0, 101: 0, 113: 16, 276: 20}.get(link)
if hdr is None:
    sys.exit("unknown link type %d" % link)
off = 24
while off + 16 <= len(d):
    incl = struct.unpack('<I', d[off + 8:off + 12])[0]
    ip = d[off + 16 + hdr:off + 16 + incl]
    off += 16 + incl
    if ip[9] == 17:
        open(sys.argv[2], 'wb').write(ip[(ip[0] & 15) * 4 + 8:])
        break
else:
    sys.exit("no knock captured in the link")
PY

tb_start client s1 "$TB_DIR/s1.out" socat -u "TCP4:10.89.0.2:$sport,connect-timeout=3" STDOUT
sleep 1
n0=$(wc -l <"$TB_DIR/s1.out")
[ "$n0" -ge 5 ] || tb_fail "the stream at $sport carries nothing"
answers0=$(flow_glog "event=red_answer" | grep -c . || true)

tb_log "attack 1: the knock replayed 12 times spoofed from green's inside address"
tb_exec insider "$spoof" -s "$green_in" -n 12 -r 20 -P "file:$TB_DIR/open.knock" "$red_in" 62202
tb_log "attack 2: 2000 junk datagrams to green's answer port spoofed from red"
tb_exec insider "$spoof" -s "$red_in" -n 1000 -r 1000 -P junk:120 "$green_in" 62203
tb_exec insider "$spoof" -s 10.89.0.2 -n 1000 -r 1000 -P junk:120 "$green_in" 62203
sleep 2

n=$(red_knock_counter knock_foreign)
[ "${n:-0}" -ge 12 ] || tb_fail "red's knock_foreign counter is ${n:-none}, want >= 12"
grep -E "event=sknock .*src=$green_in" "$TB_DIR/red.log" && tb_fail "red logged a knock from green's inside address"
tb_log "ok: red dropped the 12 replays uncounted (knock_foreign=$n), answered none"
[ "$(flow_glog "event=red_answer" | grep -c . || true)" = "$answers0" ] ||
	tb_fail "green's daemon read spoofed answers: $(flow_glog "event=red_answer" | tail -1)"
tb_log "ok: no spoofed answer reached green's daemon"
flow_glog "event=ban " | grep -E "src=($red_in|10\.89\.)" && tb_fail "green banned red"
tb_exec green nft list set inet knockgate banned4 >"$TB_DIR/gbanned4" 2>/dev/null || true
grep -qE "$red_in|10\.89\.0\.2" "$TB_DIR/gbanned4" && tb_fail "red in green's banned4"
grep -E "event=ban " "$TB_DIR/red.log" | grep -E "src=($green_in|10\.8[89]\.)" && tb_fail "red banned green or a tunnel address"
tb_log "ok: no ban for red on green, none for green or a tunnel address on red"

n1=$(wc -l <"$TB_DIR/s1.out")
sleep 1
n2=$(wc -l <"$TB_DIR/s1.out")
[ "$n2" -gt "$n1" ] && [ "$n1" -gt "$n0" ] || tb_fail "the stream stopped ($n0 -> $n1 -> $n2 lines)"
flowred_get "$wport" >/dev/null || tb_fail "web at $wport lost"
tb_log "ok: the stream keeps flowing ($n0 -> $n2 lines), web still answers"

tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" "$FLOW_KG" close --ifname "$FLOW_CIF" >/dev/null ||
	tb_fail "knockgate close failed"
flow_connect a2 "$FLOW_LAB/users/alice/profile" web
flow_wait_session a2
flowred_grant a2 web
flowred_get "$FR_PORT" >/dev/null || tb_fail "the fresh grant at $FR_PORT does not answer"
tb_log "PASS: no second knock on the inside wire; spoofed replays and answers cost nothing and ban nobody; stream flows, fresh grant at $FR_PORT"
