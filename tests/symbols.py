#!/usr/bin/env python3
"""The shared library exports exactly the functions that mimeutf8.h declares: nothing else, and
in particular no iconv_open, which would interpose the host's (mime/iconv-guard.c).

  symbols.py LIBMIMEUTF8_SO MIMEUTF8_H
"""
import re
import subprocess
import sys

lib, header = sys.argv[1:3]
text = open(header).read()
text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
declared = set(re.findall(r"\b(mimeutf8_[a-z0-9_]+)\s*\(", text))
nm = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True, check=True)
exported = {line.split()[-1].split("@")[0] for line in nm.stdout.splitlines()
            if line.split()[1] in ("T", "D", "B", "R")}
exported.discard("MIMEUTF8_0")
extra, missing = exported - declared, declared - exported
for name in sorted(extra):
    print("exported but not declared: %s" % name)
for name in sorted(missing):
    print("declared but not exported: %s" % name)
print("%d passed, %d failed" % (len(declared & exported), len(extra | missing)))
sys.exit(1 if extra or missing else 0)
