# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# lib-attack-green.sh: helpers for the green-side attack battery
# (tests/e2e/t-attack-ban-infra.sh, t-attack-stolen-key.sh).
# Prefix atk_ (generic: need lib.sh only) and atkf_ (the protected party:
# alice with a live session, web and stream granted through red and a
# stream, a line every 100 ms, running through the grant; need lib.sh,
# lib-card.sh, lib-flow.sh, lib-red.sh, lib-flow-red.sh, and are called
# after flowred_init + flowred_green_start + flow_card). The red-side
# battery's helpers (prefix ar_) are in lib-attack.sh.
#
#   atk_init                 checks kg-spoof and python3; per-attack results
#   atk_spoof ROLE ARGS...   tests/tools/kg-spoof in ROLE's namespace
#                            (bounded by its own -n/-T); prints its line
#   atk_result ID pass|fail TEXT   one line "ATTACK ID: PASS|FAIL: TEXT"
#   atk_finish               summary; exit 1 if any attack failed
#   atk_ban_covering ADDR [ROLE]  ROLE's (default green) banned4/banned6
#                            elements that cover ADDR (an IPv6 ban key
#                            covers its /64; intervals and prefixes too),
#                            one a line; empty: none
#   atk_unban ADDR [ROLE]    deletes those elements (restores a testbed
#                            after an attack that succeeded)
#   atk_lines FILE           lines in FILE (0 if absent)
#   atk_flowing FILE [S]     0 if FILE (a 100 ms stream's output) grew by
#                            at least 3 lines within S (default 3) seconds
#   atk_knocks OUT PROFILE N [CLIENT_PUB_B64]   N valid first knocks
#                            (docs/protocol.md) for PROFILE's user, 81
#                            bytes each, concatenated in OUT: fresh
#                            nonces, timestamps now-2 s + i ms (strictly
#                            increasing), the key id of each one's slot;
#                            client key random per knock unless given.
#                            What a thief with the knock key alone makes.
#   atk_send_knocks ROLE FILE DST PORT SRC_FIRST NSRC   sends FILE's
#                            81-byte knocks from ROLE with forged IPv4
#                            sources SRC_FIRST, SRC_FIRST+1, ... (NSRC of
#                            them, round robin), one raw socket, as fast
#                            as it can; prints "sent=N"; fails the test if
#                            nothing could be sent (also atk_spoof)
#   atk_set_size SET [ROLE]  elements in ROLE's (green) set SET, "-" if none
#   atk_counter NAME [ROLE]  packets of the named nft counter NAME, "-" if
#                            there is no such counter
#   atk_keep_logs            (call after the last EXIT trap is set) on exit,
#                            copies $TB_DIR's logs to $KG_ATTACK_KEEP/NAME/
#                            when that variable is set (for the before/after
#                            record; TB_DIR itself is removed)
#   atkf_knock_conf LINES    (before flowred_green_start) green.conf's
#                            [knock] section gets LINES too, plus
#                            $ATK_KNOCK_CONF (e.g. "prefilter = no" to see
#                            the layers behind the pre-filter hold alone)
#   atkf_green_start         flowred_green_start, then $ATK_GREEN_HOOK (shell
#                            code, e.g. `tb_exec green nft flush chain inet
#                            knockgate prerouting`: an audit switching one
#                            protection off at run time to see an attack
#                            get through)
#   atkf_up PROFILE          connects alice (web, stream), checks the page,
#                            starts the stream; 0 or 1 (no tb_fail: a
#                            fresh grant after an attack is a result)
#   atkf_down                `knockgate close`, stream reader stopped
#   atkf_alive               0 if alice's session still runs: her connect
#                            process lives and green logged no end of it
#   atkf_check ID ADDR...    after an attack: no ban covering any ADDR,
#                            the stream flows, the session lives, the
#                            control port answers through the tunnel;
#                            prints one ATTACK line (atk_result); 0 = held
#   atkf_fresh ID PROFILE    a fresh grant (close, connect again, page,
#                            stream): ATTACK ID-fresh line; then, if an
#                            attack since the last fresh grant succeeded,
#                            atkf_restore, so the next attack starts clean
#   atkf_restore PROFILE     restarts green (its log kept as
#                            green-N.log): a ban, the IPS's memory of it
#                            and a session green could not hear close
#                            would otherwise spill into the next attack
# Variables: ATKF_NAME (connect's tb name), ATKF_SID, ATKF_STREAM (the
# stream's output file), ATKF_WPORT, ATKF_SPORT.
# ATK_SPOOF: the kg-spoof binary. ATK_FAILED: ids of failed attacks.

ATK_SPOOF=$KG_BUILD/tests/tools/kg-spoof
ATK_FAILED=""
ATK_PASSED=""

atk_init() {
	[ -x "$ATK_SPOOF" ] || tb_skip "build $ATK_SPOOF first"
	command -v python3 >/dev/null || tb_skip "python3 missing"
}

_atk_keep() {
	local rc=$? d
	if [ -n "${KG_ATTACK_KEEP:-}" ] && [ -d "${TB_DIR:-}" ]; then
		d=$KG_ATTACK_KEEP/$(basename "$0" .sh)
		mkdir -p "$d"
		cp "$TB_DIR"/*.log "$TB_DIR"/*.out "$d"/ 2>/dev/null
	fi
	return "$rc"
}

atk_keep_logs() {
	local cur
	eval "set -- $(trap -p EXIT)"
	cur=${3:-}
	# shellcheck disable=SC2064 # the current trap, expanded now
	trap "_atk_keep; $cur" EXIT
}

# An attack that was not sent proves nothing: nothing sent, or a send
# error in a small attack (6 knocks, 15 SYNs: one lost packet changes what
# it tests), fails the test; a flood may lose some to a full buffer.
atk_sent_ok() {
	local line=$1 n e
	n=$(sed -nE 's/^sent=([0-9]+)( .*)?$/\1/p' <<<"$line")
	e=$(sed -nE 's/.* errors=([0-9]+).*/\1/p' <<<"$line")
	[ "${n:-0}" -gt 0 ] && { [ "${e:-0}" = 0 ] || [ "$n" -ge 1000 ]; }
}

atk_spoof() {
	local role=$1 out
	shift
	out=$(tb_exec "$role" "$ATK_SPOOF" "$@" 2>&1) || true
	printf '%s\n' "$out"
	atk_sent_ok "$(tail -1 <<<"$out")" || tb_fail "kg-spoof $* did not send: $out"
}

atk_result() {
	local id=$1 res=$2
	shift 2
	if [ "$res" = pass ]; then
		ATK_PASSED="$ATK_PASSED $id"
		printf '[tb %s] ATTACK %s: PASS: %s\n' "$(date +%T)" "$id" "$*"
	else
		ATK_FAILED="$ATK_FAILED $id"
		printf '[tb %s] ATTACK %s: FAIL: %s\n' "$(date +%T)" "$id" "$*"
	fi
}

atk_finish() {
	tb_log "attacks passed:${ATK_PASSED:- none}; failed:${ATK_FAILED:- none}"
	[ -z "$ATK_FAILED" ] || tb_fail "attack(s) not withstood:$ATK_FAILED"
}

# The elements of banned4/banned6 covering ADDR, from `nft -j`, so the
# check does not depend on how nft prints an element (plain, with a
# timeout, as a prefix or a range).
atk_ban_covering() {
	local addr=$1 role=${2:-green} s
	for s in banned4 banned6; do
		tb_exec "$role" nft -j list set inet knockgate "$s" 2>/dev/null || echo '{}'
	done | python3 -c '
import ipaddress, json, sys
a = ipaddress.ip_address(sys.argv[1])
def nets(e):
    if isinstance(e, dict):
        if "elem" in e:
            yield from nets(e["elem"]["val"])
        elif "prefix" in e:
            yield ipaddress.ip_network("%s/%s" % (e["prefix"]["addr"], e["prefix"]["len"]), strict=False)
        elif "range" in e:
            lo, hi = (ipaddress.ip_address(x) for x in e["range"])
            yield from ipaddress.summarize_address_range(lo, hi)
    elif isinstance(e, str):
        n = ipaddress.ip_network(e)
        # green keys an IPv6 ban on the /64 (docs/nftables.md)
        if n.version == 6 and n.prefixlen == 128:
            n = n.supernet(new_prefix=64)
        yield n
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    for o in json.loads(line).get("nftables", []):
        st = o.get("set")
        if not st:
            continue
        for e in st.get("elem", []):
            for n in nets(e):
                if n.version == a.version and a in n:
                    print("%s %s" % (st["name"], n))
' "$addr"
}

atk_unban() {
	local addr=$1 role=${2:-green} set net
	atk_ban_covering "$addr" "$role" | while read -r set net; do
		case "$set:$net" in
		banned6:*/64) net=${net%/64} ;;
		*/32) net=${net%/32} ;;
		esac
		tb_exec "$role" nft delete element inet knockgate "$set" "{ $net }" 2>/dev/null || true
	done
}

atk_set_size() {
	tb_exec "${2:-green}" nft -j list set inet knockgate "$1" 2>/dev/null | python3 -c '
import json, sys
try:
    for o in json.load(sys.stdin)["nftables"]:
        if "set" in o:
            print(len(o["set"].get("elem", [])))
            break
except Exception:
    print("-")' || echo -
}

atk_counter() {
	tb_exec "${2:-green}" nft list counter inet knockgate "$1" 2>/dev/null |
		sed -nE 's/.*packets ([0-9]+).*/\1/p' | grep . || echo -
}

atk_lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

atk_flowing() {
	local f=$1 s=${2:-3} n0
	n0=$(atk_lines "$f")
	sleep "$s"
	[ "$(atk_lines "$f")" -ge $((n0 + 3)) ]
}

atk_knocks() {
	local out=$1 prof=$2 n=$3 pub=${4:-}
	python3 - "$out" "$prof/profile.conf" "$n" "$pub" <<'PY'
import base64, hashlib, hmac, os, struct, sys, time
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
out, conf, n, pub = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = {}
for line in open(conf):
    if "=" in line:
        k, v = line.split("=", 1)
        c[k.strip()] = v.strip()
K = bytes.fromhex(c["knock_key"])
gpub = base64.b64decode(c["green_wg_public_key"])
slot_len = 60
hint = hashlib.sha256(gpub).digest()[:4]
aead = ChaCha20Poly1305(K)
t0 = int(time.time() * 1000) - 2000
with open(out, "wb") as f:
    for i in range(n):
        ts = t0 + i
        slot = ts // 1000 // slot_len
        kid = hmac.new(K, b"knockgate keyid v1" + struct.pack(">Q", slot), hashlib.sha256).digest()[:8]
        nonce = os.urandom(12)
        hdr = bytes([1]) + hint + kid + struct.pack(">Q", ts) + nonce
        key = base64.b64decode(pub) if pub else os.urandom(32)
        f.write(hdr + aead.encrypt(nonce, key, b"knockgate knock v1" + gpub + hdr))
PY
}

atk_send_knocks() {
	local role=$1 file=$2 dst=$3 port=$4 first=$5 nsrc=$6 out
	out=$(_atk_send_knocks "$@" 2>&1) || true
	printf '%s\n' "$out"
	atk_sent_ok "$(tail -1 <<<"$out")" || tb_fail "sending $file from $role did not work: $out"
}

_atk_send_knocks() {
	local role=$1 file=$2 dst=$3 port=$4 first=$5 nsrc=$6
	tb_exec "$role" python3 - "$file" "$dst" "$port" "$first" "$nsrc" <<'PY'
import ipaddress, socket, struct, sys
data, dst, port = open(sys.argv[1], "rb").read(), sys.argv[2], int(sys.argv[3])
first, nsrc = ipaddress.ip_address(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
sent = 0
for i in range(0, len(data) - 80, 81):
    p = data[i:i + 81]
    src = first + (sent % nsrc)
    udp = struct.pack("!HHHH", 40000 + sent % 20000, port, 8 + len(p), 0) + p
    # IPPROTO_RAW: the kernel fills in the header checksum (and the id);
    # a zero UDP checksum means "none" over IPv4.
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     src.packed, socket.inet_aton(dst))
    s.sendto(ip + udp, (dst, 0))
    sent += 1
print("sent=%d" % sent)
PY
}

ATKF_N=0 ATKF_DIRTY=0
ATKF_NAME="" ATKF_SID="" ATKF_STREAM="" ATKF_WPORT="" ATKF_SPORT=""

# Port of SERVICE in connect NAME's output (the latest at/moved line).
atkf_port() {
	grep -E "^service $2 (at|moved to) " "$TB_DIR/$1.out" 2>/dev/null | tail -1 |
		sed -nE 's/.* ([0-9.]+):([0-9]+) .*/\2/p'
}

atkf_up() {
	local prof=$1 pid _
	ATKF_N=$((ATKF_N + 1))
	ATKF_NAME=a$ATKF_N
	ATKF_STREAM=$TB_DIR/s$ATKF_N.out
	flow_connect "$ATKF_NAME" "$prof" web stream
	pid=$(tb_pid "$ATKF_NAME")
	ATKF_WPORT="" ATKF_SPORT=""
	for _ in $(seq 1 400); do
		ATKF_WPORT=$(atkf_port "$ATKF_NAME" web)
		ATKF_SPORT=$(atkf_port "$ATKF_NAME" stream)
		[ -n "$ATKF_WPORT" ] && [ -n "$ATKF_SPORT" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$ATKF_WPORT" ] || [ -z "$ATKF_SPORT" ]; then
		tb_log "connect $ATKF_NAME got no web+stream grant:"
		tail -5 "$TB_DIR/$ATKF_NAME.out"
		return 1
	fi
	ATKF_SID=$(flow_session_id "$ATKF_NAME")
	[ "$(flowred_get "$ATKF_WPORT")" = "hello from red" ] ||
		{ tb_log "no page at the granted web port $ATKF_WPORT"; return 1; }
	tb_start client "s$ATKF_N" "$ATKF_STREAM" socat -u "TCP4:10.89.0.2:$ATKF_SPORT,connect-timeout=3" STDOUT
	atk_flowing "$ATKF_STREAM" 2 || { tb_log "the stream at $ATKF_SPORT carries nothing"; return 1; }
	tb_log "alice up: session $ATKF_SID, web $ATKF_WPORT, stream $ATKF_SPORT flowing"
}

atkf_down() {
	[ -n "$ATKF_NAME" ] || return 0
	tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" "$FLOW_KG" close --ifname "$FLOW_CIF" >/dev/null 2>&1 || true
	flow_wait_exit "$ATKF_NAME" 10 || tb_stop "$ATKF_NAME" >/dev/null 2>&1 || true
	tb_stop "s$ATKF_N" >/dev/null 2>&1 || true
	# a killed connect may leave its interface behind
	tb_exec client ip link del "$FLOW_CIF" 2>/dev/null || true
	rm -rf "${KG_RUN_DIR:?}"/* 2>/dev/null || true
}

atkf_alive() {
	kill -0 "$(tb_pid "$ATKF_NAME")" 2>/dev/null || return 1
	! grep -qE "event=session result=ended .*session=$(flow_sid_re "$ATKF_SID")" "$FLOW_GLOG"
}

atkf_check() {
	local id=$1 a bans="" why="" flow=ok alive=ok ctrl=ok
	shift
	# the attack's packets are in green's hands by now; give its loop a
	# moment to act on them (a ban is one nft batch)
	sleep 1
	atk_flowing "$ATKF_STREAM" 2 || flow="stopped"
	for a in "$@"; do bans="$bans$(atk_ban_covering "$a" | tr '\n' ' ')"; done
	atkf_alive || alive="ended"
	flow_tunnel_probe || ctrl="unreachable"
	[ -z "$bans" ] || why="$why ban:[${bans% }]"
	[ "$flow" = ok ] || why="$why stream=$flow"
	[ "$alive" = ok ] || why="$why session=$alive"
	[ "$ctrl" = ok ] || why="$why control=$ctrl"
	if [ -z "$why" ]; then
		atk_result "$id" pass "${*:+no ban of $*; }stream flowing; session $ATKF_SID alive; control port reachable"
		return 0
	fi
	atk_result "$id" fail "$why${bans:+; green: $(grep -E 'event=ban result=banned' "$FLOW_GLOG" | tail -1)}"
	ATKF_DIRTY=1
	return 1
}

atkf_knock_conf() {
	ATKF_KNOCK_LINES=$(printf '%s\n%s' "$1" "${ATK_KNOCK_CONF:-}" | grep . || true)
	declare -f atkf_green_conf_lib >/dev/null ||
		eval "atkf_green_conf_lib() $(declare -f flow_green_conf | tail -n +2)"
	flow_green_conf() {
		local f=$1 l
		atkf_green_conf_lib "$@"
		while read -r l; do
			[ -z "$l" ] || sed -i "/^users_dir = /a $l" "$f"
		done <<<"$ATKF_KNOCK_LINES"
	}
}

atkf_green_start() {
	flowred_green_start
	[ -z "${ATK_GREEN_HOOK:-}" ] || { tb_log "ATK_GREEN_HOOK: $ATK_GREEN_HOOK"; eval "$ATK_GREEN_HOOK"; }
}

atkf_restore() {
	atkf_down
	cp "$FLOW_GLOG" "$TB_DIR/green-$ATKF_N.log"
	tb_log "restoring: green restarts (log so far kept in green-$ATKF_N.log)"
	tb_stop green >/dev/null 2>&1 || true
	atkf_green_start
	ATKF_DIRTY=0
	atkf_up "$1" || tb_fail "alice cannot connect even after green's restart: testbed broken"
}

atkf_fresh() {
	local id=$1 prof=$2 ok=0
	atkf_down
	if atkf_up "$prof"; then
		ok=1
		atk_result "$id-fresh" pass "fresh connect: session $ATKF_SID, web $ATKF_WPORT answers, stream flowing"
	else
		atk_result "$id-fresh" fail "no fresh grant after the attack"
		ATKF_DIRTY=1
	fi
	[ "$ATKF_DIRTY" = 0 ] || atkf_restore "$prof"
	[ "$ok" = 1 ]
}
