#!/usr/bin/env python3
"""How much latency a cache could save at best on Zipf traces like benches/cache.rs replays.

Two static policies that know the whole trace keep objects until the byte budget is full:
one ranked by reads / size (a size-aware frequency policy, what moka's TinyLFU with a size
weigher approximates), the other by reads x fetch latency / size (the cost-aware ideal). Their
ratio is the ceiling of what cost-aware admission can add over plain moka on such a workload,
printed for several budgets, trace lengths, latency gaps, and for hot objects placed mostly
on the fast tier (as tier promotion does). Pure Python, no dependencies:
`python3 benches/cache_ceiling.py`.
"""
import random


def static_saved(objs, reads, budget, key):
    """Latency saved by keeping the objects of highest `key` that fit in `budget`."""
    order = sorted([i for i in range(len(objs)) if reads[i] > 0], key=key, reverse=True)
    used = 0
    saved = 0
    for i in order:
        if used + objs[i][0] <= budget:
            used += objs[i][0]
            saved += objs[i][1] * (reads[i] - 1)
    return saved

def run(s, R, frac, fast_ms=1.0, slow_ms=30.0, per_byte_ns=20, n=400, seed=1, smin=16*1024, smax=1<<20):
    rnd = random.Random(seed)
    objs=[]
    for i in range(n):
        size=int(smin*(smax/smin)**rnd.random())
        slow = rnd.random()<0.5
        lat = (slow_ms/1000 + per_byte_ns*size/1e9) if slow else fast_ms/1000
        objs.append((size,lat))
    w=[1/(k**s) for k in range(1,n+1)]
    ids=list(range(n)); rnd.shuffle(ids)
    trace=rnd.choices(ids, weights=w, k=R)
    reads=[0]*n
    for t in trace: reads[t]+=1
    total=sum(o[0] for o in objs); B=total*frac
    def static(key):
        return static_saved(objs, reads, B, key)
    freq=static(lambda i: reads[i]/objs[i][0])   # size-aware frequency (like a weighted LFU)
    freq2=static(lambda i: reads[i])
    orc=static(lambda i: reads[i]*objs[i][1]/objs[i][0])
    return orc/freq, orc/freq2
for R in [4000, 40000]:
  for frac in [0.1, 0.05, 0.02]:
    for s in [0.9,1.1]:
      print(R, frac, s, "oracle/LFU-per-byte %.2f oracle/LFU %.2f"%run(s,R,frac))
print("wider latency: fast 0.2ms, slow 50ms")
for frac in [0.1,0.05]:
  for s in [0.9,1.1]:
    print(frac, s, "%.2f %.2f"%run(s,4000,frac,fast_ms=0.2,slow_ms=50))
print("tiering: hot objects mostly on the fast tier")
def run2(s, R, frac, hot_share=0.2, p_fast_hot=0.8, p_fast_cold=0.2, n=400, seed=1):
    rnd = random.Random(seed)
    w=[1/(k**s) for k in range(1,n+1)]
    objs=[]
    for rank in range(n):
        size=int(16*1024*(64)**rnd.random())
        fast = rnd.random() < (p_fast_hot if rank < n*hot_share else p_fast_cold)
        lat = 0.001 if fast else 0.030 + 20*size/1e9
        objs.append((size,lat))
    trace=rnd.choices(range(n), weights=w, k=R)
    reads=[0]*n
    for t in trace: reads[t]+=1
    total=sum(o[0] for o in objs); B=total*frac
    def static(key):
        return static_saved(objs, reads, B, key)
    return static(lambda i: reads[i]*objs[i][1]/objs[i][0])/static(lambda i: reads[i]/objs[i][0]), static(lambda i: reads[i]*objs[i][1]/objs[i][0])/static(lambda i: reads[i])
for frac in [0.1,0.05]:
  for s in [0.9,1.1]:
    print(frac, s, "%.2f %.2f"%run2(s,4000,frac))
