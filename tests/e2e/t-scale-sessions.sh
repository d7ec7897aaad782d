#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Green holding over 2,000 sessions while real card clients keep theirs,
# run past handshake_timeout (130 s, its minimum), so a liveness check
# that did not work would end them as peer_silent:
#   - load: 2,100 generated users (bench/flood-helper.py users), each
#     knocking with a fresh real WireGuard key (tests/tools/kg-knock-load)
#     from one of 110 addresses of the attacker's namespace (19 users an
#     address, as behind a NAT): 2,100 pending sessions with their peers
#     and elements; re-knocked every 60 s (a pending session ends after
#     one lease), so green never holds fewer;
#   - bob (full client, card proof, own source 198.51.100.12) is
#     connected, then stopped dead (his source cut off in the client's
#     namespace, then SIGKILL, his interface gone: no close, no
#     keepalive): his session must end as peer_silent within a lease and
#     a bit (his source is quiet, nothing came through the tunnel);
#   - alice (full client, card proof, source 198.51.100.10) stays: probes
#     through the tunnel every 10 s; her session must survive past the
#     lease, unended, and still carry traffic at the end.
# Only one live user is the full card client at a time (one virtual card
# reader in the client namespace).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-card.sh
. "$here/lib-card.sh"
# shellcheck source=tests/e2e/lib-flow.sh
. "$here/lib-flow.sh"
card_reexec "$@"

LOAD=2100
LEASE=130
KLOAD=$KG_BUILD/tests/tools/kg-knock-load
[ -x "$KLOAD" ] || tb_skip "build tests/tools first"
command -v python3 >/dev/null || tb_skip "python3 missing"

FLOW_SESSION="handshake_timeout = $LEASE
max_clients = 2500"
flow_init
users=$FLOW_LAB/green/users.d
python3 "$here/../../bench/flood-helper.py" users "$LOAD" "$users" ||
	tb_fail "generating $LOAD users"
flow_green_start
green=$(tb_addr green)
srcs=""
for i in $(seq 100 209); do
	tb_exec attacker ip addr add "198.51.100.$i/24" dev eth0
	srcs="$srcs 198.51.100.$i"
done

# A fresh knock per load user, each sent at once (500 a second).
load_knock() {
	local f n=0 k
	for f in "$users"/bench-*.conf; do
		# shellcheck disable=SC2086
		k=$(tb_exec attacker "$KLOAD" "$FLOW_LAB/users/alice/profile" "$f" $srcs) ||
			tb_fail "kg-knock-load $f"
		n=$((n + k))
	done
	tb_log "load: $n knocks sent"
}

peers() { flow_green_peers | wc -l; }

# Alice's traffic through the tunnel: a TCP connection to green's control
# port (refused as already_connected by green: her session is untouched).
# Three tries 2 s apart, so a moment of a loaded machine is not a failure;
# a session cut by green fails every try.
alice_probe() {
	local _
	for _ in 1 2 3; do
		flow_tunnel_probe && return 0
		sleep 2
	done
	tail -30 "$FLOW_GLOG"
	tail -5 "$TB_DIR/alice.out"
	return 1
}

tb_log "step: bob connects from 198.51.100.12, then stops dead"
tb_exec client ip addr add 198.51.100.12/24 dev eth0
tb_exec client ip route replace "$green/32" dev eth0 src 198.51.100.12
flow_card bob
flow_connect bob "$FLOW_LAB/users/bob/profile"
flow_wait_session bob
bob_sid=$(flow_session_id bob)
flow_glog "event=session result=live .*user=bob" | grep -q "src=198.51.100.12" ||
	tb_fail "bob's session is not from 198.51.100.12"
# Cut first, then kill: a killed client's socket would otherwise still
# send its FIN through the tunnel and green would end the session close.
tb_exec client nft -f - <<'NFT'
table inet kgcut {
	chain out {
		type filter hook output priority 0; policy accept;
		ip saddr 198.51.100.12 drop
	}
}
NFT
kill -KILL "$(tb_pid bob)"
tb_exec client ip link del "$FLOW_CIF" 2>/dev/null || true
rm -rf "${KG_RUN_DIR:?}"/*
tb_exec client ip route del "$green/32"
bob_stop=$(date +%s)
card_stop

tb_log "step: alice connects from 198.51.100.10"
flow_card alice
flow_connect alice "$FLOW_LAB/users/alice/profile"
flow_wait_session alice
alice_sid=$(flow_session_id alice)
alice_start=$(date +%s)
alice_probe || tb_fail "alice's tunnel carries nothing"

tb_log "step: $LOAD load sessions"
load_knock
for _ in $(seq 1 100); do [ "$(peers)" -ge 2000 ] && break; sleep 0.2; done
n=$(peers)
[ "$n" -ge 2000 ] || { tail -5 "$FLOW_GLOG"; tb_fail "green holds $n peers, not >= 2000"; }
tb_log "ok: green holds $n WireGuard peers"

tb_log "step: past one lease ($LEASE s) for bob and alice; alice probes every 10 s, the load re-knocks every 60 s"
last_load=$(date +%s) min_peers=$n
while :; do
	now=$(date +%s)
	[ "$now" -ge $((bob_stop + LEASE + 10)) ] && [ "$now" -ge $((alice_start + LEASE + 10)) ] && break
	alice_probe || tb_fail "alice's tunnel stopped carrying traffic after $((now - alice_start)) s"
	if [ $((now - last_load)) -ge 60 ]; then
		load_knock
		last_load=$(date +%s)
	fi
	n=$(peers)
	[ "$n" -lt "$min_peers" ] && min_peers=$n
	sleep 10
done

tb_log "check: bob's session ended peer_silent"
re=$(flow_sid_re "$bob_sid")
flow_glog "event=session result=ended reason=peer_silent user=bob session=$re" | grep -q . ||
	{ flow_glog "session=$re"; tb_fail "bob's session did not end as peer_silent"; }
tb_log "check: alice's session lives on and carries traffic"
re=$(flow_sid_re "$alice_sid")
! flow_glog "event=session result=ended .*session=$re" | grep -q . ||
	{ flow_glog "session=$re"; tb_fail "alice's session ended"; }
kill -0 "$(tb_pid alice)" || tb_fail "alice's client exited"
alice_probe || tb_fail "alice's tunnel carries nothing at the end"
n=$(peers)
[ "$n" -ge 2000 ] || tb_fail "green holds $n peers at the end"
silent=$(flow_glog "event=session result=ended reason=peer_silent" | wc -l)
[ "$silent" = 1 ] || tb_fail "$silent sessions ended peer_silent (only bob's should)"
tb_log "green: $(flow_glog 'reading peers' | wc -l) peer dump errors; peers at least $min_peers during the run"
kill "$(tb_pid alice)" 2>/dev/null || true
flow_wait_exit alice 10 || true
tb_log "PASS: $n sessions held past a $LEASE s lease; alice's session survived and passed traffic, bob's ended peer_silent"
