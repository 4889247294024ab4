#!/usr/bin/env python3
"""The README's label table lists every label of mime/charset-table.c with its charset and
sources, and nothing else.

  readme_labels.py ROOT            check README.md against the table
  readme_labels.py ROOT --write    rewrite the README's section from the table
"""
import re
import sys

root = sys.argv[1]
table = open(root + "/mime/charset-table.c").read()
charsets = {k: (n, i) for k, n, i in re.findall(r'\[(CS_\w+)\] = \{ "([^"]+)", "([^"]+)"', table)}
labels = re.findall(r'\{ "([^"]+)", (CS_\w+), ([A-Z_| ]+) \}', table)
LETTERS = {"SRC_WHATWG": "W", "SRC_CORPUS": "C", "SRC_GEN": "G", "SRC_ALIAS": "A", "SRC_TYPO": "T", "SRC_SURVEY": "S"}
START, END = "<!-- label table: begin -->", "<!-- label table: end -->"


def section():
    rows = {}
    for label, cs, sources in labels:
        marks = "".join(LETTERS[s.strip()] for s in sources.split("|"))
        rows.setdefault(cs, []).append("`%s` %s" % (label, marks))
    lines = [START, "", "| charset | iconv name | labels (sources) |", "|---|---|---|"]
    for cs, (name, iconv) in charsets.items():
        lines.append("| %s | %s | %s |" % (name, iconv, ", ".join(rows.get(cs, []))))
    lines += ["", "%d charsets, %d labels. Sources: W the WHATWG Encoding Standard (`encodings.json`), "
              "C seen in `../shared/corpus/real`, G used by `../shared/corpus/gen.py`, A a registry "
              "or vendor alias that mail software writes (IANA names of US-ASCII, Microsoft code "
              "pages, RFC 1554, 1557, 1642, 2152), T a misspelling seen in mail, S seen in real mail by "
              "the survey of issue 9 (Windows GDI names: `CHINESEBIG5_CHARSET` is code page 950, "
              "`GB2312_CHARSET` 936)." % (len(charsets), len(labels)),
              "", END]
    return "\n".join(lines)


readme = open(root + "/README.md").read()
if START not in readme or END not in readme:
    print("README.md has no label table section")
    print("0 passed, 1 failed")
    sys.exit(1)
current = readme[readme.index(START):readme.index(END) + len(END)]
if "--write" in sys.argv:
    open(root + "/README.md", "w").write(readme.replace(current, section()))
    sys.exit(0)
if current != section():
    print("README.md's label table differs from mime/charset-table.c: run tests/readme_labels.py . --write")
    print("0 passed, 1 failed")
    sys.exit(1)
print("README lists all %d labels of %d charsets" % (len(labels), len(charsets)))
print("1 passed, 0 failed")
