#!/usr/bin/python3
"""python_leak.py: whether the Python package frees what it allocates, over many calls.

  PYTHONPATH=build/plugin/python /usr/bin/python3 bench/python_leak.py [CALLS]

Calls mimeutf8.normalize (a message that is converted: a latin-1 part, an encoded-word),
mimeutf8.convert and a Translator CALLS times each (default 1,000,000), and prints the process's
resident set size after every tenth of the calls.  Memory that is freed deterministically gives
a flat line after the first tenth (the allocator's and the caches' working set); a leak of even
a few bytes per call grows it by megabytes.  Exits 1 when the last reading is more than 4 MiB
over the first one.
"""
import sys

import mimeutf8

MESSAGE = (b"From: =?iso-8859-1?q?Andr=E9?= <a@example.com>\nSubject: caf\xe9\n"
           b"MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n"
           b"Content-Transfer-Encoding: 8bit\n\nCaf\xe9 cr\xe8me br\xfbl\xe9e, " * 1 + b"\n")


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    step = max(1, calls // 10)
    readings = []
    print("%10s  %10s" % ("calls", "RSS KiB"))
    for i in range(1, calls + 1):
        r = mimeutf8.normalize(MESSAGE)
        assert r.status == "normalized"
        mimeutf8.convert(b"Caf\xe9", "iso-8859-1")
        t = mimeutf8.Translator("shift_jis")
        t.convert(b"\x82\xa0")
        t.end()
        if i % step == 0:
            readings.append(rss_kib())
            print("%10d  %10d" % (i, readings[-1]), flush=True)
    growth = readings[-1] - readings[0]
    print("growth after the first tenth: %d KiB" % growth)
    return 1 if growth > 4096 else 0


if __name__ == "__main__":
    sys.exit(main())
