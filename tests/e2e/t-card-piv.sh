#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# PIV over a real pcscd with the virtual card: the client reads the slot
# 9A certificate (response chaining), signs a digest that OpenSSL
# verifies against the certificate, `knockgate card` shows subject,
# issuer, expiry and tries, and OpenSC's pkcs15-tool finds the slot 9A
# certificate and its PKCS#11 module signs with it. Each card file has its
# own identity: OpenSC's serial is not the all-0xD4 FASC-N's and differs
# between two cards, and yubico-piv-tool finds a version and the serial.
# The PIN appears in no output or log.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib-card.sh
. "$here/lib-card.sh"
card_reexec "$@"
piv=$KG_BUILD/smartcard/kg-piv
kg=$KG_BUILD/client/knockgate
[ -x "$piv" ] && [ -x "$kg" ] || card_skip "build kg-piv and knockgate first"
command -v pkcs15-tool >/dev/null || card_skip "opensc not installed"

card_setup
d=$CARD_DIR
card_test_pki "$d/pki" alice
pin=482916
printf '%s\n' "$pin" >"$d/pin"
"$here/../../provisioning/kg-card-virtual" --key "$d/pki/alice.key" \
	--cert "$d/pki/alice.pem" --pin-file "$d/pin" --out "$d/alice.card" >/dev/null
[ "$(stat -c %a "$d/alice.card")" = 600 ] || { echo "card file not 0600"; exit 1; }
echo "ok: kg-card-virtual wrote a 0600 card file"
card_start "$d/alice.card"
echo "ok: reader shows card present"

"$piv" cert "$d/cert.der" >"$d/out.txt"
openssl x509 -in "$d/pki/alice.pem" -outform DER -out "$d/want.der"
cmp "$d/cert.der" "$d/want.der"
echo "ok: certificate read from slot 9A equals the enrolled one ($(stat -c %s "$d/cert.der") bytes, chained)"

head -c 32 /dev/urandom >"$d/digest.bin"
hex=$(od -An -tx1 -v "$d/digest.bin" | tr -d ' \n')
KG_PIN_FILE=$d/pin "$piv" sign "$hex" "$d/sig.der" >>"$d/out.txt"
openssl x509 -in "$d/pki/alice.pem" -pubkey -noout >"$d/pub.pem"
openssl pkeyutl -verify -pubin -inkey "$d/pub.pem" -in "$d/digest.bin" \
	-sigfile "$d/sig.der" | grep -q "Verified Successfully"
echo "ok: card signature over a random digest verifies with OpenSSL"
printf '\x01' | dd of="$d/digest.bin" bs=1 seek=0 conv=notrunc 2>/dev/null
if openssl pkeyutl -verify -pubin -inkey "$d/pub.pem" -in "$d/digest.bin" \
	-sigfile "$d/sig.der" >/dev/null 2>&1 && [ "${hex:0:2}" != 01 ]; then
	echo "FAIL: signature verified over another digest"; exit 1
fi
echo "ok: the same signature fails over a different digest"

"$kg" card --reader "Virtual PCD" >"$d/card.txt"
cat "$d/card.txt"
grep -q '^reader: Virtual PCD 00 00' "$d/card.txt"
grep -q '^subject: CN=alice' "$d/card.txt"
grep -q '^issuer: CN=' "$d/card.txt"
grep -q '^expires: 20[0-9-]* .*(valid)' "$d/card.txt"
grep -q '^pin_tries_left: 3' "$d/card.txt"
echo "ok: knockgate card shows reader, subject, issuer, expiry, tries"
if "$kg" card --reader "no such reader" >/dev/null 2>"$d/err.txt"; then
	echo "FAIL: unknown reader accepted"; exit 1
fi
grep -q "no smart card reader matching" "$d/err.txt"
echo "ok: unknown reader: $(cat "$d/err.txt")"

pkcs15-tool --list-certificates >"$d/p15.txt" 2>&1
cat "$d/p15.txt"
grep -q "Certificate for PIV Authentication" "$d/p15.txt"
pkcs15-tool --read-certificate 01 2>/dev/null | openssl x509 -outform DER -out "$d/p15.der"
cmp "$d/p15.der" "$d/want.der"
echo "ok: OpenSC pkcs15-tool finds and reads the slot 9A certificate"

p11=""
for m in /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so /usr/lib/*/opensc-pkcs11.so; do
	[ -f "$m" ] && { p11=$m; break; }
done
if [ -n "$p11" ] && command -v pkcs11-tool >/dev/null; then
	head -c 32 /dev/urandom >"$d/dg2"
	# A throwaway test card: its PIN on pkcs11-tool's command line is fine.
	pkcs11-tool --module "$p11" --login --pin "$pin" --sign --mechanism ECDSA \
		--id 01 --signature-format openssl -i "$d/dg2" -o "$d/sig2" \
		>"$d/p11.txt" 2>&1 || { cat "$d/p11.txt"; exit 1; }
	openssl pkeyutl -verify -pubin -inkey "$d/pub.pem" -in "$d/dg2" \
		-sigfile "$d/sig2" | grep -q "Verified Successfully"
	echo "ok: OpenSC PKCS#11 (pkcs11-tool) signs with the card; OpenSSL verifies"
fi

if [ -n "$p11" ] && command -v pkcs11-tool >/dev/null; then
	serial() { pkcs11-tool --module "$p11" -L 2>/dev/null | sed -nE 's/^ *serial num *: *([0-9a-fA-F]+).*/\1/p' | head -1; }
	s1=$(serial)
	card_stop
	"$here/../../provisioning/kg-card-virtual" --key "$d/pki/alice.key" \
		--cert "$d/pki/alice.pem" --pin-file "$d/pin" --out "$d/alice2.card" >/dev/null
	card_start "$d/alice2.card"
	s2=$(serial)
	echo "OpenSC serials: first card $s1, second card $s2"
	[ -n "$s1" ] && [ -n "$s2" ] || { echo "FAIL: no serial from pkcs11-tool -L"; exit 1; }
	[ "$s1" != d4d4d4d4d4d4d4d4 ] && [ "$s2" != d4d4d4d4d4d4d4d4 ] ||
		{ echo "FAIL: the all-0xD4 FASC-N serial"; exit 1; }
	[ "$s1" != "$s2" ] || { echo "FAIL: two cards, one serial"; exit 1; }
	echo "ok: each card its own OpenSC serial"
fi
if command -v yubico-piv-tool >/dev/null; then
	yubico-piv-tool -r "Virtual PCD" -a status >"$d/ypt.txt" 2>&1 || true
	cat "$d/ypt.txt"
	grep -qE "^Version:[[:space:]]+5\.2\.7" "$d/ypt.txt" && grep -qE "^Serial Number:[[:space:]]+[0-9]+" "$d/ypt.txt" ||
		{ echo "FAIL: yubico-piv-tool finds no version or serial"; exit 1; }
	echo "ok: yubico-piv-tool -a status shows version and serial"
fi

if grep -r -- "$pin" "$d/out.txt" "$d/card.txt" "$CARD_LOG" "$d/p15.txt"; then
	echo "FAIL: the PIN was printed"; exit 1
fi
echo "ok: the PIN appears in no output or log"
echo "PASS"
