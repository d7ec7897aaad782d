#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Red refuses, logs the reason of, and opens nothing for: a knock signed
# by a red certificate's key, by a key from another CA, sent from a
# non-green address, naming another red, stamped outside the window or
# before red started, and a captured open replayed after its close (from
# green's address: refused as a replay; from the insider: dropped). No
# green is banned. Knocks red cannot verify get no answer at all.
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
green=$(tb_addr green in 4)
insider=$(tb_addr insider in 4)

# expect OUT WANT LOGRE WHAT: the tool's line and one log record
expect() {
	local out=$1 want=$2 re=$3 what=$4
	[ "$out" = "$want" ] || tb_fail "$what: got '$out', want '$want'"
	tb_wait_log "$TB_DIR/red.log" "$re" 3 || tb_fail "$what: no record /$re/"
	[ -z "$(red_map)" ] || tb_fail "$what: something was opened: $(red_map)"
	tb_log "ok: $what -> $out; logged /$re/"
}

out=$(red_knock green -k "$LAB/red/host.key" -s 11)
expect "$out" result=no_answer "result=dropped reason=bad_signature src=$green" \
	"signed by red's own key (a red certificate)"
out=$(red_knock green -k "$LAB/users/mallory/mallory.key" -s 12)
expect "$out" result=no_answer "result=dropped reason=bad_signature src=$green .*session=000000000000000c" \
	"signed by a key from another CA"
out=$(red_knock insider -s 13)
expect "$out" result=no_answer "result=dropped reason=not_green src=$insider" \
	"sent from a non-green address (the insider)"
out=$(red_knock green -r red2 -s 14)
expect "$out" result=no_answer "result=refused reason=wrong_red src=$green .*red=red2" \
	"naming another red (answer is red1's, so green ignores it)"
out=$(red_knock green -T -120 -s 15)
expect "$out" "result=refused reason=outside_window" "result=refused reason=outside_window .*session=000000000000000f" \
	"stamped 120 s in the past"
out=$(red_knock green -T 120 -s 16)
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
out=$(red_knock green -T "-$back" -s 17)
expect "$out" "result=refused reason=before_start" "result=refused reason=before_start .*session=0000000000000011" \
	"stamped before red started (inside the window)"

out=$(red_knock green -s 20 -q 1 -o "$TB_DIR/open.knock")
case $out in result=granted*) ;; *) tb_fail "open for the replay test: $out" ;; esac
out=$(red_knock green -s 20 -q 2 -a close)
[ "$out" = result=closed ] || tb_fail "close: $out"
out=$(red_knock green -i "$TB_DIR/open.knock")
expect "$out" "result=refused reason=replay" "result=refused reason=replay .*session=0000000000000014 seq=1" \
	"the captured open replayed from green's address after close"
cp "$TB_DIR/open.knock" "$TB_DIR/insider.knock"
out=$(red_knock insider -i "$TB_DIR/insider.knock")
expect "$out" result=no_answer "result=dropped reason=not_green src=$insider" \
	"the captured open replayed from the insider"

tb_exec red nft list set inet knockgate banned4 >"$TB_DIR/banned4"
grep -q "$green" "$TB_DIR/banned4" && tb_fail "green was banned"
tb_log "ok: green is not banned"
grep -qE "event=sknock result=accepted" "$TB_DIR/red.log" || tb_fail "no accepted knock at all"
n=$(grep -c 'event=sknock result=accepted' "$TB_DIR/red.log")
[ "$n" = 2 ] || tb_fail "$n accepted knocks, want 2 (the open and close of the replay test)"
tb_log "ok: only the replay test's own open and close were accepted"
tb_log "PASS"
