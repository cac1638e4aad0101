#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# A strict checker of the Prometheus text exposition format 0.0.4, for
# netnslinkctl metrics (used where promtool is not installed, and besides
# it): every sample's metric has one HELP and one TYPE line before it, its
# samples are together, names and label names are valid, label values are
# quoted with only \\, \" and \n escaped, no series appears twice, values
# are numbers, counters end in _total and never go negative, every name
# starts with netnslink_. Reads stdin; exit 1 with a line per fault.
import re, sys

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*'
VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r'^(%s)(?:\{((?:%s=%s)(?:,%s=%s)*)?\})? (\S+)$' % (NAME, LABEL, VALUE, LABEL, VALUE))
PAIR = re.compile(r'(%s)=(%s)' % (LABEL, VALUE))
faults, helps, types, seen, done = [], {}, {}, set(), set()
current = None
text = sys.stdin.read()
if not text.endswith('\n'):
    faults.append('the text does not end with a newline')
for n, line in enumerate(text.splitlines(), 1):
    if line.startswith('#'):
        m = re.match(r'^# (HELP|TYPE) (%s) (.+)$' % NAME, line)
        if not m:
            faults.append('%d: bad comment line: %r' % (n, line)); continue
        kind, name, rest = m.groups()
        table = helps if kind == 'HELP' else types
        if name in table:
            faults.append('%d: second %s for %s' % (n, kind, name))
        if name in done:
            faults.append('%d: %s comes back after other metrics' % (n, name))
        if kind == 'TYPE' and rest not in ('counter', 'gauge', 'histogram', 'summary', 'untyped'):
            faults.append('%d: bad type %r' % (n, rest))
        table[name] = rest
        if current and current != name:
            done.add(current)
        current = name
        continue
    m = SAMPLE.match(line)
    if not m:
        faults.append('%d: bad sample line: %r' % (n, line)); continue
    name, labels, value = m.groups()
    if name not in types or name not in helps:
        faults.append('%d: %s has no HELP and TYPE before it' % (n, name))
    if name != current or name in done:
        faults.append('%d: samples of %s are not together' % (n, name))
    if not name.startswith('netnslink_'):
        faults.append('%d: %s does not start with netnslink_' % (n, name))
    pairs = PAIR.findall(labels or '')
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        faults.append('%d: a label twice' % n)
    series = (name, tuple(sorted(pairs)))
    if series in seen:
        faults.append('%d: series twice: %s' % (n, line))
    seen.add(series)
    try:
        v = float(value)
    except ValueError:
        faults.append('%d: value %r is not a number' % (n, value)); continue
    if types.get(name) == 'counter' and (v < 0 or not name.endswith('_total')):
        faults.append('%d: counter %s must end in _total and not be negative' % (n, name))
for f in faults:
    print(f)
sys.exit(1 if faults else 0)
