# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# lib-greens.sh: a second green beside lib-flow-red.sh's (t-greens-*.sh).
# On top of lib.sh, lib-card.sh, lib-flow.sh, lib-red.sh, lib-flow-red.sh.
#
#   greens_init           flowred_init with a two-green lab (kg-lab,
#                         KG_LAB_GREENS=2: alice and bob enrolled at both)
#                         and a namespace "green2" (outside 198.51.100.2,
#                         inside 203.0.113.3); red's config gets both
#                         greens, each its own tunnel range and site peer
#   greens_green2_start   green2's knockgate-green (name green2, log
#                         $TB_DIR/green2.log): tunnel 10.88.128.1, site
#                         link 10.89.0.3 <-> red 10.89.0.2; waits for the
#                         site link's handshake (not with GREENS_NO_WAIT=1)
#   (FLOW_CONF_HOOK, if set, edits green2's file as it does green1's,
#   after $FLOW_LAB/green/ became $FLOW_LAB/green2/)
#   greens_stream_read PORT   0 if a line comes from red's stream at
#                         10.89.0.2:PORT (from the client, 2 s)
# green1 keeps lib-flow-red.sh's names; green2's interfaces are w2 (its
# WireGuard) and g2s (site link), machine-unique through tb_ifname.

# red.conf for two greens: lib-red.sh's, with [site] on a /29, green1's
# link address and range, and [green green2].
eval "greens_red_conf_one() $(declare -f red_conf | tail -n +2)"
red_conf() {
	local f=$1 lab=$2
	greens_red_conf_one "$@"
	sed -i -e 's|^address = 10.89.0.2/30|address = 10.89.0.2/29|' \
		-e '/^\[green green1\]/a link_address = 10.89.0.1\ntunnel_range = 10.88.0.0/17' "$f"
	cat >>"$f" <<CONF

[green green2]
address = 203.0.113.3
link_address = 10.89.0.3
tunnel_range = 10.88.128.0/17
cert = $lab/red/greens/green2.pem
site_public_key = $(cat "$lab/red/greens/green2-site.pub")
site_endpoint = 203.0.113.3:51821
CONF
}

greens_init() {
	export KG_LAB_GREENS=2
	flowred_init
	[ -d "$FLOW_LAB/green2" ] || tb_fail "kg-lab made no green2"
	sed -i 's/^services = .*/services = web, ssh, stream/' "$FLOW_LAB/green2/users.d/alice.conf"
	TB_ROLES="$TB_ROLES green2"
	ip netns add "$(tb_ns green2)"
	ip -n "$(tb_ns green2)" link set lo up
	tb_link green2 out eth0
	tb_link green2 in eth1
	ip -n "$(tb_ns green2)" addr add 198.51.100.2/24 dev eth0
	ip -n "$(tb_ns green2)" addr add 203.0.113.3/24 dev eth1
	ip -n "$(tb_ns green2)" route add default dev eth0
}

greens_green2_start() {
	local c=$TB_DIR/green2.conf ifn _
	flow_green_conf "$c"
	# green1's file with green2's keys, names and addresses
	sed -i -e "s|$FLOW_LAB/green/|$FLOW_LAB/green2/|g" \
		-e "s|^wg_interface = .*|wg_interface = $(tb_ifname w2)|" \
		-e "s|^interface = $(tb_ifname gs0)|interface = $(tb_ifname g2s)|" \
		-e "s|^tunnel_address = 10.88.0.1|tunnel_address = 10.88.128.1|" \
		-e "s|^id = green1|id = green2|" \
		-e "s|^address = 10.89.0.1/30|address = 10.89.0.3/29|" "$c"
	[ -z "${FLOW_CONF_HOOK:-}" ] || "$FLOW_CONF_HOOK" "$c"
	"$FLOW_GREEN" --check-config -c "$c" >"$TB_DIR/check2.log" 2>&1 ||
		{ cat "$TB_DIR/check2.log"; tb_fail "green2.conf refused"; }
	tb_start green2 green2 "$TB_DIR/green2.log" "$FLOW_GREEN" -f -c "$c"
	tb_wait_ready "$TB_DIR/green2.log"
	ifn=$(tb_ifname g2s)
	if [ "${GREENS_NO_WAIT:-0}" = 1 ]; then
		tb_log "green2 up; site link $ifn not waited for"
		return 0
	fi
	for _ in $(seq 1 50); do
		tb_exec green2 wg show "$ifn" latest-handshakes 2>/dev/null | grep -qv '	0$' && break
		sleep 0.2
	done
	tb_exec green2 wg show "$ifn" latest-handshakes | grep -qv '	0$' ||
		{ tail -20 "$TB_DIR/green2.log"; tb_fail "no handshake on green2's site link $ifn"; }
	tb_log "green2 up; site link $ifn (10.89.0.3 <-> red 10.89.0.2) has a handshake"
}

greens_stream_read() {
	tb_exec client timeout 2 socat -u "TCP4:10.89.0.2:$1,connect-timeout=1" - </dev/null 2>/dev/null |
		head -1 | grep -q .
}
