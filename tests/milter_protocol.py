#!/usr/bin/env python3
"""Direct milter-protocol tests of mimeutf8-milter for the cases that are awkward through Postfix:
repeated header fields, folded fields, a body in many small chunks, an empty body, 8-bit header
bytes, a message past the spool threshold, an MTA that offers no "no reply" steps and no leading
space, an MTA that allows no edits or offers no macros; --report and --trace-header.

  milter_protocol.py MILTER MIMEUTF8

This script is the MTA: it speaks milter protocol 6 to the milter, applies the edits it gets back
the way Postfix's cleanup does (smfi_chgheader's index counts fields of that name from 1,
smfi_insheader's counts Postfix's own Received: field, which the milter never sees), and checks
that the edited message is byte for byte what `mimeutf8 < message` writes.  A message that needs
nothing must get no edit at all.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import postfix_instance as pi  # noqa: E402

SMFIF_ALL = 0x1FF  # every action libmilter 8.17 knows
SMFIP_NR_ALL = 0x1FF000 | 0x80 | 0x7F | 0x300 | 0x400  # NO*, NR_*, LEADSPC, SKIP: all offered
SMFIP_NONE = 0x7F | 0x300  # the NO* steps only: no "no reply", no leading space
SMFIP_NR_HDR, SMFIP_NR_BODY, SMFIP_HDR_LEADSPC = 0x80, 0x80000, 0x100000


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


class Session:
    def __init__(self, port, steps=SMFIP_NR_ALL, actions=SMFIF_ALL):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.send(b"O", struct.pack(">III", 6, actions, steps))
        cmd, data = self.read()
        if cmd != b"O":
            fail("negotiation answered %r" % cmd)
        self.version, self.actions, self.steps = struct.unpack(">III", data[:12])
        self.symlist = data[12:]

    def send(self, cmd, data=b""):
        self.sock.sendall(struct.pack(">I", len(data) + 1) + cmd + data)

    def read(self):
        head = self.recv(4)
        n = struct.unpack(">I", head)[0]
        body = self.recv(n)
        return body[:1], body[1:]

    def recv(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                fail("the milter closed the connection")
            out += chunk
        return out

    def expect_continue(self, what):
        cmd, _ = self.read()
        if cmd != b"c":
            fail("%s: the milter answered %r, not continue" % (what, cmd))

    def message(self, fields, body, chunk=65535, queue_id=b"QID1"):
        """Sends one message (with the queue id macro unless queue_id is None); returns the edits
        and the final reply."""
        leadspc = self.steps & SMFIP_HDR_LEADSPC
        for name, value in fields:
            if not leadspc and value.startswith(b" "):
                value = value[1:]
            self.send(b"L", name + b"\0" + value + b"\0")
            if not self.steps & SMFIP_NR_HDR:
                self.expect_continue("header")
        for i in range(0, len(body), chunk):
            self.send(b"B", body[i:i + chunk])
            if not self.steps & SMFIP_NR_BODY:
                self.expect_continue("body chunk")
        if queue_id is not None:
            self.send(b"D", b"E" + b"i\0" + queue_id + b"\0")
        self.send(b"E")
        edits = []
        while True:
            cmd, data = self.read()
            if cmd in (b"c", b"a", b"t", b"r", b"d"):
                return edits, cmd
            edits.append((cmd, data))

    def close(self):
        self.send(b"Q")
        self.sock.close()


def apply(fields, body, edits, leadspc):
    """The message after the edits, as Postfix writes it (less its Received: field).  Without
    the leading space negotiated, the MTA puts one space before each value it is given."""
    fields = list(fields)
    space = b"" if leadspc else b" "
    new_body = None
    body_ended = False
    for cmd, data in edits:
        # Postfix ends a body replacement at the first other request and refuses one that
        # resumes after it (milter8.c: "body replacement requests can't currently be mixed")
        if cmd == b"b" and body_ended:
            fail("a body replacement resumed after another request")
        if cmd != b"b" and new_body is not None:
            body_ended = True
        if cmd == b"p":
            continue
        if cmd == b"m":
            index = struct.unpack(">I", data[:4])[0]
            name, value = data[4:].split(b"\0")[:2]
            same = [k for k, (n, _) in enumerate(fields) if n.lower() == name.lower()]
            if index > len(same):
                fields.append((name, space + value))
            elif value == b"":
                del fields[same[index - 1]]
            else:
                fields[same[index - 1]] = (fields[same[index - 1]][0], space + value)
        elif cmd == b"i":
            index = struct.unpack(">I", data[:4])[0]
            name, value = data[4:].split(b"\0")[:2]
            # Postfix: position index + 1 counting its own Received: first
            fields.insert(max(index - 1, 0), (name, space + value))
        elif cmd == b"h":
            name, value = data.split(b"\0")[:2]
            fields.append((name, space + value))
        elif cmd == b"b":
            new_body = (new_body or b"") + data
        else:
            fail("unexpected edit %r" % cmd)
    out = b""
    for name, value in fields:
        out += name + b":" + value.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n"
    return out + b"\r\n" + (body if new_body is None else new_body)


def is_mime_field(name):
    name = name.lower()
    return name.startswith(b"content-") or name == b"mime-version"


def order_fault(edits):
    """What is unsafe in the order of a message's edits, or None.  The MTA applies each edit as
    it arrives and, under milter_default_action = accept, keeps those it has when the milter
    dies: a new body comes first and is ended at once by the next packet (a Postfix before
    3.12-20260821 commits a body replacement left open), and the MIME fields' edits come right
    after it (until then the new body is under the old label)."""
    kinds = [cmd for cmd, _ in edits]
    if b"b" not in kinds:
        return None
    if kinds[0] != b"b":
        return "the new body is not the first edit"
    rest = [(cmd, data) for cmd, data in edits if cmd != b"b"]
    if not rest:
        return "the new body is left open until the final reply"
    mime = [is_mime_field((data if cmd == b"h" else data[4:]).split(b"\0")[0])
            for cmd, data in rest if cmd in (b"m", b"h", b"i")]
    if True in mime and False in mime[:len(mime) - mime[::-1].index(True)]:
        return "another field's edit before a MIME field's"
    return None


def split(message):
    """Header fields (name, value with its leading space, LF inside) and body of a CRLF message."""
    head, body = message.split(b"\r\n\r\n", 1) if not message.startswith(b"\r\n") else (b"", message[2:])
    fields = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            name, value = fields[-1]
            fields[-1] = (name, value + b"\n" + line)
        else:
            name, value = line.split(b":", 1)
            fields.append((name, value))
    return fields, body


def normalized(mimeutf8, message):
    return subprocess.run([mimeutf8], input=message, capture_output=True, check=True).stdout


CASES = [
    ("repeated fields: the second of two X-Test is rewritten (index 2)",
     b"X-Test: plain\r\nFrom: a@example.com\r\nX-Test: =?iso-8859-1?q?caf=E9?=\r\n"
     b"Subject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n", {}),
    ("a folded Subject over three lines",
     b"From: a@example.com\r\nSubject: =?iso-8859-1?q?caf=E9?=\r\n =?iso-8859-1?q?_cr=E8me?=\r\n\tbr=FBl=E9e\r\n"
     b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\ncr\xe8me br\xfbl\xe9e\r\n", {}),
    ("a body in 7-byte chunks",
     b"From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
     b"Content-Transfer-Encoding: 8bit\r\n\r\n" + b"D\xe9j\xe0 vu, na\xefve fa\xe7ade.\r\n" * 40, {"chunk": 7}),
    ("an empty body",
     b"From: a@example.com\r\nSubject: =?iso-8859-1?q?caf=E9?=\r\n\r\n", {}),
    ("8-bit header bytes (raw latin-1 in Subject and a display name)",
     b"From: Ren\xe9 <r@example.com>\r\nSubject: caf\xe9 cr\xe8me\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf\xe9\r\n", {}),
    ("no MIME-Version nor Content-Type: both added, in order, after the last field",
     b"From: a@example.com\r\nSubject: plain\r\n\r\ncaf\xc3\xa9\r\n", {}),
    ("a message past the 2 MiB spool threshold",
     b"From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n"
     + b"caf\xe9 cr\xe8me br\xfbl\xe9e\r\n" * 150000, {}),
    ("an MTA that offers no 'no reply' steps and no leading space",
     b"From: a@example.com\r\nSubject:  =?iso-8859-1?q?caf=E9?=\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf\xe9\r\n", {"steps": SMFIP_NONE}),
    ("only the body changes (a multipart): the new body is ended at once, not by the final reply",
     b"From: a@example.com\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n"
     b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf\xe9\r\n--b1--\r\n", {}),
    ("no Content-Type, raw 8-bit Subject and body: the body, then the MIME fields, then Subject",
     b"From: a@example.com\r\nMIME-Version: 1.0\r\nSubject: caf\xe9\r\nX-Last: 1\r\n\r\ncaf\xe9\r\n", {}),
    ("a message that needs nothing gets no edit",
     b"From: a@example.com\r\nSubject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
     b"caf\xc3\xa9\r\n", {"unchanged": True}),
]


def check_command_line(milter):
    """Bad command lines end at once with their exit code and a message, before any socket is
    listened on: usage errors 64, an unwritable report or socket 74."""
    for args, code, said in (([], 64, b"-p SOCKET is required"),
                             (["-p", "inet:1@127.0.0.1", "extra"], 64, b"unexpected argument 'extra'"),
                             (["-p", "inet:1@127.0.0.1", "--max-parts=x"], 64, b"bad value for --max-parts"),
                             (["-p", "inet:1@127.0.0.1", "--bogus"], 64, b"--help"),
                             (["-p", "inet:1@127.0.0.1", "--report=/proc/no/such"], 74, b"/proc/no/such: "),
                             (["-p", "unix:/proc/no/such/sock"], 74, b"cannot listen on")):
        r = subprocess.run([milter] + args, capture_output=True, timeout=30)
        if r.returncode != code or said not in r.stderr:
            fail("%s: exit %d, %r (want %d and %r)" % (args, r.returncode, r.stderr, code, said))
    print("ok: bad command lines")


SMFIF_ADDHDRS, SMFIF_CHGBODY, SMFIF_CHGHDRS, SMFIF_SETSYMLIST = 0x01, 0x02, 0x10, 0x100


def check_negotiation(port, mimeutf8, m):
    """An MTA that does not allow header and body changes is refused (the connection closed, the
    reason logged); one that cannot be asked for macros still gets its message normalized."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(struct.pack(">I", 13) + b"O" + struct.pack(">III", 6, SMFIF_ADDHDRS | SMFIF_CHGHDRS, SMFIP_NR_ALL))
    try:
        answer = sock.recv(64)
    except ConnectionResetError:
        answer = b""
    sock.close()
    if answer != b"":
        fail("an MTA that allows no body change: the milter answered %r, not a closed connection" % answer)
    deadline = time.time() + 10
    while "does not allow header and body changes" not in m.read_log() and time.time() < deadline:
        time.sleep(0.05)
    if "does not allow header and body changes" not in m.read_log():
        fail("the refused negotiation is not logged:\n%s" % m.read_log()[-500:])
    message = (b"From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
               b"\r\ncaf\xe9\r\n")
    s = Session(port, actions=SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY)
    if s.symlist or s.actions & SMFIF_SETSYMLIST:
        fail("the milter asked for macros the MTA does not offer: %r 0x%x" % (s.symlist, s.actions))
    fields, body = split(message)
    edits, reply = s.message(fields, body, queue_id=None)
    s.close()
    if reply != b"c" or apply(fields, body, edits, bool(s.steps & SMFIP_HDR_LEADSPC)) != normalized(mimeutf8, message):
        fail("an MTA without macros: reply %r, edits %r" % (reply, edits))
    print("ok: negotiation: no body change allowed, refused; no macros offered, normalized")


def check_report_and_trace(milter, mimeutf8, work):
    """--report and --trace-header: one JSON line per message with its queue id (NOQUEUE without
    the macro) and its Message-ID, quotes, backslashes and control bytes escaped; an X-Mimeutf8
    field saying what was done, added to every message."""
    report = os.path.join(work, "report.jsonl")
    m = pi.Milter(milter, work, args=["--report=" + report, "--trace-header"])
    m.start()
    try:
        odd_id = b'<a"b\\c\x01d\x7fe@example.com>'
        converted = (b"From: a@example.com\r\nMessage-ID: " + odd_id + b"\r\nMIME-Version: 1.0\r\n"
                     b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf\xe9\r\n")
        unchanged = b"From: a@example.com\r\nSubject: hi\r\n\r\nplain\r\n"
        for message, queue_id, trace in ((converted, b"QID7", b"normalized; converted=1"),
                                         (unchanged, None, b"unchanged")):
            for steps in (SMFIP_NR_ALL, SMFIP_NONE):
                s = Session(m.port, steps)
                fields, body = split(message)
                edits, reply = s.message(fields, body, queue_id=queue_id)
                s.close()
                leadspc = bool(s.steps & SMFIP_HDR_LEADSPC)
                want_fields, want_body = split(normalized(mimeutf8, message))
                want = apply(want_fields + [(b"X-Mimeutf8", b" " + trace)], want_body, [], True)
                got = apply(fields, body, edits, leadspc)
                if reply != b"c" or got != want:
                    fail("--trace-header: reply %r, got %r, want %r" % (reply, got, want))
        with open(report, "rb") as f:
            lines = f.read().decode("utf-8").splitlines()
        if len(lines) != 4:
            fail("--report: %d lines for 4 messages" % len(lines))
        records = [json.loads(line) for line in lines]
        want = [("QID7", odd_id.decode("latin-1"), "normalized")] * 2 + [("NOQUEUE", None, "unchanged")] * 2
        got = [(r.get("queue_id"), r.get("message_id"), r.get("status")) for r in records]
        if got != want:
            fail("--report: %r, want %r" % (got, want))
    finally:
        # a clean stop, which also writes the counts of a coverage build
        code = m.kill(signal.SIGTERM)
        shutil.rmtree(work, ignore_errors=True)
    if code != 0:
        fail("the milter stopped by SIGTERM exited %s" % code)
    print("ok: --report (queue id, escaped Message-ID) and --trace-header")


def main():
    milter, mimeutf8 = sys.argv[1:3]
    check_command_line(milter)
    work = tempfile.mkdtemp(prefix="mimeutf8-milter-protocol-")
    m = pi.Milter(milter, work)
    m.start()
    failed = 0
    try:
        check_negotiation(m.port, mimeutf8, m)
        for label, message, opts in CASES:
            steps = opts.get("steps", SMFIP_NR_ALL)
            s = Session(m.port, steps)
            wanted = SMFIP_NR_HDR | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC
            if steps == SMFIP_NR_ALL and s.steps & wanted != wanted:
                fail("the milter did not ask for NR_HDR, NR_BODY and HDR_LEADSPC: 0x%x" % s.steps)
            if s.steps & ~steps:
                fail("the milter asked for steps the MTA did not offer: 0x%x" % (s.steps & ~steps))
            if b"i" not in s.symlist:
                fail("the milter did not ask for the queue id macro: %r" % s.symlist)
            fields, body = split(message)
            edits, reply = s.message(fields, body, opts.get("chunk", 65535))
            s.close()
            leadspc = bool(s.steps & SMFIP_HDR_LEADSPC)
            got = apply(fields, body, edits, leadspc)
            want = normalized(mimeutf8, message)
            kinds = sorted({e[0].decode() for e in edits})
            if reply != b"c":
                print("FAIL: %s: final reply %r" % (label, reply))
                failed += 1
            elif opts.get("unchanged") and edits:
                print("FAIL: %s: %d edits for a message that needs none" % (label, len(edits)))
                failed += 1
            elif order_fault(edits):
                print("FAIL: %s: edits in an unsafe order: %s; edits %r"
                      % (label, order_fault(edits), [(c, d[:40]) for c, d in edits]))
                failed += 1
            elif got != want:
                at = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]), min(len(got), len(want)))
                print("FAIL: %s: edited message differs at byte %d:\n  got  %r\n  want %r\n  edits %r"
                      % (label, at, got[max(0, at - 60):at + 60], want[max(0, at - 60):at + 60],
                         [(c, d[:80]) for c, d in edits]))
                failed += 1
            else:
                print("ok: %s (%d edits: %s)" % (label, len(edits), ",".join(kinds)))
    finally:
        code = m.kill(signal.SIGTERM)
    if code != 0:
        fail("the milter stopped by SIGTERM exited %s; log:\n%s" % (code, m.read_log()[-2000:]))
    if failed:
        print("milter log:\n" + m.read_log()[-2000:])
        fail("%d of %d protocol cases failed" % (failed, len(CASES)))
    print("%d protocol cases passed" % len(CASES))
    check_report_and_trace(milter, mimeutf8, tempfile.mkdtemp(prefix="mimeutf8-milter-report-"))


if __name__ == "__main__":
    main()
