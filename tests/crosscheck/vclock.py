# An independent, deliberately plain check of `lamport-sim export --shiviz`
# and of analyze's happens-before counts, written apart from
# src/analyze/causal.rs (see docs/design.md). Python 3, no third-party modules.
#
#   python3 tests/crosscheck/vclock.py DIR [EXPORT] [--shiviz-edges EDGES.json]
#
# DIR is a run folder or an experiment folder (run_1, run_2, ...); EXPORT
# defaults to DIR/shiviz.log. For each run it rebuilds happens-before from
# the logs (each VM's tick events in order, plus every receive's send,
# matched by from and sent_tick), takes the transitive closure as one
# bitset of ancestors per event, and reads each vector clock off it. Then:
#   - the export holds every tick event once, described as in its log;
#   - every exported clock equals the one from the closure;
#   - each host's own entries run 1, 2, 3, ...;
#   - the arrows ShiViz's rule draws from the exported clocks are exactly
#     the matched messages whose send the receiver did not already know;
#   - with --shiviz-edges (a JSON of {label: {"edges": [[from host, its
#     entry, to host, its entry], ...]}} dumped from ShiViz's own graph
#     code), those edges are exactly the same messages;
#   - if RUN/report/summary.json exists (and the run is small enough), its
#     causal counts equal counting pair by pair.
# Exit 0 if everything holds; each mismatch is printed.
import json, os, re, sys

# Pair-by-pair counting is quadratic: above this many events it is skipped.
PLAIN_COUNT_MAX = 5000

def fields(line):
    d = {}
    for tok in line.split(' '):
        k, v = tok.split('=', 1)
        d[k] = v
    return d

def read_logs(folder):
    logs = {}
    for f in os.listdir(folder):
        m = re.fullmatch(r'machine_([1-9][0-9]*)\.log', f)
        if not m:
            continue
        text = open(os.path.join(folder, f), encoding='utf-8').read()
        lines = [fields(l) for l in text.split('\n') if l]
        logs[int(m.group(1))] = [d for d in lines if d['event'] in ('internal', 'send', 'receive')]
    return logs

def closure(logs):
    """events: (vm, index 1.., fields); sends[k]: a receive's send, if in the
    logs; anc[k]: bitset of k's ancestors and k itself."""
    events, at = [], {}
    for vm in sorted(logs):
        for i, d in enumerate(logs[vm]):
            at[(vm, i + 1)] = len(events)
            events.append((vm, i + 1, d))
    send_at = {}
    for k, (vm, i, d) in enumerate(events):
        if d['event'] == 'send':
            send_at[(vm, int(d['tick']))] = k
    parents, sends = [], []
    for k, (vm, i, d) in enumerate(events):
        p = [at[(vm, i - 1)]] if i > 1 else []
        s = send_at.get((int(d['from']), int(d['sent_tick']))) if d['event'] == 'receive' else None
        if s is not None:
            p.append(s)
        parents.append(p)
        sends.append(s)
    # Kahn's algorithm: each event after all its parents.
    children = [[] for _ in events]
    waiting = [len(p) for p in parents]
    for k, p in enumerate(parents):
        for q in p:
            children[q].append(k)
    ready = [k for k in range(len(events)) if waiting[k] == 0]
    anc = [0] * len(events)
    done = 0
    while ready:
        k = ready.pop()
        done += 1
        a = 1 << k
        for q in parents[k]:
            a |= anc[q]
        anc[k] = a
        for c in children[k]:
            waiting[c] -= 1
            if waiting[c] == 0:
                ready.append(c)
    if done != len(events):
        raise SystemExit('the logs make a cycle; this checker needs a lawful run')
    return events, sends, anc

def clocks(events, anc, vms):
    masks = {vm: 0 for vm in vms}
    for k, (vm, _, _) in enumerate(events):
        masks[vm] |= 1 << k
    return [{vm: bin(a & masks[vm]).count('1') for vm in vms if a & masks[vm]} for a in anc]

def js_to_py(regex):
    return regex.replace('(?<', '(?P<')

def read_export(path):
    text = open(path, encoding='utf-8').read()
    parser, delim, rest = text.split('\n', 2)
    parser, delim = re.compile(js_to_py(parser), re.M), re.compile(js_to_py(delim), re.M)
    marks = list(delim.finditer(rest))
    if not marks:
        return {None: parse_section(parser, rest)}
    sections = {}
    for n, m in enumerate(marks):
        end = marks[n + 1].start() if n + 1 < len(marks) else len(rest)
        sections[m.group('trace')] = parse_section(parser, rest[m.end():end])
    return sections

def parse_section(parser, text):
    out = []
    for m in parser.finditer(text):
        g = m.groupdict()
        clock = {int(k[2:]): v for k, v in json.loads(g['clock']).items()}
        out.append((int(g['host'][2:]), g, clock))
    return out

def shiviz_arrows(exported):
    """ShiViz's rule, on the exported clocks alone: (from vm, its entry, to vm, its entry)."""
    by_host = {}
    for host, g, clock in exported:
        by_host.setdefault(host, []).append(clock)
    for h in by_host:
        by_host[h].sort(key=lambda c: c[h])
    arrows = set()
    for h, cs in by_host.items():
        latest = {}
        for c in cs:
            cand = [(g, t) for g, t in c.items() if g != h and latest.get(g, 0) < t]
            for g, t in cand:
                latest[g] = t
            keep = set(cand)
            for g2, t2 in cand:
                for g, t in by_host[g2][t2 - 1].items():
                    if g != g2:
                        keep.discard((g, t))
            for g, t in keep:
                arrows.add((g, t, h, c[h]))
    return arrows

def describe(d):
    s = f"{d['event']} tick={d['tick']} clock={d['clock']} queue={d['queue']} time={d['time']}"
    if d['event'] == 'send':
        s += f" to={d['to']} sent_tick={d['tick']}"
    if d['event'] == 'receive':
        s += f" from={d['from']} sent_tick={d['sent_tick']}"
    return s

def check_run(folder, exported, drawn=None):
    """drawn: the edges ShiViz's own code built from the export, if given."""
    errs = []
    logs = read_logs(folder)
    events, sends, anc = closure(logs)
    vcs = clocks(events, anc, sorted(logs))
    index = {(vm, i): k for k, (vm, i, _) in enumerate(events)}
    seen = set()
    for host, g, clock in exported:
        key = (host, clock.get(host))
        k = index.get(key)
        if k is None or key in seen:
            errs.append(f'{folder}: vm{host} entry {key[1]}: not an event, or twice')
            continue
        seen.add(key)
        if g['event'] != describe(events[k][2]):
            errs.append(f'{folder}: vm{host} #{key[1]}: described as {g["event"]!r}')
        if clock != vcs[k]:
            errs.append(f'{folder}: vm{host} #{key[1]}: clock {clock}, closure says {vcs[k]}')
    if len(seen) != len(events):
        errs.append(f'{folder}: {len(events) - len(seen)} events missing from the export')
    want, no_news = set(), 0
    for k, (vm, i, d) in enumerate(events):
        send = sends[k]
        if send is None:
            continue
        prev = index.get((vm, i - 1))
        if prev is not None and anc[prev] >> send & 1:
            no_news += 1
        else:
            sv, si, _ = events[send]
            want.add((sv, si, vm, i))
    got = shiviz_arrows(exported)
    if got != want:
        errs.append(f'{folder}: arrows differ: {sorted(got - want)[:5]} drawn, {sorted(want - got)[:5]} missing')
    if drawn is not None and drawn != want:
        errs.append(f'{folder}: ShiViz built {sorted(drawn - want)[:5]} beyond the messages, missed {sorted(want - drawn)[:5]}')
    errs += check_summary(folder, events, anc, no_news)
    return errs, len(events), len(got), no_news

def brute(events, anc):
    n = len(events)
    c = dict(cross=0, conc=0, conc_ord=0, ordered=0, disagree=0)
    keyed = [(int(d['clock']), vm, d['time']) for vm, _, d in events]
    for x in range(n):
        for y in range(x + 1, n):
            if events[x][0] == events[y][0]:
                continue
            c['cross'] += 1
            conc = not (anc[y] >> x & 1) and not (anc[x] >> y & 1)
            lx, ly = keyed[x][0], keyed[y][0]
            c['conc'] += conc
            c['conc_ord'] += conc and lx != ly
            c['ordered'] += lx != ly
            first, second = sorted((keyed[x], keyed[y]))
            c['disagree'] += first[2] > second[2]
    return c

def check_summary(folder, events, anc, no_news):
    path = os.path.join(folder, 'report', 'summary.json')
    if not os.path.exists(path) or len(events) > PLAIN_COUNT_MAX:
        return []
    rows = json.load(open(path))
    got = rows[0].get('causal')
    if got is None:
        return [f'{path}: no causal object']
    c = brute(events, anc)
    want = dict(cross_pairs=c['cross'], concurrent_pairs=c['conc'],
                concurrent_lamport_ordered_pairs=c['conc_ord'], lamport_ordered_pairs=c['ordered'],
                wall_order_disagreements=c['disagree'], receives_no_news=no_news, events=len(events))
    return [f'{path}: {k} = {got.get(k)}, counted {v}' for k, v in want.items() if got.get(k) != v]

def main():
    args = sys.argv[1:]
    edges = None
    if '--shiviz-edges' in args:
        k = args.index('--shiviz-edges')
        edges = json.load(open(args[k + 1]))
        del args[k:k + 2]
    folder = args[0]
    export = args[1] if len(args) > 1 else os.path.join(folder, 'shiviz.log')
    sections = read_export(export)
    runs = sorted((int(d[4:]), d) for d in os.listdir(folder) if re.fullmatch(r'run_[0-9]+', d))
    if None in sections:
        pairs = [(folder, sections[None])]
    else:
        pairs = [(os.path.join(folder, d), sections.get(d, [])) for _, d in runs]
        if [d for _, d in runs] != list(sections):
            print(f'sections {list(sections)} are not the runs {[d for _, d in runs]}')
            sys.exit(1)
    bad = 0
    for label, (run, exported) in zip(sections, pairs):
        drawn = None
        if edges is not None:
            drawn = {(int(g[2:]), t, int(h[2:]), u) for g, t, h, u in edges[label or '']['edges']}
        errs, n, arrows, no_news = check_run(run, exported, drawn)
        for e in errs[:20]:
            print(e)
        bad += len(errs)
        print(f'{run}: {n} events, {arrows} arrows, {no_news} receives without news: {"OK" if not errs else "MISMATCH"}')
    sys.exit(1 if bad else 0)

if __name__ == '__main__':
    main()
