#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Red split in two (-P, docs/privsep.md). Part 1, the real worker: from
# /proc/PID/status the worker has no capability in any set, a non-root
# uid, NoNewPrivs and a seccomp filter, and the monitor only
# CAP_NET_ADMIN; inside the worker (test hook KG_TEST_WORKER_PROBE)
# execve, opening the host key and socket(AF_NETLINK) fail with EPERM; a
# grant works end to end through the split and a scanner is banned
# through it. Part 2, a compromised worker (kg-fake-worker in its place)
# sends forged requests to the real monitor (among them a valid knock
# claiming another input interface than the site link, or none): each
# refused and logged with nft unchanged, each next to its valid twin,
# which is accepted.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# the daemon with test hooks; part 0 runs it without -P (today's path)
RED_BIN=$KG_BUILD/red/knockgate-red-testhooks
# shellcheck source=tests/e2e/lib-red.sh
. "$here/lib-red.sh"
FAKE=$KG_BUILD/tests/tools/kg-fake-worker
[ -x "$FAKE" ] || tb_skip "no $FAKE (build first)"

red_need
# The worker's system user, as the package would create it (another
# scenario running at the same time may create it first).
id knockgate >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin knockgate ||
	id knockgate >/dev/null 2>&1 ||
	tb_fail "cannot create the knockgate user"
tb_init
tb_up

status() { sed -nE "s/^$2:[[:space:]]+//p" "/proc/$1/status"; }
# us= (NFLOG read to answer sent) of every accepted open in FILE
us_list() {
	local v
	v=$(grep -E 'event=sknock result=accepted' "$1" | grep -oE ' us=[0-9]+' | sed 's/ us=//' | sort -n)
	echo "n=$(echo "$v" | grep -c .) min=$(echo "$v" | head -1) median=$(echo "$v" | sed -n "$(( ($(echo "$v" | grep -c .) + 1) / 2 ))p") max=$(echo "$v" | tail -1)"
}

# Part 0, for comparison only (no timing asserted): the same 11 opens
# through today's single process.
red_setup
for s in 7 $(seq 11 40); do red_knock -S web -s "$s" -q 1 -a open >/dev/null; done
tb_log "single process, us= of the grants: $(us_list "$TB_DIR/red.log")"
tb_stop red || true
mv "$TB_DIR/red.log" "$TB_DIR/red0.log"
sleep 1.1

# Part 1: the same red split (green's end of the site link stays up).
KG_TEST_WORKER_PROBE=1 tb_start red red "$TB_DIR/red.log" "$RED_BIN" \
	-c "$TB_DIR/red.conf" -P -u knockgate
tb_wait_ready "$TB_DIR/red.log"
for _ in $(seq 1 50); do
	tb_exec red wg show "$(tb_ifname rs0)" latest-handshakes | grep -qv '	0$' && break
	sleep 0.2
done
mon=$(tb_pid red)
tb_wait_log "$TB_DIR/red.log" "event=privsep result=started worker=[0-9]+" 5 || tb_fail "no privsep start record"
wk=$(sed -nE 's/.*event=privsep result=started worker=([0-9]+).*/\1/p' "$TB_DIR/red.log" | head -1)
[ "$(awk '/^PPid:/ {print $2}' "/proc/$wk/status")" = "$mon" ] || tb_fail "worker $wk is not the monitor's child"
for f in CapPrm CapEff CapInh CapAmb CapBnd; do
	v=$(status "$wk" "$f")
	[ "$v" = 0000000000000000 ] || tb_fail "worker $f=$v"
done
uid=$(status "$wk" Uid | awk '{print $1 $2 $3 $4}')
[ "$uid" = "$(id -u knockgate)$(id -u knockgate)$(id -u knockgate)$(id -u knockgate)" ] || tb_fail "worker uids $uid"
[ "$(status "$wk" Groups)" = "" ] || tb_fail "worker keeps groups: $(status "$wk" Groups)"
[ "$(status "$wk" NoNewPrivs)" = 1 ] || tb_fail "worker NoNewPrivs=$(status "$wk" NoNewPrivs)"
[ "$(status "$wk" Seccomp)" = 2 ] || tb_fail "worker Seccomp=$(status "$wk" Seccomp)"
tb_log "ok: worker $wk uid $(id -u knockgate), Cap{Prm,Eff,Inh,Amb,Bnd}=0, NoNewPrivs=1, Seccomp=2"
# CAP_NET_ADMIN is bit 12: 0x1000, and nothing else
for f in CapPrm CapEff CapBnd; do
	v=$(status "$mon" "$f")
	[ "$v" = 0000000000001000 ] || tb_fail "monitor $f=$v (want CAP_NET_ADMIN only)"
done
[ "$(status "$mon" CapAmb)" = 0000000000000000 ] || tb_fail "monitor has ambient capabilities"
tb_log "ok: monitor $mon keeps CAP_NET_ADMIN only"
tb_wait_log "$TB_DIR/red.log" "event=privsep_probe execve=1 open=1 socket_netlink=1 " 5 || {
	grep privsep_probe "$TB_DIR/red.log"; tb_fail "the worker's probe did not fail with EPERM three times"; }
tb_log "ok: inside the worker execve, open(host key), socket(AF_NETLINK) -> EPERM"

out=$(red_knock -S web -s 7 -q 1 -a open)
case $out in result=granted\ port=4[0-9][0-9][0-9][0-9]\ *) ;; *) tb_fail "open through the split not granted: $out" ;; esac
port=$(echo "$out" | sed -E 's/.*port=([0-9]+).*/\1/')
red_map | grep -qE "^10\.88\.1\.10 \. $port .*: 8080$" || tb_fail "no map element for $port"
red_connect 10.88.1.10 "$port" || tb_fail "10.88.1.10 cannot reach granted port $port"
grep -E "event=sknock result=accepted .*port=$port" "$TB_DIR/red.log" | grep -oE 'us=[0-9]+' | head -1 >"$TB_DIR/us"
tb_log "ok: grant through the split: $out ($(cat "$TB_DIR/us"))"
# a few more opens, for the us= figures of the report
for s in $(seq 11 40); do red_knock -S web -s "$s" -q 1 -a open >/dev/null; done
tb_log "split, us= of the grants: $(us_list "$TB_DIR/red.log")"

insider=$(tb_addr insider in 4)
for p in $(seq 20001 20015); do tb_udp_send insider "$(tb_addr red in 4)" "$p"; done
tb_wait_log "$TB_DIR/red.log" "event=ban result=banned src=$insider" 5 || tb_fail "the scanner was not banned through the monitor"
tb_exec red nft list set inet knockgate banned4 | grep -q "$insider" || tb_fail "no banned4 element for $insider"
tb_log "ok: the scanner $insider banned through the monitor"

tb_stop red || true
for _ in $(seq 1 20); do kill -0 "$wk" 2>/dev/null || break; sleep 0.1; done
kill -0 "$wk" 2>/dev/null && tb_fail "the worker outlived the monitor"
grep -qE "event=stop result=ok" "$TB_DIR/red.log" || tb_fail "the monitor did not stop cleanly"
tb_log "ok: the worker ends with the monitor"

# ---- part 2: a compromised worker ----
cmds=$TB_DIR/fake.cmds
: >"$cmds"
KG_FAKE_WORKER_CMDS=$cmds tb_start red red "$TB_DIR/red2.log" "$RED_BIN" \
	-c "$TB_DIR/red.conf" -P -u knockgate --test-worker "$FAKE"
tb_wait_ready "$TB_DIR/red2.log"
tb_wait_log "$TB_DIR/red2.log" "fake_worker ready" 5 || tb_fail "the fake worker did not start"
sleep 1.1
# Signed knocks captured as green would send them (saved with -o, sent
# nowhere: the bytes are all we want), after red's start (before_start).
for k in open:21:1 close:21:2 open:22:1 open:23:1; do
	IFS=: read -r a s q <<<"$k"
	tb_exec green "$RED_SEND" -k "$LAB/green/host.key" -C "$LAB/red/host.pem" \
		-g green1 -r red1 -c 10.88.1.10 -S web -s "$s" -q "$q" -a "$a" -w 100 \
		-o "$TB_DIR/k-$a-$s" 127.0.0.1 9 >/dev/null 2>&1 || true
	[ -s "$TB_DIR/k-$a-$s" ] || tb_fail "no captured knock $a $s"
done
# the same open signed by a key that is not green's: red's own host key
tb_exec green "$RED_SEND" -k "$LAB/red/host.key" -C "$LAB/red/host.pem" \
	-g green1 -r red1 -c 10.88.1.10 -S web -s 24 -q 1 -a open -w 100 \
	-o "$TB_DIR/k-badsig" 127.0.0.1 9 >"$TB_DIR/k-badsig.out" 2>&1 || true
[ -s "$TB_DIR/k-badsig" ] || { cat "$TB_DIR/k-badsig.out"; tb_fail "no badly signed knock"; }

n=0
# send CMD: appends one command, waits for its answer; its status in st
# (no subshell: n counts the lines)
send() {
	n=$((n + 1))
	echo "$1" >>"$cmds"
	tb_wait_log "$TB_DIR/red2.log" "fake_worker line=$n " 10 || tb_fail "no answer to line $n ($1)"
	st=$(sed -nE "s/^fake_worker line=$n status=([^ ]*).*/\1/p" "$TB_DIR/red2.log")
}
elems() { tb_exec red nft list map inet knockgate grants4 | grep -cE '10\.88\.' || true; }
bans() { tb_exec red nft list set inet knockgate banned4 | grep -oE '([0-9]+\.){3}[0-9]+' | grep -c . || true; }
expect() { # STATUS WANT WHAT
	[ "$1" = "$2" ] || { tail -8 "$TB_DIR/red2.log"; tb_fail "$3: status $1, want $2"; }
	tb_log "ok: $3: status $1"
}
# knock_refused "ADDR SPORT DPORT FILE IFINDEX" STATUS RECORD WHAT: the
# knock request answered STATUS, RECORD (a regex; "" for none) in red's
# log, the map unchanged.
knock_refused() {
	send "knock $1"
	expect "$st" "$2" "$4"
	[ -z "$3" ] || grep -qE "$3" "$TB_DIR/red2.log" || tb_fail "$4: no record $3"
	[ "$(elems)" = "$m0" ] || tb_fail "$4: the map changed"
}
green_link=10.89.0.1
# The input interface a knock request claims: the site link's index, and
# the index of red's inside interface (a wrong one).
site_if=$(tb_exec red cat "/sys/class/net/$(tb_ifname rs0)/ifindex")
in_dev=$(tb_exec red ip -o -4 addr show to "$(tb_addr red in 4)/32" | awk '{print $2}')
in_if=$(tb_exec red cat "/sys/class/net/$in_dev/ifindex")
[ -n "$site_if" ] && [ -n "$in_if" ] && [ "$site_if" != "$in_if" ] || tb_fail "interface indexes: site '$site_if' inside '$in_if'"
m0=$(elems)
knock_refused "$green_link 40000 62202 $TB_DIR/k-badsig $site_if" 13 \
	"event=sknock result=dropped reason=[a-z_]+ src=$green_link" "knock with a bad signature refused"
knock_refused "10.88.1.66 40000 62202 $TB_DIR/k-open-21 $site_if" 13 "" \
	"valid knock from a non-green source refused"
knock_refused "$green_link 40000 62201 $TB_DIR/k-open-21 $site_if" 22 "" \
	"valid knock to another port refused"
knock_refused "$green_link 40000 62202 $TB_DIR/k-open-21 $in_if" 13 \
	"event=privsep result=refused request=knock reason=not_site_link addr=$green_link" \
	"valid knock read on red's inside interface ($in_dev) refused"
knock_refused "$green_link 40000 62202 $TB_DIR/k-open-21 0" 13 "" \
	"valid knock with no input interface refused"
send "knock $green_link 40000 62202 $TB_DIR/k-open-21 $site_if"
expect "$st" 0 "its valid twin from green's link address on the site link granted"
[ "$(elems)" = $((m0 + 1)) ] || tb_fail "the valid knock added no map element"
send "knock $green_link 40000 62202 $TB_DIR/k-close-21 $site_if"
expect "$st" 0 "close granted"
[ "$(elems)" = "$m0" ] || tb_fail "close left the element"
knock_refused "$green_link 40000 62202 $TB_DIR/k-open-21 $site_if" 13 \
	"event=sknock result=refused reason=replay .*session=0000000000000015" \
	"the captured open replayed after close refused"
send "knock $green_link 40000 62202 $TB_DIR/k-open-22 $site_if"
expect "$st" 0 "a fresh open (valid twin of the replay) granted"

b0=$(bans)
for a in "$(tb_addr green in 4)" "$green_link" 10.88.1.10 10.88.7.7; do
	send "ban $a 60"
	expect "$st" 1 "ban of never-ban / green / tunnel address $a refused"
	grep -qE "event=privsep result=refused request=ban reason=never_ban addr=$a" "$TB_DIR/red2.log" || tb_fail "no refusal record for $a"
done
[ "$(bans)" = "$b0" ] || tb_fail "a refused ban reached banned4"
send "ban 198.51.100.77 60"
expect "$st" 0 "ban of an ordinary address accepted"
tb_exec red nft list set inet knockgate banned4 | grep -q 198.51.100.77 || tb_fail "the accepted ban is not in banned4"
send "unban 198.51.100.77"
expect "$st" 0 "unban accepted"
tb_exec red nft list set inet knockgate banned4 | grep -q 198.51.100.77 && tb_fail "unban left the element"
b0=$(bans)
m0=$(elems)
send "raw 02"
expect "$st" 74 "short frame refused"
send "raw 0904c6336409"
expect "$st" 74 "unknown type refused"
send "raw 0205c633644d0000003c"
expect "$st" 74 "bad address family refused"
send "raw 0204c633644d0000003c00"
expect "$st" 74 "trailing byte refused"
send "big 9000"
expect "$st" 90 "oversized frame refused"
[ "$(grep -cE 'event=privsep result=refused reason=(malformed|oversized)' "$TB_DIR/red2.log")" = 5 ] || tb_fail "not 5 malformed/oversized records"
[ "$(bans)" = "$b0" ] && [ "$(elems)" = "$m0" ] || tb_fail "a malformed frame changed nft"
send "raw 0204c633644d0000003c"
expect "$st" 0 "the same ban frame well formed accepted"
tb_exec red nft list set inet knockgate banned4 | grep -q 198.51.100.77 || tb_fail "the well-formed raw ban is not in banned4"
# a worker crash: the monitor ends, leaving the dark table
fw=$(sed -nE 's/.*event=privsep result=started worker=([0-9]+).*/\1/p' "$TB_DIR/red2.log" | head -1)
kill -KILL "$fw"
tb_wait_log "$TB_DIR/red2.log" "event=privsep result=worker_gone" 5 || tb_fail "the monitor did not see its worker go"
tb_wait_log "$TB_DIR/red2.log" "event=dark result=installed reason=stop" 5 || tb_fail "no dark table after the worker crashed"
tb_exec red nft list table inet knockgate | grep -q "knockgate dark" || tb_fail "red's table is not the dark one"
tb_wait_log "$TB_DIR/red2.log" "event=stop result=ok" 5 || tb_fail "the monitor did not end"
rc=0
tb_wait_exit red 10 || tb_fail "red did not exit after its worker died"
tb_stop red || rc=$?
[ "$rc" = 1 ] || tb_fail "red exited $rc after its worker died, want 1 (so Restart=on-failure starts it)"
tb_log "ok: the worker killed, the monitor left the dark table and ended"
tb_log "PASS"
