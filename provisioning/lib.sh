# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Shared helpers of the provisioning scripts (sourced, not run). Keys are
# made under umask 077, so no private key is ever readable by group or
# others, even for a moment.

umask 077
set -o pipefail

# Role marks in host certificates (EKU), under the UUID arc
# 2.25.<decimal of 2a6493bc-49ce-494e-90fd-f7c4a14c701f>. Same values as
# pki/pki_int.h; listed in docs/pki.md.
KG_OID_ARC=2.25.56349801940768029519906603991703515167
KG_OID_GREEN=$KG_OID_ARC.1
KG_OID_RED=$KG_OID_ARC.2
export KG_OID_GREEN KG_OID_RED


prog=$(basename "$0")

# Value of KEY in DIR/enroll.conf ("key = value" lines, # comments), else
# DEFAULT (may be empty). The admin's per-green provisioning settings.
enroll_conf() {
	local f=$1/enroll.conf v=""
	[ -f "$f" ] && v=$(awk -F= -v k="$2" '
		/^[ \t]*#/ { next }
		{ key = $1; gsub(/[ \t]/, "", key) }
		key == k { sub(/^[^=]*=[ \t]*/, ""); sub(/[ \t]+$/, ""); print; exit }' "$f")
	printf '%s\n' "${v:-${3:-}}"
}

# IPv4 or IPv6 address (syntax only).
is_ip() {
	[[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || [[ $1 =~ ^[0-9a-fA-F:]+:[0-9a-fA-F:.]*$ ]]
}

die() { echo "$prog: $*" >&2; exit 1; }
note() { echo "$prog: $*" >&2; }

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || die "needs '$c' (not found in PATH)"
	done
}

# Absolute path of an existing or to-be-made path (no symlink resolution
# needed: only used to hand paths to openssl after a cd).
abspath() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$(pwd)" "$1" ;;
	esac
}

# Names end up in certificate CNs, file names and config section headers.
check_name() {
	[[ $1 =~ ^[a-z0-9][a-z0-9_.-]{0,31}$ ]] ||
		die "bad name '$1' (lowercase letters, digits, '_', '.', '-'; max 32)"
}

# A CA directory made by kg-ca-init.
check_ca_dir() {
	[ -f "$1/ca.key" ] && [ -f "$1/ca.pem" ] && [ -f "$1/openssl.cnf" ] ||
		die "$1 is not a CA directory (run kg-ca-init first)"
}

# openssl ca with our config; KG_CA_DIR is what the config's dir expands to.
ca_openssl() {
	local ca=$1
	shift
	KG_CA_DIR=$(abspath "$ca") openssl ca -config "$ca/openssl.cnf" -batch "$@"
}

# A new ECDSA P-256 private key, mode 0600, refusing to overwrite.
new_p256_key() {
	[ -e "$1" ] && die "$1 exists: refusing to overwrite a private key"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$1" 2>/dev/null || die "cannot make key $1"
	chmod 600 "$1"
}

# A WireGuard key pair NAME.key (0600) / NAME.pub, kept if present.
wg_keypair() {
	local base=$1
	if [ ! -f "$base.key" ]; then
		wg genkey >"$base.key" || die "wg genkey failed"
		chmod 600 "$base.key"
	fi
	wg pubkey <"$base.key" >"$base.pub" || die "wg pubkey failed for $base.key"
	chmod 644 "$base.pub"
}

# Publishes the CA's current CRL and certificate into a host or profile dir.
copy_public() {
	local ca=$1 dest=$2
	install -m 644 "$ca/ca.pem" "$dest/ca.pem"
	install -m 644 "$ca/crl.pem" "$dest/crl.pem"
}

# notBefore / CRL lastUpdate one hour back: a host whose clock lags the
# CA machine's by minutes must not refuse a fresh certificate or CRL (a
# CRL that is "not yet valid" would lock every user out).
backdate() { date -u -d '-1 hour' +%Y%m%d%H%M%SZ; }

# Regenerates the CRL (valid for DAYS days, default from the config).
gen_crl() {
	local ca=$1 days=${2:-}
	if [ -n "$days" ]; then
		ca_openssl "$ca" -gencrl -crlexts crl_ext -crl_lastupdate "$(backdate)" -crldays "$days" -out "$ca/crl.pem.new" 2>/dev/null
	else
		ca_openssl "$ca" -gencrl -crlexts crl_ext -crl_lastupdate "$(backdate)" -out "$ca/crl.pem.new" 2>/dev/null
	fi || die "cannot generate the CRL in $ca"
	chmod 644 "$ca/crl.pem.new"
	mv -f "$ca/crl.pem.new" "$ca/crl.pem"
}

# SHA-256 of a certificate's SubjectPublicKeyInfo DER, 64 hex.
spki_sha256() {
	openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
		openssl dgst -sha256 -r | cut -d' ' -f1
}

cert_cn() {
	openssl x509 -in "$1" -noout -subject -nameopt multiline |
		sed -n 's/^ *commonName *= *//p'
}

# Writes stdin to FILE atomically with MODE.
write_file() {
	local file=$1 mode=$2 tmp
	tmp=$(mktemp "$file.XXXXXX")
	cat >"$tmp"
	chmod "$mode" "$tmp"
	mv -f "$tmp" "$file"
}
