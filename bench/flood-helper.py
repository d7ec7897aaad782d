#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/flood's helpers (standard library only), one subcommand each:

  users N DIR                  N green user records with random knock keys,
                               in DIR/bench-NNN.conf, 1,000 a file (green
                               reads record files of at most 1 MiB)
  access N FILE KEY64 HMAC64   fwknopd access.conf: N stanzas, the first with
                               the given keys, the others random
  pcap-payload PCAP OUT PORT   the UDP payload of the first datagram to PORT
  b64-forge IN OUT N           a fwknop SPA packet with its last N base64
                               characters changed (a forged HMAC)
  report CSV MD                medians of the raw rows as markdown tables
  plot CSV PNG                 CPU per packet against enrolled users (gnuplot)

Why one process per file and no openssl: 10,000 records must take well
under a second; keys come from os.urandom like `openssl rand` would.
"""
import base64
import csv
import os
import random
import statistics
import struct
import subprocess
import sys

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def cmd_users(n, outdir):
    # Tunnel addresses from 10.88.10.1 on: the lab's users sit in
    # 10.88.1.0/24 and green checks every address is unique.
    for start in range(0, n, 1000):
        out = []
        for i in range(start, min(n, start + 1000)):
            out.append(
                "[user b%05d]\nknock_key = %s\ntunnel_address = 10.88.%d.%d\n"
                "spki_sha256 = %s\nservices = web\nmode = spa\n\n"
                % (i, os.urandom(32).hex(), 10 + i // 250, 1 + i % 250,
                   os.urandom(32).hex()))
        write_private(os.path.join(outdir, "bench-%03d.conf" % (start // 1000)),
                      "".join(out))


def cmd_access(n, path, key64, hmac64):
    out = []
    for i in range(n):
        k, h = (key64, hmac64) if i == 0 else (
            base64.b64encode(os.urandom(32)).decode(),
            base64.b64encode(os.urandom(64)).decode())
        out.append("SOURCE ANY\nKEY_BASE64 %s\nHMAC_KEY_BASE64 %s\n\n" % (k, h))
    write_private(path, "".join(out))


def cmd_pcap_payload(pcap, out, port):
    with open(pcap, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    linktype = struct.unpack(end + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:          # Ethernet
            eth, l3 = struct.unpack("!H", pkt[12:14])[0], pkt[14:]
        elif linktype == 113:      # Linux cooked
            eth, l3 = struct.unpack("!H", pkt[14:16])[0], pkt[16:]
        else:
            sys.exit("pcap-payload: link type %d not handled" % linktype)
        if eth == 0x0800 and l3[9] == 17:
            l4 = l3[(l3[0] & 15) * 4:]
        elif eth == 0x86DD and l3[6] == 17:
            l4 = l3[40:]
        else:
            continue
        if struct.unpack("!H", l4[2:4])[0] != port:
            continue
        ulen = struct.unpack("!H", l4[4:6])[0]
        with open(out, "wb") as f:
            f.write(l4[8:ulen])
        return
    sys.exit("pcap-payload: no UDP datagram to port %d in %s" % (port, pcap))


def cmd_b64_forge(src, out, n):
    with open(src) as f:
        spa = f.read().strip()
    tail = "".join(random.choice(B64) for _ in range(n))
    if tail == spa[-n:]:
        tail = ("B" if tail[0] == "A" else "A") + tail[1:]
    with open(out, "w") as f:
        f.write(spa[:-n] + tail)


# ---- report -------------------------------------------------------------

KEY = ("section", "daemon", "users", "kind", "family", "rate", "prefilter")


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def med(rows, field):
    vals = [num(r.get(field)) for r in rows]
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def groups(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    out = {}
    for r in rows:
        out.setdefault(tuple(r[k] for k in KEY), []).append(r)
    return out


def per_pkt(rows, field, denom="sent"):
    """Median over repetitions of field/denom, one ratio per repetition."""
    vals = []
    for r in rows:
        a, b = num(r.get(field)), num(r.get(denom))
        if a is not None and b:
            vals.append(a / b)
    return statistics.median(vals) if vals else None


def fmt(v, nd=0):
    if v is None:
        return "-"
    return ("%%.%df" % nd) % v


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return "-"
    return "%.2f" % (a / b)


def ours(rows):
    """Median of (daemon + sender + softirq) ns per packet sent: the CPU
    this flood cost, kernel included, that other users of the machine do
    not blur (they rarely cause softirq work)."""
    vals = []
    for r in rows:
        parts = [num(r.get(f)) for f in ("daemon_ns", "sender_ns", "softirq_ns")]
        sent = num(r.get("sent"))
        if None not in parts and sent:
            vals.append(sum(parts) / sent)
    return statistics.median(vals) if vals else None


def cmd_report(path, md):
    g = groups(path)
    lines = []
    add = lines.append
    add("## Fixed offered rates (green, spoofed IPv4 + IPv6 sources)")
    add("")
    add("Medians over repetitions; CPU in ns per packet sent. `green` = "
        "knockgate-green's own CPU (user, sys, both); `softirq` = all CPUs' "
        "softirq time minus the idle baseline's; `sender` = kg-spoof's user+sys; "
        "`ours` = green + softirq + sender, the flood's whole cost with the "
        "kernel; `x off` = ours over the same rate's pre-filter-off junk "
        "figure; `machine` = all CPUs' busy time from /proc/stat minus the "
        "baseline (only meaningful when the baseline was idle: `idle %`).")
    add("")
    add("| users | kind | rate pps | pre-filter | sent | arrived | pre-filter drops | "
        "reached green | green user | green sys | green | softirq | sender | "
        "ours | x off | machine | idle % | bans | connect ms |")
    add("|" + "---|" * 19)
    rate_rows = sorted((k for k in g if k[0] == "rate"),
                       key=lambda k: (int(k[2]), int(k[5]), k[3], k[6]))
    for k in rate_rows:
        rs = [r for r in g[k] if r["rep"] != "connect"]
        base = g.get(("rate", k[1], k[2], "junk", k[4], k[5], "off"))
        ob = ours([r for r in base if r["rep"] != "connect"]) if base else None
        om = ours(rs)
        conn = [r["connect_ms"] for r in g[k] if r.get("connect_ms")]
        add("| %s |" % " | ".join([
            k[2], k[3], k[5], k[6], fmt(med(rs, "sent")), fmt(med(rs, "arrived")),
            fmt(med(rs, "prefilter_drops")), fmt(med(rs, "reached")),
            fmt(per_pkt(rs, "daemon_user_ns")), fmt(per_pkt(rs, "daemon_sys_ns")),
            fmt(per_pkt(rs, "daemon_ns")), fmt(per_pkt(rs, "softirq_ns")),
            fmt(per_pkt(rs, "sender_ns")), fmt(om), ratio(om, ob),
            fmt(per_pkt(rs, "machine_ns")), fmt(med(rs, "baseline_idle_pct")),
            fmt(med(rs, "bans")), ", ".join(conn) if conn else "-"]))
    add("")
    add("## Enrolled users (spoofed IPv4 sources, one fixed offered rate)")
    add("")
    add("`daemon` = the daemon's own CPU (utime+stime of its threads) per "
        "packet sent; `per reached` = per packet that reached its userspace "
        "(green: knock records; fwknopd: stanza-1 lines of forged packets, "
        "replay lines of replays), the cost of one packet it handled; `x 1st` = "
        "daemon over the same daemon's, kind's and mode's figure at the fewest "
        "users; `ours` as above; `connect ms`: green, alice's knock to "
        "WireGuard handshake during a 4-s flood of that kind; fwknopd, valid "
        "SPA packets, a new one each second as a user would resend, during "
        "such a flood (8 s long), to its iptables rule for the client "
        "(`fail`: none within 20 packets).")
    add("")
    add("| daemon | users | kind | pre-filter | rate pps | sent | arrived | "
        "pre-filter drops | reached | daemon | per reached | x 1st | ours | bans | "
        "connect ms |")
    add("|" + "---|" * 15)
    user_rows = sorted((k for k in g if k[0] == "users"),
                       key=lambda k: (k[1], k[3], k[6], int(k[2])))
    for k in user_rows:
        rs = [r for r in g[k] if r["rep"] != "connect"]
        conn = [r["connect_ms"] for r in g[k] if r.get("connect_ms")]
        firsts = sorted((kk for kk in user_rows if kk[1] == k[1] and kk[3] == k[3]
                         and kk[6] == k[6]), key=lambda kk: int(kk[2]))
        d1 = per_pkt(g[firsts[0]], "daemon_ns") if firsts else None
        dn = per_pkt(rs, "daemon_ns")
        add("| %s |" % " | ".join([
            k[1], k[2], k[3], k[6], k[5], fmt(med(rs, "sent")),
            fmt(med(rs, "arrived")), fmt(med(rs, "prefilter_drops")),
            fmt(med(rs, "reached")), fmt(dn),
            fmt(per_pkt(rs, "daemon_ns", "reached")), ratio(dn, d1),
            fmt(ours(rs)), fmt(med(rs, "bans")),
            ", ".join(conn) if conn else "-"]))
    text = "\n".join(lines) + "\n"
    with open(md, "w") as f:
        f.write(text)
    sys.stdout.write(text)


# ---- plot ---------------------------------------------------------------

SERIES = [
    # (daemon, kind, prefilter, title)
    ("green", "junk", "off", "green, junk, pre-filter off"),
    ("green", "junk", "on", "green, junk, pre-filter on"),
    ("green", "forged", "off", "green, forged id, pre-filter off"),
    ("green", "forged", "on", "green, forged id, pre-filter on"),
    ("fwknopd", "junk", "n/a", "fwknopd, junk (same packets)"),
    ("fwknopd", "forged", "n/a", "fwknopd, forged id (same packets)"),
    ("fwknopd", "fwforged", "n/a", "fwknopd, forged fwknop HMAC"),
    ("fwknopd", "fwreplay", "n/a", "fwknopd, replayed fwknop SPA"),
]


def series_file(g, datadir, i, d, kind, pf, denom):
    pts = []
    for k, rs in g.items():
        if k[0] == "users" and k[1] == d and k[3] == kind and k[6] == pf:
            v = per_pkt(rs, "daemon_ns", denom)
            if v is not None:
                # log y axis: a measured 0 is drawn at 1 ns
                pts.append((int(k[2]), max(v, 1.0)))
    if not pts:
        return None
    dat = os.path.join(datadir, "flood-plot-%s-%d.dat" % (denom, i))
    with open(dat, "w") as f:
        for u, v in sorted(pts):
            f.write("%d %.1f\n" % (u, v))
    return dat


def cmd_plot(path, png):
    """Two panels: daemon CPU per packet sent (what a flood at this rate
    costs), and per packet the daemon handled (what one packet costs it,
    also past the rate where it drops the rest)."""
    g = groups(path)
    datadir = os.path.dirname(os.path.abspath(png))
    panels = []
    rates = sorted({k[5] for k in g if k[0] == "users"})
    for denom, ylabel, title in (
            ("sent", "daemon CPU per packet sent, ns",
             "per packet sent (%s pps offered)" % "/".join(rates)),
            ("reached", "daemon CPU per packet it handled, ns",
             "per packet that reached the daemon")):
        plots = []
        for i, (d, kind, pf, t) in enumerate(SERIES):
            dat = series_file(g, datadir, i, d, kind, pf, denom)
            if dat:
                plots.append("'%s' using 1:2 with linespoints lt %d lw 2 pt %d title '%s'"
                             % (dat, i + 1, i + 1, t))
        if plots:
            panels.append("set ylabel '%s'\nset title '%s'\nplot %s\n"
                          % (ylabel, title, ", \\\n     ".join(plots)))
    if not panels:
        sys.exit("plot: no enrolled-users rows in %s" % path)
    script = """set terminal png size 1500,800
set output '%s'
set multiplot layout 1,%d title 'bench/flood: daemon CPU (user+sys) per flood packet against enrolled users (green) / access.conf stanzas (fwknopd)'
set logscale x
set logscale y
set xlabel 'enrolled users / stanzas'
set key below
set grid
%s
unset multiplot
""" % (png, len(panels), "".join(panels))
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    c, a = argv[1], argv[2:]
    if c == "users" and len(a) == 2:
        cmd_users(int(a[0]), a[1])
    elif c == "access" and len(a) == 4:
        cmd_access(int(a[0]), a[1], a[2], a[3])
    elif c == "pcap-payload" and len(a) == 3:
        cmd_pcap_payload(a[0], a[1], int(a[2]))
    elif c == "b64-forge" and len(a) == 3:
        cmd_b64_forge(a[0], a[1], int(a[2]))
    elif c == "report" and len(a) == 2:
        cmd_report(a[0], a[1])
    elif c == "plot" and len(a) == 2:
        cmd_plot(a[0], a[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
