#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The ruleset green renders is valid nft for several configs: checked by
# the kernel with `nft -c -f` (and knockgate-green --check-config) in a
# scratch namespace, where nothing is applied.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

bin=$KG_BUILD/green/knockgate-green
[ -x "$bin" ] || tb_skip "no $bin (build first)"
tb_init
ip netns add "$(tb_ns scratch)"
TB_ROLES="scratch" TB_UP=1

cp "$top/etc/green.conf.example" "$TB_DIR/example.conf"
printf '[green]\n' >"$TB_DIR/minimal.conf"
cat >"$TB_DIR/wide.conf" <<'CONF'
[green]
wg_interface = wg-x.1
knock_port = 1000
wg_port = 1001
control_port = 1002
tunnel_address = 10.99.0.1
nflog_group_knock = 7
nflog_group_scan = 8
management_interfaces = eth9, mgmt0
management_addresses = 192.0.2.0/24, 192.0.2.7, 2001:db8::/32, 2001:db8:1::/48
management_ports = all
dhcp_client = no
[ips]
max_bans = 10
CONF
tb_green_conf "$TB_DIR/testbed.conf"
for c in example minimal wide testbed; do
	"$bin" -c "$TB_DIR/$c.conf" --print-ruleset >"$TB_DIR/$c.nft"
	tb_exec scratch nft -c -f "$TB_DIR/$c.nft" || tb_fail "$c: nft -c refused the rendered ruleset"
	tb_exec scratch "$bin" -c "$TB_DIR/$c.conf" --check-config >/dev/null || tb_fail "$c: --check-config failed"
	grep -q reject "$TB_DIR/$c.nft" && tb_fail "$c: a reject rule"
	tb_log "ok: $c.conf renders $(grep -c . "$TB_DIR/$c.nft") lines that nft -c accepts"
done
[ -z "$(tb_exec scratch nft list tables)" ] || tb_fail "a check changed the scratch namespace"
tb_log "ok: nothing was applied"
printf '[green]\nwg_interface = a"b\n' >"$TB_DIR/bad.conf"
"$bin" -c "$TB_DIR/bad.conf" --check-config 2>"$TB_DIR/bad.err" && tb_fail "bad interface name accepted"
cat "$TB_DIR/bad.err"
tb_log "PASS"
