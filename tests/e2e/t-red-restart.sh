#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Red restarted during a session starts from an empty table: the grant is
# gone, a knock stamped before the restart is refused (before_start), and
# green's next renewal maps the session again, at the port red answers,
# which then works. SIGTERM replaces red's table with the dark one (no
# set, no grant: the old port is closed while red is down) and removes its
# site interface (t-red-failclosed.sh tests the dark table further).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-red.sh
. "$here/lib-red.sh"

red_need
tb_init
tb_up
red_setup

out=$(red_knock -S web -s 5 -q 1 -o "$TB_DIR/open.knock")
port=$(echo "$out" | sed -E 's/.*port=([0-9]+).*/\1/')
red_connect 10.88.1.10 "$port" || tb_fail "granted port $port unreachable"
tb_log "session open at $port"

tb_stop red || tb_fail "red did not exit 0 on SIGTERM"
dark=$(tb_exec red nft list table inet knockgate 2>&1) || tb_fail "no table after SIGTERM: $dark"
grep -qF 'comment "knockgate dark: daemon not running"' <<<"$dark" || { echo "$dark"; tb_fail "the table after SIGTERM is not the dark one"; }
! grep -q grants4 <<<"$dark" || tb_fail "the dark table still has the grants map"
tb_exec red ip link show "$(tb_ifname rs0)" >/dev/null 2>&1 && tb_fail "site interface left after SIGTERM"
tb_log "ok: SIGTERM left the dark table (no grants map) and removed the site interface"
grep -E 'Sanitizer|runtime error' "$TB_DIR/red.log" && tb_fail "sanitizer report in red's log"
grep -qE 'event=stop result=ok' "$TB_DIR/red.log" || tb_fail "no clean stop record"
tb_log "ok: clean stop record, no sanitizer report"
sleep 1.1
tb_start red red "$TB_DIR/red2.log" "$RED_BIN" -c "$TB_DIR/red.conf"
tb_wait_ready "$TB_DIR/red2.log"
for _ in $(seq 1 50); do
	tb_exec green wg show "$(tb_ifname gs0)" latest-handshakes | grep -qv '	0$' && break
	sleep 0.2
done
[ -z "$(red_map)" ] || tb_fail "restarted red has grants: $(red_map)"
red_connect 10.88.1.10 "$port" && tb_fail "old grant still reachable after restart"
tb_log "ok: restarted red starts from an empty table; $port is closed"

old=$(red_knock -i "$TB_DIR/open.knock")
[ "$old" = "result=refused reason=before_start" ] || tb_fail "pre-restart knock answered '$old'"
tb_log "ok: the pre-restart open, sent again: $old"

rn=$(red_knock -S web -s 5 -q 2 -a renew)
case $rn in result=granted*) ;; *) tb_fail "renewal after restart: $rn" ;; esac
nport=$(echo "$rn" | sed -E 's/.*port=([0-9]+).*/\1/')
red_connect 10.88.1.10 "$nport" || tb_fail "renewed port $nport unreachable"
tb_log "ok: renewal re-opened the session at port $nport (was $port) and it works"
tb_log "PASS"
