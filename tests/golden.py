#!/usr/bin/env python3
"""The golden files read by an independent reader: fixtures/expected/ is the tool's own output, and
tests/cli.py only compares bytes with it, so a wrong expected file would hide a bug.  This test
reads every pair (fixtures/messages/NAME.eml, fixtures/expected/NAME.eml) with Python's `email`
package and codecs, never GMime, and checks:

- the same MIME structure (content types, in walk order);
- every text part of the expected file outside signed content says utf-8 (or us-ascii or nothing
  over pure ASCII) and its transfer-decoded bytes decode strictly as UTF-8, without NUL;
- where the input part decodes strictly (valid UTF-8 wins over a legacy label, as the README's
  rules say; else the label through Python's codec of the charset the README maps it to), the
  expected text is that text, with line ends, a byte-order mark, NUL (U+FFFD; a run of NULs that
  ends the text, before its last line breaks, is padding and dropped) and the HTML
  <meta> charset (utf-8) as the README says they change;
- the Subject and the display names of From/To/Cc decode (RFC 2047, strict codecs) to the same
  text in both, where the input's decode.

A text part that comes out byte for byte as it went in (headers and body) was left alone, and the
report says why (tests/cli.py checks the reasons): it is not judged.  A base64 body is read as the
README says (its base64 run, then any plain lines after it as text); the text inside a
message/rfc822 sent base64 or quoted-printable, which comes out decoded, is not compared.

  golden.py FIXTURES_DIR
"""
import base64
import email
import email.header
import email.policy
import os
import re
import sys

FIXTURES = sys.argv[1]

# The README's label table maps these labels to supersets; Python's own names for those.
SUPERSET = {
    "iso-8859-1": "windows-1252", "latin1": "windows-1252", "us-ascii": "windows-1252",
    "ascii": "windows-1252", "iso-8859-9": "windows-1254", "shift_jis": "cp932",
    "x-sjis": "cp932", "euc-kr": "cp949", "ks_c_5601-1987": "cp949", "gb2312": "gb18030",
    "gbk": "gb18030", "big5": "big5hkscs", "tis-620": "cp874", "iso-2022-jp": "iso2022_jp_2",
}
SIGNED = ("multipart/signed", "multipart/encrypted", "application/pkcs7-mime")
# Fixtures the library leaves alone by design, with why: their expected file must be the input,
# byte for byte.
LEFT_ALONE = {
    "param-charset-quoted-then-junk.eml": "text after a quoted charset value where a ';' belongs "
                                    "(malformed Content-Type)",
    "content-type-twice.eml": "Content-Type given twice: a rewrite of one leaves the other "
                              "(malformed header block: a header given twice)",
    "transfer-encoding-twice.eml": "Content-Transfer-Encoding given twice, and the part would "
                                   "become 8bit (malformed header block: a header given twice)",
    "param-charset-no-semicolon.eml": "a parameter after the charset value without a ';' "
                                      "(malformed Content-Type)",
    "param-charset-unquoted-then-quoted.eml": "quoted text after an unquoted charset value "
                                              "(malformed Content-Type)",
}


def whatwg_single_byte(data, codec):
    """Decodes like WHATWG's windows-125x: the bytes the code page leaves unassigned are C1."""
    out = []
    for b in data:
        try:
            out.append(bytes([b]).decode(codec))
        except UnicodeDecodeError:
            out.append(chr(b))
    return "".join(out)


def decode_strict(data, label):
    """The text of bytes under a label, as the README's rules read it, or None."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
        if not data.isascii() or label is None:
            return text
    except UnicodeDecodeError:
        pass
    if label is None:
        return None
    codec = SUPERSET.get(label.lower(), label.lower())
    try:
        if codec.startswith("windows-125"):
            return whatwg_single_byte(data, codec)
        return data.decode(codec)
    except (LookupError, UnicodeDecodeError):
        return None


def transfer_decoded(part):
    """The part's body as the README reads it: a base64 body is its run of base64 lines, then
    any plain text after the run (a list footer), on a line of its own; a body that does not
    start with base64, or whose run is 4n+1 characters, is plain text."""
    if str(part.get("content-transfer-encoding", "")).strip().lower() != "base64":
        return part.get_payload(decode=True) or b""
    raw = part._payload.encode("ascii", "surrogateescape")
    lines = raw.splitlines(keepends=True)
    run, i, gap = [], 0, None
    while i < len(lines) and not lines[i].strip():
        i += 1
    while i < len(lines):
        line = lines[i].strip()
        if not line:
            gap = i if gap is None else gap
        elif re.fullmatch(rb"[A-Za-z0-9+/]+={0,2}", line) and not (run and run[-1].endswith(b"=")):
            run.append(line)
        else:
            break
        i += 1
    start = len(lines) if i == len(lines) else gap if gap is not None else i
    if start < len(lines) and gap is not None:
        run = [l.strip() for l in lines[:gap] if l.strip()]
    data = b"".join(run)
    if not run and start < len(lines) or len(data.rstrip(b"=")) % 4 == 1:
        return raw
    text = base64.b64decode(data + b"=" * (-len(data) % 4))
    if start == len(lines):
        return text
    if text and not text.endswith(b"\n"):
        text += b"\n"
    return text + b"".join(lines[start:])


def comparable(text, html):
    text = re.sub(r"\0+([\r\n]*)$", r"\1", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    if html:
        text = re.sub(r"(?i)(charset\s*=\s*[\"']?)[\w.:-]+", r"\1", text)
    return text


def leaves(message):
    """(part, inside signed content, inside an encoded message/rfc822) for every part, in walk
    order."""
    out = []

    def walk(part, sealed, encoded=False):
        sealed = sealed or part.get_content_type() in SIGNED
        encoded = encoded or (part.get_content_type() == "message/rfc822" and str(
            part.get("content-transfer-encoding", "")).strip().lower() in ("base64", "quoted-printable"))
        out.append((part, sealed, encoded))
        if part.is_multipart():
            for sub in part.get_payload():
                walk(sub, sealed, encoded)

    walk(message, False)
    return out


def raw_header(message, field):
    """The first such field's value as parsed, before compat32 hides 8-bit bytes as U+FFFD."""
    for name, value in message._headers:
        if name.lower() == field.lower():
            return value
    return None


def header_text(value, charset=None):
    """A header's text: RFC 2047 words decoded strictly; raw 8-bit bytes (which compat32 keeps as
    surrogates) read as the README says, UTF-8 if valid, else the first text part's charset."""
    if value is None:
        return None
    value = str(value)
    if re.search("[\udc80-\udcff]", value):
        raw = value.encode("ascii", "surrogateescape")
        text = mostly_utf8(raw) or decode_strict(raw, charset)
        if text is None or "=?" not in text:
            return text
        value = text
    try:
        return str(email.header.make_header(email.header.decode_header(str(value))))
    except (LookupError, UnicodeDecodeError, email.errors.HeaderParseError):
        return None


def mostly_utf8(data):
    """UTF-8 with a few stray bytes, each one U+FFFD, as the README reads raw 8-bit headers: at
    least two valid multi-byte sequences for each invalid one; else None."""
    text = data.decode("utf-8", "replace")
    invalid = text.count("\ufffd") - data.decode("utf-8", "ignore").count("\ufffd")
    multibyte = sum(1 for c in text if c != "\ufffd" and ord(c) > 0x7F)
    return text if invalid and multibyte and invalid <= multibyte // 2 else None


def check_pair(name, raw_in, raw_out):
    problems = []
    m_in = email.message_from_bytes(raw_in, policy=email.policy.compat32)
    m_out = email.message_from_bytes(raw_out, policy=email.policy.compat32)
    p_in, p_out = leaves(m_in), leaves(m_out)
    if [p.get_content_type() for p, _, _ in p_in] != [p.get_content_type() for p, _, _ in p_out]:
        return ["structure differs: %s vs %s" % ([p.get_content_type() for p, _, _ in p_in],
                                                 [p.get_content_type() for p, _, _ in p_out])]
    compared = 0
    for i, ((a, _, encoded), (b, sealed, _)) in enumerate(zip(p_in, p_out)):
        if b.is_multipart() or b.get_content_maintype() != "text" or sealed:
            continue
        if a._headers == b._headers and a._payload == b._payload:
            continue  # left alone, byte for byte
        body = b.get_payload(decode=True) or b""
        label = (b.get_param("charset") or "").lower() or None
        if not body.isascii() and label != "utf-8":
            problems.append("part %d: 8-bit text labelled %r" % (i, label))
        try:
            text_out = body.decode("utf-8")
        except UnicodeDecodeError as e:
            problems.append("part %d: not UTF-8: %s" % (i, e))
            continue
        if "\0" in text_out:
            problems.append("part %d: NUL in the output" % i)
        if encoded:
            continue
        text_in = decode_strict(transfer_decoded(a), a.get_param("charset"))
        if text_in is None:
            continue
        html = b.get_content_subtype() == "html"
        if comparable(text_in, html) != comparable(text_out, html):
            problems.append("part %d: text differs from the input's (%r... vs %r...)"
                            % (i, comparable(text_in, html)[:60], comparable(text_out, html)[:60]))
        compared += 1
    first_text = next((p for p, _, _ in p_in if p.get_content_maintype() == "text"
                       and not p.is_multipart()), None)
    charset = first_text.get_param("charset") if first_text is not None else None
    for part_in, part_out in ((m_in, m_out),):
        for field in ("Subject", "From", "To", "Cc"):
            want = header_text(raw_header(part_in, field), charset)
            got = header_text(raw_header(part_out, field))
            if want is not None and re.sub(r"\s+", " ", want) != re.sub(r"\s+", " ", got or ""):
                problems.append("%s: %r, expected %r" % (field, got, want))
    return problems, compared


def main():
    messages = os.path.join(FIXTURES, "messages")
    expected = os.path.join(FIXTURES, "expected")
    names = sorted(n for n in os.listdir(messages) if n.endswith(".eml"))
    passed = failed = 0
    for name in names:
        path = os.path.join(expected, name)
        if not os.path.exists(path):
            print("FAILED %s: no expected file" % name)
            failed += 1
            continue
        with open(os.path.join(messages, name), "rb") as f:
            raw_in = f.read()
        with open(path, "rb") as f:
            raw_out = f.read()
        if name in LEFT_ALONE:
            if raw_out != raw_in:
                failed += 1
                print("FAILED %s: left alone by design (%s), but the expected file is not the input"
                      % (name, LEFT_ALONE[name]))
            else:
                passed += 1
                print("ok     %s (left alone: %s)" % (name, LEFT_ALONE[name]))
            continue
        result = check_pair(name, raw_in, raw_out)
        problems, compared = result if isinstance(result, tuple) else (result, 0)
        if problems:
            failed += 1
            print("FAILED %s: %s" % (name, "; ".join(problems)))
        else:
            passed += 1
            print("ok     %s (%d text parts compared with the input)" % (name, compared))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
