#!/usr/bin/env python3
"""The README's sync-engine example (between its "readme example" markers) compiles with the
C compiler meson uses, against mime/mimeutf8.h and this build's libmimeutf8, and prints what
the view holds for two fixtures.

  readme_example.py ROOT LIBDIR CC [CC ARGS...]
"""
import os
import re
import subprocess
import sys
import tempfile


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    root, libdir, cc = sys.argv[1], sys.argv[2], sys.argv[3:]
    readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
    m = re.search(r"<!-- readme example: begin -->\n```c\n(.*?)```\n<!-- readme example: end -->", readme, re.S)
    if m is None:
        fail("README.md has no example between the markers")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "gmime-3.0", "glib-2.0"],
                           capture_output=True, text=True, check=True).stdout.split()
    fixtures = os.path.join(root, "fixtures", "messages")
    with tempfile.TemporaryDirectory() as work:
        src, exe = os.path.join(work, "example.c"), os.path.join(work, "example")
        open(src, "w").write(m.group(1))
        r = subprocess.run(cc + ["-std=gnu11", "-Wall", "-Werror", "-o", exe, src, "-I" + os.path.join(root, "mime"),
                                 "-L" + libdir, "-Wl,-rpath," + libdir, "-lmimeutf8"] + flags,
                           capture_output=True, text=True)
        if r.returncode != 0:
            fail("the example does not compile:\n" + r.stderr)
        r = subprocess.run([exe, os.path.join(fixtures, "nested-rfc822.eml"),
                            os.path.join(fixtures, "rfc2231-params.eml"), os.path.join(work, "missing")],
                           capture_output=True, text=True)
    out = r.stdout
    print(out + r.stderr)
    want = ["nested-rfc822.eml: Fwd: spotkanie", "  from  <a@example.pl>", "  text See the forwarded message.",
            "  file -, 0 bytes", "  file a.pdf, 48 bytes", "rfc2231-params.eml: notes", "  file résumé.txt, 18 bytes"]
    for w in want:
        if w not in out:
            fail("the example's output lacks %r" % w)
    if r.returncode != 0 or "missing: " not in r.stderr:
        fail("the example does not report a file it cannot read")
    print("PASS: the README's example compiles and reads the fixtures")


if __name__ == "__main__":
    main()
