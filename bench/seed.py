#!/usr/bin/python3
"""bench/seed.py: the seed talk's comparison on our corpus, in one run: converting text parts
(an iconv process per part, Python's codecs, mimeutf8.convert through CFFI) and normalizing
messages (the stdlib peer, a mimeutf8 process per message, mimeutf8.normalize in process, the C
batch mimeutf8 -j1).  Prints a Markdown table and writes it to bench/out/seed.md.

  /usr/bin/python3 bench/seed.py [--build DIR] [--count N] [--seed N] [--runs N] [--quick]

Needs the Python package built (PYTHONPATH is set from --build) and ../shared.
"""
import argparse
import codecs
import email
import email.policy
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from run import loadavg, machine_info  # noqa: E402  (bench/run.py: the same header lines)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def cpu_now():
    """CPU time of this process (all its threads) and of its reaped children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(fns, runs):
    """(median wall, best wall, median CPU) of each fn over `runs` calls, the fns taking turns
    (round robin), so that a slow spell of a shared machine falls on all of them alike."""
    walls = [[] for _ in fns]
    cpus = [[] for _ in fns]
    for _ in range(runs):
        for k, fn in enumerate(fns):
            c0, t0 = cpu_now(), time.perf_counter()
            fn()
            walls[k].append(time.perf_counter() - t0)
            cpus[k].append(cpu_now() - c0)
    return [(statistics.median(w), min(w), statistics.median(c)) for w, c in zip(walls, cpus)]


def text_parts(corpus, names, mimeutf8):
    """(decoded body, declared charset) of every text part whose label iconv, Python's codecs
    and mimeutf8 all know: the parts the three converters can all be asked about."""
    parts, skipped = [], 0
    iconv_ok = {}
    for name in names:
        with open(os.path.join(corpus, name), "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.compat32)
        for part in msg.walk():
            if part.is_multipart() or part.get_content_maintype() != "text":
                continue
            charset = part.get_content_charset()
            body = part.get_payload(decode=True) or b""
            if charset is None or not body:
                skipped += 1
                continue
            if charset not in iconv_ok:
                try:
                    codecs.lookup(charset)
                    known = mimeutf8.canonical(charset) is not None and subprocess.run(
                        ["iconv", "-f", charset, "-t", "UTF-8"], input=b"a",
                        capture_output=True).returncode == 0
                except LookupError:
                    known = False
                iconv_ok[charset] = known
            if iconv_ok[charset]:
                parts.append((body, charset))
            else:
                skipped += 1
    return parts, skipped


def parser(doc, out_name, runs_help):
    """The options both Python benchmarks take (this one and dask_bench.py)."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--runs", type=int, default=3, help=runs_help)
    p.add_argument("--out", default=os.path.join(HERE, "out", out_name))
    p.add_argument("--quick", action="store_true", help="200 messages, one run: a smoke test")
    return p


def prepare(args):
    """The build's package put on the import path and PYTHONPATH (for child processes too);
    returns the shared directory, the command's path and the machine (bench/run.py's
    description), or None when ../shared is absent."""
    if args.quick:
        args.count, args.runs = 200, 1
    build = os.path.abspath(args.build)
    shared = os.path.join(ROOT, "..", "shared")
    if not os.path.isfile(os.path.join(shared, "corpus", "gen.py")):
        print("SKIP: ../shared is absent")
        return None
    package = os.path.join(build, "plugin", "python")
    sys.path.insert(0, package)
    os.environ["PYTHONPATH"] = package + os.pathsep + os.environ.get("PYTHONPATH", "")
    tool = os.path.join(build, "plugin", "mimeutf8")
    info = machine_info(tool)
    info["load_before"] = loadavg()
    return shared, tool, info


def make_corpus(shared, tmp, args):
    """gen.py's messages in TMP/corpus (its answer key, not mail, moved beside it)."""
    corpus = os.path.join(tmp, "corpus")
    subprocess.run([sys.executable, os.path.join(shared, "corpus", "gen.py"), "--out", corpus,
                    "--count", str(args.count), "--seed", str(args.seed)], check=True,
                   capture_output=True)
    os.rename(os.path.join(corpus, "key.jsonl"), os.path.join(tmp, "key.jsonl"))
    return corpus


def main():
    args = parser(__doc__, "seed.md", "runs of each in-process row (median)").parse_args()
    prepared = prepare(args)
    if prepared is None:
        return 0
    shared, tool, info = prepared
    import mimeutf8

    tmp = tempfile.mkdtemp(prefix="mimeutf8-seed-")
    try:
        corpus = make_corpus(shared, tmp, args)
        names = sorted(n for n in os.listdir(corpus) if n.endswith(".eml"))
        paths = [os.path.join(corpus, n) for n in names]
        size = sum(os.path.getsize(x) for x in paths)
        parts, skipped = text_parts(corpus, names, mimeutf8)
        part_bytes = sum(len(b) for b, _ in parts)
        log("corpus: %d messages, %d text parts (%d left out)" % (len(names), len(parts), skipped))
        rows = []

        # ---- per text part ----
        failed = []

        def iconv_each():
            failed.clear()
            for body, charset in parts:
                r = subprocess.run(["iconv", "-f", charset, "-t", "UTF-8"], input=body,
                                   capture_output=True)
                if r.returncode != 0:
                    failed.append(charset)

        def codecs_each():
            for body, charset in parts:
                body.decode(charset, "replace")

        def convert_each():
            for body, charset in parts:
                mimeutf8.convert(body, charset)

        log("parts: iconv processes")
        (iconv,) = timed([iconv_each], 1)
        log("parts: codecs, mimeutf8.convert")
        py, cffi = timed([codecs_each, convert_each], args.runs)
        n = len(parts)
        rows.append(("part", "`subprocess.run([\"iconv\", \"-f\", X, \"-t\", \"UTF-8\"])` per part",
                     iconv, 1, n))
        rows.append(("part", "Python codecs, `bytes.decode(X, \"replace\")`", py, args.runs, n))
        rows.append(("part", "`mimeutf8.convert(bytes, X)` (CFFI)", cffi, args.runs, n))

        # ---- per message ----
        data = []
        for x in paths:
            with open(x, "rb") as f:
                data.append(f.read())

        def peer():
            out = os.path.join(tmp, "peer")
            subprocess.run([sys.executable, os.path.join(shared, "corpus", "peer_python.py"),
                            corpus, out], check=True, capture_output=True)

        def process_each():
            for d in data:
                r = subprocess.run([tool], input=d, capture_output=True)
                assert r.returncode == 0, r.stderr

        state = {"run": 0}

        def inprocess_files():
            out = os.path.join(tmp, "py-%d" % state["run"])
            state["run"] += 1
            os.mkdir(out)
            for x in paths:
                with open(x, "rb") as f:
                    result = mimeutf8.normalize(f.read(), name=x)
                with open(os.path.join(out, os.path.basename(x)), "wb") as f:
                    f.write(result.data)

        def inprocess_bytes():
            for d in data:
                mimeutf8.normalize(d)

        def batch():
            out = os.path.join(tmp, "c-%d" % state["run"])
            state["run"] += 1
            subprocess.run([tool, "-q", "-j", "1", "-o", out] + paths, check=True)

        log("messages: peer, process per message")
        peer_t, process_t = timed([peer, process_each], 1)
        log("messages: in process, batch")
        files_t, bytes_t, batch_t = timed([inprocess_files, inprocess_bytes, batch], args.runs)
        rows.append(("message", "stdlib peer (`peer_python.py`, one process)", peer_t, 1,
                     len(paths)))
        rows.append(("message", "`subprocess.run([\"mimeutf8\"])` per message", process_t, 1,
                     len(paths)))
        rows.append(("message", "`mimeutf8.normalize` in process, read + write files", files_t,
                     args.runs, len(paths)))
        rows.append(("message", "`mimeutf8.normalize` in process, bytes in memory", bytes_t,
                     args.runs, len(paths)))
        rows.append(("message", "`mimeutf8 -j1 -o OUT FILE...` (C batch)", batch_t, args.runs,
                     len(paths)))
        # the in-process outputs are the batch's
        py_out, c_out = os.path.join(tmp, "py-0"), os.path.join(tmp, "c-1")
        same = sum(open(os.path.join(py_out, n), "rb").read() == open(os.path.join(c_out, n),
                                                                        "rb").read()
                   for n in names)
        info["load_after"] = loadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    per = {label: med / count for _, label, (med, _best, _cpu), _r, count in rows}
    per_cpu = {label: cpu / count for _, label, (_med, _best, cpu), _r, count in rows}
    keys = [label for _, label, *_ in rows]
    lines = ["Machine: %(nproc)d cores (%(cpu)s), %(memory)s RAM, Linux %(kernel)s; "
             "Python %(python)s (%(exe)s); cffi %(cffi)s.  " % dict(info, exe=sys.executable,
                                                                    cffi=cffi_version()),
             "Measured %(date)s on %(mimeutf8)s, commit %(commit)s.  Load average %(load_before)s "
             "before, %(load_after)s after.  " % info,
             "Corpus: `gen.py --seed %d --count %d`: %d messages, %.1f MB; %d text parts with a "
             "label iconv, Python and mimeutf8 all know (%.1f MB decoded; %d other parts left out)."
             % (args.seed, args.count, len(names), size / 1e6, len(parts), part_bytes / 1e6,
                skipped),
             "",
             "| unit | what | wall (median) | runs, best wall | per unit, wall | per unit, CPU |",
             "|---|---|---:|---|---:|---:|"]
    for unit, label, (med, best, cpu), runs, count in rows:
        lines.append("| %s | %s | %.3f s | %d, %.3f s | %s | %s |"
                     % (unit, label, med, runs, best, fmt_per(med / count), fmt_per(cpu / count)))
    goals = [
        ("iconv process per part / `mimeutf8.convert`", 0, 2, ">= 50"),
        ("*(info)* Python codecs / `mimeutf8.convert`", 1, 2, ""),
        # both from bytes in memory to bytes in memory (the process through its pipes), so that
        # the output files' creation, which only the in-process row would pay, stays out of it
        ("mimeutf8 process per message / `mimeutf8.normalize` in process, bytes in memory", 4,
         6, ">= 20"),
        ("`mimeutf8.normalize` in process / C batch -j1", 5, 7, "<= 1.3"),
        ("*(info)* stdlib peer / `mimeutf8.normalize` in process", 3, 5, ""),
    ]
    lines += ["", "| ratio of per-unit costs | wall | CPU | goal | |", "|---|---:|---:|---:|---|"]
    for label, a, b, goal in goals:
        wall = per[keys[a]] / per[keys[b]]
        cpu = per_cpu[keys[a]] / per_cpu[keys[b]]

        def ok(value):
            return value >= float(goal[3:]) if goal.startswith(">=") else value <= float(goal[3:])

        met = "" if not goal else ("met" if ok(wall) and ok(cpu) else
                                   "met on %s only" % ("wall" if ok(wall) else "CPU")
                                   if ok(wall) or ok(cpu) else "missed")
        lines.append("| %s | %.2f | %.2f | %s | %s |" % (label, wall, cpu,
                                                        goal.replace(">=", "≥")
                                                        .replace("<=", "≤"), met))
    lines += ["", "Checks: `iconv` exited non-zero on %d of %d parts (invalid input: it stops "
              "there, without -c); `mimeutf8.normalize` output identical to the C batch's for %d "
              "of %d messages." % (len(failed), len(parts), same, len(names))]
    write_table(lines, args.out)
    return 0


def write_table(lines, path):
    """Prints the Markdown and writes it to `path` too, for the README."""
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    print(text)


def fmt_per(seconds):
    return "%.1f µs" % (seconds * 1e6) if seconds < 1e-3 else "%.2f ms" % (seconds * 1e3)


def cffi_version():
    import cffi
    return cffi.__version__


if __name__ == "__main__":
    sys.exit(main())
