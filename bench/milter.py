#!/usr/bin/env python3
"""bench/milter.py: mimeutf8-milter inside a real Postfix, against the same Postfix without it.

  python3 bench/milter.py [--build DIR] [--count N] [--runs N] [--clients N] [--sessions N]

One private Postfix instance (tests/postfix_instance.py: 127.0.0.1 only, its own directories,
relaying to an SMTP sink in this process) has two smtpd ports: one with the milter, one without.
In the same run, on the same corpus (gen.py --seed 1, sent as SMTP carries it, CRLF), it measures:

- messages per second through Postfix, from the first message sent to the last one delivered to
  the sink, with and without the milter, the runs taking turns (median of --runs);
- the milter's CPU time per message (utime+stime from /proc over the runs with it) against
  `mimeutf8 -j1 -o` on the same messages (the child's user+sys from wait4);
- the milter's peak RSS (VmHWM) when --sessions SMTP sessions send the corpus at once, from a
  fresh milter process.

It prints a Markdown table.  Needs root (Postfix) and ../shared.
"""
import argparse
import concurrent.futures
import os
import platform
import shutil
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import postfix_instance as pi  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def peak_rss_mb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def send_batch(port, messages, clients, tag):
    """Sends every message once over `clients` SMTP sessions, each reused for its share."""
    names = sorted(messages)

    def session(k):
        with smtplib.SMTP("127.0.0.1", port, timeout=300) as s:
            for n in names[k::clients]:
                s.sendmail("bench@test.invalid", ["%s-%s@test.invalid" % (tag, n[:-4])], messages[n])

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(session, range(clients)))


def timed_run(sink, port, messages, clients, tag, timeout=600):
    start_count = sink.count
    t0 = time.perf_counter()
    send_batch(port, messages, clients, tag)
    deadline = time.time() + timeout
    while sink.count < start_count + len(messages) and time.time() < deadline:
        time.sleep(0.01)
    elapsed = time.perf_counter() - t0
    if sink.count < start_count + len(messages):
        raise SystemExit("bench: %s: only %d of %d messages delivered" % (tag, sink.count - start_count, len(messages)))
    return elapsed


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--sessions", type=int, default=50)
    args = p.parse_args()
    milter_exe = os.path.join(args.build, "plugin", "mimeutf8-milter")
    cli_exe = os.path.join(args.build, "plugin", "mimeutf8")
    if not os.path.isdir(os.path.join(args.shared, "corpus")):
        print("SKIP: %s is absent" % args.shared)
        return

    work = tempfile.mkdtemp(prefix="mimeutf8-bench-milter-")
    src = os.path.join(work, "gen")
    subprocess.run([sys.executable, os.path.join(args.shared, "corpus", "gen.py"), "--out", src, "--seed", "1",
                    "--count", str(args.count)], check=True, capture_output=True)
    prep = os.path.join(work, "prepared")
    os.makedirs(prep)
    messages = {}
    for n in sorted(os.listdir(src)):
        if n.endswith(".eml"):
            messages[n] = pi.prepare(open(os.path.join(src, n), "rb").read())
            with open(os.path.join(prep, n), "wb") as f:
                f.write(messages[n])
    size_mb = sum(len(m) for m in messages.values()) / 1e6

    sink = pi.Sink(os.path.join(work, "sink"))
    milter = pi.Milter(milter_exe, work)
    milter.start()
    postfix = pi.Postfix(os.path.join(work, "postfix"), sink.port, milter.port)
    load_before = os.getloadavg()[0]
    try:
        postfix.start()
        # one warm-up pass each way (Postfix starts its daemons on demand)
        timed_run(sink, postfix.ref_port, dict(list(messages.items())[:50]), args.clients, "warm-ref")
        timed_run(sink, postfix.smtp_port, dict(list(messages.items())[:50]), args.clients, "warm-milter")
        without, with_milter, milter_cpu = [], [], []
        for r in range(args.runs):
            without.append(timed_run(sink, postfix.ref_port, messages, args.clients, "r%d-ref" % r))
            c0 = cpu_seconds(milter.proc.pid)
            with_milter.append(timed_run(sink, postfix.smtp_port, messages, args.clients, "r%d-milter" % r))
            milter_cpu.append(cpu_seconds(milter.proc.pid) - c0)

        cli_cpu = []
        for r in range(args.runs):
            out = os.path.join(work, "cli-%d" % r)
            proc = subprocess.Popen([cli_exe, "-q", "-j", "1", "-o", out] + [os.path.join(prep, n) for n in sorted(messages)])
            _, status, usage = os.wait4(proc.pid, 0)
            if status != 0:
                raise SystemExit("bench: mimeutf8 -j1 failed")
            cli_cpu.append(usage.ru_utime + usage.ru_stime)

        # peak RSS: a fresh milter, the corpus sent over many sessions at once
        milter.kill(signal.SIGTERM)
        milter.start()
        t_sessions = timed_run(sink, postfix.smtp_port, messages, args.sessions, "sessions")
        rss = peak_rss_mb(milter.proc.pid)
    finally:
        postfix.stop()
        milter.kill(signal.SIGTERM)
        sink.stop()
    load_after = os.getloadavg()[0]

    n = len(messages)
    t_without, t_with = statistics.median(without), statistics.median(with_milter)
    rate_without, rate_with = n / t_without, n / t_with
    cpu_milter = statistics.median(milter_cpu) / n * 1000
    cpu_cli = statistics.median(cli_cpu) / n * 1000
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print("Machine: %d cores, Linux %s; Postfix %s.  " % (os.cpu_count(), platform.release(),
          subprocess.run(["/usr/sbin/postconf", "-d", "-h", "mail_version"], capture_output=True,
                         text=True).stdout.strip()))
    print("Measured %s UTC, commit %s.  Corpus: `gen.py --seed 1 --count %d`, %.1f MB, sent CRLF.  "
          % (time.strftime("%Y-%m-%d %H:%M", time.gmtime()), commit, n, size_mb))
    print("%d SMTP clients; %d runs each way, taking turns; load average %.2f before, %.2f after.\n"
          % (args.clients, args.runs, load_before, load_after))
    print("| measure | without the milter | with the milter | ratio | goal | |")
    print("|---|---:|---:|---:|---:|---|")
    ratio = rate_with / rate_without
    print("| messages/s through Postfix (median; runs %s / %s s) | %.1f | %.1f | %.2f | ≥ 0.90 | %s |"
          % (", ".join("%.1f" % t for t in without), ", ".join("%.1f" % t for t in with_milter),
             rate_without, rate_with, ratio, "met" if ratio >= 0.9 else "missed"))
    cpu_ratio = cpu_milter / cpu_cli
    print("| CPU per message: milter vs `mimeutf8 -j1 -o` (median) | %.2f ms (-j1) | %.2f ms | %.2f | ≤ 1.2 | %s |"
          % (cpu_cli, cpu_milter, cpu_ratio, "met" if cpu_ratio <= 1.2 else "missed"))
    print("| milter peak RSS, %d sessions at once (%d messages in %.1f s) | | %.1f MB | | | |"
          % (args.sessions, n, t_sessions, rss))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
