# Usage: python3 tests/crosscheck/fuzz.py RUN_DIR CASES SEED (after cargo build --release)
# Corrupts one line of a copy of RUN_DIR at random, CASES times, and compares
# the verdict of lamport-sim verify with check.py, an independent checker.
import random, shutil, subprocess, os, sys, re
sys.path.insert(0,os.path.dirname(os.path.abspath(__file__))); from check import check
B=os.environ.get('LAMPORT_SIM','target/release/lamport-sim')
src=sys.argv[1]; n=int(sys.argv[2]); rnd=random.Random(int(sys.argv[3]))
disagree=0; caught=0; neutral=0
for i in range(n):
    d=os.path.join(os.environ.get('TMPDIR','/tmp'),'lsim-crosscheck-case'); shutil.rmtree(d,ignore_errors=True); shutil.copytree(src,d,ignore=shutil.ignore_patterns('report'))
    files=sorted(f for f in os.listdir(d) if f.startswith('machine_'))
    f=rnd.choice(files); p=os.path.join(d,f); lines=open(p).read().split('\n')[:-1]
    k=rnd.randrange(len(lines)); op=rnd.choice(['num','num','num','del','dup','swap','key','trunc'])
    if op=='num':
        toks=lines[k].split(' '); j=rnd.randrange(len(toks)); key,val=toks[j].split('=',1)
        m=list(re.finditer(r'\d+',val))
        if not m: continue
        mm=rnd.choice(m); v=int(mm.group()); nv=max(0,v+rnd.choice([-2,-1,1,2,7]))
        toks[j]=key+'='+val[:mm.start()]+str(nv)+val[mm.end():]; lines[k]=' '.join(toks)
    elif op=='del': del lines[k]
    elif op=='dup': lines.insert(k,lines[k])
    elif op=='swap' and k+1<len(lines): lines[k],lines[k+1]=lines[k+1],lines[k]
    elif op=='key': lines[k]=lines[k].replace('event=send','event=internal') if 'send' in lines[k] else lines[k]+' extra=1'
    elif op=='trunc': lines[k]=lines[k][:rnd.randrange(1,len(lines[k]))]
    open(p,'w').write('\n'.join(lines)+'\n')
    mine=check(d); theirs=subprocess.run([B,'verify',d],capture_output=True,text=True)
    ok_mine=not mine; ok_theirs=theirs.returncode==0
    if ok_mine!=ok_theirs:
        disagree+=1; print(f'DISAGREE case {i}: op={op} file={f} line={k+1} mine={mine[:3]} verify_rc={theirs.returncode}\n  {lines[k][:160] if k<len(lines) else ""}\n  {theirs.stdout.splitlines()[:2]}')
    elif ok_mine: neutral+=1
    else: caught+=1
print(f'{n} cases: both caught {caught}, both passed {neutral}, disagree {disagree}')
