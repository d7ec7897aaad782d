#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The knockgate demo, as root on Debian 12: the paper's whole story in
# network namespaces on this machine. Installs what is missing, builds,
# provisions a lab (CA, hosts, users, virtual smart cards), builds the
# testbed, starts red (with a small web server) and green, shows that an
# outside scan finds nothing, then walks alice through the five steps
# (knock, tunnel, card proof, service request, close) and fetches a page
# from red through the tunnel; scans again (still nothing; the attacker
# is banned); shows a port hop (a scanner's find goes stale while alice's
# stream through her stable local port runs on) and tears everything
# down. About three minutes.
#   demo/demo.sh [--no-install]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
[ "$(id -u)" = 0 ] || { echo "demo: run as root (network namespaces, nftables)" >&2; exit 2; }

export KG_BUILD=$top/build-demo
if [ "${KG_CARD_PRIVATE_MNT:-}" != 1 ]; then
	# First pass: install and build, then re-run in a private mount
	# namespace (pcscd's socket dir for the virtual card, lib-card.sh).
	if [ "${1:-}" != --no-install ]; then
		say "Installing what is missing (tests/install-deps.sh)"
		bash tests/install-deps.sh
	fi
	say "Building (build-demo)"
	[ -f build-demo/build.ninja ] || meson setup build-demo >/dev/null
	ninja -C build-demo -j2 >/dev/null
	note "built: knockgate-green, knockgate-red, knockgate (client), knockgate-vcard"
fi

# shellcheck source=tests/e2e/lib.sh
. "$top/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/lib-card.sh
. "$top/tests/e2e/lib-card.sh"
# shellcheck source=tests/e2e/lib-flow.sh
. "$top/tests/e2e/lib-flow.sh"
# shellcheck source=tests/e2e/lib-red.sh
. "$top/tests/e2e/lib-red.sh"
# shellcheck source=tests/e2e/lib-flow-red.sh
. "$top/tests/e2e/lib-flow-red.sh"
card_reexec "$@"

say "Provisioning a lab and building the testbed (nothing touches the host)"
FLOWRED_LEASE=60
# red as lib-flow-red.sh configures it, but the stream service hops:
# every 3-5 s to another port of 9101-9199 (per client), 1 s overlap
flowred_red_start() {
	RED_MAX_LEASE=$FLOWRED_LEASE red_conf "$TB_DIR/red.conf" "$FLOW_LAB"
	sed -i -E 's/^pool = 41000-41999$/pool = 9101-9199\nhop = yes\nhop_interval = 3-5\nhop_overlap = 1/' \
		"$TB_DIR/red.conf"
	tb_start red red "$TB_DIR/red.log" "$RED_BIN" -c "$TB_DIR/red.conf"
	tb_wait_ready "$TB_DIR/red.log"
}
flowred_init
note "lab: CA, green1 and red1 host certificates, users alice (web, ssh, stream) and bob (web),"
note "     virtual PIV cards with their keys (PIN 123456): $FLOW_LAB"
note "outside: green 198.51.100.1, client .10, attacker .66; inside: green 203.0.113.1, red .2, insider .66"
note "red runs knockgate-red (dark, like green) and a web server on port 8080 that no one can reach"

say "Starting knockgate-green: dark table, WireGuard interface, site link to red"
flowred_green_start
note "$(grep -m1 'event=ready' "$FLOW_GLOG" | sed 's/^.*notice //')"
note "green's forward chain: only what fwd_grants holds, checked on every packet:"
tb_exec green nft list chain inet knockgate forward | grep -E 'fwd_grants|drop' | sed 's/^\s*/     /'

say "The attacker scans every TCP port of green: nmap -sS -p- (about 30 s)"
tb_exec attacker nmap -sS -p- --min-rate 5000 --max-retries 1 -n -Pn -oG - 198.51.100.1 >"$TB_DIR/before.gnmap" 2>/dev/null || true
note "open: $(grep -oE '[0-9]+/open/' "$TB_DIR/before.gnmap" | wc -l), closed: $(grep -oE '[0-9]+/closed/' "$TB_DIR/before.gnmap" | wc -l) -- green is dark"
note "$(grep -m1 'event=ban result=banned' "$FLOW_GLOG" | sed 's/^.*notice //')"

say "Alice: card in the reader, then knockgate connect -v --profile ... web"
flow_card alice
tb_exec client ip link set lo up
flow_connect alice "$FLOW_LAB/users/alice/profile" -v web stream=127.0.0.1:18081
flow_wait_session alice
flowred_grant alice web >/dev/null
wport=$FR_PORT
flowred_grant alice stream >/dev/null
FR_PORT=$wport
sed 's/^/     /' "$TB_DIR/alice.out"
note "(i) knock, (ii) WireGuard tunnel, (iii) card proof inside the tunnel, (iv) service request:"
note "green sent red a signed knock; red granted port $FR_PORT to alice's tunnel address only"
flow_glog "event=grant result=granted" | sed 's/^.*notice /     /'
grep "event=sknock result=accepted" "$TB_DIR/red.log" | sed 's/^.*notice /     /'
note "green's fwd_grants: $(flowred_fwd | tr '\n' ' ')"
note "red's grants map:   $(flowred_red_map | tr '\n' ' ')"

say "Alice fetches the page through the tunnel: curl http://10.89.0.2:$FR_PORT/"
note "-> $(flowred_get "$FR_PORT" || echo FAILED)"
note "the real port 8080: $(flowred_get 8080 >/dev/null 2>&1 && echo 'reachable (unexpected!)' || echo 'nothing')"

say "During the session, scans find nothing (top 1000 ports, green and red)"
tb_exec attacker ip route replace 203.0.113.2/32 via 198.51.100.1 2>/dev/null || true
for t in 198.51.100.1 203.0.113.2; do
	tb_exec attacker nmap -sS --top-ports 1000 --min-rate 5000 --max-retries 1 -n -Pn -oG - "$t" >"$TB_DIR/during.gnmap" 2>/dev/null || true
	note "attacker -> $t: open $(grep -oE '[0-9]+/open/' "$TB_DIR/during.gnmap" | wc -l)"
done
tb_exec insider nmap -sS --top-ports 1000 --min-rate 5000 --max-retries 1 -n -Pn -oG - 203.0.113.2 >"$TB_DIR/during.gnmap" 2>/dev/null || true
note "insider  -> 203.0.113.2: open $(grep -oE '[0-9]+/open/' "$TB_DIR/during.gnmap" | wc -l)"
note "alice still gets: $(flowred_get "$FR_PORT" || echo FAILED)"

say "Port hopping: the stream service moves every 3-5 s; alice uses a stable local port"
note "alice's client listens on 127.0.0.1:18081 and forwards each new connection to stream's current port"
tb_start client sess "$TB_DIR/sess.out" socat -u TCP4:127.0.0.1:18081,connect-timeout=3 STDOUT
sleep 1
note "malware on alice's machine scans red's pool through her tunnel: nmap -p 9101-9199 10.89.0.2"
found=$(tb_exec client nmap -Pn -n -sS -T4 --max-retries 1 --max-rtt-timeout 200ms -p 9101-9199 10.89.0.2 -oG - 2>/dev/null |
	grep -oE '[0-9]+/open/tcp' | cut -d/ -f1 | head -1 || true)
note "it finds port ${found:-none} open"
# the hop that leaves the port the scanner found (or the next one)
n0=$(grep -c "event=hop result=moved .*service=stream" "$TB_DIR/red.log" || true)
for _ in $(seq 1 80); do
	grep -q "event=hop result=moved .*service=stream .*old_port=${found:-x} " "$TB_DIR/red.log" && break
	[ -z "$found" ] && [ "$(grep -c "event=hop result=moved .*service=stream" "$TB_DIR/red.log" || true)" -gt "$n0" ] && break
	sleep 0.1
done
sleep 1.5
{ grep "event=hop result=moved .*service=stream .*old_port=${found:-x} " "$TB_DIR/red.log" ||
	grep "event=hop result=moved .*service=stream" "$TB_DIR/red.log"; } | tail -1 | sed -E 's/^.*(notice|info) /     /'
grep "^service stream moved" "$TB_DIR/alice.out" | tail -1 | sed 's/^/     /'
if [ -n "$found" ]; then
	note "the scanner's port $found now: $(tb_exec client timeout 2 bash -c "exec 3<>/dev/tcp/10.89.0.2/$found" 2>/dev/null && echo 'open (unexpected!)' || echo 'stale: new connections are dropped')"
fi
note "alice's stream meanwhile: $(wc -l <"$TB_DIR/sess.out") lines, still running, over $(grep -c '^forward stream: connection' "$TB_DIR/alice.out") upstream connection (the port it opened on stays held for it)"
tb_stop sess >/dev/null 2>&1 || true

say "(v) knockgate close"
tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" "$FLOW_KG" close --ifname "$FLOW_CIF" >/dev/null 2>&1 || true
flow_wait_exit alice 10 || true
tail -3 "$TB_DIR/alice.out" | sed 's/^/     /'
sleep 0.5
flow_glog "event=grant result=closed" | sed 's/^.*notice /     /'
grep -E "event=sknock result=accepted.*action=close|event=conntrack" "$TB_DIR/red.log" | sed -E 's/^.*(notice|info) /     /' || true
note "the page now: $(flowred_get client "$FR_PORT" 2>/dev/null || echo 'nothing')"
note "green's fwd_grants: '$(flowred_fwd)', red's map: '$(flowred_red_map)' -- empty"

say "The attacker is still banned on green, and saw nothing all along"
tb_exec green nft list set inet knockgate banned4 | grep elements | sed 's/^\s*/     /' || note "(its ban has expired by now)"

say "Tearing down (red and green stop: each leaves its dark table, then the namespaces go)"
