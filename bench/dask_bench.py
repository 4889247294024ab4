#!/usr/bin/python3
"""bench/dask_bench.py: throughput of mimeutf8.dask with 1 and then 2 dask-worker processes on
this machine (a dask-scheduler and the workers started here, on 127.0.0.1), the messages sent
through the scheduler and, with --shared-files, read and written by the workers, against the C
batch with -j1 and -j2 on the same corpus.  Prints a Markdown table and writes it to
bench/out/dask.md.

  /usr/bin/python3 bench/dask_bench.py [--build DIR] [--count N] [--seed N] [--runs N]
                                       [--batch N] [--quick]
"""
import os
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


def main():
    p = parser(__doc__, "dask.md", "runs of each row (median)")
    p.add_argument("--batch", type=int, default=100, help="messages per task (default 100)")
    args = p.parse_args()
    prepared = prepare(args)
    if prepared is None:
        return 0
    shared, tool, info = prepared
    from distributed import Client

    import mimeutf8.dask

    tmp = tempfile.mkdtemp(prefix="mimeutf8-dask-bench-")
    rows = []
    try:
        corpus = make_corpus(shared, tmp, args)
        n = len(os.listdir(corpus))
        size = sum(os.path.getsize(os.path.join(corpus, f)) for f in os.listdir(corpus))
        run_no = [0]

        def out_dir():
            run_no[0] += 1
            return os.path.join(tmp, "out-%d" % run_no[0])

        for jobs in (1, 2):
            walls = []
            for _ in range(args.runs):
                out = out_dir()
                t0 = time.perf_counter()
                subprocess.run([tool, "-q", "-j", str(jobs), "-o", out, corpus], check=True)
                walls.append(time.perf_counter() - t0)
            rows.append(("`mimeutf8 -j%d -o OUT DIR` (C batch)" % jobs, jobs, walls))
        reference = os.path.join(tmp, "out-1")
        for workers, shared_files in ((1, False), (2, False), (1, True), (2, True)):
            log("dask: %d worker(s)%s" % (workers, ", shared files" if shared_files else ""))
            cluster = Cluster(tmp, workers, {"PYTHONPATH": os.environ["PYTHONPATH"]})
            try:
                with Client(cluster.address) as client:
                    # warm-up: the workers import the package and the library
                    mimeutf8.dask.run(client, out_dir(), [os.path.join(ROOT, "fixtures",
                                                                       "messages")], None, {})
                    walls = []
                    for _ in range(args.runs):
                        out = out_dir()
                        t0 = time.perf_counter()
                        status = mimeutf8.dask.run(client, out, [corpus], None, {},
                                                   batch_messages=args.batch,
                                                   shared_files=shared_files)
                        walls.append(time.perf_counter() - t0)
                        assert status == 0
                        differ = subprocess.run(["diff", "-rq", reference, out],
                                                capture_output=True).returncode
                        assert differ == 0, "dask output differs from the C batch's"
            finally:
                cluster.close()
            rows.append(("`python3 -m mimeutf8.dask --scheduler ...%s`, %d dask-worker%s"
                         % (" --shared-files" if shared_files else "", workers,
                            "s" if workers > 1 else ""), workers, walls))
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
             "| program | processes | wall (median) | messages/s | runs, range |",
             "|---|---:|---:|---:|---|"]
    med = {}
    for label, k, walls in rows:
        m = statistics.median(walls)
        med[label] = m
        lines.append("| %s | %d | %.3f s | %.0f | %d, %.3f–%.3f s |"
                     % (label, k, m, n / m, len(walls), min(walls), max(walls)))
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
              "| *(info)* Dask with 2 workers, --shared-files / C batch -j2, wall | %.2f | | |"
              % (med[labels[5]] / med[labels[1]])]
    write_table(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
