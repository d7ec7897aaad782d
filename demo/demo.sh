#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The knockgate demo, as root on Debian 12: installs what is missing,
# builds, builds the namespace testbed, starts green and walks through
# what it does. Everything it creates is removed at the end.
#   demo/demo.sh [--no-install]
# Later steps (knock, tunnel, card, services, close) extend this script.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
install=1
[ "${1:-}" = --no-install ] && install=0

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "demo: run as root (network namespaces, nftables)" >&2; exit 2; }
if [ $install = 1 ]; then
	say "Installing what is missing (tests/install-deps.sh)"
	bash tests/install-deps.sh
fi
say "Building (build-demo)"
[ -f build-demo/build.ninja ] || meson setup build-demo >/dev/null
ninja -C build-demo -j2 >/dev/null
note "built $(ls build-demo/green/knockgate-green)"

export KG_BUILD=$top/build-demo
# shellcheck source=tests/e2e/lib.sh
. "$top/tests/e2e/lib.sh"
tb_init
say "Building the testbed (network namespaces, nothing touches the host)"
tb_up
note "outside: green 198.51.100.1, admin .5, client .10, client2 .11, attacker .66"
note "inside:  green 203.0.113.1, red .2, insider .66 (IPv6 too: 2001:db8:100::/64, 2001:db8:113::/64)"

say "Starting knockgate-green in the green namespace"
TB_SCAN_PORTS=10 TB_BAN_TIME=600 tb_green_conf "$TB_DIR/green.conf"
note "config: scan_ports=10 (N), scan_window=30 s (T), ban_time=600 s (B); admin is management + never-ban"
tb_green_start "$TB_DIR/green.conf" "$TB_DIR/green.log"
note "$(grep -m1 'event=ready' "$TB_DIR/green.log")"
note "its table: $(tb_exec green nft list table inet knockgate | grep -c .) lines; the input chain:"
tb_exec green nft list chain inet knockgate input | sed -e '/^table/d' -e '/^}/d' -e 's/^/   /'
# Something listens on green, as on any real host: the table hides it.
tb_start green sshd "$TB_DIR/sshd.log" socat TCP6-LISTEN:22,fork,reuseaddr,ipv6only=0 SYSTEM:'echo SSH-2.0-demo'

say "The attacker scans every TCP port: nmap -sS -p- --min-rate 5000 (about 30 s)"
tb_exec attacker nmap -sS -p- --min-rate 5000 --max-retries 1 -n -Pn -oG - 198.51.100.1 >"$TB_DIR/tcp.gnmap"
open=$(grep -oE '[0-9]+/open/' "$TB_DIR/tcp.gnmap" | wc -l)
closed=$(grep -oE '[0-9]+/closed/' "$TB_DIR/tcp.gnmap" | wc -l)
note "nmap: $(grep -oE 'Ignored State: [a-z|]+ \([0-9]+\)' "$TB_DIR/tcp.gnmap" || echo 'no summary'); open: $open, closed: $closed"
note "not one SYN-ACK, RST or ICMP unreachable left green: it is dark."

say "...and the top 100 UDP ports: nmap -sU --top-ports 100"
tb_exec attacker nmap -sU --top-ports 100 -n -Pn -oG - 198.51.100.1 >"$TB_DIR/udp.gnmap"
note "nmap: $(grep -oE 'Ignored State: [a-z|]+ \([0-9]+\)' "$TB_DIR/udp.gnmap" || echo 'no summary'); open: $(grep -oE '[0-9]+/open/' "$TB_DIR/udp.gnmap" | wc -l), closed: $(grep -oE '[0-9]+/closed/' "$TB_DIR/udp.gnmap" | wc -l)"

say "Meanwhile green's IPS banned the attacker"
note "the log record:"
grep -m1 'event=ban result=banned' "$TB_DIR/green.log" | sed 's/^/     /'
note "the banned4 set in green's table (nft list set inet knockgate banned4):"
tb_exec green nft list set inet knockgate banned4 | grep elements | sed 's/^/     /'

say "The admin (management address) still reaches SSH on green"
if tb_tcp_probe admin 198.51.100.1 22; then
	note "admin -> 198.51.100.1:22: connected"
else
	note "admin -> 198.51.100.1:22: FAILED"
fi
if tb_tcp_probe attacker 198.51.100.1 22; then
	note "attacker -> 198.51.100.1:22: connected (unexpected!)"
else
	note "attacker -> 198.51.100.1:22: nothing (dark, and banned)"
fi

say "Stopping green (SIGTERM removes its table) and tearing the testbed down"
tb_stop green TERM
note "tables left in green's namespace: $(tb_exec green nft list tables | wc -l)"
note "done."
