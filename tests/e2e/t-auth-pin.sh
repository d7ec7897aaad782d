#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Wrong PIN, then a blocked card. connect verifies the PIN on the card
# before it knocks, so a wrong PIN says how many tries are left and opens
# nothing on green (no knock reaches it: no peer, no element, no record);
# the third wrong PIN blocks the card and the right PIN no longer helps;
# the PIN never appears in any output. Without --pin-file, KNOCKGATE_PIN
# or a terminal, connect says how to give the PIN.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-card.sh
. "$here/lib-card.sh"
# shellcheck source=tests/e2e/lib-flow.sh
. "$here/lib-flow.sh"
card_reexec "$@"

flow_init
flow_green_start
flow_card alice
prof=$FLOW_LAB/users/alice/profile
src=$(tb_addr client out 4)

try_pin() {
	printf '%s\n' "$1" >"$TB_DIR/badpin"
	if flow_connect_once "$prof" --pin-file "$TB_DIR/badpin"; then
		cat "$TB_DIR/once.out"
		tb_fail "connect with PIN $1 succeeded"
	fi
	cat "$TB_DIR/once.out"
	! grep -q "$1" "$TB_DIR/once.out" || tb_fail "the PIN appears in connect's output"
}

tb_log "check: with no PIN source and no terminal, connect says how to give one"
if tb_exec client env -u KNOCKGATE_PIN KG_RUN_DIR="$KG_RUN_DIR" setsid timeout 20 \
	"$FLOW_KG" connect --profile "$prof" --ifname "$FLOW_CIF" </dev/null >"$TB_DIR/once.out" 2>&1; then
	tb_fail "connect without a PIN succeeded"
fi
grep -q "no PIN: give --pin-file" "$TB_DIR/once.out" || { cat "$TB_DIR/once.out"; tb_fail "no hint about the PIN sources"; }
tb_log "ok: $(tail -1 "$TB_DIR/once.out")"


tb_log "check: a wrong PIN says how many tries are left and opens nothing"
try_pin 999999
grep -q "wrong PIN: 2 tries left" "$TB_DIR/once.out" || tb_fail "no 'wrong PIN: 2 tries left'"
flow_assert_nothing_open "wrong PIN"
[ -z "$(flow_glog "src=$src")" ] || tb_fail "green saw something from $src: $(flow_glog "src=$src")"
tb_log "ok: green has no record from $src (no knock was sent)"

tb_log "check: the PIN from the environment is used when no file is given"
if tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" KNOCKGATE_PIN=888888 timeout 60 \
	"$FLOW_KG" connect --profile "$prof" --ifname "$FLOW_CIF" </dev/null >"$TB_DIR/once.out" 2>&1; then
	tb_fail "connect with a wrong PIN from the environment succeeded"
fi
grep -q "wrong PIN: 1 try left" "$TB_DIR/once.out" || { cat "$TB_DIR/once.out"; tb_fail "no 'wrong PIN: 1 try left'"; }
tb_log "ok: $(tail -1 "$TB_DIR/once.out")"

tb_log "check: the third wrong PIN blocks the card; the right one is then refused too"
try_pin 777777
grep -q "PIN is blocked" "$TB_DIR/once.out" || tb_fail "third wrong PIN: card not reported blocked"
if flow_connect_once "$prof" --pin-file "$FLOW_PIN"; then
	tb_fail "a blocked card got a session"
fi
grep -q "PIN is blocked" "$TB_DIR/once.out" || { cat "$TB_DIR/once.out"; tb_fail "right PIN on a blocked card: not reported blocked"; }
tb_log "ok: $(tail -1 "$TB_DIR/once.out")"
flow_assert_nothing_open "blocked card"
[ -z "$(flow_glog "src=$src")" ] || tb_fail "green saw something from $src"

tb_log "PASS: wrong PIN (tries left), blocked after three, nothing knocked or opened, PIN never printed"
