"""A private Postfix instance, an SMTP sink and a milter process on 127.0.0.1, for the milter tests
(tests/milter.py) and the milter benchmark (bench/milter.py).

Everything lives in one temporary folder: Postfix's config, queue and data directories, the sink's
store, the milter's log and report.  Nothing listens on anything but 127.0.0.1, and the system's
Postfix instance is never touched (every postfix command gets -c with our config directory).
The settings follow ../shared/notes/postfix-test-instance.md: with them Postfix itself changes
nothing in a message but its own Received: line.
"""
import os
import re
import shutil
import signal
import smtplib
import socket
import socketserver
import subprocess
import threading
import time

POSTFIX = "/usr/sbin/postfix"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SinkHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to take mail from Postfix's smtp client: every message is stored whole,
    dot-stuffing undone, under the local part of its first recipient."""

    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        sink = self.server.sink
        self.reply("220 sink ESMTP")
        rcpts = []
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"EHLO":
                # 8BITMIME, so that Postfix never converts 8bit to quoted-printable
                self.wfile.write(b"250-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n")
            elif verb == b"HELO":
                self.reply("250 sink")
            elif verb == b"MAIL":
                rcpts = []
                self.reply("250 ok")
            elif verb == b"RCPT":
                m = re.search(rb"<([^@>]*)", line)
                rcpts.append(m.group(1).decode() if m else "unknown")
                self.reply("250 ok")
            elif verb == b"DATA":
                self.reply("354 go")
                chunks = []
                while True:
                    data = self.rfile.readline()
                    if not data:
                        return
                    if data == b".\r\n":
                        break
                    chunks.append(data[1:] if data.startswith(b".") else data)
                sink.store(rcpts[0] if rcpts else "unknown", b"".join(chunks))
                self.reply("250 stored")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class Sink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, store_dir):
        self.store_dir = store_dir
        self.lock = threading.Lock()
        self.count = 0
        os.makedirs(store_dir, exist_ok=True)
        super().__init__(("127.0.0.1", 0), SinkHandler)
        self.sink = self
        self.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def store(self, name, data):
        with self.lock:
            path = os.path.join(self.store_dir, name)
            # a second delivery of one message would be a duplicate: keep both, visibly
            while os.path.exists(path):
                path += ".dup"
            with open(path, "wb") as f:
                f.write(data)
            self.count += 1

    def stop(self):
        self.shutdown()
        self.server_close()


MAIN_CF = """\
compatibility_level = 3.6
config_directory = {etc}
queue_directory = {spool}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = mimeutf8-test.localdomain
mydomain = localdomain
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:{sink_port}
smtp_host_lookup = native
smtp_dns_support_level = disabled
message_drop_headers =
local_header_rewrite_clients =
always_add_missing_headers = no
smtp_line_length_limit = 0
disable_mime_output_conversion = yes
in_flow_delay = 0
message_size_limit = 104857600
header_size_limit = 4194304
smtpd_milters = {milters}
milter_default_action = {default_action}
milter_protocol = 6
milter_connect_timeout = 5s
milter_content_timeout = 60s
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
default_process_limit = 100
smtp_destination_concurrency_limit = 20
default_destination_concurrency_limit = 20
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
biff = no
hopcount_limit = 1000
"""

# master.cf: the services a relay-only instance needs, smtpd on our own port, and a second smtpd
# without the milter (the reference: what Postfix alone makes of a message)
MASTER_CF = """\
127.0.0.1:{smtp_port} inet n - n - - smtpd
127.0.0.1:{ref_port} inet n - n - - smtpd -o smtpd_milters=
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PostfixError(Exception):
    pass


class Postfix:
    """A private instance in DIR: `postfix -c DIR/etc start`, smtpd on 127.0.0.1:smtp_port with
    the milter, and on 127.0.0.1:ref_port without it."""

    def __init__(self, dir, sink_port, milter_port=None, default_action="accept", more_milters=()):
        if not os.path.exists(POSTFIX):
            raise PostfixError("%s is not installed (Debian package postfix; build.sh installs it)"
                               % POSTFIX)
        self.dir = dir
        self.etc = os.path.join(dir, "etc")
        self.spool = os.path.join(dir, "spool")
        self.smtp_port = free_port()
        self.ref_port = free_port()
        self.sink_port = sink_port
        self.milter_port = milter_port
        self.more_milters = list(more_milters)
        self.default_action = default_action
        os.makedirs(self.etc)
        os.makedirs(self.spool)
        os.makedirs(os.path.join(dir, "data"))
        shutil.chown(os.path.join(dir, "data"), "postfix")
        # Postfix refuses a queue directory that others can write to: the temporary folder
        # is root's and 0700, the queue's parents must be searchable by the postfix user
        os.chmod(dir, 0o755)
        os.chmod(os.path.dirname(os.path.abspath(dir)), 0o755)
        self.write_config()
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(smtp_port=self.smtp_port, ref_port=self.ref_port))
        # the default dynamicmaps.cf, or postconf warns on every command
        for name in ("dynamicmaps.cf", "dynamicmaps.cf.d", "postfix-files", "postfix-files.d"):
            src = os.path.join("/etc/postfix", name)
            if os.path.isdir(src):
                shutil.copytree(src, os.path.join(self.etc, name))
            elif os.path.exists(src):
                shutil.copy(src, os.path.join(self.etc, name))

    def write_config(self):
        ports = ([self.milter_port] if self.milter_port else []) + self.more_milters
        milters = ", ".join("inet:127.0.0.1:%d" % p for p in ports)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(etc=self.etc, spool=self.spool, data=os.path.join(self.dir, "data"),
                                   dir=self.dir, sink_port=self.sink_port, milters=milters,
                                   default_action=self.default_action))

    def command(self, *args, check=True):
        r = subprocess.run([POSTFIX, "-c", self.etc] + list(args), capture_output=True, text=True,
                           timeout=60)
        if check and r.returncode != 0:
            raise PostfixError("postfix %s failed (%d): %s%s" % (" ".join(args), r.returncode,
                                                                r.stdout, r.stderr))
        return r

    def start(self):
        r = self.command("start", check=False)
        if r.returncode != 0:
            check = self.command("check", check=False)
            raise PostfixError("cannot start a private Postfix instance in %s (exit %d): %s%s%s"
                               % (self.dir, r.returncode, r.stdout, r.stderr,
                                  check.stdout + check.stderr))
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=5) as s:
                    s.noop()
                return
            except OSError:
                time.sleep(0.2)
        raise PostfixError("Postfix started but does not answer on 127.0.0.1:%d; log:\n%s"
                           % (self.smtp_port, self.log()[-3000:]))

    def reload(self):
        self.write_config()
        self.command("reload")

    def stop(self):
        self.command("stop", check=False)
        # master may take a moment to go: wait for its pid file to be released
        pid_file = os.path.join(self.spool, "pid", "master.pid")
        deadline = time.time() + 20
        while time.time() < deadline and os.path.exists(pid_file):
            try:
                pid = int(open(pid_file).read().strip())
                os.kill(pid, 0)
            except (OSError, ValueError):
                break
            time.sleep(0.2)

    def queue(self):
        """The queue's ids, from postqueue -j (one JSON object per message)."""
        r = subprocess.run(["/usr/sbin/postqueue", "-c", self.etc, "-j"], capture_output=True,
                           text=True, timeout=60)
        return [line for line in r.stdout.splitlines() if line.strip()]

    def flush(self):
        subprocess.run(["/usr/sbin/postqueue", "-c", self.etc, "-f"], capture_output=True, timeout=60)

    def log(self):
        try:
            with open(os.path.join(self.dir, "maillog"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Milter:
    """The milter in the foreground on inet:PORT@127.0.0.1, its stderr in DIR/milter.log."""

    def __init__(self, exe, dir, port=None, args=()):
        self.exe = exe
        self.dir = dir
        self.port = port or free_port()
        self.args = list(args)
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.dir, "milter.log"), "ab")
        self.proc = subprocess.Popen([self.exe, "-f", "-p", "inet:%d@127.0.0.1" % self.port] + self.args,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the milter exited %d at start; log:\n%s"
                                   % (self.proc.returncode, self.read_log()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the milter does not listen on %d" % self.port)

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def read_log(self):
        with open(os.path.join(self.dir, "milter.log"), errors="replace") as f:
            return f.read()


def prepare(data):
    """A message as it goes over SMTP: no mbox From_ line, CRLF line ends (what smtplib sends),
    and a final line end (which SMTP adds when it is missing)."""
    if data.startswith(b"From "):
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data


def send(port, name, data, timeout=60):
    """Sends one prepared message to rcpt NAME@test.invalid; returns None or the SMTP error."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=timeout) as s:
            s.sendmail("sender@test.invalid", ["%s@test.invalid" % name], data)
        return None
    except (smtplib.SMTPException, OSError) as e:
        return e


def same_apart_from_line_ends(a, b):
    """Equal once every line end is CRLF and the last line has one: SMTP carries lines, so a
    bare LF inside a message, or a missing final line end, cannot survive it."""
    def crlf(data):
        data = re.sub(rb"\r?\n", b"\r\n", data)
        return data if data.endswith(b"\r\n") else data + b"\r\n"
    return crlf(a) == crlf(b)


def strip_received(data):
    """The delivered message without the Received: field our Postfix put on top."""
    if not data.startswith(b"Received: "):
        return data
    m = re.match(rb"Received: [^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n)*", data)
    field = m.group(0)
    if b"mimeutf8-test.localdomain (Postfix)" not in field:
        return data
    return data[len(field):]
