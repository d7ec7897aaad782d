#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# knockgate-ctl against a running green, for real: alice's live session
# is listed with its tunnel address and granted service (and on red's
# socket and metrics, her grant); a non-root peer
# is refused (permission denied on the 0600 socket, and, with the socket
# opened to all, refused by SO_PEERCRED with a record); the metrics file
# counts the session, the accepted knock, the grant and red's answer time;
# drain refuses bob's new knock with a record while alice's session keeps
# passing traffic, undrain accepts again; a scanner's ban is listed and
# lifted (banned4 element gone); ending alice's sessions removes her
# tunnel peer, nft elements and red's grant. A CRL three days from its
# nextUpdate gives an expiry warning in green's log and STATUS= and in
# red's log.
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

CTL=$KG_BUILD/green/knockgate-ctl
BUILD_KNOCK=$KG_BUILD/tests/tools/kg-knock-build
[ -x "$CTL" ] || tb_skip "build $CTL first"
[ -x "$BUILD_KNOCK" ] || tb_skip "build $BUILD_KNOCK first"
command -v setpriv >/dev/null || tb_skip "setpriv (util-linux) missing"

flowred_init
SOCK=$TB_DIR/ctl/green.ctl
PROM=$TB_DIR/green.prom
ctl() { "$CTL" -s "$SOCK" "$@"; }

tb_log "a CRL three days before its nextUpdate (expiry_warning_days 14)"
"$FLOW_PROV/kg-crl-update" --ca "$FLOW_LAB/ca" --days 3 "$FLOW_LAB/green" "$FLOW_LAB/red" >>"$TB_DIR/lab.log" 2>&1 ||
	{ cat "$TB_DIR/lab.log"; tb_fail "kg-crl-update --days 3"; }
# red reads its files at start, then once a minute: restart it on the new CRL
tb_stop red
flowred_red_start
tb_wait_log "$TB_DIR/red.log" 'event=expiry result=warning what=crl .*days_left=[23] ' 5 ||
	{ tail -10 "$TB_DIR/red.log"; tb_fail "red logged no expiry warning for its CRL"; }
TB_CTL_SOCKET=$SOCK TB_METRICS=$PROM TB_METRICS_INTERVAL=1

# STATUS= as the service manager would get it: green under a datagram
# NOTIFY_SOCKET this test reads.
tb_start green notify "$TB_DIR/notify.out" socat -u \
	"UNIX-RECV:$TB_DIR/notify.sock" "OPEN:$TB_DIR/notify.log,creat,append"
for _ in $(seq 1 30); do [ -S "$TB_DIR/notify.sock" ] && break; sleep 0.1; done
tb_green_start() {
	tb_start green green "$2" env NOTIFY_SOCKET="$TB_DIR/notify.sock" \
		"$KG_BUILD/green/knockgate-green" -f -c "$1"
	tb_wait_ready "$2"
}
flowred_green_start
[ -S "$SOCK" ] || tb_fail "no admin socket at $SOCK"
[ "$(stat -c %a "$SOCK")" = 600 ] || tb_fail "admin socket mode $(stat -c %a "$SOCK"), not 600"

tb_log "check: expiry warning in the log, in STATUS= and in 'knockgate-ctl expiry'"
tb_wait_log "$FLOW_GLOG" 'event=expiry result=warning what=crl name=pki .*days_left=[23] ' 5 ||
	{ tail -20 "$FLOW_GLOG"; tb_fail "no expiry warning for the CRL"; }
tb_wait_log "$TB_DIR/notify.log" 'STATUS=[^=]*WARNING: crl .* expires in [23] days' 5 ||
	{ cat "$TB_DIR/notify.log"; tb_fail "STATUS= has no expiry warning"; }
ctl expiry >"$TB_DIR/expiry.out" || tb_fail "knockgate-ctl expiry failed"
grep -qE '^crl +pki +warning ' "$TB_DIR/expiry.out" || { cat "$TB_DIR/expiry.out"; tb_fail "expiry does not show the CRL's warning"; }
tb_log "ok: $(flow_glog 'event=expiry result=warning' | head -1 | sed 's/.*event=/event=/')"

tb_log "step i-iv: alice connects with web"
flow_card alice
flow_connect a1 "$FLOW_LAB/users/alice/profile" web
flow_wait_session a1
flowred_grant a1 web
sid=$(flow_session_id a1)
cpub=$(tb_exec client wg show "$FLOW_CIF" public-key)

tb_log "check: 'knockgate-ctl sessions' lists alice live at 10.88.1.10 with web"
ctl sessions >"$TB_DIR/sessions.out" || tb_fail "knockgate-ctl sessions failed"
cat "$TB_DIR/sessions.out"
grep -qE "^$sid +alice +live +10\.88\.1\.10 +198\.51\.100\.10 .*web\(red1:$FR_PORT\)" "$TB_DIR/sessions.out" ||
	tb_fail "alice's session is not listed as live at 10.88.1.10 with web"
ctl --json sessions >"$TB_DIR/sessions.json" || tb_fail "knockgate-ctl --json sessions failed"
python3 - "$TB_DIR/sessions.json" "$sid" "$FR_PORT" <<'PY' || tb_fail "JSON sessions wrong: $(cat "$TB_DIR/sessions.json")"
import json, sys
d = json.load(open(sys.argv[1]))
s = [x for x in d["sessions"] if x["id"] == sys.argv[2]]
assert len(s) == 1 and s[0]["user"] == "alice" and s[0]["state"] == "live"
assert s[0]["tunnel"] == "10.88.1.10" and s[0]["ends_in_s"] > 0
assert s[0]["services"][0]["service"] == "web" and s[0]["services"][0]["port"] == int(sys.argv[3])
PY

tb_log "check: red's 'knockgate-ctl grants' shows alice's grant"
"$CTL" -s "$TB_DIR/red.ctl" grants >"$TB_DIR/red-grants.out" || tb_fail "knockgate-ctl grants on red failed"
cat "$TB_DIR/red-grants.out"
grep -qE "^green1 +$sid +web +10\.88\.1\.10 +$FR_PORT +8080 " "$TB_DIR/red-grants.out" ||
	tb_fail "red does not list alice's web grant at $FR_PORT"

for _ in $(seq 1 30); do
	grep -q '^knockgate_red_grants 1$' "$TB_DIR/red.prom" 2>/dev/null && break
	sleep 0.1
done
grep -q '^knockgate_red_grants 1$' "$TB_DIR/red.prom" || { cat "$TB_DIR/red.prom"; tb_fail "red's metrics: no grant"; }
grep -qE '^knockgate_red_knocks_total\{result="accepted"\} [1-9]' "$TB_DIR/red.prom" ||
	{ cat "$TB_DIR/red.prom"; tb_fail "red's metrics: no accepted knock"; }

tb_log "check: a non-root peer is refused"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" -s "$SOCK" sessions 2>&1) && tb_fail "nobody listed sessions: $out"
grep -q "permission denied" <<<"$out" || tb_fail "nobody's error does not say permission denied: $out"
chmod 711 "$TB_DIR" "$TB_DIR/ctl"
chmod 666 "$SOCK"
rc=0
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" -s "$SOCK" sessions 2>&1) || rc=$?
chmod 600 "$SOCK"
chmod 700 "$TB_DIR"
[ "$rc" = 3 ] || tb_fail "nobody on an open socket: exit $rc, not 3: $out"
grep -q "alice" <<<"$out" && tb_fail "nobody got the session list"
tb_wait_log "$FLOW_GLOG" 'event=ctl result=refused reason=not_root uid=65534' 3 ||
	{ tail -5 "$FLOW_GLOG"; tb_fail "no record of the refused non-root peer"; }
tb_log "ok: nobody refused ($out)"

tb_log "check: metrics file counts the live session, the knock, the grant, red's answer time"
for _ in $(seq 1 30); do
	grep -q '^knockgate_green_grants 1$' "$PROM" 2>/dev/null && break
	sleep 0.1
done
grep -q '^knockgate_green_sessions{state="live"} 1$' "$PROM" || { cat "$PROM"; tb_fail "metrics: no live session"; }
grep -qE '^knockgate_green_knocks_total\{result="accepted"\} [1-9]' "$PROM" || { cat "$PROM"; tb_fail "metrics: no accepted knock"; }
grep -q '^knockgate_green_grants 1$' "$PROM" || { cat "$PROM"; tb_fail "metrics: no grant"; }
grep -qE '^knockgate_green_red_rtt_seconds_count [1-9]' "$PROM" || { cat "$PROM"; tb_fail "metrics: no red answer time"; }
grep -qE '^knockgate_green_expiry_timestamp_seconds\{what="crl",name="pki"\} [0-9]+$' "$PROM" || { cat "$PROM"; tb_fail "metrics: no CRL expiry"; }
[ ! -e "$PROM.tmp" ] || tb_fail "metrics: temporary file left"
tb_log "ok: $(grep -E '^knockgate_green_(sessions|grants|red_rtt_seconds_count)' "$PROM" | tr '\n' ' ')"

tb_log "check: drain refuses bob's new knock, alice keeps passing traffic"
ctl drain >/dev/null || tb_fail "knockgate-ctl drain failed"
bpub=$(wg genkey | wg pubkey)
"$BUILD_KNOCK" "$FLOW_LAB/users/bob/profile" "$bpub" "$TB_DIR/kb1" || tb_fail "kg-knock-build"
tb_exec client2 socat -u "OPEN:$TB_DIR/kb1" "UDP4-SENDTO:$(tb_addr green out 4):62201"
tb_wait_log "$FLOW_GLOG" 'event=knock result=rejected reason=draining user=bob src=198\.51\.100\.11' 5 ||
	{ tail -10 "$FLOW_GLOG"; tb_fail "no draining refusal for bob's knock"; }
! ctl sessions | grep -q ' bob ' || tb_fail "bob got a session while draining"
page=$(flowred_get "$FR_PORT") || tb_fail "alice's service does not answer while draining"
[ "$page" = "hello from red" ] || tb_fail "unexpected page while draining: $page"
ctl status | grep -q '^draining: yes' || tb_fail "status does not say draining"
# STATUS= is refreshed while green runs, not written once at start.
tb_wait_log "$TB_DIR/notify.log" 'STATUS=[^=]*sessions: 1 live, 0 pending; draining; WARNING' 3 ||
	tb_fail "STATUS= does not say draining: $(tr -c '[:print:]' '\n' <"$TB_DIR/notify.log" | tail -3)"
ctl undrain >/dev/null || tb_fail "knockgate-ctl undrain failed"
sleep 1   # the next knock must carry a later timestamp (superseded otherwise)
"$BUILD_KNOCK" "$FLOW_LAB/users/bob/profile" "$bpub" "$TB_DIR/kb2" || tb_fail "kg-knock-build"
tb_exec client2 socat -u "OPEN:$TB_DIR/kb2" "UDP4-SENDTO:$(tb_addr green out 4):62201"
tb_wait_log "$FLOW_GLOG" 'event=knock result=accepted .*user=bob' 5 ||
	{ tail -10 "$FLOW_GLOG"; tb_fail "bob's knock refused after undrain"; }
tb_log "ok: drained knock refused, alice's page came through, undrain accepts"

tb_log "check: a scanner's ban is listed and lifted"
atk=$(tb_addr attacker out 4)
for p in $(seq 2001 2012); do tb_udp_send attacker "$(tb_addr green out 4)" "$p"; done
tb_wait_log "$FLOW_GLOG" "event=ban result=banned src=${atk//./\\.} " 5 || { tail -10 "$FLOW_GLOG"; tb_fail "the scanner was not banned"; }
ctl bans | grep -q "^${atk//./\\.} " || tb_fail "bans does not list $atk"
tb_exec green nft list set inet knockgate banned4 | grep -q "$atk" || tb_fail "$atk not in banned4"
ctl unban "$atk" >/dev/null || tb_fail "knockgate-ctl unban failed"
! tb_exec green nft list set inet knockgate banned4 | grep -q "$atk" || tb_fail "$atk still in banned4 after unban"
! ctl bans | grep -q "^${atk//./\\.} " || tb_fail "bans still lists $atk"
tb_wait_log "$FLOW_GLOG" "event=unban result=lifted src=${atk//./\\.} reason=admin" 3 || tb_fail "no unban record"
rc=0; ctl unban "$atk" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || tb_fail "unban of an unbanned address: exit $rc, not 1"
tb_log "ok: $atk banned, listed, lifted"

tb_log "check: ending alice's sessions removes her peer, elements and red's grant"
rc=0; ctl end 0000000000000000 2>/dev/null || rc=$?
[ "$rc" = 1 ] || tb_fail "end of an unknown session: exit $rc, not 1"
ctl end-user alice >"$TB_DIR/end.out" || tb_fail "knockgate-ctl end-user failed"
grep -q "1 session ended" "$TB_DIR/end.out" || tb_fail "end-user said: $(cat "$TB_DIR/end.out")"
tb_wait_log "$FLOW_GLOG" "event=session result=ended reason=close user=alice session=$(flow_sid_re "$sid")" 5 ||
	{ tail -8 "$FLOW_GLOG"; tb_fail "green did not end alice's session"; }
flow_wait_exit a1 10 || { tail -5 "$TB_DIR/a1.out"; flow_glog "session|ctl" | tail -5; tb_fail "alice's connect did not end"; }
for _ in $(seq 1 30); do
	[ -z "$(flowred_red_map)$(flowred_fwd)" ] && break
	sleep 0.1
done
[ -z "$(flowred_fwd)" ] || tb_fail "green still forwards: $(flowred_fwd)"
[ -z "$(flowred_red_map)" ] || tb_fail "red still maps: $(flowred_red_map)"
"$CTL" -s "$TB_DIR/red.ctl" grants | grep -q '10\.88\.1\.10' && tb_fail "red's knockgate-ctl still lists alice's grant"
# The peer stays a moment (the CLOSE to the client still leaves).
for _ in $(seq 1 50); do
	flow_green_peers | grep -qF "$cpub" || break
	sleep 0.1
done
flow_green_peers | grep -qF "$cpub" && tb_fail "alice's peer still on green"
flow_green_elems | grep -q '10\.88\.1\.10' && tb_fail "alice's tunnel address still in green's sets"
! ctl sessions | grep -q ' alice ' || tb_fail "alice still listed"
tb_log "check: a clean stop removes the socket; no sanitizer report"
tb_stop green || tb_fail "green did not stop cleanly"
[ ! -e "$SOCK" ] || tb_fail "admin socket left after stop"
rc=0; ctl status 2>"$TB_DIR/nodaemon.err" || rc=$?
[ "$rc" = 3 ] || tb_fail "knockgate-ctl without a daemon: exit $rc, not 3"
grep -q "no daemon listens there" "$TB_DIR/nodaemon.err" ||
	tb_fail "knockgate-ctl without a daemon says: $(cat "$TB_DIR/nodaemon.err")"
grep -E 'Sanitizer|runtime error' "$FLOW_GLOG" "$TB_DIR/red.log" && tb_fail "sanitizer report"
tb_log "PASS: knockgate-ctl lists, refuses non-root, meters, drains, unbans, ends sessions; expiry warned in log and STATUS="
