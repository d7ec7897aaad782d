#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The deployment on real systemd: green, red and the client as Debian 12
# system containers (systemd-nspawn --boot, root filesystem from
# tests/deploy-rootfs.sh, made once and cached), each joined to its
# testbed namespace. What an admin does, as the docs say it:
#  - the CA machine (a fourth, unbooted container with
#    knockgate-provisioning installed) runs the admin guide's CA blocks
#    verbatim (docs/admin-guide.md, blocks marked "deploy-test: NAME");
#  - each host gets only its own files from them, as Vagrant's synced
#    folders give them, and runs the Vagrant provisioners themselves
#    (vagrant/provision-common.sh, then provision-HOST.sh), which install
#    the built .debs from a local path and `systemctl enable --now` the
#    units;
#  - each unit: SubState=running, NRestarts=0, its systemd-analyze
#    security --offline=yes score, not worse than
#    tests/units-security-threshold;
#  - alice installs her profile (the user guide's block), connects with
#    the virtual card (pcscd + vpcd + knockgate-vcard in the client
#    container), the five steps' timings are printed, the page on red is
#    fetched through the grant, `journalctl KG_EVENT=grant KG_USER=alice`
#    on green finds it, the user guide's status/close block runs;
#  - she connects again; the CA revokes her card (the guide's lost-card
#    blocks, `systemctl reload knockgate-green`): her session ends (a
#    record on green, the port closed, her client told by green's CLOSE
#    and its tunnel gone).
# Every container is stopped by the pid of the nspawn that started it.
#
#   tests/e2e/t-deploy.sh      (debs: $KG_BUILD/debs, else built with
#                               tests/packages-check.sh)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
tb_init
for c in systemd-nspawn debootstrap nsenter flock; do
	command -v $c >/dev/null || tb_skip "$c missing (tests/install-deps.sh)"
done
t_start=$(date +%s)

tb_wait_prep deploy-rootfs
tb_log "root filesystem (tests/deploy-rootfs.sh; cached after the first run)"
rootfs=$("$top/tests/deploy-rootfs.sh") || tb_fail "no root filesystem"
tb_wait_prep packages
debs=$KG_BUILD/debs
if ! ls "$debs"/knockgate-green_*.deb >/dev/null 2>&1; then
	tb_log "no .debs in $debs: tests/packages-check.sh"
	bash "$top/tests/packages-check.sh" "$KG_BUILD" || tb_fail "the packages do not build"
fi
for p in green red client tools provisioning; do
	ls "$debs"/knockgate-${p}_*.deb >/dev/null 2>&1 || tb_fail "no knockgate-$p package in $debs"
done

w=$TB_DIR
# What `vagrant up` syncs to /vagrant: the provisioners and the prebuilt
# packages (vagrant/debs/, which provision-common.sh takes).
mkdir -p "$w/sync/vagrant/debs" "$w/admin"
cp "$top"/vagrant/provision-*.sh "$w/sync/vagrant/"
cp "$debs"/knockgate-*.deb "$w/sync/vagrant/debs/"
rm -f "$w"/sync/vagrant/debs/*-dbgsym_*

# Blocks of a guide: doc_block FILE NAME prints the fenced block after
# "<!-- deploy-test: NAME -->"; in a block of "$ " prompts, only the
# commands (the rest is the output the guide shows).
doc_block() {
	awk -v m="<!-- deploy-test: $2 -->" '
		$0 == m { f = 1; next }
		f == 1 && /^```/ { f = 2; next }
		f == 2 && /^```/ { exit }
		f == 2 { print }' "$top/docs/$1" >"$w/block"
	[ -s "$w/block" ] || tb_fail "docs/$1 has no deploy-test block $2"
	if grep -q '^\$ ' "$w/block"; then
		sed -n 's/^\$ //p' "$w/block"
	else
		cat "$w/block"
	fi
}

# The CA machine: not booted, no network, knockgate-provisioning and
# -tools (for kg-card-virtual) installed in a throwaway overlay; its
# scratch directory ($w/admin, or $w/DIR) stays.
ca_run() {
	local name=$1 dir=${2:-admin} script
	script=$(doc_block admin-guide.md "$name")
	tb_log "CA machine: admin guide block $name${2:+ (in a copy of the CA directory)}"
	systemd-nspawn -q -D "$rootfs" --volatile=overlay --register=no --keep-unit \
		--private-network --bind="$w/$dir:/root/admin" --bind-ro="$w/sync:/vagrant" \
		-- /bin/bash -c 'set -eu
			dpkg -i /vagrant/vagrant/debs/knockgate-provisioning_*.deb \
				/vagrant/vagrant/debs/knockgate-tools_*.deb >/dev/null
			cd /root/admin
			set -x
			'"$script" >"$w/ca-$name.log" 2>&1 ||
		{ cat "$w/ca-$name.log"; tb_fail "admin guide block $name failed on the CA machine"; }
}

# boot ROLE: a booted container in ROLE's testbed namespace, its lab
# files as Vagrant syncs them (read-only binds), changes in a tmpfs
# overlay. Sets sd_ROLE to its systemd's pid.
boot() {
	local role=$1 sd="" child _
	shift
	systemd-nspawn -D "$rootfs" --volatile=overlay --boot --keep-unit --register=no \
		-M "kg$role$$" --hostname="$role" --network-namespace-path="/run/netns/$(tb_ns "$role")" \
		--capability=CAP_NET_ADMIN --bind=/dev/net/tun --property="DeviceAllow=/dev/net/tun rwm" \
		--bind-ro="$w/sync:/vagrant" "$@" >"$w/console-$role.log" 2>&1 &
	echo $! >"$w/nspawn-$role.pid"
	printf '%s' "$!" >"$w/nspawn-$role.pidnum"
	for _ in $(seq 120); do
		child=$(pgrep -P "$(cat "$w/nspawn-$role.pidnum")" | head -1 || true)
		[ -n "$child" ] && sd=$(pgrep -P "$child" | head -1 || true)
		[ -n "$sd" ] && nsenter -t "$sd" -a systemctl is-system-running 2>/dev/null |
			grep -qE 'running|degraded' && break
		sleep 0.5
	done
	[ -n "$sd" ] || { tail "$w/console-$role.log"; tb_fail "the $role container did not boot"; }
	eval "sd_$role=$sd"
}
# on ROLE cmd...: a command in the booted container
on() { local r=$1 v; shift; v=sd_$r; nsenter -t "${!v}" -a "$@"; }
# stop ROLE: the container powers off on nspawn's SIGTERM; KILL after 20 s
stop() {
	local f=$w/nspawn-$1.pidnum pid _
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$f" "$w/nspawn-$1.pid"
}
# shellcheck disable=SC2154 # rc is assigned in the trap itself
trap 'rc=$?; set +e; for r in client green red; do stop $r; done; (exit $rc); tb_cleanup' EXIT

tb_log "the admin guide's CA blocks (section 2) on the CA machine"
ca_run ca-init
ca_run ca-enroll
ca_run ca-card
ca_run ca-yubikey
ls "$w/admin/users/alice/alice.card" "$w/admin/hosts/green1/users.d/alice.conf" >/dev/null ||
	tb_fail "the admin guide's blocks made no card or record for alice"

tb_up
# Green as the Vagrant VM has it: eth0 the management link (here a veth
# to nowhere), eth1 outside, eth2 inside; provision-green.sh's config is
# for that.
g=$(tb_ns green)
ip -n "$g" link set eth1 down
ip -n "$g" link set eth1 name eth2
ip -n "$g" link set eth0 down
ip -n "$g" link set eth0 name eth1
ip -n "$g" link set eth1 up
ip -n "$g" link set eth2 up
ip -n "$g" link add eth0 type veth peer name mgmt0
ip -n "$g" link set eth0 up
ip -n "$g" route replace default dev eth1
ip -n "$g" -6 route replace default dev eth1

tb_log "booting red, green and the client (systemd in each)"
b0=$(date +%s%N)
boot red --bind-ro="$w/admin/hosts/red1:/opt/knockgate-lab/red"
boot green --bind-ro="$w/admin/hosts/green1:/opt/knockgate-lab/green"
boot client --bind-ro="$w/admin/users/alice:/opt/knockgate-lab/users/alice"
tb_log "measure: three containers booted in $(( ($(date +%s%N) - b0) / 1000000 )) ms"
# Each host has only its own part of what the CA machine made.
on green test ! -e /opt/knockgate-lab/red/host.key || tb_fail "green sees red's key"
on client test ! -e /opt/knockgate-lab/green || tb_fail "the client sees green's files"
for r in green red client; do
	on "$r" sh -c '! find / /opt/knockgate-lab /vagrant -xdev -name ca.key 2>/dev/null | grep -q .' ||
		tb_fail "$r has a ca.key"
done
on client sh -c '! find /opt/knockgate-lab -name host.key | grep -q .' || tb_fail "the client has a host key"

provision() {
	local role=$1
	shift
	tb_log "$role: vagrant/provision-common.sh, provision-$role.sh"
	on "$role" env "$@" bash /vagrant/vagrant/provision-common.sh >"$w/prov-$role.log" 2>&1 &&
		on "$role" env "$@" bash "/vagrant/vagrant/provision-$role.sh" >>"$w/prov-$role.log" 2>&1 ||
		{ tail -25 "$w/prov-$role.log"; on "$role" journalctl -b --no-pager -n 30 -o cat || true
		  tb_fail "provision-$role.sh failed"; }
}
provision red
# Vagrant's file provisioner: red's certificate (public) only.
on green install -m 0644 /dev/stdin /tmp/knockgate-red1.pem <"$w/admin/hosts/red1/host.pem"
provision green KG_RED_CERT=/tmp/knockgate-red1.pem
provision client
for r in red green client; do
	failed=$(on "$r" systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')
	tb_log "$r: failed units: ${failed:-none}"
	case "$failed" in *knockgate* | *pcscd*) tb_fail "$r: a unit the deployment needs failed: $failed" ;; esac
done
on green test ! -e /etc/knockgate/ca.key || tb_fail "green got the CA key"
on client dpkg -s knockgate-green >/dev/null 2>&1 && tb_fail "the client got green's package"
on green dpkg -s knockgate-client >/dev/null 2>&1 && tb_fail "green got the client package"

# A block for two hosts ("# on red, then on green"): each host runs its
# own unit's lines, in the guide's order.
host_block() {
	local name=$1 r lines
	for r in red green; do
		lines=$(doc_block admin-guide.md "$name" | grep "knockgate-$r" || true)
		[ -n "$lines" ] || tb_fail "admin guide block $name has no line for $r"
		tb_log "$r: admin guide block $name"
		on "$r" bash -c "set -eu; $lines" >"$w/$name-$r.out" 2>&1 ||
			{ cat "$w/$name-$r.out"; tb_fail "admin guide block $name failed on $r"; }
	done
}
host_block host-check-config
host_block host-start
grep -q 'Status: "table inet knockgate; sessions: 0 live, 0 pending"' "$w/host-start-green.out" ||
	{ cat "$w/host-start-green.out"; tb_fail "systemctl status knockgate-green does not show the status the guide says"; }

tb_log "units: running, not restarting, security score"
while read -r unit max; do
	case "$unit" in ''|'#'*) continue ;; esac
	role=${unit#knockgate-}; role=${role%.service}
	show=$(on "$role" systemctl show "$unit" -p SubState -p NRestarts -p StatusText)
	echo "$show" | sed "s/^/  $unit: /"
	grep -qx SubState=running <<<"$show" || tb_fail "$unit is not running"
	grep -qx NRestarts=0 <<<"$show" || tb_fail "$unit restarted"
	score=$(on "$role" systemd-analyze security --offline=yes "$unit" 2>&1 |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
	[ -n "$score" ] || tb_fail "$unit: no security score"
	tb_log "measure: $unit systemd-analyze security --offline=yes exposure $score (threshold $max)"
	awk -v s="$score" -v m="$max" 'BEGIN { exit !(s > m) }' &&
		tb_fail "$unit: exposure $score worse than $max (tests/units-security-threshold)"
done <"$top/tests/units-security-threshold"

tb_log "green is dark from the client's network"
dark=$(doc_block admin-guide.md green-dark)
on green bash -c "$dark" >"$w/green-table.txt" || tb_fail "the admin guide's nft block failed on green"
grep -q 'policy drop' "$w/green-table.txt" || tb_fail "green's table has no policy drop"
! tb_tcp_probe client 198.51.100.1 22 || tb_fail "green answers on port 22 from outside"
! tb_exec client curl -s --connect-timeout 2 -m 3 http://203.0.113.2:8080/ >/dev/null ||
	tb_fail "red's web server is reachable without a grant"

tb_log "alice: the user guide's profile block"
prof=$(doc_block user-guide.md user-profile)
on client runuser -u vagrant -- bash -c "set -eu; cd /home/vagrant/knockgate; $prof" ||
	tb_fail "the user guide's profile block failed"
# The card's PIN is the one the admin guide's ca-card block set.
pin=$(cat "$w/admin/pin")
on client runuser -u vagrant -- sh -c "umask 077; printf '%s\n' '$pin' >/home/vagrant/pin"

# Alice runs connect as the guides say (sudo, -p work, web), in the
# background and with the PIN from a file because no one types here.
connect() {
	on client runuser -u vagrant -- sudo knockgate connect -p work --pin-file /home/vagrant/pin \
		--background -v web >"$w/$1.out" 2>&1 ||
		{ cat "$w/$1.out"; on green journalctl -u knockgate-green --no-pager -o cat | tail -15
		  tb_fail "connect $1 failed"; }
}
tb_log "steps i-iv: knock, tunnel, card proof, service (connect -v from the client container)"
t0=$(date +%s%N)
connect c1
t1=$(date +%s%N)
cat "$w/c1.out"
hs=$(sed -nE 's/.*handshake after ([0-9]+) ms.*/\1/p' "$w/c1.out" | tail -1)
cp=$(sed -nE 's/.*card proof ([0-9]+) ms.*/\1/p' "$w/c1.out" | tail -1)
gr=$(sed -nE 's/.*granted after ([0-9]+) ms.*/\1/p' "$w/c1.out" | tail -1)
addr=$(sed -nE 's/.*service web at ([0-9.]+:[0-9]+).*/\1/p' "$w/c1.out" | tail -1)
[ -n "$hs" ] && [ -n "$cp" ] && [ -n "$gr" ] && [ -n "$addr" ] || tb_fail "connect printed no timings or no service address"
page=$(on client curl -s --connect-timeout 3 -m 5 "http://$addr/") || tb_fail "no page from red at $addr"
grep -q 'hello from red' <<<"$page" || tb_fail "red's page: $page"
tb_log "page from red through the grant at $addr: $page"
grant=$(on green journalctl --no-pager -o cat KG_EVENT=grant KG_USER=alice)
sid=$(sed -nE 's/^session ([0-9a-f]+): user alice .*/\1/p' "$w/c1.out")
[ -n "$sid" ] || tb_fail "connect printed no session id"
grep -q "event=grant result=granted .*session=$sid service=web" <<<"$grant" ||
	{ echo "$grant"; tb_fail "journalctl KG_EVENT=grant KG_USER=alice has no grant for alice's session $sid"; }
tb_log "journalctl KG_EVENT=grant KG_USER=alice on green: $(grep -m1 "session=$sid" <<<"$grant")"
logs=$(doc_block admin-guide.md green-logs)
on green bash -c "$logs" 2>&1 | grep -q 'event=grant' || tb_fail "the admin guide's journalctl block shows no grant"

tb_log "step v: the user guide's status and close block (as alice)"
sc=$(doc_block user-guide.md user-status-close)
t2=$(date +%s%N)
on client runuser -u vagrant -- bash -c "set -eu; $sc" >"$w/status-close.out" 2>&1 ||
	{ cat "$w/status-close.out"; tb_fail "the user guide's status/close block failed"; }
t3=$(date +%s%N)
cat "$w/status-close.out"
grep -q '^user: *alice' "$w/status-close.out" || tb_fail "status as alice shows no session"
on client sh -c '! ip link show kg-alice' >/dev/null 2>&1 || tb_fail "the tunnel is still up after close"
! on client curl -s --connect-timeout 2 -m 3 "http://$addr/" >/dev/null || tb_fail "the port answers after close"
tb_log "measure: five steps from the client container: i+ii knock -> WireGuard handshake ${hs} ms;" \
	"iii card proof ${cp} ms; iv service request -> grant ${gr} ms; i-iv connect wall" \
	"$(( (t1 - t0) / 1000000 )) ms; v status + close wall $(( (t3 - t2) / 1000000 )) ms"

tb_log "revocation: alice connects again; the CA revokes her (the lost-card blocks)"
connect c2
addr=$(sed -nE 's/.*service web at ([0-9.]+:[0-9]+).*/\1/p' "$w/c2.out" | tail -1)
on client curl -s --connect-timeout 3 -m 5 "http://$addr/" | grep -q 'hello from red' ||
	tb_fail "no page on the second session"
# Moving alice to a YubiKey (revoke, new key on the card: the dry run)
# is tried on a copy of the CA directory; the lost card is the real one.
cp -a "$w/admin" "$w/admin-move"
ca_run ca-move-yubikey admin-move
ca_run ca-lost-card
green_blk=$(doc_block admin-guide.md green-lost-card)
mkdir -p "$w/to-green"
cp "$w/admin/hosts/green1/crl.pem" "$w/to-green/"
on green mkdir -p /root/from-ca
on green install -m 0644 /dev/stdin /root/from-ca/crl.pem <"$w/to-green/crl.pem"
on green bash -c "set -eu; cd /root/from-ca; $green_blk" >"$w/green-lost.out" 2>&1 ||
	{ cat "$w/green-lost.out"; tb_fail "the admin guide's green lost-card block failed"; }
ended=""
for _ in $(seq 50); do
	ended=$(on green journalctl -u knockgate-green --no-pager -o cat |
		grep -E 'event=session result=ended reason=(revoked|removed) user=alice' || true)
	[ -n "$ended" ] && break
	sleep 0.2
done
[ -n "$ended" ] || { on green journalctl -u knockgate-green --no-pager -o cat | tail; tb_fail "alice's session did not end"; }
tb_log "green: $(tail -1 <<<"$ended")"
on green journalctl -u knockgate-green --no-pager -o cat | grep -q 'event=revocation result=reloaded' ||
	tb_fail "no reload record on green"
# Her openings go at once; the peer a moment later (after green's CLOSE
# to her has left through it).
for _ in $(seq 25); do
	peers=$(on green wg show kg-green0 peers) || tb_fail "wg show on green failed"
	[ -z "$peers" ] && break
	sleep 0.2
done
[ -z "$peers" ] || tb_fail "green still has alice's WireGuard peer: $peers"
! on client curl -s --connect-timeout 2 -m 3 "http://$addr/" >/dev/null || tb_fail "the port answers after the revocation"
! on client curl -s --connect-timeout 2 -m 3 http://10.88.0.1:4433/ >/dev/null 2>&1 ||
	tb_fail "alice's tunnel still reaches green's control port"
tb_log "ok: alice's peer is gone from green, the tunnel carries nothing, red's port is closed"
# Green's CLOSE reaches her before her peer goes: her connect ends the
# session itself and takes the tunnel down, not a TCP keepalive later.
gone=0
for _ in $(seq 25); do
	on client sh -c '! ip link show kg-alice' >/dev/null 2>&1 && { gone=1; break; }
	sleep 0.2
done
[ $gone = 1 ] || tb_fail "alice's client did not get green's CLOSE: kg-alice is still up"
tb_log "ok: alice's client ended the session itself and took its tunnel down"
on client runuser -u vagrant -- knockgate status >/dev/null 2>&1 && tb_fail "status shows a session after the revocation"

tb_log "day 2 on the CA machine: expiry report, CRL update"
ca_run ca-expiry
ca_run ca-crl-update
# The renewed CRL to both hosts and a reload each: the block is green's,
# its comment says red's reload.
renew=$(doc_block admin-guide.md host-crl-renew)
reloads() { on "$1" journalctl -u "knockgate-$1" --no-pager -o cat | grep -c 'event=reload result=ok' || true; }
for r in green red; do
	blk=$renew
	[ "$r" = red ] && blk=$(sed 's/reload knockgate-green/reload knockgate-red/' <<<"$renew")
	n0=$(reloads "$r")
	on "$r" mkdir -p /root/from-ca
	on "$r" install -m 0644 /dev/stdin /root/from-ca/crl.pem <"$w/admin/hosts/${r}1/crl.pem"
	on "$r" bash -c "set -eu; cd /root/from-ca; $blk" >"$w/crl-renew-$r.out" 2>&1 ||
		{ cat "$w/crl-renew-$r.out"; tb_fail "the admin guide's CRL renewal block failed on $r"; }
	on "$r" cmp -s /etc/knockgate/crl.pem /root/from-ca/crl.pem || tb_fail "$r: the renewed CRL is not installed"
	ok=0
	for _ in $(seq 25); do
		[ "$(reloads "$r")" -gt "$n0" ] && { ok=1; break; }
		sleep 0.2
	done
	[ $ok = 1 ] || { on "$r" journalctl -u "knockgate-$r" --no-pager -o cat | tail -5; tb_fail "knockgate-$r logged no reload"; }
	tb_log "$r: the renewed CRL installed, reloaded"
done

for r in green red; do
	show=$(on "$r" systemctl show "knockgate-$r" -p SubState -p NRestarts)
	grep -qx SubState=running <<<"$show" && grep -qx NRestarts=0 <<<"$show" ||
		tb_fail "knockgate-$r at the end: $show"
done

for r in client green red; do stop "$r"; done
tb_log "measure: t-deploy wall $(( $(date +%s) - t_start )) s (root filesystem cached)"
tb_log "PASS: deployment on systemd: guides' blocks, Vagrant provisioners, units running, five steps, grant in the journal, revocation ends the session"
