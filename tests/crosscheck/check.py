# An independent, deliberately simple checker of the rules in
# docs/log-format.md, written apart from src/verify.rs, used only to
# cross-check it (see fuzz.py, tests/test_verify.rs and docs/design.md).
# Usage: python3 tests/crosscheck/check.py RUN_DIR (prints OK, exit 0; or
# the first errors, exit 1).
import sys, os, re, math
def parse(line):
    d={}
    for tok in line.split(' '):
        if '=' not in tok: raise ValueError(tok)
        k,v=tok.split('=',1); d[k]=v
    return d
TIME=re.compile(r'\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)')
def check(folder):
    errs=[]; logs={}
    for f in os.listdir(folder):
        m=re.fullmatch(r'machine_([1-9][0-9]*)\.log',f)
        if not m: continue
        vm=int(m.group(1)); L=[]
        for i,l in enumerate(open(os.path.join(folder,f),encoding='utf-8').read().split('\n')):
            if l=='' : continue
            try: L.append((i+1,parse(l)))
            except Exception: errs.append((f,i+1,'parse')); 
        logs[vm]=L
    if not logs: return ['nologs']
    sends={}; recs={}; info={}
    for vm,L in logs.items():
        f=f'machine_{vm}.log'
        if not L or L[0][1].get('event')!='start': errs.append((f,1,'nostart')); continue
        st=L[0][1]; peers=set(int(x) for x in st['peers'].split(',') if x)
        stopped=None; tick=0; clock=0; last_t=''; seen_stop=False; seen_pending=False
        info[vm]=dict(peers=peers, lost=[], stopped=False, run=st.get('run'))
        down=set()
        for ln,d in L:
            try:
                if d.get('vm')!=str(vm): errs.append((f,ln,'vm'))
                if seen_stop: errs.append((f,ln,'afterstop'))
                t=d['time']
                if not TIME.fullmatch(t): errs.append((f,ln,'timeformat'))
                if t<last_t: errs.append((f,ln,'time'))
                last_t=t; ev=d['event']
                if ev in ('internal','send','receive'):
                    if seen_pending: errs.append((f,ln,'tick after pending'))
                    k=int(d['tick'])
                    if k!=tick+1: errs.append((f,ln,'tick'))
                    tick=k; c=int(d['clock'])
                    if ev=='receive':
                        exp=max(clock,int(d['msg_clock']))+1
                        fr=int(d['from'])
                        if fr not in peers: errs.append((f,ln,'from'))
                        recs.setdefault((fr,vm),[]).append((int(d['sent_tick']),int(d['msg_clock']),ln,f))
                    else:
                        exp=clock+1
                        if ev=='internal' and d['queue']!='0': errs.append((f,ln,'queue'))
                    if ev=='send':
                        to=[int(x) for x in d['to'].split(',')]
                        if len(set(to))!=len(to) or any(x not in peers for x in to): errs.append((f,ln,'to'))
                        for r in set(to): sends.setdefault((vm,r),[]).append((k,c,ln))
                    if c!=exp: errs.append((f,ln,'clock'))
                    clock=c
                elif ev=='pending':
                    seen_pending=True; fr=int(d['from'])
                    if fr not in peers: errs.append((f,ln,'from'))
                    recs.setdefault((fr,vm),[]).append((int(d['sent_tick']),int(d['msg_clock']),ln,f))
                elif ev=='peer_lost':
                    p=int(d['peer']); info[vm]['lost'].append((p,ln)); down.discard(p)
                elif ev in ('link_down','link_up'):
                    p=int(d['peer'])
                    if ev=='link_up': int(d['resent'])
                    if p not in peers: errs.append((f,ln,'linkpeer'))
                    elif ev=='link_down':
                        if p in down: errs.append((f,ln,'linkdown twice'))
                        down.add(p)
                    else:
                        if p not in down: errs.append((f,ln,'linkup without down'))
                        down.discard(p)
                elif ev=='stop':
                    seen_stop=True; info[vm]['stopped']=True
                    if int(d['ticks'])!=tick or int(d['clock'])!=clock: errs.append((f,ln,'stopvals'))
                    if d['reason']=='runtime' and 'runtime' in st:
                        want=math.ceil(int(st['rate'])*float(st['runtime'])-1e-9)
                        if abs(tick-want)>1: errs.append((f,ln,'tickcount'))
                elif ev=='start':
                    if ln!=L[0][0]: errs.append((f,ln,'secondstart'))
                    if 'start_at' in d and not TIME.fullmatch(d['start_at']): errs.append((f,ln,'timeformat'))
                else: errs.append((f,ln,'event'))
            except (KeyError,ValueError): errs.append((f,ln,'fields'))
    # rule 7: one run id
    runs=set(i['run'] for i in info.values())
    if len(runs)>1: errs.append(('',0,'runs'))
    # matching
    for (fr,to),R in recs.items():
        S={k:(c,ln) for k,c,ln in sends.get((fr,to),[])}
        prev=-1; seen=set()
        for st_,mc,ln,f in R:
            if fr not in logs: errs.append((f,ln,'nosenderlog')); continue
            if st_ not in S or S[st_][0]!=mc: errs.append((f,ln,'nomatch'))
            if st_ in seen: errs.append((f,ln,'dup'))
            if st_<=prev: errs.append((f,ln,'fifo'))
            seen.add(st_); prev=max(prev,st_)
    for (fr,to),S in sends.items():
        if to not in info: continue
        got=set(x[0] for x in recs.get((fr,to),[]))
        missing=[(k,ln) for k,c,ln in S if k not in got]
        if not missing: continue
        # A crash (either side) may lose a link's tail; nothing else may,
        # a peer_lost of either side included.
        if not info[to]['stopped'] or not info[fr]['stopped']:
            # tail only: a recorded message after a missing one is still a gap
            first=min(k for k,_ in missing)
            if any(k>first for k in got): errs.append((f'machine_{fr}.log',0,'gap'))
            continue
        for k,ln in missing: errs.append((f'machine_{fr}.log',ln,'missing'))
    return errs
if __name__=='__main__':
    e=check(sys.argv[1]); print('OK' if not e else e[:5]); sys.exit(0 if not e else 1)
