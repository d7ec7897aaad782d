#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Revocation without a signal: alice (client) and bob (client2) have
# tunnels (pending sessions, tunnel only); kg-user-revoke alice rewrites
# the users dir and the CRL; green notices by itself (inotify), ends
# alice's session within a second (measured) and removes what it held
# (peer, peers_pending, wg_open4), while bob's session stays. Alice's
# key ids leave the kernel pre-filter's set, so her next knock is dropped
# there (a sampled prefilter_miss record, never reaching the knock check).
# A SIGHUP that replaces the table puts bob's elements back, his four key
# ids included; bob's record pinning another key ends his.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-knock.sh
. "$here/lib-knock.sh"

tb_init
tb_up
knock_setup
client=$(tb_addr client)
client2=$(tb_addr client2)
cif=$(tb_ifname cwg)
cif2=$(tb_ifname cwg2)

knock_connect "$LAB/users/alice/profile" "$cif" --timeout 20 >"$TB_DIR/alice.out" 2>&1 ||
	{ cat "$TB_DIR/alice.out"; tb_fail "alice: connect failed"; }
tb_exec client2 "$KG_BIN" connect --help 2>&1 | grep -q -- '--tunnel-only' && stop=--tunnel-only
# shellcheck disable=SC2086
tb_exec client2 "$KG_BIN" connect --profile "$LAB/users/bob/profile" --ifname "$cif2" ${stop:-} --timeout 20 \
	>"$TB_DIR/bob.out" 2>&1 || { cat "$TB_DIR/bob.out"; tb_fail "bob: connect failed"; }
knock_nft_has wg_open4 "$client" && knock_nft_has wg_open4 "$client2" ||
	tb_fail "both clients should have their WireGuard opening"
[ "$(tb_exec green wg show "$GWG" peers | wc -l)" = 2 ] || tb_fail "green should have two peers"
tb_log "ok: alice and bob have tunnels (two peers, two openings)"

tb_log "check: kg-user-revoke alice (no signal) ends her session within a second"
"$KG_BUILD/../provisioning/kg-user-revoke" --ca "$LAB/ca" --green "$LAB/green" --red "$LAB/red" alice \
	>"$TB_DIR/revoke.log" 2>&1 || { cat "$TB_DIR/revoke.log"; tb_fail "kg-user-revoke failed"; }
t0=$(date +%s%N)
tb_wait_log "$GREEN_LOG" "event=session result=ended reason=removed user=alice" 5 ||
	{ tail -20 "$GREEN_LOG"; tb_fail "alice's session did not end"; }
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
tb_log "ok: ended $ms ms after kg-user-revoke returned (inotify, 200 ms settling)"
[ "$ms" -le 1500 ] || tb_fail "took $ms ms"
grep -q "event=revocation result=reloaded reason=files_changed.* ended=1" "$GREEN_LOG" ||
	tb_fail "no reload record with ended=1"

tb_log "check: what alice's session held is gone, bob's is not"
# (the peer itself goes after a 300 ms grace for the last control message)
for _ in $(seq 1 20); do
	[ "$(tb_exec green wg show "$GWG" peers | wc -l)" = 1 ] && break
	sleep 0.1
done
knock_nft_has wg_open4 "$client" && tb_fail "wg_open4 still holds alice's source"
knock_nft_has wg_open4 "$client2" || tb_fail "bob's opening is gone"
[ "$(tb_exec green wg show "$GWG" peers | wc -l)" = 1 ] || tb_fail "green should have one peer left"
tb_exec green wg show "$GWG" allowed-ips | grep -q '10.88.1.10/32' && tb_fail "alice's peer is still there"
tb_exec green nft list set inet knockgate peers_pending | grep -q '10.88.1.10 ' &&
	tb_fail "peers_pending still holds alice's tunnel address"

tb_log "check: alice's next knock is refused"
tb_exec client "$KG_BIN" close --ifname "$cif" >/dev/null 2>&1 || true
checked() { grep -c "event=knock result=[a-z]* reason=[a-z_]* .*src=$client" "$GREEN_LOG" || true; }
k0=$(checked)
if knock_connect "$LAB/users/alice/profile" "$cif" --timeout 3 >"$TB_DIR/alice2.out" 2>&1; then
	tb_fail "a revoked user's knock got a tunnel"
fi
tb_wait_log "$GREEN_LOG" "event=knock result=prefilter_miss src=$client" 3 ||
	tb_fail "no prefilter_miss record for alice's knock"
[ "$(checked)" = "$k0" ] || tb_fail "a revoked user's knock reached the knock check"
nids() { tb_exec green nft list set inet knockgate knock_ids | grep -o '0x[0-9a-f]*' | wc -l; }
[ "$(nids)" = 4 ] || tb_fail "knock_ids holds $(nids) ids, not bob's 4"

tb_log "check: a SIGHUP that replaces the table puts bob's elements back"
btun=$(sed -n 's/^tunnel_address = //p' "$LAB/green/users.d/bob.conf")
sed -i 's/^knock_rate = .*//; s/^\[green\]$/[green]\nknock_rate = 25/' "$TB_DIR/green.conf"
kill -HUP "$(tb_pid green)"
tb_wait_log "$GREEN_LOG" "event=revocation result=reloaded reason=sighup" 5 || tb_fail "no reload after SIGHUP"
tb_exec green nft list chain inet knockgate knock | grep -q 'rate 25/second' || tb_fail "the table was not replaced"
knock_nft_has wg_open4 "$client2" || tb_fail "bob's opening is missing after the table was replaced"
[ "$(nids)" = 4 ] || tb_fail "knock_ids holds $(nids) ids after the table was replaced, not bob's 4"
tb_exec green nft list set inet knockgate peers_pending | grep -q "$btun " ||
	tb_fail "bob's peers_pending element is missing after the table was replaced"
tb_log "ok: new table, bob's wg_open4 and peers_pending elements restored"

tb_log "check: bob's record now pinning another certificate key ends his session"
sed -i "s/^spki_sha256 = .*/spki_sha256 = $(printf '%064d' 1)/" "$LAB/green/users.d/bob.conf"
tb_wait_log "$GREEN_LOG" "event=session result=ended reason=removed user=bob" 3 ||
	{ tail -5 "$GREEN_LOG"; tb_fail "bob's session survived a changed pin"; }
knock_nft_has wg_open4 "$client2" && tb_fail "bob's opening is still there"
tb_log "ok: ended (reason=removed), opening gone"
tb_exec client2 "$KG_BIN" close --ifname "$cif2" >/dev/null 2>&1 || true
tb_log "PASS: revocation by file change ends alice's session in $ms ms, removes peer and openings; bob unaffected; alice refused; elements restored after a table replace"
