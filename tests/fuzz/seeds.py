#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, written at run time (never committed).

  seeds.py BUILD_FUZZ ROOT [SHARED]

Adds to BUILD_FUZZ/corpus-{convert,normalize,headers,view}/ (the targets' working corpora) from
fixtures/messages, the small messages of tests/hostile.py and, when SHARED (../shared) is there,
corpus/real: whole messages for fuzz-normalize and fuzz-view, their header fields for fuzz-headers, and their
text bodies behind a charset label line for fuzz-convert (formats: harness.h).  Inputs over
MAX_LEN are left out, and each corpus gets at most CAP seeds (fixtures first).  Files are named
by their SHA-1, as libFuzzer names its own.  fixtures/crashers is not a seed: the crashers test
replays it, and an open crasher would stop a smoke run before it looks for anything new.
"""
import email
import email.policy
import hashlib
import mailbox
import os
import re
import sys

MAX_LEN = {"convert": 16 * 1024, "normalize": 16 * 1024, "headers": 4096, "view": 16 * 1024}
# libFuzzer runs every seed before it starts mutating, and -max_total_time does not cut that
# short: a few hundred messages already take a while under ASan
CAP = {"convert": 2000, "normalize": 300, "headers": 2000, "view": 300}
LABELS = ["utf-8", "us-ascii", "iso-8859-1", "windows-1252", "iso-8859-2", "iso-8859-15", "koi8-r",
          "windows-1251", "shift_jis", "euc-jp", "iso-2022-jp", "euc-kr", "gb2312", "gb18030", "big5",
          "utf-16", "utf-16le", "utf-16be", "utf-7", "macintosh", "x-mac-cyrillic", "tis-620",
          "iso-2022-kr", "windows-1255", "ibm866", "iso-2022-cn-ext", "ibm1364", "x-unknown",
          "utf-8//TRANSLIT", "../../x", ""]


def write(directory, data, seen, target):
    if len(data) > MAX_LEN[target] or len(seen) >= CAP[target]:
        return
    key = hashlib.sha1(data).hexdigest()
    if key in seen:
        return
    seen.add(key)
    with open(os.path.join(directory, key), "wb") as f:
        f.write(data)


def messages(root, shared):
    fixtures = os.path.join(root, "fixtures")
    d = os.path.join(fixtures, "messages")
    for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        with open(os.path.join(d, n), "rb") as f:
            yield f.read()
    sys.path.insert(0, os.path.join(root, "tests"))
    import hostile  # noqa: E402
    for c in hostile.CASES:
        if c.name.startswith(("converter-", "charset-path", "charset-translit", "utf", "rfc2231-crlf", "8bit",
                              "qp-", "bad-", "missing-", "truncated-", "cr-only", "mixed-", "nul-", "empty",
                              "gmime-", "nest-multipart-50", "params-", "nest-multipart-65")):
            yield c.build()
    real = os.path.join(shared, "corpus", "real") if shared else None
    if real and os.path.isfile(os.path.join(real, "MESSAGES.tsv")):
        boxes = {}
        with open(os.path.join(real, "MESSAGES.tsv"), encoding="utf-8") as tsv:
            next(tsv)
            for line in tsv:
                path, index = line.split("\t")[:2]
                full = os.path.join(real, path)
                if int(index) < 0:
                    if os.path.getsize(full) <= 64 * 1024:
                        with open(full, "rb") as f:
                            yield f.read()
                else:
                    if full not in boxes:
                        box = mailbox.mbox(full)
                        boxes[full] = [box.get_bytes(k) for k in box.keys()]
                    yield boxes[full][int(index)]


def header_fields(data):
    head = re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0]
    for field in re.split(rb"\r?\n(?![ \t])", head):
        if b":" in field[:128]:
            yield field


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, root = sys.argv[1], sys.argv[2]
    shared = sys.argv[3] if len(sys.argv) > 3 else None
    dirs = {t: os.path.join(out, "corpus-" + t) for t in ("convert", "normalize", "headers", "view")}
    seen = {t: set() for t in dirs}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    bodies = 0
    for i, data in enumerate(messages(root, shared)):
        write(dirs["normalize"], data, seen["normalize"], "normalize")
        write(dirs["view"], data, seen["view"], "view")
        for field in header_fields(data):
            write(dirs["headers"], field, seen["headers"], "headers")
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
        for part in msg.walk():
            if part.get_content_maintype() != "text" or part.is_multipart():
                continue
            body = part.get_payload(decode=True) or b""
            label = (part.get_content_charset() or "").encode("ascii", "replace")[:60]
            write(dirs["convert"], label + b"\n" + body[:8192], seen["convert"], "convert")
            # the same bytes under another label: most of the converter's branches
            other = LABELS[(i + bodies) % len(LABELS)].encode()
            write(dirs["convert"], other + b"\n" + body[:8192], seen["convert"], "convert")
            bodies += 1
    for t, d in dirs.items():
        print("corpus-%s: %d seeds added, %d inputs in all" % (t, len(seen[t]), len(os.listdir(d))))


if __name__ == "__main__":
    main()
