"""python3 -m mimeutf8.dask on a real cluster: a dask-scheduler and two dask-worker processes on
127.0.0.1, started here and always killed at the end.  Its outputs and report must be those of
`mimeutf8 -o` (and of --maildir and --mbox) byte for byte, also when a worker is killed in the
middle of the run."""
import os
import shutil
import subprocess
import sys
import time

import pytest

from cluster import ENV, Cluster, free_port
from conftest import CLI, FIXTURES, SHARED, need_cli, need_shared, read, run_cli

pytest.importorskip("distributed", reason="python3-distributed is not installed")

@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("cluster"))
    c = Cluster(tmp, 2)
    try:
        yield c
    finally:
        c.close()


def dask_run(args, timeout=300, env=None):
    return subprocess.run([sys.executable, "-m", "mimeutf8.dask", "-q"] + args,
                          capture_output=True, timeout=timeout, env=env or ENV)


def same_tree(a, b):
    """Every file under `a` and `b` (dot files included) has the same bytes; returns the count."""
    def files(root):
        return sorted(os.path.relpath(os.path.join(d, f), root)
                      for d, _, fs in os.walk(root) for f in fs)
    fa, fb = files(a), files(b)
    assert fa == fb, "file lists differ: %s" % sorted(set(fa) ^ set(fb))[:10]
    bad = [f for f in fa if read(os.path.join(a, f)) != read(os.path.join(b, f))]
    assert not bad, "%d files differ: %s" % (len(bad), bad[:5])
    modes = [f for f in fa if os.stat(os.path.join(a, f)).st_mode !=
             os.stat(os.path.join(b, f)).st_mode]
    assert not modes, "%d modes differ: %s" % (len(modes), modes[:5])
    return len(fa)


def test_dask__files_and_directories_same_as_cli(cluster, gen_corpus, tmp_path):
    need_cli()
    single = str(tmp_path / "single.eml")
    shutil.copyfile(os.path.join(FIXTURES, "messages", "latin1-qp.eml"), single)
    os.chmod(single, 0o640)
    # a directory with what a walk skips: a link, a FIFO, a subdirectory, a dot file
    odd = tmp_path / "odd"
    odd.mkdir()
    for name in ("a.eml", "b.eml"):
        shutil.copyfile(os.path.join(gen_corpus, sorted(os.listdir(gen_corpus))[0]), odd / name)
    os.chmod(odd / "b.eml", 0o600)
    os.symlink(single, odd / "link.eml")
    os.mkfifo(odd / "fifo.eml")
    (odd / "sub").mkdir()
    (odd / ".hidden").write_bytes(b"x")
    sources = [gen_corpus, single, str(odd), os.path.join(FIXTURES, "messages")]
    r = run_cli(["-o", str(tmp_path / "cli"), "--report", str(tmp_path / "cli.jsonl")] + sources)
    assert b"skipped" in r.stderr
    # the messages through the scheduler, and read and written by the workers themselves
    for mode, extra in (("dask", []), ("dask-shared", ["--shared-files"])):
        r = dask_run(["--scheduler", cluster.address, "--batch", "16", "-o", str(tmp_path / mode),
                      "--report", str(tmp_path / (mode + ".jsonl"))] + extra + sources)
        assert r.returncode == 0, r.stderr.decode()
        assert same_tree(str(tmp_path / "cli"), str(tmp_path / mode)) > 200
        assert read(str(tmp_path / (mode + ".jsonl"))) == read(str(tmp_path / "cli.jsonl"))
        assert b'"status":"skipped"' in read(str(tmp_path / (mode + ".jsonl")))

    # inputs with one base name: refused before anything is written, as by the command
    clash = [single, os.path.join(odd, "a.eml"), os.path.join(gen_corpus, "000001.eml"),
             str(tmp_path / "single.eml")]
    cli = subprocess.run([CLI, "-q", "-o", str(tmp_path / "clash")] + clash, capture_output=True)
    r = dask_run(["--scheduler", cluster.address, "-o", str(tmp_path / "clash")] + clash)
    said = [line for line in r.stderr.splitlines() if line.startswith(b"mimeutf8:")]
    assert (r.returncode, said) == (cli.returncode, cli.stderr.splitlines())
    assert r.returncode == 64
    assert not os.path.exists(tmp_path / "clash")


def test_dask__run_uses_only_its_own_client(cluster, tmp_path, monkeypatch):
    """mimeutf8.dask.run(client, ...) from a program: everything goes through the client it is
    given.  With a second Client in the process (the newest is Dask's default), waiting through
    distributed.wait, which takes the default client, made a 6,000-message run take 25 s
    instead of 2.6 s; any use of the default client now fails this test."""
    import distributed
    import distributed.client

    import mimeutf8.dask

    need_cli()
    src = os.path.join(FIXTURES, "messages")
    with distributed.Client(cluster.address) as client:
        def no_default(*args, **kwargs):
            raise AssertionError("mimeutf8.dask.run used Dask's default client")

        monkeypatch.setattr(distributed.client, "default_client", no_default)
        # a task per message and one task at a time: every wait is exercised
        status = mimeutf8.dask.run(client, str(tmp_path / "dask"), [src], None, {},
                                   batch_messages=1, window=1)
    assert status == 0
    run_cli(["-o", str(tmp_path / "cli"), src])
    assert same_tree(str(tmp_path / "cli"), str(tmp_path / "dask")) > 0


def make_mbox(path, messages):
    """An mbox of `messages`, with a body line "From " and one ">From " to quote."""
    with open(path, "wb") as f:
        for i, data in enumerate(messages):
            if i % 3 == 0:
                data = data + b"\nFrom here on, quoted\n>From there too\n"
            f.write(b"From sender@example.com Thu Jan  1 00:00:%02d 2026\n" % (i % 60))
            f.write(data.replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From "))
            f.write(b"\n" if data.endswith(b"\n") else b"\n\n")


def test_dask__maildir_and_mbox_same_as_cli(cluster, gen_corpus, tmp_path):
    need_cli()
    names = sorted(os.listdir(gen_corpus))[:60]
    maildir = tmp_path / "in" / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for i, n in enumerate(names):
        dest = maildir / ("cur" if i % 2 else "new") / ("%d.M%d.host:2,S" % (1700000000 + i, i))
        shutil.copyfile(os.path.join(gen_corpus, n), dest)
        os.utime(dest, (1600000000 + i, 1600000000 + i))
        if i % 5 == 0:
            os.chmod(dest, 0o600)
    mbox = str(tmp_path / "in" / "box.mbox")
    make_mbox(mbox, [read(os.path.join(gen_corpus, n)) for n in names])

    cli = tmp_path / "cli"
    cli.mkdir()
    run_cli(["--maildir", str(maildir), str(cli / "Maildir"), "--report",
             str(tmp_path / "cli-maildir.jsonl")])
    r = run_cli(["--mbox", mbox, "--report", str(tmp_path / "cli-mbox.jsonl")])
    (cli / "box.mbox").write_bytes(r.stdout)

    for mode, extra in (("dask", []), ("dask-shared", ["--shared-files"])):
        r = dask_run(["--scheduler", cluster.address, "--batch", "8", "--mbox", "-o",
                      str(tmp_path / mode), "--report", str(tmp_path / (mode + ".jsonl"))] +
                     extra + [str(maildir), mbox])
        assert r.returncode == 0, r.stderr.decode()
        same_tree(str(cli), str(tmp_path / mode))
        for sub in ("cur", "new"):
            for f in os.listdir(cli / "Maildir" / sub):
                assert os.stat(tmp_path / mode / "Maildir" / sub / f).st_mtime == \
                    os.stat(maildir / sub / f).st_mtime, "modification time not kept: %s" % f
        assert read(str(tmp_path / (mode + ".jsonl"))) == \
            read(str(tmp_path / "cli-maildir.jsonl")) + read(str(tmp_path / "cli-mbox.jsonl"))

    # not an mbox: the command's usage error, and no output
    not_mbox = str(tmp_path / "in" / "plain.eml")
    shutil.copyfile(os.path.join(gen_corpus, names[0]), not_mbox)
    r = dask_run(["--scheduler", cluster.address, "--mbox", "-o", str(tmp_path / "bad"),
                  not_mbox])
    assert r.returncode == 64 and b"not an mbox" in r.stderr, r.stderr.decode()
    assert os.listdir(tmp_path / "bad") == []


def test_dask__real_mboxes_split_as_cli(cluster, tmp_path):
    """corpus/real's mbox files (From_ lines without a blank line before them, body lines
    "From ...", Content-Length headers, CRLF): the same messages, outputs and report lines as
    `mimeutf8 --mbox`, because both read them with plugin/mbox.c."""
    need_cli()
    need_shared()
    real = os.path.join(SHARED, "corpus", "real")
    with open(os.path.join(real, "MESSAGES.tsv"), encoding="utf-8") as tsv:
        paths = sorted({line.split("\t")[0] for line in list(tsv)[1:]
                        if int(line.split("\t")[1]) >= 0})
    assert len(paths) >= 8, paths
    src = tmp_path / "in"
    src.mkdir()
    cli = tmp_path / "cli"
    cli.mkdir()
    inputs, cli_report, messages = [], b"", 0
    for n, path in enumerate(paths):
        name = "%02d-%s" % (n, os.path.basename(path))
        shutil.copyfile(os.path.join(real, path), src / name)
        r = run_cli(["--mbox", str(src / name), "--report", str(tmp_path / "one.jsonl")])
        assert r.returncode == 0, r.stderr.decode()
        (cli / name).write_bytes(r.stdout)
        cli_report += read(str(tmp_path / "one.jsonl"))
        inputs.append(str(src / name))
    messages = cli_report.count(b"\n")
    r = dask_run(["--scheduler", cluster.address, "--batch", "4", "--mbox", "-o",
                  str(tmp_path / "dask"), "--report", str(tmp_path / "dask.jsonl")] + inputs)
    assert r.returncode == 0, r.stderr.decode()
    assert same_tree(str(cli), str(tmp_path / "dask")) == len(paths)
    assert read(str(tmp_path / "dask.jsonl")) == cli_report
    # mimekit's content-length.mbox.txt alone has 8 messages, of 29 From_ lines
    assert messages >= 60, messages


@pytest.mark.parametrize("shared", [False, True], ids=["bytes", "shared-files"])
def test_dask__worker_killed_midway(gen_corpus, tmp_path, shared):
    """Two workers; one is killed while the run is under way (its tasks are running: each task
    first sleeps 150 ms).  Dask reruns them on the other: the result is complete and identical
    to the command's, nothing lost, nothing written twice; with --shared-files, no temporary
    file of the killed worker is left in OUTDIR (same_tree sees dot files)."""
    need_cli()
    run_cli(["-o", str(tmp_path / "cli"), "--report", str(tmp_path / "cli.jsonl"), gen_corpus])
    expected_lines = len(read(str(tmp_path / "cli.jsonl")).splitlines())
    env = dict(ENV, MIMEUTF8_TEST_TASK_DELAY_MS="150")
    c = Cluster(str(tmp_path), 2, env)
    try:
        report = str(tmp_path / "dask.jsonl")
        proc = subprocess.Popen([sys.executable, "-m", "mimeutf8.dask", "-q", "--scheduler",
                                 c.address, "--batch", "5", "-o", str(tmp_path / "dask"),
                                 "--report", report, gen_corpus] +
                                (["--shared-files"] if shared else []),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
        try:
            deadline = time.monotonic() + 120
            while not (os.path.exists(report) and os.path.getsize(report) > 0):
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "no result within 120 s"
                time.sleep(0.05)
            c.kill(c.workers[0])
            done_at_kill = len(read(report).splitlines())
            out, err = proc.communicate(timeout=240)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err.decode()
        assert done_at_kill < expected_lines // 2, "the run was nearly over at the kill"
        assert c.n_workers() == 1, "the killed worker is still there"
    finally:
        c.close()
    same_tree(str(tmp_path / "cli"), str(tmp_path / "dask"))
    assert read(report) == read(str(tmp_path / "cli.jsonl"))


@pytest.mark.parametrize("shared", [False, True], ids=["bytes", "shared-files"])
def test_dask__message_that_kills_workers_is_passed_through(gen_corpus, tmp_path, shared):
    """A message whose task crashes its worker (MIMEUTF8_TEST_FAULT, as in tests/cli.py): its
    batch is rerun a message per task, and the message is written through unchanged with the
    reason "worker died", as by the command's supervisor; the rest of the run is unaffected.
    The scheduler gives up on a task at its first worker death (allowed-failures 0), nannies
    restart the workers."""
    need_cli()
    src = tmp_path / "in"
    src.mkdir()
    for name in sorted(os.listdir(gen_corpus))[:30]:
        shutil.copyfile(os.path.join(gen_corpus, name), src / name)
    victim = sorted(os.listdir(src))[7]
    fault = dict(ENV, MIMEUTF8_TEST_FAULT="crash:" + victim)
    run_cli(["-j", "2", "-o", str(tmp_path / "cli"), "--report", str(tmp_path / "cli.jsonl"),
             str(src)], env=fault)
    assert b'"reason":"worker died"' in read(str(tmp_path / "cli.jsonl"))
    c = Cluster(str(tmp_path), 2, dict(fault, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0"),
                nanny=True)
    try:
        r = dask_run(["--scheduler", c.address, "--batch", "10", "-o", str(tmp_path / "dask"),
                      "--report", str(tmp_path / "dask.jsonl"), str(src)] +
                     (["--shared-files"] if shared else []), timeout=240)
    finally:
        c.close()
    assert r.returncode == 0, r.stderr.decode()
    same_tree(str(tmp_path / "cli"), str(tmp_path / "dask"))
    assert read(str(tmp_path / "dask.jsonl")) == read(str(tmp_path / "cli.jsonl"))


def test_dask__local_cluster_and_errors(tmp_path):
    need_cli()
    messages = os.path.join(FIXTURES, "messages")
    run_cli(["-o", str(tmp_path / "cli"), "--report", str(tmp_path / "cli.jsonl"), messages])
    missing = str(tmp_path / "no-such.eml")
    r = dask_run(["--workers", "1", "-o", str(tmp_path / "dask"), "--report",
                  str(tmp_path / "dask.jsonl"), messages, missing], timeout=180)
    # as the command: every message done, then the first error's status
    assert r.returncode == 66, r.stderr.decode()
    assert b"no-such.eml: No such file or directory" in r.stderr
    same_tree(str(tmp_path / "cli"), str(tmp_path / "dask"))
    assert read(str(tmp_path / "dask.jsonl")) == read(str(tmp_path / "cli.jsonl"))

    r = dask_run(["-o", str(tmp_path / "x"), "--fallback-charset", "nope", messages])
    assert r.returncode == 64 and b"nope" in r.stderr
    r = dask_run([messages])
    assert r.returncode == 2 and b"-o" in r.stderr
    r = dask_run(["--scheduler", "tcp://127.0.0.1:%d" % free_port(), "-o", str(tmp_path / "y"),
                  messages], timeout=120,
                 env=dict(ENV, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="2s"))
    assert r.returncode == 75 and b"127.0.0.1" in r.stderr, r.stderr.decode()
    assert not os.path.exists(tmp_path / "y" / "latin1-qp.eml")
