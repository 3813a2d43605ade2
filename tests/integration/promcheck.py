#!/usr/bin/env python3
"""promcheck.py – checks a Prometheus text exposition (format 0.0.4) strictly
and prints the values asked for.

usage: promcheck.py FILE [SERIES ...]

FILE is what /metrics answered. Every line must be a comment (# HELP,
# TYPE, or other), empty, or a sample "name{label="value",...} value
[timestamp]" with valid names, escapes and a float value; a metric's TYPE
comes before its samples and at most once; every sample belongs to a
declared family (histogram series as _bucket/_sum/_count), no series is
repeated; histogram buckets are cumulative and end with le="+Inf" equal to
_count. A SERIES is printed as its value (or "absent"), e.g.
'minisoc_rule_hits_total{rule="canary"}'; label order does not matter.
Exit status 1 with the reason on the first problem.
"""
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def fail(lineno, msg):
    sys.exit(f"promcheck: line {lineno}: {msg}")


def parse_labels(s, i, lineno):
    """s[i] is just after '{'; returns (labels tuple, index after '}')."""
    labels = []
    while True:
        if s[i] == "}":
            return tuple(sorted(labels)), i + 1
        m = LABEL.match(s, i)
        if not m:
            fail(lineno, f"bad label name at column {i}")
        name = m.group(0)
        i = m.end()
        if s[i:i + 2] != '="':
            fail(lineno, f"label {name} without =\"")
        i += 2
        val = []
        while True:
            if i >= len(s):
                fail(lineno, "unterminated label value")
            c = s[i]
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    fail(lineno, f"bad escape \\{nxt}")
                val.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                fail(lineno, "raw newline in label value")
            else:
                val.append(c)
                i += 1
        if any(k == name for k, _ in labels):
            fail(lineno, f"label {name} twice")
        labels.append((name, "".join(val)))
        if s[i] == ",":
            i += 1
        elif s[i] != "}":
            fail(lineno, f"expected , or }} at column {i}")


def parse_value(v, lineno):
    if v in ("+Inf", "-Inf", "NaN"):
        return float(v.replace("Inf", "inf").replace("NaN", "nan"))
    try:
        return float(v)
    except ValueError:
        fail(lineno, f"bad value {v!r}")


def family_of(name, types):
    if name in types:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)] if name.endswith(suffix) else None
        if base and types.get(base) in ("histogram", "summary"):
            return base
    return None


def check(text):
    if text and not text.endswith("\n"):
        fail(text.count("\n") + 1, "no newline at the end")
    types, helps, samples, order = {}, set(), {}, []
    seen_sample_family = set()
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                if not NAME.fullmatch(parts[2]):
                    fail(lineno, f"bad metric name {parts[2]!r}")
                if parts[1] == "TYPE":
                    if len(parts) != 4 or parts[3] not in TYPES:
                        fail(lineno, "bad TYPE line")
                    if parts[2] in types:
                        fail(lineno, f"TYPE of {parts[2]} twice")
                    if parts[2] in seen_sample_family:
                        fail(lineno, f"TYPE of {parts[2]} after its samples")
                    types[parts[2]] = parts[3]
                else:
                    if parts[2] in helps:
                        fail(lineno, f"HELP of {parts[2]} twice")
                    helps.add(parts[2])
            continue
        m = NAME.match(line)
        if not m:
            fail(lineno, "sample without a valid metric name")
        name, i = m.group(0), m.end()
        labels = ()
        if i < len(line) and line[i] == "{":
            labels, i = parse_labels(line, i + 1, lineno)
        if i >= len(line) or line[i] != " ":
            fail(lineno, "no space before the value")
        fields = line[i + 1:].split(" ")
        if len(fields) not in (1, 2):
            fail(lineno, "expected value [timestamp]")
        value = parse_value(fields[0], lineno)
        if len(fields) == 2 and not re.fullmatch(r"-?[0-9]+", fields[1]):
            fail(lineno, "bad timestamp")
        fam = family_of(name, types)
        if fam is None:
            fail(lineno, f"sample {name} without a TYPE")
        seen_sample_family.add(fam)
        key = (name, labels)
        if key in samples:
            fail(lineno, f"series {name}{dict(labels)} twice")
        if types[fam] == "counter" and (value < 0 or math.isnan(value)):
            fail(lineno, f"counter {name} is {value}")
        samples[key] = value
        order.append(key)
    # Histograms: cumulative buckets, +Inf equals _count.
    for fam, t in types.items():
        if t != "histogram":
            continue
        groups = {}
        for (name, labels), v in samples.items():
            if name == fam + "_bucket":
                le = dict(labels).get("le")
                if le is None:
                    fail(0, f"{name} without le")
                rest = tuple(kv for kv in labels if kv[0] != "le")
                groups.setdefault(rest, []).append((parse_value(le, 0), v))
        for rest, buckets in groups.items():
            buckets.sort()
            prev = 0
            for le, v in buckets:
                if v < prev:
                    fail(0, f"{fam} buckets not cumulative at le={le}")
                prev = v
            if buckets[-1][0] != math.inf:
                fail(0, f"{fam} without le=\"+Inf\"")
            count = samples.get((fam + "_count", rest))
            if count != buckets[-1][1]:
                fail(0, f"{fam}_count {count} != +Inf bucket {buckets[-1][1]}")
            if (fam + "_sum", rest) not in samples:
                fail(0, f"{fam}_sum missing")
    return samples


def series_key(q):
    m = NAME.match(q)
    if not m:
        sys.exit(f"promcheck: bad query {q!r}")
    labels = ()
    if m.end() < len(q):
        if q[m.end()] != "{":
            sys.exit(f"promcheck: bad query {q!r}")
        labels, _ = parse_labels(q + " ", m.end() + 1, 0)
    return (m.group(0), labels)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        samples = check(f.read())
    for q in sys.argv[2:]:
        v = samples.get(series_key(q))
        print("absent" if v is None else ("%d" % v if v == int(v) else repr(v)))


if __name__ == "__main__":
    main()
