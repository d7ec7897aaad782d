#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kg-card-yubikey without hardware: --dry-run prints the whole
# yubico-piv-tool flow (generate in 9A, CSR, CA signature through
# kg-user-enroll --csr, import, PIN/PUK/management key changed from the
# defaults) with every secret masked, the key's PIN and touch policy
# (default once/cached), kg-user-enroll's options passed on, and refuses
# weak or default secrets and unknown policies.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tool=$here/../../provisioning/kg-card-yubikey
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
printf '592817\n' >"$d/pin"
printf '73920184\n' >"$d/puk"
printf 'aa%.0s' $(seq 1 24) >"$d/mgm"

"$tool" --ca "$d/ca" --green "$d/green" --out "$d/alice" --pin-file "$d/pin" \
	--puk-file "$d/puk" --mgm-key-file "$d/mgm" --green-address 192.0.2.9 \
	--tunnel-pool 10.70.0.10-99 --services "web,ssh" --days 90 --dry-run alice >"$d/out" 2>&1
cat "$d/out"
for step in "-a generate -s 9a -A ECCP256 --pin-policy=once --touch-policy=cached" \
	"kg-user-enroll .* --green-address 192.0.2.9 --tunnel-pool 10.70.0.10-99 --services web,ssh --days 90 --csr " "-a request-certificate -s 9a -S /CN=alice/" \
	"--csr " "-a import-certificate -s 9a" "-a change-pin -P \*\*\* -N \*\*\*" \
	"-a change-puk -P \*\*\* -N \*\*\*" "--key=\*\*\* -a set-mgm-key -n \*\*\* -m AES192"; do
	grep -q -e "$step" "$d/out" || { echo "FAIL: missing step: $step"; exit 1; }
done
echo "ok: every provisioning step is printed"
for s in 592817 73920184 aaaaaaaa 123456 12345678 010203040506; do
	if grep -q "$s" "$d/out"; then echo "FAIL: secret $s printed"; exit 1; fi
done
echo "ok: no PIN, PUK or management key (new or default) is printed"
[ ! -e "$d/alice" ] || { echo "FAIL: dry run wrote files"; exit 1; }
echo "ok: the dry run wrote nothing"

"$tool" --ca "$d/ca" --green "$d/green" --out "$d/alice" --pin-file "$d/pin" \
	--puk-file "$d/puk" --pin-policy always --touch-policy never --dry-run alice >"$d/out" 2>&1
grep -q -e "--pin-policy=always --touch-policy=never" "$d/out" || { echo "FAIL: policies not passed"; exit 1; }
if "$tool" --ca "$d/ca" --green "$d/green" --out "$d/alice" --pin-file "$d/pin" \
	--puk-file "$d/puk" --touch-policy sometimes --dry-run alice >"$d/out" 2>&1; then
	echo "FAIL: unknown touch policy accepted"; exit 1
fi
grep -q "touch-policy: cached, always or never" "$d/out" || { echo "FAIL: policy message"; exit 1; }
echo "ok: PIN and touch policies chosen (default once/cached), unknown ones refused"

printf '123456\n' >"$d/pin"
if "$tool" --ca "$d/ca" --green "$d/green" --out "$d/alice" --pin-file "$d/pin" \
	--puk-file "$d/puk" --dry-run alice >"$d/out" 2>&1; then
	echo "FAIL: default PIN accepted"; exit 1
fi
grep -q "must differ from the default" "$d/out"
printf '12ab\n' >"$d/pin"
if "$tool" --ca "$d/ca" --green "$d/green" --out "$d/alice" --pin-file "$d/pin" \
	--puk-file "$d/puk" --dry-run alice >"$d/out" 2>&1; then
	echo "FAIL: malformed PIN accepted"; exit 1
fi
grep -q "6 to 8 digits" "$d/out"
if grep -q "12ab" "$d/out"; then echo "FAIL: refused PIN echoed"; exit 1; fi
echo "ok: default and malformed PINs are refused without being echoed"
echo "PASS"
