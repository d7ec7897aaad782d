# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# lib-attack.sh: helpers for the attack battery
# (tests/e2e/t-attack-*.sh). On top of lib.sh + lib-card.sh +
# lib-flow.sh + lib-red.sh + lib-flow-red.sh. Functions of the red-side
# battery carry the prefix `ar_`; a scenario runs several attacks on one
# testbed, prints one line "ATTACK <id>: PASS|FAIL: ..." per attack and
# ends with ar_finish (exit 1 if any attack failed). An attack function
# returns non-zero with the reason in AR_WHY instead of calling tb_fail,
# so the later attacks still run and report.
#
#   ar_need                  skips (77) without kg-spoof or tcpdump
#   ar_spoof ROLE ARGS...    kg-spoof in ROLE's namespace (foreground)
#   ar_spoof_bg NAME ROLE ARGS...  the same in the background (tb_start
#                            NAME; its "sent=..." line in $TB_DIR/NAME.out)
#   ar_spoof_wait NAME       waits for a background kg-spoof, prints its line
#   ar_banned ROLE ADDR      0 if ADDR is an element of ROLE's banned4/6
#   ar_mark LOG... / ar_since LOG   what LOG got since the mark (ar_run
#                            marks green's and red's logs at each start)
#   ar_ban_logged LOG ADDR   0 if LOG has a ban record for ADDR (since
#                            the mark)
#   ar_not_banned ROLE LOG ADDR...   0 if none of ADDR is banned (set and
#                            log); else 1 with AR_WHY set
#   ar_flush_bans            empties banned4/6 on green and red (between
#                            attacks, so one attack's damage does not fail
#                            the next one)
#   ar_session NAME          (re)connects alice with web and stream, waits
#                            for both grants, fetches the page, starts a
#                            stream through the grant; the connect is
#                            tb_start name ar-sess-NAME (in AR_SESSION),
#                            its stream ar-sess-NAME-s; sets AR_WPORT,
#                            AR_SPORT; 1 + AR_WHY on failure
#   ar_end_session           ends the current session (connect and stream)
#   ar_port NAME SVC         the port connect NAME was last told for SVC
#   ar_stream_flows [S]      0 if the stream of the current session gains
#                            lines within S seconds (default 3)
#   ar_count FILE REGEX      number of lines of FILE matching REGEX
#   ar_result ID RC TEXT     records and prints one attack's verdict
#   ar_run ID TEXT FUNC      runs FUNC, records PASS or FAIL (with AR_WHY)
#   ar_finish                the summary; exits 1 if an attack failed

AR_SPOOF=$KG_BUILD/tests/tools/kg-spoof
AR_WHY=
AR_WPORT=
AR_SPORT=
AR_SESSION=
AR_FAILS=0
AR_PASSES=0
AR_LINES=

ar_need() {
	[ -x "$AR_SPOOF" ] || tb_skip "no $AR_SPOOF (build first)"
	command -v tcpdump >/dev/null || tb_skip "tcpdump missing"
}

ar_spoof() {
	local role=$1
	shift
	tb_exec "$role" "$AR_SPOOF" "$@"
}

ar_spoof_bg() {
	local name=$1 role=$2
	shift 2
	tb_start "$role" "$name" "$TB_DIR/$name.out" "$AR_SPOOF" "$@"
}

ar_spoof_wait() {
	local name=$1 pid _
	pid=$(tb_pid "$name") || return 0
	# Polled, not wait(1)ed: callers run this in a command substitution,
	# a subshell that cannot wait for its parent's children.
	for _ in $(seq 1 1200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	tail -1 "$TB_DIR/$name.out"
}

ar_banned() {
	local role=$1 addr=$2 set=banned4
	case $addr in *:*) set=banned6 ;; esac
	tb_exec "$role" nft list set inet knockgate "$set" 2>/dev/null |
		grep -qE "(^|[ {,])$addr([ ,}]|$)"
}

# ar_mark LOG...: later ar_since LOG prints only what LOG got since.
ar_mark() {
	local f
	for f in "$@"; do
		wc -l <"$f" 2>/dev/null >"$TB_DIR/mark.$(basename "$f")" || echo 0 >"$TB_DIR/mark.$(basename "$f")"
	done
}

ar_since() {
	local m=0
	[ -f "$TB_DIR/mark.$(basename "$1")" ] && m=$(cat "$TB_DIR/mark.$(basename "$1")")
	tail -n +"$((m + 1))" "$1" 2>/dev/null || true
}

ar_ban_logged() {
	ar_since "$1" | grep -qE "event=ban result=banned src=$2( |$)"
}

ar_not_banned() {
	local role=$1 log=$2 a
	shift 2
	for a in "$@"; do
		if ar_banned "$role" "$a"; then
			AR_WHY="$role's ban set holds $a"
			return 1
		fi
		if ar_ban_logged "$log" "$a"; then
			AR_WHY="$role logged a ban of $a: $(ar_since "$log" | grep -E "event=ban result=banned src=$a( |$)" | tail -1 | sed 's/^.*event=/event=/')"
			return 1
		fi
	done
	return 0
}

ar_flush_bans() {
	local r s
	for r in green red; do
		for s in banned4 banned6; do
			tb_exec "$r" nft flush set inet knockgate "$s" 2>/dev/null || true
		done
	done
}

ar_count() { grep -cE -- "$2" "$1" 2>/dev/null || true; }

ar_port() {
	grep -E "^service $2 (at|moved to) " "$TB_DIR/$1.out" 2>/dev/null | tail -1 |
		sed -nE 's/^service [^ ]+ (at|moved to) [0-9.]+:([0-9]+) .*/\2/p'
}

# Waits up to T seconds for connect NAME's grant of SVC; 1 if none.
ar_wait_grant() {
	local name=$1 svc=$2 t=${3:-30} pid p _
	pid=$(tb_pid "$name")
	for _ in $(seq 1 $((t * 10))); do
		p=$(ar_port "$name" "$svc")
		[ -z "$p" ] || { echo "$p"; return 0; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

ar_end_session() {
	local old=$AR_SESSION
	[ -n "$old" ] || return 0
	tb_stop "$old-s" KILL 2>/dev/null || true
	kill "$(tb_pid "$old")" 2>/dev/null || true
	flow_wait_exit "$old" 10 || kill -KILL "$(tb_pid "$old")" 2>/dev/null || true
	rm -f "$TB_DIR/$old.pid"
	AR_SESSION=
}

ar_session() {
	local name=ar-sess-$1 page
	ar_end_session
	flow_connect "$name" "$FLOW_LAB/users/alice/profile" web stream
	AR_WPORT=$(ar_wait_grant "$name" web 30) || {
		AR_WHY="no grant of web for a fresh session: $(tail -3 "$TB_DIR/$name.out" | tr '\n' ' ')"
		return 1
	}
	AR_SPORT=$(ar_wait_grant "$name" stream 30) || {
		AR_WHY="no grant of stream for a fresh session: $(tail -3 "$TB_DIR/$name.out" | tr '\n' ' ')"
		return 1
	}
	page=$(flowred_get "$AR_WPORT") || { AR_WHY="fresh grant of web at $AR_WPORT: no page"; return 1; }
	[ "$page" = "hello from red" ] || { AR_WHY="fresh grant: unexpected page '$page'"; return 1; }
	AR_SESSION=$name
	tb_start client "$name-s" "$TB_DIR/$name-s.out" socat -u "TCP4:10.89.0.2:$AR_SPORT,connect-timeout=3" STDOUT
	ar_stream_flows 5 || { AR_WHY="fresh grant of stream at $AR_SPORT carries nothing"; return 1; }
	tb_log "session $name: web at $AR_WPORT (page ok), stream at $AR_SPORT (flowing)"
}

ar_stream_flows() {
	local f=$TB_DIR/$AR_SESSION-s.out t=${1:-3} n0 _
	n0=$(wc -l <"$f" 2>/dev/null || echo 0)
	for _ in $(seq 1 $((t * 10))); do
		[ "$(wc -l <"$f" 2>/dev/null || echo 0)" -gt "$n0" ] && return 0
		sleep 0.1
	done
	return 1
}

ar_result() {
	local id=$1 rc=$2
	shift 2
	if [ "$rc" = 0 ]; then
		AR_PASSES=$((AR_PASSES + 1))
		AR_LINES="$AR_LINES
ATTACK $id: PASS: $*"
		printf '[tb %s] ATTACK %s: PASS: %s\n' "$(date +%T)" "$id" "$*"
	else
		AR_FAILS=$((AR_FAILS + 1))
		AR_LINES="$AR_LINES
ATTACK $id: FAIL: $*"
		printf '[tb %s] ATTACK %s: FAIL: %s\n' "$(date +%T)" "$id" "$*"
	fi
}

ar_run() {
	local id=$1 text=$2 fn=$3
	AR_WHY=
	ar_mark "$FLOW_GLOG" "$TB_DIR"/red*.log
	tb_log "=== attack $id: $text"
	if "$fn"; then
		ar_result "$id" 0 "$text"
	else
		ar_result "$id" 1 "$text: ${AR_WHY:-failed}"
		# Undo the damage, so that the next attack starts whole: the
		# kernel's ban elements go now, the daemon's own record of a ban
		# (which would hide the next ban of the same address) at its end.
		ar_flush_bans
		sleep $((${TB_BAN_TIME:-20} + 1))
		ar_session "$id-again" ||
			tb_log "could not re-establish a session after attack $id: $AR_WHY"
	fi
	ar_flush_bans
}

ar_finish() {
	printf '%s\n' "$AR_LINES" | sed '/^$/d'
	if [ "$AR_FAILS" -gt 0 ]; then
		tb_log "FAIL: $AR_FAILS of $((AR_FAILS + AR_PASSES)) attacks succeeded against the protected party"
		exit 1
	fi
	tb_log "PASS: all $AR_PASSES attacks failed to harm the protected party"
}

# ar_capture_start ROLE NAME IFACE FILTER: tcpdump in ROLE's namespace
# into $TB_DIR/NAME.pcap; ar_capture_stop NAME ends it (the file is
# complete once tcpdump exits).
ar_capture_start() {
	local role=$1 name=$2 ifc=$3 filter=$4 _
	tb_start "$role" "$name" "$TB_DIR/$name.log" tcpdump -i "$ifc" -U --immediate-mode -n -w "$TB_DIR/$name.pcap" "$filter"
	for _ in $(seq 1 30); do
		grep -q "listening on" "$TB_DIR/$name.log" 2>/dev/null && break
		sleep 0.1
	done
}

ar_capture_stop() { tb_stop "$1" INT >/dev/null 2>&1 || true; }

# ar_pcap_payloads PCAP OUT MINLEN PORT...: the UDP payloads (IPv4) of
# PCAP to the first PORT that has any of at least MINLEN bytes ("any":
# the first port seen), the three largest of them written to OUT.0,
# OUT.1, OUT.2; prints "PORT N" (N files) or nothing when no PORT had
# one.
ar_pcap_payloads() {
	python3 - "$@" <<'PY'
import struct, sys
pcap, out, minlen, ports = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
d = open(pcap, 'rb').read()
if len(d) < 24:
    sys.exit(0)
link = struct.unpack('<I', d[20:24])[0]
hdr = {1: 14, 101: 0, 113: 16, 276: 20, 12: 0, 228: 0}.get(link)
if hdr is None:
    sys.exit("unknown link type %d" % link)
off, by_port, first = 24, {}, []
while off + 16 <= len(d):
    incl = struct.unpack('<I', d[off + 8:off + 12])[0]
    pkt = d[off + 16:off + 16 + incl]
    off += 16 + incl
    ip = pkt[hdr:]
    if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
        continue
    ihl = (ip[0] & 15) * 4
    dport = struct.unpack('>H', ip[ihl + 2:ihl + 4])[0]
    pl = ip[ihl + 8:]
    if len(pl) >= minlen:
        by_port.setdefault(dport, []).append(pl)
        first.append(dport)
for p in ports:
    p = first[0] if p == 'any' and first else int(p) if p != 'any' else -1
    if by_port.get(p):
        # the largest: second knocks, not the stream's ACKs riding the
        # same WireGuard link
        sel = sorted(by_port[p], key=len)[-3:]
        for i, pl in enumerate(sel):
            open("%s.%d" % (out, i), 'wb').write(pl)
        print(p, len(sel))
        break
PY
}

# ar_cpu_ticks PID: utime + stime of PID in clock ticks.
ar_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
