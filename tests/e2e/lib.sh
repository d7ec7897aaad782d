# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# The namespace testbed every end-to-end test and the demo build on.
# Documented in docs/testbed.md. Source it, then:
#
#   tb_init                 per-run prefix (kg<PID>), scratch dir, cleanup trap
#   tb_up                   namespaces, bridges, addresses (IPv4 + IPv6)
#   tb_exec ROLE cmd...     run a command in ROLE's namespace
#   tb_start ROLE NAME LOG cmd...   background process, killed by cleanup
#   tb_wait_ready LOG [T]   wait for the event=ready record
#   ... see docs/testbed.md for the rest.
#
# Roles: outside segment (198.51.100.0/24, 2001:db8:100::/64): green .1,
# admin .5, client .10, client2 .11, attacker .66; inside segment
# (203.0.113.0/24, 2001:db8:113::/64): green .1, red .2, insider .66.
# The bridges live in a "switch" namespace: nothing is added to the host.

: "${KG_BUILD:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build-test}"
export KG_BUILD

TB_ROLES_OUT="green admin client client2 attacker"
TB_ROLES_IN="green red insider"
TB_ROLES="switch green admin client client2 attacker red insider"

# Address of a role on a segment: tb_addr ROLE [out|in] [4|6]
tb_addr() {
	local role=$1 seg=${2:-out} fam=${3:-4} host
	case "$seg:$role" in
	out:green) host=1 ;; out:admin) host=5 ;; out:client) host=10 ;;
	out:client2) host=11 ;; out:attacker) host=66 ;;
	in:green) host=1 ;; in:red) host=2 ;; in:insider) host=66 ;;
	*) echo "tb_addr: no address for $role on $seg" >&2; return 1 ;;
	esac
	if [ "$fam" = 6 ]; then
		[ "$seg" = out ] && echo "2001:db8:100::$host" || echo "2001:db8:113::$host"
	else
		[ "$seg" = out ] && echo "198.51.100.$host" || echo "203.0.113.$host"
	fi
}

tb_log() { printf '[tb %s] %s\n' "$(date +%T)" "$*"; }
tb_fail() { printf '[tb %s] FAIL: %s\n' "$(date +%T)" "$*"; exit 1; }
tb_skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

tb_init() {
	[ "$(id -u)" = 0 ] || tb_skip "needs root (network namespaces)"
	command -v ip >/dev/null || tb_skip "iproute2 missing"
	TB_PREFIX="kg$$"
	TB_DIR=$(mktemp -d "/tmp/$TB_PREFIX.XXXXXX")
	TB_UP=0
	export TB_PREFIX TB_DIR
	trap tb_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

tb_ns() { echo "$TB_PREFIX-$1"; }

# A machine-unique interface name (<= 15 chars) for SHORT (<= 7 chars).
tb_ifname() {
	local n="$TB_PREFIX$1"
	echo "${n:0:15}"
}

tb_exec() {
	local role=$1
	shift
	ip netns exec "$(tb_ns "$role")" "$@"
}

# veth from the switch's bridge BR to ROLE, called IFNAME inside ROLE.
tb_link() {
	local role=$1 br=$2 ifname=$3 sw
	sw=$(tb_ns switch)
	ip -n "$sw" link add "$br-$role" type veth peer name "$ifname" netns "$(tb_ns "$role")"
	ip -n "$sw" link set "$br-$role" master "$br" up
	ip -n "$(tb_ns "$role")" link set "$ifname" up
}

tb_addr_add() {
	local role=$1 seg=$2 ifname=$3 ns
	ns=$(tb_ns "$role")
	ip -n "$ns" addr add "$(tb_addr "$role" "$seg" 4)/24" dev "$ifname"
	ip -n "$ns" addr add "$(tb_addr "$role" "$seg" 6)/64" dev "$ifname" nodad
}

tb_up() {
	local r sw
	for r in $TB_ROLES; do
		ip netns add "$(tb_ns "$r")"
		ip -n "$(tb_ns "$r")" link set lo up
	done
	TB_UP=1
	sw=$(tb_ns switch)
	for br in out in; do
		ip -n "$sw" link add "$br" type bridge
		ip -n "$sw" link set "$br" up
	done
	for r in $TB_ROLES_OUT; do
		tb_link "$r" out eth0
		tb_addr_add "$r" out eth0
	done
	for r in $TB_ROLES_IN; do
		if [ "$r" = green ]; then
			tb_link "$r" in eth1
			tb_addr_add "$r" in eth1
		else
			tb_link "$r" in eth0
			tb_addr_add "$r" in eth0
		fi
	done
	# Green's and red's default routes lead out of their outside (green)
	# and inside (red) segment, on-link, as a real uplink would: their
	# reverse-path checks (nft fib) then take an arbitrary Internet-like
	# source on that segment as real, and drop it on any other.
	ip -n "$(tb_ns green)" route add default dev eth0
	ip -n "$(tb_ns green)" -6 route add default dev eth0
	ip -n "$(tb_ns red)" route add default dev eth0
	ip -n "$(tb_ns red)" -6 route add default dev eth0
	tb_log "testbed $TB_PREFIX up: $TB_ROLES (outside 198.51.100.0/24 + 2001:db8:100::/64, inside 203.0.113.0/24 + 2001:db8:113::/64)"
}

# tb_start ROLE NAME LOGFILE cmd...: runs cmd in ROLE's namespace in the
# background, stdout+stderr to LOGFILE; the pid goes to $TB_DIR/NAME.pid.
tb_start() {
	local role=$1 name=$2 log=$3
	shift 3
	ip netns exec "$(tb_ns "$role")" "$@" >"$log" 2>&1 &
	echo $! >"$TB_DIR/$name.pid"
}

tb_pid() { cat "$TB_DIR/$1.pid" 2>/dev/null; }

# tb_stop NAME [SIGNAL]: signals NAME (default TERM), waits up to 10 s,
# then KILLs. Returns the process's exit status when it can be known.
tb_stop() {
	local name=$1 sig=${2:-TERM} pid _ rc=0
	pid=$(tb_pid "$name") || return 0
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || rc=$?
	rm -f "$TB_DIR/$name.pid"
	return "$rc"
}

# tb_wait_exit NAME TIMEOUT_S: 0 once NAME's process has ended by itself
# (a following tb_stop then reports its own exit status, not the TERM it
# would send), 1 on timeout.
tb_wait_exit() {
	local pid _
	pid=$(tb_pid "$1") || return 0
	for _ in $(seq 1 $(($2 * 10))); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# tb_wait_log FILE REGEX TIMEOUT_S: 0 once a line matches, 1 on timeout.
tb_wait_log() {
	local file=$1 re=$2 t=$3 _
	for _ in $(seq 1 $((t * 10))); do
		grep -qE -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

tb_wait_ready() {
	tb_wait_log "$1" 'event=ready' "${2:-20}" || {
		tail -20 "$1"
		tb_fail "no event=ready in $1"
	}
}

# tb_tcp_probe FROM ADDR PORT: 0 if a TCP connection opens within 2 s.
tb_tcp_probe() {
	local from=$1 addr=$2 port=$3 target
	case "$addr" in *:*) target="TCP6:[$addr]:$port" ;; *) target="TCP4:$addr:$port" ;; esac
	tb_exec "$from" timeout 4 socat -T2 /dev/null "$target,connect-timeout=2" >/dev/null 2>&1
}

# tb_udp_send FROM ADDR PORT [PAYLOAD]: sends one datagram.
tb_udp_send() {
	local from=$1 addr=$2 port=$3 payload=${4:-probe} target
	case "$addr" in *:*) target="UDP6-SENDTO:[$addr]:$port" ;; *) target="UDP4-SENDTO:$addr:$port" ;; esac
	printf '%s' "$payload" | tb_exec "$from" timeout 3 socat -u - "$target" >/dev/null 2>&1
}

# tb_udp_probe FROM ADDR PORT: 0 if anything (an answer or an ICMP
# error) comes back within 2 s; a dark port gives 1.
tb_udp_probe() {
	local from=$1 addr=$2 port=$3 target
	case "$addr" in *:*) target="UDP6:[$addr]:$port" ;; *) target="UDP4:$addr:$port" ;; esac
	printf 'probe' | tb_exec "$from" timeout 3 socat -T2 - "$target" 2>&1 | grep -q .
}

# tb_green_conf FILE: a green.conf for the testbed; other areas append
# sections. Overridable: TB_SCAN_PORTS, TB_SCAN_WINDOW, TB_BAN_TIME,
# TB_NEVER_BAN (extra never-ban prefixes), TB_CTL_SOCKET and TB_METRICS
# (green's admin socket and metrics file: in the run's directory, never
# the host's /run/knockgate or node_exporter's directory).
tb_green_conf() {
	local f=$1
	cat >"$f" <<CONF
[admin]
socket = ${TB_CTL_SOCKET:-$TB_DIR/green.ctl}
metrics_file = ${TB_METRICS:-$TB_DIR/green.prom}
metrics_interval = ${TB_METRICS_INTERVAL:-5}

[green]
wg_interface = $(tb_ifname wg0)
knock_port = 62201
wg_port = 51820
control_port = 4433
tunnel_address = 10.88.0.1
management_addresses = $(tb_addr admin out 4), $(tb_addr admin out 6)
management_ports = 22
log_level = info

[ips]
scan_ports = ${TB_SCAN_PORTS:-10}
scan_window = ${TB_SCAN_WINDOW:-30}
ban_time = ${TB_BAN_TIME:-20}
max_sources = 1024
max_bans = 1024
never_ban = $(tb_addr admin out 4), $(tb_addr admin out 6)${TB_NEVER_BAN:+, $TB_NEVER_BAN}
CONF
}

# tb_green_start CONF LOG: starts knockgate-green in green's namespace
# (name "green") and waits until it is ready. TB_GREEN_BIN (default the
# daemon in KG_BUILD) and TB_GREEN_ARGS (e.g. "-P -u knockgate") change
# how it is started.
tb_green_start() {
	local conf=$1 log=$2
	# shellcheck disable=SC2086
	tb_start green green "$log" "${TB_GREEN_BIN:-$KG_BUILD/green/knockgate-green}" \
		-f -c "$conf" ${TB_GREEN_ARGS:-}
	tb_wait_ready "$log"
}

# tb_wait_prep NAME [TIMEOUT_S]: waits until the background preparation
# NAME that tests/run-all.sh started is done (it holds an exclusive lock
# on $KG_BUILD/NAME.lock while it runs: "packages" until the .debs are in
# $KG_BUILD/debs, "deploy-rootfs" while tests/deploy-rootfs.sh runs).
# Returns at once when nothing runs it (a scenario run on its own). 0 when
# done, 1 after TIMEOUT_S (default 900) with it still running; whether it
# succeeded is for the caller to check on what it made.
tb_wait_prep() {
	local lock=$KG_BUILD/$1.lock
	[ -e "$lock" ] || return 0
	tb_log "waiting for $1 (run-all's background preparation)"
	flock -s -w "${2:-900}" "$lock" true
}

tb_cleanup() {
	local rc=$? f pid r
	set +e
	for f in "$TB_DIR"/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM "$pid" 2>/dev/null
	done
	sleep 0.3
	for f in "$TB_DIR"/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ "${TB_UP:-0}" = 1 ]; then
		# Whatever still runs inside our namespaces is ours too (forked
		# children of a server tb_start recorded, detached helpers): a
		# deleted namespace must not leave them behind.
		for r in $TB_ROLES; do
			ip netns pids "$(tb_ns "$r")" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		done
		for r in $TB_ROLES; do
			ip netns del "$(tb_ns "$r")" 2>/dev/null
		done
	fi
	# Our sockets only: kg123's glob must not take kg1234's (a scenario
	# running at the same time); tb_ifname's SHORTs start with a letter.
	rm -f /var/run/wireguard/"$TB_PREFIX"[!0-9]*.sock
	[ -n "${TB_DIR:-}" ] && rm -rf "$TB_DIR"
	exit "$rc"
}
