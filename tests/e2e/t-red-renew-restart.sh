#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Red restarts while green is resending a renewal (issue #10): the
# resends carry a timestamp from before red's start, so red refuses them
# as before_start. Green must not end the grant silently: it asks again
# with a fresh open, red maps the session anew, green moves its
# fwd_grants element and tells the client (MOVED), and the page answers
# at the port the client is told. Checked on green's records (reopen,
# then moved or renewed; never ended) and on the client's output.
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
card_reexec "$@"
command -v tcpdump >/dev/null || tb_skip "tcpdump missing"

FLOWRED_LEASE=15
flowred_init
# resends for 5 s, so one of them surely reaches the restarted red
FLOW_GREEN_EXTRA=${FLOW_GREEN_EXTRA/lease = /max_sends = 10$'\n'lease = }
export FLOW_GREEN_EXTRA
flowred_green_start
flow_card alice
flow_connect a1 "$FLOW_LAB/users/alice/profile" web
flow_wait_session a1
flowred_grant a1 web
wport=$FR_PORT
flowred_get "$wport" >/dev/null || tb_fail "no page at $wport"
tb_log "ok: web granted at $wport"

kill -TERM "$(tb_pid red)"
for _ in $(seq 1 50); do kill -0 "$(tb_pid red)" 2>/dev/null || break; sleep 0.1; done
tb_log "red stopped; waiting for green's next renewal knock on the site link"
tb_exec green timeout $((FLOWRED_LEASE / 3 + 3)) tcpdump -ni "$(tb_ifname gs0)" -c 1 \
	udp dst port 62202 >"$TB_DIR/renew.cap" 2>&1 || tb_fail "green sent no renewal while red was down"
t_sent=$(date +%s)
# red's start must fall in a later second than the knock's timestamp
while [ "$(date +%s)" -le "$t_sent" ]; do sleep 0.1; done
flowred_red_start
tb_log "red restarted while green resends the renewal"

# after_reopen: green's grant records for web after its first reopen
after_reopen() {
	flow_glog "event=grant .*service=web" |
		awk '/result=reopen reason=before_start/ { on = 1; next } on'
}
moved=
for _ in $(seq 1 100); do
	moved=$(after_reopen | grep -E "result=(moved|renewed|ended|refused)" | head -1)
	[ -z "$moved" ] || break
	sleep 0.1
done
flow_glog "event=grant" | tail -5
tb_wait_log "$TB_DIR/red.log" "event=sknock result=refused reason=before_start .*service=web" 1 ||
	tb_fail "red refused no renewal as before_start (the restart missed the resends)"
tb_log "ok: red refused a resent renewal as before_start"
flow_glog "event=grant result=reopen reason=before_start .*service=web" | grep -q . ||
	tb_fail "green did not ask again with a fresh open"
[ -n "$moved" ] || tb_fail "no grant record after the reopen"
case $moved in
*result=moved*|*result=renewed*) ;;
*) tb_fail "the grant was not renewed afresh: $moved" ;;
esac
flow_glog "event=grant result=ended .*service=web" | grep -q . && tb_fail "green ended the grant"
tb_log "ok: green re-opened the grant: ${moved#*event=}"

nport=$wport
if [[ $moved == *result=moved* ]]; then
	told=
	for _ in $(seq 1 50); do
		told=$(grep -E "^service web moved to " "$TB_DIR/a1.out" | tail -1)
		[ -z "$told" ] || break
		sleep 0.1
	done
	[ -n "$told" ] || tb_fail "the client was not told the new port"
	nport=$(sed -nE 's/^service web moved to [0-9.]+:([0-9]+) .*/\1/p' <<<"$told")
	tb_log "ok: the client was told: $told"
fi
page=$(flowred_get "$nport") || tb_fail "no page at $nport after the restart"
[ "$page" = "hello from red" ] || tb_fail "unexpected page: $page"
tb_log "PASS: renewal refused as before_start -> fresh open -> web answers at $nport (was $wport)"
