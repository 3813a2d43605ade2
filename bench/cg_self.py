#!/usr/bin/env python3
"""cg_self.py PROFILE EVENTS [N]: the N (default 45) functions with the most
self instructions in a callgrind profile (bench/profile-collector's OUT.cg),
with their share and their instructions per event."""
import collections
import re
import sys
names = {}; self_ = collections.Counter(); fn = None; skip = False
def nm(s, table):
    m = re.match(r'\((\d+)\)(?: (.*))?', s)
    if m:
        if m.group(2): table[m.group(1)] = m.group(2)
        return table.get(m.group(1), s)
    return s
fnt = {}; obt = {}; ob = None
for line in open(sys.argv[1]):
    line = line.rstrip('\n')
    if line.startswith('fn='): fn = nm(line[3:], fnt); continue
    if line.startswith('ob='): ob = nm(line[3:], obt); continue
    if line.startswith(('cfn=')): nm(line[4:], fnt); continue
    if line.startswith('cob='): nm(line[4:], obt); continue
    if line.startswith('calls='): skip = True; continue
    if line and (line[0].isdigit() or line[0] in '+-*'):
        if skip: skip = False; continue
        parts = line.split()
        if len(parts) >= 2: self_[(fn, ob.split('/')[-1] if ob else '')] += int(parts[1])
tot = sum(self_.values()); n = float(sys.argv[2]) if len(sys.argv) > 2 else 1
print("total", tot, "per event", tot / n)
for (f, o), c in self_.most_common(int(sys.argv[3]) if len(sys.argv) > 3 else 45):
    print("%12d %5.2f%% %8.1f  %s [%s]" % (c, 100.0 * c / tot, c / n, f, o))
