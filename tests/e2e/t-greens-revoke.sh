#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Revocation everywhere, by signed bundle. Two greens (lib-greens.sh),
# each reading its CRL and user records from a directory of its own that
# only a bundle changes ([pki] bundle): the lab's green dirs stand for
# the provisioning machine. alice has a session on green1 and one on
# green2 (two connects, one card). (1) A first bundle per green (serial
# n) is applied and changes nothing. (2) A tampered bundle is refused
# (bad_signature) and one for the other green too (wrong_green); the
# sessions live on. (3) alice is revoked on the provisioning machine
# (kg-user-revoke), a new bundle per green is pushed: both sessions end
# and both greens refuse her knock from then on. (4) The older bundle
# pushed again is refused (rollback) and alice stays out.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-card.sh
. "$here/lib-card.sh"
# shellcheck source=tests/e2e/lib-flow.sh
. "$here/lib-flow.sh"
# shellcheck source=tests/e2e/lib-red.sh
. "$here/lib-red.sh"
# shellcheck source=tests/e2e/lib-flow-red.sh
. "$here/lib-flow-red.sh"
# shellcheck source=tests/e2e/lib-greens.sh
. "$here/lib-greens.sh"
card_reexec "$@"

# green.conf: CRL and records from DIR/run, bundles arrive at DIR/run/bundle.kgb
run_dirs() {
	local f=$1 dir
	dir=$(sed -nE 's|^users_dir = (.*)/users.d$|\1|p' "$f")
	mkdir -p "$dir/run/users.d"
	cp "$dir/crl.pem" "$dir/run/crl.pem"
	cp "$dir"/users.d/*.conf "$dir/run/users.d/"
	chmod 700 "$dir/run/users.d"
	sed -i -e "s|^users_dir = .*|users_dir = $dir/run/users.d|" \
		-e "s|^crl = $dir/crl.pem|crl = $dir/run/crl.pem|" \
		-e "/^\[pki\]/a bundle = $dir/run/bundle.kgb" "$f"
}
FLOW_CONF_HOOK=run_dirs
PROV=$here/../../provisioning

bundle() { "$PROV/kg-bundle-make" --ca "$FLOW_LAB/ca" --green "$FLOW_LAB/$1" --out "$TB_DIR/$2" 2>>"$TB_DIR/prov.log"; }
push() { "$PROV/kg-bundle-push" "$TB_DIR/$2" "$FLOW_LAB/$1/run/bundle.kgb" 2>>"$TB_DIR/prov.log"; }
glog() { if [ "$1" = green ]; then echo "$FLOW_GLOG"; else echo "$TB_DIR/green2.log"; fi; }
wait_bundle() {
	tb_wait_log "$(glog "$1")" "$2" 5 || { grep event=bundle "$(glog "$1")"; tb_fail "$1: no record /$2/"; }
}

FLOWRED_LEASE=10
greens_init
flowred_green_start
greens_green2_start
# a profile of alice's green2 entry alone
p2=$TB_DIR/alice-green2
mkdir -m 700 "$p2"
cp "$FLOW_LAB/users/alice/profile/ca.pem" "$p2/"
{
	printf '[profile]\nuser = alice\ngreen_id = green2\n'
	sed -n '/^\[green green2\]/,$p' "$FLOW_LAB/users/alice/profile/profile.conf" | tail -n +2
	printf 'ca = ca.pem\n'
} >"$p2/profile.conf"
chmod 600 "$p2/profile.conf"
# and one of green1's alone (no failover: each session stays where it is)
p1=$TB_DIR/alice-green1
mkdir -m 700 "$p1"
cp "$FLOW_LAB/users/alice/profile/ca.pem" "$p1/"
sed '/^\[green green2\]/,$d' "$FLOW_LAB/users/alice/profile/profile.conf" >"$p1/profile.conf"
chmod 600 "$p1/profile.conf"

tb_log "part 1: alice on green1 and on green2; a first bundle for each"
flow_card alice
flow_connect a1 "$p1"
flow_wait_session a1
tb_start client a2 "$TB_DIR/a2.out" env KG_RUN_DIR="$KG_RUN_DIR" \
	"$FLOW_KG" connect --profile "$p2" --ifname "$(tb_ifname c2)" --pin-file "$FLOW_PIN"
flow_wait_session a2
grep -q "on green1," "$TB_DIR/a1.out" && grep -q "on green2," "$TB_DIR/a2.out" ||
	{ cat "$TB_DIR/a1.out" "$TB_DIR/a2.out"; tb_fail "alice is not on both greens"; }
bundle green b1-g1.kgb
bundle green2 b1-g2.kgb
push green b1-g1.kgb
push green2 b1-g2.kgb
wait_bundle green "event=bundle result=applied trigger=arrived serial=1 users=2"
wait_bundle green2 "event=bundle result=applied trigger=arrived serial=2 users=2"
kill -0 "$(tb_pid a1)" && kill -0 "$(tb_pid a2)" || tb_fail "a bundle with alice in it ended a session"
tb_log "ok: both greens applied their first bundle, both sessions live"

tb_log "part 2: a tampered bundle, and one for the other green"
cp "$TB_DIR/b1-g1.kgb" "$TB_DIR/bad.kgb"
# one byte of a user record: 'services = web' becomes 'services = wec'
sed -i '0,/^services = web/s//services = wec/' "$TB_DIR/bad.kgb"
cmp -s "$TB_DIR/bad.kgb" "$TB_DIR/b1-g1.kgb" && tb_fail "the tampering changed nothing"
push green bad.kgb
wait_bundle green "event=bundle result=refused reason=bad_signature trigger=arrived serial=1"
push green b1-g2.kgb
wait_bundle green "event=bundle result=refused reason=wrong_green trigger=arrived serial=2"
grep -q "^services = web" "$FLOW_LAB/green/run/users.d/alice.conf" || tb_fail "a refused bundle changed alice's record"
kill -0 "$(tb_pid a1)" || tb_fail "a refused bundle ended alice's session"
tb_log "ok: green1 refused the tampered bundle (bad_signature) and green2's (wrong_green)"

tb_log "part 3: alice revoked; new bundles pushed"
"$PROV/kg-user-revoke" --ca "$FLOW_LAB/ca" --green "$FLOW_LAB/green" --green "$FLOW_LAB/green2" alice 2>>"$TB_DIR/prov.log"
# the greens read their own run dirs: nothing changed for them yet
[ -f "$FLOW_LAB/green/run/users.d/alice.conf" ] || tb_fail "the revocation reached green1 without a bundle"
bundle green b2-g1.kgb
bundle green2 b2-g2.kgb
t0=$(date +%s%N)
push green b2-g1.kgb
push green2 b2-g2.kgb
flow_wait_exit a1 10 || { cat "$TB_DIR/a1.out"; tb_fail "alice's green1 session outlived the bundle"; }
flow_wait_exit a2 10 || { cat "$TB_DIR/a2.out"; tb_fail "alice's green2 session outlived the bundle"; }
ms=$((($(date +%s%N) - t0) / 1000000))
wait_bundle green "event=bundle result=applied trigger=arrived serial=3 users=1"
wait_bundle green2 "event=bundle result=applied trigger=arrived serial=4 users=1"
grep -q "ended: green ended the session" "$TB_DIR/a1.out" || { cat "$TB_DIR/a1.out"; tb_fail "a1 did not end by green"; }
grep -q "ended: green ended the session" "$TB_DIR/a2.out" || { cat "$TB_DIR/a2.out"; tb_fail "a2 did not end by green"; }
[ ! -e "$FLOW_LAB/green/run/users.d/alice.conf" ] && [ ! -e "$FLOW_LAB/green2/run/users.d/alice.conf" ] ||
	tb_fail "alice's record is still on a green"
flow_connect_once "$FLOW_LAB/users/alice/profile" --pin-file "$FLOW_PIN" --timeout 3 && { cat "$TB_DIR/once.out"; tb_fail "revoked alice connected again"; }
grep -q "no handshake with green" "$TB_DIR/once.out" || { cat "$TB_DIR/once.out"; tb_fail "alice's connect failed for another reason"; }
tb_log "ok: both sessions ended ${ms} ms after the pushes; alice cannot connect"

tb_log "part 4: the older bundle again"
push green b1-g1.kgb
wait_bundle green "event=bundle result=refused reason=rollback trigger=arrived serial=1 error=3"
push green2 b1-g2.kgb
wait_bundle green2 "event=bundle result=refused reason=rollback trigger=arrived serial=2 error=4"
[ ! -e "$FLOW_LAB/green/run/users.d/alice.conf" ] || tb_fail "the rolled-back bundle brought alice back"
tb_log "PASS: t-greens-revoke (both sessions ended ${ms} ms after the bundles; tampered, wrong-green and rolled-back bundles refused)"
