#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Dark during a live session: with alice connected and granted web,
# nmap -sS -p- from the attacker finds 0 open ports on green's outside
# address and (through green, if it routed) on red; the insider's scan of
# red finds 0 open too. Green's own open knock, captured on the inside
# wire, replayed to red from green's address opens nothing new (red's
# cache answers the same grant: one element, same port) and from the
# insider is dropped; green is never banned. Alice's page still comes.
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
command -v nmap >/dev/null || tb_skip "nmap missing"
command -v tcpdump >/dev/null || tb_skip "tcpdump missing"

FLOWRED_LEASE=60
flowred_init
flowred_green_start
green4=$(tb_addr green out 4)
green_in=$(tb_addr green in 4)
red4=$(tb_addr red in 4)

# second knocks travel inside the site link now (nothing to capture on
# the inside wire): the replay uses bytes captured on green's end of it
tb_start green cap "$TB_DIR/cap.log" tcpdump -i "$(tb_ifname gs0)" -U -w "$TB_DIR/knock.pcap" udp dst port 62202
sleep 1
flow_card alice
flow_connect a1 "$FLOW_LAB/users/alice/profile" web
flow_wait_session a1
flowred_grant a1 web
port=$FR_PORT
sleep 0.5
kill "$(tb_pid cap)" 2>/dev/null || true
sleep 0.3

tb_log "replay of green's own open knock (captured on the inside wire)"
python3 - "$TB_DIR/knock.pcap" "$TB_DIR/open.knock" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
link = struct.unpack('<I', d[20:24])[0]
off, hdr = 24, {1: 14, 12: 0, 101: 0, 113: 16, 276: 20}.get(link)
if hdr is None:
    sys.exit("unknown link type %d" % link)
while off + 16 <= len(d):
    incl = struct.unpack('<I', d[off + 8:off + 12])[0]
    pkt = d[off + 16:off + 16 + incl]
    off += 16 + incl
    ip = pkt[hdr:]
    ihl = (ip[0] & 15) * 4
    if ip[9] == 17:
        open(sys.argv[2], 'wb').write(ip[ihl + 8:])
        break
else:
    sys.exit("no knock captured")
PY
before=$(flowred_red_map | sed -E "s/ timeout [^:]*//")
out=$(red_knock_from green "$red4" -i "$TB_DIR/open.knock")
tb_log "from green's address: $out"
case $out in *result=granted*port=$port*|*result=no_answer*|"") ;; *) tb_fail "replay from green: $out" ;; esac
out=$(red_knock_from insider "$red4" -i "$TB_DIR/open.knock")
tb_log "from the insider: ${out:-no answer}"
case $out in *result=granted*) tb_fail "replay from the insider was answered: $out" ;; esac
after=$(flowred_red_map | sed -E "s/ timeout [^:]*//")
[ "$after" = "$before" ] || tb_fail "red's map changed: $before -> $after"
tb_exec red nft list set inet knockgate banned4 >"$TB_DIR/banned4" 2>/dev/null || true
! grep -q "$green_in" "$TB_DIR/banned4" || tb_fail "red banned green"
grep -E "event=sknock" "$TB_DIR/red.log" | tail -4 | sed "s/^.*knockgate-red[^ ]* //" || true
tb_log "ok: red's map unchanged ($before), green not banned"
flowred_get "$port" >/dev/null || tb_fail "alice lost the page after the replays"
scan() {
	local from=$1 to=$2 f=$TB_DIR/scan-$1-$2.gnmap open
	tb_exec "$from" nmap -sS -p- --min-rate 5000 --max-retries 1 -n -Pn -oG - "$to" >"$f" 2>/dev/null || true
	open=$(grep -oE '[0-9]+/open/' "$f" | wc -l)
	tb_log "nmap -sS -p- from $from on $to: $open open"
	[ "$open" = 0 ] || { grep Ports "$f"; tb_fail "$from found open ports on $to"; }
}
tb_log "scans during alice's live session (about 30 s each)"
scan attacker "$green4"
tb_exec attacker ip route replace "$red4/32" via "$green4" 2>/dev/null || true
scan attacker "$red4"
scan insider "$red4"
page=$(flowred_get "$port") || tb_fail "alice lost the page during the scans"
tb_log "ok: alice still gets '$page' at $port"

tb_log "PASS: 0 open ports from the attacker (green, red) and the insider (red) during a session; replayed open knocks open nothing"
