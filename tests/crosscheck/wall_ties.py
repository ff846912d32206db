# Pairs of tick events on different VMs whose logged wall times are identical
# (to the microsecond), for the "(clock, vm) order against wall time" figure
# of `lamport-sim analyze`: such a pair has no wall-clock order, so it can
# never disagree with the (clock, vm) order, yet it is in the denominator
# (all cross-VM pairs). Written apart from src/analyze; Python 3, no
# third-party modules.
#
#   python3 tests/crosscheck/wall_ties.py RUN_DIR [RUN_DIR ...]
#
# Prints, per run: tick events, cross-VM pairs, pairs with equal wall times
# (and between which VMs), and pairs the (clock, vm) order and the wall clock
# put in opposite orders (counted pair by pair, so keep it to runs of a few
# thousand events).
import collections, os, re, sys

TICK_EVENTS = {'internal', 'send', 'receive'}

def events(folder):
    out = []
    for name in sorted(os.listdir(folder)):
        if not re.fullmatch(r'machine_[1-9][0-9]*\.log', name):
            continue
        with open(os.path.join(folder, name)) as f:
            for line in f:
                d = dict(tok.split('=', 1) for tok in line.rstrip('\n').split(' '))
                if d.get('event') in TICK_EVENTS:
                    out.append((int(d['clock']), int(d['vm']), d['time']))
    return out

def main():
    for folder in sys.argv[1:]:
        ev = events(folder)
        per_vm = collections.Counter(vm for _, vm, _ in ev)
        n = len(ev)
        cross = (n * n - sum(c * c for c in per_vm.values())) // 2
        by_time = collections.defaultdict(collections.Counter)
        for _, vm, t in ev:
            by_time[t][vm] += 1
        ties = 0
        tie_vms = collections.Counter()
        for c in by_time.values():
            k = sum(c.values())
            ties += (k * k - sum(x * x for x in c.values())) // 2
            vms = sorted(c)
            for a in range(len(vms)):
                for b in range(a + 1, len(vms)):
                    tie_vms[(vms[a], vms[b])] += c[vms[a]] * c[vms[b]]
        # RFC 3339 with a fixed width: string order is time order.
        key = sorted(ev)
        disagree = 0
        for x in range(n):
            for y in range(x + 1, n):
                if key[x][1] != key[y][1] and key[x][2] > key[y][2]:
                    disagree += 1
        print(f'{folder}: {n} tick events, {cross} cross-VM pairs, '
              f'{ties} with equal wall times, {disagree} in opposite orders')
        for (a, b), k in sorted(tie_vms.items()):
            print(f'  equal wall times between VM {a} and VM {b}: {k} pairs')

if __name__ == '__main__':
    main()
