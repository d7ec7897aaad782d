#!/bin/bash
# SPDX-License-Identifier: MIT
# Green changes nftables and WireGuard only through its apply seam
# (green/apply.h): no other file in green/ may call a kg_nft_* or kg_wg_*
# function. Types (struct kg_wg_device, struct kg_nft_dark) are fine.
# Usage: check-green-seam.sh SOURCE_ROOT
set -u
root=${1:?usage: check-green-seam.sh SOURCE_ROOT}
pattern='(^|[^A-Za-z0-9_])kg_(nft|wg)_[A-Za-z0-9_]*[[:space:]]*\('

# The pattern must catch a call, or this check proves nothing.
if ! printf '\tr = kg_nft_elem(g->nft, true, "banned4",\n' | grep -Eq "$pattern"; then
	echo "check-green-seam: the pattern misses a kg_nft_ call" >&2
	exit 1
fi
if printf '\tstruct kg_wg_device d = { 0 };\n\tr = green_apply_peer_add(x);\n' |
	grep -Eq "$pattern"; then
	echo "check-green-seam: the pattern matches a type or green_apply_" >&2
	exit 1
fi

hits=$(grep -EnH "$pattern" "$root"/green/*.c "$root"/green/*.h |
	grep -Ev "^$root/green/apply\.[ch]:")
if [ -n "$hits" ]; then
	echo "kernel calls outside green/apply.c (route them through apply.h):" >&2
	echo "$hits" >&2
	exit 1
fi
n=$(grep -Ec "$pattern" "$root/green/apply.c")
echo "ok: green/apply.c holds all $n kg_nft_/kg_wg_ calls in green/"
