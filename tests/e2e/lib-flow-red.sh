# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# lib-flow-red.sh: the paper's five steps in the testbed. On top of
# lib.sh + lib-card.sh + lib-flow.sh (client, card, green with its gate)
# and lib-red.sh (red's config): red runs with a web page and a 100 ms
# stream behind it, green gets [site] + [red red1] + [service ...] so it
# makes the site link itself and forwards granted traffic.
#
#   flowred_init          flow_init + red started + servers; alice may use
#                         web, ssh and stream, bob web only
#   flowred_v6_init       RED_V6=1 (lib-red.sh) and flowred_init, with the
#                         page and the stream on red's IPv6 site address
#                         fd89::2 as well
#   flowred_v6_green_conf [RED_LINES]   green's IPv6 ends of the site link
#                         (fd89::1, red1 at fd89::2, then RED_LINES in
#                         [red red1]), tunnel_prefix6 fd88::/64, and
#                         alice's IPv6 tunnel address fd88::10 in her
#                         record and profile; before flowred_green_start
#   flowred_green_start   flow_green_start with the site sections; waits
#                         for the site link's first handshake
#   flowred_grant NAME SERVICE   waits for "service SERVICE at A:P until"
#                         in connect NAME's output; sets FR_ADDR FR_PORT
#   flowred_get [FROM] PORT   page from red's site address (curl, 3 s);
#                         prints it, status of curl
#   flowred_red_map       red's grants4 map, one element a line
#   flowred_fwd           green's fwd_grants elements
# FLOWRED_LEASE (default 20) is both green's lease and red's max_lease.

FLOWRED_LEASE=${FLOWRED_LEASE:-20}
export FR_ADDR=
export FR_PORT=

flowred_red_start() {
	RED_MAX_LEASE=$FLOWRED_LEASE red_conf "$TB_DIR/red.conf" "$FLOW_LAB"
	tb_start red red "$TB_DIR/red.log" "$RED_BIN" -c "$TB_DIR/red.conf"
	tb_wait_ready "$TB_DIR/red.log"
}

flowred_init() {
	red_need
	command -v curl >/dev/null || tb_skip "curl missing"
	flow_init
	LAB=$FLOW_LAB   # lib-red.sh (red_knock)
	export LAB
	sed -i 's/^services = .*/services = web, ssh, stream/' "$FLOW_LAB/green/users.d/alice.conf"
	flowred_red_start
	mkdir -p "$TB_DIR/www"
	echo "hello from red" >"$TB_DIR/www/index.html"
	tb_start red web "$TB_DIR/web.log" python3 -m http.server 8080 --directory "$TB_DIR/www"
	# Each connection's loop leaves its pid where tb_cleanup looks, so a
	# stream whose client vanished with its namespace does not live on.
	printf '#!/bin/sh\necho $$ >"%s/stream-$$.pid"\nwhile true; do date +%%s.%%N; sleep 0.1; done\n' \
		"$TB_DIR" >"$TB_DIR/stream.sh"
	chmod +x "$TB_DIR/stream.sh"
	tb_start red stream "$TB_DIR/stream.log" socat TCP-LISTEN:8081,fork,reuseaddr EXEC:"$TB_DIR/stream.sh"
	FLOW_GREEN_EXTRA=$(cat <<CONF
[site]
id = green1
interface = $(tb_ifname gs0)
private_key = $FLOW_LAB/green/site.key
listen_port = 51821
address = 10.89.0.1/30
host_key = $FLOW_LAB/green/host.key
ca = $FLOW_LAB/green/ca.pem
crl = $FLOW_LAB/green/crl.pem
lease = $FLOWRED_LEASE

[red red1]
address = $(tb_addr red in 4)
knock_port = 62202
site_address = 10.89.0.2
site_public_key = $(cat "$FLOW_LAB/green/red-site.pub")
cert = $FLOW_LAB/red/host.pem

[service stream]
red = red1
address = $(tb_addr red in 4)
CONF
)
	export FLOW_GREEN_EXTRA
}

flowred_v6_init() {
	local _
	RED_V6=1
	export RED_V6
	flowred_init
	tb_start red web6 "$TB_DIR/web6.log" python3 -m http.server 8080 --bind fd89::2 --directory "$TB_DIR/www"
	tb_start red stream6 "$TB_DIR/stream6.log" socat "TCP6-LISTEN:8081,bind=[fd89::2],ipv6only=1,fork,reuseaddr" EXEC:"$TB_DIR/stream.sh"
	for _ in $(seq 1 50); do
		tb_exec red ss -ltn | grep -q '\[fd89::2\]:8080' && break
		sleep 0.1
	done
}

flowred_v6_green_conf() {
	local site6="site_address6 = fd89::2"
	[ -z "${1:-}" ] || site6="$site6
$1"
	FLOW_GREEN_EXTRA=${FLOW_GREEN_EXTRA/address = 10.89.0.1\/30/address = 10.89.0.1\/30
address6 = fd89::1\/64}
	FLOW_GREEN_EXTRA=${FLOW_GREEN_EXTRA/site_address = 10.89.0.2/site_address = 10.89.0.2
"$site6"}
	FLOW_GREEN_EXTRA="$FLOW_GREEN_EXTRA
[green]
tunnel_prefix6 = fd88::/64"
	export FLOW_GREEN_EXTRA
	echo "tunnel_address6 = fd88::10" >>"$FLOW_LAB/green/users.d/alice.conf"
	echo "tunnel_address6 = fd88::10" >>"$FLOW_LAB/users/alice/profile/profile.conf"
}

flowred_green_start() {
	local ifn _
	flow_green_start
	ifn=$(tb_ifname gs0)
	for _ in $(seq 1 50); do
		tb_exec green wg show "$ifn" latest-handshakes 2>/dev/null | grep -qv '	0$' && break
		sleep 0.2
	done
	tb_exec green wg show "$ifn" latest-handshakes | grep -qv '	0$' ||
		tb_fail "no handshake on green's site link $ifn"
	tb_log "green up; site link $ifn (10.89.0.1 <-> red 10.89.0.2) has a handshake"
}

flowred_grant() {
	local name=$1 svc=$2 line pid _
	pid=$(tb_pid "$name")
	for _ in $(seq 1 300); do
		line=$(grep -E "^service $svc at " "$TB_DIR/$name.out" 2>/dev/null | tail -1)
		[ -z "$line" ] || break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "${line:-}" ] || { cat "$TB_DIR/$name.out"; tail -20 "$FLOW_GLOG"; tail -20 "$TB_DIR/red.log"; tb_fail "connect $name: no grant for $svc"; }
	FR_ADDR=$(sed -nE 's/^service [^ ]+ at ([0-9.]+):([0-9]+) .*/\1/p' <<<"$line")
	FR_PORT=$(sed -nE 's/^service [^ ]+ at ([0-9.]+):([0-9]+) .*/\2/p' <<<"$line")
	tb_log "connect $name: $line"
}

flowred_get() {
	local from=client
	[ $# -lt 2 ] || { from=$1; shift; }
	tb_exec "$from" curl -s --connect-timeout 3 -m 5 "http://10.89.0.2:$1/"
}

flowred_red_map() {
	tb_exec red nft list map inet knockgate grants4 2>/dev/null |
		grep -oE '10\.88\.[0-9.]+ \. [0-9]+ [^:]*: [0-9]+' || true
}

flowred_fwd() {
	tb_exec green nft list set inet knockgate fwd_grants 2>/dev/null |
		grep -oE '10\.88\.[0-9.]+ \. [0-9.]+ \. [0-9]+[^,}]*' || true
}
