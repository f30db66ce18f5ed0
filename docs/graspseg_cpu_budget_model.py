# Cost model, graspseg cpu profile, AMD EPYC Zen 3 (fam 25 model 1), 2 cores, two 1-thread workers.
# lo / mid / hi scenarios
S = {"lo": dict(g160=4.9, res=0.50, f=1.4, t1fix=0.56, t3=0.13, pair=0.15),
     "mid":dict(g160=5.3, res=0.50, f=1.65, t1fix=0.75, t3=0.22, pair=0.153),
     "hi": dict(g160=5.7, res=0.56, f=1.8, t1fix=1.0, t3=0.30, pair=0.20)}
def data(p, pairs, hw):   # 6.9 min / 2700 pairs alone (session 36); physics-bound, resolution ~neutral
    return pairs*p["pair"]/60 + 0.3
def train(p, steps, hw):   # sum of steps of all models, 2 workers, +4% tail imbalance, +1 min notebook
    g = p["g160"]*(1 if hw==160 else p["res"])
    return steps*g/2*1.04/60 + 1
def table1(p, models, hw): # 829 s @11 models/160: 48 s a model (460 pairs x 0.105 s), 300 s fixed
    r = 1 if hw==160 else 0.5
    fix = 300*(1 if hw==160 else p["t1fix"])
    return (models*48*r*(1.1 if p is S["hi"] else 1) + fix)/60
def crops(p, pairs, seeds, inp_steps, patch, n_eval, hw):
    r = 1 if hw==160 else 0.5; a = 1 if hw==160 else 0.5625
    return (seeds*pairs*0.121*r + pairs*0.01 + inp_steps*455/800*(patch/64)**2 + n_eval*0.352*a + 54)/60
def m2f(p, kind, steps, hw, n_val=60, n_test=400):
    a = 1 if hw==160 else 0.65; ai = 1 if hw==160 else 0.5625
    base = {"plain":1.232, "robust":2.115}[kind.split("+")[0]]*p["f"]*a
    if kind.endswith("+inpaint"): base += 4*0.480*p["f"]*ai
    infer = 1/12.33*p["f"]*a
    return steps*base + (steps/50)*n_val*infer + n_test*infer
ROWS = {"Mask2Former-100":("plain",500),"Single-Object-100":("plain",600),"Paste-Subtract":("plain",500),
        "Paste-Subtract-Robust":("robust",475),"Paste-Train":("plain",500),"Paste-Grasp":("plain",500),
        "Paste-Grasp-Filter":("plain",500),"Paste-Grasp-Robust":("robust",475),"Paste-Grasp-Inpaint":("plain+inpaint",500),
        "Paste-Grasp-OpenCVInpaint":("plain",500),"Mask2Former-1000":("plain",500)}
def table2(p, rows, seeds, hw):
    return (sum(m2f(p,*ROWS[r],hw) for r in rows)*seeds/2*1.04 + 4*60)/60
def table3(p, trials, hw, rows=4):
    return (trials*rows*p["t3"]*(1 if hw==160 else 0.85) + 30)/60
allrows=list(ROWS)
def report(name, parts):
    print(f"== {name}")
    tot={k:0 for k in S}
    for st,fn in parts:
        v={k:fn(p) for k,p in S.items()}
        for k in S: tot[k]+=v[k]
        print(f"  {st:14s} {v['mid']:6.1f}  ({v['lo']:.1f}-{v['hi']:.1f})")
    print(f"  {'TOTAL':14s} {tot['mid']:6.1f}  ({tot['lo']:.1f}-{tot['hi']:.1f})")
# steps per configuration (from the recorded curves, patience 3, eval 50)
cur_steps = 1150 + 1550 + 1700 + 900     # 800 cap: G200 s0 ~600-800, NoAug s1/s2 ~600-800 (mid), ablations 3x2x150
report("today (160x240, cap 800, 15 models; 11 rows x 3 seeds; 700 trials)", [
 ("grasp_data", lambda p: data(p,2700,160)), ("train", lambda p: train(p,cur_steps,160)),
 ("table1", lambda p: table1(p,15,160)), ("crops", lambda p: crops(p,1000,3,800,64,100,160)),
 ("table2", lambda p: table2(p,allrows,3,160)), ("table3", lambda p: table3(p,700,160))])
A_steps = 9*200 + 2*100
report("A (120x180, cap 200, abl 1 seed x100; T2/T3 paper-only)", [
 ("grasp_data", lambda p: data(p,400+700,120)), ("train", lambda p: train(p,A_steps,120)),
 ("table1", lambda p: table1(p,11,120)), ("crops", lambda p: crops(p,400,1,400,48,50,120)),
 ("table2 stub", lambda p: 0.5), ("table3 stub", lambda p: 0.5)])
B_steps = (450+300+400) + (450+450+350) + (400+450+450) + 2*150
report("B (120x180, cap 450, abl 1 seed x150; T2/T3 paper-only)", [
 ("grasp_data", lambda p: data(p,1000+700,120)), ("train", lambda p: train(p,B_steps,120)),
 ("table1", lambda p: table1(p,11,120)), ("crops", lambda p: crops(p,1000,3,600,48,100,120)),
 ("table2 stub", lambda p: 0.5), ("table3 stub", lambda p: 0.5)])
print("B steps", B_steps, "A steps", A_steps, "cur", cur_steps)
for label, rows in [("T2 3 rows (PSR,M1000,PGI) x3 @120", ["Paste-Subtract-Robust","Mask2Former-1000","Paste-Grasp-Inpaint"]),
                    ("T2 10 paper rows x3 @120", allrows[:9]+allrows[10:]),
                    ("T2 11 rows x3 @160", allrows), ("T2 11 rows x3 @120", allrows)]:
    hw = 160 if "@160" in label else 120
    print(label, {k: round(table2(p,rows,3,hw),0) for k,p in S.items()})
for k,p in S.items():
    print("per-model worker-min @160/@120", k, {r: (round(m2f(p,*ROWS[r],160)/60,1), round(m2f(p,*ROWS[r],120)/60,1)) for r in ["Mask2Former-100","Paste-Subtract-Robust","Paste-Grasp-Inpaint"]})
for t in (150,300,700):
    print("T3 trials",t, {k: round(table3(p,t,120),1) for k,p in S.items()})
