"""mimeutf8.normalize in process gives byte for byte what the command gives: the same output and
the same report line, on a gen.py corpus and on ../shared/corpus/real."""
import json
import os
import sys

import mimeutf8
from conftest import HERE, SHARED, need_cli, need_shared, read, run_cli


def compare_with_cli(src, names, out, options=(), **kwargs):
    paths = [os.path.join(src, n) for n in names]
    report = out + ".jsonl"
    run_cli(["-j", "2", "-o", out, "--report", report] + list(options) + paths)
    lines = open(report, encoding="utf-8").read().splitlines()
    assert len(lines) == len(paths)
    differ = []
    statuses = {}
    for path, line in zip(paths, lines):
        result = mimeutf8.normalize(read(path), name=path, **kwargs)
        statuses[result.status] = statuses.get(result.status, 0) + 1
        if result.data != read(os.path.join(out, os.path.basename(path))):
            differ.append("%s: output" % path)
        elif result.report_json != line:
            differ.append("%s: report %s vs %s" % (path, result.report_json, line))
        elif result.report != json.loads(line):
            differ.append("%s: report dict" % path)
    assert not differ, "%d of %d differ from the command: %s" % (len(differ), len(paths),
                                                                differ[:5])
    return statuses


def test_corpus__gen_same_as_cli(gen_corpus, tmp_path):
    need_cli()
    names = sorted(os.listdir(gen_corpus))
    statuses = compare_with_cli(gen_corpus, names, str(tmp_path / "out"))
    assert statuses.get("normalized", 0) > len(names) // 2, statuses
    print("gen corpus: %s" % statuses)


def test_corpus__gen_same_as_cli_with_options(gen_corpus, tmp_path):
    need_cli()
    names = sorted(os.listdir(gen_corpus))[:80]
    compare_with_cli(gen_corpus, names, str(tmp_path / "out"),
                     ["--policy=declared", "--headers=utf8", "--7bit", "--max-parts=5",
                      "--fallback-charset=koi8-r"],
                     policy="declared", headers="utf8", seven_bit=True, max_parts=5,
                     fallback="koi8-r")


def test_corpus__real_same_as_cli(tmp_path):
    need_cli()
    need_shared()
    sys.path.insert(0, os.path.dirname(HERE))
    from corpus import real_messages  # tests/corpus.py: corpus/real flattened to NNNNN.eml

    src, names = real_messages(SHARED, str(tmp_path))
    statuses = compare_with_cli(src, names, str(tmp_path / "out"))
    assert len(names) > 1000 and statuses.get("normalized", 0) > 100, statuses
    print("corpus/real: %d messages, %s" % (len(names), statuses))
