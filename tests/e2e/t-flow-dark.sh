#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Dark during a live session: with alice connected and granted web,
# nmap -sS -p- from the attacker sees every one of the 65535 ports of
# green's outside address filtered (0 open, 0 closed), and the same for
# red (through green, if it routed); the insider's scan of red likewise.
# A failed or cut-short nmap fails the test (no result is not "0 open").
# Green's own open knock, captured where it travels (inside the site link
# now; on the inside wire in older builds), is replayed to red:
#  - from green's inside address and from the insider, to red's inside
#    address: red's ruleset drops it uncounted (only its knock_foreign
#    counter moves): no answer, no sknock record, no grant;
#  - through the site link from green's link address, as green sends it:
#    red answers it from its cache (its record: event=sknock
#    result=repeat with the same port), and nothing new is mapped.
# Red bans neither of green's addresses; alice's page still comes.
# (Red's not_green record cannot be reached any more: a knock from
# anywhere but a green's link address on the site interface never gets
# to red's daemon; the insider's replay shows it, with no record at all.)
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

# Wherever green's second knocks travel: -i any in green's namespace.
tb_start green cap "$TB_DIR/cap.log" tcpdump -i any -U --immediate-mode -n -w "$TB_DIR/knock.pcap" udp dst port 62202
# A knock sent before tcpdump listens is lost: wait for it, however long
# a loaded machine takes to start it.
tb_wait_log "$TB_DIR/cap.log" "listening on" 30 || { cat "$TB_DIR/cap.log"; tb_fail "tcpdump did not start"; }
flow_card alice
flow_connect a1 "$FLOW_LAB/users/alice/profile" web
flow_wait_session a1
flowred_grant a1 web
port=$FR_PORT
# The grant means the knock went out; stop tcpdump once it has written
# a packet (-U: each one as it comes), not after a guessed delay.
for _ in $(seq 1 100); do
	[ "$(tcpdump -r "$TB_DIR/knock.pcap" -n 2>/dev/null | grep -c .)" -gt 0 ] && break
	sleep 0.1
done
tb_stop cap INT >/dev/null 2>&1 || true

tb_log "replays of green's own open knock"
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
    if ip[0] >> 4 == 4 and ip[9] == 17:
        open(sys.argv[2], 'wb').write(ip[ihl + 8:])
        break
else:
    sys.exit("no knock captured")
PY
# replay FROM ADDR [-b LOCAL]: the captured bytes as they are, to ADDR's
# knock port; prints kg-sknock-send's result line.
replay() {
	local from=$1 to=$2
	shift 2
	tb_exec "$from" "$RED_SEND" -k "$FLOW_LAB/green/host.key" -C "$FLOW_LAB/red/host.pem" \
		-g green1 -r red1 -c 10.88.1.10 -S web -s 1 -q 1 -a open "$@" \
		-i "$TB_DIR/open.knock" "$to" 62202 || true
}
foreign() {
	tb_exec red nft list counter inet knockgate knock_foreign 2>/dev/null |
		sed -nE 's/.*packets ([0-9]+).*/\1/p'
}
sknocks() { grep -c 'event=sknock' "$TB_DIR/red.log" || true; }
map() { flowred_red_map | sed -E "s/ timeout [^:]*//"; }
before=$(map)
[ -n "$before" ] || tb_fail "red maps nothing for alice's grant"
for from in green insider; do
	f0=$(foreign)
	k0=$(sknocks)
	out=$(replay "$from" "$red4")
	sleep 0.5
	f1=$(foreign)
	k1=$(sknocks)
	tb_log "from the $from to red's inside address: ${out:-nothing}; knock_foreign $f0 -> $f1; red's sknock records $k0 -> $k1"
	[ "$out" = result=no_answer ] || tb_fail "replay from the $from: '$out', expected no answer"
	[ "$k1" = "$k0" ] || { tail -2 "$TB_DIR/red.log"; tb_fail "replay from the $from reached red's daemon (a record)"; }
	[ -n "$f0" ] || tb_fail "red has no knock_foreign counter"
	[ "$f1" -gt "$f0" ] || tb_fail "replay from the $from: red's knock_foreign counter did not move (did it arrive?)"
	[ "$(map)" = "$before" ] || tb_fail "red's map changed: $before -> $(map)"
done
k0=$(sknocks)
out=$(replay green 10.89.0.2 -b 10.89.0.1)
sleep 0.3
rec=$(grep 'event=sknock' "$TB_DIR/red.log" | tail -n +"$((k0 + 1))" | head -1 | sed 's/^.*event=/event=/')
# (red's answer goes to the sender's port, which green's table does not
# open: the record is what shows red's decision)
tb_log "through the site link from green's link address: ${out:-nothing}; red: ${rec:-no record}"
case $rec in *"result=repeat "*"src=10.89.0.1 "*"port=$port "*) ;;
*) tb_fail "replay through the link: red's record is not the cached grant at port $port" ;; esac
for a in "$green_in" 10.89.0.1; do
	! tb_exec red nft list set inet knockgate banned4 2>/dev/null | grep -qw "$a" || tb_fail "red banned green's $a"
	! grep -qE "event=ban result=banned src=$a( |$)" "$TB_DIR/red.log" || tb_fail "red logged a ban of green's $a"
done
tb_log "ok: red's map unchanged ($before), green not banned"
flowred_get "$port" >/dev/null || tb_fail "alice lost the page after the replays"

# scan FROM TO: nmap must run to its end and see all 65535 ports filtered.
scan() {
	local from=$1 to=$2 f=$TB_DIR/scan-$1-$2.gnmap open closed
	tb_exec "$from" nmap -sS -p- --min-rate 5000 --max-retries 1 -n -Pn -oG - "$to" >"$f" 2>"$f.err" ||
		{ cat "$f.err"; tb_fail "nmap from $from on $to failed"; }
	grep -q '^# Nmap done at .* 1 IP address (1 host up)' "$f" || { cat "$f"; tb_fail "nmap from $from on $to did not finish a scan of the host"; }
	open=$(grep -oE '[0-9]+/open/' "$f" | wc -l)
	closed=$(grep -oE '[0-9]+/closed/' "$f" | wc -l)
	tb_log "nmap -sS -p- from $from on $to: $open open, $closed closed, $(grep -oE 'Ignored State: [a-z]+ \([0-9]+\)' "$f")"
	[ "$open" = 0 ] && [ "$closed" = 0 ] || { grep Ports "$f"; tb_fail "$from found open or closed ports on $to"; }
	grep -qE 'Ignored State: filtered \(65535\)' "$f" || { cat "$f"; tb_fail "$from on $to: not all 65535 ports filtered"; }
}
tb_log "scans during alice's live session (about 30 s each)"
scan attacker "$green4"
tb_exec attacker ip route replace "$red4/32" via "$green4" 2>/dev/null || true
scan attacker "$red4"
scan insider "$red4"
page=$(flowred_get "$port") || tb_fail "alice lost the page during the scans"
tb_log "ok: alice still gets '$page' at $port"

tb_log "PASS: every port filtered from the attacker (green, red) and the insider (red) during a session; replayed open knocks dropped uncounted off the link, answered from red's cache on it"
