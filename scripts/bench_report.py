#!/usr/bin/env python3
"""The simdnn benchmark report, from simdnn-bench's Google Benchmark JSON.

  bench_report.py RESULTS.json [--out DIR] [--title TEXT] [--command TEXT]
      writes DIR/table.txt, DIR/report.md and DIR/chart.png (DIR defaults
      to the folder of RESULTS.json) and prints the table;
  bench_report.py --compare A B [--out DIR]
      A and B are results.json files or report folders holding one: the
      two side by side, the ratio per case and a geometric-mean summary
      line per family (written to DIR/compare.md when --out is given).

Only the standard library and matplotlib (for the chart; without it the
chart is skipped with a message). Numbers are medians of the repetitions
when the run had several, nanoseconds per element of the case (the
elements one call produces), from Google Benchmark's real time.
"""

import argparse
import json
import math
import os
import sys

ISA_COLUMNS = ["scalar", "avx2", "avx512", "neon"]
PEER_COLUMNS = ["onednn", "xnnpack"]
FLOOR_COLUMNS = ["floor-reg", "floor-nt"]
FAMILIES = ["softmax", "posenc", "batchnorm"]

FLOOR_NOTES = {
    "softmax": "read x twice, write y once (the maximum and the sum must "
    "be known before the first output)",
    "log_softmax": "read x twice, write y once",
    "softmax_axis": "read x twice, write y once",
    "table": "write the table once (streaming stores out of cache)",
    "add": "read and write the embedding once, in place",
    "rope": "read and write the tensor once, in place",
    "inference": "copy x to y (streaming stores out of cache: the "
    "non-temporal copy of the same tensor)",
    "training": "read x for the statistics, then read x and write y",
    "backward": "read x and dy for the reductions, then read them again "
    "and write dx",
}


# ----------------------------------------------------------------------
# Loading


class Result:
    """One (case, column) cell: a median time or a skip message."""

    def __init__(self):
        self.times_ns = []  # per-call real time of each repetition
        self.median_ns = None
        self.elements = None
        self.label = ""
        self.error = None
        self.counters = {}
        self.cv = None  # coefficient of variation of the repetitions
        self.wall_over_cpu = None  # > 1: the thread was descheduled

    @property
    def ns_per_el(self):
        t = self.median_ns
        if t is None and self.times_ns:
            t = median(self.times_ns)
        if t is None or not self.elements:
            return None
        return t / self.elements


class Case:
    def __init__(self, family, op, shape):
        self.family, self.op, self.shape = family, op, shape
        self.cells = {}  # column -> Result
        self.elements = None
        self.residency = ""
        self.ws_bytes = None
        self.sets = None

    @property
    def key(self):
        return (self.family, self.op, self.shape)

    def ns(self, column):
        cell = self.cells.get(column)
        return cell.ns_per_el if cell else None

    def simdnn_best(self, simd_only=False):
        """(column, ns) of the fastest simdnn ISA column."""
        best = None
        for col in ISA_COLUMNS:
            if simd_only and col == "scalar":
                continue
            v = self.ns(col)
            if v is not None and (best is None or v < best[1]):
                best = (col, v)
        return best

    def floor(self):
        vals = [(c, self.ns(c)) for c in FLOOR_COLUMNS
                if self.ns(c) is not None]
        return min(vals, key=lambda cv: cv[1]) if vals else None

    def peer_best(self):
        vals = [(c, self.ns(c)) for c in PEER_COLUMNS
                if self.ns(c) is not None]
        return min(vals, key=lambda cv: cv[1]) if vals else None


def median(values):
    s = sorted(values)
    n = len(s)
    if n == 0:
        return None
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


TIME_SCALE = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def load(path):
    """(context, [Case]) from a results file or a folder holding one."""
    if os.path.isdir(path):
        path = os.path.join(path, "results.json")
    with open(path) as f:
        raw = f.read()
    try:
        data = json.loads(raw)
    except ValueError:
        # A run that crashed leaves the JSON cut after some benchmark:
        # keep the complete entries and say so.
        cut = raw.rfind("\n    }")
        data = json.loads(raw[:cut + 6] + "\n  ]\n}\n") if cut > 0 else {}
        print("WARNING: %s is truncated (did simdnn-bench crash?); "
              "reporting the %d complete results"
              % (path, len(data.get("benchmarks", []))))
        data.setdefault("context", {})["truncated"] = "yes"
    context = data.get("context", {})
    cases = {}
    order = []
    for b in data.get("benchmarks", []):
        run_name = b.get("run_name") or b.get("name", "")
        parts = run_name.split("/")
        if len(parts) < 4:
            continue
        family, op, shape, column = parts[:4]
        key = (family, op, shape)
        if key not in cases:
            cases[key] = Case(family, op, shape)
            order.append(key)
        case = cases[key]
        cell = case.cells.setdefault(column, Result())
        if b.get("error_occurred"):
            cell.error = b.get("error_message", "error")
            continue
        scale = TIME_SCALE.get(b.get("time_unit", "ns"), 1.0)
        # CPU time of the benchmark thread (see main.cc); real_time is the
        # wall clock, used only to detect a busy machine.
        t_ns = b["cpu_time"] * scale
        elements = b.get("elements")
        if elements:
            cell.elements = elements
            case.elements = elements
        if b.get("label"):
            cell.label = b["label"]
            words = b["label"].split()
            case.residency = words[0]
        if "ws_bytes" in b:
            case.ws_bytes = b["ws_bytes"]
        if "sets" in b:
            case.sets = b["sets"]
        run_type = b.get("run_type", "iteration")
        if run_type == "aggregate":
            if b.get("aggregate_name") == "cv":
                cell.cv = b["cpu_time"]
            if b.get("aggregate_name") == "median":
                cell.median_ns = t_ns
                if b["cpu_time"] > 0:
                    cell.wall_over_cpu = b["real_time"] / b["cpu_time"]
                for k in ("dram_floor_frac", "bytes_per_second",
                          "items_per_second"):
                    if k in b:
                        cell.counters[k] = b[k]
        else:
            cell.times_ns.append(t_ns)
            for k in ("dram_floor_frac", "bytes_per_second",
                      "items_per_second"):
                if k in b:
                    cell.counters.setdefault(k + "_all", []).append(b[k])
    out = [cases[k] for k in order]
    ratios = [c.wall_over_cpu for k in out for c in k.cells.values()
              if c.wall_over_cpu]
    if ratios:
        context["_wall_over_cpu"] = median(ratios)
    for case in out:
        for cell in case.cells.values():
            for k in list(cell.counters):
                if k.endswith("_all"):
                    base = k[:-4]
                    if base not in cell.counters:
                        cell.counters[base] = median(cell.counters[k])
                    del cell.counters[k]
    return context, out


# ----------------------------------------------------------------------
# Formatting helpers


def fmt_ns(v):
    if v is None:
        return "-"
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    if v >= 1:
        return "%.2f" % v
    return "%.3f" % v


def fmt_ratio(v):
    if v is None:
        return "-"
    return "%.2fx" % v if v < 100 else "%.0fx" % v


def fmt_pct(v):
    return "-" if v is None else "%.0f%%" % v


def geomean(values):
    vals = [v for v in values if v and v > 0]
    if not vals:
        return None
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


def columns_present(cases, candidates):
    return [c for c in candidates if any(c in k.cells for k in cases)]


def render_table(header, rows, markdown=False, left=1):
    """A text or Markdown table; the first `left` columns align left."""
    if markdown:
        out = ["| " + " | ".join(header) + " |",
               "|" + "|".join("---" if i < left else "---:"
                              for i in range(len(header))) + "|"]
        for r in rows:
            out.append("| " + " | ".join(r) + " |")
        return "\n".join(out)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = []
    for i, r in enumerate([header] + rows):
        cells = [str(x).ljust(w) if j < left else str(x).rjust(w)
                 for j, (x, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cell_text(case, col):
    cell = case.cells.get(col)
    if cell is None:
        return "-"
    if cell.error:
        return "skip" if cell.error.startswith("skipped") else "FAIL"
    return fmt_ns(cell.ns_per_el)


# ----------------------------------------------------------------------
# The report


def family_rows(cases, columns):
    """Table rows of one family: one per case."""
    rows = []
    for k in cases:
        row = ["%s %s [%s]" % (k.op, k.shape, k.residency or "?")]
        row += [cell_text(k, c) for c in columns]
        scalar = k.ns("scalar")
        simd = k.simdnn_best(simd_only=True)
        best = k.simdnn_best()
        floor = k.floor()
        peer = k.peer_best()
        row.append("%s %s" % (fmt_ratio(scalar / simd[1]), simd[0])
                   if scalar and simd else "-")
        row.append(cell_text(k, "floor-reg"))
        row.append(cell_text(k, "floor-nt"))
        row.append(fmt_pct(100.0 * floor[1] / best[1])
                   if floor and best else "-")
        row.append("%s %s" % (fmt_ratio(peer[1] / best[1]), peer[0])
                   if peer and best else "-")
        rows.append(row)
    return rows


def table_header(columns):
    return (["case [working set]"] + [c + " ns/el" for c in columns] +
            ["SIMD vs scalar", "floor-reg ns/el", "floor-nt ns/el",
             "% of floor", "vs best peer"])


def by_family(cases):
    """[(family, [Case])] in the families' order, cases in run order."""
    fams = {}
    for k in cases:
        fams.setdefault(k.family, []).append(k)
    order = [f for f in FAMILIES if f in fams]
    order += sorted(f for f in fams if f not in FAMILIES)
    return [(f, fams[f]) for f in order]


def warnings_for(context):
    w = []
    if context.get("truncated"):
        w.append("WARNING: the run did not finish (simdnn-bench crashed "
                 "or was killed): only the results before that are here.")
    gov = context.get("cpu_governor", "unknown")
    if gov != "performance":
        w.append("WARNING: the CPU frequency governor is '%s', not "
                 "'performance' (unknown on most VMs): clock changes may "
                 "distort the numbers." % gov)
    if str(context.get("library_build_type", "")).lower() == "debug":
        w.append("WARNING: Google Benchmark (Debian's libbenchmark %s) was "
                 "built as DEBUG. This affects only the harness's timing "
                 "loop (a few ns per iteration, visible only on the "
                 "smallest cases), not the kernels, which are built "
                 "%s." % (context.get("benchmark_version", ""),
                          context.get("build_type", "Release")))
    if context.get("build_type", "Release") not in ("Release",
                                                    "RelWithDebInfo"):
        w.append("WARNING: simdnn was built as '%s', not Release."
                 % context.get("build_type"))
    if "emulated aarch64" in context.get("cpu_flags", ""):
        w.append("WARNING: this aarch64 build ran under qemu-user: the "
                 "columns check that every ISA runs, their times mean "
                 "nothing.")
    if context.get("avx512_via_simde", "no").startswith("yes"):
        w.append("WARNING: the AVX-512 kernels are built against SIMDe "
                 "(emulated with AVX2): their times mean nothing.")
    woc = context.get("_wall_over_cpu")
    if woc and woc > 1.05:
        w.append("WARNING: wall time exceeded CPU time by %.0f%% (median "
                 "over the cells): the benchmark thread was descheduled "
                 "that often by other work. The tables use CPU time."
                 % (100 * (woc - 1)))
    load_avg = context.get("load_avg") or []
    ncpu = context.get("num_cpus") or 1
    if load_avg and load_avg[0] > 0.5 * ncpu:
        w.append("WARNING: load average %.2f on %d CPUs when the run "
                 "started: other work shared the machine, expect noise."
                 % (load_avg[0], ncpu))
    return w


def machine_lines(context):
    c = context
    caches = ", ".join("L%d %s %dKiB" % (x["level"], x["type"],
                                         x["size"] // 1024)
                       for x in c.get("caches", []))
    lines = [
        ("date", c.get("date", "?")),
        ("host", "%s, %s CPUs at %s MHz" % (c.get("host_name", "?"),
                                            c.get("num_cpus", "?"),
                                            c.get("mhz_per_cpu", "?"))),
        ("CPU", c.get("cpu_model", "?")),
        ("CPU flags (/proc/cpuinfo: usable with OS support)",
         c.get("cpu_flags", "?")),
        ("simdnn_isa_supported (CPU+OS and a kernel built)",
         c.get("simdnn_isa_supported", "?")),
        ("ISA each family uses by default", c.get("simdnn_family_isa", "?")),
        ("SIMDNN_MAX_ISA", c.get("simdnn_max_isa_env", "?")),
        ("kernels built", c.get("simdnn_kernels_built", "?")),
        ("caches", caches or "?"),
        ("cache sizes used for working sets",
         "L1d %s, L2 %s, L3 %s" % (c.get("cache_l1d", "?"),
                                   c.get("cache_l2", "?"),
                                   c.get("cache_l3", "?"))),
        ("governor", c.get("cpu_governor", "?")),
        ("compiler", "%s (C), %s (C++)" % (c.get("c_compiler", "?"),
                                           c.get("cxx_compiler", "?"))),
        ("build", "%s; C flags: %s" % (c.get("build_type", "?"),
                                       c.get("c_flags", "?"))),
        ("per-ISA flags", c.get("isa_flags", "?")),
        ("simdnn", c.get("simdnn_version", "?")),
        ("SLEEF", c.get("sleef_version", "?")),
        ("Google Benchmark", "%s (library built as %s)"
         % (c.get("benchmark_version", "?"),
            c.get("library_build_type", "?"))),
        ("peers", c.get("peers", "none")),
    ]
    if "onednn_version" in c:
        lines.append(("oneDNN", "%s, ISA %s, threads %s"
                      % (c["onednn_version"], c.get("onednn_isa", "?"),
                         c.get("onednn_threads", "?"))))
    if "xnnpack_version" in c:
        lines.append(("XNNPACK", "%s, threads %s"
                      % (c["xnnpack_version"],
                         c.get("xnnpack_threads", "?"))))
    lines.append(("memory probe (best of 7, 4x L3 buffers; %s)"
                  % c.get("floor_impl", "?"),
                  "read %s GB/s, write %s GB/s (streaming) / %s (regular), "
                  "copy %s GB/s (streaming) / %s (regular), in-place %s "
                  "GB/s (bytes read + written)"
                  % (c.get("probe_read_GBps", "?"),
                     c.get("probe_write_nt_GBps", "?"),
                     c.get("probe_write_GBps", "?"),
                     c.get("probe_copy_nt_GBps", "?"),
                     c.get("probe_copy_GBps", "?"),
                     c.get("probe_rmw_GBps", "?"))))
    lines.append(("mode", c.get("bench_mode", "?")))
    return lines


def skip_messages(cases):
    msgs = {}
    for k in cases:
        for col, cell in k.cells.items():
            if cell.error:
                msgs.setdefault((k.family, col, cell.error), 0)
                msgs[(k.family, col, cell.error)] += 1
    return msgs


def family_summary(fam, cases):
    """One line: geomean SIMD speedup, % of floor and ratio to peers."""
    sp = geomean([k.ns("scalar") / k.simdnn_best(True)[1] for k in cases
                  if k.ns("scalar") and k.simdnn_best(True)])
    fl = geomean([k.floor()[1] / k.simdnn_best()[1] for k in cases
                  if k.floor() and k.simdnn_best()])
    dram = [k for k in cases if k.residency == "DRAM"]
    fl_dram = geomean([k.floor()[1] / k.simdnn_best()[1] for k in dram
                       if k.floor() and k.simdnn_best()])
    pe = geomean([k.peer_best()[1] / k.simdnn_best()[1] for k in cases
                  if k.peer_best() and k.simdnn_best()])
    parts = ["best SIMD vs scalar %s" % fmt_ratio(sp) if sp else
             "no SIMD kernel ran"]
    cvs = [c.cv for k in cases for c in k.cells.values()
           if c.cv is not None]
    if fl:
        parts.append("at %s of the floor (DRAM cases: %s)"
                     % (fmt_pct(100 * fl), fmt_pct(100 * fl_dram)
                        if fl_dram else "-"))
    if pe:
        parts.append("%s the speed of the best peer" % fmt_ratio(pe))
    noise = ""
    if cvs:
        noise = "; run-to-run spread: median CV %.1f%%, worst %.0f%%" % (
            100 * median(cvs), 100 * max(cvs))
    return "%s (%d cases): %s (geometric means)%s" % (
        fam, len(cases), ", ".join(parts), noise)


# The speed targets of issues 3, 4 and 5 (single thread, the reference
# machine: Zen 3 AVX2). Each check: (issue, description, cases, test) where
# test(case, index) returns (value text, target text, passed or None).


def _best(k):
    b = k.simdnn_best()
    return b[1] if b else None


def _check_max_ns(limit):
    def test(k, index):
        v = _best(k)
        if v is None:
            return ("-", "<= %.2f ns/el" % limit, None)
        return ("%.3f ns/el" % v, "<= %.2f ns/el" % limit, v <= limit)
    return test


def _check_vs_peer(peer, factor, peer_op=None):
    def test(k, index):
        other = index.get((k.family, peer_op or k.op, k.shape))
        v, p = _best(k), other.ns(peer) if other else None
        if v is None or p is None:
            return ("-", ">= %.1fx %s" % (factor, peer), None)
        return ("%.2fx (%s %.3f)" % (p / v, peer, p),
                ">= %.1fx %s" % (factor, peer), p / v >= factor)
    return test


def _check_vs_floor(factor, column=None):
    def test(k, index):
        v = _best(k)
        if column and k.ns(column) is not None:
            f, name = k.ns(column), column
        else:
            fl = k.floor()
            f, name = (fl[1], fl[0]) if fl else (None, "floor")
        if v is None or f is None:
            return ("-", "<= %.2fx %s" % (factor, column or "floor"), None)
        return ("%.2fx (%s %.3f)" % (v / f, name, f),
                "<= %.2fx %s" % (factor, column or "floor"), v / f <= factor)
    return test


TARGETS = [
    ("#3", "softmax rows 1000, 4096 and 256x1000: at most 0.32 ns/el",
     lambda k: k.op == "softmax" and k.shape in ("1x1000", "1x4096",
                                                 "256x1000"),
     _check_max_ns(0.32)),
    ("#3", "... and at least 2x oneDNN",
     lambda k: k.op == "softmax" and k.shape in ("1x1000", "1x4096",
                                                 "256x1000"),
     _check_vs_peer("onednn", 2.0)),
    ("#3", "... and at least 2x XNNPACK",
     lambda k: k.op == "softmax" and k.shape in ("1x1000", "1x4096",
                                                 "256x1000"),
     _check_vs_peer("xnnpack", 2.0)),
    ("#3", "softmax row 65536: at least 1.6x oneDNN",
     lambda k: k.op == "softmax" and k.shape == "1x65536",
     _check_vs_peer("onednn", 1.6)),
    ("#3", "softmax row 64: at least 1.5x XNNPACK",
     lambda k: k.op == "softmax" and k.shape == "1x64",
     _check_vs_peer("xnnpack", 1.5)),
    ("#3", "softmax 2^24 row (DRAM): at most 0.7 ns/el",
     lambda k: k.op == "softmax" and k.shape == "1x16777216",
     _check_max_ns(0.7)),
    ("#3", "... within 1.25x of the floor (read 2x, write 1x)",
     lambda k: k.op == "softmax" and k.shape == "1x16777216",
     _check_vs_floor(1.25)),
    ("#4", "table 8192x1024: at most 0.3 ns/el",
     lambda k: k.op.startswith("table") and k.shape == "8192x1024",
     _check_max_ns(0.3)),
    ("#4", "... within 1.6x of the streaming-write floor",
     lambda k: k.op.startswith("table") and k.shape == "8192x1024",
     _check_vs_floor(1.6, "floor-nt")),
    ("#4", "fused add and RoPE: within 1.5x of the read+write floor",
     lambda k: k.op.startswith("add") or k.op.startswith("rope"),
     _check_vs_floor(1.5)),
    ("#5", "inference: within 1.1x of the non-temporal copy",
     lambda k: k.op.startswith("inference"),
     _check_vs_floor(1.1, "floor-nt")),
    ("#5", "training forward: at most 0.6 ns/el",
     lambda k: k.op.startswith("training"), _check_max_ns(0.6)),
    ("#5", "training forward: at least 1.5x oneDNN's NHWC path",
     lambda k: k.op.startswith("training"),
     _check_vs_peer("onednn", 1.5, "training_nhwc")),
    ("#5", "backward: within 1.5x of its read+write floor",
     lambda k: k.op.startswith("backward"), _check_vs_floor(1.5)),
]


def target_rows(cases):
    """One row per target: cases met, the worst case and what it missed."""
    index = {k.key: k for k in cases}
    rows = []
    for issue, desc, select, test in TARGETS:
        results = []
        for k in cases:
            if select(k):
                value, target, ok = test(k, index)
                best = k.simdnn_best()
                results.append((k, value, target, ok,
                                best[0] if best else "-"))
        if not results:
            continue
        measured = [r for r in results if r[3] is not None]
        met = [r for r in measured if r[3]]
        missed = [r for r in measured if not r[3]]
        if len(results) == 1:
            k, value, target, ok, isa = results[0]
            detail = "%s %s (%s): %s" % (k.op, k.shape, isa, value)
        else:
            shown = missed if missed else met
            detail = "; ".join("%s %s: %s" % (r[0].op, r[0].shape, r[1])
                               for r in shown[:4])
            if len(shown) > 4:
                detail += "; ... %d more" % (len(shown) - 4)
            detail = ("missed by " if missed else "all met: ") + detail
        verdict = ("n/a" if not measured else
                   "met" if not missed else
                   "MISSED" if not met else
                   "MISSED %d/%d" % (len(missed), len(measured)))
        rows.append([issue, desc, results[0][2], verdict, detail])
    return rows


def write_report(context, cases, out_dir, title, command, notes="",
                 results_md=None):
    os.makedirs(out_dir, exist_ok=True)
    columns = (columns_present(cases, ISA_COLUMNS) +
               columns_present(cases, PEER_COLUMNS))
    text = []
    md = ["# %s" % title, ""]
    if command:
        md += ["Command: `%s`" % command, ""]
    md += ["Date: %s" % context.get("date", "?"), ""]
    if notes:
        md += [notes.rstrip(), ""]
    warns = warnings_for(context)
    for w in warns:
        text.append(w)
        md.append("> **%s**" % w)
        md.append("")
    fam_list = by_family(cases)
    md += ["## Summary", ""]
    for fam, fcases in fam_list:
        md.append("- " + family_summary(fam, fcases))
    trows_top = target_rows(cases)
    if trows_top:
        met = sum(1 for r in trows_top if r[3] == "met")
        md.append("- speed targets of issues 3-5: %d of %d met (details "
                  "below)" % (met, len(trows_top)))
    md += ["", "## Machine", ""]
    for k, v in machine_lines(context):
        md.append("- %s: %s" % (k, v))
    info = os.path.join(out_dir, "simdnn-info.txt")
    if os.path.exists(info):
        with open(info) as f:
            md += ["", "`simdnn-info` on this build:", "", "```",
                   f.read().rstrip(), "```"]
    md += ["", "## How to read the tables", "",
           "- Times are medians of the repetitions, in nanoseconds per "
           "element (the elements one call produces), single thread, "
           "CPU time of the benchmark thread (equal to wall time on a "
           "quiet machine; on a shared one it leaves out the time the "
           "thread was descheduled; the JSON holds both).",
           "- `[L1]`, `[L2]`, `[L3]`, `[DRAM]`: where the case's working "
           "set (inputs plus outputs of one call) lives. DRAM cases rotate "
           "through enough copies of their buffers to cover 4x the L3, so "
           "no call finds its data in the cache; cache cases reuse one.",
           "- Columns: each ISA forced with `simdnn_set_max_isa` and "
           "checked with `simdnn_family_isa` (`skip`: the CPU, the build "
           "or SIMDNN_MAX_ISA excludes it; the reason is listed below); "
           "peers; `floor`: the faster of the case's floor loops "
           "(`floor-reg`, regular stores, and `floor-nt`, streaming "
           "stores) on the same working set, i.e. the fastest plain loop "
           "moving the bytes the operation must move.",
           "- `SIMD vs scalar`: scalar time over the fastest SIMD ISA "
           "(named). `% of floor`: the faster floor's time over the "
           "fastest simdnn "
           "time (100% = at the floor). `vs best peer`: best peer time "
           "over the fastest simdnn time (above 1x: simdnn is faster).",
           "- Floors by operation: " + "; ".join(
               "%s: %s" % kv for kv in FLOOR_NOTES.items()) + ".",
           ""]
    for fam, fcases in by_family(cases):
        header = table_header(columns)
        rows = family_rows(fcases, columns)
        summary = family_summary(fam, fcases)
        text += ["", "== %s ==" % fam, render_table(header, rows), "",
                 summary]
        md += ["## %s" % fam, "", render_table(header, rows, True), "",
               summary, ""]
    drows = []
    for k in cases:
        best = k.simdnn_best()
        if k.residency != "DRAM" or not best:
            continue
        cell = k.cells[best[0]]
        frac = cell.counters.get("dram_floor_frac")
        floor = k.floor()
        ffrac = k.cells[floor[0]].counters.get("dram_floor_frac") \
            if floor else None
        bps = cell.counters.get("bytes_per_second")
        drows.append(["%s %s" % (k.op, k.shape), best[0],
                      "%.1f" % (bps / 1e9) if bps else "-",
                      fmt_pct(100 * frac) if frac else "-",
                      fmt_pct(100 * ffrac) if ffrac else "-"])
    if drows:
        header = ["DRAM case", "fastest ISA", "GB/s (unique bytes)",
                  "% of probe floor", "floor loop: % of probe floor"]
        md += ["## DRAM cases against the startup memory probe", "",
               "The probe (machine section) measures read, streaming-write "
               "and streaming-copy bandwidth on buffers of 4x the L3; a "
               "case's probe floor is its floor traffic at those rates. "
               "The last column shows how close the case's own floor loop "
               "gets to it (above 100%: the L3 still held part of the "
               "data).", "", render_table(header, drows, True, left=2),
               ""]
    trows = target_rows(cases)
    if trows:
        header = ["issue", "target", "bound", "verdict",
                  "cases (fastest simdnn ISA)"]
        met = sum(1 for r in trows if r[3] == "met")
        missed = sum(1 for r in trows if r[3].startswith("MISSED"))
        line = "targets: %d met, %d missed, %d not measurable" % (
            met, missed, len(trows) - met - missed)
        text += ["", "== speed targets (issues 3-5) ==",
                 render_table(header, trows, left=5), "", line]
        md += ["## Speed targets (issues 3, 4, 5)", "",
               render_table(header, trows, True, left=5), "", line, ""]
    agree = []
    peer_cols = columns_present(cases, PEER_COLUMNS)
    for k in cases:
        row = ["%s %s" % (k.op, k.shape)]
        for col in peer_cols:
            cell = k.cells.get(col)
            label = cell.label if cell else ""
            row.append(label.split("agrees_with_simdnn=")[1].split()[0]
                       if "agrees_with_simdnn=" in label else "-")
        if any(v != "-" for v in row[1:]):
            agree.append(row)
    if agree:
        md += ["## Do the peers compute the same thing?", "",
               "Before timing, each peer and simdnn run once on the same "
               "input; the number is max |peer - simdnn| / max |simdnn| "
               "over the output. Around 1e-7 means both agree to float "
               "rounding; the 2^24-element rows show the float32 running "
               "sums of the peers (simdnn accumulates in double and is "
               "within 2e-6 of a double oracle, see its tests).", "",
               render_table(["case"] + peer_cols, agree, True), ""]
    msgs = skip_messages(cases)
    if msgs:
        md += ["## Skipped and failed cells", ""]
        text += ["", "Skipped/failed cells:"]
        for (fam, col, msg), n in sorted(msgs.items()):
            line = "%s / %s (%d cases): %s" % (fam, col, n, msg)
            md.append("- " + line)
            text.append("  " + line)
        md.append("")
    chart = os.path.join(out_dir, "chart.png")
    made = make_chart(cases, chart, title)
    if made:
        md += ["## Chart", "", "![throughput against size](chart.png)", ""]
    with open(os.path.join(out_dir, "table.txt"), "w") as f:
        f.write("\n".join(text) + "\n")
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    if results_md:
        # The committed copy: the chart beside it as RESULTS.png.
        import shutil
        png = os.path.splitext(results_md)[0] + ".png"
        text_md = "\n".join(md) + "\n"
        if made:
            shutil.copyfile(chart, png)
            text_md = text_md.replace("(chart.png)",
                                      "(%s)" % os.path.basename(png))
        with open(results_md, "w") as f:
            f.write(text_md)
    print("\n".join(text))
    return made


# ----------------------------------------------------------------------
# The chart

COLORS = {"scalar": "#7f7f7f", "avx2": "#1f77b4", "avx512": "#d62728",
          "neon": "#2ca02c", "onednn": "#ff7f0e", "xnnpack": "#9467bd",
          "floor": "#000000"}
STYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D", "v", "P"]


def _rows_of(case):
    try:
        return int(case.shape.split("x")[0])
    except ValueError:
        return 1


def _panel_series(ptitle, pcases):
    """[(label, linestyle, marker, [Case])] drawn in one panel."""
    ops = []
    for k in pcases:
        if k.op not in ops:
            ops.append(k.op)
    series = []
    for oi, op in enumerate(ops):
        sel = sorted([k for k in pcases if k.op == op],
                     key=lambda k: (k.elements or 0, k.shape))
        if ptitle.startswith("batch norm"):
            series.append((op, "--" if op.endswith("nhwc") else "-", "o",
                           sel))
        elif ptitle.startswith("softmax") and op == "softmax_axis":
            series.append(("softmax_axis (1 x 21 x H*W)", ":", "s",
                           [k for k in sel if _rows_of(k) == 1]))
            for k in sel:
                if _rows_of(k) > 1:
                    series.append(("softmax_axis %s" % k.shape, "none", "P",
                                   [k]))
        elif ptitle.startswith("softmax"):
            style = "--" if op.startswith("log") else "-"
            single = [k for k in sel if _rows_of(k) == 1]
            batch = [k for k in sel if _rows_of(k) > 1]
            series.append((op + " (one row)", style, "o", single))
            for k in batch:  # batches are another shape, not a bigger row
                series.append(("%s %s" % (op, k.shape), "none",
                               "*" if op == "softmax" else "X", [k]))
        else:
            series.append((op, STYLES[oi % len(STYLES)],
                           MARKERS[oi % len(MARKERS)], sel))
    return series


def make_chart(cases, path, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
    except ImportError:
        print("(matplotlib not found: no chart; apt-get install "
              "python3-matplotlib and run /usr/bin/python3)")
        return False
    # One panel per family; batch norm gets one per pass (inference,
    # training, backward) so that no panel holds more than a dozen lines.
    # Batch-norm panels put the layer shapes side by side in size order
    # (several ResNet shapes have the same element count).
    panels = []
    fams = dict(by_family(cases))
    if "softmax" in fams:
        panels.append(("softmax (log-softmax dashed, general axis dotted)",
                       fams["softmax"]))
    if "posenc" in fams:
        panels.append(("positional encodings", fams["posenc"]))
    if "batchnorm" in fams:
        for kind in ("inference", "training", "backward"):
            sel = [k for k in fams["batchnorm"] if k.op.startswith(kind)]
            if sel:
                panels.append(("batch norm %s (NCHW solid, NHWC dashed)"
                               % kind, sel))
    if not panels:
        return False
    ncols = min(3, len(panels))
    nrows = (len(panels) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.4 * ncols,
                                                    5.0 * nrows),
                             squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    used_columns = []
    for ax, (ptitle, pcases) in zip(axes.flat, panels):
        categorical = ptitle.startswith("batch norm")
        shapes = []
        if categorical:
            for k in sorted(pcases, key=lambda k: (k.elements or 0,
                                                   k.shape)):
                if k.shape not in shapes:
                    shapes.append(k.shape)
        columns = [c for c in ISA_COLUMNS + PEER_COLUMNS
                   if any(k.ns(c) for k in pcases)] + ["floor"]
        op_handles = []
        for label, style, marker, sel in _panel_series(ptitle, pcases):
            for col in columns:
                xs, ys = [], []
                for k in sel:
                    if col == "floor":
                        f = k.floor()
                        v = f[1] if f else None
                    else:
                        v = k.ns(col)
                    if v and k.elements:
                        xs.append(shapes.index(k.shape) if categorical
                                  else k.elements)
                        ys.append(1.0 / v)  # G elements/s
                if xs:
                    ax.plot(xs, ys, linestyle=style, marker=marker,
                            markersize=7 if marker in "*X" else 4,
                            color=COLORS.get(col, "#17becf"),
                            linewidth=1.4 if col != "floor" else 1.0,
                            alpha=0.9)
            op_handles.append(Line2D([], [], color="#444444",
                                     linestyle=style, marker=marker,
                                     label=label))
        for c in columns:
            if c not in used_columns:
                used_columns.append(c)
        if categorical:
            ax.set_xticks(range(len(shapes)))
            ax.set_xticklabels([s[2:] if s.startswith("1x") else
                                "N=" + s for s in shapes], rotation=35,
                               ha="right", fontsize=7)
            ax.set_xlabel("layer shape (C x H x W at batch 1), in size "
                          "order")
        else:
            ax.set_xscale("log")
            ax.set_xlabel("elements per call")
        ax.set_yscale("log")
        ax.set_ylabel("throughput (G elements/s, higher is better)")
        ax.set_title(ptitle, fontsize=10)
        ax.grid(True, which="both", alpha=0.25)
        if not categorical:
            ax.legend(handles=op_handles, fontsize=7, loc="best",
                      title="operation", title_fontsize=7)
    # One legend of the columns (colors) for all panels, under the title;
    # each panel's own legend names its operations (line styles).
    order = [c for c in ISA_COLUMNS + PEER_COLUMNS + ["floor"]
             if c in used_columns]
    fig.legend(handles=[Line2D([], [], color=COLORS.get(c, "#17becf"),
                               linewidth=2.5, label=c) for c in order],
               loc="upper center", ncol=len(order), fontsize=9,
               bbox_to_anchor=(0.5, 0.965), frameon=False)
    fig.suptitle(title + " - single thread; floor = fastest plain loop "
                 "with the same traffic", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


# ----------------------------------------------------------------------
# Compare


def compare(path_a, path_b, out_dir):
    ctx_a, cases_a = load(path_a)
    ctx_b, cases_b = load(path_b)
    index_b = {k.key: k for k in cases_b}
    def ns(k, col):
        if col == "floor":
            f = k.floor()
            return f[1] if f else None
        return k.ns(col)

    # Columns measured in both reports for at least one common case.
    common_cols = [c for c in ISA_COLUMNS + PEER_COLUMNS + ["floor"]
                   if any(ns(k, c) and index_b.get(k.key) and
                          ns(index_b[k.key], c) for k in cases_a)]

    def describe(ctx):
        return "%s, %s, SIMDNN_MAX_ISA=%s, families use %s" % (
            ctx.get("date", "?"), ctx.get("cpu_model", "?"),
            ctx.get("simdnn_max_isa_env", "?"),
            ctx.get("simdnn_family_isa", "?"))

    header = (["case"] + ["A best", "B best", "B vs A (best)"] +
              ["%s B vs A" % c for c in common_cols])
    text = ["A: %s (%s)" % (path_a, describe(ctx_a)),
            "B: %s (%s)" % (path_b, describe(ctx_b)),
            "Ratios are A time / B time: above 1x, B is faster.", ""]
    md = ["# simdnn benchmark comparison", "",
          "- A: `%s` (%s)" % (path_a, describe(ctx_a)),
          "- B: `%s` (%s)" % (path_b, describe(ctx_b)),
          "- Ratios are A time / B time per element: above 1x, B is "
          "faster. `best` is the fastest simdnn ISA of each report.", ""]
    fams = {}
    for ka in cases_a:
        kb = index_b.get(ka.key)
        if kb is None:
            continue
        fams.setdefault(ka.family, []).append((ka, kb))
    summaries = []
    for fam in FAMILIES + sorted(set(fams) - set(FAMILIES)):
        pairs = fams.get(fam)
        if not pairs:
            continue
        rows, best_ratios = [], []
        col_ratios = {c: [] for c in common_cols}
        for ka, kb in pairs:
            ba, bb = ka.simdnn_best(), kb.simdnn_best()
            r = ba[1] / bb[1] if ba and bb else None
            if r:
                best_ratios.append(r)
            row = ["%s %s" % (ka.op, ka.shape),
                   "%s %s" % (fmt_ns(ba[1]), ba[0]) if ba else "-",
                   "%s %s" % (fmt_ns(bb[1]), bb[0]) if bb else "-",
                   fmt_ratio(r)]
            for c in common_cols:
                va, vb = ns(ka, c), ns(kb, c)
                cr = va / vb if va and vb else None
                if cr:
                    col_ratios[c].append(cr)
                row.append(fmt_ratio(cr))
            rows.append(row)
        g = geomean(best_ratios)
        parts = ["%s (%d cases): B vs A best %s" % (fam, len(pairs),
                                                     fmt_ratio(g))]
        for c in common_cols:
            gc = geomean(col_ratios[c])
            if gc:
                parts.append("%s %s" % (c, fmt_ratio(gc)))
        summary = ", ".join(parts) + " (geometric means)"
        summaries.append(summary)
        text += ["== %s ==" % fam, render_table(header, rows), "", summary,
                 ""]
        md += ["## %s" % fam, "", render_table(header, rows, True), "",
               summary, ""]
    only_a = [k.key for k in cases_a if k.key not in index_b]
    only_b = [k.key for k in cases_b
              if k.key not in {c.key for c in cases_a}]
    if only_a or only_b:
        line = "cases in only one report: A %d, B %d" % (len(only_a),
                                                        len(only_b))
        text.append(line)
        md.append(line)
    text += ["Summary:"] + ["  " + s for s in summaries]
    print("\n".join(text))
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, "compare.md")
        with open(path, "w") as f:
            f.write("\n".join(md) + "\n")
        print("\nComparison written to %s" % path)
    return 0 if summaries else 1


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", nargs="?", help="results.json of one run")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"))
    ap.add_argument("--out", help="output folder")
    ap.add_argument("--title", default="simdnn benchmark report")
    ap.add_argument("--command", default="")
    ap.add_argument("--notes", help="Markdown file put after the title")
    ap.add_argument("--results-md", help="also write this Markdown file "
                    "(e.g. bench/RESULTS.md) with the chart beside it")
    args = ap.parse_args(argv)
    if args.compare:
        return compare(args.compare[0], args.compare[1], args.out)
    if not args.results:
        ap.error("give a results.json or --compare A B")
    context, cases = load(args.results)
    out_dir = args.out or os.path.dirname(os.path.abspath(args.results))
    if not cases:
        print("no benchmark results in %s" % args.results)
        return 1
    notes = ""
    if args.notes:
        with open(args.notes) as f:
            notes = f.read()
    write_report(context, cases, out_dir, args.title, args.command, notes,
                 args.results_md)
    print("\nReport: %s (table.txt, report.md, chart.png, results.json)"
          % out_dir)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:  # e.g. piped into head: the files are written
        sys.exit(0)
