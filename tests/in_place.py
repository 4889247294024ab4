#!/usr/bin/env python3
"""The in-place API (mimeutf8_normalize_message) gives what the buffer call gives.

  in_place.py MIMEUTF8 IN_PLACE FIXTURES SHARED

On every fixture (fixtures/messages) and on 500 gen.py messages (seed MIMEUTF8_SEED, default 1), the
messages are normalized by the command (-o batch: the buffer call) and by tests/in-place.c (GMime
parses, mimeutf8_normalize_message converts, GMime writes).  Then:
  - check.py accepts the in-place outputs of the gen.py messages, as corpus-gen requires it of the
    command's (the same required cases and rates);
  - Python's email package (not GMime) reads the same text leaves in both outputs of every
    message, each decoding strictly, in its declared charset, to the same text;
  - an in-place report says `unchanged` only when the buffer call's says so too.
Two kinds of message are not compared, and are counted: those whose plain GMime round trip
(in-place.c -r) already reads differently from the input (the engine's message is not what the
bytes say: GMime skipped a malformed header line, and writes without it), and those with a
message/rfc822 part sent base64 or quoted-printable (the buffer call normalizes the message inside;
in place it stays as it is, see mimeutf8.h).  Without SHARED, only the fixtures are checked.
"""
import email
import email.policy
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402


def texts(path):
    """The text leaves of a message as Python reads them: (type, text), line ends as LF."""
    with open(path, "rb") as f:
        msg = email.message_from_bytes(f.read(), policy=email.policy.compat32)
    out = []
    for leaf in corpus.text_leaves(msg):
        raw = leaf.get_payload(decode=True) or b""
        charset = leaf.get_content_charset() or "us-ascii"
        try:
            text = raw.decode(charset, "strict")
        except (LookupError, UnicodeDecodeError) as e:
            text = "undecodable in %s: %s" % (charset, e)
        out.append((leaf.get_content_type(), text.replace("\r\n", "\n")))
    return out


def encoded_message(path):
    """TRUE when the message has a message/rfc822 part sent base64 or quoted-printable."""
    with open(path, "rb") as f:
        msg = email.message_from_bytes(f.read(), policy=email.policy.compat32)
    return any(p.get_content_type() == "message/rfc822"
               and p.get("content-transfer-encoding", "").strip().lower() in ("base64", "quoted-printable")
               for p in msg.walk())


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    tool, helper, fixtures, shared = (os.path.abspath(a) for a in sys.argv[1:5])
    failures = []
    with tempfile.TemporaryDirectory(prefix="mimeutf8-in-place-") as work:
        sets = [("fixtures", os.path.join(fixtures, "messages"))]
        if os.path.isfile(os.path.join(shared, "corpus", "gen.py")):
            seed = int(os.environ.get("MIMEUTF8_SEED", "1"))
            src, _ = corpus.gen(tool, shared, work, seed, 500)
            sets.append(("gen seed %d" % seed, src))
        else:
            print("note: ../shared is absent (%s): the fixtures only" % shared)
        for label, src in sets:
            names = sorted(n for n in os.listdir(src) if n.endswith(".eml"))
            files = [os.path.join(src, n) for n in names]
            buf, inplace = (os.path.join(work, label.replace(" ", "-") + d) for d in ("-buffer", "-in-place"))
            report = os.path.join(work, label.replace(" ", "-") + ".jsonl")
            corpus.run_batch(tool, files, buf, report)
            r = subprocess.run([helper, inplace] + files, capture_output=True, text=True)
            if r.returncode != 0:
                corpus.fail("in-place helper exited %d: %s" % (r.returncode, r.stderr[:500]))
            status = {json.loads(l)["name"]: json.loads(l)["status"] for l in r.stdout.splitlines() if l.startswith("{")}
            trip = inplace + "-round-trip"
            r = subprocess.run([helper, "-r", trip] + files, capture_output=True, text=True)
            if r.returncode != 0:
                corpus.fail("in-place helper -r exited %d: %s" % (r.returncode, r.stderr[:500]))
            excluded = []
            buffer_status = {os.path.basename(json.loads(l)["name"]): json.loads(l)["status"] for l in open(report)}
            compared = 0
            for n in names:
                if not os.path.exists(os.path.join(inplace, n)):
                    continue  # GMime gave the engine no message
                if texts(os.path.join(trip, n)) != texts(os.path.join(src, n)):
                    excluded.append("%s (GMime's round trip reads differently)" % n)
                    continue
                if encoded_message(os.path.join(src, n)):
                    excluded.append("%s (encoded message/rfc822)" % n)
                    continue
                compared += 1
                a, b = texts(os.path.join(buf, n)), texts(os.path.join(inplace, n))
                if [t for t, _ in a] != [t for t, _ in b]:
                    failures.append("%s/%s: text leaves %s (buffer) vs %s (in place)" % (label, n, [t for t, _ in a], [t for t, _ in b]))
                    continue
                for i, ((_, x), (_, y)) in enumerate(zip(a, b)):
                    if x != y:
                        failures.append("%s/%s: text leaf %d differs: %r vs %r" % (label, n, i + 1, x[:80], y[:80]))
                if status.get(n) == "unchanged" and buffer_status.get(n) not in ("unchanged", "passthrough"):
                    failures.append("%s/%s: in place says unchanged, the buffer call %s" % (label, n, buffer_status.get(n)))
            print("%s: %d messages, %d compared; not compared: %s" % (label, len(names), compared,
                                                                  ", ".join(excluded) or "none"))
            if label.startswith("gen"):
                corpus.check(shared, src, inplace, "%s, in place" % label)
    for f in failures[:40]:
        print("FAIL: " + f)
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("PASS: the in-place API gives the buffer call's text")


if __name__ == "__main__":
    main()
