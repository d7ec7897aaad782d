#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Card proofs green must refuse, each end to end: connect fails with
# green's answer, green logs event=auth result=rejected with the reason,
# and nothing stays open (no WireGuard peer on green, no wg_open/peers_*
# element, no client interface or state file):
#   - a certificate from another CA (mallory's card, alice's profile): unknown_ca
#   - alice's knock key with bob's card: wrong_user
#   - a revoked certificate (dave, enrolled here, on the CRL; his record
#     kept, as on a green whose records lag behind its CRL): revoked
#   - an expired certificate (carol, enrolled here, her card holding a
#     certificate for her key that ended in 2021): expired
#   - a replayed transcript signature from an earlier session
#     (tests/tools/kg-test-client records alice's proof, then sends it
#     again in a new session): bad_signature
#   - a client that never sends anything (socat through a tunnel-only
#     connect): green drops it after io_timeout (2 s here), reason=timeout
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-card.sh
. "$here/lib-card.sh"
# shellcheck source=tests/e2e/lib-flow.sh
. "$here/lib-flow.sh"
card_reexec "$@"
tkg=$KG_BUILD/tests/tools/kg-test-client
[ -x "$tkg" ] || tb_skip "build $tkg first"

flow_init
L=$FLOW_LAB

# carol: enrolled normally, then her card gets an expired certificate for
# the same key (so the record's pin still matches: only the date is wrong).
flow_enroll carol
openssl req -new -key "$L/users/carol/carol.key" -subj /CN=carol \
	-out "$TB_DIR/carol.csr" 2>/dev/null
KG_CA_DIR=$L/ca openssl ca -config "$L/ca/openssl.cnf" -batch -notext \
	-startdate 20200101000000Z -enddate 20210101000000Z -extensions v3_user \
	-in "$TB_DIR/carol.csr" -subj /CN=carol -out "$TB_DIR/carol-expired.pem" \
	>"$TB_DIR/ca.log" 2>&1 || { cat "$TB_DIR/ca.log"; tb_fail "issuing carol's expired cert"; }
"$CARD_VCARD_BIN" init --card "$L/users/carol/carol.card" --key "$L/users/carol/carol.key" \
	--cert "$TB_DIR/carol-expired.pem" --pin-file "$FLOW_PIN" --force >/dev/null
# dave: revoked on the CRL, his record put back.
flow_enroll dave
KG_VCARD=$CARD_VCARD_BIN "$FLOW_PROV/kg-card-virtual" --key "$L/users/dave/dave.key" \
	--cert "$L/users/dave/dave.pem" --pin-file "$FLOW_PIN" --out "$L/users/dave/dave.card" >/dev/null
cp "$L/green/users.d/dave.conf" "$TB_DIR/dave.conf"
"$FLOW_PROV/kg-user-revoke" --ca "$L/ca" --green "$L/green" dave >>"$TB_DIR/lab.log" 2>&1 ||
	{ cat "$TB_DIR/lab.log"; tb_fail "kg-user-revoke dave"; }
cp "$TB_DIR/dave.conf" "$L/green/users.d/dave.conf"

export FLOW_SESSION="io_timeout = 2"
flow_green_start

# refused CARD PROFILE REASON [client binary args...]
refused() {
	local card=$1 prof=$2 reason=$3 n
	shift 3
	card_stop >/dev/null 2>&1 || true
	flow_card "$card"
	n=$(grep -c "event=auth result=rejected" "$FLOW_GLOG" || true)
	if flow_connect_once "$prof" --pin-file "$FLOW_PIN" "$@"; then
		cat "$TB_DIR/once.out"
		tb_fail "$card's card with $prof got a session"
	fi
	# Green removes the peer as it refuses; its ERROR message may be lost
	# with the peer (then the client times out): the reason is in green's log.
	grep -qE "green refused: auth_failed|green did not answer in time" "$TB_DIR/once.out" ||
		{ cat "$TB_DIR/once.out"; tail -8 "$FLOW_GLOG"; tb_fail "connect did not report green's refusal"; }
	tb_wait_log "$FLOW_GLOG" "event=auth result=rejected reason=$reason " 5 ||
		{ tail -5 "$FLOW_GLOG"; tb_fail "no event=auth result=rejected reason=$reason"; }
	[ "$(grep -c "event=auth result=rejected" "$FLOW_GLOG")" = $((n + 1)) ] ||
		tb_fail "not exactly one rejection record"
	tb_log "ok: client: $(grep -E "refused|did not answer" "$TB_DIR/once.out" | tail -1)"
	tb_log "ok: green: $(flow_glog "event=auth result=rejected reason=$reason" | tail -1 | sed 's/.*notice //')"
	flow_assert_nothing_open "$reason"
}

tb_log "check: a certificate from another CA"
refused mallory "$L/users/alice/profile" unknown_ca
tb_log "check: alice's knock key with bob's card"
refused bob "$L/users/alice/profile" wrong_user
tb_log "check: a revoked certificate"
refused dave "$L/users/dave/profile" revoked
tb_log "check: an expired certificate"
refused carol "$L/users/carol/profile" expired

tb_log "check: a transcript signature replayed from an earlier session"
card_stop >/dev/null 2>&1 || true
flow_card alice
FLOW_KG=$tkg flow_connect first "$L/users/alice/profile" --test-record-proof "$TB_DIR/proof.sig"
flow_wait_session first
tb_stop first
flow_assert_nothing_open "recorded session closed"
[ -s "$TB_DIR/proof.sig" ] || tb_fail "no recorded proof signature"
tb_log "ok: recorded the card proof signature of session $(flow_session_id first) ($(stat -c %s "$TB_DIR/proof.sig") bytes)"
FLOW_KG=$tkg refused alice "$L/users/alice/profile" bad_signature --test-replay-proof "$TB_DIR/proof.sig"

tb_log "check: a client that never sends anything is dropped after io_timeout"
flow_connect_once "$L/users/alice/profile" --tunnel-only --timeout 20 ||
	{ cat "$TB_DIR/once.out"; tb_fail "tunnel-only connect failed"; }
# socat's own end is not the measure: green's FIN may be lost with the
# peer it removes at the same moment. Green's record is.
n=$(grep -c "reason=timeout" "$FLOW_GLOG" || true)
t0=$(date +%s%3N)
tb_start client silent "$TB_DIR/silent.out" timeout 15 socat -u \
	TCP4:10.88.0.1:4433,connect-timeout=5 -
for _ in $(seq 1 100); do
	[ "$(grep -c "reason=timeout" "$FLOW_GLOG" || true)" -gt "$n" ] && break
	sleep 0.1
done
rec=$(flow_glog "event=ctrl result=dropped reason=timeout .*src=10\.88\." | tail -1)
[ -n "$rec" ] || { cat "$TB_DIR/silent.out"; tail -5 "$FLOW_GLOG"; tb_fail "no event=ctrl result=dropped reason=timeout"; }
tb_log "ok: silent client dropped after $(($(date -d "${rec%% *}" +%s%3N) - t0)) ms (io_timeout 2 s): ${rec#*notice }"
tb_stop silent || true
tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" "$FLOW_KG" close --ifname "$FLOW_CIF" >/dev/null
flow_assert_nothing_open "silent client"

tb_log "PASS: unknown_ca, wrong_user, revoked, expired, replayed signature, silent client: refused, logged, nothing open"
