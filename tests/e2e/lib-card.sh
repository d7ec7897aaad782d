#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lib-card.sh: a private pcscd with the virtual reader (vpcd) and the
# virtual PIV card knockgate-vcard, for end-to-end tests. Source it, then:
#
#   card_reexec "$@"        first line after sourcing: re-runs the test in
#                           a private mount namespace (unshare -m) where
#                           /run/pcscd is a tmpfs, so our pcscd cannot
#                           collide with the host's or another test's
#   card_setup [NETNS]      starts pcscd with a copy of vpcd's reader config
#                           on a per-run TCP port, inside NETNS (given: used
#                           as is; absent: a scratch namespace is made, so
#                           vpcd's listener is not on the host's interfaces);
#                           installs an EXIT trap that runs card_cleanup,
#                           then any EXIT trap set before card_setup
#   card_test_pki DIR USER  DIR/USER.key + DIR/USER.pem (ECDSA P-256, CN=USER,
#                           clientAuth) from a throwaway CA DIR/ca.pem; uses
#                           provisioning/kg-lab if present
#   card_write FILE KEY CERT  a new card file (PIN $KG_CARD_PIN or 123456,
#                           PUK $KG_CARD_PUK or 12345678)
#   card_start FILE         starts knockgate-vcard for FILE, waits for the
#                           reader to show "card present"
#   card_stop / card_restart  pull the card (stop vcard) / put it back
#   card_pcscd_restart      stops and restarts pcscd (the card reconnects)
#   card_pull / card_insert   SIGUSR1 / SIGUSR2 to vcard: pull, re-insert
#   card_wait_present [S] / card_wait_absent [S]   poll the reader state
#   card_exec CMD...        runs CMD in the card's network namespace
#   card_cleanup            stops what card_setup/card_start started,
#                           removes the scratch namespace; idempotent
# Variables after card_setup: CARD_NS, CARD_PORT, CARD_READER (substring
# of the reader name), CARD_DIR (per-run scratch dir), CARD_LOG (vcard log).
# Needs root, pcscd, vsmartcard-vpcd, opensc (opensc-tool), openssl.

: "${KG_BUILD:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build-test}"
CARD_VCARD_BIN=${CARD_VCARD_BIN:-$KG_BUILD/smartcard/vcard/knockgate-vcard}
CARD_NS="" CARD_PORT="" CARD_DIR="" CARD_LOG="" CARD_READER="Virtual PCD"
_card_own_ns=0 _card_pcscd_pid="" _card_vcard_pid="" _card_file=""
_card_prev_trap=""

card_skip() { echo "SKIP: $*"; exit 77; }

card_reexec() {
	[ "$(id -u)" = 0 ] || card_skip "needs root"
	command -v pcscd >/dev/null || card_skip "pcscd not installed"
	[ -f /etc/reader.conf.d/vpcd ] || card_skip "vsmartcard-vpcd not installed"
	[ -x "$CARD_VCARD_BIN" ] || card_skip "build $CARD_VCARD_BIN first"
	if [ "${KG_CARD_PRIVATE_MNT:-}" != 1 ]; then
		KG_CARD_PRIVATE_MNT=1 exec unshare -m --propagation private \
			bash "$0" "$@"
	fi
	mkdir -p /run/pcscd
	mount -t tmpfs -o mode=0755 tmpfs /run/pcscd
}

card_exec() {
	ip netns exec "$CARD_NS" "$@"
}

_card_start_pcscd() {
	rm -f /run/pcscd/pcscd.comm
	# Not through card_exec: a function in the background is a subshell,
	# and $! must be the daemon's own pid for cleanup.
	ip netns exec "$CARD_NS" pcscd -f -c "$CARD_DIR/reader.conf.d" \
		>>"$CARD_DIR/pcscd.log" 2>&1 &
	_card_pcscd_pid=$!

	for _ in $(seq 1 50); do
		[ -S /run/pcscd/pcscd.comm ] && return 0
		kill -0 "$_card_pcscd_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$CARD_DIR/pcscd.log" >&2
	echo "lib-card: pcscd did not start" >&2
	return 1
}

_card_stop_pcscd() {
	[ -n "$_card_pcscd_pid" ] || return 0
	kill "$_card_pcscd_pid" 2>/dev/null || true
	wait "$_card_pcscd_pid" 2>/dev/null || true
	_card_pcscd_pid=""
}

card_setup() {
	CARD_DIR=$(mktemp -d /tmp/kg-card.XXXXXX)
	CARD_LOG=$CARD_DIR/vcard.log
	# Chain, do not replace, an EXIT trap the test (or lib.sh) already set.
	local old=()
	eval "old=( $(trap -p EXIT) )"
	_card_prev_trap=${old[2]:-}
	trap '_card_exit_trap' EXIT
	if [ -n "${1:-}" ]; then
		CARD_NS=$1
	else
		CARD_NS=kgc$$-$RANDOM
		ip netns add "$CARD_NS"
		_card_own_ns=1
	fi
	ip -n "$CARD_NS" link set lo up
	CARD_PORT=$((36000 + RANDOM % 20000))
	mkdir -p "$CARD_DIR/reader.conf.d"
	sed "s/0x8C7B/$CARD_PORT/g" /etc/reader.conf.d/vpcd \
		>"$CARD_DIR/reader.conf.d/vpcd"
	_card_start_pcscd
}

_card_exit_trap() {
	local rc=$?
	card_cleanup
	if [ -n "$_card_prev_trap" ]; then
		set +e   # let the earlier trap see the test's status in $?
		(exit "$rc")
		eval "$_card_prev_trap"
	fi
	return "$rc"
}

card_pcscd_restart() {
	_card_stop_pcscd
	_card_start_pcscd
}

card_pull() { kill -USR1 "$_card_vcard_pid"; card_wait_absent 10; }
card_insert() { kill -USR2 "$_card_vcard_pid"; card_wait_present 10; }

# Reader state through opensc-tool: "present" or "absent".
_card_state() {
	if opensc-tool -l 2>/dev/null | grep "$CARD_READER" | head -1 |
		grep -q '^[0-9]* *Yes'; then
		echo present
	else
		echo absent
	fi
}

card_wait_present() {
	for _ in $(seq 1 $((${1:-10} * 5))); do
		[ "$(_card_state)" = present ] && return 0
		sleep 0.2
	done
	echo "card_wait_present: no card after ${1:-10}s" >&2
	return 1
}

card_wait_absent() {
	for _ in $(seq 1 $((${1:-10} * 5))); do
		[ "$(_card_state)" = absent ] && return 0
		sleep 0.2
	done
	echo "card_wait_absent: card still present after ${1:-10}s" >&2
	return 1
}

card_test_pki() {
	local dir=$1 user=$2 top
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	mkdir -p "$dir"
	if [ -x "$top/provisioning/kg-lab" ] && [ -z "${KG_CARD_NO_LAB:-}" ] &&
		"$top/provisioning/kg-lab" "$dir/lab" >/dev/null 2>&1 &&
		[ -f "$dir/lab/users/$user/$user.key" ]; then
		cp "$dir/lab/users/$user/$user.key" "$dir/$user.key"
		cp "$dir/lab/users/$user/$user.pem" "$dir/$user.pem"
		cp "$dir/lab/ca/ca.pem" "$dir/ca.pem"
		return 0
	fi
	(
		cd "$dir" || exit 1
		umask 077
		openssl ecparam -name prime256v1 -genkey -noout -out ca.key.tmp
		openssl pkey -in ca.key.tmp -out ca.key && rm -f ca.key.tmp
		openssl req -x509 -new -key ca.key -subj "/CN=knockgate test CA" \
			-days 30 -out ca.pem \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$user.key"
		openssl req -new -key "$user.key" -subj "/CN=$user" -out "$user.csr"
		printf '%s\n' "basicConstraints=CA:FALSE" \
			"keyUsage=critical,digitalSignature" \
			"extendedKeyUsage=clientAuth" >ext.cnf
		openssl x509 -req -in "$user.csr" -CA ca.pem -CAkey ca.key \
			-CAcreateserial -days 7 -extfile ext.cnf -out "$user.pem"
	) >/dev/null 2>&1
}

card_write() {
	# The lab's PIN and PUK, given explicitly: init has no defaults.
	KG_CARD_PIN=${KG_CARD_PIN:-123456} KG_CARD_PUK=${KG_CARD_PUK:-12345678} \
		"$CARD_VCARD_BIN" init --card "$1" --key "$2" --cert "$3" --force >/dev/null
}

card_start() {
	_card_file=$1
	ip netns exec "$CARD_NS" "$CARD_VCARD_BIN" --card "$_card_file" \
		--port "$CARD_PORT" >>"$CARD_LOG" 2>&1 &
	_card_vcard_pid=$!
	card_wait_present 10
}

card_stop() {
	if [ -n "$_card_vcard_pid" ]; then
		kill "$_card_vcard_pid" 2>/dev/null || true
		wait "$_card_vcard_pid" 2>/dev/null || true
		_card_vcard_pid=""
	fi
	card_wait_absent 10
}

card_restart() {
	card_stop
	card_start "$_card_file"
}

card_cleanup() {
	local rc=$?
	if [ -n "$_card_vcard_pid" ]; then
		kill "$_card_vcard_pid" 2>/dev/null || true
		wait "$_card_vcard_pid" 2>/dev/null || true
		_card_vcard_pid=""
	fi
	_card_stop_pcscd
	if [ "$_card_own_ns" = 1 ] && [ -n "$CARD_NS" ]; then
		ip netns del "$CARD_NS" 2>/dev/null || true
		_card_own_ns=0
	fi
	if [ -n "$CARD_DIR" ] && [ -d "$CARD_DIR" ]; then
		rm -rf "$CARD_DIR"
		CARD_DIR=""
	fi
	return "$rc"
}
