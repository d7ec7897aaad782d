#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Green's table across its life: SIGKILL then restart leaves exactly one
# knockgate table with the same rules (no duplicates), another table is
# never touched; SIGHUP reloads (a bad config keeps the old one); SIGTERM
# exits 0 and leaves the dark table: management (admin, port 2222) still
# gets in, nothing else does, no set is left (issue 10: fail closed); a
# start that fails on a host with no table leaves the dark table too.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

[ -x "$KG_BUILD/green/knockgate-green" ] || tb_skip "no $KG_BUILD/green/knockgate-green (build first)"
tb_init
tb_up
conf=$TB_DIR/green.conf
tb_green_conf "$conf"

tb_exec green nft -f - <<'NFT'
table inet other {
	set keep { type ipv4_addr; elements = { 192.0.2.1 } }
	chain input { type filter hook input priority 10; policy accept; ip saddr @keep counter accept; }
}
NFT
tb_exec green nft list table inet other >"$TB_DIR/other.before"

tb_green_start "$conf" "$TB_DIR/green1.log"
tb_exec green nft list table inet knockgate >"$TB_DIR/kg.before"
tb_log "table installed: $(grep -c . "$TB_DIR/kg.before") lines"

tb_stop green KILL || true
tb_exec green nft list tables | grep -q 'table inet knockgate' || tb_fail "SIGKILL should leave the table (dark while down)"
tb_log "ok: after SIGKILL the table stays (green stays dark while down)"

tb_green_start "$conf" "$TB_DIR/green2.log"
n=$(tb_exec green nft list tables | grep -c 'table inet knockgate')
[ "$n" = 1 ] || tb_fail "$n knockgate tables after restart"
tb_exec green nft list table inet knockgate >"$TB_DIR/kg.after"
diff -u "$TB_DIR/kg.before" "$TB_DIR/kg.after" || tb_fail "table differs after restart"
tb_log "ok: one knockgate table, identical to before ($(grep -c . "$TB_DIR/kg.after") lines, no duplicate rules)"
tb_exec green nft list table inet other >"$TB_DIR/other.after"
diff -u "$TB_DIR/other.before" "$TB_DIR/other.after" || tb_fail "inet other was touched"
tb_log "ok: inet other untouched"

# A second instance fails (NFLOG groups taken) and leaves the table alone.
tb_exec green nft add element inet knockgate banned4 '{ 192.0.2.98 timeout 5m }'
if tb_exec green "$KG_BUILD/green/knockgate-green" -c "$conf" >"$TB_DIR/second.log" 2>&1; then
	tb_fail "a second instance started"
fi
cat "$TB_DIR/second.log"
tb_exec green nft list set inet knockgate banned4 | grep -q 192.0.2.98 || tb_fail "a failed second instance touched the table"
tb_log "ok: a second instance refuses to start and leaves the running one's table alone"
# SIGHUP with only IPS numbers changed: the table (and its elements) stays.
tb_exec green nft add element inet knockgate banned4 '{ 192.0.2.99 timeout 5m }'
sed -i 's/^ban_time = .*/ban_time = 77/' "$conf"
kill -HUP "$(tb_pid green)"
tb_wait_log "$TB_DIR/green2.log" 'event=reload result=ok' 10 || tb_fail "no reload record"
tb_exec green nft list set inet knockgate banned4 | grep -q 192.0.2.99 || tb_fail "reload with the same table lost its elements"
tb_log "ok: SIGHUP with the same table keeps its elements"
# SIGHUP with a changed config: applied.
sed -i 's/^management_ports = 22$/management_ports = 22, 2222/' "$conf"
kill -HUP "$(tb_pid green)"
for _ in $(seq 1 100); do
	[ "$(grep -c 'event=reload result=ok' "$TB_DIR/green2.log")" = 2 ] && break
	sleep 0.1
done
[ "$(grep -c 'event=reload result=ok' "$TB_DIR/green2.log")" = 2 ] || tb_fail "second reload not logged"
tb_exec green nft list table inet knockgate | grep -q '22, 2222' || tb_fail "reload did not apply the new ports"
tb_log "ok: SIGHUP applied the new config"
# SIGHUP with a broken config: kept.
echo "bogus_key = 1" >>"$conf"
kill -HUP "$(tb_pid green)"
tb_wait_log "$TB_DIR/green2.log" 'event=reload result=error reason=kept_old_config' 10 || tb_fail "bad config not refused"
tb_exec green nft list table inet knockgate | grep -q '22, 2222' || tb_fail "table lost after a bad reload"
grep 'event=reload result=error' "$TB_DIR/green2.log"
tb_log "ok: broken config refused, old table kept"

# A service on a management port and one on another port.
tb_start green svc "$TB_DIR/svc.log" socat TCP-LISTEN:2222,fork,reuseaddr SYSTEM:'echo mgmt'
tb_start green svc2 "$TB_DIR/svc2.log" socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'echo web'
sleep 0.5
g4=$(tb_addr green out 4)
tb_stop green TERM || tb_fail "green did not exit 0 on SIGTERM"
dark=$(tb_exec green nft list table inet knockgate 2>&1) || tb_fail "no table after SIGTERM: $dark"
grep -qF 'comment "knockgate dark: daemon not running"' <<<"$dark" || { echo "$dark"; tb_fail "the table after SIGTERM is not the dark one"; }
! grep -qE '@|banned4|wg_open|knock_meter' <<<"$dark" || { echo "$dark"; tb_fail "the dark table has sets"; }
grep -q 'event=dark result=installed reason=stop' "$TB_DIR/green2.log" || tb_fail "no dark record"
tb_tcp_probe admin "$g4" 2222 || tb_fail "management (admin to port 2222) cut by the dark table"
! tb_tcp_probe admin "$g4" 8080 || tb_fail "admin reaches port 8080 (not a management port) in the dark table"
! tb_tcp_probe client "$g4" 2222 || tb_fail "a client reaches the management port in the dark table"
! tb_tcp_probe client "$g4" 8080 || tb_fail "a client reaches port 8080 in the dark table"
tb_exec green nft list tables | grep -q 'table inet other' || tb_fail "inet other removed"
grep -q 'event=stop result=ok' "$TB_DIR/green2.log" || tb_fail "no stop record"
tb_log "ok: SIGTERM left the dark table (management in, nothing else), exit 0; inet other still there"
tb_exec green nft delete table inet knockgate
tb_tcp_probe client "$g4" 8080 || tb_fail "control: with no table the client still cannot reach 8080 (the probe proves nothing)"
tb_log "ok: control: the documented removal (nft delete table inet knockgate) opens the host"

# A start that fails after the NFLOG groups (here: the WireGuard key file
# is missing, found by the gate at start), on a host with no table at all,
# leaves the dark table.
tb_green_conf "$TB_DIR/fail.conf"
mkdir -p "$TB_DIR/users.d"
printf '\n[wireguard]\nprivate_key = %s\n\n[knock]\nusers_dir = %s\n' "$TB_DIR/no-such.key" "$TB_DIR/users.d" >>"$TB_DIR/fail.conf"
rc=0
tb_exec green timeout 60 "$KG_BUILD/green/knockgate-green" -f -c "$TB_DIR/fail.conf" >"$TB_DIR/fail.log" 2>&1 || rc=$?
cat "$TB_DIR/fail.log"
[ "$rc" = 1 ] || tb_fail "green with a missing WireGuard key exited $rc, not 1"
grep -q 'no-such.key' "$TB_DIR/fail.log" || tb_fail "green failed for another reason than the missing key"
grep -q 'event=dark result=installed reason=start_failed' "$TB_DIR/fail.log" || tb_fail "no dark record after the failed start"
tb_exec green nft list table inet knockgate 2>/dev/null | grep -qF 'comment "knockgate dark: daemon not running"' ||
	tb_fail "no dark table after a failed start"
! tb_tcp_probe client "$g4" 8080 || tb_fail "a client reaches port 8080 after a failed start"
tb_log "ok: a failed start (no table before) left the dark table; 8080 dark again"
tb_log "PASS"
