#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lib/wg against a real wireguard-go in a scratch namespace: create the
# interface, set key/port, add/replace/remove a peer and read it back
# (allowed-ips, endpoint, handshake), a refused set's errno, remove the
# interface (wireguard-go exits, its socket goes).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

tb_init
command -v wireguard-go >/dev/null || tb_skip "wireguard-go missing"
tool="$KG_BUILD/tests/unit/knock/kg-test-wg-live"
[ -x "$tool" ] || tb_skip "$tool not built"

ip netns add "$(tb_ns green)"
TB_UP=1
tb_exec green ip link set lo up
ifname=$(tb_ifname wgl)
tb_log "driving lib/wg against wireguard-go interface $ifname"
if tb_exec green "$tool" "$ifname"; then
	tb_log "PASS: lib/wg set/get/peer add/replace/remove/errno over UAPI"
else
	tb_fail "lib/wg against wireguard-go (see the FAIL lines above)"
fi
[ ! -S "/var/run/wireguard/$ifname.sock" ] || tb_fail "UAPI socket left behind"
