# The import graph of src/, rebuilt from the code: one edge per file that
# names another through a `crate::`/`super::`/`self::` path (use lines and
# inline paths; `#[cfg(test)]` modules and the files they declare left out).
# Fails (exit 1) on a circle between files, on a reader (verify, analyze,
# export, run, report, bench) importing the VM, and on the launcher
# importing analyze. `.ci/run` runs it after `cargo test`.
# Usage: python3 tests/crosscheck/imports.py [SRC_DIR] [-v]   (-v: every edge)
#        python3 tests/crosscheck/imports.py --self-test   (on a small made-up tree)
import os, re, sys, tempfile

READERS = ['verify', 'analyze', 'export', 'run', 'report', 'bench']


def modules(root):
    files = {}
    for d, _, fs in os.walk(root):
        for f in fs:
            if f.endswith('.rs'):
                p = os.path.join(d, f)
                parts = os.path.relpath(p, root)[:-3].split(os.sep)
                if parts[-1] == 'mod':
                    parts = parts[:-1]
                files[() if parts in (['lib'], ['main']) else tuple(parts)] = p
    return files


def strip_tests(src, mod, test_mods):
    """The source without comments and #[cfg(test)] items; test modules
    declared as `mod x;` are recorded in test_mods."""
    out, skip, depth, pending = [], False, 0, False
    for ln in src.split('\n'):
        ln = re.sub(r'//.*', '', ln)
        if skip:
            depth += ln.count('{') - ln.count('}')
            skip = depth > 0
            continue
        if re.match(r'\s*#\[cfg\(test\)\]', ln):
            pending = True
            continue
        if pending:
            pending = False
            m = re.match(r'\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;', ln)
            if m:
                test_mods.add(mod + (m.group(1),))
                continue
            depth = ln.count('{') - ln.count('}')
            skip = depth > 0
            continue
        out.append(ln)
    return '\n'.join(out)


def expand(tree):
    """`a::{b, c::{d}}` -> ['a::b', 'a::c::d']."""
    tree = tree.strip()
    m = re.match(r'^(.*?)\{(.*)\}$', tree, re.S)
    if not m:
        return [tree]
    pre, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ''
    for ch in inner:
        depth += (ch == '{') - (ch == '}')
        if ch == ',' and depth == 0:
            parts.append(cur)
            cur = ''
        else:
            cur += ch
    parts.append(cur)
    return [pre + e for p in parts if p.strip() for e in expand(p.strip())]


def graph(root):
    files = modules(root)
    test_mods = set()
    sources = {m: strip_tests(open(p).read(), m, test_mods) for m, p in files.items()}
    for t in test_mods:
        for m in [m for m in files if m[:len(t)] == t]:
            del files[m]

    def resolve(segs):
        for n in range(len(segs), -1, -1):
            if tuple(segs[:n]) in files:
                return tuple(segs[:n])
        return ()

    edges = {}
    for mod in files:
        src = sources[mod]
        paths = [q for m in re.finditer(r'\buse\s+([^;]+);', src) for q in expand(m.group(1).replace('\n', ' '))]
        paths += [m.group(1) for m in re.finditer(r'\b((?:crate|super)(?:::\w+)+)', src)]
        targets = set()
        for q in paths:
            segs = re.sub(r'\s+as\s+\w+$', '', q.strip()).split('::')
            if segs[0] == 'crate':
                path = segs[1:]
            elif segs[0] == 'super':
                base, rest = list(mod[:-1]), segs[1:]
                while rest and rest[0] == 'super':
                    base, rest = base[:-1], rest[1:]
                path = base + rest
            elif segs[0] == 'self':
                path = list(mod) + segs[1:]
            elif mod + (segs[0],) in files:
                # A bare path to a child module (`use causal::Causal;` in analyze/mod.rs).
                path = list(mod) + segs
            else:
                continue
            t = resolve(path)
            if t != mod:
                targets.add(t)
        edges[mod] = targets
    return edges


def circles(edges):
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 and () not in comp:
                found.append(comp)

    for v in edges:
        if v not in index:
            visit(v)
    return found


def name(m):
    return '::'.join(m) or 'lib'


def violations(edges):
    out = []
    for m, ts in edges.items():
        for t in ts:
            if m and m[0] in READERS and t and t[0] == 'vm':
                out.append(f'reader {name(m)} imports {name(t)}')
            if m and m[0] == 'launcher' and t and t[0] == 'analyze':
                out.append(f'launcher imports {name(t)}')
    return sorted(out)


def check(root, verbose=False):
    edges = graph(root)
    cs, vs = circles(edges), violations(edges)
    print(f'{len(edges)} files; circles: {len(cs)}')
    for c in cs:
        print('  ', ' <-> '.join(sorted(name(x) for x in c)))
    print(f'violations: {len(vs)}')
    for v in vs:
        print('  ', v)
    if verbose:
        for m in sorted(edges):
            print(name(m), '->', ', '.join(sorted(name(t) for t in edges[m])))
    return cs, vs


def self_test():
    tree = {
        'lib.rs': 'pub mod a;\npub mod b;\npub mod verify;\npub mod launcher;\npub mod vm;\npub mod analyze;\npub mod run;',
        'a.rs': 'use crate::b::thing;\n#[cfg(test)]\nmod tests;',
        'a/tests.rs': 'use crate::vm::x;',
        'b.rs': 'pub fn thing() { crate::a::f() }',
        'verify.rs': 'use crate::{run::read, vm::{x, y}};\n#[cfg(test)]\nmod tests {\n    use crate::launcher;\n}',
        'launcher.rs': 'use crate::analyze::stats;',
        'vm/mod.rs': 'pub fn x() {}',
        'analyze/mod.rs': 'pub mod stats;\npub mod per_vm;\nuse per_vm::Row;',
        'analyze/per_vm.rs': 'use crate::analyze::Analysis;',
        'analyze/stats.rs': 'use super::super::run::read; // crate::verify in a comment',
        'run/mod.rs': 'pub mod read;',
        'run/read.rs': '',
    }
    with tempfile.TemporaryDirectory() as d:
        for path, text in tree.items():
            os.makedirs(os.path.dirname(os.path.join(d, path)), exist_ok=True)
            open(os.path.join(d, path), 'w').write(text)
        cs, vs = check(d)
        edges = graph(d)
    got = ([sorted(map(name, c)) for c in cs], vs)
    want = ([['a', 'b'], ['analyze', 'analyze::per_vm']],
            ['launcher imports analyze::stats', 'reader verify imports vm'])
    assert got == want, got
    assert edges[('analyze', 'stats')] == {('run', 'read')}, edges[('analyze', 'stats')]
    assert ('a', 'tests') not in edges and ('launcher',) not in edges[('verify',)]
    print('self-test: ok')


if __name__ == '__main__':
    if '--self-test' in sys.argv:
        self_test()
        sys.exit(0)
    args = [a for a in sys.argv[1:] if not a.startswith('-')]
    cs, vs = check(args[0] if args else 'src', '-v' in sys.argv)
    sys.exit(1 if cs or vs else 0)
