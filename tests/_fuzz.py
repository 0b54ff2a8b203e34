import random, sys, json
import realprom, test_against_prometheus as T
from mockprom.server import MockPrometheus
rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
VEC = ['http_requests_total', 'up', 'temperature_celsius', 'node_info', 'tiny_and_huge',
       'request_duration_seconds_bucket', 'http_requests_total{job="api"}', 'up{instance!="c:80"}']
RANGEF = ['rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'changes', 'resets', 'avg_over_time',
          'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'last_over_time',
          'stddev_over_time', 'stdvar_over_time', 'present_over_time']
INSTF = ['abs', 'ceil', 'floor', 'exp', 'ln', 'sqrt', 'sgn', 'round', 'timestamp', 'log10', '-']
AGG = ['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'group']
LAB = ['job', 'instance', 'code', 'le', 'nodename', 'room']
OPS = ['+', '-', '*', '/', '%', '^', '==', '!=', '>', '<', '>=', '<=', 'and', 'or', 'unless', '> bool', '== bool']
def dur(): return rng.choice(['30s', '1m', '2m', '5m', '10m', '17s', '1h'])
def vec(d=0):
    r = rng.random()
    if d > 2 or r < 0.25:
        v = rng.choice(VEC)
        if rng.random() < 0.2: v += ' offset ' + rng.choice(['1m', '5m', '-30s'])
        return v
    if r < 0.45:
        inner = rng.choice(VEC) + f'[{dur()}]' if rng.random() < 0.8 else f'({vec(d+1)})[{dur()}:{rng.choice(["", "15s", "1m", "45s"])}]'
        return f'{rng.choice(RANGEF)}({inner})'
    if r < 0.6:
        f = rng.choice(INSTF)
        return f'-({vec(d+1)})' if f == '-' else f'{f}({vec(d+1)})'
    if r < 0.75:
        mod = '' if rng.random() < 0.3 else f' {rng.choice(["by", "without"])} ({", ".join(rng.sample(LAB, rng.randint(0, 2)))})'
        return f'{rng.choice(AGG)}{mod} ({vec(d+1)})'
    if r < 0.82:
        k = rng.choice(['topk', 'bottomk', 'quantile'])
        p = rng.choice(['1', '2', '0.5', '0.9']) if k == 'quantile' else rng.choice(['1', '2', '3'])
        return f'{k}({p}, {vec(d+1)})'
    op = rng.choice(OPS)
    if rng.random() < 0.4:
        return f'({vec(d+1)}) {op} {rng.choice(["0", "1", "2.5", "100", "-1"])}'
    match = ''
    if op not in ('and', 'or', 'unless') and rng.random() < 0.5:
        match = f' {rng.choice(["on", "ignoring"])}({", ".join(rng.sample(LAB, rng.randint(0, 2)))})'
        if rng.random() < 0.3: match += ' group_left'
    elif rng.random() < 0.3:
        match = f' on({rng.choice(LAB)})'
    return f'({vec(d+1)}) {op}{match} ({vec(d+1)})'
with realprom.RealPrometheus(T.DATA, config="global:\n  evaluation_interval: 1m\n") as real, \
        MockPrometheus(scenario={"interval": "1m", **T.SCENARIO}) as mock:
    n = bad = 0
    for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 300):
        q = vec()
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
