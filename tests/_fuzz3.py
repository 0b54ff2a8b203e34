import random, sys, json
import realprom, test_against_prometheus as T
from mockprom.server import MockPrometheus
rng = random.Random(int(sys.argv[1]))
AT = lambda: rng.choice(['start()', 'end()', str(T.T0 + 1234), str(T.T0 + 2000.5)])
def sel():
    s = rng.choice(T.GEN_SELECTORS); r = rng.random()
    if r < 0.15: s += f" @ {AT()}"
    elif r < 0.3: s += f" offset {rng.choice(['1m', '7m', '-2m'])}"
    return s
def rsel(at=True):
    s = rng.choice(T.GEN_SELECTORS) + f"[{rng.choice(['1m', '5m', '3m', '90s', '10m'])}]"; r = rng.random()
    if at and r < 0.15: s += f" @ {AT()}"
    elif r < 0.3: s += f" offset {rng.choice(['1m', '7m'])}"
    return s
def e(d=0):
    if d > 2: return sel()
    c = [
        lambda: sel(),
        lambda: f"histogram_quantile({rng.choice(['0.5','0.9','0.99','1','0','-1','2'])}, sum by (le{rng.choice(['', ', instance'])}) (rate(request_duration_seconds_bucket[{rng.choice(['1m','5m'])}])))",
        lambda: f"histogram_quantile(0.9, {e(d+1)})",
        lambda: f'label_replace({e(d+1)}, "{rng.choice(["x","job","instance","__name__"])}", "{rng.choice(["$1","a-$1","","$2","${1}x"])}", "{rng.choice(["instance","job","le","nope","__name__"])}", "{rng.choice(["(.*)", "(.):(.*)", "a.*", "", "(u)(p)"])}")',
        lambda: f'label_join({e(d+1)}, "{rng.choice(["joined","job"])}", "{rng.choice(["-", ""])}", "job", "instance")',
        lambda: f"count_values(\"{rng.choice(['v','job'])}\", {e(d+1)})",
        lambda: f"quantile_over_time({rng.choice(['0.1','0.5','0.99','-1','2'])}, {rsel()})",
        lambda: f"holt_winters({rsel()}, {rng.choice(['0.1','0.5'])}, {rng.choice(['0.3','0.9'])})",
        lambda: f"predict_linear({rsel(False)}, {rng.choice(['60','3600','-600'])})",
        lambda: f"absent({e(d+1)})",
        lambda: f"scalar({e(d+1)}) * {e(d+1)}",
        lambda: f"clamp({e(d+1)}, {rng.choice(['0','1','-5'])}, {rng.choice(['10','100','0.5'])})",
        lambda: f"{rng.choice(['sum','avg','max','min','count','stddev','quantile','last','present','absent'])}_over_time(({e(d+1)})[{rng.choice(['5m','10m'])}:{rng.choice(['30s','1m','2m'])}]{rng.choice(['', ' offset 2m', ' @ end()', ' @ start()'])})".replace("quantile_over_time(", "quantile_over_time(0.3, "),
        lambda: f"{rng.choice(['sum','avg','count','max','min','group','stddev','stdvar'])} {rng.choice(['by','without'])} ({rng.choice(['job','instance','le','nodename', 'job, le', ''])}) ({e(d+1)})",
        lambda: f"({e(d+1)}) {rng.choice(['+','-','*','/','>','<','==','>=','!=','%','^','atan2'])} {rng.choice(['', 'bool '])}({e(d+1)})",
        lambda: f"({e(d+1)}) {rng.choice(['and','or','unless'])} {rng.choice(['', 'on(instance) ', 'ignoring(job) ', 'on() '])}({e(d+1)})",
        lambda: f"({e(d+1)}) {rng.choice(['*','+','>'])} {rng.choice(['on(instance) group_left(nodename) ', 'ignoring(code, method) group_left ', 'on(job) group_right '])}({e(d+1)})",
        lambda: f"{rng.choice(['rate','increase','irate','delta','idelta','resets','changes','deriv'])}({rsel()})",
        lambda: f"timestamp({e(d+1)})",
        lambda: f"{rng.choice(['hour','minute','day_of_week','month','year','days_in_month','day_of_month','day_of_year'])}({rng.choice(['', 'timestamp(up)', 'up'])})",
        lambda: f"last_over_time({rsel()})",
        lambda: f"absent_over_time({rsel()})",
        lambda: f"round({e(d+1)}, {rng.choice(['0.1','5','1','-1'])})",
        lambda: f"vector({rng.choice(['1','time()','scalar(up)', 'NaN', '-Inf'])})",
        lambda: f"{rng.choice(['quantile','topk','bottomk'])}({rng.choice(['0.5','1','scalar(count(up))'])}, {e(d+1)})".replace("topk(0.5","topk(1").replace("bottomk(0.5","bottomk(1"),
    ]
    return rng.choice(c)()
with realprom.RealPrometheus(T.DATA, config="global:\n  evaluation_interval: 1m\n") as real, \
        MockPrometheus(scenario={"interval": "1m", **T.SCENARIO}) as mock:
    n = bad = 0
    for _ in range(int(sys.argv[2])):
        q = e()
        if rng.random() < 0.5:
            path, params = "/api/v1/query", {"query": q, "time": rng.choice(T.INSTANT_TIMES)}
        else:
            path, params = "/api/v1/query_range", {"query": q, "start": T.T0 + rng.randint(0, 1000), "end": T.END, "step": rng.choice([15, 60, 37])}
        ws, wb, wt = realprom.get(real.url, path, params)
        gs, gb, gt = realprom.get(mock.url, path, params)
        d = realprom.compare_answers(ws, wb, gs, gb, strict=True)
        n += 1
        if d:
            bad += 1
            print("MISMATCH", path, json.dumps(params)); print("   ", "\n    ".join(d[:4])); print("    prom:", wt[:300]); print("    mock:", gt[:300])
    print(f"{bad} of {n} differ")
