"""cluster.py: a Dask cluster on 127.0.0.1 made of separate processes (dask-scheduler and
dask-worker), for the tests (test_dask.py) and the Dask benchmark (bench/dask_bench.py)."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

ENV = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dask_command(name):
    """dask-scheduler or dask-worker of this interpreter (the Debian scripts when there)."""
    found = shutil.which(name)
    if found and open(found, "rb").readline().strip() == b"#!" + sys.executable.encode():
        return [found]
    return [sys.executable, "-m", "distributed.cli." + name.replace("-", "_")]


class Cluster:
    """A scheduler and N workers, each in its own process group so that all of it can be
    killed.  Without a nanny a killed worker stays dead; with one, it is restarted."""

    def __init__(self, tmp, n_workers, env=None, nanny=False):
        self.port = free_port()
        self.address = "tcp://127.0.0.1:%d" % self.port
        self.env = dict(ENV, **(env or {}))
        self.log = open(os.path.join(tmp, "cluster.log"), "ab")
        self.procs = []
        self.scheduler = self.spawn(dask_command("dask-scheduler") + [
            "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"])
        self.wait_for_port()
        self.workers = [self.spawn(dask_command("dask-worker") + [
            self.address, "--host", "127.0.0.1", "--nthreads", "1", "--nanny" if nanny else "--no-nanny",
            "--no-dashboard", "--local-directory", tmp, "--name", "w%d" % i])
            for i in range(n_workers)]
        self.wait_for_workers(n_workers)

    def spawn(self, argv):
        proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log, env=self.env,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def wait_for_port(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.scheduler.poll() is None, "dask-scheduler exited"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("dask-scheduler did not listen within %d s" % timeout)

    def n_workers(self):
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            return len(client.scheduler_info()["workers"])

    def wait_for_workers(self, n, timeout=90):
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(n, timeout=timeout)

    def kill(self, proc):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def close(self):
        for proc in reversed(self.procs):
            self.kill(proc)
        self.log.close()
