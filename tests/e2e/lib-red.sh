# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for the red scenarios (t-red-*.sh), on top of lib.sh: a lab,
# red's config, the site link's green end, and knocks from green's
# namespace signed by tests with tests/tools/kg-sknock-send.
#
#   red_setup            lab + testbed + red started + site link up
#   red_knock ARGS       kg-sknock-send from green's end of the site link
#                        (10.89.0.1, through the link) to red's (10.89.0.2),
#                        as green sends second knocks (prints result=...)
#   red_knock_from ROLE ADDR ARGS   the same from ROLE to red's ADDR
#                        (e.g. the insider to red's inside address)
#   red_knock_counter NAME   packets of red's named counter (knock_foreign:
#                        knock-port packets dropped uncounted)
#   red_map              red's grants4 map, one element a line
#   red_map6             red's grants6 map, one element a line
#
# RED_V6=1 gives red a tunnel_range6 (fd88::/64) and an IPv6 end of the
# site link (fd89::2, green fd89::1), plays clients fd88::10 and fd88::11
# on green's loopback and has the real servers listen on IPv6 as well.

RED_SEND="$KG_BUILD/tests/tools/kg-sknock-send"
RED_BIN=${RED_BIN:-$KG_BUILD/red/knockgate-red}
# RED_ARGS: extra daemon arguments (t-red-privsep: -P, --test-worker)
RED_ARGS=${RED_ARGS:-}

red_need() {
	[ -x "$RED_BIN" ] || tb_skip "no $RED_BIN (build first)"
	[ -x "$RED_SEND" ] || tb_skip "no $RED_SEND (build first)"
	command -v wireguard-go >/dev/null || tb_skip "wireguard-go missing"
	command -v socat >/dev/null || tb_skip "socat missing"
}

red_conf() {
	local f=$1 lab=$2
	cat >"$f" <<CONF
[red]
id = red1
addresses = $(tb_addr red in 4), $(tb_addr red in 6)
knock_port = 62202
ca = $lab/red/ca.pem
crl = $lab/red/crl.pem
host_key = $lab/red/host.key
host_cert = $lab/red/host.pem
admin_socket = ${RED_CTL_SOCKET:-$TB_DIR/red.ctl}
metrics_file = ${RED_METRICS:-$TB_DIR/red.prom}
metrics_interval = 1
window = 30
max_lease = ${RED_MAX_LEASE:-60}
never_ban = $(tb_addr green in 4)
scan_ports = 10
ban_time = 60
log_level = info
$([ "${RED_V6:-0}" = 1 ] && echo "tunnel_range6 = fd88::/64")

[site]
interface = $(tb_ifname rs0)
private_key = $lab/red/site.key
listen_port = 51821
address = 10.89.0.2/30
$([ "${RED_V6:-0}" = 1 ] && echo "address6 = fd89::2/64")
peer_public_key = $(cat "$lab/red/green-site.pub")
peer_endpoint = $(tb_addr green in 4):51821

[green green1]
address = $(tb_addr green in 4)
cert = $lab/red/green.pem

[service web]
port = 8080
pool = 40000-40999

[service stream]
port = 8081
pool = 41000-41999
$([ "${RED_HOP_SERVICE:-0}" = 1 ] && printf '\n[service hopweb]\nport = 8080\npool = 42000-42999\nhop = yes\nhop_interval = 1\nhop_overlap = 200ms\n')
CONF
}

# Green's end of the site link, made by hand (green's daemon is not part
# of these scenarios): wireguard-go, red as peer, 10.89.0.1/30, and two
# tunnel addresses on green's loopback to play clients with.
red_green_site() {
	local lab=$1 ifn pub
	ifn=$(tb_ifname gs0)
	tb_start green wg-green-site "$TB_DIR/wg-green-site.log" \
		env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$ifn"
	for _ in $(seq 1 50); do
		[ -S "/var/run/wireguard/$ifn.sock" ] && break
		sleep 0.1
	done
	pub=$(cat "$lab/green/red-site.pub")
	tb_exec green wg set "$ifn" private-key "$lab/green/site.key" listen-port 51821 \
		peer "$pub" endpoint "$(tb_addr red in 4):51821" allowed-ips 10.89.0.2/32 \
		persistent-keepalive 5
	tb_exec green ip addr add 10.89.0.1/30 dev "$ifn"
	tb_exec green ip link set "$ifn" up
	tb_exec green ip addr add 10.88.1.10/32 dev lo
	tb_exec green ip addr add 10.88.1.11/32 dev lo
	if [ "${RED_V6:-0}" = 1 ]; then
		tb_exec green wg set "$ifn" peer "$pub" allowed-ips 10.89.0.2/32,fd89::2/128
		tb_exec green ip -6 addr add fd89::1/64 dev "$ifn" nodad
		tb_exec green ip -6 addr add fd88::10/128 dev lo nodad
		tb_exec green ip -6 addr add fd88::11/128 dev lo nodad
	fi
}

red_setup() {
	LAB=$TB_DIR/lab
	"$KG_BUILD/../provisioning/kg-lab" "$LAB" >"$TB_DIR/lab.log" 2>&1 ||
		{ tail "$TB_DIR/lab.log"; tb_fail "kg-lab failed"; }
	red_conf "$TB_DIR/red.conf" "$LAB"
	# shellcheck disable=SC2086 # RED_ARGS is a list of words
	tb_start red red "$TB_DIR/red.log" "$RED_BIN" -c "$TB_DIR/red.conf" $RED_ARGS
	tb_wait_ready "$TB_DIR/red.log"
	red_green_site "$LAB"
	tb_start red web "$TB_DIR/web.log" socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'echo web-on-red'
	printf '#!/bin/sh\nwhile true; do date +%%s.%%N; sleep 0.1; done\n' >"$TB_DIR/stream.sh"
	chmod +x "$TB_DIR/stream.sh"
	tb_start red stream "$TB_DIR/stream.log" socat TCP-LISTEN:8081,fork,reuseaddr EXEC:"$TB_DIR/stream.sh"
	if [ "${RED_V6:-0}" = 1 ]; then
		tb_start red web6 "$TB_DIR/web6.log" socat TCP6-LISTEN:8080,ipv6only=1,fork,reuseaddr SYSTEM:'echo web-on-red'
		tb_start red stream6 "$TB_DIR/stream6.log" socat TCP6-LISTEN:8081,ipv6only=1,fork,reuseaddr EXEC:"$TB_DIR/stream.sh"
	fi
	# the site link carries traffic once a handshake went through (red
	# answers no ping on it: nothing but grants passes)
	for _ in $(seq 1 50); do
		tb_exec green wg show "$(tb_ifname gs0)" latest-handshakes | grep -qv '	0$' && break
		sleep 0.2
	done
	tb_log "red up, site link up (green 10.89.0.1 <-> red 10.89.0.2)"
}

# red_knock_from ROLE ADDR [kg-sknock-send options...]: a knock from ROLE
# to ADDR's knock port, signed by green1's lab key unless -k is given
# later in the options.
red_knock_from() {
	local from=$1 to=$2
	shift 2
	tb_exec "$from" "$RED_SEND" -k "$LAB/green/host.key" -C "$LAB/red/host.pem" \
		-g green1 -r red1 -c 10.88.1.10 -S web -s 1 -q 1 -a open "$@" \
		"$to" 62202 || true
}

# red_knock [kg-sknock-send options...]: as green sends them, inside the
# site link: from 10.89.0.1 on green's site interface to 10.89.0.2.
red_knock() {
	red_knock_from green 10.89.0.2 -b 10.89.0.1 -I "$(tb_ifname gs0)" "$@"
}

red_knock_counter() {
	tb_exec red nft list counter inet knockgate "$1" 2>/dev/null |
		sed -nE 's/.*packets ([0-9]+).*/\1/p'
}

red_map() {
	tb_exec red nft list map inet knockgate grants4 | grep -oE '10\.88\.[0-9.]+ \. [0-9]+ [^:]*: [0-9]+' || true
}

red_map6() {
	tb_exec red nft list map inet knockgate grants6 | grep -oE 'fd88:[0-9a-f:]+ \. [0-9]+ [^:]*: [0-9]+' || true
}

# red_connect6 SRC PORT: red_connect from IPv6 tunnel address SRC to
# red's IPv6 site address fd89::2.
red_connect6() {
	tb_exec green timeout 4 socat -T2 - "TCP6:[fd89::2]:$2,bind=[$1],connect-timeout=2" </dev/null 2>/dev/null | grep -q .
}

# red_connect SRC PORT: 0 if a TCP connection from tunnel address SRC (on
# green) to red's site address at PORT opens and says something.
red_connect() {
	tb_exec green timeout 4 socat -T2 - "TCP4:10.89.0.2:$2,bind=$1,connect-timeout=2" </dev/null 2>/dev/null | grep -q .
}
