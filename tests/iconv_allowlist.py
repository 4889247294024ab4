#!/usr/bin/env python3
"""Every converter the mimeutf8 command really opens is one of the label table's.

  iconv_allowlist.py MIMEUTF8 ICONV_LOG_SO ICONV_TABLE FIXTURES SHARED

Runs the command with the iconv-log.c shim preloaded (it logs each iconv_open of the process,
GMime's included, with "ok" or "refused") over ../shared/corpus/real (batch mode), the fixtures
(fixtures/messages, fixtures/crashers) and hostile.py's set, through -o batch mode and, for the
small hostile messages, the stdin filter, under the lenient and the declared policies.  Then:

  - every open that succeeded named, on both sides, either a label of the table (one that
    `mimeutf8 --text --from NAME` accepts) or an iconv name of the table (ICONV_TABLE, a helper
    linked with the internal library, prints them);
  - none of the converters with CVEs (ISO-2022-CN, ISO-2022-CN-EXT, ISO-2022-JP-3, IBM930, 933,
    935, 937, 939, IBM1364, 1371, 1388, 1390, 1399, under any glibc alias) ever opened.

It prints the distinct names seen.  Exits 77 (a skip, for meson), saying so, when SHARED is
absent.
"""
import collections
import mailbox
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile  # noqa: E402

SKIP = 77
CVE_ALIASES = {"ISO2022CN", "CSISO2022CN", "ISO2022CNEXT", "ISO2022JP3"}
for number in (930, 933, 935, 937, 939, 1364, 1371, 1388, 1390, 1399):
    CVE_ALIASES |= {"IBM%d" % number, "CP%d" % number, "CSIBM%d" % number}


def cve_key(name):
    """The name as glibc would look it up, reduced to letters and digits."""
    return re.sub(r"[^A-Z0-9]", "", name.split("//")[0].upper())


def real_messages(shared, directory):
    """Writes every message of corpus/real (MESSAGES.tsv) to DIRECTORY; returns how many."""
    real = os.path.join(shared, "corpus", "real")
    os.makedirs(directory)
    boxes, count = {}, 0
    with open(os.path.join(real, "MESSAGES.tsv"), encoding="utf-8") as tsv:
        next(tsv)
        for line in tsv:
            path, index = line.split("\t")[:2]
            full = os.path.join(real, path)
            if int(index) < 0:
                with open(full, "rb") as f:
                    data = f.read()
            else:
                if full not in boxes:
                    box = mailbox.mbox(full)
                    boxes[full] = [box.get_bytes(k) for k in box.keys()]
                data = boxes[full][int(index)]
            with open(os.path.join(directory, "%05d.eml" % count), "wb") as f:
                f.write(data)
            count += 1
    return count


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    tool, shim, table_tool, fixtures, shared = (os.path.abspath(a) for a in sys.argv[1:])
    if not os.path.isfile(os.path.join(shared, "corpus", "real", "MESSAGES.tsv")):
        print("SKIP: ../shared is absent (%s): the allowlist test needs ../shared/corpus/real" % shared)
        sys.exit(SKIP)

    table = subprocess.run([table_tool], capture_output=True, text=True, check=True).stdout.split("\n")
    iconv_names = {l.split("\t")[0].upper() for l in table if l}
    print("label table: %d charsets, iconv names %s" % (len(iconv_names), " ".join(sorted(iconv_names))))

    failures = []
    with tempfile.TemporaryDirectory(prefix="mimeutf8-iconv-") as work:
        log = os.path.join(work, "iconv.log")
        env = dict(os.environ, LD_PRELOAD=shim, MIMEUTF8_ICONV_LOG=log)
        # under ASan (sanitize.sh) the runtime must come first; the shim is preloaded before it
        env["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "verify_asan_link_order=0"]))

        real = os.path.join(work, "real")
        n_real = real_messages(shared, real)
        hostile_dir = os.path.join(work, "hostile")
        cases = hostile.generate(hostile_dir)
        inputs = [real, os.path.join(fixtures, "messages"), os.path.join(fixtures, "crashers"), hostile_dir]
        inputs = [d for d in inputs if os.path.isdir(d)]
        print("inputs: %d real messages, the fixtures, %d hostile messages" % (n_real, len(cases)))

        for policy in ("lenient", "declared"):
            out = os.path.join(work, "out-" + policy)
            r = subprocess.run([tool, "--policy=" + policy, "-o", out] + inputs, env=env, capture_output=True)
            if r.returncode != 0:
                failures.append("batch run (%s) exited %d: %s" % (policy, r.returncode,
                                                                  r.stderr.decode(errors="replace")[:300]))
        small = [p for c, p in cases if os.path.getsize(p) < (1 << 20)]
        for path in small:
            with open(path, "rb") as f:
                r = subprocess.run([tool], stdin=f, env=env, capture_output=True)
            if r.returncode != 0:
                failures.append("filter on %s exited %d" % (os.path.basename(path), r.returncode))
        # text mode opens converters too; the table's labels only, by construction
        for label in ("utf-7", "iso-2022-jp", "gb18030", "utf-16"):
            subprocess.run([tool, "--text", "--from", label], input=b"+AGEAYgBj- abc", env=env, capture_output=True)

        if not os.path.exists(log):
            print("FAIL: the shim logged nothing: is LD_PRELOAD of %s effective?" % shim)
            sys.exit(1)
        with open(log, "rb") as f:
            lines = [l.decode("ascii", "replace").split("\t") for l in f.read().splitlines()]
    opens = collections.Counter((l[0], l[1], l[2]) for l in lines if len(l) == 3)
    malformed = sum(1 for l in lines if len(l) != 3)
    if malformed:
        failures.append("%d malformed log lines" % malformed)

    known = {}

    def is_table_name(name):
        """A label `mimeutf8 --text --from NAME` accepts, or an iconv name of the table."""
        if name not in known:
            if name.upper() in iconv_names:
                known[name] = True
            elif "\\x" in name or "..." in name or not name:
                known[name] = False
            else:
                r = subprocess.run([tool, "--text", "--from", name], input=b"", capture_output=True)
                known[name] = r.returncode == 0
        return known[name]

    per_name = collections.defaultdict(lambda: collections.Counter())
    for (to, frm, result), n in opens.items():
        per_name[to][result] += n
        per_name[frm][result] += n
        if result != "ok":
            continue
        for name in (to, frm):
            if not is_table_name(name):
                failures.append("iconv_open(%r, %r) succeeded %d times: %r is not a name of the table"
                                % (to, frm, n, name))
            if cve_key(name) in CVE_ALIASES:
                failures.append("iconv_open(%r, %r) succeeded %d times: a converter with CVEs" % (to, frm, n))

    total_ok = sum(n for (_, _, r), n in opens.items() if r == "ok")
    total_refused = sum(n for (_, _, r), n in opens.items() if r != "ok")
    print("%d iconv_open calls: %d succeeded, %d refused; %d distinct names:"
          % (total_ok + total_refused, total_ok, total_refused, len(per_name)))
    for name in sorted(per_name, key=lambda s: (s.upper(), s)):
        counts = per_name[name]
        shown = name if len(name) <= 60 else name[:60] + "..."
        print("  %-64s ok %-6d refused %-6d%s" % (shown, counts["ok"], counts["refused"],
                                                   "  (CVE converter)" if cve_key(name) in CVE_ALIASES else ""))
    if total_ok == 0:
        failures.append("no open succeeded: the shim is not seeing the process's iconv_open")
    seen_cve = {cve_key(n) for n in per_name} & CVE_ALIASES
    if not seen_cve:
        print("note: no CVE converter name was even asked for (GMime did not try to open one)")
    for f in failures[:50]:
        print("FAIL: " + f)
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("PASS: every converter opened is one of the table's; no CVE converter was opened")


if __name__ == "__main__":
    main()
