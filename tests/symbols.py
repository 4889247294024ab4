#!/usr/bin/env python3
"""The shared library exports exactly the functions that mimeutf8.h declares, and iconv_open
(the charset guard, mime/iconv-guard.c).

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
if "iconv_open" not in exported:
    print("iconv_open is not exported: the charset guard does not interpose glibc's")
    sys.exit(1)
exported.discard("iconv_open")
extra, missing = exported - declared, declared - exported
for name in sorted(extra):
    print("exported but not declared: %s" % name)
for name in sorted(missing):
    print("declared but not exported: %s" % name)
print("%d passed, %d failed" % (len(declared & exported), len(extra | missing)))
sys.exit(1 if extra or missing else 0)
