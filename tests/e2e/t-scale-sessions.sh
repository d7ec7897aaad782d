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
#   - alice (full client, card proof, source 198.51.100.10) and 20 more
#     full clients c01..c20, each in a namespace of its own (source
#     198.51.100.21..40, own tunnel address and knock key; their user
#     records pin alice's certificate, so all prove with the one virtual
#     card: pcscd's socket is a file, reachable from every namespace)
#     stay: each probes through its tunnel every 10 s; every session
#     must survive past the lease, unended, and still carry traffic.
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
NCLI=20
KLOAD=$KG_BUILD/tests/tools/kg-knock-load
[ -x "$KLOAD" ] || tb_skip "build tests/tools first"
command -v python3 >/dev/null || tb_skip "python3 missing"

FLOW_SESSION="handshake_timeout = $LEASE
max_clients = 2500"
flow_init
users=$FLOW_LAB/green/users.d
python3 "$here/../../bench/flood-helper.py" users "$LOAD" "$users" ||
	tb_fail "generating $LOAD users"

# c01..c20: user records pinning alice's certificate, profiles like hers.
pin=$(sed -nE 's/^spki_sha256 *= *//p' "$users/alice.conf")
[ -n "$pin" ] || tb_fail "no spki_sha256 in alice's record"
clients=""
for i in $(seq 1 "$NCLI"); do
	c=$(printf 'c%02d' "$i")
	clients="$clients $c"
	key=$(openssl rand -hex 32)
	printf '[user %s]\nknock_key = %s\ntunnel_address = 10.88.9.%d\nspki_sha256 = %s\nservices = web\nmode = spa\n' \
		"$c" "$key" "$i" "$pin" >"$users/$c.conf"
	chmod 600 "$users/$c.conf"
	mkdir -p "$FLOW_LAB/users/$c"
	cp -r "$FLOW_LAB/users/alice/profile" "$FLOW_LAB/users/$c/profile"
	sed -i -E "s/^user = .*/user = $c/; s/^knock_key = .*/knock_key = $key/; s/^tunnel_address = .*/tunnel_address = 10.88.9.$i/" \
		"$FLOW_LAB/users/$c/profile/profile.conf"
	ip netns add "$(tb_ns "$c")"
	TB_ROLES="$TB_ROLES $c"   # tb_cleanup removes it with the rest
	ip -n "$(tb_ns "$c")" link set lo up
	tb_link "$c" out eth0
	ip -n "$(tb_ns "$c")" addr add "198.51.100.$((20 + i))/24" dev eth0
done
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
probe() {
	local who=$1 ns=$1 _
	[ "$who" = alice ] && ns=client
	for _ in 1 2 3; do
		flow_tunnel_probe "$ns" && return 0
		sleep 2
	done
	tail -30 "$FLOW_GLOG"
	tail -5 "$TB_DIR/$who.out"
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
alice_start=$(date +%s)
probe alice || tb_fail "alice's tunnel carries nothing"

tb_log "step: $NCLI more full clients, one namespace each, alice's card"
for c in $clients; do
	tb_start "$c" "$c" "$TB_DIR/$c.out" env KG_RUN_DIR="$TB_DIR/run-$c" \
		"$FLOW_KG" connect --profile "$FLOW_LAB/users/$c/profile" \
		--ifname "$(tb_ifname "$c")" --pin-file "$FLOW_PIN"
	flow_wait_session "$c"
done
for c in $clients; do
	probe "$c" || tb_fail "$c's tunnel carries nothing"
done
live_start=$(date +%s)   # the last one went live just now
tb_log "ok: alice and$clients are live and pass traffic"

tb_log "step: $LOAD load sessions"
load_knock
for _ in $(seq 1 100); do [ "$(peers)" -ge 2000 ] && break; sleep 0.2; done
n=$(peers)
[ "$n" -ge 2000 ] || { tail -5 "$FLOW_GLOG"; tb_fail "green holds $n peers, not >= 2000"; }
tb_log "ok: green holds $n WireGuard peers"

tb_log "step: past one lease ($LEASE s) for bob and every live client; each probes every 10 s, the load re-knocks every 60 s"
last_load=$(date +%s) min_peers=$n
while :; do
	now=$(date +%s)
	[ "$now" -ge $((bob_stop + LEASE + 10)) ] && [ "$now" -ge $((live_start + LEASE + 10)) ] && break
	for c in alice $clients; do
		probe "$c" || tb_fail "$c's tunnel stopped carrying traffic after $((now - alice_start)) s"
	done
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
tb_log "check: the $((NCLI + 1)) live clients' sessions live on and carry traffic"
for c in alice $clients; do
	re=$(flow_sid_re "$(flow_session_id "$c")")
	! flow_glog "event=session result=ended .*session=$re" | grep -q . ||
		{ flow_glog "session=$re"; tb_fail "$c's session ended"; }
	kill -0 "$(tb_pid "$c")" || tb_fail "$c's client exited"
	probe "$c" || tb_fail "$c's tunnel carries nothing at the end"
done
n=$(peers)
[ "$n" -ge 2000 ] || tb_fail "green holds $n peers at the end"
silent=$(flow_glog "event=session result=ended reason=peer_silent" | wc -l)
[ "$silent" = 1 ] || tb_fail "$silent sessions ended peer_silent (only bob's should)"
tb_log "green: $(flow_glog 'reading peers' | wc -l) peer dump errors; peers at least $min_peers during the run"
for c in alice $clients; do kill "$(tb_pid "$c")" 2>/dev/null || true; done
flow_wait_exit alice 10 || true
tb_log "PASS: $n sessions held past a $LEASE s lease; $((NCLI + 1)) live full clients survived and passed traffic, bob's session ended peer_silent"
