#!/usr/bin/python3
"""bench/dask_bench.py: throughput of mimeutf8.dask with 1 and then 2 dask-worker processes on
this machine (a dask-scheduler and the workers started here, on 127.0.0.1), the messages sent
through the scheduler and, with --shared-files, read and written by the workers, against the C
batch with -j1 and -j2 on the same corpus, each pair of rows in turn, with the CPU of each
process and the machine's own ceiling (bench/spin.c).  Prints a Markdown table and writes it to
bench/out/dask.md.

  /usr/bin/python3 bench/dask_bench.py [--build DIR] [--count N] [--seed N] [--runs N]
                                       [--batch N] [--quick]
"""
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
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
from run import loadavg  # noqa: E402
from seed import make_corpus, parser, prepare, write_table  # noqa: E402
from cluster import Cluster  # noqa: E402  (tests/python/cluster.py)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def cpu_of(pid):
    """User + system CPU seconds of process `pid` so far (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_self():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def spin_ceiling(spin, ceilings):
    """The machine's ceiling for two processes right now: `spin 1` then `spin 2` (bench/spin.c),
    two copies of a CPU-bound loop against one, as throughput; appended to `ceilings`."""
    walls = []
    for copies in ("1", "2"):
        t0 = time.perf_counter()
        subprocess.run([spin, copies], check=True)
        walls.append(time.perf_counter() - t0)
    ceilings.append(2 * walls[0] / walls[1])


def main():
    p = parser(__doc__, "dask.md", "runs of each row (median)")
    p.add_argument("--batch", type=int, default=100, help="messages per task (default 100)")
    args = p.parse_args()
    prepared = prepare(args)
    if prepared is None:
        return 0
    shared, tool, info = prepared
    spin = os.path.join(os.path.dirname(os.path.dirname(tool)), "bench", "spin")
    ceilings = []  # measured after every timed run, so that they see the same machine
    from distributed import Client

    import mimeutf8.dask

    tmp = tempfile.mkdtemp(prefix="mimeutf8-dask-bench-")
    rows = []
    split = {}  # Dask row -> CPU seconds of [client, scheduler, worker...]
    try:
        corpus = make_corpus(shared, tmp, args)
        n = len(os.listdir(corpus))
        size = sum(os.path.getsize(os.path.join(corpus, f)) for f in os.listdir(corpus))
        run_no = [0]

        def out_dir():
            run_no[0] += 1
            return os.path.join(tmp, "out-%d" % run_no[0])

        batch_walls = {1: [], 2: []}
        for _ in range(args.runs):
            for jobs in (1, 2):  # in turn, as the Dask rows below
                out = out_dir()
                t0 = time.perf_counter()
                subprocess.run([tool, "-q", "-j", str(jobs), "-o", out, corpus], check=True)
                batch_walls[jobs].append(time.perf_counter() - t0)
                spin_ceiling(spin, ceilings)
        for jobs in (1, 2):
            rows.append(("`mimeutf8 -j%d -o OUT DIR` (C batch)" % jobs, jobs, batch_walls[jobs]))
        reference = os.path.join(tmp, "out-1")
        # One cluster of 1 worker and one of 2, both up, and their runs in turn: a shared
        # machine's slow spells then fall on both rows alike (an idle cluster only heartbeats).
        for shared_files in (False, True):
            log("dask: 1 and 2 workers%s" % (", shared files" if shared_files else ""))
            clusters = {}
            clients = {}
            walls = {1: [], 2: []}
            cpus = {1: [], 2: []}
            try:
                for workers in (1, 2):
                    clusters[workers] = Cluster(tmp, workers,
                                                {"PYTHONPATH": os.environ["PYTHONPATH"]})
                    clients[workers] = Client(clusters[workers].address)
                    # warm-up: the workers import the package and the library
                    mimeutf8.dask.run(clients[workers], out_dir(),
                                      [os.path.join(ROOT, "fixtures", "messages")], None, {})
                for _ in range(args.runs):
                    for workers in (1, 2):
                        cluster, client = clusters[workers], clients[workers]
                        out = out_dir()
                        # where the CPU goes: this client, the scheduler, the workers
                        c0 = [cpu_self()] + [cpu_of(p.pid) for p in cluster.procs]
                        t0 = time.perf_counter()
                        status = mimeutf8.dask.run(client, out, [corpus], None, {},
                                                   batch_messages=args.batch,
                                                   shared_files=shared_files)
                        walls[workers].append(time.perf_counter() - t0)
                        c1 = [cpu_self()] + [cpu_of(p.pid) for p in cluster.procs]
                        cpus[workers].append([b - a for a, b in zip(c0, c1)])
                        spin_ceiling(spin, ceilings)
                        assert status == 0
                        differ = subprocess.run(["diff", "-rq", reference, out],
                                                capture_output=True).returncode
                        assert differ == 0, "dask output differs from the C batch's"
            finally:
                for client in clients.values():
                    client.close()
                for cluster in clusters.values():
                    cluster.close()
            for workers in (1, 2):
                label = ("`python3 -m mimeutf8.dask --scheduler ...%s`, %d dask-worker%s"
                         % (" --shared-files" if shared_files else "", workers,
                            "s" if workers > 1 else ""))
                rows.append((label, workers, walls[workers]))
                # the CPU of the run with the median wall time
                w = walls[workers]
                split[label] = cpus[workers][w.index(statistics.median_low(w))]
        info["load_after"] = loadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    lines = ["Machine: %(nproc)d cores (%(cpu)s), %(memory)s RAM; Python %(python)s.  " % info,
             "Measured %(date)s on %(mimeutf8)s, commit %(commit)s.  Load average %(load_before)s "
             "before, %(load_after)s after.  " % info,
             "Corpus: `gen.py --seed %d --count %d`, %d messages, %.1f MB; tasks of %d messages; "
             "every Dask output identical to the C batch's (diff -r)."
             % (args.seed, args.count, n, size / 1e6, args.batch),
             "",
             "| program | processes | wall (median) | messages/s | runs, range | CPU: client, "
             "scheduler, workers |",
             "|---|---:|---:|---:|---|---|"]
    med = {}
    for label, k, walls in rows:
        m = statistics.median(walls)
        med[label] = m
        cpu = split.get(label)
        lines.append("| %s | %d | %.3f s | %.0f | %d, %.3f–%.3f s | %s |"
                     % (label, k, m, n / m, len(walls), min(walls), max(walls),
                        "%.2f s, %.2f s, %s" % (cpu[0], cpu[1], " + ".join(
                            "%.2f s" % c for c in cpu[2:])) if cpu else ""))
    labels = [r[0] for r in rows]
    dask_ratio = med[labels[2]] / med[labels[3]]
    shared_ratio = med[labels[4]] / med[labels[5]]
    c_ratio = med[labels[0]] / med[labels[1]]
    lines += ["", "| ratio | value | goal | |", "|---|---:|---:|---|",
              "| Dask throughput, 2 workers / 1 worker, --shared-files | %.2f | ≥ 1.7 | %s |"
              % (shared_ratio, "met" if shared_ratio >= 1.7 else "missed"),
              "| Dask throughput, 2 workers / 1 worker, messages through the scheduler | %.2f "
              "| ≥ 1.7 | %s |" % (dask_ratio, "met" if dask_ratio >= 1.7 else "missed"),
              "| *(info)* C batch throughput, -j2 / -j1 | %.2f | | |" % c_ratio,
              "| *(info)* the machine's ceiling: 2 copies of a CPU-bound loop / 1, throughput "
              "(bench/spin.c; median of %d, after each timed run; range %.2f–%.2f) | %.2f | | |"
              % (len(ceilings), min(ceilings), max(ceilings), statistics.median(ceilings)),
              "| *(info)* Dask, 2 workers / 1 worker, --shared-files, as a share of that ceiling "
              "| %.0f%% | | |" % (100 * shared_ratio / statistics.median(ceilings)),
              "| *(info)* Dask with 2 workers, --shared-files / C batch -j2, wall | %.2f | | |"
              % (med[labels[5]] / med[labels[1]])]
    write_table(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
