#!/usr/bin/env python3
"""Integrity of normalized text read by Python's email package, which shares none of GMime's quirks:
no text part is labelled utf-8 over bytes that are not UTF-8, and no readable line is lost.

  integrity.py MIMEUTF8 SHARED      every message of SHARED/corpus/real through the command
                                    (-o batch mode), each output checked against its input

The rules (integrity_problems), over Python's reading of the input and of the output:
  1. Every text part that the output labels utf-8 holds, between its header block and the next
     boundary as Python splits the message (bare CR, LF and CR LF all end lines), bytes that
     decode strictly: base64 without a stray character or a missing pad (quoted-printable the
     way RFC 2045 asks a robust decoder to read it, a stray '=' kept), then UTF-8.  Exempt: a part the input already
     labelled utf-8 with the same bytes (what the library did not touch is not its claim).
  2. Every word (3 or more ASCII letters or digits) on a line of an input base64 text body that is
     not a line of base64 (a footer a mailing list appended, plain text under a base64 label),
     or on any line of one whose base64 characters are 4n+1, is still readable in the output:
     in a text part's transfer-decoded text or its raw bytes.

Imported by hostile.py, which applies the same rules to every hostile message.
Exits 77 (a skip, for meson) saying so plainly when SHARED is absent.
"""
import base64
import binascii
import email
import email.policy
import importlib.util
import os
import quopri
import re
import subprocess
import sys
import tempfile

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
BASE64_LINE = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
WORD = re.compile(rb"[A-Za-z0-9]{3,}")


def _corpus():
    spec = importlib.util.spec_from_file_location("corpus", os.path.join(HERE, "corpus.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def raw_payload(part):
    """The bytes between the part's header block and its next boundary, as Python read them."""
    # the stored payload: get_payload() gives 8-bit bytes decoded in the part's label, with
    # U+FFFD for what does not decode
    payload = part._payload
    if not isinstance(payload, str):
        return b""
    try:
        return payload.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        # a part Python built itself from decoded text holds characters, not bytes
        return payload.encode("utf-8", "surrogateescape")


def cte(part):
    return str(part.get("content-transfer-encoding", "")).strip().lower()


def strict_decode(part):
    """The part's bytes with its transfer encoding removed, strictly; ValueError if they are not
    in that encoding."""
    raw = raw_payload(part)
    encoding = cte(part)
    if encoding == "base64":
        try:
            return binascii.a2b_base64(b"".join(raw.split()), strict_mode=True)
        except binascii.Error as e:
            raise ValueError("not strict base64: %s" % e)
    if encoding == "quoted-printable":
        # RFC 2045 6.7: a robust decoder keeps an '=' that is no escape as it is; so do GMime
        # and quopri, and the text is all there
        return quopri.decodestring(raw)
    return raw


def readable(part):
    """Whatever a reader can read in a text part: its raw bytes and its decoded text."""
    raw = raw_payload(part)
    try:
        return raw + b"\n" + strict_decode(part)
    except ValueError:
        return raw + b"\n" + (part.get_payload(decode=True) or b"")


def plain_lines_of_base64(part):
    """Lines of a base64 body that are not base64; all of them when its base64 characters are
    4n+1, which no encoder writes ("Nyaan" under a base64 label is a word, not 3 bytes)."""
    lines = [l.strip() for l in re.split(rb"\r\n|\r|\n", raw_payload(part)) if l.strip()]
    if len(b"".join(l for l in lines if BASE64_LINE.fullmatch(l)).rstrip(b"=")) % 4 == 1:
        return lines
    return [l for l in lines if not BASE64_LINE.fullmatch(l)]


def is_utf8_label(part):
    return (part.get_content_charset() or "").lower() in ("utf-8", "utf8")


def integrity_problems(data_in, data_out, leaves=None):
    """The problems of one output against its input, under the rules in this file's docstring."""
    if leaves is None:
        leaves = _corpus().text_leaves
    parse = lambda data: leaves(email.message_from_bytes(data, policy=email.policy.compat32))
    before, after = parse(data_in), parse(data_out)
    problems = []
    untouched = {raw_payload(p) for p in before if is_utf8_label(p)}
    for i, part in enumerate(after):
        if not is_utf8_label(part) or raw_payload(part) in untouched:
            continue
        try:
            strict_decode(part).decode("utf-8")
        except (ValueError, UnicodeDecodeError) as e:
            problems.append("text part %d (of %d) is labelled utf-8 but %s" % (i + 1, len(after), e))
    text = b"\n".join(readable(p) for p in after)
    for part in before:
        if cte(part) != "base64":
            continue
        missing = sorted({w for l in plain_lines_of_base64(part) for w in WORD.findall(l)
                          if w not in text})
        if missing:
            problems.append("words on plain lines of a base64 body are gone: %s"
                            % b" ".join(missing[:8]).decode())
    return problems


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    tool, shared = sys.argv[1:3]
    if not os.path.isdir(os.path.join(shared, "corpus", "real")):
        print("SKIP: ../shared is absent (%s): this test needs ../shared/corpus/real" % shared)
        sys.exit(SKIP)
    corpus = _corpus()
    with tempfile.TemporaryDirectory() as work:
        src, names = corpus.real_messages(shared, work)
        out = os.path.join(work, "out")
        r = subprocess.run([tool, "-q", "-o", out, src], capture_output=True)
        if r.returncode != 0:
            print("FAIL: batch run exited %d: %s" % (r.returncode, r.stderr[:500]))
            sys.exit(1)
        bad = 0
        for n in names:
            with open(os.path.join(src, n), "rb") as f:
                data_in = f.read()
            with open(os.path.join(out, n), "rb") as f:
                data_out = f.read()
            problems = integrity_problems(data_in, data_out, corpus.text_leaves)
            if problems:
                bad += 1
                print("%s: %s" % (n, "; ".join(problems[:3])))
        print("corpus/real: %d messages, %d with text lost or labelled utf-8 over other bytes" % (len(names), bad))
        if bad:
            print("FAIL")
            sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
