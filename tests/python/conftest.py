"""Shared set-up of the Python package's tests: where the command, the fixtures and ../shared are
(tests/meson.build passes them in the environment), and a gen.py corpus made once per run."""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "fixtures")
SHARED = os.environ.get("MIMEUTF8_SHARED", os.path.join(ROOT, "..", "shared"))
CLI = os.environ.get("MIMEUTF8_CLI", os.path.join(ROOT, "build", "plugin", "mimeutf8"))
SEED = int(os.environ.get("MIMEUTF8_SEED", "7"))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def fixture_names():
    return sorted(n for n in os.listdir(os.path.join(FIXTURES, "messages")) if n.endswith(".eml"))


def need_shared():
    if not os.path.isfile(os.path.join(SHARED, "corpus", "gen.py")):
        pytest.skip("../shared is absent (%s)" % SHARED)


def need_cli():
    if not os.access(CLI, os.X_OK):
        pytest.skip("the mimeutf8 command is not built (%s)" % CLI)


def run_cli(args, **kw):
    """The command, with its report; fails the test on a non-zero exit."""
    r = subprocess.run([CLI, "-q"] + args, capture_output=True, **kw)
    assert r.returncode == 0, "mimeutf8 %s: exit %d: %s" % (args, r.returncode, r.stderr)
    return r


@pytest.fixture(scope="session")
def gen_corpus(tmp_path_factory):
    """200 gen.py messages, seed MIMEUTF8_SEED (default 7): the directory and its files."""
    need_shared()
    out = str(tmp_path_factory.mktemp("gen") / "corpus")
    subprocess.run([sys.executable, os.path.join(SHARED, "corpus", "gen.py"), "--out", out,
                    "--count", "200", "--seed", str(SEED)], check=True, capture_output=True)
    return out


def pytest_sessionfinish(session, exitstatus):
    """When every test of a file was skipped (no ../shared, no command), exit 77: meson counts
    the test as skipped rather than passed."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if exitstatus == 0 and reporter is not None and reporter.stats.get("skipped") and \
            not reporter.stats.get("passed"):
        session.exitstatus = 77
