#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Red refuses, logs the reason of, and opens nothing for: a knock signed
# by a red certificate's key, by a key from another CA, naming another
# red, stamped outside the window or before red started, and a captured
# open replayed after its close through the site link (refused as a
# replay). Knocks red cannot verify get no answer at all. Knocks that do
# not come through the site link from green's link address (the insider,
# or the insider replaying a captured knock spoofed from green's inside
# address) are dropped by the table uncounted: no answer, no record, no
# IPS count (knock_foreign counter only), nobody banned.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-red.sh
. "$here/lib-red.sh"

red_need
tb_init
tb_up
t0=$(date +%s)
red_setup
green=10.89.0.1              # green's end of the site link: knocks come from there
green_in=$(tb_addr green in 4)
insider=$(tb_addr insider in 4)
red4=$(tb_addr red in 4)

# foreign WHAT OUT: a knock that did not come through the link: no
# answer, not a single record, the uncounted-drop counter went up, and
# nothing opened
foreign() {
	local what=$1 out=$2 n
	[ "$out" = result=no_answer ] || tb_fail "$what: got '$out', want no answer"
	n=$(red_knock_counter knock_foreign)
	[ "${n:-0}" -gt "$foreign_seen" ] || tb_fail "$what: knock_foreign counter did not move (${n:-none})"
	foreign_seen=$n
	[ "$(grep -c 'event=sknock' "$TB_DIR/red.log")" = "$sknock_records" ] ||
		tb_fail "$what: red logged it: $(grep 'event=sknock' "$TB_DIR/red.log" | tail -1)"
	[ -z "$(red_map)" ] || tb_fail "$what: something was opened: $(red_map)"
	tb_log "ok: $what -> no answer, no record, knock_foreign=$n"
}
foreign_seen=$(red_knock_counter knock_foreign)
[ -n "$foreign_seen" ] || tb_fail "red's table has no knock_foreign counter"

# expect OUT WANT LOGRE WHAT: the tool's line and one log record
expect() {
	local out=$1 want=$2 re=$3 what=$4
	[ "$out" = "$want" ] || tb_fail "$what: got '$out', want '$want'"
	tb_wait_log "$TB_DIR/red.log" "$re" 3 || tb_fail "$what: no record /$re/"
	[ -z "$(red_map)" ] || tb_fail "$what: something was opened: $(red_map)"
	tb_log "ok: $what -> $out; logged /$re/"
}

out=$(red_knock -k "$LAB/red/host.key" -s 11)
expect "$out" result=no_answer "result=dropped reason=bad_signature src=$green" \
	"signed by red's own key (a red certificate)"
out=$(red_knock -k "$LAB/users/mallory/mallory.key" -s 12)
expect "$out" result=no_answer "result=dropped reason=bad_signature src=$green .*session=000000000000000c" \
	"signed by a key from another CA"
sknock_records=$(grep -c 'event=sknock' "$TB_DIR/red.log" || true)
out=$(red_knock_from insider "$red4" -s 13)
foreign "sent by the insider to red's inside address" "$out"
out=$(red_knock_from green "$red4" -b "$green_in" -s 13)
foreign "sent from green's inside address (outside the link)" "$out"
out=$(red_knock -r red2 -s 14)
expect "$out" result=no_answer "result=refused reason=wrong_red src=$green .*red=red2" \
	"naming another red (answer is red1's, so green ignores it)"
out=$(red_knock -T -120 -s 15)
expect "$out" "result=refused reason=outside_window" "result=refused reason=outside_window .*session=000000000000000f" \
	"stamped 120 s in the past"
out=$(red_knock -T 120 -s 16)
expect "$out" "result=refused reason=outside_window" "result=refused reason=outside_window .*session=0000000000000010" \
	"stamped 120 s in the future"
back=$(( $(date +%s) - t0 + 1 ))
if [ "$back" -ge 30 ]; then
	# A slow (loaded) setup: never skip, start red again so that a knock
	# stamped before its start is still inside the 30 s window.
	tb_log "setup took ${back}s: restarting red for the before_start check"
	tb_stop red || tb_fail "red did not exit 0 on SIGTERM"
	t0=$(date +%s)
	tb_start red red "$TB_DIR/red.log" "$RED_BIN" -c "$TB_DIR/red.conf"
	tb_wait_ready "$TB_DIR/red.log"
	back=$(( $(date +%s) - t0 + 1 ))
	[ "$back" -lt 30 ] || tb_fail "red took ${back}s to start: cannot stamp before start inside the window"
fi
out=$(red_knock -T "-$back" -s 17)
expect "$out" "result=refused reason=before_start" "result=refused reason=before_start .*session=0000000000000011" \
	"stamped before red started (inside the window)"

out=$(red_knock -s 20 -q 1 -o "$TB_DIR/open.knock")
case $out in result=granted*) ;; *) tb_fail "open for the replay test: $out" ;; esac
out=$(red_knock -s 20 -q 2 -a close)
[ "$out" = result=closed ] || tb_fail "close: $out"
out=$(red_knock -i "$TB_DIR/open.knock")
expect "$out" "result=refused reason=replay" "result=refused reason=replay .*session=0000000000000014 seq=1" \
	"the captured open replayed from green's address after close"
cp "$TB_DIR/open.knock" "$TB_DIR/insider.knock"
sknock_records=$(grep -c 'event=sknock' "$TB_DIR/red.log" || true)
out=$(red_knock_from insider "$red4" -i "$TB_DIR/insider.knock")
foreign "the captured open replayed from the insider" "$out"
# the insider forging green's inside address, varied source ports (the
# attack that once got red banned on green)
spoof=$KG_BUILD/tests/tools/kg-spoof
tb_exec insider "$spoof" -s "$green_in" -n 12 -r 50 -P "file:$TB_DIR/insider.knock" "$red4" 62202
sleep 1
n=$(red_knock_counter knock_foreign)
[ "$n" -ge $((foreign_seen + 12)) ] || tb_fail "12 spoofed replays: knock_foreign $foreign_seen -> $n"
[ "$(grep -c 'event=sknock' "$TB_DIR/red.log")" = "$sknock_records" ] || tb_fail "red logged a spoofed replay"
tb_log "ok: 12 replays spoofed from green's inside address dropped uncounted (knock_foreign=$n)"

# the insider forging a tunnel address and green's link address: junk to
# the knock port and SYNs to 12 ports (a scan, were it counted); the
# reverse-path check drops them before anything counts them
for src in 10.88.1.10 "$green"; do
	tb_exec insider "$spoof" -s "$src" -n 6 -r 50 -P junk:64 "$red4" 62202
	for p in $(seq 7001 7012); do
		tb_exec insider "$spoof" -s "$src" -t syn -n 1 "$red4" "$p" >/dev/null
	done
done
sleep 2
tb_exec red nft list set inet knockgate banned4 >"$TB_DIR/banned4"
grep -qE "$green_in|$green|$insider|10\.88\." "$TB_DIR/banned4" && tb_fail "banned: $(cat "$TB_DIR/banned4")"
grep -E "event=ban " "$TB_DIR/red.log" && tb_fail "red banned someone"
tb_log "ok: neither green (inside or link address), the insider nor a tunnel address is banned"
grep -qE "event=sknock result=accepted" "$TB_DIR/red.log" || tb_fail "no accepted knock at all"
n=$(grep -c 'event=sknock result=accepted' "$TB_DIR/red.log")
[ "$n" = 2 ] || tb_fail "$n accepted knocks, want 2 (the open and close of the replay test)"
tb_log "ok: only the replay test's own open and close were accepted"
tb_log "PASS"
