#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# PIN retry counter of the virtual card through pcscd: wrong PINs answer
# 63C2 then 63C1, the third blocks (6983) and even the right PIN is then
# refused; the block survives a knockgate-vcard restart (card file);
# a wrong PUK spends a PUK try; the PUK resets the counter and sets a new
# PIN, which then verifies and signs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib-card.sh
. "$here/lib-card.sh"
card_reexec "$@"
piv=$KG_BUILD/smartcard/kg-piv
[ -x "$piv" ] || card_skip "build kg-piv first"

card_setup
d=$CARD_DIR
KG_CARD_NO_LAB=1 card_test_pki "$d/pki" bob
KG_CARD_PIN=246810 KG_CARD_PUK=13572468 \
	card_write "$d/bob.card" "$d/pki/bob.key" "$d/pki/bob.pem"
card_start "$d/bob.card"

# expect_verify PIN EXIT SW: kg-piv's exit code and the card's answer.
expect_verify() {
	local rc=0
	KG_PIN=$1 "$piv" verify >"$d/v.out" 2>&1 || rc=$?
	[ "$rc" = "$2" ] || { cat "$d/v.out"; echo "FAIL: exit $rc, want $2"; exit 1; }
	if [ -n "$3" ]; then
		tail -1 "$CARD_LOG" | grep -q "op=verify result=refused sw=$3" ||
			{ tail -3 "$CARD_LOG"; echo "FAIL: card did not answer $3"; exit 1; }
	fi
	echo "ok: verify -> exit $rc ${3:+sw=$3}: $(head -1 "$d/v.out")"
}

expect_verify 246810 0 ""
expect_verify 111111 3 63C2
expect_verify 222222 3 63C1
expect_verify 246810 0 ""
echo "ok: a right PIN restores the counter"
expect_verify 111111 3 63C2
expect_verify 222222 3 63C1
expect_verify 333333 4 6983
expect_verify 246810 4 6983
grep -q '^pin_tries_left = 0$' "$d/bob.card"
echo "ok: card file records the block"

card_restart
"$piv" status | tee "$d/s.out"
grep -q '^pin_tries_left: 0' "$d/s.out"
expect_verify 246810 4 6983
echo "ok: the block survives a knockgate-vcard restart"

rc=0
KG_PUK=99999999 KG_NEW_PIN=135790 "$piv" unblock >"$d/u.out" 2>&1 || rc=$?
[ "$rc" = 3 ] && tail -1 "$CARD_LOG" | grep -q 'op=unblock result=refused sw=63C2' ||
	{ cat "$d/u.out"; echo "FAIL: wrong PUK not refused with 63C2"; exit 1; }
echo "ok: wrong PUK refused: $(cat "$d/u.out")"
KG_PUK=13572468 KG_NEW_PIN=135790 "$piv" unblock
tail -1 "$CARD_LOG" | grep -q 'op=unblock result=ok sw=9000'
expect_verify 135790 0 ""
KG_PIN=135790 "$piv" sign "$(printf '%064d' 7)" "$d/sig.der" >/dev/null
echo "ok: PUK reset unblocked the card; the new PIN verifies and signs"

KG_PIN=135790 KG_NEW_PIN=864200 "$piv" change-pin
expect_verify 135790 3 63C2
expect_verify 864200 0 ""
echo "ok: CHANGE REFERENCE DATA changed the PIN"
for s in 246810 135790 864200 13572468; do
	if grep -q -- "$s" "$CARD_LOG" "$d"/*.out; then
		echo "FAIL: a PIN or PUK was printed"; exit 1
	fi
done
echo "ok: no PIN or PUK in any output or log"
echo "PASS"
