#!/usr/bin/env python3
"""The mutation check: proves that the suite can fail on the defects it exists for.

mime/MUTANTS lists deliberate one-line breaks of the engine (drop the last byte of a converted
body, skip the valid-UTF-8 rule, stop counting replacements, ...), each as a file, the exact text
to find and its replacement.  For each, a scratch copy of the tree gets that one change, is built,
and runs the suite (less the slow hostile tests); the mutant must make some test fail ("killed").
A mutant whose text is no longer found exactly once is "stale": the code moved, so the list must
move with it.  Exits 1 when a mutant survives or is stale.

  mutants.py ROOT [--only NAME] [--keep]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(sys.argv[1])
ONLY = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
SUITES = ["--suite", "unit", "--suite", "cli", "--suite", "corpus"]


def read_mutants(path):
    """Blocks separated by blank lines: `name:`, `file:`, `find:` and `replace:` lines; a `find`
    or `replace` that continues on lines starting with `|` keeps their text after the bar."""
    mutants, current, key = [], {}, None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("#"):
            continue
        if not line.strip():
            if current:
                mutants.append(current)
            current, key = {}, None
            continue
        if line.startswith("|") and key:
            current[key] += "\n" + line[1:]
            continue
        key, _, value = line.partition(":")
        key = key.strip()
        current[key] = value[1:] if value.startswith(" ") else value
    if current:
        mutants.append(current)
    for m in mutants:
        missing = {"name", "file", "find", "replace", "why"} - set(m)
        if missing:
            sys.exit("mutants.py: %s lacks %s" % (m.get("name", m), ", ".join(sorted(missing))))
    return mutants


def skipped(directory, names):
    """What the scratch copy leaves out: git's store, caches, and the build directories at the
    top (build, build-asan...), not files that merely start with "build" (build.sh,
    plugin/python/build_ffi.py)."""
    top = os.path.abspath(directory) == ROOT
    return [n for n in names if n in (".git", "__pycache__") or
            (top and n.startswith("build") and os.path.isdir(os.path.join(directory, n)))]


def main():
    mutants = read_mutants(os.path.join(ROOT, "mime", "MUTANTS"))
    if ONLY:
        mutants = [m for m in mutants if m["name"] == ONLY]
    scratch = tempfile.mkdtemp(prefix="mimeutf8-mutants-")
    # the scratch tree sits beside ../shared so that the corpus tests find it as they do here
    src = os.path.join(scratch, "src")
    shutil.copytree(ROOT, src, ignore=skipped)
    shared = os.path.join(os.path.dirname(ROOT), "shared")
    if os.path.isdir(shared):
        os.symlink(shared, os.path.join(scratch, "shared"))
    build = os.path.join(src, "build")
    subprocess.run(["meson", "setup", build], cwd=src, check=True, stdout=subprocess.DEVNULL)
    r = subprocess.run(["ninja", "-C", build], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        sys.exit("mutants.py: the unmutated copy does not build")
    killed = survived = stale = 0
    try:
        for m in mutants:
            path = os.path.join(src, m["file"])
            original = open(path, encoding="utf-8").read()
            n = original.count(m["find"])
            if n != 1:
                stale += 1
                print("STALE    %s: its text is found %d times in %s (the code moved: update "
                      "mime/MUTANTS)" % (m["name"], n, m["file"]))
                continue
            open(path, "w", encoding="utf-8").write(original.replace(m["find"], m["replace"]))
            started = time.time()
            try:
                b = subprocess.run(["ninja", "-C", build], capture_output=True, text=True)
                if b.returncode != 0:
                    stale += 1
                    print("STALE    %s: does not compile:\n%s" % (m["name"], b.stdout[-800:]))
                    continue
                t = subprocess.run(["meson", "test", "-C", build, "--no-rebuild", "--maxfail", "1"] + SUITES,
                                   capture_output=True, text=True)
                failing = [line.split()[3] for line in t.stdout.splitlines()
                           if " FAIL " in " %s " % line or " TIMEOUT " in " %s " % line]
                if t.returncode != 0:
                    killed += 1
                    print("killed   %s (%.0f s) by %s" % (m["name"], time.time() - started,
                                                        ", ".join(failing) or "the suite"))
                else:
                    survived += 1
                    print("SURVIVED %s: no test failed; %s" % (m["name"], m["why"]))
            finally:
                open(path, "w", encoding="utf-8").write(original)
    finally:
        subprocess.run(["ninja", "-C", build], stdout=subprocess.DEVNULL)
        if "--keep" not in sys.argv:
            shutil.rmtree(scratch, ignore_errors=True)
    print("mutants: %d killed, %d survived, %d stale" % (killed, survived, stale))
    print("%d passed, %d failed" % (killed, survived + stale))
    sys.exit(1 if survived or stale or not killed else 0)


if __name__ == "__main__":
    main()
