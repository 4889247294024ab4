#!/usr/bin/env python3
"""The README's Design section names every source file of the engine and the front-ends, and
every file it names exists.

  readme_design.py ROOT
"""
import glob
import os
import re
import sys

root = sys.argv[1]
readme = open(os.path.join(root, "README.md")).read()
design = readme[readme.index("## Design\n"):]
design = design[:design.index("\n## ", 1)]
named = set(re.findall(r"`((?:mime|plugin)/[\w./-]+\.[ch])`", design))
sources = {os.path.relpath(p, root) for pattern in ("mime/*.c", "plugin/*.c", "plugin/milter/*.c")
           for p in glob.glob(os.path.join(root, pattern))}
missing = sorted(p for p in named if not os.path.exists(os.path.join(root, p)))
unnamed = sorted(sources - named)
for p in missing:
    print("README Design names %s, which does not exist" % p)
for p in unnamed:
    print("README Design does not name %s" % p)
sys.exit(1 if missing or unnamed else 0)
