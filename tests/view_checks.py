#!/usr/bin/env python3
"""The parsed view (mimeutf8 --json, mimeutf8_parse) checked against readers that are not it.

  view_checks.py MIMEUTF8 SHARED gen [--seed N] [--count N]
      (a) gen.py's answer key: the JSON's subject, From name, text parts' texts and attachment
      file names equal the key's, with check.py's text normalization and the thresholds of
      corpus.py (its REQUIRED cases without failure, its RATES for the two that need detection).
  view_checks.py MIMEUTF8 SHARED python
      (b) Python's email package (policy.default, get_content, get_body) over corpus/real: where
      both read a text part at the same path, the texts agree, or differ for one of the reasons
      in DOCUMENTED (each found from the bytes, not assumed); get_body's plain and html parts
      are the view's bodies.
  view_checks.py MIMEUTF8 SHARED normalized [--seed N] [--count N]
      (c) the texts in the JSON equal, byte for byte, the texts of the same parts of the
      normalized message (mimeutf8 --convert-signed -o) read back by Python's email package,
      for every part the view says was written (converted or already UTF-8) of every message of
      the gen corpus and of corpus/real that the normalizer does not pass through.

Exits 77 (a skip, for meson) saying so plainly when SHARED is absent.
"""
import codecs
import email
import email.policy
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402  (REQUIRED, RATES, gen, real_messages: the conformance tests' own)

SKIP = 77


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def views(tool, files, extra=()):
    """The JSON view of every file, by base name."""
    r = subprocess.run([tool, "--json", "-q"] + list(extra) + files, capture_output=True)
    if r.returncode != 0:
        fail("mimeutf8 --json exited %d: %s" % (r.returncode, r.stderr.decode(errors="replace")[:500]))
    out = {}
    for line in r.stdout.decode("utf-8").splitlines():
        view = json.loads(line)
        out[os.path.basename(view["name"])] = view
    if len(out) != len(files):
        fail("%d JSON lines for %d files" % (len(out), len(files)))
    return out


def py_parts(msg):
    """path -> part, as the report numbers them: "0" for a top multipart, "1", "1.2"...; a
    message/rfc822 part P holds its message's body at P.0 (a multipart) or P.1."""
    out = {}

    def walk(m, path):
        out[path] = m
        if m.get_content_maintype() == "multipart" and isinstance(m.get_payload(), list):
            base = "" if path == "0" else path[:-2] if path.endswith(".0") else path
            for i, p in enumerate(m.get_payload()):
                walk(p, "%s.%d" % (base, i + 1) if base else "%d" % (i + 1))
        elif m.get_content_type() == "message/rfc822" and isinstance(m.get_payload(), list) and m.get_payload():
            top(m.get_payload()[0], path)

    def top(m, prefix):
        if m.get_content_maintype() == "multipart":
            walk(m, prefix + ".0" if prefix else "0")
        else:
            walk(m, prefix + ".1" if prefix else "1")

    top(msg, "")
    return out


# ---- (a) the answer key --------------------------------------------------------------------------


def test_gen(tool, shared, seed, count):
    sys.path.insert(0, os.path.join(shared, "corpus"))
    import check  # the answer key's own text normalization (norm_text)

    with tempfile.TemporaryDirectory() as work:
        src, names = corpus.gen(tool, shared, work, seed, count)
        got = views(tool, [os.path.join(src, n) for n in names])
        tally, fails = Counter(), Counter()
        failures = []
        for line in open(os.path.join(src, "key.jsonl"), encoding="utf-8"):
            key = json.loads(line)
            view = got[key["file"]]
            texts = [p for p in view["parts"] if p["type"].startswith("text/")]
            tally["structure"] += 1
            if len(texts) != len(key["parts"]):
                fails["structure"] += 1
                failures.append((key["file"], "text parts: %d, key %d" % (len(texts), len(key["parts"]))))
            for part, want in zip(texts, key["parts"]):
                damaged = want["case"].startswith("damaged")
                ok = part["text"] is not None and \
                    check.norm_text(part["text"], damaged) == check.norm_text(want["text"], damaged)
                tally[want["case"]] += 1
                if not ok:
                    fails[want["case"]] += 1
                    failures.append((key["file"], "part %s (%s): text differs" % (part["path"], want["case"])))
            case = "subject-8bit" if key.get("subject_raw_8bit") else "subject"
            tally[case] += 1
            if view["subject"] != key["subject"]:
                fails[case] += 1
                failures.append((key["file"], "subject %r" % view["subject"]))
            if "from_name" in key:
                tally["from-name"] += 1
                name = view["from"][0]["name"] if view["from"] else None
                if name != key["from_name"]:
                    fails["from-name"] += 1
                    failures.append((key["file"], "From name %r, key %r" % (name, key["from_name"])))
            attached = [p for p in view["parts"] if not p["type"].startswith(("text/", "multipart/"))
                        and p["type"] != "message/rfc822" and p["disposition"] is not None]
            for i, want in enumerate(key.get("filenames", [])):
                tally["filename"] += 1
                got_name = attached[i]["filename"] if i < len(attached) else None
                if got_name != want:
                    fails["filename"] += 1
                    failures.append((key["file"], "file name %r, key %r" % (got_name, want)))
        for f, why in failures[:15]:
            print("%s: %s" % (f, why))
        print("gen seed %d: %d messages" % (seed, len(names)))
        for case in sorted(tally):
            print("  %-16s %6d %6d failed" % (case, tally[case], fails[case]))
        bad = {c: fails[c] for c in corpus.REQUIRED if fails[c] and c != "line-ends"}
        for case in corpus.REQUIRED:
            if case != "line-ends" and not tally[case]:
                bad[case] = "no case"
        for case, rate in corpus.RATES.items():
            exact = 1 - fails[case] / tally[case] if tally[case] else 0
            print("  %s: %.1f%% exact (at least %.0f%% wanted)" % (case, 100 * exact, 100 * rate))
            if exact < rate:
                bad[case] = "%.1f%%" % (100 * exact)
        if bad:
            fail("cases failed: %s" % bad)
        print("PASS: the view agrees with gen.py's key")


# ---- (b) Python's email package over corpus/real --------------------------------------------------

META = re.compile(r"(<meta[^>]*charset=)[\"']?([A-Za-z0-9_.:-]+)", re.I)
FFFD = re.compile(r"\ufffd+")
# WHATWG's windows-125x tables have the C1 control for the bytes Python's cp125x leaves undefined
codecs.register_error("c1", lambda e: (chr(e.object[e.start]), e.start + 1))
# A label's WHATWG reading where Python's codec of the same name reads some bytes otherwise.
WHATWG = {"iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
          "iso-8859-9": "cp1254", "iso-8859-11": "cp874", "tis-620": "cp874", "shift_jis": "cp932",
          "sjis": "cp932", "x-sjis": "cp932", "gb2312": "gb18030", "gbk": "gb18030", "euc-cn": "gb18030",
          "big5": "big5hkscs", "euc-kr": "cp949", "ks_c_5601-1987": "cp949", "iso-2022-jp": "iso2022_jp_ext"}

# Why the two readers may differ on a part's text.  Each is found from the bytes and the view's
# record (the charset rule), never assumed; the README's charset rules document the first four.
DOCUMENTED = {
    "evidence": "the view decided the charset from evidence (byte-order mark, valid UTF-8, "
                "detection, <meta>, the message's other labels, fallback), Python from the label "
                "alone: README, charset rules",
    "whatwg": "the label is read as WHATWG reads it (latin1 as windows-1252, shift_jis as "
              "Windows-31J, gb2312 as gb18030...), where Python's codec of that name has no "
              "character for some bytes or another one",
    "unknown-label": "Python does not know the label and reads UTF-8; the view's table knows it",
    "invalid-bytes": "invalid sequences: the view puts one U+FFFD per maximal invalid subpart "
                     "(WHATWG), Python's errors='replace' one per byte; equal once runs of U+FFFD "
                     "are collapsed",
    "header-block": "the header block has no blank line after it (Python's "
                    "MissingHeaderBodySeparatorDefect): Python starts the body at the first line "
                    "that is not a field, GMime and the view read no body",
    "nul": "the view replaces a NUL by U+FFFD and drops NUL padding at the end (README)",
    "bom": "the view drops a byte-order mark; Python keeps U+FEFF",
    "meta": "an HTML <meta> charset is rewritten to utf-8 in the view's text, as in the output",
    "base64-footer": "text after a base64 body (a list footer) is kept by the view (README); "
                     "Python's base64 decoder drops it or reads it as base64",
    "line-ends": "Python's reading has LF where the part has CR LF (its quoted-printable "
                 "decoder, its parser on a body in a CRLF message); equal once CR LF is LF",
    "python-replaces": "Python's codec has no character for bytes the label's WHATWG table "
                       "reads (the NEC and IBM rows of JIS X 0208 in ISO-2022-JP: README)",
    "no-closing-boundary": "the input ends without a multipart's closing boundary: Python drops "
                           "the last line break of the last part, GMime and the view keep it",
}


def normal(s):
    return s.replace("\r\n", "\n")


def erase(a, b, kinds, reasons):
    """Applies the transformations named in `kinds` that erase a documented difference between
    the view's text `a` and Python's `b`; each that changed anything is added to `reasons`."""
    if "meta" in kinds:
        a2, b2 = META.sub(r"\1utf-8", a), META.sub(r"\1utf-8", b)
        if (a2, b2) != (a, b):
            reasons.add("meta")
        a, b = a2, b2
    if "bom" in kinds and b.startswith("\ufeff") and not a.startswith("\ufeff"):
        b = b.lstrip("\ufeff")
        reasons.add("bom")
    if "nul" in kinds and "\x00" in b:
        b = b.replace("\x00", "\ufffd")
        if a != b:
            a, b = a.rstrip("\ufffd\n"), b.rstrip("\ufffd\n")
        reasons.add("nul")
    if "\ufffd" in a + b and a != b:
        a2, b2 = FFFD.sub("\ufffd", a), FFFD.sub("\ufffd", b)
        if (a2, b2) != (a, b):
            reasons.add("invalid-bytes")
        a, b = a2, b2
    return a, b


def replaced_only(a, b):
    """TRUE when `b` is `a` but for runs of U+FFFD standing for characters `a` has."""
    pieces = FFFD.split(b)
    return len(pieces) > 1 and re.fullmatch(".+?".join(re.escape(x) for x in pieces), a, re.S) is not None


def explain(ours, record, pypart, raw, msg_defects):
    """The documented reasons the texts differ (a set), or None."""
    reasons = set()
    a, b = normal(ours), normal(pypart.get_content())
    if "CloseBoundaryNotFoundDefect" in msg_defects and a.endswith("\n") and a[:-1] == b:
        return {"no-closing-boundary"}
    if "MissingHeaderBodySeparatorDefect" in msg_defects and a == "":
        return {"header-block"}
    all_kinds = ("meta", "bom", "nul")
    a, b = erase(a, b, all_kinds, reasons)
    if a == b:
        return reasons
    label = (pypart.get_content_charset() or "").lower()
    if record["rule"] not in ("label", "ascii", None) or (record["rule"] == "ascii" and label):
        return reasons | {"evidence"}
    try:
        codecs.lookup(label)
    except LookupError:
        return reasons | {"unknown-label"}
    if label in WHATWG and raw is not None:
        codec = WHATWG[label]
        a2, b2 = erase(normal(ours), normal(raw.decode(codec, "c1" if codec.startswith("cp125") else "replace")),
                       all_kinds, reasons)
        if a2 == b2 or a2.rstrip("\n") == b2.rstrip("\n"):
            return reasons | {"whatwg"}
    if replaced_only(a, b):
        return reasons | {"python-replaces"}
    if (pypart.get("Content-Transfer-Encoding", "").strip().lower() == "base64" and
            (a.startswith(b.rstrip("\n")) or b.rstrip("\ufffd") in a)):
        return reasons | {"base64-footer"}
    return None


def test_python(tool, shared):
    with tempfile.TemporaryDirectory() as work:
        src, names = corpus.real_messages(shared, work)
        got = views(tool, [os.path.join(src, n) for n in names])
        stats = Counter()
        reasons = Counter()
        unexplained = []
        for n in names:
            data = open(os.path.join(src, n), "rb").read()
            view = got[n]
            try:
                msg = email.message_from_bytes(data, policy=email.policy.default)
                pyparts = py_parts(msg)
            except Exception as e:  # Python's reader fails on the message: nothing to compare
                stats["python fails on the message (%s)" % type(e).__name__] += 1
                continue
            stats["messages"] += 1
            msg_defects = defects(msg)
            for part in view["parts"]:
                if not part["type"].startswith("text/"):
                    continue
                stats["view text parts"] += 1
                p = pyparts.get(part["path"])
                if p is None or p.get_content_type() != part["type"] or p.is_multipart():
                    stats["not the same part in Python's reading"] += 1
                    continue
                if part["text"] is None:
                    stats["no text in the view (%s)" % part["reason"]] += 1
                    continue
                try:
                    p.get_content()
                    raw = p.get_payload(decode=True)
                except Exception as e:
                    stats["no text in Python's reading (%s)" % type(e).__name__] += 1
                    continue
                stats["compared"] += 1
                if p.get_content() == part["text"]:
                    stats["equal"] += 1
                    continue
                if normal(p.get_content()) == normal(part["text"]):
                    reasons["line-ends"] += 1
                    continue
                why = explain(part["text"], part, p, raw, msg_defects)
                if why is None:
                    unexplained.append((n, part["path"], part["charset"], part["rule"]))
                    if os.environ.get("VIEW_CHECKS_VERBOSE"):
                        a, b = normal(part["text"]), normal(p.get_content())
                        i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
                        print("  %s %s at %d: view %r, python %r" % (n, part["path"], i, a[i - 10:i + 30], b[i - 10:i + 30]))
                else:
                    reasons["+".join(sorted(why))] += 1
            # the bodies a reader is shown, where both readers see one tree
            tree = [(p["path"], p["type"]) for p in view["parts"]]
            if set(tree) != {(k, v.get_content_type()) for k, v in pyparts.items()}:
                stats["bodies not compared: the readers see other MIME trees"] += 1
                continue
            for kind in ("plain", "html"):
                try:
                    body = msg.get_body(preferencelist=(kind,))
                except Exception:
                    continue
                path = next((k for k, v in pyparts.items() if v is body), None) if body is not None else None
                stats["bodies compared"] += 1
                if path == view["body"][kind]:
                    stats["bodies equal"] += 1
                else:
                    unexplained.append((n, "body " + kind, view["body"][kind], path))
        for k in sorted(stats):
            print("  %-50s %6d" % (k, stats[k]))
        for k in sorted(reasons):
            print("  differs, documented: %-22s %6d" % (k, reasons[k]))
        for k in sorted(DOCUMENTED):
            print("    %s: %s" % (k, DOCUMENTED[k]))
        for u in unexplained[:20]:
            print("  UNEXPLAINED: %s %s (%s, %s)" % u)
        print("%d text parts compared: %d equal, %d differ for documented reasons, %d unexplained"
              % (stats["compared"], stats["equal"], sum(reasons.values()),
                 len([u for u in unexplained if not u[1].startswith("body")])))
        if unexplained:
            fail("%d differences without a documented reason" % len(unexplained))
        print("PASS")


# ---- (c) the normalized message's texts -------------------------------------------------------------


# Why a text of the view may not be what Python reads in the normalized message.  Both are
# disagreements between Python's parser and GMime's on a malformed input, shown from the bytes.
NORMALIZED_DOCUMENTED = {
    "no-closing-boundary": "the input ends without a multipart's closing boundary: Python "
                           "drops the last line break of the last part (CloseBoundaryNotFound), "
                           "GMime and the view keep it",
    "python-reads-input-so": "an already-UTF-8 part the normalizer does not write: Python reads "
                             "the input's part exactly as it reads the output's, otherwise than "
                             "GMime (its defects on the message are listed)",
}


def defects(msg):
    return sorted({type(d).__name__ for part in msg.walk() for d in part.defects})


def compare_normalized(tool, src, names, label):
    with tempfile.TemporaryDirectory() as out:
        got = views(tool, [os.path.join(src, n) for n in names])
        # the view reads signed content as --convert-signed writes it
        r = subprocess.run([tool, "-q", "--convert-signed", "-o", out] + [os.path.join(src, n) for n in names],
                           capture_output=True)
        if r.returncode != 0:
            fail("batch run exited %d: %s" % (r.returncode, r.stderr.decode(errors="replace")[:500]))
        stats = Counter()
        reasons = Counter()
        seen_defects = Counter()
        bad = []
        for n in names:
            view = got[n]
            if view["status"] == "passthrough":
                stats["messages passed through (not compared)"] += 1
                continue
            stats["messages"] += 1
            msg = email.message_from_bytes(open(os.path.join(out, n), "rb").read(), policy=email.policy.compat32)
            pyparts = py_parts(msg)
            inparts = None
            for part in view["parts"]:
                if part["action"] not in ("converted", "already-utf8") or not part["type"].startswith("text/"):
                    continue
                stats["parts"] += 1
                p = pyparts.get(part["path"])
                written = None
                if p is not None and p.get_content_type() == part["type"]:
                    written = (p.get_payload(decode=True) or b"").decode("utf-8", "strict")
                if written == part["text"]:
                    stats["equal"] += 1
                    continue
                ours = part["text"]
                if written is not None and ours in (written + "\n", written + "\r\n") and \
                        "CloseBoundaryNotFoundDefect" in defects(msg):
                    reasons["no-closing-boundary"] += 1
                    continue
                if part["action"] == "already-utf8":
                    if inparts is None:
                        src_msg = email.message_from_bytes(open(os.path.join(src, n), "rb").read(),
                                                           policy=email.policy.compat32)
                        inparts = py_parts(src_msg)
                    q = inparts.get(part["path"])
                    read_in = None
                    if q is not None and q.get_content_type() == part["type"]:
                        read_in = (q.get_payload(decode=True) or b"").decode("utf-8", "replace")
                    if (p is None) == (q is None) and read_in == written:
                        reasons["python-reads-input-so"] += 1
                        for d in defects(src_msg) or ["(none)"]:
                            seen_defects[d] += 1
                        continue
                bad.append((n, part["path"], "%s %r vs %r" % (part["action"], (written or "")[:60], ours[:60])))
        print("%s: %s" % (label, ", ".join("%s %d" % kv for kv in sorted(stats.items()))))
        for k in sorted(reasons):
            print("  differs, documented: %-22s %5d  (%s)" % (k, reasons[k], NORMALIZED_DOCUMENTED[k]))
        if seen_defects:
            print("  Python's defects on those inputs: %s" % dict(seen_defects))
        for b in bad[:20]:
            print("  DIFFERS: %s %s: %s" % b)
        if bad:
            fail("%s: %d of %d parts differ from the normalized message" % (label, len(bad), stats["parts"]))


def test_normalized(tool, shared, seed, count):
    with tempfile.TemporaryDirectory() as work:
        src, names = corpus.gen(tool, shared, work, seed, count)
        compare_normalized(tool, src, names, "gen seed %d" % seed)
    with tempfile.TemporaryDirectory() as work:
        src, names = corpus.real_messages(shared, work)
        compare_normalized(tool, src, names, "corpus/real")
    print("PASS")


def main():
    args = sys.argv[1:]
    if len(args) < 3:
        sys.exit(__doc__)
    tool, shared, mode = args[:3]
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 1
    count = int(args[args.index("--count") + 1]) if "--count" in args else 500
    if not os.path.isfile(os.path.join(shared, "corpus", "gen.py")):
        print("SKIP: %s has no corpus/gen.py: the shared corpus is absent" % shared)
        sys.exit(SKIP)
    if mode == "gen":
        test_gen(tool, shared, seed, count)
    elif mode == "python":
        test_python(tool, shared)
    elif mode == "normalized":
        test_normalized(tool, shared, seed, count)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
