#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The client as a user meets it: `connect -p NAME` finds a
# named profile (or the only one) and refuses one others could read;
# without root it stops before the card is touched (no PIN try spent);
# SERVICE=PORT with a bad or busy local port is refused before the card
# is touched; `status` works for the
# user who connected (not root) and says "no such interface" for a
# missing one; a knock that gets no handshake says which step failed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lib-card.sh
. "$here/lib-card.sh"
# shellcheck source=tests/e2e/lib-flow.sh
. "$here/lib-flow.sh"
card_reexec "$@"

# Bash completion: subcommands, options, the user's profile names.
comp=$(mktemp -d)
mkdir -p "$comp/knockgate/profiles/work" "$comp/knockgate/profiles/home"
got=$(XDG_CONFIG_HOME=$comp bash -c '. "$1"
	COMP_WORDS=(knockgate co); COMP_CWORD=1; _knockgate; echo "${COMPREPLY[*]}"
	COMP_WORDS=(knockgate connect -p ""); COMP_CWORD=3; _knockgate; printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "; echo
	COMP_WORDS=(knockgate connect --ti); COMP_CWORD=2; _knockgate; echo "${COMPREPLY[*]}"' _ "$here/../../client/knockgate.bash-completion")
rm -rf "$comp"
[ "$got" = "$(printf 'connect\nhome work \n--timeout')" ] || { echo "$got"; tb_fail "bash completion"; }
tb_log "ok: bash completion: subcommand, profile names (home work), options"

flow_init
flow_green_start
flow_card alice
# The user who runs sudo: nobody/nogroup. Status reads the run dir as
# them, so the scratch dir must be traversable (keys in it stay 0600).
chmod 711 "$TB_DIR"
sys=$TB_DIR/etc-profiles
mkdir -p "$sys"
cp -r "$FLOW_LAB/users/alice/profile" "$sys/alice"
kg() { tb_exec client env KG_RUN_DIR="$KG_RUN_DIR" KG_PROFILES_SYSDIR="$sys" \
	XDG_CONFIG_HOME="$TB_DIR/xdg" "$@"; }
tries() { kg "$FLOW_KG" card 2>&1 | sed -nE 's/^pin_tries_left: ([0-9]+).*/\1/p'; }

tb_log "check: not root: refused before the card (no PIN try spent, no knock)"
printf '000000\n' >"$TB_DIR/wrong.pin"
chmod 644 "$TB_DIR/wrong.pin"
before=$(tries)
if kg setpriv --reuid=65534 --regid=65534 --clear-groups "$FLOW_KG" connect -p alice \
	--pin-file "$TB_DIR/wrong.pin" >"$TB_DIR/nonroot.out" 2>&1; then
	tb_fail "connect as nobody succeeded"
fi
cat "$TB_DIR/nonroot.out"
grep -q "needs root (or CAP_NET_ADMIN)" "$TB_DIR/nonroot.out" || tb_fail "no root message"
after=$(tries)
[ -n "$before" ] && [ "$before" = "$after" ] || tb_fail "PIN tries $before -> $after: the card was touched"
[ -z "$(flow_glog 'event=knock')" ] || tb_fail "a knock reached green"
tb_log "ok: refused with 'needs root', PIN tries still $after, no knock on green"

tb_log "check: SERVICE=PORT with a bad or busy local port is refused before the card"
if kg "$FLOW_KG" connect -p alice web=0 >"$TB_DIR/svc.out" 2>&1; then tb_fail "web=0 accepted"; fi
grep -q "expected \[ADDR:\]PORT" "$TB_DIR/svc.out" || { cat "$TB_DIR/svc.out"; tb_fail "no clear message for web=0"; }
tb_exec client ip link set lo up
tb_start client busy "$TB_DIR/busy.log" socat TCP-LISTEN:18080,bind=127.0.0.1,reuseaddr -
sleep 0.5
if kg "$FLOW_KG" connect -p alice --pin-file "$FLOW_PIN" web=18080 >"$TB_DIR/svc.out" 2>&1; then tb_fail "a busy local port accepted"; fi
grep -q "forward web: listening on 127.0.0.1 port 18080: Address already in use" "$TB_DIR/svc.out" ||
	{ cat "$TB_DIR/svc.out"; tb_fail "no clear message for a busy local port"; }
tb_stop busy || true
[ "$(tries)" = "$after" ] || tb_fail "the card was touched for a busy local port"
[ -z "$(flow_glog 'event=knock')" ] || tb_fail "a knock reached green for a busy local port"
tb_log "ok: $(cat "$TB_DIR/svc.out"), PIN tries still $after, no knock"

tb_log "check: a profile others can read is refused, naming the file and the fix"
chmod 644 "$sys/alice/profile.conf"
if kg "$FLOW_KG" connect --pin-file "$FLOW_PIN" >"$TB_DIR/perm.out" 2>&1; then tb_fail "readable profile accepted"; fi
cat "$TB_DIR/perm.out"
grep -q "$sys/alice/profile.conf has mode 0644.*chmod 600 $sys/alice/profile.conf" "$TB_DIR/perm.out" ||
	tb_fail "no clear permission message"
chmod 600 "$sys/alice/profile.conf"
[ "$(tries)" = "$after" ] || tb_fail "the card was touched for a refused profile"
tb_log "ok: refused before the card"

tb_log "check: no -p: the only profile; status as the user who connected"
tb_start client alice "$TB_DIR/alice.out" env KG_RUN_DIR="$KG_RUN_DIR" KG_PROFILES_SYSDIR="$sys" \
	XDG_CONFIG_HOME="$TB_DIR/xdg" SUDO_UID=65534 SUDO_GID=65534 \
	"$FLOW_KG" connect --ifname "$FLOW_CIF" --pin-file "$FLOW_PIN"
flow_wait_session alice
kg setpriv --reuid=65534 --regid=65534 --clear-groups "$FLOW_KG" status >"$TB_DIR/status.out" 2>&1 ||
	{ cat "$TB_DIR/status.out"; ls -la "$KG_RUN_DIR"; tb_fail "status as the user failed"; }
cat "$TB_DIR/status.out"
grep -q "user:      alice" "$TB_DIR/status.out" || tb_fail "status as the user: no session shown"
if kg setpriv --reuid=65533 --regid=65533 --clear-groups "$FLOW_KG" status >"$TB_DIR/other.out" 2>&1; then
	tb_fail "another user read the session"
fi
tb_log "ok: the connecting user sees the session; another user does not"
if kg "$FLOW_KG" status --ifname kgnosuch0 >"$TB_DIR/nosuch.out" 2>&1; then tb_fail "status of a missing interface: exit 0"; fi
grep -q "no such interface" "$TB_DIR/nosuch.out" && ! grep -q "tunnel up" "$TB_DIR/nosuch.out" ||
	{ cat "$TB_DIR/nosuch.out"; tb_fail "status --ifname of a missing interface"; }
tb_log "ok: $(cat "$TB_DIR/nosuch.out")"
kg "$FLOW_KG" close >/dev/null 2>&1 || tb_fail "close"
flow_wait_exit alice 10 || tb_fail "connect still running after close"

tb_log "check: no handshake: the message says which step and what to check"
cp -r "$sys/alice" "$sys/wrongport"
sed -i 's/^green_wg_port = .*/green_wg_port = 51999/' "$sys/wrongport/profile.conf"
if kg "$FLOW_KG" connect -p wrongport --tunnel-only --ifname "$FLOW_CIF" --timeout 3 \
	>"$TB_DIR/nohs.out" 2>&1; then tb_fail "connect with a wrong WireGuard port succeeded"; fi
cat "$TB_DIR/nohs.out"
grep -q "no handshake with green: knocks were sent to .* port 62201 (UDP) but no WireGuard handshake came from port 51999" "$TB_DIR/nohs.out" &&
	grep -q "UDP to them is not blocked" "$TB_DIR/nohs.out" || tb_fail "no step/what-to-check message"
tb_log "ok: the failed step and what to check are named"
tb_log "PASS"
