#!/usr/bin/env python3
"""CLI tests of the mimeutf8 command: modes, options, exit codes, the report.

  cli.py MIMEUTF8 FIXTURES_DIR               every case but those that need a terminal
  cli.py MIMEUTF8 FIXTURES_DIR --terminal    only those (the cli-terminal test): exit 77, a SKIP,
                                             where no pseudo-terminal can be opened (a chroot
                                             without /dev/pts)
"""
import base64
import json
import os
import re
import subprocess
import sys
import tempfile

TOOL, FIXTURES = sys.argv[1], sys.argv[2]
TERMINAL = sys.argv[3:] == ["--terminal"]
MESSAGES = os.path.join(FIXTURES, "messages")
EXPECTED = os.path.join(FIXTURES, "expected")
results = {"passed": 0, "failed": 0, "skipped": 0}


def run(args, stdin=b"", **kw):
    return subprocess.run([TOOL] + args, input=stdin, capture_output=True, **kw)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def run_case(fn):
    try:
        fn()
        results["passed"] += 1
        print("ok     %s" % fn.__name__)
    except AssertionError as e:
        results["failed"] += 1
        print("FAILED %s: %s" % (fn.__name__, e))
    return fn


def case(fn):
    return fn if TERMINAL else run_case(fn)


def terminal_case(fn):
    """A case with the command's standard error on a pseudo-terminal: run by `--terminal` only,
    and skipped, visibly, where none can be opened."""
    if not TERMINAL:
        return fn
    try:
        master, slave = os.openpty()
    except OSError as e:
        results["skipped"] += 1
        print("SKIP   %s: no pseudo-terminal here (os.openpty: %s)" % (fn.__name__, e.strerror))
        return fn
    os.close(master)
    os.close(slave)
    return run_case(fn)


def fixture_names():
    return sorted(n for n in os.listdir(MESSAGES) if n.endswith(".eml"))


@case
def test_cli__filter_matches_fixtures():
    for name in fixture_names():
        r = run([], read(os.path.join(MESSAGES, name)))
        assert r.returncode == 0, "%s: exit %d" % (name, r.returncode)
        assert r.stdout == read(os.path.join(EXPECTED, name)), "%s: output differs" % name
        assert r.stderr == b"", "%s: wrote to stderr: %r" % (name, r.stderr)


@case
def test_cli__batch_matches_filter():
    with tempfile.TemporaryDirectory() as out:
        names = fixture_names()
        r = run(["-o", out] + [os.path.join(MESSAGES, n) for n in names])
        assert r.returncode == 0, r.stderr
        for n in names:
            assert read(os.path.join(out, n)) == read(os.path.join(EXPECTED, n)), n
        assert sorted(os.listdir(out)) == names, "stray files in OUTDIR: %s" % os.listdir(out)


@case
def test_cli__batch_directory_argument():
    with tempfile.TemporaryDirectory() as out:
        r = run(["-o", os.path.join(out, "new", "dir"), MESSAGES])
        assert r.returncode == 0, r.stderr
        assert sorted(os.listdir(os.path.join(out, "new", "dir"))) == fixture_names()


@case
def test_cli__report_json_lines():
    with tempfile.TemporaryDirectory() as out:
        report = os.path.join(out, "report.jsonl")
        names = ["koi8r-8bit.eml", "utf8-unchanged.eml", "signed.eml"]
        r = run(["-o", os.path.join(out, "o"), "--report", report] + [os.path.join(MESSAGES, n) for n in names])
        assert r.returncode == 0, r.stderr
        lines = [json.loads(l) for l in open(report)]
        assert [os.path.basename(l["name"]) for l in lines] == names
        assert [l["status"] for l in lines] == ["normalized", "unchanged", "unchanged"], lines
        part = lines[0]["parts"][0]
        for key in ("path", "type", "declared", "charset", "action", "reason", "rule", "detected",
                    "encoding_in", "encoding_out", "bytes_in", "bytes_out", "replacements", "first_replacement"):
            assert key in part, "report part lacks %s" % key
        assert (part["path"], part["declared"], part["charset"], part["action"], part["rule"]) == \
            ("1", "koi8-r", "koi8-r", "converted", "label"), part
        assert lines[2]["parts"][1]["action"] == "left-alone" and lines[2]["parts"][1]["reason"] == "signed"


@case
def test_cli__filter_report():
    with tempfile.TemporaryDirectory() as out:
        report = os.path.join(out, "r.jsonl")
        r = run(["--report=" + report], read(os.path.join(MESSAGES, "latin1-qp.eml")))
        assert r.returncode == 0
        line = json.loads(open(report).read())
        assert line["name"] == "-" and line["parts"][0]["charset"] == "windows-1252", line


@case
def test_cli__text_mode():
    r = run(["--text", "--from", "koi8-r"], "Привет\n".encode("koi8-r"))
    assert r.returncode == 0 and r.stdout == "Привет\n".encode(), r
    with tempfile.NamedTemporaryFile() as f:
        f.write("caf\u00e9 \u201cok\u201d".encode("cp1252"))
        f.flush()
        r = run(["--text", "--from=latin1", f.name])
        assert r.returncode == 0 and r.stdout == "caf\u00e9 \u201cok\u201d".encode(), r
    # the same rules as a text part: valid UTF-8 under a latin1 label stays UTF-8
    r = run(["--text", "--from", "iso-8859-1"], "déjà".encode())
    assert r.stdout == "déjà".encode(), r.stdout
    # strict: bytes invalid in the charset are an error, and nothing is written
    r = run(["--text", "--from", "utf-8", "--policy", "strict"], b"bad \xff")
    assert r.returncode == 65 and r.stdout == b"" and r.stderr, r


@case
def test_cli__policies():
    msg = read(os.path.join(MESSAGES, "latin1-qp.eml")).replace(b"iso-8859-1", b"utf-8")
    lenient = run([], msg)
    strict = run(["--policy=strict", "--headers=keep"], msg)
    assert lenient.returncode == strict.returncode == 0
    assert b"Agn=C3=A8s" in lenient.stdout, "lenient did not detect windows-1252"
    assert strict.stdout == msg, "strict changed a part that does not decode as labelled"


@case
def test_cli__ascii_label_policies():
    """Pure ASCII with no label or us-ascii stays byte for byte under every policy; under strict
    a us-ascii label over 8-bit bytes is not exact, and the part is left alone."""
    ascii_msg = read(os.path.join(MESSAGES, "ascii-no-charset.eml"))
    for policy in ("lenient", "declared", "strict"):
        for label in (b"", b"; charset=us-ascii", b'; charset="US-ASCII"'):
            msg = ascii_msg.replace(b"Content-Type: text/plain", b"Content-Type: text/plain" + label)
            r = run(["--policy=" + policy, "--report=/dev/stderr"], msg)
            assert r.returncode == 0 and r.stdout == msg, "%s%s: changed" % (policy, label)
            report = json.loads(r.stderr)
            assert report["status"] == "unchanged", report
            assert report["parts"][0]["action"] == "already-utf8", report
    eight_bit = read(os.path.join(MESSAGES, "latin1-qp.eml")).replace(b'"iso-8859-1"', b"us-ascii")
    r = run(["--policy=strict", "--headers=keep", "--report=/dev/stderr"], eight_bit)
    assert r.returncode == 0 and r.stdout == eight_bit, "strict converted us-ascii over 8-bit bytes"
    part = json.loads(r.stderr)["parts"][0]
    assert part["action"] == "left-alone" and part["reason"].startswith("strict:"), part
    assert b"charset=utf-8" in run(["--headers=keep"], eight_bit).stdout, "lenient did not convert"


@case
def test_cli__header_modes():
    msg = read(os.path.join(MESSAGES, "koi8r-8bit-headers.eml"))
    encoded = run([], msg).stdout
    utf8 = run(["--headers=utf8"], msg).stdout
    keep = run(["--headers=keep"], msg).stdout
    head = lambda m: m.split(b"\n\n", 1)[0]
    assert max(head(encoded)) < 128, "--headers=encoded left 8-bit bytes in the headers"
    assert "Subject: Отчёт за март".encode() in head(utf8), head(utf8)
    assert "From: Иван Петров <ivan@example.ru>".encode() in head(utf8), head(utf8)
    assert head(keep) == head(msg).replace(b"charset=koi8-r", b"charset=utf-8")
    for out, mode in ((encoded, "encoded"), (utf8, "utf8")):
        assert run(["--headers=" + mode], out).stdout == out, "not idempotent with --headers=" + mode


@case
def test_cli__no_header_injection():
    r = run(["--report=/dev/stdout"], read(os.path.join(MESSAGES, "utf7-injection.eml")))
    # the report line is written before the message
    report, out = r.stdout.split(b"\n", 1)
    names = [l.split(b":")[0] for l in out.split(b"\n\n")[0].split(b"\n")]
    assert b"Bcc" not in names, "decoded UTF-7 made a header"
    assert names == [b"From", b"To", b"Subject", b"MIME-Version", b"Content-Type"], names
    assert json.loads(report)["headers"][0]["sanitized"] is True


@case
def test_cli__seven_bit():
    for name in fixture_names():
        # parts left alone by design keep their bytes: signed content, an ambiguous label
        if name in ("signed.eml", "param-charset-quoted-then-junk.eml"):
            continue
        with tempfile.TemporaryDirectory() as out:
            report = os.path.join(out, "r.jsonl")
            r = run(["--7bit", "--report=" + report], read(os.path.join(MESSAGES, name)))
            line = json.loads(open(report).read())
        assert r.returncode == 0
        body = r.stdout.split(b"\n\n", 1)[1] if b"\n\n" in r.stdout else r.stdout.split(b"\r\n\r\n", 1)[1]
        # a part left alone, or a message passed through, keeps its bytes
        if line["status"] != "passthrough" and not any(p["action"] == "left-alone" for p in line["parts"]):
            assert max(body) < 128, "%s: 8-bit byte in a --7bit body" % name
        assert max(len(l) for l in r.stdout.splitlines()) <= 998, name
        again = run(["--7bit"], r.stdout)
        assert again.stdout == r.stdout, "%s: --7bit output is not stable" % name


@case
def test_cli__usage_errors():
    for args in (["--bogus"], ["--policy=loose"], ["--text"], ["--from=koi8-r"], ["--text", "--from=nope"],
                 ["extra-arg"], ["-o"], ["-o", "/tmp"], ["--fallback-charset=../../x"],
                 ["--text", "--from=koi8-r", "--report=/tmp/x"]):
        r = run(args)
        assert r.returncode == 64, "%s: exit %d" % (args, r.returncode)
        assert r.stdout == b"", args
        assert b"mimeutf8" in r.stderr, args


@case
def test_cli__missing_input():
    with tempfile.TemporaryDirectory() as out:
        r = run(["-o", out, "/nonexistent/x.eml", os.path.join(MESSAGES, "koi8r-8bit.eml")])
        assert r.returncode == 66, r.returncode
        assert b"/nonexistent/x.eml" in r.stderr
        assert os.listdir(out) == ["koi8r-8bit.eml"], "the good file was not converted"
    r = run(["--text", "--from=utf-8", "/nonexistent/x.txt"])
    assert r.returncode == 66


@case
def test_cli__unwritable_outputs():
    r = run(["-o", "/proc/no/such/dir", os.path.join(MESSAGES, "koi8r-8bit.eml")])
    assert r.returncode == 74, r.returncode
    r = run(["--report=/proc/no/such/file"], b"Subject: x\n\nhi\n")
    assert r.returncode == 74, r.returncode


@case
def test_cli__full_disk_is_transient():
    if not os.path.exists("/dev/full"):
        return
    with open(os.path.join(MESSAGES, "koi8r-8bit.eml"), "rb") as i, open("/dev/full", "wb") as o:
        r = subprocess.run([TOOL], stdin=i, stdout=o, stderr=subprocess.PIPE)
    assert r.returncode == 75, r.returncode
    assert r.stderr, "no error message"


@case
def test_cli__help_and_version():
    r = run(["--help"])
    assert r.returncode == 0
    for section in (b"NAME", b"SYNOPSIS", b"DESCRIPTION", b"OPTIONS", b"EXIT STATUS"):
        assert section in r.stdout, section
    r = run(["--version"])
    assert r.returncode == 0 and r.stdout.startswith(b"mimeutf8 "), r.stdout


@case
def test_cli__garbage_is_passed_through():
    for data in (b"", b"\x00\x01\x02\xff", b"no headers at all\n", b"\r\r\r"):
        r = run([], data)
        assert r.returncode == 0, data
        again = run([], r.stdout)
        assert again.stdout == r.stdout, data


def all_fixtures():
    return [os.path.join(MESSAGES, n) for n in fixture_names()]


@case
def test_cli__jobs_do_not_change_output():
    with tempfile.TemporaryDirectory() as out:
        outputs = []
        for j in ("1", "2", "3"):
            d = os.path.join(out, j)
            r = run(["-j", j, "-o", d, "--report", d + ".jsonl"] + all_fixtures() * 1)
            assert r.returncode == 0, r.stderr
            outputs.append(([read(os.path.join(d, n)) for n in fixture_names()], read(d + ".jsonl")))
        assert outputs[0] == outputs[1] == outputs[2], "-j changed the output or the report"


def make_mbox(messages):
    """An mboxrd file of the messages, with From_ lines in their bodies quoted."""
    out = b""
    for m in messages:
        lines = m.split(b"\n")
        lines = [b">" + l if l.lstrip(b">").startswith(b"From ") else l for l in lines]
        body = b"\n".join(lines)
        out += b"From sender@example.com Mon Mar  2 10:00:00 2026\n" + body + (b"" if body.endswith(b"\n") else b"\n") + b"\n"
    return out


def split_mbox(data):
    """Messages of an mboxrd file, unquoted (the inverse of make_mbox)."""
    out = []
    first = data.split(b"\n", 1)[1]
    chunks = first.split(b"\n\nFrom sender@example.com Mon Mar  2 10:00:00 2026\n")
    for c in chunks:
        c = c[:-1] if c.endswith(b"\n\n") else c
        lines = [l[1:] if l.lstrip(b">").startswith(b"From ") and l.startswith(b">") else l for l in c.split(b"\n")]
        out.append(b"\n".join(lines) + (b"" if c.endswith(b"\n") else b"\n"))
    return out


@case
def test_cli__mbox_equals_one_message_at_a_time():
    # a message that does not end in a line break gains one in an mbox
    messages = [read(p) for p in all_fixtures() if not p.endswith(("crlf-latin1.eml", "boundary-cr-eof.eml"))]
    messages.append(b"Subject: quoting\nContent-Type: text/plain; charset=iso-8859-1\n\n"
                    b"From the start\n>From once\n>>From twice\ncaf\xe9\n")
    mbox = make_mbox(messages)
    with tempfile.TemporaryDirectory() as out:
        path = os.path.join(out, "in.mbox")
        with open(path, "wb") as f:
            f.write(mbox)
        one = run(["--mbox", path, "-j1"])
        two = run(["--mbox", "-j2"], mbox)
        assert one.returncode == two.returncode == 0, (one.stderr, two.stderr)
        assert one.stdout == two.stdout, "-j or stdin changed the mbox output"
        got = split_mbox(one.stdout)
        assert len(got) == len(messages), (len(got), len(messages))
        for m, g in zip(messages, got):
            assert g == run([], m).stdout, "an mbox message differs from the filter's output"
        assert b"\n>From the start\n>>From once\n>>>From twice\n" in one.stdout
        again = run(["--mbox"], one.stdout)
        assert again.stdout == one.stdout, "mbox output is not idempotent"
        unchanged = make_mbox([read(os.path.join(MESSAGES, "utf8-unchanged.eml"))] * 3)
        assert run(["--mbox"], unchanged).stdout == unchanged, "an mbox needing nothing changed"


@case
def test_cli__maildir():
    with tempfile.TemporaryDirectory() as root:
        src, dst = os.path.join(root, "src"), os.path.join(root, "dst")
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(src, d))
        names = {}
        for i, p in enumerate(all_fixtures()):
            sub = "cur" if i % 2 else "new"
            name = "1700000000.%d.host:2,S" % i if sub == "cur" else "1700000000.%d.host" % i
            with open(os.path.join(src, sub, name), "wb") as f:
                f.write(read(p))
            os.utime(os.path.join(src, sub, name), (1700000000 + i, 1700000000 + i))
            names[(sub, name)] = p
        r = run(["--maildir", src, dst, "-j2", "--report", os.path.join(root, "r.jsonl")])
        assert r.returncode == 0, r.stderr
        for (sub, name), p in names.items():
            out = os.path.join(dst, sub, name)
            assert read(out) == read(os.path.join(EXPECTED, os.path.basename(p))), name
            assert os.stat(out).st_mtime == os.stat(os.path.join(src, sub, name)).st_mtime, "mtime"
        assert os.listdir(os.path.join(dst, "tmp")) == [], "tmp/ not empty"
        assert len(open(os.path.join(root, "r.jsonl")).readlines()) == len(names)


@case
def test_cli__crash_or_hang_loses_nothing():
    msg = read(os.path.join(MESSAGES, "koi8r-8bit.eml"))
    env = dict(os.environ, MIMEUTF8_TEST_FAULT="crash:-")
    with tempfile.TemporaryDirectory() as out:
        report = os.path.join(out, "r.jsonl")
        r = run(["--report", report], msg, env=env)
        assert r.returncode == 0 and r.stdout == msg, "filter crash: the input was not written"
        assert json.loads(open(report).read())["status"] == "passthrough"
        env["MIMEUTF8_TEST_FAULT"] = "hang:-"
        r = run(["--timeout=1"], msg, env=env, timeout=30)
        assert r.returncode == 0 and r.stdout == msg, "filter hang: the input was not written"
        for fault in ("crash:koi8r-8bit.eml", "hang:koi8r-8bit.eml"):
            env["MIMEUTF8_TEST_FAULT"] = fault
            d = os.path.join(out, fault.split(":")[0])
            r = run(["-j2", "--timeout=1", "-o", d, "--report", d + ".jsonl"] + all_fixtures(), env=env, timeout=60)
            assert r.returncode == 0, r.stderr
            for n in fixture_names():
                want = msg if n == "koi8r-8bit.eml" else read(os.path.join(EXPECTED, n))
                assert read(os.path.join(d, n)) == want, "%s: %s" % (fault, n)
            lines = [json.loads(l) for l in open(d + ".jsonl")]
            assert [os.path.basename(l["name"]) for l in lines] == fixture_names()
            assert [l["status"] for l in lines if "koi8r-8bit.eml" in l["name"]] == ["passthrough"]


def fixture_report(name):
    with tempfile.TemporaryDirectory() as out:
        report = os.path.join(out, "r.jsonl")
        r = run(["--report=" + report], read(os.path.join(MESSAGES, name)))
        assert r.returncode == 0, r.stderr
        return json.loads(open(report).read())


@case
def test_cli__fixtures_read_back_by_python():
    """Every expected fixture, read by Python's email package (integrity.py): no utf-8 label over
    bytes that are not UTF-8, no word of a plain line in a base64 body lost."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import integrity
    for name in fixture_names():
        problems = integrity.integrity_problems(read(os.path.join(MESSAGES, name)),
                                                read(os.path.join(EXPECTED, name)))
        assert not problems, "%s: %s" % (name, problems)


@case
def test_cli__body_bounds_and_structure():
    """Issue 9: where GMime's reading of a part and the bytes part ways, the part is read as the
    bytes say or left alone with a reason, and no text is lost."""
    footer = read(os.path.join(EXPECTED, "base64-footer.eml"))
    body = footer.split(b"\n\n", 1)[1].replace(b"\n", b"")
    assert b"SLAT mailing list" in base64.b64decode(body, validate=True), "footer lost"
    assert b"Y2Fmw6k=" in read(os.path.join(EXPECTED, "base64-unpadded.eml")), "unpadded group lost"
    parts = fixture_report("base64-plain-text.eml")["parts"]
    assert [p["reason"] for p in parts[2:]] == ["not base64: plain text under a base64 label",
                                               "not base64: a run of 4n+1 characters"], parts
    report = fixture_report("conflicting-type-multipart.eml")
    assert report["status"] == "passthrough" and "conflicting" in report["reason"], report
    parts = fixture_report("header-garbage-after-type.eml")["parts"]
    assert [p["reason"] for p in parts[1:]] == ["malformed header block"] * 3 + [None], parts
    news_in = read(os.path.join(MESSAGES, "message-news-ascii.eml"))
    news_out = read(os.path.join(EXPECTED, "message-news-ascii.eml"))
    article = news_in[news_in.index(b"From: c@"):]
    assert article in news_out, "the attached article changed"
    # the bytes GMime leaves out of a part before a CR-ended boundary line are converted
    assert b"caf\xc3\xa9 \xc3\xa9t\xc3\xa9\n--q--\r" == read(os.path.join(EXPECTED, "boundary-cr-eof.eml"))[-18:]
    tail = read(os.path.join(EXPECTED, "rfc822-base64-tail.eml"))
    assert b"caf\xc3\xa9 au lait, d\xc3\xa9j\xc3\xa0 fini!\n" in tail, "a base64 message/rfc822 lost its tail"
    trim = read(os.path.join(EXPECTED, "boundary-cr-trim.eml"))
    assert b"caf=C3=A9\n--q\r\n" in trim and "\u6587".encode() + b"\n--q" in trim, trim


@case
def test_cli__json_every_mode():
    """--json prints one view per message, in input order, alike from a file, a directory,
    standard input, an mbox and a maildir; and its report lines are the normalizer's."""
    names = fixture_names()
    files = [os.path.join(MESSAGES, n) for n in names]
    r = run(["--json", "--report", "/dev/null"] + files)
    assert r.returncode == 0, r.stderr
    views = [json.loads(l) for l in r.stdout.decode("utf-8").splitlines()]
    assert [v["name"] for v in views] == files, "not one line per file in order"
    for v in views:
        for key in ("subject", "from", "to", "cc", "date", "message_id", "parts"):
            assert key in v, (v["name"], key)
        for p in v["parts"]:
            for key in ("path", "type", "charset", "rule", "disposition", "filename", "size"):
                assert key in p, (v["name"], key)
            assert ("text" in p) == p["type"].startswith("text/"), (v["name"], p["path"])
    koi8 = views[names.index("koi8r-8bit-headers.eml")]
    assert koi8["subject"] == "Отчёт за март" and koi8["from"][0]["name"] == "Иван Петров", koi8
    assert koi8["parts"][0]["text"].startswith("Привет!"), koi8
    stripped = [dict(v, name=None) for v in views]
    d = run(["--json", MESSAGES])
    assert [dict(json.loads(l), name=None) for l in d.stdout.decode().splitlines()] == stripped, "DIR differs"
    one = run(["--json"], read(files[0]))
    assert one.returncode == 0 and json.loads(one.stdout)["name"] == "-", one.stdout[:200]
    assert dict(json.loads(one.stdout), name=None) == stripped[0], "standard input differs"
    messages = [read(p) for p in files if not p.endswith(("crlf-latin1.eml", "boundary-cr-eof.eml"))]
    m = run(["--json", "--mbox"], make_mbox(messages))
    lines = m.stdout.decode().splitlines()
    assert m.returncode == 0 and len(lines) == len(messages), (m.returncode, len(lines))
    assert [json.loads(l)["name"] for l in lines] == ["-#%d" % i for i in range(len(messages))]
    with tempfile.TemporaryDirectory() as root:
        for d in ("cur", "new"):
            os.makedirs(os.path.join(root, d))
        for i, p in enumerate(files[:4]):
            with open(os.path.join(root, "cur" if i < 2 else "new", "m%d" % i), "wb") as f:
                f.write(read(p))
        md = run(["--json", "--maildir", root])
        got = [dict(json.loads(l), name=None) for l in md.stdout.decode().splitlines()]
        assert md.returncode == 0 and got == stripped[:4], "maildir views differ"
    for args in (["--json", "-o", "/tmp", files[0]], ["--json", "--text", "--from=koi8-r"],
                 ["--json", "--maildir", "a", "b"]):
        r = run(args)
        assert r.returncode == 64 and r.stdout == b"", args
    r = run(["--json", "/nonexistent/x.eml"])
    assert r.returncode == 66 and r.stdout == b"", (r.returncode, r.stdout)


@case
def test_cli__report_on_full_disk():
    """A report line that cannot be written stops the run with 75 (a full disk), and the message
    it belonged to is not written: nothing on standard output in the filter, --mbox and --json;
    in the batch modes only the messages already in flight keep their outputs."""
    if not os.path.exists("/dev/full"):
        return
    koi8 = read(os.path.join(MESSAGES, "koi8r-8bit.eml"))
    mbox = make_mbox([koi8, koi8])
    for args, stdin in ((["--report", "/dev/full"], koi8),
                        (["--json", "--report", "/dev/full"], koi8),
                        (["--mbox", "--report", "/dev/full"], mbox),
                        (["--json", "--mbox", "--report", "/dev/full"], mbox)):
        r = run(args, stdin)
        assert r.returncode == 75, (args, r.returncode)
        assert r.stdout == b"", (args, r.stdout[:100])
        assert b"/dev/full" in r.stderr, (args, r.stderr)
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "in"))
        for i in range(20):
            with open(os.path.join(root, "in", "m%02d.eml" % i), "wb") as f:
                f.write(koi8)
        r = run(["-j", "1", "-o", os.path.join(root, "out"), "--report", "/dev/full",
                 os.path.join(root, "in")])
        assert r.returncode == 75, r.returncode
        written = os.listdir(os.path.join(root, "out"))
        assert len(written) < 20, "the batch went on after its report failed"
        for n in written:
            assert read(os.path.join(root, "out", n)) == read(os.path.join(EXPECTED, "koi8r-8bit.eml")), n


@case
def test_cli__output_on_full_disk():
    """Standard output on a full disk: exit 75 and an error in every mode writing to it."""
    if not os.path.exists("/dev/full"):
        return
    koi8 = os.path.join(MESSAGES, "koi8r-8bit.eml")
    with tempfile.TemporaryDirectory() as root:
        path = os.path.join(root, "in.mbox")
        with open(path, "wb") as f:
            f.write(make_mbox([read(koi8)]))
        for args in (["--mbox", path], ["--json", koi8], ["--json", "--mbox", path],
                     ["--text", "--from=koi8-r", koi8]):
            with open("/dev/full", "wb") as o:
                r = subprocess.run([TOOL] + args, stdout=o, stderr=subprocess.PIPE)
            assert r.returncode == 75, (args, r.returncode)
            assert b"No space left on device" in r.stderr, (args, r.stderr)


@case
def test_cli__json_input_errors():
    """--json: a missing mbox or maildir is 66, standard input that is not an mbox is 64."""
    for args, stdin, code in ((["--json", "--mbox", "/nonexistent/x.mbox"], b"", 66),
                              (["--json", "--maildir", "/nonexistent/md"], b"", 66),
                              (["--json", "--mbox"], b"Subject: no From_ line\n\nhi\n", 64)):
        r = run(args, stdin)
        assert r.returncode == code, (args, r.returncode)
        assert r.stdout == b"" and b"mimeutf8: " in r.stderr, (args, r.stdout, r.stderr)
    r = run(["--json", "--mbox"], b"Subject: no From_ line\n\nhi\n")
    assert b"not an mbox" in r.stderr, r.stderr

def large_message():
    """A latin-1 text part and a base64 attachment, 3 MiB in all: past the filter's 2 MiB in memory."""
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2\n"
    return (b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
            b"--b\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n"
            b"--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
            + line * (3 * 1024 * 1024 // len(line)) + b"--b--\n")


@case
def test_cli__filter_large_message():
    """A large message in the filter, from a regular file (read in place) or a pipe (spooled):
    the bytes of the batch mode, its text converted and its attachment as it was; on a full disk
    or without a spool directory, 75 and nothing written; its report line before it, or nothing
    when that fails."""
    data = large_message()
    with tempfile.TemporaryDirectory() as root:
        path = os.path.join(root, "large.eml")
        with open(path, "wb") as f:
            f.write(data)
        r = run(["-o", os.path.join(root, "out"), path])
        assert r.returncode == 0, r.stderr
        want = read(os.path.join(root, "out", "large.eml"))
        assert b"\n\ncaf\xc3\xa9\n--b\n" in want and want.endswith(data[data.index(b"QUJD"):]), want[:300]
        with open(path, "rb") as i:
            from_file = subprocess.run([TOOL, "--report", os.path.join(root, "r.jsonl")], stdin=i,
                                       capture_output=True)
        assert from_file.returncode == 0 and from_file.stdout == want, "from a file differs"
        report = json.loads(read(os.path.join(root, "r.jsonl")))
        assert report["status"] == "normalized" and report["bytes_in"] == len(data), report
        from_pipe = run([], data)
        assert from_pipe.returncode == 0 and from_pipe.stdout == want, "from a pipe differs"
        if os.path.exists("/dev/full"):
            for from_file in (True, False):
                with open(path, "rb") as i, open("/dev/full", "wb") as o:
                    feed = {"stdin": i} if from_file else {"input": data}
                    r = subprocess.run([TOOL], stdout=o, stderr=subprocess.PIPE, **feed)
                assert r.returncode == 75 and b"No space left" in r.stderr, (from_file, r.returncode, r.stderr)
                with open(path, "rb") as i:
                    feed = {"stdin": i} if from_file else {"input": data}
                    r = subprocess.run([TOOL, "--report", "/dev/full"], capture_output=True, **feed)
                assert r.returncode == 75 and r.stdout == b"", (from_file, r.returncode)
        # no spool directory at all: the same transient fault, said, nothing written
        env = dict(os.environ, TMPDIR=os.path.join(root, "no-such-dir"))
        r = run([], data, env=env)
        assert r.returncode == 75 and r.stdout == b"", (r.returncode, r.stdout[:100])
        assert b"spooling standard input: No such file or directory" in r.stderr, r.stderr


@case
def test_cli__filter_unreadable_input():
    """Standard input that cannot be read (a directory): 75, an error, nothing written."""
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        r = subprocess.run([TOOL], stdin=fd, capture_output=True)
    finally:
        os.close(fd)
    assert r.returncode == 75 and r.stdout == b"", (r.returncode, r.stdout)
    assert b"reading standard input" in r.stderr, r.stderr

@case
def test_cli__text_errors():
    """--text: an unreadable FILE is 74, unreadable standard input 75; under the strict policy
    bytes invalid in the charset are 65 with nothing written, and the lenient policy converts."""
    r = run(["--text", "--from=koi8-r", "/"])
    assert r.returncode == 74 and r.stdout == b"" and b"/: " in r.stderr, (r.returncode, r.stderr)
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        r = subprocess.run([TOOL, "--text", "--from=koi8-r"], stdin=fd, capture_output=True)
    finally:
        os.close(fd)
    assert r.returncode == 75 and r.stdout == b"", r.returncode
    r = run(["--text", "--from=utf-8", "--policy=strict"], b"caf\xe9 \xff\n")
    assert r.returncode == 65 and r.stdout == b"", (r.returncode, r.stdout)
    assert b"nothing was written" in r.stderr, r.stderr
    r = run(["--text", "--from=windows-1252", "--policy=strict"], b"caf\xe9\n")
    assert r.returncode == 0 and r.stdout == "café\n".encode(), (r.returncode, r.stdout)


@case
def test_cli__output_cannot_be_put_in_place():
    """-o where OUTDIR/NAME is a directory: 74 and the input named, no temporary file left in
    OUTDIR, the other messages converted."""
    with tempfile.TemporaryDirectory() as out:
        os.makedirs(os.path.join(out, "koi8r-8bit.eml"))
        r = run(["-j", "1", "-o", out, os.path.join(MESSAGES, "koi8r-8bit.eml"),
                 os.path.join(MESSAGES, "koi8r-8bit-headers.eml")])
        assert r.returncode == 74, r.returncode
        assert b"koi8r-8bit.eml: Is a directory" in r.stderr, r.stderr
        assert sorted(os.listdir(out)) == ["koi8r-8bit-headers.eml", "koi8r-8bit.eml"], os.listdir(out)
        assert os.listdir(os.path.join(out, "koi8r-8bit.eml")) == []
        assert read(os.path.join(out, "koi8r-8bit-headers.eml")) == read(os.path.join(EXPECTED, "koi8r-8bit-headers.eml"))


@case
def test_cli__failed_output_is_reported_failed():
    """-o: a message whose output cannot be put in place (OUTDIR/NAME is a directory) has a report
    line that says it failed, with why; the others' lines are untouched."""
    with tempfile.TemporaryDirectory() as out:
        os.makedirs(os.path.join(out, "koi8r-8bit.eml"))
        report = os.path.join(out, "r.jsonl")
        r = run(["-j", "1", "-o", out, "--report", report, os.path.join(MESSAGES, "koi8r-8bit.eml"),
                 os.path.join(MESSAGES, "koi8r-8bit-headers.eml")])
        assert r.returncode == 74, r.returncode
        lines = [json.loads(l) for l in open(report)]
        assert [os.path.basename(l["name"]) for l in lines] == ["koi8r-8bit.eml", "koi8r-8bit-headers.eml"], lines
        assert lines[0]["status"] == "failed" and "Is a directory" in lines[0]["reason"], lines[0]
        assert lines[1]["status"] == "normalized" and lines[1]["reason"] is None, lines[1]


@case
def test_cli__unopened_input_is_reported():
    """-o: an input that cannot be opened (missing, or a link named on the command line) has a
    report line, status failed, with the error; the batch goes on."""
    with tempfile.TemporaryDirectory() as root:
        link = os.path.join(root, "link.eml")
        os.symlink(os.path.join(MESSAGES, "koi8r-8bit-headers.eml"), link)
        out = os.path.join(root, "out")
        report = os.path.join(root, "r.jsonl")
        r = run(["-j", "2", "-o", out, "--report", report, "/nonexistent/x.eml", link,
                 os.path.join(MESSAGES, "koi8r-8bit.eml")])
        assert r.returncode == 66, r.returncode
        lines = [json.loads(l) for l in open(report)]
        assert [l["name"] for l in lines] == ["/nonexistent/x.eml", link, os.path.join(MESSAGES, "koi8r-8bit.eml")], lines
        assert lines[0]["status"] == "failed" and "No such file" in lines[0]["reason"], lines[0]
        assert lines[1]["status"] == "failed" and "link" in lines[1]["reason"], lines[1]
        assert lines[2]["status"] == "normalized", lines[2]
        assert os.listdir(out) == ["koi8r-8bit.eml"], os.listdir(out)


@case
def test_cli__mbox_of_large_messages():
    """--mbox with messages larger than a socket buffer, one worker: the supervisor sends the next
    message while the worker sends back the last one's result, and neither waits for the other
    (it deadlocked once).  The output is what the filter makes of each message."""
    latin = (b"Subject: big\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n"
             + b"x" * 76 + b"\n") + (b"y" * 76 + b"\n") * (3 * 1024 * 1024 // 77)
    mbox = make_mbox([latin] * 4)
    try:
        r = run(["-j1", "--mbox"], mbox, timeout=120)
    except subprocess.TimeoutExpired:
        raise AssertionError("--mbox -j1 of 3 MiB messages did not finish in 120 s")
    assert r.returncode == 0, (r.returncode, r.stderr)
    one = run([], latin)
    assert r.stdout == make_mbox([one.stdout] * 4), "not the filter's output"


def run_on_terminal(args, stdin=b""):
    """Runs the command with its stderr on a pseudo-terminal; returns (exit code, stdout, what the
    terminal showed, its CR LF read back as LF)."""
    master, slave = os.openpty()
    try:
        p = subprocess.Popen([TOOL] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        out, _ = p.communicate(stdin, timeout=60)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal has no writer left
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(master)
    return p.returncode, out, shown.replace(b"\r\n", b"\n")


PROGRESS = rb"\r(?:(\d+)/)?(\d+) messages, [0-9.]+ MB/s, (\d+) unchanged, (\d+) passed through, ETA \d+ s +\n$"


@terminal_case
def test_cli__progress_on_a_terminal():
    names = ["koi8r-8bit.eml", "utf8-unchanged.eml", "koi8r-8bit-headers.eml"]
    with tempfile.TemporaryDirectory() as out:
        report = os.path.join(out, "r.jsonl")
        code, _, shown = run_on_terminal(["-o", os.path.join(out, "o"), "--report", report]
                                         + [os.path.join(MESSAGES, n) for n in names] + ["/no/such.eml"])
        statuses = [json.loads(line)["status"] for line in open(report)]
        # the last progress line counts every input (the missing one too), by the statuses the
        # report gives, and ends the line; the error about the missing file starts on a line of
        # its own, not after the progress line
        m = re.search(PROGRESS, shown)
        assert m, "no final progress line: %r" % shown[-300:]
        assert m.group(1) == m.group(2) == b"4", (m.groups(), shown[-200:])
        assert int(m.group(3)) == statuses.count("unchanged") == 1, (m.groups(), statuses)
        assert int(m.group(4)) == statuses.count("passthrough") == 0, m.groups()
        assert code == 66, code
        assert b"\nmimeutf8: /no/such.eml: " in shown, shown
        # an mbox from a file: the count without a total (the messages are not counted first)
        mbox = os.path.join(out, "in.mbox")
        with open(mbox, "wb") as f:
            f.write(make_mbox([read(os.path.join(MESSAGES, n)) for n in names]))
        code, stdout, shown = run_on_terminal(["--mbox", mbox])
        assert code == 0 and len(split_mbox(stdout)) == 3, (code, shown)
        m = re.search(PROGRESS, shown)
        assert m and m.group(1) is None and m.group(2) == b"3" and m.group(3) == b"1", shown[-300:]
        # -q: nothing on the terminal
        code, stdout, shown = run_on_terminal(["-q", "--mbox", mbox])
        assert code == 0 and shown == b"", shown
    # a single message through the filter shows no progress line either
    code, stdout, shown = run_on_terminal([], read(os.path.join(MESSAGES, "koi8r-8bit.eml")))
    assert code == 0 and shown == b"", shown


print("%d passed, %d failed, %d skipped" % (results["passed"], results["failed"],
                                           results["skipped"]))
sys.exit(1 if results["failed"] else 77 if results["skipped"] else 0)
