#!/usr/bin/env python3
"""Measures the partition runs of bench/partition.sh from their logs alone.

    python3 bench/partition_measure.py [DIR] [--svg FILE]

DIR (default logs/partition) holds run_1, run_2, ...; each has the three
machine_N.log, faults.txt (the start instant and when the cut and the heal
were made) and verify.txt. Prints one markdown table: a row per figure, a
column per run and the median over the runs; the figures are those of
bench/partition_model.py (the prediction), measured the same way where the
logs allow, plus what only real runs have (link events, tick lateness,
the cut as the logs see it). With --svg, also draws VM 3's queue and the
drift c1 - c3 of every run against time. Python 3 standard library only.

Definitions (times in seconds from the run's start: the latest start_at):
- a message is *held* if it went between VM 3 and a peer, was sent at or
  after the cut began and before that link's first link_up after it (as
  the dialer, the peer, logged it);
- *arrival* is a receive's time less its wait_us (when it reached the queue);
- VM 3's queue at a tick is the number of messages arrived and not yet
  taken just before that tick (the log's `queue` is this less the one taken);
- *drained*: the first tick of VM 3 after the first link_up that rolls the
  die (so found its queue empty);
- a receive's *jump* is max(0, msg_clock - previous clock): how far the
  message pulled the clock beyond the ordinary +1;
- drift c_i - c_j at time t: the difference of the two clocks after each
  VM's last tick at or before t, on a 100 ms grid.
"""
import datetime
import os
import re
import statistics
import sys


def ts(text):
    dt = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.replace(tzinfo=datetime.timezone.utc).timestamp()


def parse_log(path):
    events = []
    with open(path) as f:
        for line in f:
            d = dict(kv.split("=", 1) for kv in line.split())
            d["t"] = ts(d["time"])
            events.append(d)
    return events


def parse_faults(path):
    out = {}
    with open(path) as f:
        for line in f:
            words = line.split()
            if not words:
                continue
            if words[0] == "start":
                out["start"] = ts(words[1])
                if "load" in words:
                    out["load_start"] = float(words[words.index("load") + 1])
            elif words[0] in ("cut", "heal"):
                stamps = [w for w in words[1:] if re.match(r"\d{4}-\d\d-\d\dT", w)]
                out[words[0]] = ts(stamps[0])
                out[words[0] + "_done"] = ts(stamps[-1])
            elif words[0] == "end" and "load" in words:
                out["load_end"] = float(words[words.index("load") + 1])
    return out


def clock_at(ticks, t):
    """Clock after the last tick event at or before t (ticks: [(t, clock)])."""
    lo, hi = 0, len(ticks)
    while lo < hi:
        mid = (lo + hi) // 2
        if ticks[mid][0] <= t:
            lo = mid + 1
        else:
            hi = mid
    return ticks[lo - 1][1] if lo else 0


def measure_run(run_dir):
    logs = {i: parse_log(os.path.join(run_dir, f"machine_{i}.log")) for i in (1, 2, 3)}
    faults = parse_faults(os.path.join(run_dir, "faults.txt"))
    t0 = faults["start"]
    rel = lambda t: t - t0  # noqa: E731
    cut, heal = rel(faults["cut"]), rel(faults["heal"])
    m = {}
    starts = {i: ts(logs[i][0]["start_at"]) for i in logs}
    rates = {i: int(logs[i][0]["rate"]) for i in logs}
    m["start spread (ms)"] = (max(starts.values()) - min(starts.values())) * 1000
    m["load average at start / end"] = (faults.get("load_start"), faults.get("load_end"))
    m["cut command began / returned (s)"] = (cut, rel(faults["cut_done"]))
    m["heal command began / returned (s)"] = (heal, rel(faults["heal_done"]))
    # Tick lateness against each VM's own schedule.
    late = []
    for i in logs:
        for e in logs[i]:
            if "tick" in e:
                due = starts[i] + (int(e["tick"]) - 1) / rates[i]
                late.append(e["t"] - due)
    m["ticks > 50 ms late (share)"] = sum(1 for x in late if x > 0.05) / len(late)
    m["latest tick (ms late)"] = max(late) * 1000

    # Link events.
    ups = {}  # (vm, peer) -> [(t, resent)]
    downs = {}
    for i in logs:
        for e in logs[i]:
            if e["event"] == "link_down":
                downs.setdefault((i, int(e["peer"])), []).append(rel(e["t"]))
            elif e["event"] == "link_up":
                ups.setdefault((i, int(e["peer"])), []).append((rel(e["t"]), int(e["resent"])))
    m["link_down lines / link_up lines"] = (
        sum(len(v) for v in downs.values()), sum(len(v) for v in ups.values()))
    m["link_down/link_up on link 1-2"] = sum(
        len(downs.get(k, [])) + len(ups.get(k, [])) for k in ((1, 2), (2, 1)))
    for i, p in ((1, 3), (2, 3), (3, 1), (3, 2)):
        d = [x for x in downs.get((i, p), []) if x >= cut - 0.5]
        u = [x for x in ups.get((i, p), []) if x[0] >= cut - 0.5]
        m[f"VM{i} link_down peer={p} (s)"] = d[0] if d else None
        m[f"VM{i} link_up peer={p} (s)"] = u[0][0] if u else None
        m[f"VM{i} resent to VM{p}"] = u[0][1] if u else None
        m[f"VM{i} more link_down peer={p} after that link_up"] = sum(1 for x in d[1:] if u and x >= u[0][0])
    up = {}
    for p in (1, 2):
        u = [x[0] for x in ups.get((p, 3), []) if x[0] >= cut]
        up[p] = u[0] if u else None
        m[f"link {p}-3 back: link_up at VM{p} less the heal (s)"] = up[p] - heal if u else None
    first_up = min(x for x in up.values() if x is not None)

    # Messages: sends by (sender, tick) -> (time, clock, [to]).
    sends = {}
    for i in logs:
        for e in logs[i]:
            if e["event"] == "send":
                sends[(i, int(e["tick"]))] = (rel(e["t"]), int(e["clock"]), [int(x) for x in e["to"].split(",")])
    recv = {i: [] for i in logs}  # receiver -> [(take t, arrival t, sender, send t, jump, queue before)]
    ticks = {i: [] for i in logs}
    for i in logs:
        prev = 0
        for e in logs[i]:
            if "tick" not in e:
                continue
            c = int(e["clock"])
            if e["event"] == "receive":
                s = int(e["from"])
                st = sends[(s, int(e["sent_tick"]))][0]
                jump = max(0, int(e["msg_clock"]) - prev)
                recv[i].append((rel(e["t"]), rel(e["t"]) - int(e["wait_us"]) / 1e6, s, st, jump,
                                int(e["queue"]) + 1))
            ticks[i].append((rel(e["t"]), c, e["event"]))
            prev = c

    def held(s, r, st):
        pair = s if r == 3 else r
        return 3 in (s, r) and st >= cut and up[pair] is not None and st < up[pair]

    # The cut as the logs see it: the last message on a link with VM 3 that
    # arrived promptly, and the first that was held up.
    prompt = [st for r in logs for (_, a, s, st, _, _) in recv[r] if 3 in (s, r) and st < heal and a - st < 0.1]
    slow = [st for r in logs for (_, a, s, st, _, _) in recv[r] if 3 in (s, r) and st > cut - 2 and a - st > 1]
    m["logs: last prompt / first held send across the cut (s)"] = (
        max((x for x in prompt if x < (min(slow) if slow else heal)), default=None),
        min(slow, default=None))

    # The dead-link timer: link_down less the first message sent on that link
    # after the cut began (the oldest one waiting for an acknowledgement).
    for i, p in ((1, 3), (2, 3), (3, 1), (3, 2)):
        first = min((st for (s, _), (st, _, to) in sends.items() if s == i and p in to and st >= cut),
                    default=None)
        d = m[f"VM{i} link_down peer={p} (s)"]
        m[f"VM{i} link_down peer={p} less its first send into the cut (s)"] = (
            d - first if d is not None and first is not None else None)
    r3 = recv[3]
    held3 = [x for x in r3 if held(x[2], 3, x[3])]
    m["held messages to VM3 from VM1 / VM2"] = (
        sum(1 for x in held3 if x[2] == 1), sum(1 for x in held3 if x[2] == 2))
    m["held messages to VM3 (both)"] = len(held3)
    held_out = [x for r in (1, 2) for x in recv[r] if x[2] == 3 and held(3, r, x[3])]
    m["held messages from VM3 (both)"] = len(held_out)
    # Pending messages (at the stop) are counted on the queue from their send.
    arrivals = sorted([a for (_, a, _, _, _, _) in r3] + [
        sends[(int(e["from"]), int(e["sent_tick"]))][0] for e in logs[3] if e["event"] == "pending"])
    takes = sorted(t for (t, _, _, _, _, _) in r3)

    def queue_before(t):
        n_arr = sum(1 for a in arrivals if a <= t)
        n_taken = sum(1 for x in takes if x < t)
        return n_arr - n_taken

    qseries = [(t, queue_before(t)) for (t, _, _) in ticks[3]]
    m["VM3 queue before cut (mean, at its ticks)"] = statistics.mean(q for t, q in qseries if 5 <= t < cut)
    after = [(t, q) for t, q in qseries if t >= first_up]
    m["VM3 peak queue after heal (before the take)"] = max(q for t, q in after)
    m["VM3 peak queue after heal (as logged)"] = max(x[5] - 1 for x in r3 if x[0] >= first_up)
    drained = next((t for (t, _, ev) in ticks[3] if t >= first_up and ev != "receive"), None)
    m["VM3 drain: first link up -> first tick that rolls (s)"] = (drained - first_up) if drained else None
    m["VM3 all held taken after first link up (s)"] = max(x[0] for x in held3) - first_up if held3 else None
    later = [x for x in r3 if x[0] >= first_up]
    m["VM3 jump, first receive after heal"] = later[0][4] if later else None
    m["VM3 largest jump in 10 s after heal"] = max(x[4] for x in later if x[0] < first_up + 10)
    m["VM3 sum of jumps in 10 s after heal"] = sum(x[4] for x in later if x[0] < first_up + 10)
    m["VM3 sum of jumps in 10 s before cut"] = sum(x[4] for x in r3 if cut - 10 <= x[0] < cut)
    m["VM1, VM2 peak queue after heal (as logged)"] = tuple(
        max((x[5] - 1 for x in recv[i] if first_up <= x[0] < first_up + 5), default=0) for i in (1, 2))

    ct = {i: [(t, c) for (t, c, _) in ticks[i]] for i in ticks}
    grid = [x / 10 for x in range(0, 600)]
    d13 = [(t, clock_at(ct[1], t) - clock_at(ct[3], t)) for t in grid]
    d12 = [(t, clock_at(ct[1], t) - clock_at(ct[2], t)) for t in grid]
    m["drift c1-c3 mean 5..20 s"] = statistics.mean(v for t, v in d13 if 5 <= t < 20)
    m["drift c1-c3 at 25 s"] = dict(d13)[25.0]
    m["drift c1-c3 max"] = max(v for t, v in d13)
    m["drift c1-c3 max: at (s)"] = max(d13, key=lambda x: x[1])[0]
    m["drift c1-c3 mean 45..59 s"] = statistics.mean(v for t, v in d13 if 45 <= t < 59)
    m["|drift c1-c2| mean 5..59 s"] = statistics.mean(abs(v) for t, v in d12 if t >= 5)
    m["VM1 clock units per second, 5..55 s"] = (clock_at(ct[1], 55) - clock_at(ct[1], 5)) / 50
    normal = [x[0] - x[3] for x in r3 if 5 <= x[3] < cut]
    m["delay to VM3 before cut, median (s)"] = statistics.median(normal)
    delays = [x[0] - x[3] for x in held3]
    m["delay of held messages, median (s)"] = statistics.median(delays) if delays else None
    m["delay of held messages, max (s)"] = max(delays) if delays else None
    m["held: send -> arrival, median (s)"] = statistics.median(x[1] - x[3] for x in held3) if held3 else None
    with open(os.path.join(run_dir, "verify.txt")) as f:
        text = f.read()
    links = re.search(r"links: .*", text)
    m["verify"] = ("OK" if "verify: OK" in text else "FAIL") + (f"; {links.group(0)}" if links else "")
    return m, {"queue": qseries, "d13": d13, "cut": cut, "heal": heal, "up": first_up}


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, tuple):
        return " / ".join(fmt(x) for x in v)
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def median_of(vals):
    if any(v is None for v in vals):
        vals = [v for v in vals if v is not None]
        if not vals:
            return None
    if all(isinstance(v, (int, float)) for v in vals):
        return statistics.median(vals)
    if all(isinstance(v, tuple) for v in vals):
        return tuple(median_of(list(x)) for x in zip(*vals))
    return None


def svg(series, path):
    w, h, pad = 720, 420, 40
    half = (h - 3 * pad) / 2
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    x = lambda t: pad + (w - 2 * pad) * t / 60  # noqa: E731
    qmax = max(max(q for _, q in s["queue"]) for s in series) or 1
    dmax = max(max(v for _, v in s["d13"]) for s in series) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<rect width="{w}" height="{h}" fill="white"/>']
    panels = [("VM 3's queue (messages waiting before its tick)", "queue", qmax, pad),
              ("drift c1 - c3 (Lamport clock units)", "d13", dmax, 2 * pad + half)]
    s0 = series[0]
    for title, key, vmax, top in panels:
        y = lambda v, top=top, vmax=vmax: top + half - half * v / vmax  # noqa: E731
        out.append(f'<rect x="{x(s0["cut"]):.1f}" y="{top}" width="{x(s0["heal"]) - x(s0["cut"]):.1f}" '
                   f'height="{half}" fill="#eee"/>')
        out.append(f'<text x="{pad}" y="{top - 6}">{title}; grey: the cut of run 1</text>')
        out.append(f'<line x1="{pad}" y1="{top + half}" x2="{w - pad}" y2="{top + half}" stroke="black"/>')
        out.append(f'<line x1="{pad}" y1="{top}" x2="{pad}" y2="{top + half}" stroke="black"/>')
        out.append(f'<text x="{pad - 4}" y="{top + 4}" text-anchor="end">{vmax}</text>')
        out.append(f'<text x="{pad - 4}" y="{top + half}" text-anchor="end">0</text>')
        for t in range(0, 61, 10):
            out.append(f'<text x="{x(t):.1f}" y="{top + half + 12}" text-anchor="middle">{t} s</text>')
        for k, s in enumerate(series):
            pts = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in s[key])
            out.append(f'<polyline fill="none" stroke="{colours[k % 4]}" stroke-width="1.2" points="{pts}"/>')
    for k in range(len(series)):
        out.append(f'<text x="{w - pad - 150 + 50 * k}" y="{pad - 6}" fill="{colours[k % 4]}">run {k + 1}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    args = sys.argv[1:]
    svg_path = None
    if "--svg" in args:
        i = args.index("--svg")
        svg_path = args[i + 1]
        del args[i:i + 2]
    top = args[0] if args else "logs/partition"
    runs = sorted((d for d in os.listdir(top) if re.fullmatch(r"run_\d+", d)), key=lambda d: int(d[4:]))
    if not runs:
        sys.exit(f"error: no run_K folders in {top}")
    results = [measure_run(os.path.join(top, d)) for d in runs]
    keys = list(results[0][0])
    print(f"| figure | {' | '.join(runs)} | median |")
    print("|---|" + "---|" * (len(runs) + 1))
    for key in keys:
        vals = [r[0][key] for r in results]
        med = median_of(vals) if key != "verify" else None
        print(f"| {key} | {' | '.join(fmt(v) for v in vals)} | {fmt(med)} |")
    if svg_path:
        svg([r[1] for r in results], svg_path)
        print(f"\nwrote {svg_path}")


if __name__ == "__main__":
    main()
