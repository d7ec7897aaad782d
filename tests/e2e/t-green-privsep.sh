#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Green split in two (-P, docs/privsep.md). Part 0, for the figures only:
# alice's five steps through today's single process. Part 1, the real
# worker: from /proc/PID/status the worker has no capability in any set,
# a non-root uid, NoNewPrivs and a seccomp filter, and the monitor only
# CAP_NET_ADMIN; inside the worker (test hook KG_TEST_WORKER_PROBE)
# execve, opening the WireGuard key and socket(AF_NETLINK) fail with
# EPERM; the five steps (knock, card proof, grant on red, the page through
# the tunnel) work through the split and a scanner is banned through it.
# Part 2, a compromised worker (kg-fake-worker in its place) sends forged
# requests to the real monitor (knocks, bans, and on the control port a
# service request before any card proof, a foreign certificate, a badly
# signed proof, a service outside the policy, a badly signed service
# request): each refused and logged with nft, WireGuard and red
# unchanged, each next to its valid twin (alice's software key), which is
# accepted; its death leaves the dark table.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-card.sh
. "$here/lib-card.sh"
# shellcheck source=tests/e2e/lib-flow.sh
. "$here/lib-flow.sh"
# shellcheck source=tests/e2e/lib-red.sh
. "$here/lib-red.sh"
# shellcheck source=tests/e2e/lib-flow-red.sh
. "$here/lib-flow-red.sh"
card_reexec "$@"

TB_GREEN_BIN=$KG_BUILD/green/knockgate-green-testhooks
FAKE=$KG_BUILD/tests/tools/kg-fake-worker
BUILD_KNOCK=$KG_BUILD/tests/tools/kg-knock-build
for b in "$TB_GREEN_BIN" "$FAKE" "$BUILD_KNOCK"; do
	[ -x "$b" ] || tb_skip "no $b (build first)"
done
export TB_GREEN_BIN
# The worker's system user, as the package would create it.
id knockgate >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin knockgate ||
	tb_fail "cannot create the knockgate user"

flowred_init
prof=$FLOW_LAB/users/alice/profile
status() { sed -nE "s/^$2:[[:space:]]+//p" "/proc/$1/status"; }
# min/median/max of FIELD= over the lines of FILE matching RE
stats() {
	grep -E "$3" "$2" | grep -oE " $1=[0-9]+" | cut -d= -f2 | sort -n |
		awk '{v[NR]=$1} END {printf "n=%d min=%d median=%d max=%d", NR, v[1], v[int((NR+1)/2)], v[NR]}'
}
# ROUNDS connects of alice asking for web, each to its grant and closed
rounds() {
	local tag=$1 i
	for i in $(seq 1 "${ROUNDS:-5}"); do
		flow_connect "$tag$i" "$prof" -v web
		flow_wait_session "$tag$i"
		flowred_grant "$tag$i" web
		[ "$i" != 1 ] || [ "$(flowred_get "$FR_PORT")" = "hello from red" ] ||
			tb_fail "$tag: no page through the tunnel at the granted port $FR_PORT"
		tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" "$FLOW_KG" close --ifname "$FLOW_CIF" >/dev/null 2>&1 ||
			tb_fail "$tag$i: knockgate close failed"
		flow_wait_exit "$tag$i" 10 || tb_fail "$tag$i: connect did not end on close"
		cat "$TB_DIR/$tag$i.out" >>"$TB_DIR/$tag.all"
	done
}
figures() {   # LABEL GREEN_LOG CLIENT_OUTS
	tb_log "measure ($1): knock -> peer and elements in place (green us=): $(stats us "$2" 'event=session result=pending')"
	tb_log "measure ($1): service request -> grant (client ms): $(stats ms <(sed -nE 's/.*granted after ([0-9]+) ms.*/ ms=\1/p' "$3") .)"
	tb_log "measure ($1): card proof frame read -> session (green us=): $(stats us "$2" 'event=auth result=accepted')"
	tb_log "measure ($1): service request read -> grant sent, red included (green us=): $(stats us "$2" 'event=service result=granted')"
}

# ---- part 0: the single process, for the figures ----
flow_card alice
flowred_green_start
rounds s
figures "single process" "$FLOW_GLOG" "$TB_DIR/s.all"
tb_stop green || true
mv "$FLOW_GLOG" "$TB_DIR/green0.log"

# ---- part 1: the real worker ----
KG_TEST_WORKER_PROBE=1 TB_GREEN_ARGS="-P -u knockgate" flowred_green_start
mon=$(tb_pid green)
tb_wait_log "$FLOW_GLOG" "event=privsep result=started worker=[0-9]+" 5 || tb_fail "no privsep start record"
wk=$(sed -nE 's/.*event=privsep result=started worker=([0-9]+).*/\1/p' "$FLOW_GLOG" | head -1)
[ "$(awk '/^PPid:/ {print $2}' "/proc/$wk/status")" = "$mon" ] || tb_fail "worker $wk is not the monitor's child"
for f in CapPrm CapEff CapInh CapAmb CapBnd; do
	v=$(status "$wk" "$f")
	[ "$v" = 0000000000000000 ] || tb_fail "worker $f=$v"
done
kid=$(id -u knockgate)
[ "$(status "$wk" Uid | awk '{print $1 $2 $3 $4}')" = "$kid$kid$kid$kid" ] || tb_fail "worker uids $(status "$wk" Uid)"
[ "$(status "$wk" Groups)" = "" ] || tb_fail "worker keeps groups: $(status "$wk" Groups)"
[ "$(status "$wk" NoNewPrivs)" = 1 ] || tb_fail "worker NoNewPrivs=$(status "$wk" NoNewPrivs)"
[ "$(status "$wk" Seccomp)" = 2 ] || tb_fail "worker Seccomp=$(status "$wk" Seccomp)"
tb_log "ok: worker $wk uid $kid, Cap{Prm,Eff,Inh,Amb,Bnd}=0, NoNewPrivs=1, Seccomp=2"
for f in CapPrm CapEff CapBnd; do   # CAP_NET_ADMIN is bit 12
	v=$(status "$mon" "$f")
	[ "$v" = 0000000000001000 ] || tb_fail "monitor $f=$v (want CAP_NET_ADMIN only)"
done
[ "$(status "$mon" CapAmb)" = 0000000000000000 ] || tb_fail "monitor has ambient capabilities"
[ "$(status "$mon" CapInh)" = 0000000000000000 ] || tb_fail "monitor has inheritable capabilities"
tb_log "ok: monitor $mon keeps CAP_NET_ADMIN only"
tb_wait_log "$FLOW_GLOG" "event=privsep_probe execve=1 open=1 socket_netlink=1 " 5 || {
	grep privsep_probe "$FLOW_GLOG"; tb_fail "the worker's probe did not fail with EPERM three times"; }
tb_log "ok: inside the worker execve, open(WireGuard key), socket(AF_NETLINK) -> EPERM"

rounds p
grep -qE "event=session result=pending .*user=alice" "$FLOW_GLOG" || tb_fail "no session through the split"
grep -qE "event=auth result=accepted .*user=alice" "$FLOW_GLOG" || tb_fail "no card proof through the split"
grep -qE "event=grant result=granted .*service=web" "$FLOW_GLOG" || tb_fail "no grant through the split"
tb_log "ok: the five steps through the split (knock, tunnel, card proof, grant on red, the page)"
figures "split -P" "$FLOW_GLOG" "$TB_DIR/p.all"

att=$(tb_addr attacker)
for p in $(seq 20001 20015); do tb_udp_send attacker "$(tb_addr green)" "$p"; done
tb_wait_log "$FLOW_GLOG" "event=ban result=banned src=$att" 5 || tb_fail "the scanner was not banned through the monitor"
tb_exec green nft list set inet knockgate banned4 | grep -q "$att" || tb_fail "no banned4 element for $att"
tb_log "ok: the scanner $att banned through the monitor"

tb_stop green || true
for _ in $(seq 1 20); do kill -0 "$wk" 2>/dev/null || break; sleep 0.1; done
kill -0 "$wk" 2>/dev/null && tb_fail "the worker outlived the monitor"
grep -qE "event=stop result=ok" "$FLOW_GLOG" || tb_fail "the monitor did not stop cleanly"
tb_log "ok: the worker ends with the monitor"
mv "$FLOW_GLOG" "$TB_DIR/green1.log"

# ---- part 2: a compromised worker ----
# alice's policy: web only (stream is a service green knows, not hers)
sed -i 's/^services = .*/services = web/' "$FLOW_LAB/green/users.d/alice.conf"
cmds=$TB_DIR/fake.cmds
: >"$cmds"
KG_FAKE_WORKER_CMDS=$cmds TB_GREEN_ARGS="-P -u knockgate --test-worker $FAKE" flowred_green_start
tb_wait_log "$FLOW_GLOG" "fake_worker ready" 5 || tb_fail "the fake worker did not start"
n=0
# send CMD: appends one command, waits for its answer; its status in st
send() {
	n=$((n + 1))
	echo "$1" >>"$cmds"
	tb_wait_log "$FLOW_GLOG" "fake_worker line=$n " 10 || tb_fail "no answer to line $n ($1)"
	st=$(sed -nE "s/^fake_worker line=$n status=([^ ]*).*/\1/p" "$FLOW_GLOG")
}
expect() { # STATUS WANT WHAT
	[ "$1" = "$2" ] || { tail -8 "$FLOW_GLOG"; tb_fail "$3: status $1, want $2"; }
	tb_log "ok: $3: status $1"
}
state() {   # WireGuard peers and green's nft sets a forged request could touch
	{ flow_green_peers; flow_green_elems; tb_exec green nft list set inet knockgate banned4; } |
		sed -E 's/ expires [0-9hms.]+//g; s/"expires": [0-9]+//g' | sort
}
cl=$(tb_addr client)
hexaddr=$(printf '%02x' ${cl//./ })
pub=$(wg genkey | wg pubkey)
"$BUILD_KNOCK" "$prof" "$pub" "$TB_DIR/k1" || tb_fail "kg-knock-build"
head -c "$(stat -c %s "$TB_DIR/k1")" /dev/urandom >"$TB_DIR/kjunk"
# the valid knock's frame with four bytes more: a tunnel address the
# worker would like to choose (the frame has no such field)
klen=$(stat -c %s "$TB_DIR/k1")
kframe=01$(printf '04%s9c40f2f9' "$hexaddr")000000000000000000000000$(printf '%04x' "$klen")$(xxd -p -c 4096 "$TB_DIR/k1")

s0=$(state)
send "knock $cl 40000 62201 $TB_DIR/kjunk"
[ "$st" = 129 ] || [ "$st" = 13 ] || expect "$st" 129 "a peer without a valid knock"
tb_log "ok: a peer without a valid knock refused: status $st"
grep -qE "event=knock result=rejected .*src=$cl" "$FLOW_GLOG" || tb_fail "no record of the junk knock"
send "raw ${kframe}0a58017f"
expect "$st" 74 "the valid knock with a tunnel address of the worker's choosing"
send "knock $cl 40000 62202 $TB_DIR/k1"
expect "$st" 22 "the valid knock to another port than the knock port"
send "raw 04$(printf '04%s' "$hexaddr")061f90"
expect "$st" 22 "a sequence packet while sequence mode is off"
[ "$(state)" = "$s0" ] || tb_fail "a refused knock changed WireGuard or nft"
send "raw $kframe"
expect "$st" 0 "the valid knock (its well-formed twin) opens a session"
tb_exec green wg show "$FLOW_GIF" allowed-ips | grep -qxF "$pub	10.88.1.10/32" ||
	{ tb_exec green wg show "$FLOW_GIF" allowed-ips; tb_fail "the peer does not have alice's tunnel address from her record"; }
tb_exec green nft list set inet knockgate wg_open4 | grep -q "$cl" || tb_fail "no wg_open4 element for $cl"
s1=$(state)
send "knock $cl 40000 62201 $TB_DIR/k1"
expect "$st" 13 "the same knock replayed (the monitor's replay cache)"
[ "$(state)" = "$s1" ] || tb_fail "the replay changed WireGuard or nft"

# The control port: the worker forwards certificate, signatures, nonce
# and names; the monitor issues challenge and nonces, checks each
# signature over its own session record and the policy. The worker plays
# with alice's software key (the card's key) for the valid twins.
t=10.88.1.10
akey=$FLOW_LAB/users/alice/alice.key
mkey=$FLOW_LAB/users/mallory/mallory.key
gpub=$FLOW_LAB/green/wg.pub
echo "$pub" >"$TB_DIR/client.pub"
openssl x509 -in "$FLOW_LAB/users/alice/alice.pem" -outform DER -out "$TB_DIR/alice.der"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=alice \
	-keyout "$TB_DIR/self.key" -outform DER -out "$TB_DIR/self.der" 2>/dev/null
# an ended session's peer stays GATE_PEER_GRACE_MS (the last message out)
state_becomes() { local _; for _ in $(seq 1 30); do [ "$(state)" = "$1" ] && return 0; sleep 0.1; done; return 1; }
redgrants() { grep -cE "event=sknock result=accepted .*action=open" "$TB_DIR/red.log" || true; }
r0=$(redgrants)
send "service $t $akey web"
expect "$st" 71 "a service request on a connection the monitor never opened"
send "open 10.88.1.99"
expect "$st" 2 "a connection from a tunnel address without a session"
send "open $t"
expect "$st" 0 "a connection from alice's pending session (its valid twin)"
send "service $t $akey web"
expect "$st" 13 "a second knock (service request) for a session without a verified card proof"
grep -qE "event=privsep result=refused request=ctrl_service reason=not_proven addr=$t" "$FLOW_GLOG" ||
	tb_fail "no not_proven record"
send "proof $t $akey $TB_DIR/client.pub $gpub"
expect "$st" 71 "a card proof before any challenge"
[ "$(state)" = "$s1" ] || tb_fail "a refused control request changed WireGuard or nft"
send "hello $t $TB_DIR/self.der"
expect "$st" 13 "a certificate of another chain (self-signed, CN=alice)"
grep -qE "event=auth result=rejected reason=[a-z_]+ user=alice src=$t" "$FLOW_GLOG" ||
	tb_fail "no refusal record for the foreign certificate"
state_becomes "$s0" || tb_fail "the refused hello left the pending peer"
"$BUILD_KNOCK" "$prof" "$pub" "$TB_DIR/k2" || tb_fail "kg-knock-build"
send "knock $cl 40000 62201 $TB_DIR/k2"
expect "$st" 0 "a fresh knock (a new pending session)"
send "open $t"
expect "$st" 0 "its connection"
send "hello $t $TB_DIR/alice.der"
expect "$st" 0 "alice's certificate (the chain, CRL and pin the monitor checks)"
send "proof $t $mkey $TB_DIR/client.pub $gpub"
expect "$st" 13 "a card proof with a bad signature (mallory's key)"
grep -qE "event=auth result=rejected reason=bad_signature user=alice src=$t" "$FLOW_GLOG" ||
	tb_fail "no bad_signature record"
state_becomes "$s0" || tb_fail "the refused proof left the pending peer"
"$BUILD_KNOCK" "$prof" "$pub" "$TB_DIR/k3" || tb_fail "kg-knock-build"
send "knock $cl 40000 62201 $TB_DIR/k3"
expect "$st" 0 "another fresh knock"
send "open $t"
send "hello $t $TB_DIR/alice.der"
expect "$st" 0 "alice's certificate again"
send "proof $t $akey $TB_DIR/client.pub $gpub"
expect "$st" 0 "the card proof signed by alice's key (the valid twin): the session is live"
send "service $t $akey stream"
expect "$st" 0 "a service outside alice's policy: answered"
grep -qE "^fake_worker line=$n status=0 code=11 " "$FLOW_GLOG" || tb_fail "stream was not refused not_allowed"
grep -qE "event=privsep result=refused request=ctrl_service reason=not_allowed service=stream" "$FLOW_GLOG" ||
	tb_fail "no not_allowed record"
send "service $t $mkey web"
grep -qE "^fake_worker line=$n status=0 code=14 " "$FLOW_GLOG" || tb_fail "a badly signed service request was not refused bad_signature"
tb_log "ok: a service request with a bad signature refused (bad_signature)"
[ "$(redgrants)" = "$r0" ] || tb_fail "a refused service request reached red"
send "service $t $akey web"
expect "$st" 115 "the service request signed by alice's key (the valid twin): red is asked"
tb_wait_log "$FLOW_GLOG" "fake_worker async=130 session=[0-9a-f]+ code=0 port=[1-9]" 10 ||
	tb_fail "no grant came back for the valid service request"
for _ in $(seq 1 30); do [ "$(redgrants)" = "$r0" ] || break; sleep 0.1; done
[ "$(redgrants)" = $((r0 + 1)) ] || { tail -5 "$TB_DIR/red.log"; tb_fail "red did not grant exactly once"; }
tb_log "ok: red granted web to alice's session, told the worker unasked"
s1=$(state)

for a in "$(tb_addr admin):never_ban" "$cl:live_session" "$(tb_addr red in 4):infrastructure" "10.88.1.10:infrastructure" "10.89.0.2:infrastructure"; do
	send "ban ${a%%:*} 60"
	expect "$st" 1 "ban of ${a%%:*} (${a##*:}) refused"
	grep -qE "event=privsep result=refused request=ban reason=${a##*:} addr=${a%%:*}" "$FLOW_GLOG" ||
		tb_fail "no refusal record for ${a%%:*}"
done
[ "$(state)" = "$s1" ] || tb_fail "a refused ban changed nft"
send "raw 05$(printf '04%s' "$hexaddr")"
expect "$st" 1 "the IPS's question: banning the session's source would hit a protected address"
send "raw 0504c633644d"
expect "$st" 0 "the same question for an ordinary address"
send "ban 198.51.100.77 60"
expect "$st" 0 "ban of an ordinary address accepted"
tb_exec green nft list set inet knockgate banned4 | grep -q 198.51.100.77 || tb_fail "the accepted ban is not in banned4"
send "unban 198.51.100.77"
expect "$st" 0 "unban accepted"
tb_exec green nft list set inet knockgate banned4 | grep -q 198.51.100.77 && tb_fail "unban left the element"

s1=$(state)
send "raw 02"
expect "$st" 74 "short frame refused"
send "raw 05$(printf '04%s' "$hexaddr")0003776562"
expect "$st" 74 "a protected question with trailing bytes"
send "raw 0205c633644d0000003c"
expect "$st" 74 "bad address family refused"
send "raw 0204c633644d0000003c00"
expect "$st" 74 "trailing byte refused"
send "big 9000"
expect "$st" 90 "oversized frame refused"
[ "$(grep -cE 'event=privsep result=refused reason=(malformed|oversized)' "$FLOW_GLOG")" = 6 ] ||
	tb_fail "not 6 malformed/oversized records"
[ "$(state)" = "$s1" ] || tb_fail "a malformed frame changed nft or WireGuard"
send "raw 0204c633644d0000003c"
expect "$st" 0 "the same ban frame well formed accepted"
tb_exec green nft list set inet knockgate banned4 | grep -q 198.51.100.77 || tb_fail "the well-formed raw ban is not in banned4"

# One NFLOG read's knocks as one request (type 13): each entry opened
# alone by the monitor, one status each; a frame with one bad entry or a
# wrong count runs none of them.
pub2=$(wg genkey | wg pubkey)
"$BUILD_KNOCK" "$FLOW_LAB/users/bob/profile" "$pub2" "$TB_DIR/kb" || tb_fail "kg-knock-build bob"
bt=$(sed -nE 's/^tunnel_address *= *//p' "$FLOW_LAB/green/users.d/bob.conf")
entry() { printf '01%s9c40f2f9000000000000000000000000%04x%s' "04$hexaddr" "$(stat -c %s "$1")" "$(xxd -p -c 4096 "$1")"; }
jent=$(entry "$TB_DIR/kjunk") bent=$(entry "$TB_DIR/kb")
s1=$(state)
send "raw 0d03$jent$bent"
expect "$st" 74 "a knocks frame counting 3 entries and holding 2"
send "raw 0d02$jent${bent}02"
expect "$st" 74 "a knocks frame with a byte after its entries"
send "raw 0d02${jent}02$(printf '04%s' "$hexaddr")0000003c"
expect "$st" 74 "a knocks frame with a ban as its second entry"
[ "$(state)" = "$s1" ] || tb_fail "a malformed knocks frame changed nft or WireGuard"
send "raw 0d02$jent$bent"
sts=$(sed -nE "s/^fake_worker line=$n status=0 .*statuses=([0-9,]+).*/\1/p" "$FLOW_GLOG")
case $sts in
129,0 | 13,0) tb_log "ok: a knocks frame, junk then bob's knock: statuses $sts" ;;
*) tail -8 "$FLOW_GLOG"; tb_fail "the knocks frame's statuses: '$sts', want 129,0" ;;
esac
tb_exec green wg show "$FLOW_GIF" allowed-ips | grep -qxF "$pub2	$bt/32" ||
	{ tb_exec green wg show "$FLOW_GIF" allowed-ips; tb_fail "bob's peer does not have his tunnel address from his record"; }
send "raw 0d01$bent"
sts=$(sed -nE "s/^fake_worker line=$n status=0 .*statuses=([0-9,]+).*/\1/p" "$FLOW_GLOG")
[ "$sts" = 13 ] || tb_fail "bob's knock replayed in a knocks frame: statuses '$sts', want 13"
tb_log "ok: bob's knock replayed in a knocks frame refused (13)"

fw=$(sed -nE 's/.*event=privsep result=started worker=([0-9]+).*/\1/p' "$FLOW_GLOG" | head -1)
kill -KILL "$fw"
tb_wait_log "$FLOW_GLOG" "event=privsep result=worker_gone" 5 || tb_fail "the monitor did not see its worker go"
tb_wait_log "$FLOW_GLOG" "event=dark result=installed reason=stop" 5 || tb_fail "no dark table after the worker died"
tb_exec green nft list table inet knockgate | grep -q "knockgate dark" || tb_fail "green's table is not the dark one"
tb_wait_log "$FLOW_GLOG" "event=stop result=ok" 5 || tb_fail "the monitor did not end"
[ -z "$(flow_green_peers)" ] || tb_fail "peers left after the worker died"
rc=0
tb_wait_exit green 10 || tb_fail "green did not exit after its worker died"
tb_stop green || rc=$?
[ "$rc" = 1 ] || tb_fail "green exited $rc after its worker died, want 1 (so Restart=on-failure starts it)"
tb_log "ok: the worker killed, the monitor left the dark table and ended"
tb_log "PASS"
