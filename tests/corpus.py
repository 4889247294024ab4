#!/usr/bin/env python3
"""Conformance tests of the mimeutf8 command on the shared corpora (../shared/corpus).

  corpus.py MIMEUTF8 SHARED gen [--seed N] [--count N]
      gen.py messages through the stdin filter (one process per message) and through -o batch
      mode: check.py's exact and alias cases have no failure in either, both outputs agree,
      and a second run changes nothing.
  corpus.py MIMEUTF8 SHARED utf8 [--seed N] [--count N]
      gen.py --profile utf8: every output is byte-identical to its input.
  corpus.py MIMEUTF8 SHARED real
  corpus.py MIMEUTF8 SHARED batch [--seed N] [--count N]
      every batch mode gives the bytes of one process per message: -o at -j1 and -j2 on gen.py
      messages and on corpus/real, an mbox of gen.py messages with From_ lines in their bodies,
      and a maildir of corpus/real.
  corpus.py MIMEUTF8 SHARED python
      every text part of corpus/real whose label Python's codecs know, and whose bytes decode
      cleanly in it, converts to the same text as Python's decoding, except where the rules
      rightly differ (UTF-8 sniffing and the other evidence rules; supersets such as
      windows-1252 for latin1), which are counted by reason.
      every message of corpus/real: exit 0, a message out, every text part labelled utf-8 and
      strictly valid UTF-8 (unless the report says it was left alone, or it is ASCII under a
      label that reads it as ASCII, as in an attached message that needs no conversion), and
      idempotence.

Exits 77 (a skip, for meson) saying so plainly when SHARED is absent.
"""
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
RATES = {"undeclared": 0.90, "subject-8bit": 0.90}


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
    if tally["subject-8bit"][0] and tally["subject-8bit"][1] > 0.1 * tally["subject-8bit"][0]:
        fail("--headers=utf8: fewer than 90% of 8-bit subjects exact")


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
        table = check(shared, src, out, "utf8 profile")
        failed = {c: r["failed"] for c, r in table.items() if "failed" in r and r["failed"]}
        if failed:
            fail("utf8 profile: check.py failures %s" % failed)
        print("%d messages with a legacy forwarded part were converted and pass check.py" % (len(names) - len(normal)))


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


def check_real_headers(names, src, out, reports):
    """--headers=encoded: the top-level headers are 7-bit, except what stays by design (valid
    UTF-8, which may be an RFC 6531 address; an addr-spec, never touched; DKIM, ARC and
    Return-Path; lines that are no header field), and
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
            if field is not None and (b"dkim" in field or field.startswith(b"arc-") or field == b"return-path"
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
          "DKIM/ARC, Return-Path, not header lines); %d subjects with U+FFFD, each from undecodable input"
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
                payload = part.get_payload(decode=True) or b""
                try:
                    payload.decode("utf-8")
                    valid = True
                except UnicodeDecodeError:
                    valid = False
                # ASCII left under a label that reads it as ASCII (or none), as in an attached
                # message that needs no conversion, is UTF-8 as it stands
                ascii_ok = payload.isascii() and (cs in ("", "us-ascii", "ascii") or reads_as_ascii(payload, cs))
                if cs not in ("utf-8", "utf8") and not ascii_ok or not valid:
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


def without_nul_padding(text):
    """The text without the run of NULs that ends it, before its last line breaks: padding,
    which mimeutf8 drops (README, "Charset decision")."""
    m = re.match(r"(?s)(.*?)\x00+([\r\n]*)$", text)
    return m.group(1) + m.group(2) if m else text


def comparable(text):
    text = META.sub(lambda m: m.group(1) + "utf-8", text)
    return text.replace("\x00", "\ufffd")


def test_python(tool, shared):
    import codecs
    # WHATWG's windows-1252 (and the other windows-125x): bytes that Python's codecs leave
    # undefined are the C1 controls
    codecs.register_error("c1", lambda e: (chr(e.object[e.start]), e.start + 1))
    with tempfile.TemporaryDirectory() as work:
        src, names = real_messages(shared, work)
        out = os.path.join(work, "out")
        report_path = os.path.join(work, "report.jsonl")
        run_batch(tool, [os.path.join(src, n) for n in names], out, report_path)
        reports = {os.path.basename(r["name"]): r for r in map(json.loads, open(report_path))}
        tally, unexplained = {}, []
        for n in names:
            report = reports[n]
            # a message/rfc822 sent encoded and rewritten decoded has another shape now
            if report["status"] != "normalized" or any(
                    p["type"] == "message/rfc822" and p["encoding_in"] in ("base64", "quoted-printable")
                    for p in report["parts"]):
                continue
            ours = [p for p in report["parts"] if p["type"].startswith("text/")]
            before = text_leaves(email.message_from_bytes(open(os.path.join(src, n), "rb").read(),
                                                          policy=email.policy.compat32))
            after = text_leaves(email.message_from_bytes(open(os.path.join(out, n), "rb").read(),
                                                         policy=email.policy.compat32))
            if not (len(ours) == len(before) == len(after)):
                continue
            for record, b, a in zip(ours, before, after):
                label = (record["declared"] or "").strip().strip('"').lower()
                if record["action"] != "converted" or not label:
                    continue
                try:
                    codec = codecs.lookup(label).name
                    python_text = (b.get_payload(decode=True) or b"").decode(codec)
                except (LookupError, UnicodeDecodeError):
                    continue
                our_text = (a.get_payload(decode=True) or b"").decode("utf-8")
                if comparable(our_text) == comparable(python_text):
                    why = "same text"
                elif comparable(our_text) == comparable(without_nul_padding(python_text)):
                    why = "NUL padding at the end dropped"
                elif record["encoding_in"] == "base64" and integrity.plain_lines_of_base64(b):
                    # Python's base64 decoder reads a footer after the base64 as more base64
                    why = "plain text after base64, kept as text"
                elif record["rule"] not in ("label", "ascii"):
                    why = "evidence rule %s over the label" % record["rule"]
                else:
                    superset = SUPERSETS.get(label)
                    try:
                        alike = superset and comparable((b.get_payload(decode=True) or b"").decode(superset, "c1")) == comparable(our_text)
                    except UnicodeDecodeError:
                        alike = False
                    why = "superset %s for %s" % (superset, label) if alike else None
                if why is None:
                    unexplained.append("%s part %s (%s, rule %s)" % (n, record["path"], label, record["rule"]))
                    why = "unexplained"
                tally[why] = tally.get(why, 0) + 1
        print("text parts with a label Python knows and bytes that decode cleanly in it:")
        for why, count in sorted(tally.items(), key=lambda kv: -kv[1]):
            print("  %6d  %s" % (count, why))
        for u in unexplained[:20]:
            print("  unexplained: " + u)
        if unexplained:
            fail("%d parts convert differently from Python's decoding, for no stated reason" % len(unexplained))


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
    count = int(opts.get("--count", "500"))
    if what == "gen":
        test_gen(tool, shared, seed, count)
    elif what == "utf8":
        test_utf8(tool, shared, seed, count)
    elif what == "real":
        test_real(tool, shared)
    elif what == "python":
        test_python(tool, shared)
    elif what == "batch":
        test_batch(tool, shared, seed, count)
    else:
        sys.exit(__doc__)
    print("PASS")


if __name__ == "__main__":
    main()
