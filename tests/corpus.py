#!/usr/bin/env python3
"""Conformance tests of the mimeutf8 command on the shared corpora (../shared/corpus).

  corpus.py MIMEUTF8 SHARED gen [--seed N] [--count N]
      gen.py messages through the stdin filter (one process per message) and through -o batch
      mode: check.py's exact and alias cases have no failure in either, both outputs agree,
      and a second run changes nothing.
  corpus.py MIMEUTF8 SHARED utf8 [--seed N] [--count N]
      gen.py --profile utf8: every output is byte-identical to its input.
  corpus.py MIMEUTF8 SHARED real
      every message of corpus/real: exit 0, a message out, every text part labelled utf-8 and
      strictly valid UTF-8, or pure ASCII labelled us-ascii or not at all, or ASCII left under
      a label that reads it as ASCII (as in an attached message that needs no conversion),
      unless the report says it was left alone; and idempotence.
  corpus.py MIMEUTF8 SHARED batch [--seed N] [--count N]
      every batch mode gives the bytes of one process per message: -o at -j1 and -j2 on gen.py
      messages and on corpus/real, an mbox of gen.py messages with From_ lines in their bodies,
      and a maildir of corpus/real.
  corpus.py MIMEUTF8 SHARED python
      every text part of corpus/real whose label Python's codecs know, and whose bytes decode
      cleanly in it, comes out as the same text as Python's decoding whatever rule decided,
      unless a README rule says otherwise and the bytes show it (a superset such as
      windows-1252 for latin1, valid UTF-8 under a legacy label, a byte-order mark, unlabelled
      ISO-2022-JP); what is not judged is listed by class, with why.
  corpus.py MIMEUTF8 SHARED words
      issue 9's integrity rule: every word (3 letters or more) of every text part of
      corpus/real that decodes cleanly in its label is in the output's text of the same part.

Exits 77 (a skip, for meson) saying so plainly when SHARED is absent.
"""
import binascii
import codecs
import email
import email.policy
import email.utils
import json
import mailbox
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import integrity  # noqa: E402

SKIP = 77
# check.py cases that must have no failure; the two that need detection are rates
REQUIRED = ("exact", "alias", "latin1-1252", "utf8-mislabel", "utf8-broken", "bom-mislabel", "damaged",
            "damaged-legacy", "subject", "from-name", "filename", "line-ends", "structure")
# At the level reached on the suite's seed (1): 37 of 37 undeclared parts and 28 of 28 8-bit
# subjects exact with 500 messages.  Another seed (MIMEUTF8_SEED) is held to issue 9's bar, 97%.
RATES = {"undeclared": 1.0, "subject-8bit": 1.0}
OTHER_SEED_RATE = 0.97


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def run_batch(tool, src_files, out_dir, report):
    os.makedirs(out_dir, exist_ok=True)
    r = subprocess.run([tool, "-q", "-o", out_dir, "--report", report] + src_files, capture_output=True)
    if r.returncode != 0:
        fail("batch run exited %d: %s" % (r.returncode, r.stderr.decode(errors="replace")[:500]))


def run_filter(tool, src, dst):
    with open(src, "rb") as i, open(dst, "wb") as o:
        r = subprocess.run([tool], stdin=i, stdout=o, stderr=subprocess.PIPE)
    if r.returncode != 0:
        fail("%s: filter exited %d: %s" % (src, r.returncode, r.stderr.decode(errors="replace")))


def same_files(a_dir, b_dir, names):
    return [n for n in names if open(os.path.join(a_dir, n), "rb").read() != open(os.path.join(b_dir, n), "rb").read()]


def check(shared, src, out, label, required=REQUIRED, rates=RATES):
    r = subprocess.run([sys.executable, os.path.join(shared, "corpus", "check.py"), src, out, "--json"],
                       capture_output=True, text=True)
    lines = r.stdout.strip().splitlines()
    try:
        table = json.loads(lines[0])
    except (IndexError, ValueError):
        fail("check.py gave no table: %s %s" % (r.stdout[:300], r.stderr[:300]))
    print("%s: %s" % (label, lines[-1]))
    for case, row in sorted(table.items()):
        if "parts" in row:
            print("  %-16s %6d parts %6d failed" % (case, row["parts"], row["failed"]))
    bad = {c: table[c]["failed"] for c in required if c in table and table[c]["failed"]}
    # a case check.py did not report passes nothing: it is a failure, not a silent pass
    for case in list(required) + list(rates):
        if not table.get(case, {}).get("parts"):
            bad[case] = "missing from check.py's table"
    for case, rate in rates.items():
        if case in table and table[case]["parts"]:
            exact = 1 - table[case]["failed"] / table[case]["parts"]
            print("  %s: %.1f%% exact (at least %.0f%% wanted)" % (case, 100 * exact, 100 * rate))
            if exact < rate:
                bad[case] = "%.1f%% exact" % (100 * exact)
    meta = table.get("html_meta_rewritten", {})
    if meta.get("no"):
        bad["html <meta>"] = "%d not utf-8" % meta["no"]
    if bad:
        subprocess.run([sys.executable, os.path.join(shared, "corpus", "check.py"), src, out])
        fail("%s: required cases failed: %s" % (label, bad))
    return table


def gen(tool, shared, work, seed, count, profile="mixed"):
    src = os.path.join(work, "in")
    subprocess.run([sys.executable, os.path.join(shared, "corpus", "gen.py"), "--out", src, "--seed", str(seed),
                    "--count", str(count), "--profile", profile], check=True, capture_output=True)
    names = sorted(n for n in os.listdir(src) if n.endswith(".eml"))
    return src, names


def test_gen(tool, shared, seed, count):
    with tempfile.TemporaryDirectory() as work:
        src, names = gen(tool, shared, work, seed, count)
        batch, filt, again = (os.path.join(work, d) for d in ("batch", "filter", "again"))
        run_batch(tool, [os.path.join(src, n) for n in names], batch, os.path.join(work, "report.jsonl"))
        os.makedirs(filt)
        for n in names:
            run_filter(tool, os.path.join(src, n), os.path.join(filt, n))
        check(shared, src, batch, "gen seed %d, -o batch" % seed)
        check(shared, src, filt, "gen seed %d, stdin filter" % seed)
        differ = same_files(batch, filt, names)
        if differ:
            fail("batch and filter outputs differ: %s" % differ[:5])
        run_batch(tool, [os.path.join(batch, n) for n in names], again, os.path.join(work, "report2.jsonl"))
        differ = same_files(batch, again, names)
        if differ:
            fail("not idempotent: a second run changed %d messages, e.g. %s" % (len(differ), differ[:5]))
        reports = [json.loads(l) for l in open(os.path.join(work, "report.jsonl"))]
        if len(reports) != len(names):
            fail("report has %d lines for %d messages" % (len(reports), len(names)))
        print("idempotent on %d messages; report has one line per message" % len(names))
        check_utf8_headers(tool, shared, src, names, os.path.join(work, "utf8"))


def raw_header(data, name):
    """The unfolded raw bytes of a header of the top-level block."""
    head = data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    for field in re.split(rb"\n(?![ \t])", head):
        if field.lower().startswith(name.lower() + b":"):
            return re.sub(rb"\n[ \t]", b" ", field[len(name) + 1:]).strip()
    return None


def decode_raw_utf8(value):
    """A header in --headers=utf8 form: raw UTF-8, with RFC 2047 words where a part stayed ASCII."""
    import email.header
    text = value.decode("utf-8")
    if "=?" in text:
        text = str(email.header.make_header(email.header.decode_header(text)))
    return text


def check_utf8_headers(tool, shared, src, names, out):
    """--headers=utf8: check.py reads the bodies (its compat32 parser turns raw 8-bit headers into
    U+FFFD, so Subject and From are read here, as raw UTF-8 as RFC 6532 has them)."""
    run_batch(tool, ["--headers=utf8"] + [os.path.join(src, n) for n in names], out, out + ".jsonl")
    required = [c for c in REQUIRED if c not in ("subject", "from-name", "filename")]
    check(shared, src, out, "--headers=utf8 (bodies)", required, {"undeclared": RATES["undeclared"]})
    keys = {k["file"]: k for k in map(json.loads, open(os.path.join(src, "key.jsonl"), encoding="utf-8"))}
    tally = {"subject": [0, 0], "subject-8bit": [0, 0], "from-name": [0, 0]}
    for n in names:
        data = open(os.path.join(out, n), "rb").read()
        key = keys[n]
        case = "subject-8bit" if key.get("subject_raw_8bit") else "subject"
        tally[case][0] += 1
        if decode_raw_utf8(raw_header(data, b"Subject") or b"") != key["subject"]:
            tally[case][1] += 1
        tally["from-name"][0] += 1
        name = email.utils.parseaddr(decode_raw_utf8(raw_header(data, b"From") or b""))[0]
        if name != key["from_name"]:
            tally["from-name"][1] += 1
    for case, (parts, failed) in sorted(tally.items()):
        print("  --headers=utf8 %-13s %6d parts %6d failed" % (case, parts, failed))
    if tally["subject"][1] or tally["from-name"][1]:
        fail("--headers=utf8: Subject or From wrong")
    rate = RATES["subject-8bit"]
    if tally["subject-8bit"][0] and tally["subject-8bit"][1] > (1 - rate) * tally["subject-8bit"][0]:
        fail("--headers=utf8: fewer than %.0f%% of 8-bit subjects exact" % (100 * rate))


def test_utf8(tool, shared, seed, count):
    """Already-normal mail comes out byte-identical.  gen.py's utf8 profile picks the charset of
    a forwarded (message/rfc822) part from every charset, so a few of its messages hold a legacy
    part that must be converted: those are checked with check.py instead, and counted."""
    with tempfile.TemporaryDirectory() as work:
        src, names = gen(tool, shared, work, seed, count, "utf8")
        out = os.path.join(work, "out")
        run_batch(tool, [os.path.join(src, n) for n in names], out, os.path.join(work, "report.jsonl"))
        keys = {k["file"]: k for k in map(json.loads, open(os.path.join(src, "key.jsonl"), encoding="utf-8"))}
        normal = [n for n in names if all(p["declared"] == "utf-8" for p in keys[n]["parts"])]
        differ = same_files(src, out, normal)
        if differ:
            fail("%d of %d already-normal messages changed, e.g. %s" % (len(differ), len(normal), differ[:5]))
        reports = {os.path.basename(r["name"]): r for r in map(json.loads, open(os.path.join(work, "report.jsonl")))}
        statuses = {reports[n]["status"] for n in normal}
        if statuses != {"unchanged"}:
            fail("already-normal messages reported as %s" % statuses)
        print("%d already-normal messages came out byte-identical and reported unchanged" % len(normal))
        # the cases gen.py's utf8 profile makes (a legacy forwarded part, when there is one, is
        # counted under exact)
        table = check(shared, src, out, "utf8 profile",
                      ("exact", "filename", "from-name", "line-ends", "structure", "subject"), {})
        failed = {c: r["failed"] for c, r in table.items() if "failed" in r and r["failed"]}
        if failed:
            fail("utf8 profile: check.py failures %s" % failed)
        print("%d messages with a legacy forwarded part were converted and pass check.py" % (len(names) - len(normal)))


def real_sources(shared):
    """NNNNN.eml -> its place in corpus/real (a path, or path#index for a message of an mbox)."""
    with open(os.path.join(shared, "corpus", "real", "MESSAGES.tsv"), encoding="utf-8") as tsv:
        next(tsv)
        rows = [line.split("\t")[:2] for line in tsv]
    return {"%05d.eml" % i: path if int(index) < 0 else "%s#%s" % (path, index)
            for i, (path, index) in enumerate(rows)}


def real_messages(shared, work):
    """Writes every message of corpus/real to WORK/in as NNNNN.eml; returns the names."""
    real = os.path.join(shared, "corpus", "real")
    src = os.path.join(work, "in")
    os.makedirs(src)
    names = []
    mboxes = {}
    with open(os.path.join(real, "MESSAGES.tsv"), encoding="utf-8") as tsv:
        next(tsv)
        for line in tsv:
            path, index = line.split("\t")[:2]
            full = os.path.join(real, path)
            if int(index) < 0:
                data = open(full, "rb").read()
            else:
                if full not in mboxes:
                    box = mailbox.mbox(full)
                    mboxes[full] = [box.get_bytes(k) for k in box.keys()]
                data = mboxes[full][int(index)]
            name = "%05d.eml" % len(names)
            with open(os.path.join(src, name), "wb") as f:
                f.write(data)
            names.append(name)
    return src, names


def text_leaves(msg):
    """Text leaves in MIME's reading of a message.  Python's parser needs three corrections:
    a message/rfc822 sent base64 (which RFC 2046 forbids, and Python reads as headers) is decoded
    and walked as the message it holds; message/delivery-status and its kin hold header blocks,
    not MIME entities; an empty part without a header line has no text to label."""
    out = []

    def walk(m):
        ctype = m.get_content_type()
        if m.is_multipart() and ctype == "message/rfc822" or m.get_content_maintype() == "multipart":
            for p in m.get_payload() if isinstance(m.get_payload(), list) else []:
                walk(p)
        elif ctype == "message/rfc822":
            inner = m.get_payload(decode=True)
            if isinstance(inner, bytes) and inner:
                walk(email.message_from_bytes(inner, policy=email.policy.compat32))
        elif m.get_content_maintype() == "text":
            if not m.keys() and not (m.get_payload(decode=True) or b"").strip():
                return
            out.append(m)

    walk(msg)
    return out


def top_header_lines(data):
    head = re.split(rb"\r?\n\r?\n", data, 1)[0]
    return [l.rstrip(b"\r") for l in head.split(b"\n")]


# headers never rewritten (an encoded-word is not allowed there): they keep their raw bytes
IDENTIFIERS = (b"return-path", b"message-id", b"references", b"in-reply-to", b"content-id", b"mime-version",
               b"resent-message-id")


def check_real_headers(names, src, out, reports):
    """--headers=encoded: the top-level headers are 7-bit, except what stays by design (valid
    UTF-8, which may be an RFC 6531 address; an addr-spec, never touched; DKIM, ARC,
    Return-Path and the identifier headers; lines that are no header field), and
    the Subject decodes in Python's email.header to text without U+FFFD unless the input's
    could not be decoded."""
    import email.header
    problems, kept, fffd = [], 0, 0
    for n in names:
        report = reports.get(n)
        if report is None or report["status"] == "passthrough":
            continue
        data = open(os.path.join(out, n), "rb").read()
        field = None
        for line in top_header_lines(data):
            if line[:1] not in (b" ", b"\t"):
                field = line.split(b":", 1)[0].strip().lower()
            if max(line, default=0) < 128:
                continue
            try:
                line.decode("utf-8")
                kept += 1
                continue
            except UnicodeDecodeError:
                pass
            in_address = any(max(tok) > 127 and b"@" in tok for tok in re.split(rb"[\s,<>]+", line) if tok)
            if field is not None and (b"dkim" in field or field.startswith(b"arc-") or field in IDENTIFIERS
                                      or not re.fullmatch(rb"[!-9;-~]+", field)
                                      or in_address and field in (b"from", b"to", b"cc", b"bcc", b"reply-to", b"sender")):
                kept += 1
                continue
            problems.append("%s: 8-bit header line %r" % (n, line[:60]))
        subject = raw_header(data, b"Subject")
        if subject is not None and max(subject, default=0) < 128:
            try:
                text = str(email.header.make_header(email.header.decode_header(subject.decode())))
            except Exception:
                text = subject.decode()
            if "\ufffd" in text:
                before = raw_header(open(os.path.join(src, n), "rb").read(), b"Subject") or b""
                replaced = any(h["name"].lower() == "subject" and h["replacements"] for h in report["headers"])
                if not replaced and "\ufffd".encode() not in before and b"=EF=BF=BD" not in before.upper():
                    problems.append("%s: Subject decodes with U+FFFD, the input's did not" % n)
                fffd += 1
    print("headers: %d 8-bit top-level header lines kept by design (valid UTF-8, addr-specs, "
          "DKIM/ARC, Return-Path, identifiers, not header lines); %d subjects with U+FFFD, each from undecodable input"
          % (kept, fffd))
    return problems


def reads_as_ascii(data, label):
    """TRUE when Python's codec of the label reads ASCII bytes as the same ASCII text."""
    try:
        return data.decode(label) == data.decode("ascii")
    except (LookupError, UnicodeDecodeError):
        return False


def test_real(tool, shared):
    """Every text part, as the library reads the message, comes out labelled utf-8 and valid:
    the second run's report must find each one already UTF-8, or left alone and reported so.
    Python's email package is the independent check wherever it sees the same text parts; where
    the two parsers disagree on a malformed message (a boundary look-alike, an invalid
    Content-Type), the difference is listed, not judged."""
    with tempfile.TemporaryDirectory() as work:
        src, names = real_messages(shared, work)
        out, again = os.path.join(work, "out"), os.path.join(work, "again")
        report_path, report2_path = os.path.join(work, "report.jsonl"), os.path.join(work, "report2.jsonl")
        run_batch(tool, [os.path.join(src, n) for n in names], out, report_path)
        run_batch(tool, [os.path.join(out, n) for n in names], again, report2_path)
        first = {os.path.basename(r["name"]): r for r in map(json.loads, open(report_path))}
        second = {os.path.basename(r["name"]): r for r in map(json.loads, open(report2_path))}
        problems, differences, left = [], [], 0
        for n in names:
            path = os.path.join(out, n)
            if not os.path.exists(path) or n not in first or n not in second:
                problems.append("%s: no output or no report line" % n)
                continue
            if first[n]["status"] == "passthrough":
                left += 1
                continue
            ours = [p for p in second[n]["parts"] if p["type"].startswith("text/")]
            not_utf8 = [p for p in ours if p["action"] not in ("already-utf8", "left-alone")]
            if not_utf8:
                problems.append("%s: part %s is %s after normalization" % (n, not_utf8[0]["path"], not_utf8[0]["action"]))
            if any(p["action"] == "left-alone" for p in ours):
                left += 1
            msg = email.message_from_bytes(open(path, "rb").read(), policy=email.policy.compat32)
            leaves = text_leaves(msg)
            if len(leaves) != len(ours):
                differences.append("%s: Python sees %d text parts, the library %d" % (n, len(leaves), len(ours)))
                continue
            for part, record in zip(leaves, ours):
                if record["action"] == "left-alone":
                    continue
                cs = (part.get_content_charset() or "").lower()
                body = part.get_payload(decode=True) or b""
                try:
                    body.decode("utf-8")
                    valid = True
                except UnicodeDecodeError:
                    valid = False
                # pure ASCII (no ESC) is UTF-8 already under no label or us-ascii, as check.py has
                # it, and so is ASCII left under a label that reads it as ASCII, as in an attached
                # message that needs no conversion
                ascii_ok = (max(body, default=0) < 128 and b"\x1b" not in body and
                            (cs in ("", "us-ascii", "ascii") or reads_as_ascii(body, cs)))
                if not ascii_ok and (cs not in ("utf-8", "utf8") or not valid):
                    problems.append("%s: Python reads part %s as %r%s" % (n, record["path"], cs, "" if valid else ", invalid UTF-8"))
        header_problems = check_real_headers(names, src, out, first)
        problems += header_problems
        differ = same_files(out, again, names)
        statuses = {}
        for r in first.values():
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        print("real corpus: %d messages; %s; %d with parts left alone or passed through (reported)"
              % (len(names), ", ".join("%s %d" % kv for kv in sorted(statuses.items())), left))
        print("%d messages that Python's email package parses into other text parts (not judged), e.g.:" % len(differences))
        for d in differences[:5]:
            print("  " + d)
        for p in problems[:20]:
            print("  " + p)
        if problems:
            fail("%d real messages have text parts not labelled utf-8 or not valid UTF-8" % len(problems))
        if differ:
            fail("not idempotent on %d real messages, e.g. %s" % (len(differ), differ[:5]))
        print("every text part is utf-8 and valid; a second run changed nothing")


# Labels the table maps to a superset, with the Python codec of that superset.
SUPERSETS = {"iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
             "iso-8859-9": "cp1254", "tis-620": "cp874", "euc-kr": "cp949", "ks_c_5601-1987": "cp949",
             "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
             "gb2312": "gb18030", "gbk": "gb18030", "big5": "big5hkscs", "utf-16": "utf-16-le"}
META = re.compile(r"(<meta[^>]*charset=)[\"']?([A-Za-z0-9_.:-]+)", re.I)


def comparable(text):
    text = META.sub(lambda m: m.group(1) + "utf-8", text)
    return text.replace("\x00", "\ufffd")


# Parts whose text differs from Python's clean decoding because of a known defect, by the issue
# item that fixes it; a listed part that passes fails the test, so that the
# list only shrinks.  Empty it as those fixes land.
KNOWN_PYTHON_DIFFERENCES = {
    # none: the last ones (plain text marked base64, issue 15) are left alone now
}

def real_outputs(tool, shared):
    """Runs the command over corpus/real in -o batch mode; yields (name, input bytes, output
    bytes, report) per message."""
    with tempfile.TemporaryDirectory() as work:
        src, names = real_messages(shared, work)
        out = os.path.join(work, "out")
        report_path = os.path.join(work, "report.jsonl")
        run_batch(tool, [os.path.join(src, n) for n in names], out, report_path)
        reports = {os.path.basename(r["name"]): r for r in map(json.loads, open(report_path))}
        for n in names:
            yield n, open(os.path.join(src, n), "rb").read(), open(os.path.join(out, n), "rb").read(), reports[n]


def judge(failures, sources, known_table, table_name, tag, what):
    """Fails on a failure not in the known list, and on a known entry that passes now."""
    known = {n: why for n, why in failures.items() if sources[n] in known_table}
    new = {n: why for n, why in failures.items() if n not in known}
    for n, why in sorted(known.items()):
        print("  known (%s): %s %s" % (known_table[sources[n]], sources[n], why))
    for n, why in sorted(new.items()):
        print("  %s: %s (%s) %s" % (tag, sources[n], n, why))
    stale = sorted(set(known_table) - {sources[n] for n in known})
    for s in stale:
        print("  known failure that passes now (remove it from %s): %s" % (table_name, s))
    if new:
        fail("%d %s" % (len(new), what))
    if stale:
        fail("%d entries of %s pass now" % (len(stale), table_name))


BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def justified(record, data, label, our_text, part=None):
    """Why the library's text may differ from Python's clean decoding in LABEL, or None.  Each
    reason is a rule of the README, checked on the bytes rather than taken from the report:
      - superset: the label table maps the label to a superset (latin1 -> windows-1252 with
        WHATWG's C1 controls, gb2312 -> gb18030, big5 -> big5-hkscs...), and the text is the
        superset's decoding;
      - utf8: valid UTF-8 with non-ASCII under a single-byte label is UTF-8 (legacy text is
        almost never valid UTF-8 by chance), and the text is the UTF-8 decoding;
      - bom: a byte-order mark decides, and the text is the decoding after it;
      - iso-2022-jp: unlabelled ASCII with ISO-2022-JP escapes is ISO-2022-JP (Python reads
        the escapes as us-ascii text), and the text is Python's ISO-2022-JP decoding;
      - base64 footer: plain lines after a base64 run (a list footer) are kept as text, where
        Python's decoder reads them as more base64; the text is Python's decoding of the run
        alone followed by those lines."""
    superset = SUPERSETS.get(label)
    if superset:
        try:
            codec = codecs.lookup(superset).name
            if comparable(data.decode(codec, "c1-only" if codec.startswith("cp") else "strict")) == our_text:
                return "superset %s for %s" % (superset, label)
        except UnicodeDecodeError:
            pass
    if record["rule"] == "utf8":
        try:
            if comparable(data.decode("utf-8")) == our_text:
                return "valid UTF-8 under a legacy label"
        except UnicodeDecodeError:
            pass
    if record["rule"] == "detected" and record["declared"] is None and record["charset"] == "iso-2022-jp":
        try:
            if b"\x1b" in data and comparable(data.decode("iso2022_jp_2")) == our_text:
                return "unlabelled ISO-2022-JP"
        except UnicodeDecodeError:
            pass
    if record["encoding_in"] == "base64" and part is not None:
        plain = integrity.plain_lines_of_base64(part)
        if plain:
            raw = re.split(rb"\r\n|\r|\n", integrity.raw_payload(part))
            run = b"".join(l.strip() for l in raw if l.strip() and l.strip() not in plain)
            try:
                text = binascii.a2b_base64(run).decode(codecs.lookup(label).name)
                tail = "\n".join(l.decode(codecs.lookup(label).name) for l in plain)
                # the blank lines between the run and the footer stay as written
                if (re.sub(r"\s+", " ", comparable(text) + "\n" + comparable(tail)).strip()
                        == re.sub(r"\s+", " ", our_text).strip()):
                    return "plain text after base64, kept as text"
            except (LookupError, UnicodeDecodeError, binascii.Error):
                pass
    if record["rule"] == "bom":
        for bom, codec in BOMS:
            if data.startswith(bom):
                try:
                    if comparable(data[len(bom):].decode(codec)) == our_text:
                        return "byte-order mark"
                except UnicodeDecodeError:
                    pass
    return None


def test_python(tool, shared):
    """Every text part of corpus/real whose label Python's codecs know, and whose bytes decode
    cleanly in it, comes out as the same text as Python's decoding, whatever rule decided,
    unless a rule of the README says otherwise and the bytes show it (justified()).
    Not judged, with why:
      - a message whose output is its input byte for byte (checked): nothing was changed;
      - a part left alone (reported, with a reason): its bytes and label stay;
      - a message where Python and the library see different text parts: parts cannot be
        paired (corpus-words checks such messages per message);
      - a part whose label Python does not know or whose bytes do not decode cleanly in it:
        there is no clean reading to compare with (corpus-real checks it is valid UTF-8)."""
    sources = real_sources(shared)
    tally, unexplained = {}, {}

    def count(what):
        tally[what] = tally.get(what, 0) + 1

    for n, data_in, data_out, report in real_outputs(tool, shared):
        if report["status"] != "normalized":
            if data_in != data_out:
                unexplained[n] = "status %s but the output is not the input" % report["status"]
            count("messages: output is the input (%s)" % report["status"])
            continue
        ours = [p for p in report["parts"] if p["type"].startswith("text/")]
        before = text_leaves(email.message_from_bytes(data_in, policy=email.policy.compat32))
        after = text_leaves(email.message_from_bytes(data_out, policy=email.policy.compat32))
        if not (len(ours) == len(before) == len(after)):
            count("messages: Python sees other text parts than the library")
            continue
        for record, b, a in zip(ours, before, after):
            if record["action"] == "left-alone":
                count("parts: left alone (reported)")
                continue
            label = (b.get_content_charset() or "us-ascii").strip().strip('"').lower()
            data = b.get_payload(decode=True) or b""
            try:
                python_text = comparable(data.decode(codecs.lookup(label).name))
            except (LookupError, UnicodeDecodeError):
                count("parts: label unknown to Python or bytes not clean in it")
                continue
            our_text = comparable((a.get_payload(decode=True) or b"").decode("utf-8", "replace"))
            why = "same text" if our_text == python_text else justified(record, data, label, our_text, b)
            if why is None:
                unexplained.setdefault(n, "part %s (%s, rule %s, %s)" % (
                    record["path"], label, record["rule"], record["action"]))
                why = "unexplained"
            count("parts: " + why)
    print("text parts of corpus/real against Python's clean decoding:")
    for why, k in sorted(tally.items(), key=lambda kv: -kv[1]):
        print("  %6d  %s" % (k, why))
    judge(unexplained, sources, KNOWN_PYTHON_DIFFERENCES, "KNOWN_PYTHON_DIFFERENCES", "UNEXPLAINED",
          "messages have a part whose text differs from Python's clean decoding, for no stated reason")


# ---- words: no text that decoded cleanly in the input is missing from the output ----------------

WORD = re.compile(r"[^\W\d_]{3,}")
ASCII_WORD = re.compile(r"[A-Za-z]{3,}")
B64_LINE = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
LABEL = re.compile(r"""(charset\s*=\s*)["']?[A-Za-z0-9_.:-]+["']?""", re.I)

# Parts that lose words today because of a known defect.  Each entry names the issue
# item that fixes it; a listed part that passes makes the test fail, so that the list only
# shrinks.  Empty it as those fixes land.
KNOWN_WORD_LOSSES = {
    # none: the last ones (a footer after base64, issue 9 item 1; plain text marked base64,
    # issue 15) are kept or left alone now
}


def c1_only(error):
    """WHATWG's windows-125x and windows-874 decode the bytes Python's codecs leave undefined as
    the C1 controls; any other undecodable byte stays an error."""
    byte = error.object[error.start]
    if isinstance(error, UnicodeDecodeError) and 0x80 <= byte <= 0x9F:
        return chr(byte), error.start + 1
    raise error


codecs.register_error("c1-only", c1_only)


def transfer_decode(part):
    """A part's bytes as a careful reader takes them: base64 decoded up to its last line (one
    ending in '=', or the last line that is base64 at all), and the plain lines after it kept
    as they are (a mailing-list footer), as mail clients show them.  Python's decoder, and
    GMime's, skip such lines as invalid base64: that is the loss this test exists to catch.
    None when the base64 itself does not decode."""
    cte = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    if cte != "base64":
        return part.get_payload(decode=True) or b""
    raw = part.get_payload(decode=False)
    if isinstance(raw, list):
        return None
    if isinstance(raw, str):
        raw = raw.encode("ascii", "surrogateescape")
    lines = raw.splitlines(keepends=True)
    run, i = [], 0
    while i < len(lines):
        line = lines[i].strip()
        if line and not B64_LINE.fullmatch(line):
            break
        run.append(line)
        i += 1
        if line.endswith(b"="):
            break
    data = b"".join(run)
    try:
        decoded = binascii.a2b_base64(data + b"=" * (-len(data) % 4))
    except binascii.Error:
        return None
    trailer = b"".join(lines[i:])
    return decoded + trailer if trailer.strip() else decoded


def strict_text(part, label):
    """The part's text decoded strictly in LABEL (through the superset the label table maps it
    to, with WHATWG's C1 controls), or None when Python does not know the label or the bytes
    are not clean in it."""
    data = transfer_decode(part)
    label = (label or "us-ascii").strip().strip("\"'").lower()
    if data is None:
        return None
    try:
        codec = codecs.lookup(SUPERSETS.get(label, label)).name
        return data.decode(codec, "c1-only" if codec.startswith("cp") else "strict")
    except (LookupError, UnicodeDecodeError):
        return None


def output_text(part):
    """The output part's text: its own label strictly (utf-8 for a converted part, the input's
    for one left alone), else UTF-8 with U+FFFD, so that damage shows as missing words."""
    text = strict_text(part, part.get_content_charset())
    if text is None:
        text = (transfer_decode(part) or b"").decode("utf-8", "replace")
    return text


def word_set(text, pattern=WORD):
    # charset labels are rewritten by design, in <meta> and (where Python reads a nested header
    # block as text) in Content-Type lines
    return set(pattern.findall(LABEL.sub(lambda m: m.group(1) + "utf-8", text)))


def test_words(tool, shared):
    """Issue 9's integrity rule.  For every message of corpus/real, Python's email package reads
    the input and the output.  For each text part of the input whose label Python knows and
    whose transfer-decoded bytes decode strictly in it, every word (3 letters or more) of that
    text must appear in the text of the same part of the output.

    The reference decoding is the label's, through the superset the README's label table maps
    it to (latin1 -> windows-1252...), except where the library's evidence rule overrode the
    label (utf8, bom, detected, meta, message, fallback): then it is the decoding in the charset
    the library chose, if that is clean too (valid UTF-8 under a latin1 label is UTF-8, not
    mojibake words).  Exempt, with why:
      - output = input byte for byte (passthrough, unchanged): nothing can be missing;
      - a part whose label Python does not know, or whose bytes do not decode cleanly in it:
        there is no clean reading to compare with (corpus-real checks that such a part comes
        out valid UTF-8 labelled utf-8, or is reported left alone);
      - a message where Python and the library see different text parts (a boundary
        look-alike, an invalid Content-Type): parts cannot be paired, so the check is made per
        message instead, on words of ASCII letters only (they read the same in every
        ASCII-compatible charset, whatever rule decided).
    Known failures are listed in KNOWN_WORD_LOSSES."""
    sources = real_sources(shared)
    tally, losses = {}, {}

    def count(what):
        tally[what] = tally.get(what, 0) + 1

    for n, data_in, data_out, report in real_outputs(tool, shared):
        if data_in == data_out:
            count("messages: output is the input")
            continue
        ours = [p for p in report["parts"] if p["type"].startswith("text/")]
        before = text_leaves(email.message_from_bytes(data_in, policy=email.policy.compat32))
        after = text_leaves(email.message_from_bytes(data_out, policy=email.policy.compat32))
        if not (len(ours) == len(before) == len(after)):
            count("messages: Python sees other text parts (checked per message, ASCII words)")
            want = set()
            for b in before:
                text = strict_text(b, b.get_content_charset())
                if text is not None:
                    want |= word_set(text, ASCII_WORD)
            have = set()
            for a in after:
                have |= word_set(output_text(a), ASCII_WORD)
            if want - have:
                losses[n] = "words %s" % sorted(want - have)[:5]
            continue
        for record, b, a in zip(ours, before, after):
            label = b.get_content_charset()
            text = None
            if record["rule"] not in ("label", "ascii", "none") and record["charset"]:
                text = strict_text(b, record["charset"])
            if text is None:
                text = strict_text(b, label)
            if text is None:
                count("parts: label unknown to Python or bytes not clean in it")
                continue
            count("parts compared")
            missing = word_set(text) - word_set(output_text(a))
            if missing:
                losses.setdefault(n, "part %s (%s, rule %s): words %s" % (
                    record["path"], label, record["rule"], sorted(missing)[:5]))
    print("words of cleanly decoded input text found in the output, over %d messages:" % len(sources))
    for what, k in sorted(tally.items()):
        print("  %6d  %s" % (k, what))
    judge(losses, sources, KNOWN_WORD_LOSSES, "KNOWN_WORD_LOSSES", "LOST",
          "messages lose words that decoded cleanly in the input")


def filter_each(tool, src, names, out):
    os.makedirs(out, exist_ok=True)
    for n in names:
        run_filter(tool, os.path.join(src, n), os.path.join(out, n))


def mbox_of(messages):
    """An mboxrd file: From_ lines, '>'-quoted body lines that start with '>*From '."""
    out = []
    for m in messages:
        lines = [b">" + l if l.lstrip(b">").startswith(b"From ") else l for l in m.split(b"\n")]
        body = b"\n".join(lines)
        out.append(b"From sender@example.com Mon Mar  2 10:00:00 2026\n" + body +
                   (b"" if body.endswith(b"\n") else b"\n") + b"\n")
    return b"".join(out)


def test_batch(tool, shared, seed, count):
    with tempfile.TemporaryDirectory() as work:
        src, names = gen(tool, shared, work, seed, count)
        # some bodies with From_ lines, quoted and not, for the mbox
        for i, n in enumerate(names[:count // 4]):
            path = os.path.join(src, n)
            data = open(path, "rb").read()
            if b"\r\n" not in data:
                open(path, "wb").write(data + b"From the body\n>From quoted\n>>From twice\n"[: 14 + 13 * (i % 3)])
        one = os.path.join(work, "one")
        filter_each(tool, src, names, one)
        want = [open(os.path.join(one, n), "rb").read() for n in names]
        for jobs in ("1", "2"):
            out = os.path.join(work, "o" + jobs)
            r = subprocess.run([tool, "-q", "-j", jobs, "-o", out, src], capture_output=True)
            if r.returncode != 0 or same_files(one, out, names):
                fail("-o -j%s differs from one process per message" % jobs)
        lf = [n for n in names if b"\r\n" not in open(os.path.join(src, n), "rb").read()]
        mbox = mbox_of([open(os.path.join(src, n), "rb").read() for n in lf])
        r = subprocess.run([tool, "-q", "-j2", "--mbox"], input=mbox, capture_output=True)
        expect = mbox_of([open(os.path.join(one, n), "rb").read() for n in lf])
        if r.returncode != 0 or r.stdout != expect:
            fail("--mbox -j2 differs from one process per message")
        print("gen seed %d: -o -j1, -o -j2 and an mbox of %d messages (From_ lines in %d bodies) "
              "are byte-identical to one process per message" % (seed, len(lf), count // 4))

        real_src, real_names = real_messages(shared, os.path.join(work, "real"))
        real_one = os.path.join(work, "real-one")
        filter_each(tool, real_src, real_names, real_one)
        out = os.path.join(work, "real-o")
        r = subprocess.run([tool, "-q", "-j2", "-o", out, real_src], capture_output=True)
        differ = same_files(real_one, out, real_names)
        if r.returncode != 0 or differ:
            fail("real corpus: -o -j2 differs from one process per message: %s" % differ[:5])
        maildir, dst = os.path.join(work, "maildir"), os.path.join(work, "maildir-out")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(maildir, sub))
        for i, n in enumerate(real_names):
            sub, name = ("cur", "%s:2,S" % n) if i % 2 else ("new", n)
            os.link(os.path.join(real_src, n), os.path.join(maildir, sub, name))
        r = subprocess.run([tool, "-q", "-j2", "--maildir", maildir, dst], capture_output=True)
        if r.returncode != 0:
            fail("maildir run exited %d" % r.returncode)
        for i, n in enumerate(real_names):
            sub, name = ("cur", "%s:2,S" % n) if i % 2 else ("new", n)
            if open(os.path.join(dst, sub, name), "rb").read() != open(os.path.join(real_one, n), "rb").read():
                fail("maildir: %s/%s differs from one process per message" % (sub, name))
        print("corpus/real: -o -j2 and a maildir of %d messages are byte-identical to one process "
              "per message" % len(real_names))


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    tool, shared, what = sys.argv[1:4]
    opts = dict(zip(sys.argv[4::2], sys.argv[5::2]))
    if not os.path.isfile(os.path.join(shared, "corpus", "gen.py")):
        print("SKIP: ../shared is absent (%s): the corpus tests need ../shared/corpus" % shared)
        sys.exit(SKIP)
    seed = int(opts.get("--seed", os.environ.get("MIMEUTF8_SEED", "1")))
    if seed != 1:
        for case in RATES:
            RATES[case] = OTHER_SEED_RATE
    count = int(opts.get("--count", "500"))
    if what == "gen":
        test_gen(tool, shared, seed, count)
    elif what == "utf8":
        test_utf8(tool, shared, seed, count)
    elif what == "real":
        test_real(tool, shared)
    elif what == "python":
        test_python(tool, shared)
    elif what == "words":
        test_words(tool, shared)
    elif what == "batch":
        test_batch(tool, shared, seed, count)
    else:
        sys.exit(__doc__)
    print("PASS")


if __name__ == "__main__":
    main()
