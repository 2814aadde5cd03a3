#!/usr/bin/env python3
"""Fills tests/reliability/reliability.template.md with measured figures and writes docs/reliability.md.

Placeholders: {{case.key}} a figure a test recorded (tests/Realtime.Api.Tests/Reliability/Measured.cs or
the soak driver), {{test:Name}} the outcome and duration of the test whose name contains Name, {{meta.key}}
a run fact. Anything not measured in this run reads "not run".
"""
import argparse, glob, json, xml.etree.ElementTree as ET, re

p = argparse.ArgumentParser()
p.add_argument("--results"); p.add_argument("--trx"); p.add_argument("--template"); p.add_argument("--output")
p.add_argument("--meta", nargs="*", default=[])
a = p.parse_args()

figures = {}
for line in open(a.results):
    line = line.strip()
    if line.startswith("{"):
        record = json.loads(line)
        figures[record.pop("case")] = record

tests = {}
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for trx in glob.glob(f"{a.trx}/*.trx"):
    for r in ET.parse(trx).getroot().iterfind(".//t:UnitTestResult", ns):
        h, m, s = r.get("duration", "0:0:0").split(":")
        tests[r.get("testName")] = (r.get("outcome"), int(h) * 3600 + int(m) * 60 + float(s))

meta = dict(kv.split("=", 1) for kv in a.meta)

def fmt(v):
    if isinstance(v, bool): return "yes" if v else "no"
    if isinstance(v, float): return f"{v:,.1f}" if abs(v) >= 100 else f"{v:g}"
    if isinstance(v, int): return f"{v:,}"
    return str(v)

def fill(m):
    key = m.group(1)
    if key.startswith("test:"):
        name = key[5:]
        hits = [(n, o) for n, o in tests.items() if name in n]
        if not hits: return "not run"
        failed = [n for n, (o, _) in hits if o != "Passed"]
        seconds = sum(d for _, (_, d) in hits)
        return (f"**FAILED** ({len(failed)} of {len(hits)})" if failed else
                f"passed{f' ({len(hits)} cases)' if len(hits) > 1 else ''}, {seconds:.1f} s")
    if key.startswith("meta."):
        return meta.get(key[5:], "not run")
    case, _, field = key.rpartition(".")
    return fmt(figures[case][field]) if case in figures and field in figures[case] else "not run"

text = re.sub(r"\{\{([^}]+)\}\}", fill, open(a.template).read())
open(a.output, "w").write(text)
missing = text.count("not run")
print(f"render.py: wrote {a.output}; {len(figures)} measured cases, {len(tests)} test results, {missing} cells not run")
