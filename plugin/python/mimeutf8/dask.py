"""mimeutf8.dask: normalizes many messages across the workers of a Dask cluster, and writes the
outputs and the report exactly as `mimeutf8 -o` does (same bytes, same report lines, input order).

  python3 -m mimeutf8.dask [--scheduler tcp://HOST:PORT] -o OUTDIR [--report FILE] [--mbox]
                           [mimeutf8 options] SOURCE...

SOURCE is a message file (written to OUTDIR under its base name), a directory (every regular
file in it not starting with a dot, in name order, as `mimeutf8 -o DIR` reads it), a maildir (a
directory with cur/ and new/: written to OUTDIR/NAME as `mimeutf8 --maildir SRC OUTDIR/NAME`
writes it, file names and modification times kept), or with --mbox an mbox file (written to
OUTDIR/NAME as `mimeutf8 --mbox FILE > OUTDIR/NAME` writes it, report names FILE#N).

This process reads the sources and writes the results; the workers get the messages' bytes in
tasks of many messages each and need no shared file system, only the mimeutf8 package.  With
--shared-files (always with a local cluster) the workers read the input files and write the
outputs themselves, and only names and report lines travel.  A task
whose worker is lost is run again on another (Dask reruns it); results are delivered in input
order, so nothing is lost or written twice.  Without --scheduler a local cluster is started, a
worker process per core.
"""
from __future__ import annotations

import argparse
import errno
import hashlib
import os
import secrets
import signal
import stat
import sys
import time
import warnings
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import mimeutf8

EXIT_USAGE, EXIT_NOINPUT, EXIT_IOERR, EXIT_TEMPFAIL = 64, 66, 74, 75


# A result, per message: (status, output, report line, written).  `output` is None when it is
# the input (so as not to send it back); `written` says the worker wrote the output itself
# (--shared-files).  A message whose input could not be read or output written is ("error",
# None, "PATH: reason", exit status): no output and no report line, as in the command.
Result = Tuple[str, Optional[bytes], str, Any]


def test_hooks(name: str) -> None:
    """Tests only: MIMEUTF8_TEST_FAULT=crash:NAME crashes the worker on a message, as it does the
    command's."""
    fault = os.environ.get("MIMEUTF8_TEST_FAULT", "")
    if fault.startswith("crash:") and fault[6:] in name:
        os.kill(os.getpid(), signal.SIGSEGV)


def task_delay() -> None:
    """Tests only: a delay keeps tasks running long enough to lose a worker in the middle."""
    delay = os.environ.get("MIMEUTF8_TEST_TASK_DELAY_MS")
    if delay:
        time.sleep(int(delay) / 1000)


class Batch:
    """A task's messages, opaque to Dask: it walks lists and tuples in a task's arguments (for
    futures to resolve, and keys to name) item by item, which cost the client a third of its
    time over 2,000 messages; an object of this class travels pickled as one value."""

    __slots__ = ("entries",)

    def __init__(self, entries: List[Any]):
        self.entries = entries

    def __getstate__(self) -> List[Any]:
        return self.entries

    def __setstate__(self, entries: List[Any]) -> None:
        self.entries = entries


def normalize_batch(options: Dict[str, Any], batch: Batch) -> List[Result]:
    """The task run on a worker: normalizes (name, message) pairs and returns their results."""
    task_delay()
    results: List[Result] = []
    for name, data in batch.entries:
        test_hooks(name)
        result = mimeutf8.normalize(data, name=name, **options)
        results.append((result.status, result.data if result.status == "normalized" else None,
                        result.report_json, False))
    return results


def normalize_files(options: Dict[str, Any], batch: Batch) -> List[Result]:
    """The task run on a worker when the cluster shares the file system (--shared-files):
    (name, input path, output) triples; the worker reads each input, normalizes it and writes
    its output as the client would (write_output), so that no message travels through the
    scheduler."""
    task_delay()
    results: List[Result] = []
    for name, in_path, out in batch.entries:
        test_hooks(name)
        try:
            data, st = read_input(in_path)
        except OSError as e:
            results.append(("error", None, "%s: %s" % (in_path, e.strerror), EXIT_NOINPUT))
            continue
        result = mimeutf8.normalize(data, name=name, **options)
        try:
            write_output(out, st, result.data if result.status == "normalized" else data, name)
        except OSError as e:
            results.append(("error", None, "%s: %s" % (in_path, e.strerror), EXIT_IOERR))
            continue
        results.append((result.status, None, result.report_json, True))
    return results


# ---- sources, in the order mimeutf8 reads them ------------------------------------------------


class Item:
    """One message: where it comes from, its report name, where its result goes."""

    __slots__ = ("name", "in_path", "data", "out", "mbox", "from_line", "separator", "st")

    def __init__(self, name: str, in_path: Optional[str] = None, data: Optional[bytes] = None,
                 out: Any = None, mbox: Any = None, from_line: bytes = b"",
                 separator: bytes = b""):
        self.name = name
        self.in_path = in_path
        self.data = data
        self.out = out  # (out_path, tmp_dir, keep_mtime) for a file
        self.mbox = mbox  # MboxWriter for a message of an mbox
        self.from_line = from_line
        self.separator = separator
        self.st: Optional[os.stat_result] = None  # a file's, once read


def list_dir(path: str, follow: bool = True) -> Tuple[List[str], List[Tuple[str, str]]]:
    """The regular files of `path` not starting with a dot, in byte order of the path, and the
    entries skipped with the reason (symbolic links are not followed, other file types are not
    read), as plugin/batch.c's list_dir.  With `follow` False, `path` itself may not be a
    link either (OSError ENOTDIR)."""
    if not follow and os.path.islink(path):
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
    files, others = [], []
    # scandir's entries know their type from the directory (d_type): no lstat per file where
    # the file system says it
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            full = os.path.join(path, entry.name)
            try:
                regular = entry.is_file(follow_symlinks=False)
                link = not regular and entry.is_symlink()
            except OSError:
                continue
            if regular:
                files.append(full)
            else:
                others.append((full, "a symbolic link, not followed" if link
                               else "not a regular file"))
    files.sort(key=os.fsencode)
    others.sort(key=lambda pair: os.fsencode(pair[0]))
    return files, others


def is_maildir(path: str) -> bool:
    return all(os.path.isdir(os.path.join(path, sub)) for sub in ("cur", "new"))


def mbox_messages(path: str,
                  max_content_length: int = 50 * 1024 * 1024) -> Iterator[Tuple[bytes, bytes, bytes]]:
    """(From_ line, message, separator) of each message of an mbox, read by the command's own
    reader (plugin/mbox.c, compiled into mimeutf8._mimeutf8), so that the messages are exactly
    those of `mimeutf8 --mbox`: a From_ line known by its syntax, Content-Length honoured where
    it is right (one over `max_content_length` is not trusted), ">From " quoting undone the
    mboxrd way.  Raises ValueError when the file does not start with a From_ line (and is not
    empty), OSError when it cannot be read."""
    from ._mimeutf8 import ffi, lib

    stream = lib.fopen(os.fsencode(path), b"rb")
    if stream == ffi.NULL:
        e = ffi.errno
        raise OSError(e, os.strerror(e), path)
    reader = lib.mbox_reader_new(stream, max_content_length)
    from_line = ffi.new("GByteArray **")
    message = ffi.new("GByteArray **")
    separator = ffi.new("const char **")
    error = ffi.new("gboolean *")
    n = 0
    try:
        while lib.mbox_reader_next(reader, from_line, message, separator, error):
            yield (take(ffi, lib, from_line[0]), take(ffi, lib, message[0]),
                   ffi.string(separator[0]))
            n += 1
        if error[0]:
            if lib.ferror(stream):
                raise OSError(errno.EIO, os.strerror(errno.EIO), path)
            raise ValueError("not an mbox (no From_ line at the top)")
    finally:
        lib.mbox_reader_free(reader)
        lib.fclose(stream)


def take(ffi: Any, lib: Any, array: Any) -> bytes:
    """The bytes of a GByteArray the reader gave (transfer full), which it then frees."""
    data = bytes(ffi.buffer(array.data, array.len)) if array.len else b""
    lib.g_byte_array_unref(array)
    return data


def quote(message: bytes) -> bytes:
    """The message with every line ">*From " quoted by one more ">" (mbox.c's mbox_append)."""
    if b"From " not in message:
        return message
    lines = message.split(b"\n")
    return b"\n".join(b">" + line if line.lstrip(b">").startswith(b"From ") else line
                      for line in lines)


class MboxWriter:
    """An output mbox, written to a temporary file in its directory and renamed when done."""

    def __init__(self, path: str):
        self.path = path
        self.temp = temp_name(path)
        self.file = open(os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), "wb")

    def append(self, item: Item, data: bytes) -> None:
        self.file.write(item.from_line + quote(data) + item.separator)

    def close(self) -> None:
        self.file.close()
        os.rename(self.temp, self.path)


def temp_name(path: str, directory: Optional[str] = None, tag: Optional[str] = None) -> str:
    """A temporary name beside `path` (or in `directory`), as the CLI's .NAME.mimeutf8-XXXXXX
    (XXXXXX at random unless `tag` is given)."""
    return os.path.join(directory or os.path.dirname(path) or ".",
                        ".%s.mimeutf8-%s" % (os.path.basename(path),
                                             tag or secrets.token_hex(3)))


class Sources:
    """The messages of the SOURCE arguments, in order, and the errors met on the way.  Files,
    directories and maildirs are listed at once, before any message is read (entries skipped
    then have their report lines first, as in the command); mbox files are read as they go."""

    def __init__(self, out_dir: str, sources: Sequence[str], as_mbox: bool, report: Any,
                 max_content_length: int = 50 * 1024 * 1024):
        self.out_dir = out_dir
        self.as_mbox = as_mbox
        self.max_content_length = max_content_length
        self.report = report
        self.first_error = 0
        self.mboxes: List[MboxWriter] = []
        self.plan: List[Any] = []  # lists of Items, or mbox paths
        files: List[Item] = []  # every input written to OUTDIR itself
        current: Optional[List[Item]] = None
        for source in sources:
            if os.path.isdir(source) and is_maildir(source):
                self.plan.append(self.maildir(source))
                current = None
                continue
            if os.path.isdir(source):
                try:
                    paths, others = list_dir(source)
                except OSError as e:
                    self.error("%s: %s" % (source, e.strerror), EXIT_NOINPUT)
                    continue
                self.skip(others)
                items = [self.file_item(path) for path in paths]
            elif as_mbox:
                self.plan.append(source)
                current = None
                continue
            else:
                items = [self.file_item(source)]
            if current is None:
                current = []
                self.plan.append(current)
            current += items
            files += items
        self.collide = self.collisions(files)

    def file_item(self, path: str) -> Item:
        return Item(path, path, out=(os.path.join(self.out_dir, os.path.basename(path)),
                                     self.out_dir, False))

    def collisions(self, items: List[Item]) -> bool:
        """Inputs with one base name would overwrite each other's output: said, as the command
        says it (then nothing is written)."""
        seen: Dict[str, str] = {}
        collide = False
        for item in items:
            base = os.path.basename(item.name)
            if base in seen:
                print("mimeutf8: %s and %s would both be written to %s"
                      % (seen[base], item.name, os.path.join(self.out_dir, base)),
                      file=sys.stderr)
                collide = True
            else:
                seen[base] = item.name
        return collide

    def error(self, message: str, code: int) -> None:
        print("mimeutf8: %s" % message, file=sys.stderr)
        if not self.first_error:
            self.first_error = code

    def skip(self, others: List[Tuple[str, str]]) -> None:
        """Entries left out of a walk: said on stderr and in the report, status "skipped"."""
        for path, why in others:
            print("mimeutf8: %s: skipped: %s" % (path, why), file=sys.stderr)
            if self.report is not None:
                line = mimeutf8._passthrough_json(why, 0, path)
                self.report.write(line.replace(',"status":"passthrough",',
                                               ',"status":"skipped",', 1) + "\n")

    def __iter__(self) -> Iterator[Item]:
        for entry in self.plan:
            if isinstance(entry, str):
                yield from self.mbox(entry)
            else:
                yield from entry

    def maildir(self, source: str) -> List[Item]:
        """As the command's --maildir SRC OUTDIR/NAME: cur and new, listed without following
        links, into real directories (not links) DST/cur, DST/new and DST/tmp."""
        dst = os.path.join(self.out_dir, os.path.basename(os.path.normpath(source)))
        tmp = os.path.join(dst, "tmp")
        lists = []
        for sub in ("cur", "new"):
            try:
                lists.append(list_dir(os.path.join(source, sub), follow=False))
            except OSError as e:
                self.error("%s: %s" % (os.path.join(source, sub), e.strerror), EXIT_NOINPUT)
                return []
        for sub in ("cur", "new", "tmp"):
            path = os.path.join(dst, sub)
            try:
                os.makedirs(path, 0o700, exist_ok=True)
                if not stat.S_ISDIR(os.lstat(path).st_mode):
                    raise NotADirectoryError(errno.ENOTDIR, "not a directory of its own", path)
            except OSError as e:
                self.error("%s: %s" % (path, e.strerror), EXIT_IOERR)
                return []
        items = []
        for sub, (files, others) in zip(("cur", "new"), lists):
            self.skip(others)
            items += [Item(path, path, out=(os.path.join(dst, sub, os.path.basename(path)), tmp,
                                            True)) for path in files]
        return items

    def mbox(self, source: str) -> Iterator[Item]:
        writer = None
        n = 0
        try:
            messages = mbox_messages(source, self.max_content_length)
            first = next(messages, None)  # an error here leaves no output, as the CLI's
            writer = MboxWriter(os.path.join(self.out_dir, os.path.basename(source)))
            self.mboxes.append(writer)
            while first is not None:
                from_line, message, separator = first
                yield Item("%s#%d" % (source, n), data=message, mbox=writer,
                           from_line=from_line, separator=separator)
                n += 1
                first = next(messages, None)
        except OSError as e:
            self.error("%s: %s" % (e.filename or source, e.strerror),
                       EXIT_NOINPUT if writer is None and not os.path.exists(source)
                       else EXIT_IOERR)
        except ValueError as e:
            self.error("%s: %s" % (source, e), EXIT_USAGE)


# ---- the driver --------------------------------------------------------------------------------


def read_input(path: str) -> Tuple[bytes, os.stat_result]:
    """A batch input's bytes and status, as the command's workers open it: never through a
    symbolic link, and only a regular file (a FIFO or a device would block or never end)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise OSError(e.errno, "a symbolic link, not followed", path) from None
        raise
    with open(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        return f.read(), st


def keep_access(fd: int, st: os.stat_result) -> None:
    """The input's owner and group where the process may (as root), and its permission bits;
    group bits only with the group (as the command's workers.c)."""
    mode = st.st_mode & 0o777
    try:
        os.fchown(fd, st.st_uid, st.st_gid)
    except OSError:
        try:
            os.fchown(fd, -1, st.st_gid)
        except OSError:
            mode &= ~0o070
    os.fchmod(fd, mode)


def read_items(sources: Sources, batch_messages: int, batch_bytes: int,
               shared_files: bool = False) -> Iterator[List[Tuple[Item, Optional[bytes]]]]:
    """Batches of (item, message bytes), read lazily; an unreadable file is reported and
    skipped, as the CLI does (no output, no report line, exit 66).  With `shared_files` a file
    is not read here (its bytes are None: the worker reads it), and a batch holds files only or
    mbox messages only."""
    batch: List[Tuple[Item, Optional[bytes]]] = []
    size = 0
    for item in sources:
        data = item.data
        if shared_files and batch and (data is None) != (batch[-1][1] is None):
            yield batch
            batch, size = [], 0
        if shared_files and data is None:
            batch.append((item, None))
            if len(batch) >= batch_messages:
                yield batch
                batch, size = [], 0
            continue
        if data is None:
            try:
                data, item.st = read_input(item.in_path)  # type: ignore[arg-type]
            except OSError as e:
                sources.error("%s: %s" % (item.in_path, e.strerror), EXIT_NOINPUT)
                continue
        item.data = None
        batch.append((item, data))
        size += len(data)
        if len(batch) >= batch_messages or size >= batch_bytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def submit(client: Any, options: Dict[str, Any], batch: List[Tuple[Item, Optional[bytes]]],
           key: Optional[str] = None) -> Any:
    """The task for a batch: files the worker reads and writes itself (bytes None), or bytes."""
    if batch[0][1] is None:
        return client.submit(normalize_files, options,
                             Batch([(item.name, item.in_path, item.out) for item, _ in batch]),
                             pure=False, key=key)
    return client.submit(normalize_batch, options,
                         Batch([(item.name, data) for item, data in batch]), pure=False, key=key)


def results_of(client: Any, options: Dict[str, Any], batch: List[Tuple[Item, Optional[bytes]]],
               future: Any) -> List[Result]:
    """The results of a batch.  Dask gives up on a task whose workers died under it
    (distributed.scheduler.allowed-failures times); such a batch is run again a message per
    task, one task at a time, so that a death can only be the running message's.  A message
    whose own task dies twice so is written through unchanged, as the command's supervisor does
    ("worker died")."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker:
        pass
    results: List[Result] = []
    for item, data in batch:
        for attempt in range(2):
            retry = submit(client, options, [(item, data)])
            try:
                results += retry.result()
                break
            except KilledWorker:
                continue
        else:
            # written through unchanged by deliver (which reads a shared file first)
            size = len(data) if data is not None else input_size(item.in_path)
            results.append(("passthrough", None,
                            mimeutf8._passthrough_json("worker died", size, item.name), False))
    return results


def input_size(path: Optional[str]) -> int:
    try:
        return os.lstat(path).st_size  # type: ignore[arg-type]
    except OSError:
        return 0


def write_output(out: Tuple[str, Optional[str], bool], st: os.stat_result, data: bytes,
                 name: Optional[str] = None) -> None:
    """Writes a file's output as the command's workers do: through a temporary file (in
    `tmp_dir`, or beside it), renamed over `out_path`, with the input's access (keep_access) and,
    for maildirs, its times.  A worker gives the message's `name`: its temporary file is then
    named after it, not at random, so that a task run again after its worker died in the middle
    of a write takes over the file left behind (never through a link) and renames it, rather
    than leaving it in OUTDIR."""
    out_path, tmp_dir, keep_mtime = out
    if name is None:
        temp = temp_name(out_path, tmp_dir)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    else:
        temp = temp_name(out_path, tmp_dir, hashlib.sha1(os.fsencode(name)).hexdigest()[:6])
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        with open(fd, "wb", closefd=True) as f:
            f.write(data)
            f.flush()  # before the times are set, not after
            keep_access(f.fileno(), st)
            if keep_mtime:
                os.utime(f.fileno(), ns=(st.st_atime_ns, st.st_mtime_ns))
        os.rename(temp, out_path)
    except BaseException:
        os.unlink(temp)
        raise


def deliver(batch: List[Tuple[Item, Optional[bytes]]], results: List[Result],
            report: Any, sources: Sources) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for (item, data), (status, output, report_json, written) in zip(batch, results):
        if status == "error":
            sources.error(report_json, written)
            continue  # no output and no report line
        counts[status] = counts.get(status, 0) + 1
        if item.mbox is not None:
            item.mbox.append(item, data if output is None else output)  # type: ignore[arg-type]
        elif not written:
            try:
                shared = data is None
                if shared:  # a shared file whose workers died on it: written through here
                    try:
                        data, item.st = read_input(item.in_path)  # type: ignore[arg-type]
                    except OSError as e:
                        sources.error("%s: %s" % (item.in_path, e.strerror), EXIT_NOINPUT)
                        continue
                # under the workers' temporary name, so that the file a worker left when it
                # died in the middle of writing it is taken over, not left in OUTDIR
                write_output(item.out, item.st,  # type: ignore[arg-type]
                             data if output is None else output,  # type: ignore[arg-type]
                             item.name if shared else None)
            except OSError as e:
                sources.error("%s: %s" % (item.in_path, e.strerror), EXIT_IOERR)
                continue  # no output and no report line
        if report is not None:
            report.write(report_json + "\n")
    return counts


def run(client: Any, out_dir: str, sources_args: Sequence[str], report_path: Optional[str],
        options: Dict[str, Any], as_mbox: bool = False, batch_messages: int = 100,
        batch_bytes: int = 4 << 20, window: Optional[int] = None,
        quiet: bool = True, shared_files: bool = False) -> int:
    """Normalizes every message of `sources_args` on the cluster `client` is connected to,
    writing into `out_dir` and the report to `report_path`; returns the exit status mimeutf8
    would (0, 64, 66 or 74).  With `shared_files` the workers read the input files and write
    their outputs themselves (they must see the same file system at the same paths)."""
    # The messages travel inside their tasks, not scattered to a worker ahead of time, so that
    # the scheduler can give a lost worker's tasks to another; Dask's advice against that does
    # not apply.
    warnings.filterwarnings("ignore", "Large object of size", UserWarning)
    mimeutf8.normalize(b"", **options)  # bad options fail here, before anything is written
    try:
        report = open(report_path, "w", encoding="utf-8") if report_path else None
    except OSError as e:
        print("mimeutf8: %s: %s" % (e.filename, e.strerror), file=sys.stderr)
        return EXIT_IOERR
    # a Content-Length past the message size limit is not trusted, as in the command
    sources = Sources(out_dir, sources_args, as_mbox, report,
                      options.get("max_message_size") or 50 * 1024 * 1024)
    if sources.collide:
        print("mimeutf8: nothing was written; give such inputs separate runs (or separate "
              "OUTDIRs)", file=sys.stderr)
        if report is not None:
            report.close()
        return EXIT_USAGE
    try:
        os.makedirs(out_dir, 0o755, exist_ok=True)
    except OSError as e:
        print("mimeutf8: %s: %s" % (out_dir, e.strerror), file=sys.stderr)
        return EXIT_IOERR
    if window is None:
        window = 2 * max(1, len(client.scheduler_info().get("workers", {}))) + 2
    pending: List[Tuple[List[Tuple[Item, Optional[bytes]]], Any]] = []
    batches = read_items(sources, batch_messages, batch_bytes, shared_files)
    done = 0
    totals: Dict[str, int] = {}
    try:
        for batch in batches:
            future = submit(client, options, batch,
                            key="mimeutf8-%d-%s" % (done + len(pending), secrets.token_hex(4)))
            pending.append((batch, future))
            while len(pending) >= window:
                # results_of waits through the future's own client: distributed.wait would go
                # through the process's default client, the newest one, and with a second
                # Client in the process it took 25 s instead of 2.6 (6,000 messages)
                done += 1
                batch0, future0 = pending.pop(0)
                add(totals, deliver(batch0, results_of(client, options, batch0, future0),
                                    report, sources))
                del future0
        for batch0, future0 in pending:
            add(totals, deliver(batch0, results_of(client, options, batch0, future0), report,
                                sources))
        pending = []
        for writer in sources.mboxes:
            writer.close()
    finally:
        for _, future0 in pending:
            future0.cancel()
        if report is not None:
            report.close()
    if not quiet:
        print("mimeutf8.dask: %s" % ", ".join("%d %s" % (n, s) for s, n in sorted(totals.items())),
              file=sys.stderr)
    return sources.first_error


def add(totals: Dict[str, int], counts: Dict[str, int]) -> None:
    for key, n in counts.items():
        totals[key] = totals.get(key, 0) + n


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python3 -m mimeutf8.dask",
        description="Normalize messages to UTF-8 across a Dask cluster, writing what "
                    "`mimeutf8 -o OUTDIR` writes.")
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="message file, directory, maildir, or mbox file with --mbox")
    p.add_argument("-o", "--output-dir", required=True, metavar="OUTDIR")
    p.add_argument("--report", metavar="FILE", help="JSON Lines report, in input order")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="the Dask scheduler (default: start a local cluster)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="worker processes of the local cluster (default: the cores)")
    p.add_argument("--mbox", action="store_true", help="SOURCE files are mbox files")
    p.add_argument("--batch", type=int, default=100, metavar="N",
                   help="messages per task (default 100)")
    p.add_argument("--shared-files", action="store_true",
                   help="the workers read the input files and write the outputs themselves: "
                        "they see this machine's file system at the same paths (always so "
                        "without --scheduler)")
    p.add_argument("--policy", default="lenient", choices=("lenient", "declared", "strict"))
    p.add_argument("--fallback-charset", default="windows-1252", metavar="CHARSET")
    p.add_argument("--headers", default="encoded", choices=("encoded", "utf8", "keep"))
    p.add_argument("--7bit", dest="seven_bit", action="store_true")
    p.add_argument("--convert-signed", action="store_true")
    for limit in mimeutf8.LIMITS[:-1]:
        p.add_argument("--" + limit.replace("_", "-"), type=int, metavar="N")
    p.add_argument("--timeout", type=int, metavar="SECONDS")
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.batch < 1:
        p.error("--batch must be at least 1")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    options: Dict[str, Any] = dict(policy=args.policy, headers=args.headers,
                                   fallback=args.fallback_charset, seven_bit=args.seven_bit,
                                   convert_signed=args.convert_signed)
    for limit in mimeutf8.LIMITS[:-1]:
        if getattr(args, limit) is not None:
            options[limit] = getattr(args, limit)
    if args.timeout is not None:
        options["timeout_ms"] = args.timeout * 1000
    try:
        mimeutf8.normalize(b"", **options)
    except (mimeutf8.Error, TypeError) as e:
        print("mimeutf8: %s" % e, file=sys.stderr)
        return EXIT_USAGE

    from distributed import Client, LocalCluster

    if args.scheduler:
        try:
            client = Client(args.scheduler)  # waits distributed.comm.timeouts.connect
        except OSError as e:
            print("mimeutf8: %s: %s" % (args.scheduler, e), file=sys.stderr)
            return EXIT_TEMPFAIL
        with client:
            return run(client, args.output_dir, args.sources, args.report, options, args.mbox,
                       args.batch, quiet=args.quiet, shared_files=args.shared_files)
    with LocalCluster(n_workers=args.workers or os.cpu_count() or 1, threads_per_worker=1,
                      processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        # a local cluster's workers are on this machine: they read and write the files
        return run(client, args.output_dir, args.sources, args.report, options, args.mbox,
                   args.batch, quiet=args.quiet, shared_files=True)


if __name__ == "__main__":
    sys.exit(main())
