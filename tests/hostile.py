#!/usr/bin/env python3
"""Hostile input for the mimeutf8 command: messages built to exhaust time or memory, to reach
dangerous iconv converters, or to forge headers.  The set is generated at run time in a temporary
directory (never committed); each message goes through the command as a filter (a pipe on stdin,
stdout to a file) and the set again through -o batch mode.

  hostile.py MIMEUTF8 [--only PATTERN] [--no-batch] [--keep DIR]
  hostile.py --generate DIR [--only PATTERN]      (writes the set and exits; iconv_allowlist.py)
  hostile.py --list

For each message: under 2 s wall and 256 MB peak RSS (ru_maxrss, taken through GNU time when it
is installed: a child forked from this script would start from this script's size), exit 0, a
report that is one JSON object without duplicate keys, and either the input byte for byte or a
normalized message, which then parses (Python email, compat32), labels no text part utf-8 that
is not strictly valid UTF-8 without NUL, has no header field the input did not have (bar
Content-Type, Content-Transfer-Encoding, MIME-Version), no header with a new CR, LF or NUL, and
comes out of a second run unchanged, whose report finds every text part already UTF-8 (or left
alone, with a reason), has, where the case knows it, the right text in each text part (read back
by Python's email package and strict codecs, part by part), and passes tests/integrity.py's rules (no utf-8 label over bytes Python reads
as other than UTF-8, no plain line of a base64 body lost).  A message over one of the library's limits must be passed through
(status "passthrough" with a reason).

MIMEUTF8_HOSTILE_SLOWDOWN=F multiplies the time and memory bounds (sanitize.sh sets it for ASan).
"""
import base64
import binascii
import collections
import email
import email.policy
import fnmatch
import json
import os
import quopri
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import integrity

HERE = os.path.dirname(os.path.abspath(__file__))
CRASHERS = os.path.join(HERE, "..", "fixtures", "crashers")
SLOWDOWN = float(os.environ.get("MIMEUTF8_HOSTILE_SLOWDOWN", "1"))
TIME_LIMIT = 2.0 * SLOWDOWN
RSS_LIMIT_MB = 256 * SLOWDOWN
# a run that takes this long is killed and reported as a hang
HARD_TIMEOUT = 60.0 * SLOWDOWN
# the library's own time limit (10 s) scaled the same way: instrumented code must not pass a
# message through for slowness alone, or the filter and batch runs would differ by timing
TOOL_ARGS = ["--timeout=%d" % int(10 * SLOWDOWN)] if SLOWDOWN > 1 else []
# headers the library may add to a part: the relabelled type, its encoding, MIME-Version
MAY_ADD = {"content-type", "content-transfer-encoding", "mime-version"}

# the converters with CVEs that must never be opened (DESIGN.md, "glibc iconv traps")
DANGEROUS = ["ISO-2022-CN", "ISO-2022-CN-EXT", "ISO-2022-JP-3", "IBM930", "IBM933", "IBM935",
             "IBM937", "IBM939", "IBM1364", "IBM1371", "IBM1388", "IBM1390", "IBM1399"]
# bytes meant to walk each converter's state machine: designations, shifts, escapes, garbage
DANGEROUS_BYTES = {
    "ISO-2022-CN": b"\x1b$)A\x0e\x21\x21\x4a\x7c\x0f\x1b$*H\x1bN\x21\x21\x0e\xff\x0f\n",
    "ISO-2022-CN-EXT": b"\x1b$)A\x0e\x4a\x7c\x0f\x1b$+I\x1bO\x21\x21\x1b$+J\x1bO\x7e\x7e\x1bO\n",
    "ISO-2022-JP-3": b"\x1b$(O\x21\x21\x1b$(P\x7e\x7e\x1b$(Q\x24\x7b\x1b(B\x1b$B\x24\x22\x1b(J\n",
}
EBCDIC_DBCS = b"\xc1\xc2\x0e\x41\x41\x44\x5a\x0f\xc3\x0e\xff\xff\x0e\x0f\x0e\x45\x41\x0f\x25"

Case = collections.namedtuple("Case", "name build expect note texts", defaults=(None,))
CASES = []


def case(name, expect, note="", texts=None):
    """Registers a generator: expect is the message's status, "passthrough" (with a reason: a
    limit, or a message that does not parse), "normalized" or "unchanged".  Every case has one:
    a case that accepts any status cannot catch a change of what the tool does with it.
    texts, for a normalized message whose text is known: the text of each text part of the
    output, in order (parts inside a message/rfc822 sent base64 included), as Python's email
    package decodes it with the part's label; None for a part with no one right reading (left
    alone, or garbage)."""
    assert expect in ("passthrough", "normalized", "unchanged"), (name, expect)
    assert texts is None or expect == "normalized", name

    def register(fn):
        CASES.append(Case(name, fn, expect, note, texts))
        return fn
    return register


def msg(headers, body, nl=b"\n"):
    return nl.join(headers) + nl + nl + body


LATIN1_BODY = "Le caf\xe9 co\xfbte 2\x80, d\xe9j\xe0 vu.\n".encode("latin1")
# its text: a latin1 or iso-8859-1 label means windows-1252 (WHATWG Encoding), 0x80 is the euro sign
LATIN1_TEXT = "Le caf\u00e9 co\u00fbte 2\u20ac, d\u00e9j\u00e0 vu.\n"
# the same as the last part of a multipart, whose last line break belongs to the boundary
LATIN1_LAST = LATIN1_TEXT[:-1]
TOP = [b"From: a@example.com", b"To: b@example.com", b"Date: Mon, 1 Jan 2024 00:00:00 +0000",
       b"Message-ID: <hostile@example.com>", b"MIME-Version: 1.0"]


def ew(charset, data, enc="B"):
    if isinstance(charset, str):
        charset = charset.encode("latin1")
    if enc == "B":
        text = base64.b64encode(data)
    else:
        text = b"".join(bytes([c]) if 0x21 <= c < 0x7f and c not in b"=?_" else b"=%02X" % c for c in data)
    return b"=?" + charset + b"?" + enc.encode() + b"?" + text + b"?="


def pct(data):
    return b"".join(bytes([c]) if (0x30 <= c <= 0x39 or 0x41 <= c <= 0x5a or 0x61 <= c <= 0x7a) else b"%%%02X" % c
                    for c in data)


def nested_multipart(depth, leaf, filler=b""):
    """`depth` multiparts, each inside the one before, around a leaf part."""
    out = []
    for i in range(depth):
        out.append(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i))
    out.append(leaf)
    out.append(filler)
    for i in reversed(range(depth)):
        out.append(b"\n--b%d--\n" % i)
    return b"".join(out)


LEAF = b"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n" + LATIN1_BODY


# ---- size and shape ---------------------------------------------------------------------------

@case("nest-multipart-10000", "passthrough", "multipart nested 10,000 deep (limit 64)")
def _():
    return b"\n".join(TOP) + b"\n" + nested_multipart(10000, LEAF)


@case("nest-multipart-50", "normalized", "multipart nested 50 deep: under the limit, converted", [LATIN1_TEXT])
def _():
    return b"\n".join(TOP) + b"\n" + nested_multipart(50, LEAF)


@case("nest-multipart-65", "passthrough", "multipart nested 65 deep: just over the limit of 64")
def _():
    return b"\n".join(TOP) + b"\n" + nested_multipart(65, LEAF)


@case("nest-rfc822-10000", "passthrough", "a chain of 10,000 nested message/rfc822")
def _():
    out = [b"\n".join(TOP) + b"\n"]
    for i in range(10000):
        out.append(b"Subject: level %d\nContent-Type: message/rfc822\n\n" % i)
    out.append(LEAF)
    return b"".join(out)


@case("nest-rfc822-base64-20", "unchanged", "20 message/rfc822, each sent base64 inside the one before")
def _():
    inner = msg([b"Subject: core", b"Content-Type: text/plain; charset=iso-8859-1"], LATIN1_BODY)
    for i in range(20):
        inner = msg([b"Subject: level %d" % i, b"MIME-Version: 1.0", b"Content-Type: message/rfc822",
                     b"Content-Transfer-Encoding: base64"], base64.encodebytes(inner))
    return inner


@case("rfc822-base64-crlf", "normalized", "a message/rfc822 sent base64 (CRLF), latin1 inside",
      [LATIN1_TEXT.replace("\n", "\r\n")])
def _():
    inner = msg([b"Subject: inner", b"MIME-Version: 1.0", b"Content-Type: text/plain; charset=iso-8859-1"],
                LATIN1_BODY.replace(b"\n", b"\r\n"), b"\r\n")
    return msg(TOP + [b"Content-Type: message/rfc822", b"Content-Transfer-Encoding: base64"],
               base64.encodebytes(inner).replace(b"\n", b"\r\n"), b"\r\n")


@case("parts-100000", "passthrough", "100,000 parts in about 5 MB (limit 10,000)")
def _():
    part = b"--p\nContent-Type: text/plain; charset=latin1\n\nd\xe9j\xe0\n"
    return msg(TOP + [b'Content-Type: multipart/mixed; boundary="p"'], part * 100000 + b"--p--\n")


@case("parts-9000", "normalized", "9,000 latin1 parts: under the limit, converted", ["d\u00e9j\u00e0"] * 9000)
def _():
    part = b"--p\nContent-Type: text/plain; charset=latin1\n\nd\xe9j\xe0\n"
    return msg(TOP + [b'Content-Type: multipart/mixed; boundary="p"'], part * 9000 + b"--p--\n")


@case("header-20mb-line", "passthrough", "one 20 MB header line (header block limit 1 MiB)")
def _():
    return msg(TOP + [b"X-Long: " + b"a" * (20 << 20), b"Content-Type: text/plain; charset=latin1"], LATIN1_BODY)


@case("header-20mb-folded", "passthrough", "one 20 MB Subject of folded 8-bit words")
def _():
    line = b" caf\xe9 d\xe9j\xe0 =?iso-8859-1?q?na=EFve?= vu"
    return msg(TOP + [b"Subject: start" + (b"\n" + line) * ((20 << 20) // (len(line) + 1)),
                      b"Content-Type: text/plain; charset=latin1"], LATIN1_BODY)


@case("header-block-over-1mib", "passthrough", "1,100 KB of X- headers in one block")
def _():
    return msg(TOP + [b"X-Pad-%d: %s" % (i, b"x" * 100) for i in range(11000)]
               + [b"Content-Type: text/plain; charset=latin1"], LATIN1_BODY)


@case("to-500000", "passthrough", "500,000 To: lines")
def _():
    return msg([b"From: a@example.com"] + [b"To: u%d@example.com" % i for i in range(500000)]
               + [b"Subject: many", b"Content-Type: text/plain; charset=latin1"], LATIN1_BODY)


@case("rfc2231-100000-params", "passthrough", "100,000 RFC 2231 parameters in one Content-Type")
def _():
    params = b"".join(b";\n p%d*=iso-8859-1''%%E9%d" % (i, i) for i in range(100000))
    return msg(TOP + [b"Content-Type: text/plain; charset=iso-8859-1" + params], LATIN1_BODY)


@case("rfc2231-100000-sections", "passthrough", "one parameter in 100,000 RFC 2231 sections, reversed")
def _():
    params = b"".join(b";\n name*%d*=%%E9%d" % (i, i) for i in reversed(range(1, 100000)))
    return msg(TOP + [b"Content-Type: text/plain; charset=iso-8859-1" + params + b";\n name*0*=iso-8859-1''x"],
               LATIN1_BODY)


@case("params-129", "passthrough", "129 parameters in one Content-Type: just over the limit of 128")
def _():
    params = b"".join(b"; p%d=v" % i for i in range(127))
    return msg(TOP + [b"Content-Type: text/plain; charset=iso-8859-1; name*=iso-8859-1''%E9" + params],
               LATIN1_BODY)


@case("encoded-words-1001", "passthrough", "1,001 encoded-words in one Subject (limit 1,000)")
def _():
    words = b"\n ".join(ew("iso-8859-1", b"caf\xe9", "Q") for _ in range(1001))
    return msg(TOP + [b"Subject: " + words, b"Content-Type: text/plain; charset=latin1"], LATIN1_BODY)


@case("encoded-words-900", "normalized", "900 encoded-words in one Subject: under the limit", [LATIN1_TEXT])
def _():
    words = b"\n ".join(ew("iso-8859-1", b"caf\xe9", "Q") for _ in range(900))
    return msg(TOP + [b"Subject: " + words, b"Content-Type: text/plain; charset=latin1"], LATIN1_BODY)


@case("encoded-words-200000", "passthrough", "200,000 encoded-words in one Subject")
def _():
    words = b" ".join(ew("utf-16le", "\u00e9".encode("utf-16le")) for _ in range(200000))
    return msg(TOP + [b"Subject: " + words, b"Content-Type: text/plain; charset=latin1"], LATIN1_BODY)


@case("boundary-bomb", "passthrough", "multipart nested 1,000 deep, a million -- lines inside")
def _():
    filler = b"--x\n" * 1000000
    return b"\n".join(TOP) + b"\n" + nested_multipart(1000, LEAF, filler)


@case("boundary-lookalikes", "passthrough", "one level, a million lines that start like the boundary")
def _():
    filler = b"--boundar\n--boundary-not\n" * 500000
    return msg(TOP + [b'Content-Type: multipart/mixed; boundary="boundary"'],
               b"--boundary\n" + LEAF + filler + b"--boundary--\n")


@case("size-51mib", "passthrough", "a 51 MiB message (limit 50 MiB)")
def _():
    line = b"Caf\xe9 " * 15 + b"\n"
    return msg(TOP + [b"Content-Type: text/plain; charset=latin1"], line * ((51 << 20) // len(line) + 1))


@case("long-line-8mb", "normalized", "an 8 MB body line in latin1: converted to quoted-printable",
      ["\u00e9" * (8 << 20) + "\n"])
def _():
    return msg(TOP + [b"Content-Type: text/plain; charset=latin1"], b"\xe9" * (8 << 20) + b"\n")


# ---- broken encodings and structure -------------------------------------------------------------

@case("bad-base64", "unchanged", "garbage in a base64 text part")
def _():
    body = b"!!!!@@@@ \x00\xff\xfe====QUJD=RA==\n====\n" + bytes(range(256)) + b"\n===\n"
    return msg(TOP + [b"Content-Type: text/plain; charset=iso-8859-1", b"Content-Transfer-Encoding: base64"], body)


@case("qp-equals-at-eof", "normalized", "quoted-printable ending in '=' at end of file",
      ["caf\u00e9 \u00e9"])  # each '=' at a line's end is a soft line break (RFC 2045 6.7)
def _():
    return msg(TOP + [b"Content-Type: text/plain; charset=iso-8859-1",
                      b"Content-Transfer-Encoding: quoted-printable"], b"caf=E9 =\n=E9=")


@case("qp-equals-before-boundary", "normalized", "quoted-printable ending in '=' just before a boundary",
      ["caf\u00e9", "caf\u00e9"])
def _():
    part = (b"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
            b"caf=E9=\n")
    return msg(TOP + [b'Content-Type: multipart/mixed; boundary="q"'],
               b"--q\n" + part + b"--q\n" + part + b"=\n--q--\n")


@case("missing-final-boundary", "normalized", "multipart whose closing boundary never comes",
      [LATIN1_LAST, LATIN1_LAST, "\u041f\u0440\u0438"])
def _():
    return msg(TOP + [b'Content-Type: multipart/mixed; boundary="m"'],
               b"--m\n" + LEAF + b"--m\n" + LEAF + b"--m\nContent-Type: text/plain; charset=koi8-r\n\n\xf0\xd2\xc9")


# an incomplete character at the end of a part is one U+FFFD (WHATWG Encoding: end of queue in a
# decoder with bytes pending is an error); utf-16 is little-endian without a BOM
@case("truncated-multibyte", "normalized", "a part ending inside a multi-byte character, then another part",
      ["\u00e9t\u00e9 \ufffd", "\u65e5\ufffd", "\ud55c\ufffd", "\u4e2d\ufffd", "\u4e2d\ufffd", "a\ufffd", "\ufffd",
       "\u65e5\ufffd", LATIN1_LAST])
def _():
    parts = [
        (b"utf-8", "\u00e9t\u00e9 \u20ac".encode()[:-1]),
        (b"shift_jis", "\u65e5\u672c".encode("cp932")[:-1]),
        (b"euc-kr", "\ud55c\uad6d".encode("cp949")[:-1]),
        (b"gb2312", "\u4e2d\u6587".encode("gb18030")[:-1]),
        (b"big5", "\u4e2d\u6587".encode("big5")[:-1]),
        (b"utf-16le", "ab".encode("utf-16le")[:-1]),
        (b"gb18030", "\U0001f600".encode("gb18030")[:-2]),
        (b"iso-2022-jp", "\u65e5\u672c".encode("iso-2022-jp")[:-4]),
    ]
    body = b"".join(b"--t\nContent-Type: text/plain; charset=" + c + b"\n\n" + d + b"\n" for c, d in parts)
    body += b"--t\nContent-Type: text/plain; charset=iso-8859-1\n\n" + LATIN1_BODY + b"--t--\n"
    return msg(TOP + [b'Content-Type: multipart/mixed; boundary="t"'], body)


@case("unterminated-quote", "unchanged", "a Content-Type whose quoted name never ends, on a latin1 part")
def _():
    return msg(TOP + [b'Content-Type: text/plain; name="unterminated.txt'], LATIN1_BODY)


@case("charset-with-blanks", "unchanged", "an unquoted charset value with blanks in it: charset=us-asciiX: y 7bit")
def _():
    return msg(TOP + [b"Content-Type: text/plain; charset=us-asciiX: y 7bit"], LATIN1_BODY)


# issue 9: where GMime's reading of a part and its bytes part ways (tests/integrity.py checks them)
@case("base64-then-footer", "normalized", "a latin1 base64 body, then a plain footer, before a boundary in CR LF",
      [LATIN1_TEXT + "-- \nList footer: unsubscribe at example.org"])
def _():
    body = base64.encodebytes(LATIN1_BODY) + b"-- \nList footer: unsubscribe at example.org\n"
    part = b"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: base64\n\n" + body
    return msg(TOP + [b'Content-Type: multipart/mixed; boundary="f"'], b"--f\n" + part + b"--f--\r\n")


@case("base64-footer-not-ascii", "unchanged", "base64 UTF-16 and UTF-7 bodies, then a plain footer: left alone")
def _():
    body = b"".join(b"--f\nContent-Type: text/plain; charset=" + cs + b"\nContent-Transfer-Encoding: base64\n\n" +
                    base64.encodebytes("caf\u00e9 \u65e5\u672c\n".encode(cs.decode())) + b"--\nList footer + more\n"
                    for cs in (b"utf-16le", b"utf-7"))
    return msg(TOP + [b'Content-Type: multipart/mixed; boundary="f"'], body + b"--f--\n")


# (a run of 4n+1 characters is no base64: left alone; "Y2Fm6Q" and a stray "Z" on the next line
# have no one right reading)
@case("base64-unpadded-parts", "normalized", "base64 runs without padding, of 4n+2 and 4n+3 characters, and a 4n+1 one",
      ["caf\u00e9", "caf\u00e9\u00e9", None, None])
def _():
    parts = [b"Y2Fm6Q", b"Y2Fm6ek", b"Y2Fm6ekx6", b"Y2Fm6Q\nZ"]
    body = b"".join(b"--u\nContent-Type: text/plain; charset=latin1\nContent-Transfer-Encoding: base64\n\n" + p + b"\n"
                    for p in parts)
    return msg(TOP + [b'Content-Type: multipart/mixed; boundary="u"'], body + b"--u--\n")


@case("lf-part-crlf-boundary", "normalized", "parts ending in a bare LF before boundary lines in CR LF and a bare CR",
      ["caf\u00e9", "caf\u00e9", "\u65e5\u672c"])
def _():
    leaves = [(b"8bit", b"caf\xe9"), (b"quoted-printable", b"caf=E9"), (b"8bit", "\u65e5\u672c".encode("shift_jis"))]
    body = b"".join(b"--c\r\nContent-Type: text/plain; charset=" + (b"shift_jis" if i == 2 else b"latin1") +
                    b"\r\nContent-Transfer-Encoding: " + enc + b"\r\n\r\n" + data + b"\n"
                    for i, (enc, data) in enumerate(leaves))
    return msg(TOP + [b'Content-Type: multipart/mixed; boundary="c"'], body + b"--c--\r", b"\r\n")


@case("garbage-after-content-type", "unchanged", "lines after Content-Type that other readers end the header block on")
def _():
    lines = [b"no colon here", b"X-Name : caf\xe9", b"X-caf\xe9: v", b"X-A: a\rjunk\xe9", b"X-\x00: v"]
    body = b"".join(b"--h\nContent-Transfer-Encoding: 8bit\nContent-Type: text/plain; charset=latin1\n" + l +
                    b"\nX-Note: caf\xe9\n\ncaf\xe9\n" for l in lines)
    return msg(TOP + [b'Content-Type: multipart/mixed; boundary="h"'], body + b"--h--\n")


@case("conflicting-type-nested", "passthrough", "application/octet-stream, then multipart/mixed, on one part")
def _():
    inner = b"--u\nContent-Type: text/plain; charset=latin1\n\ncaf\xe9\n--u--\n"
    return msg(TOP + [b'Content-Type: multipart/mixed; boundary="o"'],
               b"--o\nContent-Type: application/octet-stream\nContent-Type: multipart/mixed; boundary=u\n\n" + inner + b"--o--\n")


@case("charset-no-semicolon", "unchanged", 'parameters without a ";" between them: charset=iso-8859-1 name="x.txt" (not RFC 2045: left alone)')
def _():
    return msg(TOP + [b'Content-Type: text/plain; charset=iso-8859-1 name="x.txt"'], LATIN1_BODY)


@case("charset-unquoted-then-quoted", "unchanged", 'an unquoted charset value followed by quoted text: charset=x y"a" z"b" (not RFC 2045: left alone)')
def _():
    return msg(TOP + [b'Content-Type: text/plain; charset=iso-8859-1 y"a" z"b"'], LATIN1_BODY)


@case("charset-quoted-then-junk", "unchanged", 'readers disagree on the value: charset="iso-8859-1" name="x.txt" (left alone)')
def _():
    return msg(TOP + [b'Content-Type: text/plain; charset="iso-8859-1" name="x.txt"'], LATIN1_BODY)


@case("empty", "passthrough", "an empty input: does not parse as a message")
def _():
    return b""


@case("binary-garbage", "passthrough", "256 KB of random bytes")
def _():
    return random.Random(1).randbytes(256 << 10)


@case("binary-garbage-headers", "normalized", "header-like lines over random bytes")
def _():
    rnd = random.Random(2)
    return msg(TOP + [b"Subject: " + rnd.randbytes(200).replace(b"\n", b" "),
                      b"Content-Type: text/plain; charset=" + rnd.randbytes(20).replace(b"\n", b"")],
               rnd.randbytes(64 << 10))


@case("cr-only", "unchanged", "a message with CR-only line ends")
def _():
    return msg(TOP + [b"Subject: =?iso-8859-1?q?caf=E9?=", b'Content-Type: multipart/mixed; boundary="c"'],
               b"--c\r" + LEAF.replace(b"\n", b"\r") + b"--c--\r", b"\r")


@case("mixed-line-ends", "passthrough", "LF, CRLF and CR line ends in one message")
def _():
    return (b"From: a@example.com\r\nSubject: x\rMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=z\r\n"
            b"\r\n--z\rContent-Type: text/plain; charset=latin1\n\r\n\xe9\r--z\r\n\n\xe9\n--z--\r")


@case("nul-in-headers", "unchanged", "NUL bytes in header names and values")
def _():
    return msg(TOP + [b"Subject: a\x00b", b"X-\x00: c", b"Content-Type: text/plain; charset=lat\x00in1"], LATIN1_BODY)


# (the unusable labels fall back to windows-1252; the third Content-Type is malformed: left alone)
@case("label-json-injection", "normalized", "labels that would break out of a JSON string in the report",
      ["caf\u00e9", "caf\u00e9", None])
def _():
    parts = [b'"\xc3\xa9\\",\\"charset\\":\\"forged"', b'"utf-8\xc3\xa9\x01\\\\"', b"\xe9\x7f\x1b"]
    body = b"".join(b"--j\nContent-Type: text/plain; charset=" + c + b"\n\ncaf\xe9\n" for c in parts)
    return msg(TOP + [b'Content-Type: multipart/mixed; boundary="j"'], body + b"--j--\n")


# ---- charset names that are not charsets ------------------------------------------------------

BAD_NAMES = {
    "path": b"../../x",
    "translit": b"utf-8//TRANSLIT//IGNORE",
    "100k": b"iso-8859-1" + b"A" * 100000,
}


def charset_cases():
    for tag, name in BAD_NAMES.items():
        def label(name=name):
            return msg(TOP + [b"Content-Type: text/plain; charset=\"" + name + b"\""], LATIN1_BODY)

        def word(name=name):
            return msg(TOP + [b"Subject: " + ew(name, b"caf\xe9") + b" " + ew(name, b"na\xefve", "Q"),
                              b"Content-Type: text/plain; charset=latin1"], LATIN1_BODY)

        def param(name=name):
            return msg(TOP + [b"Content-Type: text/plain; charset=latin1;\n name*=" + name + b"''caf%E9.txt",
                              b"Content-Disposition: attachment;\n filename*0*=" + name + b"''caf%E9;\n filename*1=.txt"],
                       LATIN1_BODY)
        # normalized: the latin1 body is converted whatever the name does
        CASES.append(Case("charset-%s-label" % tag, label, "normalized", "charset name %r... as a part label" % name[:24],
                          [LATIN1_TEXT]))
        CASES.append(Case("charset-%s-encoded-word" % tag, word, "normalized", "... in encoded-words", [LATIN1_TEXT]))
        CASES.append(Case("charset-%s-rfc2231" % tag, param, "normalized", "... in RFC 2231 parameters", [LATIN1_TEXT]))


charset_cases()


def dangerous_cases():
    for name in DANGEROUS:
        data = DANGEROUS_BYTES.get(name, EBCDIC_DBCS)
        lname = name.lower().encode()

        def build(lname=lname, data=data):
            parts = [
                b"--d\nContent-Type: text/plain; charset=" + lname + b"\nContent-Transfer-Encoding: 8bit\n\n" + data + b"\n",
                b"--d\nContent-Type: text/plain; charset=" + lname + b"\nContent-Transfer-Encoding: base64\n\n"
                + base64.encodebytes(data * 50),
                b"--d\nContent-Type: application/octet-stream;\n name*=" + lname + b"''" + pct(data)
                + b"\nContent-Disposition: attachment;\n filename*0*=" + lname + b"''" + pct(data[:8])
                + b";\n filename*1*=" + pct(data[8:]) + b"\n\nxx\n",
                b"--d\nContent-Type: message/rfc822\n\nSubject: " + ew(lname, data, "Q") + b"\nContent-Type: text/plain; charset="
                + lname + b"\n\n" + data + b"\n",
            ]
            return msg(TOP[:-1] + [b"Subject: " + ew(lname, data) + b" " + ew(lname.upper(), data, "Q"),
                                   b"X-Name: " + ew(lname + b"*en", data),
                                   b"MIME-Version: 1.0", b'Content-Type: multipart/mixed; boundary="d"'],
                       b"".join(parts) + b"--d--\n")
        CASES.append(Case("converter-" + name.lower(), build, "normalized",
                          "%s in a body label, encoded-words and RFC 2231 parameters" % name))


dangerous_cases()


# ---- text that decodes to NUL, CR or LF -------------------------------------------------------

FORGED = "\r\nBcc: x@example.com\r\n\x00X-Evil: 1"


@case("utf7-header-crlf", "normalized", "Subject: =?utf-7?Q?+AA0ACg-Bcc:_x@example.com?= and friends",
      [LATIN1_TEXT])
def _():
    return msg(TOP + [b"Subject: =?utf-7?Q?+AA0ACg-Bcc:_x@example.com?=",
                      b"Comments: " + ew("utf-7", FORGED.encode("utf-7")),
                      b"Keywords: =?utf-7?B?" + base64.b64encode(b"+AAA-+AA0-+AAo-") + b"?=",
                      b"Content-Type: text/plain; charset=latin1"], LATIN1_BODY)


@case("utf16-header-crlf", "normalized", "UTF-16 encoded-words that decode to CR LF NUL and a Bcc: line",
      [LATIN1_TEXT])
def _():
    return msg(TOP + [b"Subject: " + ew("utf-16le", FORGED.encode("utf-16le")),
                      b"Comments: " + ew("utf-16be", FORGED.encode("utf-16be")),
                      b"Keywords: " + ew("utf-16", FORGED.encode("utf-16")),
                      b"X-Q: " + ew("utf-16le", "\nBcc: y@example.com".encode("utf-16le"), "Q"),
                      b"Content-Type: text/plain; charset=latin1"], LATIN1_BODY)


@case("rfc2231-crlf", "normalized", "RFC 2231 parameters that decode to CR LF NUL and a Bcc: line",
      [LATIN1_TEXT])
def _():
    return msg(TOP + [b"Content-Type: text/plain; charset=latin1;\n name*=utf-7''" + pct(FORGED.encode("utf-7")),
                      b"Content-Disposition: attachment;\n filename*=utf-16le''" + pct(FORGED.encode("utf-16le"))
                      + b";\n x*=utf-8''" + pct(FORGED.encode()) + b";\n y*=iso-8859-1''%0D%0ABcc:%20z@example.com"],
               LATIN1_BODY)


@case("8bit-header-crlf", "unchanged", "raw 8-bit headers around bare CR")
def _():
    return msg(TOP + [b"Subject: caf\xe9\rBcc: x@example.com", b"Comments: \xff\xfe\r\x00",
                      b"Content-Type: text/plain; charset=latin1"], LATIN1_BODY)


# a NUL in a body becomes U+FFFD, CR LF stays (README, "What it does"); a lone surrogate and an odd
# last byte of UTF-16 are U+FFFD; utf-16 without a BOM is little-endian
@case("utf7-body-nul", "normalized", "UTF-7 and UTF-16 bodies that decode to NUL and CR LF",
      ["\ufffd nul \r\n crlf \ufffd\ufffd\ufffd \U0001f600 \n", "\ufffd\r\nBcc: x\n" * 3, "\ufffd\r\nBcc: x\ufffd\ufffd",
       "\ufffd\ufffd\r\n\ufeffz", "\ufffd\r\n", "\ufffd\r\n\ufffd"])
def _():
    parts = [
        (b"utf-7", b"7bit", b"+AAA- nul +AA0ACg- crlf +AAAAAAAA- +2D3eAA- \n"),
        (b"utf-7", b"base64", base64.encodebytes(b"+AAAADQAK-Bcc: x\n" * 3)),
        (b"utf-16le", b"base64", base64.encodebytes("\x00\r\nBcc: x\x00\ud800".encode("utf-16le", "surrogatepass"))),
        (b"utf-16be", b"base64", base64.encodebytes("\x00\x00\r\n\ufeffz".encode("utf-16be"))),
        (b"utf-16", b"base64", base64.encodebytes(b"\xff\xfe\x00\x00\x0d\x00\x0a\x00")),
        (b"utf-16", b"8bit", b"\x00\x00\r\x00\n\x00x"),
    ]
    body = b"".join(b"--u\nContent-Type: text/plain; charset=" + c + b"\nContent-Transfer-Encoding: " + e + b"\n\n"
                    + d + b"\n" for c, e, d in parts)
    return msg(TOP + [b'Content-Type: multipart/mixed; boundary="u"'], body + b"--u--\n")


@case("gmime-rfc2231-loop", "normalized", "fixtures/crashers: GMime 3.2.13's RFC 2231 folding loop",
      ["caf\u00e9 70\n", "caf\u00e9 71\n", "caf\u00e9 72\n", "d\u00e9j\u00e0 vu\n", "<p>na\u00efve</p>\n"])
def _():
    with open(os.path.join(CRASHERS, "normalize-gmime-3.2.13-rfc2231-fold-loop.eml"), "rb") as f:
        return f.read()


@case("gmime-made-up-boundary", "passthrough",
      "fixtures/crashers: a multipart without boundary whose Content-Type GMime re-encodes slowly")
def _():
    with open(os.path.join(CRASHERS, "normalize-gmime-get-boundary-reencodes-8bit-param-name.eml"), "rb") as f:
        return f.read()


# ---- running ----------------------------------------------------------------------------------

def selected(patterns):
    if not patterns:
        return CASES
    return [c for c in CASES if any(fnmatch.fnmatch(c.name, p) or p in c.name for p in patterns)]


def generate(directory, patterns=()):
    """Writes every selected case to DIRECTORY/NAME.eml; returns [(case, path)]."""
    os.makedirs(directory, exist_ok=True)
    out = []
    for c in selected(patterns):
        path = os.path.join(directory, c.name + ".eml")
        with open(path, "wb") as f:
            f.write(c.build())
        out.append((c, path))
    return out


def limit_memory():
    # a runaway is stopped long before it takes the machine; ASan needs its address space
    if SLOWDOWN == 1 and not os.environ.get("MIMEUTF8_HOSTILE_NO_RLIMIT"):
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


# GNU time measures the command from a small process: a child forked from this script would
# start from this script's resident size, which Linux counts in the child's ru_maxrss
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run_tool(argv, stdin_path=None, stdout_path=None):
    """Runs argv, stdin fed through a pipe from stdin_path.  Returns (exit code or -signal,
    seconds, peak RSS in MB, stderr bytes, hung)."""
    stdout = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    errf = tempfile.TemporaryFile()
    rss_file = tempfile.NamedTemporaryFile(prefix="mimeutf8-rss-", delete=False)
    rss_file.close()
    wrapped = [GNU_TIME, "-q", "-f", "%M", "-o", rss_file.name] + argv if GNU_TIME else argv
    start = time.monotonic()
    proc = subprocess.Popen(wrapped, stdin=subprocess.PIPE if stdin_path else subprocess.DEVNULL,
                            stdout=stdout, stderr=errf, preexec_fn=limit_memory, start_new_session=True)

    def feed():
        try:
            with open(stdin_path, "rb") as f:
                while True:
                    chunk = f.read(1 << 20)
                    if not chunk:
                        break
                    proc.stdin.write(chunk)
        except (BrokenPipeError, OSError):
            pass
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass

    def kill():
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    feeder = None
    if stdin_path:
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
    timer = threading.Timer(HARD_TIMEOUT, kill)
    timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    hung = not timer.is_alive()
    timer.cancel()
    code = os.waitstatus_to_exitcode(status)
    if feeder:
        feeder.join()
    if stdout_path:
        stdout.close()
    errf.seek(0)
    err = errf.read()
    errf.close()
    rss = usage.ru_maxrss / 1024.0
    if GNU_TIME:
        with open(rss_file.name, "rb") as f:
            lines = f.read().decode("ascii", "replace").split()
        if lines and lines[-1].isdigit():
            rss = int(lines[-1]) / 1024.0
        # GNU time exits 128+N for a command killed by signal N
        if code > 128:
            code = -(code - 128)
    os.unlink(rss_file.name)
    return code, elapsed, rss, err, hung


def payload_text(part):
    payload = part.get_payload()
    if isinstance(payload, list):
        payload = payload[0].get_payload() if payload and not payload[0].is_multipart() else ""
    return payload.encode("ascii", "surrogateescape") if isinstance(payload, str) else b""


def inner_message(part, depth):
    """The message a message/rfc822 part sent base64 or quoted-printable (which RFC 2046 forbids)
    holds, decoded as the library opens it; None for any other part."""
    cte = str(part.get("content-transfer-encoding", "")).strip().lower()
    if part.get_content_type() not in ("message/rfc822", "message/global") or \
            cte not in ("base64", "quoted-printable") or depth >= 16:
        return None
    raw = payload_text(part)
    try:
        inner = base64.b64decode(b"".join(raw.split()), validate=False) if cte == "base64" \
            else quopri.decodestring(raw)
    except (ValueError, binascii.Error):
        return None
    return email.message_from_bytes(inner, policy=email.policy.compat32)


def part_texts(message, depth=0):
    """[(label, text or None)] for each text part, in order: the content decoded from its
    transfer encoding, then strictly from its label (None when it does not decode)."""
    out = []
    for part in message.walk():
        inner = inner_message(part, depth)
        if inner is not None:
            out += part_texts(inner, depth + 1)
        elif part.get_content_maintype() == "text" and not part.is_multipart():
            label = part.get_content_charset() or "us-ascii"
            data = part.get_payload(decode=True) or b""
            try:
                out.append((label, data.decode(label, "strict")))
            except (LookupError, UnicodeDecodeError):
                out.append((label, None))
    return out


def text_problems(got, want):
    """The text parts read back against the case's known texts."""
    if len(got) != len(want):
        return ["%d text parts, expected %d" % (len(got), len(want))]
    problems = []
    for i, ((label, text), expected) in enumerate(zip(got, want)):
        if expected is None:
            continue
        if text is None:
            problems.append("text part %d does not decode as its label %r" % (i + 1, label))
        elif not expected.isascii() and label.lower() not in ("utf-8", "utf8"):
            problems.append("text part %d is labelled %r, not utf-8" % (i + 1, label))
        elif text != expected:
            at = next((j for j, (a, b) in enumerate(zip(text, expected)) if a != b), min(len(text), len(expected)))
            problems.append("text part %d at character %d: %r, expected %r"
                            % (i + 1, at, text[max(0, at - 10):at + 20], expected[max(0, at - 10):at + 20]))
        if len(problems) >= 3:
            break
    return problems


def census(message, out, depth=0):
    """Field names (lower case) over every header block, the ones whose value holds a NUL or a
    CR or LF that is not folding, and the text parts labelled utf-8 that are not valid UTF-8
    without NUL.  A message/rfc822 sent base64 or quoted-printable (which RFC 2046 forbids) is
    decoded and counted as the message it holds, as the library opens it."""
    names, bad, bad_utf8 = out
    for part in message.walk():
        for name, value in part._headers:
            key = name.lower().strip()
            names[key] += 1
            v = value if isinstance(value, str) else str(value)
            if "\x00" in v or "\r" in v.replace("\r\n", "\n") or any(
                    v[i + 1:i + 2] not in (" ", "\t") for i, ch in enumerate(v) if ch == "\n" and i + 1 < len(v)):
                bad[key] += 1
        inner = inner_message(part, depth)
        if inner is not None:
            census(inner, out, depth + 1)
        elif part.get_content_maintype() == "text" and not part.is_multipart():
            if (part.get_content_charset() or "").lower() not in ("utf-8", "utf8"):
                continue
            payload = part.get_payload(decode=True) or b""
            try:
                if "\x00" in payload.decode("utf-8"):
                    bad_utf8.append("NUL")
            except UnicodeDecodeError as e:
                bad_utf8.append("invalid UTF-8 at %d" % e.start)


def invariants(data_in, data_out, report, texts=None):
    """What a normalized message must satisfy, with the text of each text part when `texts` is
    known; returns a list of problems."""
    problems = []
    result = {}

    def parse():
        try:
            for key, data in (("in", data_in), ("out", data_out)):
                result[key] = (collections.Counter(), collections.Counter(), [])
                message = email.message_from_bytes(data, policy=email.policy.compat32)
                census(message, result[key])
            if texts is not None:
                result["texts"] = part_texts(message)
        except Exception as e:  # noqa: BLE001 - any parser failure is the finding
            result["error"] = "%s: %s" % (type(e).__name__, str(e)[:200])

    # deep messages make Python's parser recurse: give it room
    sys.setrecursionlimit(200000)
    threading.stack_size(512 << 20)
    t = threading.Thread(target=parse)
    t.start()
    t.join()
    threading.stack_size(0)
    if "error" in result:
        return ["Python's email package cannot parse the output: " + result["error"]]
    left_alone = sum(1 for p in report.get("parts", []) if p.get("action") == "left-alone"
                     and p.get("type", "").startswith("text/"))
    names_in, bad_in, _ = result["in"]
    names_out, bad_out, bad_utf8 = result["out"]
    if len(bad_utf8) > left_alone:
        problems.append("text parts labelled utf-8 with %s" % ", ".join(bad_utf8[:3]))
    if texts is not None:
        problems += text_problems(result["texts"], texts)
    try:
        problems += integrity.integrity_problems(data_in, data_out)
    except RecursionError:
        pass  # deep nesting: census above has read the message in a thread with a larger stack
    gained = {n: names_out[n] - names_in[n] for n in names_out
              if names_out[n] > names_in[n] and n not in MAY_ADD}
    if gained:
        problems.append("header fields the input did not have: %s" % dict(list(gained.items())[:5]))
    newly_bad = {n: bad_out[n] for n in bad_out if bad_out[n] > bad_in[n]}
    if newly_bad:
        problems.append("headers that gained a CR, LF or NUL: %s" % sorted(newly_bad)[:5])
    return problems


def no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError("duplicate keys %s in one object (injected?)" % dup)
    return dict(pairs)


def read_report(path):
    """The last report line, or {"invalid": why} when it is not one JSON object per line."""
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "strict").split("\n")
        if len(lines) != 2 or lines[1] != "":
            return {"invalid": "the report is not one line: %d newlines" % (len(lines) - 1)}
        return json.loads(lines[0], object_pairs_hook=no_duplicate_keys)
    except (OSError, ValueError) as e:
        return {"invalid": "the report line is not valid JSON: %s" % e}


def not_utf8_parts(report, what):
    """The project's invariant (corpus.py real): in a message that needs nothing more, every
    text part is already UTF-8 or was left alone, with its reason."""
    bad = ["%s %s (declared %r)" % (p.get("path"), p.get("action"), p.get("declared"))
           for p in report.get("parts", []) if str(p.get("type", "")).startswith("text/")
           and not (p.get("action") == "already-utf8" or (p.get("action") == "left-alone" and p.get("reason")))]
    return ["%s: %s" % (what, ", ".join(bad[:3]))] if bad else []


def check_run(what, code, elapsed, rss, err, hung):
    problems = []
    if hung:
        problems.append("%s hung: killed after %.0f s" % (what, HARD_TIMEOUT))
    elif code != 0:
        problems.append("%s exited %d%s" % (what, code, ": " + err.decode("utf-8", "replace")[:200].strip() if err else ""))
    if elapsed > TIME_LIMIT and not hung:
        problems.append("%s took %.2f s (limit %.1f)" % (what, elapsed, TIME_LIMIT))
    if rss > RSS_LIMIT_MB:
        problems.append("%s peak RSS %.0f MB (limit %.0f)" % (what, rss, RSS_LIMIT_MB))
    return problems


def run_case(tool, c, path, work):
    """Runs one case through the filter; returns (problems, line, output path or None)."""
    out, report = os.path.join(work, c.name + ".out"), os.path.join(work, c.name + ".report")
    code, elapsed, rss, err, hung = run_tool([tool] + TOOL_ARGS + ["--report=" + report], path, out)
    problems = check_run("filter", code, elapsed, rss, err, hung)
    rep = read_report(report) if code == 0 else {}
    if "invalid" in rep:
        problems.append(rep["invalid"])
    status = rep.get("status", "-")
    reason = rep.get("reason")
    if code == 0 and not hung:
        with open(path, "rb") as f:
            data_in = f.read()
        with open(out, "rb") as f:
            data_out = f.read()
        if data_out == data_in:
            if status == "normalized":
                problems.append("report says normalized but the output is the input")
            if status == "unchanged":
                problems += not_utf8_parts(rep, "unchanged, yet text parts are not UTF-8")
        else:
            if status != "normalized" and "invalid" not in rep:
                problems.append("status %s but the output differs from the input" % status)
            if not data_out:
                problems.append("empty output for a non-empty input")
            problems += invariants(data_in, data_out, rep, c.texts)
            again, report2 = out + ".again", report + ".again"
            code2, elapsed2, rss2, err2, hung2 = run_tool([tool] + TOOL_ARGS + ["--report=" + report2], out, again)
            problems += check_run("second run", code2, elapsed2, rss2, err2, hung2)
            if code2 == 0 and not hung2:
                rep2 = read_report(report2)
                with open(again, "rb") as f:
                    if f.read() != data_out:
                        problems.append("not idempotent: a second run changed the output (%s)"
                                        % rep2.get("status"))
                problems += not_utf8_parts(rep2, "after normalization, text parts are still not UTF-8")
            for p in (again, report2):
                if os.path.exists(p):
                    os.unlink(p)
        if c.expect == "passthrough" and (status != "passthrough" or not reason):
            problems.append("expected passthrough with a reason (a limit), got %s" % status)
        elif c.expect in ("normalized", "unchanged") and status != c.expect:
            problems.append("expected %s, got %s%s" % (c.expect, status, " (%s)" % reason if reason else ""))
    size = os.path.getsize(path)
    line = "%-4s %-32s %9s %6.2fs %6.1fMB  %s%s" % (
        "ok" if not problems else "FAIL", c.name, human(size), elapsed, rss, status,
        " (%s)" % reason if reason else "")
    for p in problems:
        line += "\n       - " + p
    return problems, line, out if code == 0 and not hung else None


def human(n):
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return "%d%s" % (n, unit)
        n //= 1024
    return "%dGB" % n


def run_batch(tool, cases, work, filter_outputs):
    """Every case through one -o batch process; each output must be the filter's."""
    outdir = os.path.join(work, "batch")
    report = os.path.join(work, "batch.report")
    code, elapsed, rss, err, hung = run_tool([tool] + TOOL_ARGS + ["-o", outdir, "--report=" + report] +
                                             [p for _, p in cases])
    problems = []
    if hung:
        problems.append("batch run hung: killed after %.0f s" % HARD_TIMEOUT)
    elif code != 0:
        problems.append("batch run exited %d: %s" % (code, err.decode("utf-8", "replace")[:300].strip()))
    if elapsed > TIME_LIMIT * len(cases):
        problems.append("batch run took %.1f s for %d messages" % (elapsed, len(cases)))
    if rss > RSS_LIMIT_MB:
        problems.append("batch run peak RSS %.0f MB (limit %.0f)" % (rss, RSS_LIMIT_MB))
    differ, missing = [], []
    for c, path in cases:
        got = os.path.join(outdir, os.path.basename(path))
        if not os.path.exists(got):
            missing.append(c.name)
            continue
        if filter_outputs.get(c.name) is None:
            continue
        with open(got, "rb") as a, open(filter_outputs[c.name], "rb") as b:
            if a.read() != b.read():
                differ.append(c.name)
    if missing and not hung:
        problems.append("no batch output for %s" % ", ".join(missing[:8]))
    if differ:
        problems.append("batch output differs from the filter's for %s" % ", ".join(differ[:8]))
    print("%-4s %-32s %9s %6.2fs %6.1fMB  %d messages in one process" % (
        "ok" if not problems else "FAIL", "(-o batch mode)", "", elapsed, rss, len(cases)))
    for p in problems:
        print("       - " + p)
    return problems


def main():
    args = sys.argv[1:]
    patterns = []
    while "--only" in args:
        i = args.index("--only")
        patterns.append(args[i + 1])
        del args[i:i + 2]
    if args and args[0] == "--list":
        for c in CASES:
            print("%-32s %-12s %s" % (c.name, c.expect or "", c.note))
        return 0
    if args and args[0] == "--generate":
        for c, path in generate(args[1], patterns):
            print(path)
        return 0
    batch = "--no-batch" not in args
    args = [a for a in args if a != "--no-batch"]
    keep = None
    if "--keep" in args:
        i = args.index("--keep")
        keep = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        sys.exit(__doc__)
    tool = os.path.abspath(args[0])
    work = keep or tempfile.mkdtemp(prefix="mimeutf8-hostile-")
    os.makedirs(work, exist_ok=True)
    passed = failed = 0
    try:
        started = time.monotonic()
        cases = generate(os.path.join(work, "in"), patterns)
        print("generated %d hostile messages in %.1f s (limits: %.1f s, %.0f MB)"
              % (len(cases), time.monotonic() - started, TIME_LIMIT, RSS_LIMIT_MB))
        outputs = {}
        for c, path in cases:
            problems, line, out = run_case(tool, c, path, work)
            print(line, flush=True)
            outputs[c.name] = out
            if problems:
                failed += 1
            else:
                passed += 1
        if batch and cases:
            if run_batch(tool, cases, work, outputs):
                failed += 1
            else:
                passed += 1
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    # SIGPIPE stays ignored (Python's default): a child that exits before it has read all of its
    # input must give the feeder a BrokenPipeError, not kill this script; the children get the
    # default action back from subprocess (restore_signals)
    sys.exit(main())
