#!/usr/bin/env python3
"""The prediction for bench/partition.sh, from the model alone (no logs read).

Simulates the model of docs/log-format.md section 1 for three VMs (rates
6, 6, 3; event range 10; ticks at (k-1)/rate; one message taken per tick,
oldest first; increment before send) with delivery in 0.2 ms, except that
whatever VM 3 and a peer send each other from the cut (20 s) until that
link is back arrives all at once when it is back. When a link is back is
modelled from the link layer's constants (src/vm/net.rs): the sender
declares the link dead 2 s after its first unacknowledged message, at the
next 250 ms sweep; the lower id redials 20 ms later; a SYN into the cut is
lost and the kernel sends it again 1, 3 and 7 s after the first, so the
link is back at the first SYN at or after the heal (25 s). A sender that
sent VM 3 nothing until after 23 s never declares the link dead; its
connection survives and TCP resends within about a second of the heal.

    python3 bench/partition_model.py [TRIALS] [OFFSET_MS]

TRIALS defaults to 2000 (seeded, so reproducible). OFFSET_MS (default 0)
starts VM 2 that many milliseconds after VM 1 and VM 3 twice as late: VMs
started by hand share no start instant, and an offset above the delivery
time (0.2 ms) lets VMs 1 and 2 leapfrog each other's clocks.

Prints medians and 10th..90th percentiles over the trials.
"""
import bisect
import heapq
import random
import statistics
import sys

RATES = {1: 6, 2: 6, 3: 3}
RUNTIME, CUT, HEAL = 60.0, 20.0, 25.0
OFFSET = {1: 0.0, 2: 0.0, 3: 0.0}
LAT = 0.0002


def targets(vm, roll):
    peers = [p for p in (1, 2, 3) if p != vm]
    if roll == 1:
        return [peers[0]]
    if roll == 2:
        return [peers[1]]
    if roll == 3:
        return peers
    return []


def link_up_time(rng, first_send):
    """When a link cut at CUT is back, given the dialer's first send into the cut."""
    if first_send is None or first_send + 2 >= HEAL:
        return HEAL + rng.uniform(0.2, 1.0)  # the old connection survives; TCP resends
    dead = first_send + 2 + rng.uniform(0, 0.25)
    syn = dead + 0.02
    for extra in (0, 1, 3, 7, 15):
        if syn + extra >= HEAL:
            return syn + extra + 0.001
    return syn + 31


def trial(rng):
    # Pass 1 needs the link-up times, which depend on the sends, which depend
    # on the arrivals: simulate event by event, deciding a link's up time the
    # moment its dialer's first send into the cut is known.
    up = {}           # peer (1 or 2) -> time the link peer-3 is back
    first_send = {}   # peer -> first send time of the dialer into the cut
    clock = {1: 0, 2: 0, 3: 0}
    queue = {1: [], 2: [], 3: []}   # heap of (arrival, seq, sender, send_time, msg_clock)
    held = {1: [], 2: [], 3: []}    # messages waiting for a link to come back (receiver -> list)
    seq = 0
    ticks = []
    for vm, r in RATES.items():
        k = 0
        while k / r < RUNTIME:
            ticks.append((OFFSET[vm] + k / r, vm))
            k += 1
    ticks.sort()
    log = {1: [], 2: [], 3: []}  # (time, kind, clock, queue_before, extra)
    for t, vm in ticks:
        for pair in (1, 2):  # a dialer that sends nothing before the heal
            if pair not in up and t >= HEAL - 2:
                first_send[pair] = None
                up[pair] = link_up_time(rng, None)
        # Links that are back by now release what they held.
        for peer in (1, 2):
            if peer in up and up[peer] <= t:
                for recv in (peer, 3):
                    keep = []
                    for m in held[recv]:
                        if {m[2], recv} == {peer, 3}:
                            heapq.heappush(queue[recv], (up[peer],) + m[1:])
                        else:
                            keep.append(m)
                    held[recv] = keep
        q = queue[vm]
        waiting = [m for m in q if m[0] <= t]
        if waiting:
            m = heapq.heappop(q)
            jump = max(0, m[4] - clock[vm])
            clock[vm] = max(clock[vm], m[4]) + 1
            log[vm].append((t, "receive", clock[vm], len(waiting), (m[2], m[3], m[0], jump)))
            continue
        roll = rng.randint(1, 10)
        to = targets(vm, roll)
        clock[vm] += 1
        if not to:
            log[vm].append((t, "internal", clock[vm], 0, None))
            continue
        log[vm].append((t, "send", clock[vm], 0, tuple(to)))
        for dst in to:
            seq += 1
            pair = dst if vm == 3 else vm
            cut_off = 3 in (vm, dst) and t >= CUT and (pair not in up or t < up[pair])
            if cut_off and vm != 3 and pair not in first_send:
                first_send[pair] = t
                up[pair] = link_up_time(rng, t)
            msg = (t + LAT, seq, vm, t, clock[vm])
            if cut_off:
                held[dst].append(msg)
            else:
                heapq.heappush(queue[dst], msg)
    return log, up


def clock_at(log, t):
    times = [e[0] for e in log]
    i = bisect.bisect_right(times, t) - 1
    return log[i][2] if i >= 0 else 0


def measure(log, up):
    out = {}
    l3 = log[3]
    first_up = min(up.values())
    out["link up 1-3 (s)"] = up[1]
    out["link up 2-3 (s)"] = up[2]
    pre = [e[3] for e in l3 if 5 <= e[0] < CUT]
    out["VM3 queue before cut (mean, at its ticks)"] = statistics.mean(pre)
    held_in = [e for e in l3 if e[1] == "receive" and e[4][1] >= CUT and e[4][1] < up[e[4][0]]]
    out["held messages to VM3 (both)"] = len(held_in)
    for s in (1, 2):
        out[f"VM{s} resent to VM3"] = sum(
            1 for e in log[s] if e[1] == "send" and 3 in e[4] and CUT <= e[0] < up[s])
        out[f"VM3 resent to VM{s}"] = sum(
            1 for e in l3 if e[1] == "send" and s in e[4] and CUT <= e[0] < up[s])
    after = [e for e in l3 if e[0] >= first_up]
    out["VM3 peak queue after heal"] = max((e[3] for e in after), default=0)
    drained = next((e[0] for e in after if e[1] != "receive"), RUNTIME)
    out["VM3 drain: first link up -> first tick that rolls (s)"] = drained - first_up
    last_held = max((e[0] for e in held_in), default=first_up)
    out["VM3 all held taken after first link up (s)"] = last_held - first_up
    recv_after = [e for e in after if e[1] == "receive"]
    out["VM3 jump, first receive after heal"] = recv_after[0][4][3] if recv_after else 0
    out["VM3 largest jump in 10 s after heal"] = max(
        (e[4][3] for e in recv_after if e[0] < first_up + 10), default=0)
    out["VM3 sum of jumps in 10 s after heal"] = sum(
        e[4][3] for e in recv_after if e[0] < first_up + 10)
    out["VM3 sum of jumps in 10 s before cut"] = sum(
        e[4][3] for e in l3 if e[1] == "receive" and CUT - 10 <= e[0] < CUT)
    grid = [x / 10 for x in range(0, int(RUNTIME * 10))]
    d13 = {t: clock_at(log[1], t) - clock_at(l3, t) for t in grid}
    d12 = {t: clock_at(log[1], t) - clock_at(log[2], t) for t in grid}
    out["drift c1-c3 mean 5..20 s"] = statistics.mean(v for t, v in d13.items() if 5 <= t < CUT)
    out["drift c1-c3 at 25 s"] = d13[25.0]
    out["drift c1-c3 max"] = max(d13.values())
    out["drift c1-c3 mean 45..59 s"] = statistics.mean(v for t, v in d13.items() if 45 <= t < 59)
    out["|drift c1-c2| mean 5..59 s"] = statistics.mean(abs(v) for t, v in d12.items() if t >= 5)
    normal = [e[0] - e[4][1] for e in l3 if e[1] == "receive" and 5 <= e[4][1] < CUT]
    out["delay to VM3 before cut, median (s)"] = statistics.median(normal)
    delays = [e[0] - e[4][1] for e in held_in]
    out["delay of held messages, median (s)"] = statistics.median(delays) if delays else 0
    out["delay of held messages, max (s)"] = max(delays, default=0)
    return out


def main():
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    off = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0
    OFFSET.update({2: off, 3: 2 * off})
    rng = random.Random(20261202)
    rows = [measure(*trial(rng)) for _ in range(trials)]
    print(f"model, {trials} trials, start offset {off * 1000:g} ms: median [10th..90th percentile]")
    for key in rows[0]:
        vals = sorted(r[key] for r in rows)
        q = statistics.quantiles(vals, n=10)
        print(f"  {key:55s} {statistics.median(vals):7.2f}  [{q[0]:.2f}..{q[-1]:.2f}]")


if __name__ == "__main__":
    main()
