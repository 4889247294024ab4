#!/usr/bin/env python3
"""The charset guard holds when libmimeutf8 is dlopen()ed with RTLD_LOCAL, as a plugin host, ctypes
or CFFI load it (where symbol interposition cannot work).

  iconv_dlopen.py DLOPEN_GUARD LIBMIMEUTF8_SO ICONV_LOG_SO ICONV_TABLE MIMEUTF8

Writes hostile.py's messages that name the converters with CVEs (in encoded-words, RFC 2231
parameters, labels and an attached message), then runs tests/dlopen-guard.c with the iconv-log.c
shim preloaded:
  - the control: GMime, dlopen()ed alone, parses them and opens those converters (so the shim sees
    what GMime does in this setting);
  - libmimeutf8, dlopen()ed, normalizes them: no converter outside the table opens, and none of
    the CVE converters.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile  # noqa: E402
import iconv_allowlist  # noqa: E402


def opens(program, args, directory, name):
    """The successful iconv_open calls (to, from) of one run, and its standard output."""
    log = os.path.join(directory, name + ".log")
    env = dict(os.environ, LD_PRELOAD=SHIM, MIMEUTF8_ICONV_LOG=log)
    env["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "verify_asan_link_order=0"]))
    r = subprocess.run([program] + args, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("FAIL: %s exited %d: %s" % (" ".join([program] + args[:2]), r.returncode, r.stderr[:500]))
    if not os.path.exists(log):
        sys.exit("FAIL: the shim logged nothing for %s: is LD_PRELOAD of %s effective?" % (name, SHIM))
    with open(log, "rb") as f:
        lines = [l.decode("ascii", "replace").split("\t") for l in f.read().splitlines()]
    return [(l[0], l[1]) for l in lines if len(l) == 3 and l[2] == "ok"], r.stdout


def main():
    global SHIM
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    program, lib, SHIM, table_tool, tool = (os.path.abspath(a) for a in sys.argv[1:6])
    table = subprocess.run([table_tool], capture_output=True, text=True, check=True).stdout.split("\n")
    iconv_names = {l.split("\t")[0].upper() for l in table if l}

    def allowed(name):
        """An iconv name of the table, or a label `mimeutf8 --text --from NAME` accepts."""
        if name.upper() in iconv_names:
            return True
        r = subprocess.run([tool, "--text", "--from", name], input=b"", capture_output=True)
        return r.returncode == 0

    failures = []
    with tempfile.TemporaryDirectory(prefix="mimeutf8-dlopen-") as work:
        files = []
        for case in hostile.CASES:
            if case.name.startswith("converter-"):
                path = os.path.join(work, case.name + ".eml")
                with open(path, "wb") as f:
                    f.write(case.build())
                files.append(path)
        control, _ = opens(program, ["--gmime", "libgmime-3.0.so.0"] + files, work, "control")
        seen = {iconv_allowlist.cve_key(n) for pair in control for n in pair} & iconv_allowlist.CVE_ALIASES
        print("control: GMime alone, dlopen()ed, opened %d converters with CVEs: %s"
              % (len(seen), " ".join(sorted(seen))))
        if not seen:
            failures.append("the control opened no CVE converter: the shim does not see GMime's opens")
        ours, statuses = opens(program, [lib] + files, work, "library")
        # 0 normalized, 1 unchanged, 2 passthrough; 3 (failed) means nothing was tried
        if sorted(int(l.split("\t")[1]) for l in statuses.splitlines()) != [0] * len(files):
            failures.append("not every message was normalized: %s" % statuses)
        if not ours:
            failures.append("the library opened no converter at all: the shim does not see its opens")
        print("libmimeutf8, dlopen()ed: %d successful opens: %s"
              % (len(ours), " ".join(sorted({"%s<-%s" % p for p in ours}))))
        for to, frm in ours:
            for name in (to, frm):
                if iconv_allowlist.cve_key(name) in iconv_allowlist.CVE_ALIASES:
                    failures.append("iconv_open(%r, %r) succeeded: a converter with CVEs" % (to, frm))
                elif not allowed(name):
                    failures.append("iconv_open(%r, %r) succeeded: %r is not a name of the table" % (to, frm, name))
    for f in failures:
        print("FAIL: " + f)
    if failures:
        sys.exit(1)
    print("PASS: with libmimeutf8 dlopen()ed, GMime opened no converter outside the table")


if __name__ == "__main__":
    main()
