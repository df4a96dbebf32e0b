#!/usr/bin/env python3
"""RSS growth of a process by kind of mapping, between two copies of its /proc/PID/smaps, per stream.

    smaps-by-kind.py SMAPS_BEFORE SMAPS_AFTER STREAMS

Kinds: the GC heap (the largest run of adjacent anonymous mappings: the GC reserves its regions in one range), other
anonymous memory (malloc's arenas, thread stacks), JIT code and stubs (with W^X the runtime maps them from a memfd,
executable, and writable while it writes them; turning W^X off did not lower the RSS here) and mapped files (the
runtime, the assemblies).
"""
import collections
import re
import sys

VMA = re.compile(r'^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$')


def mappings(path):
    result = []
    for line in open(path):
        m = VMA.match(line)
        if m:
            result.append([int(m.group(1), 16), int(m.group(2), 16), m.group(4).strip(), 0])
        elif line.startswith('Rss:'):
            result[-1][3] = int(line.split()[1])
    return result


def by_kind(path):
    vmas = mappings(path)
    runs, run = [], None
    for v in vmas:
        if v[2] == '' and run and run[-1][1] == v[0]:
            run.append(v)
        elif v[2] == '':
            run = [v]
            runs.append(run)
        else:
            run = None
    gc = {id(v) for v in max(runs, key=lambda r: r[-1][1] - r[0][0])}
    kinds = collections.Counter()
    for v in vmas:
        name = v[2]
        if id(v) in gc:
            kind = 'GC heap (regions and their bookkeeping)'
        elif name == '' or name == '[heap]':
            kind = 'native: malloc arenas, thread stacks'
        elif 'doublemapper' in name:
            kind = 'JIT code and stubs'
        elif name.startswith('['):
            kind = 'other: ' + name
        else:
            kind = 'mapped files (runtime, assemblies)'
        kinds[kind] += v[3]
    return kinds


before, after, streams = by_kind(sys.argv[1]), by_kind(sys.argv[2]), int(sys.argv[3])
print('| kind | before (MB) | after (MB) | growth (MB) | KiB per stream |')
print('| --- | --- | --- | --- | --- |')
total = 0
for kind in sorted(set(before) | set(after), key=lambda k: before[k] - after[k]):
    growth = after[kind] - before[kind]
    total += growth
    if abs(growth) >= 100:
        print(f'| {kind} | {before[kind] / 1024:.1f} | {after[kind] / 1024:.1f} | {growth / 1024:.1f} | {growth / streams:.2f} |')
print(f'| total | | | {total / 1024:.1f} | {total / streams:.2f} |')
