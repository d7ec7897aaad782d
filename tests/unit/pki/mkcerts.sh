#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Test fixture for test_pki: provisions a lab with the real scripts in DIR,
# then adds the odd certificates each refusal test needs, made with the
# openssl CLI against the lab CA (fixed dates for expired/not-yet-valid).
#   mkcerts.sh TOP DIR
set -eu
top=$1 dir=$2
prov=$top/provisioning
. "$prov/lib.sh"

"$prov/kg-lab" "$dir" 2>/dev/null
ca=$dir/ca
t=$dir/test
mkdir -p "$t"

# csr NAME [openssl genpkey args]: key t/NAME.key and CSR t/NAME.csr
csr() {
	local n=$1
	shift
	openssl genpkey "$@" -out "$t/$n.key" 2>/dev/null
	openssl req -new -key "$t/$n.key" -subj "/CN=$n" -out "$t/$n.csr" 2>/dev/null
}
p256=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256)

csr expired "${p256[@]}"
ca_openssl "$ca" -notext -in "$t/expired.csr" -subj /CN=expired -extensions v3_user \
	-startdate 20200101000000Z -enddate 20210101000000Z -out "$t/expired.pem" 2>/dev/null
csr future "${p256[@]}"
ca_openssl "$ca" -notext -in "$t/future.csr" -subj /CN=future -extensions v3_user \
	-startdate 20400101000000Z -enddate 20410101000000Z -out "$t/future.pem" 2>/dev/null

# Our CA, but an EKU for TLS servers instead of clientAuth.
printf '%s\n' "basicConstraints = critical, CA:FALSE" \
	"keyUsage = critical, digitalSignature" "extendedKeyUsage = serverAuth" \
	"subjectKeyIdentifier = hash" "authorityKeyIdentifier = keyid:always" >"$t/server.ext"
csr wrongeku "${p256[@]}"
ca_openssl "$ca" -notext -in "$t/wrongeku.csr" -subj /CN=wrongeku -extfile "$t/server.ext" \
	-out "$t/wrongeku.pem" 2>/dev/null

# Our CA, clientAuth, but RSA.
csr rsa -algorithm RSA -pkeyopt rsa_keygen_bits:2048
ca_openssl "$ca" -notext -in "$t/rsa.csr" -subj /CN=rsa -extensions v3_user \
	-out "$t/rsa.pem" 2>/dev/null

# Self-signed, otherwise a perfect user certificate.
printf '%s\n' "basicConstraints = critical, CA:FALSE" \
	"keyUsage = critical, digitalSignature" "extendedKeyUsage = clientAuth" >"$t/user.ext"
csr selfie "${p256[@]}"
openssl x509 -req -in "$t/selfie.csr" -signkey "$t/selfie.key" -days 30 \
	-extfile "$t/user.ext" -out "$t/selfie.pem" 2>/dev/null

# carol: enrolled with the script, then revoked with the script.
"$prov/kg-user-enroll" --ca "$ca" --green "$dir/green" --out "$dir/users/carol" carol >/dev/null 2>&1
cp "$dir/green/users.d/carol.conf" "$t/carol-record-before-revoke.conf"
"$prov/kg-user-revoke" --ca "$ca" --green "$dir/green" --red "$dir/red" carol 2>/dev/null
