# An independent oracle for the sample's converted files (hpc_, storage_, vms_<month>.csv): their
# totals computed from the raw inputs in sample_data/raw/ with Python's decimal module, following
# the rules of docs/sources/ and the prices of sample_data/rates.yaml, written out again here.
# test/sample-data.test.ts holds the figures it prints: python3 test/oracle/sample-converters.py
import os
import json, csv
from decimal import Decimal as D, ROUND_HALF_UP
from datetime import datetime, timezone, date
def q6(x): return x.quantize(D('0.000001'), rounding=ROUND_HALF_UP)
def ts(s): return datetime.fromisoformat(s).replace(tzinfo=timezone.utc).timestamp()
def month_span(m):
    y, mm = map(int, m.split('-'))
    a = datetime(y, mm, 1, tzinfo=timezone.utc).timestamp()
    b = datetime(y + (mm == 12), mm % 12 + 1, 1, tzinfo=timezone.utc).timestamp()
    return a, b
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'sample_data')
def slurm(m):
    a, b = month_span(m)
    split = datetime(2025, 12, 15, tzinfo=timezone.utc).timestamp()
    lst = bil = D(0); n = 0; seen=set()
    for line in open(f'{ROOT}/raw/sacct_{m}.txt'):
        f = line.rstrip('\n').split('|')
        if f[0] == 'JobID': continue
        jid, name, acct, part, state, start, end, el, tres = f
        st = state.split(' ')[0]
        if st == 'PENDING' or start in ('Unknown', 'None'): continue
        s = ts(start); e = b if end in ('Unknown','None') else ts(end)
        if (jid, s) in seen: continue
        seen.add((jid, s))
        lo, hi = max(s, a), min(e, b)
        if hi <= lo: continue
        t = dict(x.split('=') for x in tres.split(','))
        cpu = int(t['cpu']); mem = t.get('mem')
        memg = D(mem[:-1]) if mem and mem.endswith('G') else D(0)
        gp = {k.split(':')[1]: int(v) for k, v in t.items() if k.startswith('gres/gpu:')}
        def charge(qty_units, per_hour_price, sub, lo, hi):
            nonlocal lst, bil, n
            q = q6(D(qty_units) * D(int((hi - lo) * 1000)) / D(3600000))
            lst += q * per_hour_price; bil += q * per_hour_price * (1 - sub); n += 1
        cpu_price = D('0.04') if part == 'himem' else D('0.03')
        charge(cpu, cpu_price, D(1), lo, hi)
        for typ, g in gp.items():
            if typ == 'v100': charge(g, D('0.45'), D('0.5'), lo, hi)
            else:
                if lo < split < hi:
                    charge(g, D('0.90'), D('0.5'), lo, split); charge(g, D('1.10'), D('0.5'), split, hi)
                elif hi <= split: charge(g, D('0.90'), D('0.5'), lo, hi)
                else: charge(g, D('1.10'), D('0.5'), lo, hi)
        if part == 'himem':
            charge(memg, D('0.004'), D('0.5'), lo, hi)
    return n, lst, bil
def storage(m):
    # owners: /ifs/projects/<lab>/<project>, archive tier
    if m == '2025-01':
        use = {q['path']: [D(q['usage']['fslogical'])] for q in json.load(open(f'{ROOT}/raw/isilon-quotas_2025-01.json')) if q['type'] == 'directory'}
    else:
        use = {}
        for r in csv.DictReader(open(f'{ROOT}/raw/storage-daily_{m}.csv')):
            use.setdefault(r['path'], []).append(D(r['used_bytes']))
    lst = bil = D(0); n = 0
    for path, s in use.items():
        avg = sum(s) / len(s)
        tb = avg / D(10**12)
        q = q6(tb)
        if path.startswith('/ifs/archive/'):
            lst += q * 5; bil += q * 5
        else:
            lst += q * 25; bil += q6(max(tb - 1, D(0))) * 25
        n += 1
    return n, lst, bil
def vms(m):
    a, b = month_span(m); days = (b - a) / 86400
    lst = bil = D(0); n = 0
    price = {'small': (D(30), D('0.5'), True), 'medium': (D(60), D('0.5'), True), 'large-gpu': (D(240), D('0.25'), False)}
    for r in csv.DictReader(open(f'{ROOT}/raw/vm-inventory_{m}.csv')):
        c = ts(r['created'] + 'T00:00:00') if r['created'] else a
        d = ts(r['deleted'] + 'T00:00:00') + 86400 if r['deleted'] else b
        lo, hi = max(c, a), min(d, b)
        if hi <= lo: continue
        p, sub, stopped_billed = price[r['size']]
        if r['state'] in ('off', 'stopped') and not stopped_billed: continue
        q = q6(D(round((hi - lo) / 86400)) / D(days))
        lst += q * p; bil += q * p * (1 - sub); n += 1
    return n, lst, bil
def r2(x): return x.quantize(D('0.01'), rounding=ROUND_HALF_UP)
for m in ['2025-01', '2025-12']:
    for name, fn in [('hpc', slurm), ('storage', storage), ('vms', vms)]:
        n, l, b = fn(m)
        print(m, name, n, r2(b), r2(l))
