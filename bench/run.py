#!/usr/bin/env python3
"""bench/run.py: measures mimeutf8 against its GMime floors and its Python peers on one machine,
in one run, and writes the table (bench/out/latest.md by default).

  python3 bench/run.py [--build DIR] [--runs N] [--peer-runs N] [--count N] [--jobs N]
                       [--big-mib M] [--out FILE] [--keep] [--quick]

Python 3 standard library only.  See bench/README.md for what each figure means.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "bench")
MB = 1000 * 1000
RSS_GOAL_KIB = 12 * MB // 1024  # 12 MB (issue 14), read as 12 x 10^6 bytes (the stricter reading)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --- running children -------------------------------------------------------------------------

class Child:
    """Spawns one program with posix_spawn (cheap, so that per-message figures are mostly the
    program's own cost), its stdin from a file, a pipe fed by us, or /dev/null, its stdout to a
    file or /dev/null, its stderr appended to a log; waits for it with wait4 for its CPU time."""

    def __init__(self, stderr_log):
        self.stderr_log = stderr_log

    def run(self, argv, stdin=None, stdout=None, pipe_from=None):
        actions = [(os.POSIX_SPAWN_OPEN, 2, self.stderr_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)]
        if stdout is None:
            stdout = os.devnull
        actions.append((os.POSIX_SPAWN_OPEN, 1, stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
        feeder = None
        if pipe_from is not None:
            r, w = os.pipe()  # both close-on-exec; dup2 clears it on the child's 0
            actions.append((os.POSIX_SPAWN_DUP2, r, 0))
        else:
            actions.append((os.POSIX_SPAWN_OPEN, 0, stdin or os.devnull, os.O_RDONLY, 0))
        t0 = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
        if pipe_from is not None:
            os.close(r)
            feeder = threading.Thread(target=feed, args=(pipe_from, w))
            feeder.start()
        _, status, ru = os.wait4(pid, 0)
        wall = time.perf_counter() - t0
        if feeder is not None:
            feeder.join()
        # (not ru_maxrss: it starts at our own RSS, see peak-rss.c)
        return os.waitstatus_to_exitcode(status), wall, ru.ru_utime + ru.ru_stime


def feed(path, fd):
    """Writes the file into the pipe, as cat would; the child may stop reading early."""
    try:
        with open(path, "rb") as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
    except BrokenPipeError:
        pass
    finally:
        os.close(fd)


# --- the benchmarks ---------------------------------------------------------------------------

class Bench:
    """One row of the timing table: a name, how many runs, and a function that does one run
    into a fresh OUTDIR and returns (wall s, user+sys s, failures)."""

    def __init__(self, key, label, runs, fn, info=False, messages=True):
        # messages: the row processes the corpus (False: spin, which has no per-message cost)
        self.key, self.label, self.runs, self.fn, self.info = key, label, runs, fn, info
        self.messages = messages
        self.walls, self.cpus, self.failures = [], [], 0
        self.last_out = None

    def median_wall(self):
        return statistics.median(self.walls) if self.walls else None

    def best_wall(self):
        return min(self.walls) if self.walls else None

    def median_cpu(self):
        return statistics.median(self.cpus) if self.cpus else None


# sh -c INDEPENDENT sh N MIMEUTF8 OUT FILE...: N mimeutf8 -j1 -o OUT/k FILE... at once; fails if
# any fails
INDEPENDENT = """n=$1 m=$2 o=$3; shift 3; pids=; k=0
while [ $k -lt $n ]; do mkdir -p "$o/$k"; "$m" -q -j 1 -o "$o/$k" "$@" & pids="$pids $!"; k=$((k+1)); done
s=0; for p in $pids; do wait $p || s=1; done; exit $s"""


def one_process(child, argv_fn):
    def fn(out):
        code, wall, cpu = child.run(argv_fn(out))
        return wall, cpu, int(code != 0)
    return fn


def per_message(child, argv, files):
    """One process per message, `prog < m > OUTDIR/m`, timed over the whole corpus."""
    def fn(out):
        fails = 0
        cpu = 0.0
        t0 = time.perf_counter()
        for name in files:
            code, _, c = child.run(argv, stdin=name, stdout=os.path.join(out, name))
            cpu += c
            fails += code != 0
        return time.perf_counter() - t0, cpu, fails
    return fn


def run_benches(benches, out_root):
    rounds = max(b.runs for b in benches)
    for r in range(rounds):
        # round robin, so that a slow spell on a shared machine falls on every row alike
        for b in benches:
            if r >= b.runs:
                continue
            # A new directory each run, and nothing deleted until the end: deleting between runs
            # would leave the file system busy (and ext4 slower to allocate inodes) during the next.
            out = os.path.join(out_root, b.key, str(r))
            os.makedirs(out)
            b.last_out = out
            wall, cpu, fails = b.fn(out)
            b.walls.append(wall)
            b.cpus.append(cpu)
            b.failures = max(b.failures, fails)
            log("  round %d/%d  %-34s %8.3f s wall %8.3f s cpu%s" % (
                r + 1, rounds, b.label, wall, cpu, "  (%d failed)" % fails if fails else ""))


# --- checks -----------------------------------------------------------------------------------

def same_bytes(a, b):
    try:
        with open(a, "rb") as fa, open(b, "rb") as fb:
            return fa.read() == fb.read()
    except OSError:
        return False


def copy_fidelity(corpus, out, keys):
    """How many LF and CRLF messages came out byte-identical: {crlf: [identical, total]}."""
    tally = {False: [0, 0], True: [0, 0]}
    for k in keys:
        t = tally[bool(k["crlf"])]
        t[1] += 1
        t[0] += same_bytes(os.path.join(corpus, k["file"]), os.path.join(out, k["file"]))
    return tally


def conformance(shared, corpus, out):
    p = subprocess.run([sys.executable, os.path.join(shared, "corpus", "check.py"), corpus, out, "--json"],
                       capture_output=True, text=True)
    lines = p.stdout.strip().splitlines()
    try:
        result = json.loads(lines[0])
    except (IndexError, ValueError):
        result = None
    summary = lines[-1] if lines else "(no output: %s)" % p.stderr.strip()[-200:]
    return result, summary, p.returncode


def identical_trees(a, b, files):
    return sum(not same_bytes(os.path.join(a, f), os.path.join(b, f)) for f in files)


# --- the machine ------------------------------------------------------------------------------

def machine_info(mimeutf8):
    info = {}
    info["date"] = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    info["nproc"] = len(os.sched_getaffinity(0))
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["cpu"] = model
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                info["memory"] = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        info["memory"] = "unknown"
    info["kernel"] = platform.release()
    info["python"] = platform.python_version()
    info["gmime"] = tool_output(["pkg-config", "--modversion", "gmime-3.0"])
    info["mimeutf8"] = tool_output([mimeutf8, "--version"])
    commit = tool_output(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = tool_output(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])
    info["commit"] = commit + (" (work tree modified)" if dirty and dirty != "?" else "")
    return info


def tool_output(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (p.stdout.strip() or p.stderr.strip()).splitlines()[0] if (p.stdout or p.stderr) else ""
    except (OSError, subprocess.SubprocessError):
        return "?"


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "?"


# --- the table --------------------------------------------------------------------------------

def fmt_s(x):
    if x is None:
        return "n/a"
    return "%.3f s" % x if x < 10 else "%.2f s" % x


def fmt_spread(b):
    if not b.walls:
        return ""
    if len(b.walls) == 1:
        return "1 run"
    return "%d runs, %s–%s" % (len(b.walls), fmt_s(min(b.walls))[:-2], fmt_s(max(b.walls)))


def verdict(value, goal, at_least):
    if value is None:
        return "n/a"
    return "met" if (value >= goal if at_least else value <= goal) else "missed"


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_ratio(x):
    return "n/a" if x is None else "%.2f" % x


def render(info, args, corpus_bytes, n_files, benches, has_j, jobs, rss_rows, checks, notes):
    by = {b.key: b for b in benches}
    L = []
    L.append("## Benchmark (`python3 bench/run.py`)")
    L.append("")
    L.append("Machine: %d cores (%s), %s RAM, Linux %s; GMime %s; Python %s.  " % (
        info["nproc"], info["cpu"], info["memory"], info["kernel"], info["gmime"], info["python"]))
    L.append("Measured %s on %s, commit %s.  " % (info["date"], info["mimeutf8"], info["commit"]))
    L.append("Corpus: `gen.py --seed %d --count %d`, %d messages, %.1f MB.  Load average %s before, %s after." % (
        args.seed, args.count, n_files, corpus_bytes / MB, info["load_before"], info["load_after"]))
    L.append("")
    L.append("| program | wall (median) | user+sys (median) | per message | MB/s | runs, wall range |")
    L.append("|---|---:|---:|---:|---:|---|")
    for b in benches:
        w, c = b.median_wall(), b.median_cpu()
        if w is None:
            na = "n/a (no -j yet)" if b.key == "batch-jN" and not has_j else "n/a"
            L.append("| %s | %s | | | | |" % (b.label, na))
            continue
        fail = " **(%d exits ≠ 0)**" % b.failures if b.failures else ""
        if not b.messages:
            L.append("| %s%s | %s | %s | | | %s |" % (b.label, fail, fmt_s(w), fmt_s(c), fmt_spread(b)))
            continue
        rate = corpus_bytes / MB / w
        L.append("| %s%s | %s | %s | %.2f ms | %s | %s |" % (
            b.label, fail, fmt_s(w), fmt_s(c), 1000 * w / n_files, "%.1f" % rate if rate < 10 else "%.0f" % rate,
            fmt_spread(b)))
    L.append("")

    cost = info.get("in_process")
    if cost:
        # bench/parse-cost.c: a sync engine's call per message, in one process
        L.append("In one process, CPU per message (median of %d rounds over the %d messages, "
                 "bench/parse-cost.c):" % (cost["rounds"], cost["messages"]))
        L.append("")
        L.append("| call | CPU per message | / GMime's parse |")
        L.append("|---|---:|---:|")
        for key, label in (("gmime_parse", "GMime's own parse (`g_mime_parser_construct_message`)"),
                           ("gmime_parse_text", "GMime's parse + `g_mime_text_part_get_text` on every text part"),
                           ("mimeutf8_normalize_buffer", "`mimeutf8_normalize_buffer` (the normalized message)"),
                           ("mimeutf8_parse", "`mimeutf8_parse` (the parsed view: headers, parts, texts)")):
            L.append("| %s | %.1f µs | %.2f |" % (label, cost[key], cost[key] / cost["gmime_parse"]))
        L.append("")

    def w(key):
        return by[key].median_wall() if key in by else None

    def c(key):
        return by[key].median_cpu() if key in by else None

    def best(key):
        return by[key].best_wall() if key in by else None

    def three(a, b):
        return ratio(w(a), w(b)), ratio(best(a), best(b)), ratio(c(a), c(b))

    # issue 14's goals
    goals = [
        ("mimeutf8 -j1 batch / bare GMime, converters pinned", three("batch-j1", "bare-pinned"), 1.0,
         False),
        ("mimeutf8 -j1 batch, utf8 profile / cp of the same files", three("utf8-j1", "utf8-cp"), 3,
         False),
        ("Python peer / mimeutf8 -j1 batch", three("peer", "batch-j1"), 6, True),
        ("subprocess peer / mimeutf8 -j1 batch", three("peer-sub", "batch-j1"), 40, True),
        ("per-message mimeutf8 / per-message gmime-min", three("msg-mimeutf8", "msg-min"), 1.15, False),
        ("-j%d throughput / -j1 throughput" % jobs, three("batch-j1", "batch-jN")[:2] + (None,), 1.8, True),
    ]
    if "mailparser" in by:
        goals.append(("mailparser (npm) / mimeutf8 -j1 batch", three("mailparser", "batch-j1"), 6, True))
    L.append("The verdict is on the medians of wall time; the ratio of the best runs and of CPU time are "
             "printed beside it.")
    L.append("")
    L.append("| ratio | wall, medians | wall, best runs | user+sys, medians | goal | |")
    L.append("|---|---:|---:|---:|---:|---|")
    for name, (rw, rb, rc), goal, at_least in goals:
        if name.startswith("-j") and not has_j:
            L.append("| %s | n/a (no -j yet) | | | %s %s | n/a (no -j yet) |" % (
                name, "≥" if at_least else "≤", goal))
            continue
        L.append("| %s | %s | %s | %s | %s %s | %s |" % (
            name, fmt_ratio(rw), fmt_ratio(rb), fmt_ratio(rc) if rc is not None else "",
            "≥" if at_least else "≤", goal, verdict(rw, goal, at_least)))
    if w("spin-1") and w("spin-N"):
        ceiling = jobs * w("spin-1") / w("spin-N")
        L.append("| *(info)* the machine's ceiling: %d copies of a CPU-bound loop / 1, throughput "
                 "(bench/spin.c) | %s | %s | | | |" % (
                     jobs, fmt_ratio(ceiling), fmt_ratio(jobs * best("spin-1") / best("spin-N"))))
        rw = ratio(w("batch-j1"), w("batch-jN"))
        if rw is not None:
            L.append("| *(info)* -j%d / -j1 throughput, as a share of that ceiling | %.0f%% | | | | |"
                     % (jobs, 100 * rw / ceiling))
    if w("batch-j1xN") and w("batch-jN"):
        work = jobs * w("batch-j1") / w("batch-j1xN")
        L.append("| *(info)* this work's ceiling: %d independent -j1 batches at once / 1, throughput "
                 "| %s | %s | | | |" % (jobs, fmt_ratio(work), fmt_ratio(
                     jobs * best("batch-j1") / best("batch-j1xN"))))
        L.append("| *(info)* -j%d / -j1 throughput, as a share of that ceiling | %.0f%% | | | | |"
                 % (jobs, 100 * ratio(w("batch-j1"), w("batch-jN")) / work))
    if "bare" in by and by["bare"].walls:
        rw, rb, rc = three("batch-j1", "bare")
        L.append("| *(info)* mimeutf8 -j1 batch / gmime-bare, converters not pinned | %s | %s | %s | | |" % (
            fmt_ratio(rw), fmt_ratio(rb), fmt_ratio(rc)))
    L.append("")
    L.append("Peak RSS on `gen.py --profile big --big-mib %d` (one message, %.1f MB):" % (
        args.big_mib, info["big_bytes"] / MB))
    L.append("")
    L.append("| program, input | peak RSS | wall | goal | |")
    L.append("|---|---:|---:|---:|---|")
    for label, kib, wall, code, goal in rss_rows:
        if kib is None:
            L.append("| %s | n/a | | | |" % label)
            continue
        bad = " **(exit %d)**" % code if code else ""
        L.append("| %s%s | %.1f MB | %s | %s | %s |" % (
            label, bad, kib * 1024 / MB, fmt_s(wall), "≤ 12 MB" if goal else "",
            verdict(-kib, -RSS_GOAL_KIB, True) if goal else "*(reference)*"))
    L.append("")
    L.append("Checks:")
    L.append("")
    for line in checks:
        L.append("- " + line)
    if notes:
        L.append("")
        L.append("Notes:")
        L.append("")
        for line in notes:
            L.append("- " + line)
    L.append("")
    return "\n".join(L)


# --- main -------------------------------------------------------------------------------------

def mailparser_peer():
    """(node, its version) when bench/mailparser can run, after installing its pinned packages
    (package-lock.json) on first use; None without Node.js or npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        return None
    here = os.path.join(HERE, "mailparser")
    if not os.path.isdir(os.path.join(here, "node_modules", "mailparser")):
        if npm is None:
            return None
        log("bench: npm ci in bench/mailparser (the mailparser peer's pinned packages)")
        if subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=here,
                          stdout=subprocess.DEVNULL).returncode != 0:
            return None
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    return node, version.lstrip("v")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="meson build dir (default: build)")
    ap.add_argument("--runs", type=int, default=5, help="runs of each fast row (default 5)")
    ap.add_argument("--peer-runs", type=int, help="runs of each Python peer (default: min(3, runs))")
    ap.add_argument("--msg-runs", type=int, help="runs of each process-per-message row (default: min(3, runs))")
    ap.add_argument("--count", type=int, default=2000, help="messages to generate (default 2000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)), help="N of -jN (default: cores)")
    ap.add_argument("--big-mib", type=int, default=64, help="size of the peak-RSS message (default 64)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "latest.md"), help="Markdown table")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--quick", action="store_true", help="smoke test: 200 messages, 1 run, an 8 MiB big message")
    args = ap.parse_args()
    if args.quick:
        args.count, args.runs, args.big_mib = min(args.count, 200), 1, min(args.big_mib, 8)
        args.peer_runs = args.msg_runs = 1
    if args.peer_runs is None:
        args.peer_runs = min(3, args.runs)
    if args.msg_runs is None:
        args.msg_runs = min(3, args.runs)
    if min(args.runs, args.peer_runs, args.msg_runs, args.count, args.jobs, args.big_mib) < 1:
        ap.error("--runs, --peer-runs, --msg-runs, --count, --jobs and --big-mib must be at least 1")

    shared = os.path.normpath(os.path.join(ROOT, "..", "shared"))
    gen = os.path.join(shared, "corpus", "gen.py")
    if not os.path.isfile(gen):
        print("SKIP: ../shared is absent")
        return 0

    build = os.path.abspath(args.build)
    mimeutf8 = os.path.join(build, "plugin", "mimeutf8")
    bare = os.path.join(build, "bench", "gmime-bare")
    gmin = os.path.join(build, "bench", "gmime-min")
    peakrss = os.path.join(build, "bench", "peak-rss")
    spin = os.path.join(build, "bench", "spin")
    shell = shutil.which("sh") or "/bin/sh"
    for exe in (mimeutf8, bare, gmin, peakrss, spin):
        if not os.access(exe, os.X_OK):
            log("bench: %s is missing: build first (./build.sh, or ninja -C %s)" % (exe, args.build))
            return 1
    truebin = shutil.which("true")
    mailparser = mailparser_peer()

    help_text = subprocess.run([mimeutf8, "--help"], capture_output=True, text=True).stdout
    has_j = re.search(r"(^|[\s,\[])-j\b|--jobs\b", help_text) is not None
    jobs = args.jobs

    info = machine_info(mimeutf8)
    info["load_before"] = loadavg()
    tmp = tempfile.mkdtemp(prefix="mimeutf8-bench-")
    # The children's stderr goes where it outlives the temporary directory (git-ignored).
    logdir = os.path.join(ROOT, "bench", "out")
    os.makedirs(logdir, exist_ok=True)
    child = Child(os.path.join(logdir, "stderr.log"))
    open(child.stderr_log, "w").close()
    here = os.getcwd()
    checks, notes = [], []
    try:
        corpus = os.path.join(tmp, "corpus")
        log("bench: generating %d messages (seed %d) in %s" % (args.count, args.seed, corpus))
        subprocess.run([sys.executable, gen, "--seed", str(args.seed), "--count", str(args.count),
                        "--out", corpus], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # mail that needs nothing: the same count in the utf8 profile, against a plain copy
        corpus_utf8 = os.path.join(tmp, "corpus-utf8")
        subprocess.run([sys.executable, gen, "--seed", str(args.seed), "--count", str(args.count),
                        "--profile", "utf8", "--out", corpus_utf8], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        files_utf8 = sorted(f for f in os.listdir(corpus_utf8) if f.endswith(".eml"))
        paths_utf8 = [os.path.join(corpus_utf8, f) for f in files_utf8]
        cp = shutil.which("cp")
        keys = [json.loads(line) for line in open(os.path.join(corpus, "key.jsonl"), encoding="utf-8")]
        files = [k["file"] for k in keys]
        corpus_bytes = sum(os.path.getsize(os.path.join(corpus, f)) for f in files)
        # Children get short relative names (the argument list stays small); outputs are absolute.
        os.chdir(corpus)

        j1 = ["-j", "1"] if has_j else []
        outs = os.path.join(tmp, "out")
        benches = [
            Bench("batch-j1", "mimeutf8 -o, batch, -j1" if has_j else "mimeutf8 -o, batch (no -j yet)",
                  args.runs, one_process(child, lambda o: [mimeutf8] + j1 + ["-o", o] + files)),
            Bench("batch-jN", "mimeutf8 -o, batch, -j%d" % jobs, args.runs if has_j else 0,
                  one_process(child, lambda o: [mimeutf8, "-j", str(jobs), "-o", o] + files)),
            Bench("bare", "bare GMime parse + write (gmime-bare)", args.runs,
                  one_process(child, lambda o: [bare, o] + files)),
            Bench("bare-pinned", "*(info)* gmime-bare --pin-gconv", args.runs,
                  one_process(child, lambda o: [bare, "--pin-gconv", o] + files), info=True),
            Bench("utf8-j1", "mimeutf8 -o, batch, -j1, utf8 profile" if has_j else
                  "mimeutf8 -o, batch, utf8 profile", args.runs,
                  one_process(child, lambda o: [mimeutf8] + j1 + ["-o", o] + paths_utf8)),
            # one cp for all files: a stricter floor than a cat per file, which would mostly
            # measure 2,000 process starts
            Bench("utf8-cp", "cp of the utf8 profile to a folder (one process)", args.runs,
                  one_process(child, lambda o: [cp, "-t", o] + paths_utf8)),
            # the machine's ceiling for -jN: N copies of a CPU-bound loop against one, in the
            # same rounds as the -jN rows (a shared machine's second core comes and goes)
            Bench("spin-1", "*(info)* spin 1: a CPU-bound loop (bench/spin.c)", args.runs,
                  one_process(child, lambda o: [spin, "1"]), info=True, messages=False),
            Bench("spin-N", "*(info)* spin %d: %d copies of it at once" % (jobs, jobs), args.runs,
                  one_process(child, lambda o: [spin, str(jobs)]), info=True, messages=False),
            # the ceiling for this work: N independent -j1 batches at once, each over the whole
            # corpus into its own folder (what -jN would get with a free supervisor)
            Bench("batch-j1xN", "*(info)* %d of mimeutf8 -o, batch, -j1, at once, each on the "
                  "whole corpus" % jobs, args.runs if has_j else 0,
                  one_process(child, lambda o: [shell, "-c", INDEPENDENT, "sh", str(jobs),
                                                mimeutf8, o] + files),
                  info=True, messages=False),
            Bench("msg-mimeutf8", "mimeutf8 < m > o, a process per message", args.msg_runs,
                  per_message(child, [mimeutf8], files)),
            Bench("msg-min", "gmime-min < m > o, a process per message", args.msg_runs,
                  per_message(child, [gmin], files)),
            Bench("msg-true", "*(info)* true < m > o, spawn cost alone", 1,
                  per_message(child, [truebin], files), info=True),
            Bench("peer", "Python peer (peer_python.py)", args.peer_runs,
                  one_process(child, lambda o: [sys.executable, os.path.join(shared, "corpus", "peer_python.py"),
                                                corpus, o])),
            Bench("peer-sub", "Python peer --subprocess (iconv per part)", args.peer_runs,
                  one_process(child, lambda o: [sys.executable, os.path.join(shared, "corpus", "peer_python.py"),
                                                "--subprocess", corpus, o])),
        ]
        if mailparser is not None:
            benches.append(Bench("mailparser", "mailparser 3.14 (npm, Node %s), one process"
                                 % mailparser[1], args.peer_runs,
                                 one_process(child, lambda o: [mailparser[0], os.path.join(
                                     HERE, "mailparser", "peer.js"), corpus, o])))
        else:
            notes.append("mailparser row left out: no Node.js or npm here (bench/mailparser)")
        if truebin is None:
            benches = [b for b in benches if b.key != "msg-true"]
        log("bench: -j in mimeutf8 --help: %s; %d runs (%d per message, %d for the Python peers), "
            "in round robin" % ("yes" if has_j else "no", args.runs, args.msg_runs, args.peer_runs))
        run_benches(benches, outs)
        by = {b.key: b for b in benches}

        # Honesty of the floors: a GMime round trip of an LF message is byte-identical.
        for key, name in (("bare", "gmime-bare"), ("bare-pinned", "gmime-bare --pin-gconv"),
                          ("msg-min", "gmime-min")):
            t = copy_fidelity(corpus, by[key].last_out, keys)
            ok = t[False][0] == t[False][1]
            checks.append("%s output byte-identical to its input: %d of %d LF messages%s, %d of %d CRLF" % (
                name, t[False][0], t[False][1], "" if ok else " **(FAILED: the floor is not an honest copy)**",
                t[True][0], t[True][1]))

        # The parsed view's cost in process, against the normalizer and GMime's own parse.
        parse_cost = os.path.join(build, "bench", "parse-cost")
        if os.access(parse_cost, os.X_OK):
            log("bench: parse-cost, %d rounds" % args.runs)
            p = subprocess.run([parse_cost, str(args.runs)] + files, capture_output=True, text=True)
            if p.returncode == 0:
                info["in_process"] = json.loads(p.stdout)
                log("  %s" % p.stdout.strip())
            else:
                notes.append("parse-cost failed (exit %d): %s" % (p.returncode, p.stderr.strip()[-200:]))

        # Conformance: every mimeutf8 mode gives the same verdicts (and the same bytes).
        modes = [k for k in ("batch-j1", "batch-jN", "msg-mimeutf8") if by[k].walls]
        log("bench: check.py on %s" % ", ".join(modes))
        results = {}
        for k in modes:
            result, summary, code = conformance(shared, corpus, by[k].last_out)
            results[k] = result
            failed = ", ".join("%s %d of %d" % (case, v["failed"], v["parts"])
                               for case, v in sorted((result or {}).items())
                               if isinstance(v, dict) and v.get("failed"))
            checks.append("check.py on %s: %s (exit %d)%s" % (
                by[k].label, summary, code, "; failed by case: " + failed if failed else ""))
        distinct = {json.dumps(r, sort_keys=True) for r in results.values()}
        checks.append("check.py results identical across the %d mimeutf8 modes: %s" % (
            len(results), "yes" if len(distinct) == 1 and None not in results.values() else "**NO**"))
        for k in modes[1:]:
            diff = identical_trees(by[modes[0]].last_out, by[k].last_out, files)
            checks.append("output bytes of %s vs %s: %s" % (
                by[k].label, by[modes[0]].label, "identical" if diff == 0 else "**%d files differ**" % diff))
        if by["utf8-j1"].last_out:
            diff = identical_trees(corpus_utf8, by["utf8-j1"].last_out, files_utf8)
            checks.append("utf8 profile: outputs byte-identical to their inputs: %s" % (
                "all %d" % len(files_utf8) if diff == 0 else "**%d files differ**" % diff))
        short = ["%s %d" % (b.label, len(os.listdir(b.last_out))) for b in benches
                 if b.messages and b.last_out and len(os.listdir(b.last_out)) != len(files)]
        checks.append("every row wrote all %d outputs: %s" % (
            len(files), "yes" if not short else "**no: " + ", ".join(short) + "**"))
        for b in benches:
            if b.failures:
                checks.append("**%s: %d non-zero exits** (see %s)" % (b.label, b.failures, child.stderr_log))
        shutil.rmtree(outs, ignore_errors=True)

        # Peak RSS on one big message, from a file and from standard input.
        bigdir = os.path.join(tmp, "big")
        log("bench: generating the big message (%d MiB)" % args.big_mib)
        subprocess.run([sys.executable, gen, "--profile", "big", "--big-mib", str(args.big_mib), "--out", bigdir],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        big = os.path.join(bigdir, [f for f in sorted(os.listdir(bigdir)) if not f.endswith(".jsonl")][0])
        info["big_bytes"] = os.path.getsize(big)
        big_limit = "--max-message-size=%d" % (2 * info["big_bytes"])
        bigout = os.path.join(tmp, "bigout")
        os.makedirs(bigout)
        o = os.path.join(bigout, "out.eml")
        rss_cases = [
            # the default 50 MiB limit would pass the 90 MB message through: lift it, so that the
            # figure is of a real normalization
            ("mimeutf8 -o OUT file", dict(argv=[mimeutf8, big_limit, "-o", bigout, big]), True),
            ("mimeutf8 < file > out (stdin is the file)", dict(argv=[mimeutf8, big_limit], stdin=big, stdout=o), True),
            ("cat file | mimeutf8 > out (stdin is a pipe)", dict(argv=[mimeutf8, big_limit], pipe_from=big, stdout=o), True),
            ("gmime-min < file > out", dict(argv=[gmin], stdin=big, stdout=o), False),
            ("cat file | gmime-min > out (naive reference)", dict(argv=[gmin], pipe_from=big, stdout=o), False),
            ("gmime-bare OUT file (reads it whole)", dict(argv=[bare, bigout, big]), False),
        ]
        rss_rows = []
        result = os.path.join(tmp, "peak-rss.txt")
        for label, kw, goal in rss_cases:
            # through peak-rss, whose wait4() gives the figure (see peak-rss.c for why not ours)
            argv = [peakrss, result] + kw.pop("argv")
            code, wall, _ = child.run(argv, **kw)
            try:
                kib = int(open(result).read().split()[0])
                os.unlink(result)
            except (OSError, ValueError, IndexError):
                kib = None
            if kib is None:
                log("  %-46s failed (exit %d)" % (label, code))
                rss_rows.append((label, None, wall, code, goal))
                continue
            log("  %-46s %8.1f MB peak RSS %8.3f s%s" % (label, kib * 1024 / MB, wall,
                                                         "  (exit %d)" % code if code else ""))
            rss_rows.append((label, kib, wall, code, goal))
        info["load_after"] = loadavg()

        for b in benches:
            if len(b.walls) > 1 and (max(b.walls) - min(b.walls)) > 0.2 * b.median_wall():
                notes.append("%s: wall times spread over %.0f%% of the median, CPU times over %.0f%% "
                             "(a shared, busy machine)" % (
                                 b.label, 100 * (max(b.walls) - min(b.walls)) / b.median_wall(),
                                 100 * (max(b.cpus) - min(b.cpus)) / b.median_cpu()))
        if args.peer_runs < args.runs or args.msg_runs < args.runs:
            notes.append("runs: %d of each batch row, %d of each process-per-message row (1 of `true`), "
                         "%d of each Python peer; every figure is the median" % (
                             args.runs, args.msg_runs, args.peer_runs))
        if args.quick:
            notes.append("--quick: a smoke test, not a measurement")
        table = render(info, args, corpus_bytes, len(files), benches, has_j, jobs, rss_rows, checks, notes)
    finally:
        os.chdir(here)
        if args.keep:
            log("bench: kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print(table)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(table)
    log("bench: wrote %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
