#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Red fails closed and recovers by itself. Red's real
# service (web on port 8080 in red's namespace) must never answer the
# inside network while red is not running:
#  (a) SIGTERM: exit 0, the dark table is in place (not the full one, not
#      none), the service port answers neither over IPv4 nor IPv6;
#  (b) SIGKILL leaves red's wireguard-go orphaned, holding the site
#      interface; a new red removes it (the orphan exits), comes up and
#      grants work;
#  (c) starts that fail (a bad site key: after the full table was
#      installed; a missing CA: before any table) from a host with NO
#      table leave the dark table and the port dark;
#  (d) a second red (NFLOG groups taken) fails without touching the
#      running one's table.
# The positive control: the documented removal (`nft delete table inet
# knockgate`) opens the port to the insider, so the probe can see it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-red.sh
. "$here/lib-red.sh"

red_need
tb_init
tb_up
red_setup
r4=$(tb_addr red in 4)
r6=$(tb_addr red in 6)
ifn=$(tb_ifname rs0)
dark_re='comment "knockgate dark: daemon not running"'

# assert_dark WHAT: the table is the dark one and 8080 does not answer the
# insider (IPv4, IPv6).
assert_dark() {
	local t
	t=$(tb_exec red nft list table inet knockgate 2>&1) || tb_fail "$1: no table at all: $t"
	grep -qF "$dark_re" <<<"$t" || { echo "$t"; tb_fail "$1: the table is not the dark one"; }
	! grep -qE 'grants4|allowed4|@' <<<"$t" || { echo "$t"; tb_fail "$1: the dark table has a set"; }
	! tb_tcp_probe insider "$r4" 8080 || tb_fail "$1: red's service port answers the insider (IPv4)"
	! tb_tcp_probe insider "$r6" 8080 || tb_fail "$1: red's service port answers the insider (IPv6)"
	tb_log "ok: $1: dark table in place, 8080 answers nobody inside"
}

# wg_count: wireguard-go processes for red's site interface.
wg_count() {
	local p n=0
	for p in $(ip netns pids "$(tb_ns red)"); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qE "^wireguard-go (-f )?$ifn " && n=$((n + 1))
	done
	echo "$n"
}

# grant_works: an open knock is granted and the port answers through the
# site link (the first packets after a restart may wait for a handshake).
grant_works() {
	local out port _
	# After a restart the site link (which carries knocks) may still be
	# handshaking: the same request again is answered from red's cache.
	for _ in 1 2 3; do
		out=$(red_knock -S web -s 5 -q "$1")
		case $out in result=granted*) break ;; esac
	done
	case $out in result=granted*) ;; *) tb_fail "$2: knock answered '$out'" ;; esac
	port=$(echo "$out" | sed -E 's/.*port=([0-9]+).*/\1/')
	for _ in $(seq 1 5); do
		red_connect 10.88.1.10 "$port" && { tb_log "ok: $2: granted port $port works"; return 0; }
	done
	tb_fail "$2: granted port $port unreachable"
}

! tb_tcp_probe insider "$r4" 8080 || tb_fail "the full table lets the insider reach 8080"
grant_works 1 "first start"

tb_log "(a) SIGTERM"
tb_stop red TERM || tb_fail "red did not exit 0 on SIGTERM"
assert_dark "after SIGTERM"
grep -q 'event=dark result=installed reason=stop' "$TB_DIR/red.log" || tb_fail "no dark record at stop"
! tb_exec red ip link show "$ifn" >/dev/null 2>&1 || tb_fail "site interface left after SIGTERM"

tb_log "(b) start from the dark table, then SIGKILL, orphan left, start again"
tb_start red red "$TB_DIR/red2.log" "$RED_BIN" -c "$TB_DIR/red.conf"
tb_wait_ready "$TB_DIR/red2.log"
tb_exec red nft list table inet knockgate | grep -qF "$dark_re" && tb_fail "the start did not replace the dark table"
grant_works 2 "start from dark"
tb_stop red KILL || true
tb_exec red ip link show "$ifn" >/dev/null 2>&1 || tb_fail "precondition: no orphaned site interface after SIGKILL"
[ "$(wg_count)" = 1 ] || tb_fail "precondition: $(wg_count) wireguard-go for $ifn after SIGKILL (want the orphan)"
tb_log "precondition: red SIGKILLed, its wireguard-go orphaned, $ifn still there"
tb_start red red "$TB_DIR/red3.log" "$RED_BIN" -c "$TB_DIR/red.conf"
tb_wait_ready "$TB_DIR/red3.log"
grep -qE "event=site result=orphan_removed interface=$ifn" "$TB_DIR/red3.log" || tb_fail "no orphan_removed record"
for _ in $(seq 1 50); do
	[ "$(wg_count)" = 1 ] && break
	sleep 0.1
done
[ "$(wg_count)" = 1 ] || tb_fail "$(wg_count) wireguard-go for $ifn: the orphan did not exit"
grant_works 3 "start over an orphan"
tb_stop red TERM || tb_fail "red did not exit 0 on SIGTERM"
assert_dark "after the second SIGTERM"

tb_log "positive control: the documented removal opens the host"
tb_exec red nft delete table inet knockgate
tb_tcp_probe insider "$r4" 8080 || tb_fail "control: with no table the insider still cannot reach 8080 (the probe proves nothing)"
tb_log "ok: no table: 8080 answers the insider"

tb_log "(c) a start that fails after the full table (bad site key)"
printf 'not a key\n' >"$TB_DIR/bad.key"
sed "s|^private_key = .*|private_key = $TB_DIR/bad.key|" "$TB_DIR/red.conf" >"$TB_DIR/badkey.conf"
rc=0
tb_exec red timeout 60 "$RED_BIN" -c "$TB_DIR/badkey.conf" >"$TB_DIR/badkey.log" 2>&1 || rc=$?
cat "$TB_DIR/badkey.log"
[ "$rc" = 1 ] || tb_fail "red with a bad site key exited $rc, not 1"
grep -q 'expected a base64 WireGuard private key' "$TB_DIR/badkey.log" || tb_fail "red failed for another reason"
grep -q 'event=dark result=installed reason=start_failed' "$TB_DIR/badkey.log" || tb_fail "no dark record"
assert_dark "after a start that failed at the site link"

tb_log "(c) a start that fails before any table (missing CA)"
tb_exec red nft delete table inet knockgate
sed "s|^ca = .*|ca = $TB_DIR/no-such-ca.pem|" "$TB_DIR/red.conf" >"$TB_DIR/noca.conf"
rc=0
tb_exec red timeout 60 "$RED_BIN" -c "$TB_DIR/noca.conf" >"$TB_DIR/noca.log" 2>&1 || rc=$?
cat "$TB_DIR/noca.log"
[ "$rc" = 1 ] || tb_fail "red with no CA exited $rc, not 1"
grep -q 'event=dark result=installed reason=start_failed' "$TB_DIR/noca.log" || tb_fail "no dark record"
assert_dark "after a start that failed before its table"

tb_log "(d) a second instance leaves the running one's table alone"
tb_start red red "$TB_DIR/red4.log" "$RED_BIN" -c "$TB_DIR/red.conf"
tb_wait_ready "$TB_DIR/red4.log"
rc=0
tb_exec red timeout 60 "$RED_BIN" -c "$TB_DIR/red.conf" >"$TB_DIR/second.log" 2>&1 || rc=$?
cat "$TB_DIR/second.log"
[ "$rc" = 1 ] || tb_fail "a second red exited $rc, not 1"
grep -q "nflog group" "$TB_DIR/second.log" || tb_fail "the second red failed for another reason than the NFLOG groups"
! grep -q 'event=dark' "$TB_DIR/second.log" || tb_fail "the second red went dark"
tb_exec red nft list map inet knockgate grants4 >/dev/null || tb_fail "the running red's table is gone"
grant_works 4 "the running red after a second one failed"
grep -hE 'Sanitizer|runtime error' "$TB_DIR"/red*.log "$TB_DIR"/badkey.log "$TB_DIR"/noca.log && tb_fail "sanitizer report"
tb_log "PASS: red fails closed on stop and failed starts, recovers from an orphaned interface"
