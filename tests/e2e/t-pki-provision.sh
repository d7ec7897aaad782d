#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# PKI provisioning end to end, with the real scripts and the kg_pki library
# (through kg-pki-verify): lab layout and file modes, second green with its
# own knock key, enrollment from a card-made CSR, revocation (record gone,
# certificate revoked on green's and red's CRL), expiry report, refusal to
# overwrite a CA, bad input refused. Needs no namespaces.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${KG_BUILD:=$top/build-test}"
prov=$top/provisioning
verify=$KG_BUILD/pki/kg-pki-verify
[ -x "$verify" ] || { echo "skip: $verify not built"; exit 77; }
command -v wg >/dev/null || { echo "skip: wg (wireguard-tools) missing"; exit 77; }

tmp=$(mktemp -d /tmp/kg-t-pki.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
lab=$tmp/lab
checks=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect STATUS ROLE CERT [CRLDIR] [TIME]
expect() {
	local want=$1 role=$2 cert=$3 hostdir=${4:-$lab/green} t=${5:-0} got
	got=$("$verify" --ca "$hostdir/ca.pem" --crl "$hostdir/crl.pem" --role "$role" \
		--time "$t" "$cert" 2>/dev/null | head -1) || true
	[ "$got" = "$want" ] || fail "$cert as $role: got '$got', want '$want'"
	ok "$(basename "$cert") as $role: $want"
}

start=$(date +%s%N)
"$prov/kg-lab" "$lab" 2>"$tmp/lab.log" || { cat "$tmp/lab.log"; fail "kg-lab"; }
ok "kg-lab in $((($(date +%s%N) - start) / 1000000)) ms"

for f in ca/ca.key ca/ca.pem ca/crl.pem ca/index.txt green/host.key green/host.pem \
	green/wg.key green/wg.pub green/site.key green/site.pub green/ca.pem green/crl.pem \
	green/users.d/alice.conf green/users.d/bob.conf red/host.key red/host.pem \
	red/site.key red/site.pub red/ca.pem red/crl.pem red/green.pem \
	users/alice/alice.key users/alice/alice.pem users/alice/profile/profile.conf \
	users/alice/profile/ca.pem users/bob/profile/profile.conf other-ca/ca.pem \
	users/mallory/mallory.pem; do
	[ -s "$lab/$f" ] || fail "lab file $f missing"
done
ok "lab layout complete"
loose=$(find "$lab" -name '*.key' -perm /077)
[ -z "$loose" ] || fail "private keys readable by group/others: $loose"
ok "no private key readable by group or others ($(find "$lab" -name '*.key' | wc -l) keys)"

expect ok user "$lab/users/alice/alice.pem"
expect ok green "$lab/green/host.pem"
expect ok green "$lab/red/green.pem" "$lab/red"
expect ok red "$lab/red/host.pem"
expect wrong_role green "$lab/red/host.pem"
expect wrong_role user "$lab/green/host.pem"
expect unknown_ca user "$lab/users/mallory/mallory.pem"

# The record pins alice's key; the profile carries the same knock key.
pin=$("$verify" --ca "$lab/ca/ca.pem" --crl "$lab/ca/crl.pem" --spki \
	"$lab/users/alice/alice.pem" | sed -n 's/^spki_sha256=//p')
grep -qx "spki_sha256 = $pin" "$lab/green/users.d/alice.conf" || fail "alice's SPKI pin"
kk=$(sed -n 's/^knock_key = //p' "$lab/green/users.d/alice.conf")
grep -qx "knock_key = $kk" "$lab/users/alice/profile/profile.conf" || fail "profile knock key"
grep -qx "green_wg_public_key = $(cat "$lab/green/wg.pub")" "$lab/users/alice/profile/profile.conf" ||
	fail "profile green WireGuard key"
ok "record pins the certificate key; profile matches record and green"

# A second green: same certificate and address, its own knock key.
"$prov/kg-host-issue" --ca "$lab/ca" --role green green2 "$tmp/green2" 2>/dev/null
# No default green address: without --green-address or enroll.conf, a clear no.
if "$prov/kg-user-enroll" --ca "$lab/ca" --green "$tmp/green2" --out "$lab/users/alice" \
	--profile "$tmp/alice-green2" alice >/dev/null 2>"$tmp/noaddr.err"; then
	fail "enrollment without a green address accepted"
fi
grep -q "no green address: give --green-address" "$tmp/noaddr.err" || fail "no-address message: $(cat "$tmp/noaddr.err")"
[ ! -e "$tmp/green2/users.d/alice.conf" ] || fail "record written without a green address"
ok "no green address: refused with a clear message, nothing written"
"$prov/kg-user-enroll" --ca "$lab/ca" --green "$tmp/green2" --out "$lab/users/alice" \
	--green-address 192.0.2.77 --profile "$tmp/alice-green2" alice >/dev/null 2>&1
grep -qx "green_address = 192.0.2.77" "$tmp/alice-green2/profile.conf" || fail "green2 address in the profile"
kk2=$(sed -n 's/^knock_key = //p' "$tmp/green2/users.d/alice.conf")
[ -n "$kk2" ] && [ "$kk2" != "$kk" ] || fail "second green must get its own knock key"
grep -q "tunnel_address = 10.88.1.10" "$tmp/green2/users.d/alice.conf" || fail "address kept"
grep -q "green_id = green2" "$tmp/alice-green2/profile.conf" || fail "green2 profile"
ok "second green: own knock key, same certificate and tunnel address"

# The pool and green's settings from the green's enroll.conf (the command
# line wins): frank's address comes from green2's own pool.
printf '%s\n' "# green2" "green_address = 192.0.2.78" "tunnel_pool = 10.99.7.20-21" \
	"control_port = 4444" >"$tmp/green2/enroll.conf"
"$prov/kg-user-enroll" --ca "$lab/ca" --green "$tmp/green2" --out "$tmp/frank" frank >/dev/null 2>&1 ||
	fail "enrollment with enroll.conf"
grep -qx "tunnel_address = 10.99.7.20" "$tmp/green2/users.d/frank.conf" || fail "frank's address from the pool"
grep -qx "green_address = 192.0.2.78" "$tmp/frank/profile/profile.conf" || fail "green address from enroll.conf"
grep -qx "control_port = 4444" "$tmp/frank/profile/profile.conf" || fail "control port from enroll.conf"
"$prov/kg-user-enroll" --ca "$lab/ca" --green "$tmp/green2" --out "$tmp/gina" \
	--tunnel-pool 10.99.8.5-5 gina >/dev/null 2>&1 || fail "enrollment with --tunnel-pool"
grep -qx "tunnel_address = 10.99.8.5" "$tmp/green2/users.d/gina.conf" || fail "gina's address from --tunnel-pool"
if "$prov/kg-user-enroll" --ca "$lab/ca" --green "$tmp/green2" --out "$tmp/hal" \
	--tunnel-pool 10.99.8.5-5 hal >/dev/null 2>&1; then fail "full pool accepted"; fi
ok "enroll.conf and --tunnel-pool: address, ports and pool not the testbed's"

# The site link's addresses and port are the admin's, not the testbed's.
"$prov/kg-host-issue" --ca "$lab/ca" --role red red2 "$tmp/red2" 2>/dev/null
"$prov/kg-site-link" --green-link 10.77.5.1/29 --red-link 10.77.5.2 --port 51900 \
	"$tmp/green2" "$tmp/red2" 2>/dev/null || fail "kg-site-link with addresses"
g=$tmp/green2/site-link.conf r=$tmp/red2/site-link.conf
grep -qx "address = 10.77.5.1/29" "$g" && grep -qx "\[red red2\]" "$g" &&
	grep -qx "site_address = 10.77.5.2" "$g" && grep -qx "site_port = 51900" "$g" &&
	grep -qx "site_public_key = $(cat "$tmp/red2/site.pub")" "$g" || fail "green's site-link.conf: $(cat "$g")"
grep -qx "address = 10.77.5.2/29" "$r" && grep -qx "peer_address = 10.77.5.1" "$r" &&
	grep -qx "\[green green2\]" "$r" && grep -qx "link_address = 10.77.5.1" "$r" &&
	grep -qx "peer_public_key = $(cat "$tmp/green2/site.pub")" "$r" || fail "red's site-link.conf: $(cat "$r")"
if "$prov/kg-site-link" --green-link 10.77.5.1 "$tmp/green2" "$tmp/red2" 2>/dev/null; then
	fail "a link address without its prefix length accepted"
fi
ok "kg-site-link: link addresses and port chosen, both sides' sections written"

# Card-style enrollment: the key never reaches the CA.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/card.key" 2>/dev/null
openssl req -new -key "$tmp/card.key" -subj /CN=whatever -out "$tmp/card.csr" 2>/dev/null
"$prov/kg-user-enroll" --ca "$lab/ca" --green "$lab/green" --out "$lab/users/dave" \
	--csr "$tmp/card.csr" dave >/dev/null 2>&1
[ ! -e "$lab/users/dave/dave.key" ] || fail "CSR enrollment made a key"
cmp -s <(openssl pkey -in "$tmp/card.key" -pubout) <(openssl x509 -in "$lab/users/dave/dave.pem" -noout -pubkey) ||
	fail "dave's certificate is not for the card's key"
expect ok user "$lab/users/dave/dave.pem"
grep -q "tunnel_address = 10.88.1.12" "$lab/green/users.d/dave.conf" || fail "next free address"
ok "enrollment from a CSR: CN forced to dave, next address 10.88.1.12"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$tmp/p384.key" 2>/dev/null
openssl req -new -key "$tmp/p384.key" -subj /CN=eve -out "$tmp/p384.csr" 2>/dev/null
if "$prov/kg-user-enroll" --ca "$lab/ca" --green "$lab/green" --out "$tmp/eve" \
	--csr "$tmp/p384.csr" eve >/dev/null 2>&1; then fail "P-384 CSR accepted"; fi
if "$prov/kg-user-enroll" --ca "$lab/ca" --green "$lab/green" --out "$tmp/x" \
	"Bad Name" >/dev/null 2>&1; then fail "bad user name accepted"; fi
if "$prov/kg-user-enroll" --ca "$lab/ca" --green "$lab/green" --out "$lab/users/bob" \
	bob >/dev/null 2>&1; then fail "double enrollment accepted"; fi
[ ! -e "$lab/green/users.d/eve.conf" ] || fail "record written for a refused enrollment"
ok "P-384 CSR, bad name and double enrollment refused"

# Revocation: record gone on every green, certificate revoked on green and red.
"$prov/kg-user-revoke" --ca "$lab/ca" --green "$lab/green" --green "$tmp/green2" \
	--red "$lab/red" --reason keyCompromise alice 2>/dev/null
[ ! -e "$lab/green/users.d/alice.conf" ] && [ ! -e "$tmp/green2/users.d/alice.conf" ] ||
	fail "alice's record still there after revoke"
ok "revoke: alice's records removed from both greens"
expect revoked user "$lab/users/alice/alice.pem"
expect revoked user "$lab/users/alice/alice.pem" "$lab/red"
expect ok user "$lab/users/bob/bob.pem"
grep -q '^alice ' "$lab/ca/addresses" && fail "alice's tunnel address not freed"
ok "revoke: tunnel address freed"

# A host certificate is revoked the same way, by its id: red then refuses green2.
install -m 644 "$tmp/green2/host.pem" "$lab/red/green2.pem"
expect ok green "$lab/red/green2.pem" "$lab/red"
"$prov/kg-user-revoke" --ca "$lab/ca" --red "$lab/red" green2 2>/dev/null
expect revoked green "$lab/red/green2.pem" "$lab/red"

# Expiry: CRL lives 30 days.
"$prov/kg-expiry-report" --ca "$lab/ca" --days 14 "$lab/green" >"$tmp/rep" ||
	{ cat "$tmp/rep"; fail "expiry report warned with nothing due"; }
if "$prov/kg-expiry-report" --ca "$lab/ca" --days 40 "$lab/green" >"$tmp/rep" 2>/dev/null; then
	fail "expiry report did not warn about the 30-day CRL"
fi
grep -q "^WARN crl .*ca/crl.pem next-update" "$tmp/rep" || fail "no CRL warning line"
ok "expiry report: quiet at 14 days, warns at 40 ($(wc -l <"$tmp/rep") lines)"
expect crl_expired user "$lab/users/bob/bob.pem" "$lab/green" $(($(date +%s) + 40 * 86400))
"$prov/kg-crl-update" --ca "$lab/ca" --days 60 "$lab/green" 2>/dev/null
expect ok user "$lab/users/bob/bob.pem" "$lab/green" $(($(date +%s) + 40 * 86400))
ok "renewed CRL accepted 40 days on"

# Never overwrite a CA.
sum=$(sha256sum <"$lab/ca/ca.key")
if "$prov/kg-ca-init" "$lab/ca" 2>/dev/null; then fail "kg-ca-init overwrote a CA"; fi
if "$prov/kg-lab" "$lab" 2>/dev/null; then fail "kg-lab overwrote a CA"; fi
[ "$(sha256sum <"$lab/ca/ca.key")" = "$sum" ] || fail "CA key changed"
ok "kg-ca-init and kg-lab refuse an existing CA"

for s in "$prov"/kg-*; do
	"$s" --help >/dev/null || fail "$s --help"
done
ok "every script answers --help"
echo "PASS: t-pki-provision: $checks checks passed"
