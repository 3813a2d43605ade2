#!/usr/bin/env python3
"""cg_callers.py PROFILE FUNC EVENTS: who calls the functions whose name
contains FUNC in a callgrind profile, with the inclusive instructions of
those calls per event and the number of calls (callers by cost)."""
import collections
import re
import sys
fnt = {}; fn = None; cfn = None; pending = False
inc = collections.Counter(); cnt = collections.Counter()
target = sys.argv[2]
def nm(s):
    m = re.match(r'\((\d+)\)(?: (.*))?', s)
    if m:
        if m.group(2): fnt[m.group(1)] = m.group(2)
        return fnt.get(m.group(1), s)
    return s
for line in open(sys.argv[1]):
    if line.startswith('fn='): fn = nm(line[3:].strip()); continue
    if line.startswith('cfn='): cfn = nm(line[4:].strip()); continue
    if line.startswith('calls='): pending = int(line[6:].split()[0]); continue
    if pending is not False and line[:1].isdigit() or (pending is not False and line[:1] in '+-*'):
        if target in cfn:
            inc[fn] += int(line.split()[1]); cnt[fn] += pending
        pending = False
n = float(sys.argv[3])
for f, c in inc.most_common(15):
    print("%12d %8.1f/ev %9d calls  %s" % (c, c / n, cnt[f], f))
