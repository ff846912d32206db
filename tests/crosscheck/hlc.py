# An independent, deliberately plain rebuild of the hybrid logical clock
# (Kulkarni, Demirbas et al., "Logical Physical Clocks", 2014) from the logs,
# written apart from src/analyze/causal/hlc.rs. Python 3, no third-party
# modules.
#
#   python3 tests/crosscheck/hlc.py DIR [--json]
#
# DIR is a run folder or an experiment folder (run_1, run_2, ...). Each tick
# event's physical time pt is the `time` its VM logged (its own clock, skew
# and all). Each VM starts at (l, c) = (0, 0); a send's pair is its
# message's stamp; then, in the paper's words:
#   local or send: l' = max(l, pt); c' = c + 1 if l' = l, else 0
#   receive (lm, cm): l' = max(l, lm, pt); c' = max(c, cm) + 1 if
#     l' = l = lm, c + 1 if l' = l only, cm + 1 if l' = lm only, else 0.
# For each run it prints the largest and mean l - pt (ms), the largest c,
# and epsilon: the largest gap between two VMs' clocks, from the start
# lines' clock_skew_us and clock_drift_ppm (0 without them). It checks the
# paper's theorems: l >= pt everywhere, (l, c) rises along every VM and
# every message, and l - pt <= epsilon (to 1 us). If RUN/report/summary.json
# exists, its hlc_* figures must equal these. --json prints every event's
# [vm, tick, l (us since the epoch), c, l - pt (us)] instead, for other
# checkers.
# Exit 0 if everything holds; each mismatch is printed.
import datetime, json, os, re, sys

def fields(line):
    d = {}
    for tok in line.split(' '):
        k, v = tok.split('=', 1)
        d[k] = v
    return d

def micros(stamp):
    # 2026-11-22T04:41:40.864158Z, always to the microsecond.
    t = datetime.datetime.strptime(stamp, '%Y-%m-%dT%H:%M:%S.%fZ')
    t = t.replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 1_000_000 + t.microsecond

def read_run(folder):
    """{vm: (start fields or None, [tick event fields])}"""
    logs = {}
    for f in os.listdir(folder):
        m = re.fullmatch(r'machine_([1-9][0-9]*)\.log', f)
        if not m:
            continue
        text = open(os.path.join(folder, f), encoding='utf-8').read()
        lines = [fields(l) for l in text.split('\n') if l]
        start = lines[0] if lines and lines[0]['event'] == 'start' else None
        ticks = [d for d in lines if d['event'] in ('internal', 'send', 'receive')]
        logs[int(m.group(1))] = (start, ticks)
    return logs

def hlc(logs):
    """[(vm, tick, pt, l, c)] for every tick event, VM by VM in log order."""
    stamp = {}   # (vm, tick) of a send -> its (l, c)
    out = {vm: [] for vm in logs}
    pos = {vm: 0 for vm in logs}
    state = {vm: (0, 0) for vm in logs}
    sends = {(vm, int(d['tick'])) for vm in logs for d in logs[vm][1] if d['event'] == 'send'}
    progress = True
    while progress:
        progress = False
        for vm in sorted(logs):
            ticks = logs[vm][1]
            while pos[vm] < len(ticks):
                d = ticks[pos[vm]]
                pt = micros(d['time'])
                l, c = state[vm]
                if d['event'] == 'receive':
                    key = (int(d['from']), int(d['sent_tick']))
                    if key in sends and key not in stamp:
                        break  # its send is not stamped yet
                    if key in stamp:
                        lm, cm = stamp[key]
                        l2 = max(l, lm, pt)
                        if l2 == l and l2 == lm:
                            c2 = max(c, cm) + 1
                        elif l2 == l:
                            c2 = c + 1
                        elif l2 == lm:
                            c2 = cm + 1
                        else:
                            c2 = 0
                    else:  # a send not in the logs: a local event
                        l2 = max(l, pt)
                        c2 = c + 1 if l2 == l else 0
                else:
                    l2 = max(l, pt)
                    c2 = c + 1 if l2 == l else 0
                    if d['event'] == 'send':
                        stamp[(vm, int(d['tick']))] = (l2, c2)
                state[vm] = (l2, c2)
                out[vm].append((vm, int(d['tick']), pt, l2, c2))
                pos[vm] += 1
                progress = True
    if any(pos[vm] < len(logs[vm][1]) for vm in logs):
        raise SystemExit('the logs make a cycle; this checker needs a lawful run')
    return [e for vm in sorted(out) for e in out[vm]], stamp

def epsilon_us(logs):
    """The largest gap between two VMs' clocks over the run, in us: each
    clock leads true time by skew + drift * (t - its start), so the largest
    gap is at the start or at the end of the run."""
    leads = []
    for start, ticks in logs.values():
        if start is None or not ticks:
            continue
        skew = int(start.get('clock_skew_us', '0'))
        drift = float(start.get('clock_drift_ppm', '0')) / 1e6
        leads.append((skew, drift, micros(start['start_at'])))
    if len(leads) < 2:
        return 0
    first = min(s for _, _, s in leads)
    last = max(micros(t[-1]['time']) for _, t in logs.values() if t)
    worst = 0
    for t in (first, last):
        at = [skew + drift * max(0, t - s) for skew, drift, s in leads]
        worst = max(worst, max(at) - min(at))
    return worst

def check_run(folder, as_json):
    logs = read_run(folder)
    events, stamp = hlc(logs)
    if as_json:
        print(json.dumps([[vm, tick, l, c, l - pt] for vm, tick, pt, l, c in events]))
        return True
    ok = True
    def bad(what):
        nonlocal ok
        ok = False
        print(f'{folder}: {what}')
    eps = epsilon_us(logs)
    prev = {}
    for vm, tick, pt, l, c in events:
        if l < pt:
            bad(f'vm {vm} tick {tick}: l {l} is behind pt {pt}')
        if vm in prev and prev[vm] >= (l, c):
            bad(f'vm {vm} tick {tick}: (l, c) did not rise along the VM')
        prev[vm] = (l, c)
        if l - pt > eps + 1:
            bad(f'vm {vm} tick {tick}: l - pt = {l - pt} us beyond epsilon {eps:.0f} us')
    at = {(vm, tick): (l, c) for vm, tick, _, l, c in events}
    for vm, (_, ticks) in logs.items():
        for d in ticks:
            if d['event'] != 'receive':
                continue
            key = (int(d['from']), int(d['sent_tick']))
            if key in stamp and not stamp[key] < at[(vm, int(d['tick']))]:
                bad(f'vm {vm} tick {d["tick"]}: its receive is not after its send in (l, c)')
    offsets = [l - pt for _, _, pt, l, _ in events]
    figures = {
        'hlc_max_offset_ms': max(offsets) / 1000 if offsets else 0,
        'hlc_mean_offset_ms': sum(offsets) / len(offsets) / 1000 if offsets else 0,
        'hlc_max_c': max((c for *_, c in events), default=0),
    }
    print(f'{folder}: {len(events)} events; l - pt at most {figures["hlc_max_offset_ms"]:.3f} ms '
          f'(mean {figures["hlc_mean_offset_ms"]:.3f} ms), epsilon {eps / 1000:.3f} ms, '
          f'largest c {figures["hlc_max_c"]}')
    summary = os.path.join(folder, 'report', 'summary.json')
    if os.path.exists(summary):
        rows = json.load(open(summary, encoding='utf-8'))
        rows = rows if isinstance(rows, list) else rows.get('vms', [rows])
        for row in rows:
            for k, want in figures.items():
                if k not in row:
                    bad(f'summary.json has no {k}')
                    continue
                got = row[k]
                if got is None or abs(float(got) - want) > (0.002 if k != 'hlc_max_c' else 0):
                    bad(f'summary.json {k} = {got}, rebuilt {want:.3f}')
            break
    return ok

def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    as_json = '--json' in sys.argv[1:]
    if len(args) != 1:
        raise SystemExit('usage: hlc.py DIR [--json]')
    folder = args[0]
    runs = sorted(os.path.join(folder, d) for d in os.listdir(folder)
                  if re.fullmatch(r'run_[0-9]+', d))
    ok = all([check_run(r, as_json) for r in (runs or [folder])])
    sys.exit(0 if ok else 1)

main()
