#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Pulling the card during a session: a client holding a verified PIV
# session notices the removal (SCardGetStatusChange) and its next
# operation fails with "card removed"; pcscd shows the reader empty; the
# card comes back after a restart, with the PIN no longer verified.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib-card.sh
. "$here/lib-card.sh"
card_reexec "$@"
piv=$KG_BUILD/smartcard/kg-piv
[ -x "$piv" ] || card_skip "build kg-piv first"

card_setup
d=$CARD_DIR
KG_CARD_NO_LAB=1 card_test_pki "$d/pki" alice
card_write "$d/alice.card" "$d/pki/alice.key" "$d/pki/alice.pem"
card_start "$d/alice.card"

KG_PIN=123456 "$piv" session 30 >"$d/session.out" 2>&1 &
sess=$!
for _ in $(seq 1 50); do
	grep -q "session ready" "$d/session.out" && break
	sleep 0.1
done
grep -q "session ready" "$d/session.out" || { cat "$d/session.out"; exit 1; }
echo "ok: client holds a verified session"
card_stop
echo "ok: reader shows no card after vcard stopped"
rc=0
wait "$sess" || rc=$?
cat "$d/session.out"
[ "$rc" = 0 ] || { echo "FAIL: session exit $rc"; exit 1; }
grep -q "card removal noticed" "$d/session.out"
grep -q "sign after removal: .*card removed" "$d/session.out"
echo "ok: removal noticed and the next operation failed with 'card removed'"

kg=$KG_BUILD/client/knockgate
if [ -x "$kg" ]; then
	if "$kg" card >/dev/null 2>"$d/err.txt"; then
		echo "FAIL: knockgate card succeeded with no card"; exit 1
	fi
	grep -q "no card in the reader" "$d/err.txt"
	echo "ok: with the card out: $(cat "$d/err.txt")"
fi

card_start "$d/alice.card"
"$piv" status | grep -q '^pin_tries_left: 3'
grep -q "result=removed reason=stopped" "$CARD_LOG"
echo "ok: card back after restart, PIN not verified any more"

card_pull
"$piv" status >/dev/null 2>&1 && { echo "FAIL: card answered while pulled"; exit 1; }
card_insert
"$piv" status | grep -q '^pin_tries_left: 3'
echo "ok: SIGUSR1 pulls the card, SIGUSR2 puts it back"

card_pcscd_restart
card_wait_present 15
"$piv" status | grep -q '^pin_tries_left: 3'
echo "ok: the card reconnected to a restarted pcscd"
echo "PASS"
