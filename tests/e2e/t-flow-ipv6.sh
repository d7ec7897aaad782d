#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The five steps with an IPv6 tunnel address. Green has tunnel_prefix6
# fd88::/64 beside its IPv4 tunnel range, alice's record and profile an
# IPv6 tunnel address (fd88::10), the site link an IPv6 end on each side
# (green fd89::1, red fd89::2) and red a tunnel_range6: alice knocks,
# tunnels (both addresses on her interface, the control channel on IPv4),
# proves her card and asks for web and stream; green asks red for IPv6
# grants, so the page comes over IPv6 inside the tunnel from red's IPv6
# site address, and only from alice's IPv6 tunnel address at that port.
# Green renews both grants in batches of renewals. `knockgate close`
# ends it: the IPv6 stream is cut (red's conntrack cut
# for fd88::10), red's grants6 and green's fwd_grants6 are empty.
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

flowred_v6_init
flowred_v6_green_conf
prof=$FLOW_LAB/users/alice/profile
flowred_green_start

grants6() {
	tb_exec red nft list map inet knockgate grants6 2>/dev/null |
		grep -oE 'fd88::[0-9a-f:]+ \. fd89::2 \. [0-9]+ [^:]*: [0-9]+' |
		sed -E 's/ \. fd89::2 \. / . /' || true
}
fwd6() {
	tb_exec green nft list set inet knockgate fwd_grants6 2>/dev/null |
		grep -oE 'fd88::[0-9a-f:]+ \. fd89::2 \. [0-9]+' || true
}
grant6() {
	local svc=$1 line _
	for _ in $(seq 1 300); do
		line=$(grep -E "^service $svc at " "$TB_DIR/a1.out" 2>/dev/null | tail -1)
		[ -z "$line" ] || break
		sleep 0.1
	done
	[ -n "$line" ] || { cat "$TB_DIR/a1.out"; tail -20 "$FLOW_GLOG"; tail -20 "$TB_DIR/red.log"; tb_fail "no grant for $svc"; }
	tb_log "connect a1: $line" >&2
	sed -nE 's/^service [^ ]+ at \[fd89::2\]:([0-9]+) .*/\1/p' <<<"$line"
}

tb_log "step i-iv: alice (IPv4 and IPv6 tunnel addresses) connects, asks for web and stream"
flow_card alice
flow_connect a1 "$prof" web stream
flow_wait_session a1
port=$(grant6 web)
sport=$(grant6 stream)
[ -n "$port" ] && [ -n "$sport" ] || tb_fail "the grants are not at red's IPv6 site address [fd89::2]"
tb_exec client ip -6 addr show dev "$FLOW_CIF" | grep -q "inet6 fd88::10/128" ||
	tb_fail "the client's tunnel has no IPv6 tunnel address"
tb_exec client ip -4 addr show dev "$FLOW_CIF" | grep -q "inet 10.88.1.10" ||
	tb_fail "the client's tunnel lost its IPv4 tunnel address"
tb_log "ok: the tunnel carries both addresses; web at [fd89::2]:$port, stream at [fd89::2]:$sport"

page=$(tb_exec client curl -gs --connect-timeout 3 -m 5 "http://[fd89::2]:$port/") ||
	{ cat "$TB_DIR/web6.log"; tb_exec red ss -ltn; tb_exec client curl -gv --connect-timeout 3 -m 5 "http://[fd89::2]:$port/"; tb_exec red nft list map inet knockgate grants6; tb_exec red nft list set inet knockgate allowed6; tb_exec green nft list set inet knockgate fwd_grants6; tb_fail "no page over IPv6 at the granted port"; }
[ "$page" = "hello from red" ] || tb_fail "unexpected page: $page"
grants6 | grep -q "^fd88::10 \. $port " || tb_fail "no grants6 element on red: $(grants6)"
fwd6 | grep -q "^fd88::10 \. fd89::2 \. $port$" || tb_fail "no fwd_grants6 element on green: $(fwd6)"
grep -qE "event=sknock result=accepted .*action=open service=web client=fd88::10 " "$TB_DIR/red.log" ||
	tb_fail "red logged no IPv6 open"
tb_log "ok: the page came over IPv6 inside the tunnel; grants6 and fwd_grants6 hold fd88::10"

! tb_exec client curl -gs --connect-timeout 2 -m 3 "http://[fd89::2]:8080/" >/dev/null ||
	tb_fail "red's real port reachable over IPv6"
! tb_exec client curl -s --connect-timeout 2 -m 3 "http://10.89.0.2:$port/" >/dev/null ||
	tb_fail "the IPv6 grant opened the port for alice's IPv4 address too"
tb_log "ok: not red's real port, not the same port over IPv4"

tb_start client s1 "$TB_DIR/s1.out" socat -u "TCP6:[fd89::2]:$sport,connect-timeout=3" STDOUT
lines() { { wc -l <"$TB_DIR/s1.out"; } 2>/dev/null || echo 0; }
for _ in $(seq 1 30); do [ "$(lines)" -ge 5 ] && break; sleep 0.1; done
[ "$(lines)" -ge 5 ] || tb_fail "the IPv6 stream carries nothing"
tb_log "ok: an IPv6 stream runs on [fd89::2]:$sport"

# green renews both grants a third of a lease after the grant, as
# signed batches of renewals: red logs the renewals and its batches
tb_wait_log "$TB_DIR/red.log" "action=renew service=stream client=fd88::10 " 12 ||
	{ tail -5 "$TB_DIR/red.log"; tb_fail "red saw no renewal of the IPv6 grants"; }
tb_wait_log "$FLOW_GLOG" "event=grant result=renewed .*service=stream client=fd88::10 " 5 ||
	{ tail -5 "$FLOW_GLOG"; tb_fail "green logged no renewal"; }
grep -E "action=renew service=(web|stream) client=fd88::10 " "$TB_DIR/red.log" | head -2 >"$TB_DIR/renews"
[ "$(wc -l <"$TB_DIR/renews")" = 2 ] || tb_fail "not both grants renewed: $(cat "$TB_DIR/renews")"
# both in one batch when they fall due in the same 100 ms tick, else in
# two: either way as batches, every entry accepted
n=$(sed -nE 's/.*event=sknock_batch result=answered .*entries=([0-9]+) accepted=\1$/\1/p' "$TB_DIR/red.log" |
	awk '{ s += $1 } END { print s + 0 }')
[ "$n" -ge 2 ] || { grep sknock_batch "$TB_DIR/red.log"; tb_fail "the renewals did not come as batches"; }
tb_log "ok: green renewed both IPv6 grants (batched renewals) and red took them"

tb_log "step v: knockgate close"
tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" "$FLOW_KG" close --ifname "$FLOW_CIF" >"$TB_DIR/close.out" 2>&1 ||
	{ cat "$TB_DIR/close.out"; tb_fail "knockgate close failed"; }
flow_wait_exit a1 10 || tb_fail "connect did not end on close"
tb_wait_log "$TB_DIR/red.log" "event=conntrack client=fd88::10 port=$sport result=cut flows=[1-9]" 10 ||
	{ grep conntrack "$TB_DIR/red.log"; tb_fail "red cut no IPv6 flow of port $sport"; }
n2=$(lines)
sleep 1.5
n3=$(lines)
[ "$n3" = "$n2" ] || tb_fail "the IPv6 stream still runs after close ($n2 -> $n3 lines)"
for _ in $(seq 1 30); do
	[ -z "$(grants6)$(fwd6)" ] && break
	sleep 0.1
done
[ -z "$(fwd6)" ] || tb_fail "green still forwards: $(fwd6)"
[ -z "$(grants6)" ] || tb_fail "red still maps: $(grants6)"
flow_assert_nothing_open "after close"
tb_log "PASS: IPv6 tunnel address: knock, card, IPv6 grant on red, page over IPv6, close cut the flow"
