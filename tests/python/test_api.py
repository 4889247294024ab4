"""The Python binding's API: round trips on the fixtures, conversions, the streaming translator,
errors and bad arguments, the GIL released during C calls, threads, and memory that does not
grow over many calls."""
import email
import email.policy
import gc
import json
import os
import sys
import subprocess
import pydoc
import threading
import time

import pytest

import mimeutf8
from conftest import CLI, FIXTURES, fixture_names, read


# ---- normalize ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", fixture_names())
def test_normalize__fixture_round_trip(name):
    data = read(os.path.join(FIXTURES, "messages", name))
    expected = read(os.path.join(FIXTURES, "expected", name))
    result = mimeutf8.normalize(data)
    assert result.data == expected
    if expected == data:  # nothing needed, or passed through (then with a reason)
        assert result.status in ("unchanged", "passthrough")
        assert (result.error is not None) == (result.status == "passthrough")
    else:
        assert result.status == "normalized"
    assert result.report["status"] == result.status
    assert result.report["bytes_in"] == len(data)
    assert result.report["bytes_out"] == len(expected)
    # idempotent: the output needs nothing more
    again = mimeutf8.normalize(result.data)
    assert again.status != "normalized" and again.data == result.data


def test_normalize__converts_and_reports():
    data = read(os.path.join(FIXTURES, "messages", "latin1-qp.eml"))
    result = mimeutf8.normalize(data, name="latin1-qp.eml")
    assert result.status == "normalized" and result.error is None
    report = result.report
    assert report["name"] == "latin1-qp.eml"
    part = report["parts"][0]
    assert (part["declared"], part["charset"], part["action"]) == \
        ("iso-8859-1", "windows-1252", "converted")
    # read back with Python's email package, not GMime
    msg = email.message_from_bytes(result.data, policy=email.policy.default)
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_payload(decode=True).decode("utf-8", "strict")
    assert result.report_json.startswith('{"name":"latin1-qp.eml","status":"normalized"')


def test_normalize__options_reach_the_library():
    data = (b"From: a@example.com\nSubject: =?iso-8859-1?q?caf=E9?=\nMIME-Version: 1.0\n"
            b"Content-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9 " + b"x" * 100 + b"\n")
    encoded = mimeutf8.normalize(data)
    utf8 = mimeutf8.normalize(data, headers="utf8")
    keep = mimeutf8.normalize(data, headers="keep")
    assert "Subject: =?utf-8?".encode() in encoded.data.replace(b"UTF-8", b"utf-8")
    assert "Subject: café".encode() in utf8.data
    assert b"Subject: =?iso-8859-1?q?caf=E9?=" in keep.data
    seven = mimeutf8.normalize(data, seven_bit=True)
    assert all(b < 0x80 for b in seven.data)
    assert seven.report["parts"][0]["encoding_out"] in ("quoted-printable", "base64")
    # unlabelled 8-bit text that detection cannot place: the fallback decides
    bare = b"From: a@example.com\n\nna\xefve\n"
    assert mimeutf8.normalize(bare).report["parts"][0]["charset"] == "windows-1252"
    assert mimeutf8.normalize(bare, fallback="koi8-r").report["parts"][0]["charset"] == "koi8-r"
    # a limit: passed through, not raised
    over = mimeutf8.normalize(data, max_message_size=10)
    assert over.status == "passthrough" and over.data == data
    assert isinstance(over.error, mimeutf8.LimitError)
    assert over.report["reason"].startswith("limit:")


def test_normalize__strict_policy_leaves_bad_text_alone():
    data = (b"From: a@example.com\nMIME-Version: 1.0\n"
            b"Content-Type: text/plain; charset=utf-8\n\nab\xff\xfe cd\n")
    # one U+FFFD per maximal invalid subpart: \xff and \xfe are two
    assert mimeutf8.normalize(data, policy="declared").report["parts"][0]["replacements"] == 2
    part = mimeutf8.normalize(data, policy="strict").report["parts"][0]
    assert part["action"] == "left-alone" and part["reason"].startswith("strict")


@pytest.mark.parametrize("data", [b"", b"\0\0\0", b"\xff" * 1000, b"not a message at all",
                                  b"Content-Type: multipart/mixed; boundary=x\n\n--x\n" * 50,
                                  bytes(range(256)) * 40])
def test_normalize__malformed_never_raises(data):
    result = mimeutf8.normalize(data)
    assert result.status in ("unchanged", "passthrough", "normalized")
    if result.status != "normalized":
        assert result.data == data
    if result.status == "passthrough":
        assert isinstance(result.error, mimeutf8.Error) and result.report["reason"]


def test_normalize__accepts_any_bytes_like():
    data = read(os.path.join(FIXTURES, "messages", "latin1-qp.eml"))
    expected = mimeutf8.normalize(data).data
    assert mimeutf8.normalize(bytearray(data)).data == expected
    assert mimeutf8.normalize(memoryview(data)).data == expected
    assert mimeutf8.normalize(memoryview(b"XX" + data)[2:]).data == expected


def test_normalize__bad_arguments():
    with pytest.raises(TypeError, match="not str"):
        mimeutf8.normalize("From: a\n\nhi")
    with pytest.raises(TypeError):
        mimeutf8.normalize(12)
    with pytest.raises(TypeError):
        mimeutf8.normalize(None)
    with pytest.raises(mimeutf8.OptionsError, match="policy"):
        mimeutf8.normalize(b"", policy="loose")
    with pytest.raises(ValueError):  # OptionsError is a ValueError too
        mimeutf8.normalize(b"", headers="raw")
    with pytest.raises(mimeutf8.OptionsError, match="fallback"):
        mimeutf8.normalize(b"", fallback="no-such-charset")
    with pytest.raises(TypeError, match="max_partz"):
        mimeutf8.normalize(b"", max_partz=3)
    with pytest.raises(TypeError):
        mimeutf8.normalize(b"", max_parts="3")
    with pytest.raises(mimeutf8.OptionsError, match="out of range"):
        mimeutf8.normalize(b"", max_depth=-1)
    with pytest.raises(mimeutf8.OptionsError, match="out of range"):
        mimeutf8.normalize(b"", max_parts=2**32)
    with pytest.raises(TypeError):
        mimeutf8.normalize(b"", "lenient")  # options are keywords only


# ---- parse: the parsed view ------------------------------------------------------------------


def test_parse__same_view_as_the_command():
    """mimeutf8.parse gives, for every fixture, the object mimeutf8 --json prints."""
    names = fixture_names()
    paths = [os.path.join(FIXTURES, "messages", n) for n in names]
    r = subprocess.run([CLI, "--json"] + paths, capture_output=True, check=True)
    lines = r.stdout.decode("utf-8").splitlines()
    assert len(lines) == len(names)
    for path, line in zip(paths, lines):
        assert mimeutf8.parse(read(path), name=path) == json.loads(line), path


def test_parse__headers_parts_and_texts():
    view = mimeutf8.parse(read(os.path.join(FIXTURES, "messages", "nested-rfc822.eml")))
    assert view["status"] == "normalized" and view["name"] is None
    assert view["subject"] == "Fwd: spotkanie"
    assert [(p["path"], p["type"]) for p in view["parts"]] == [
        ("0", "multipart/mixed"), ("1", "text/plain"), ("2", "message/rfc822"), ("2.1", "text/plain"),
        ("3", "application/pdf")]
    inner = view["parts"][3]
    assert inner["text"] == "Dzień dobry, spotkanie w piątek.\n" and inner["charset"] == "iso-8859-2"
    assert view["parts"][2]["message"]["subject"] == "spotkanie"
    assert view["parts"][4]["filename"] == "a.pdf" and view["parts"][4]["size"] == 48
    assert view["body"] == {"plain": "1", "html": None} and view["attachments"] == ["2", "3"]


def test_parse__malformed_never_raises_bad_options_do():
    for data in (b"", b"\x00\xff garbage", b"Content-Type: multipart/mixed; boundary=x\n\n--x\n"):
        view = mimeutf8.parse(data)
        assert view["status"] in ("unchanged", "normalized", "passthrough"), view
    assert mimeutf8.parse(read(os.path.join(FIXTURES, "messages", "koi8r-8bit.eml")),
                          max_message_size=10)["reason"].startswith("limit:")
    with pytest.raises(mimeutf8.OptionsError):
        mimeutf8.parse(b"x", policy="loose")
    with pytest.raises(TypeError):
        mimeutf8.parse("a str")


# ---- converting text ---------------------------------------------------------------------------


def test_convert__labels_and_replacements():
    assert mimeutf8.convert(b"caf\xe9", "latin1") == "café"
    assert mimeutf8.convert(b"\x80", "iso-8859-1") == "€"  # windows-1252, as mail means it
    assert mimeutf8.convert("日本".encode("shift_jis"), "shift_jis") == "日本"
    assert mimeutf8.convert(b"a\xffb\0c", "utf-8") == "a\ufffdb\ufffdc"
    assert mimeutf8.convert(b"", "utf-8") == ""
    # no sniffing: a UTF-8 byte-order mark under latin1 is three latin1 characters
    assert mimeutf8.convert(b"\xef\xbb\xbfx", "latin1") == "ï»¿x"


def test_convert_text__counts_and_evidence():
    # a few bad bytes in mostly valid UTF-8 keep the label; each becomes U+FFFD
    c = mimeutf8.convert_text("é€ a".encode() + b"\xffb", "utf-8")
    assert (c.text, c.charset, c.replacements, c.first_replacement) == \
        ("é€ a\ufffdb", "utf-8", 1, 7)
    assert (c.bytes_in, c.bytes_out) == (9, 11)
    ok = mimeutf8.convert_text("déjà".encode(), "iso-8859-1")  # valid UTF-8 wins the label
    assert (ok.text, ok.charset, ok.replacements, ok.first_replacement) == \
        ("déjà", "utf-8", 0, -1)
    assert mimeutf8.convert_text(b"\xef\xbb\xbfhi", None).text == "hi"  # byte-order mark
    assert mimeutf8.convert_text(b"plain").charset in ("us-ascii", "windows-1252", "utf-8")
    assert mimeutf8.convert_text(b"caf\xe9", "nonsense").text == "café"  # lenient: undeclared
    with pytest.raises(mimeutf8.UnknownCharsetError):
        mimeutf8.convert_text(b"x", "nonsense", policy="declared")
    with pytest.raises(mimeutf8.InvalidInputError):
        mimeutf8.convert_text(b"a\xffb", "utf-8", policy="strict")


def test_convert__bad_arguments():
    with pytest.raises(mimeutf8.UnknownCharsetError, match="x-nope"):
        mimeutf8.convert(b"x", "x-nope")
    with pytest.raises(LookupError):  # as codecs.lookup raises
        mimeutf8.convert(b"x", "utf-8//TRANSLIT")
    with pytest.raises(mimeutf8.UnknownCharsetError):
        mimeutf8.convert(b"x", "utf-8\0")
    with pytest.raises(TypeError):
        mimeutf8.convert("text", "utf-8")
    with pytest.raises(TypeError):
        mimeutf8.convert(b"x", None)
    with pytest.raises(TypeError):
        mimeutf8.convert(b"x", b"utf-8")


def test_translator__chunks_cut_anywhere():
    text = "Grüße, 日本語, ½ € " * 50
    for charset, codec in (("utf-8", "utf-8"), ("gb18030", "gb18030"), ("euc-jp", "euc-jp"),
                           ("iso-2022-jp", "iso-2022-jp")):
        data = text.replace("½ € ", "").replace("ü", "u").replace("ß", "ss") \
            if charset in ("euc-jp", "iso-2022-jp") else text
        raw = data.encode(codec)
        for step in (1, 2, 3, 7, 64):
            with mimeutf8.Translator(charset) as t:
                out = "".join(t.convert(raw[i:i + step]) for i in range(0, len(raw), step))
                out += t.end()
                assert out == data, (charset, step)
                assert t.replacements == 0 and t.first_replacement == -1


def test_translator__end_flushes_and_counts():
    t = mimeutf8.Translator("utf8")
    assert t.charset == "utf-8"
    assert t.convert(b"ab\xe2\x82") == "ab"  # a cut character is held back
    assert t.end() == "\ufffd"
    assert t.replacements == 1 and t.first_replacement == 2
    assert t.convert(b"\xe2\x82\xac") == "€"  # ready for new input; counts kept
    assert t.replacements == 1
    t.reset()
    assert t.replacements == 0
    t.close()
    t.close()  # twice is fine
    with pytest.raises(ValueError, match="closed"):
        t.convert(b"x")
    assert "closed" in repr(t)
    with pytest.raises(mimeutf8.UnknownCharsetError):
        mimeutf8.Translator("klingon")


def test_canonical():
    assert mimeutf8.canonical("latin1") == "windows-1252"
    assert mimeutf8.canonical(" UTF8 ") == "utf-8"
    assert mimeutf8.canonical("ks_c_5601-1987") == "euc-kr"
    assert mimeutf8.canonical("unknown-8bit") is None
    assert mimeutf8.canonical("x\0y") is None
    with pytest.raises(TypeError):
        mimeutf8.canonical(None)


def test_errors_form_a_hierarchy():
    for cls in (mimeutf8.UnknownCharsetError, mimeutf8.LimitError, mimeutf8.InputOutputError,
                mimeutf8.OptionsError, mimeutf8.ParseError, mimeutf8.NoMemoryError,
                mimeutf8.InvalidInputError):
        assert issubclass(cls, mimeutf8.Error)
    assert issubclass(mimeutf8.InputOutputError, OSError)
    assert issubclass(mimeutf8.UnknownCharsetError, LookupError)
    try:
        mimeutf8.convert(b"", "nope")
    except mimeutf8.Error as e:
        assert e.code == 2


def test_help_reads_well():
    text = pydoc.render_doc(mimeutf8, renderer=pydoc.plaintext)
    for needle in ("normalize(data", "passthrough", "class Translator", "convert(data",
                   "canonical(label", "UnknownCharsetError"):
        assert needle in text, needle
    for name in mimeutf8.__all__:
        obj = getattr(mimeutf8, name)
        if callable(obj):
            assert obj.__doc__ and len(obj.__doc__.strip()) > 20, name
    assert os.path.isfile(os.path.join(os.path.dirname(mimeutf8.__file__), "py.typed"))
    assert mimeutf8.version() == mimeutf8.__version__ and mimeutf8.__version__.count(".") == 2


def test_iconv_guard_holds_in_python(tmp_path):
    """The library's charset allowlist holds in an interpreter, where it is dlopen()ed: a
    message naming the CVE-2024-2961 converter in an encoded-word and in RFC 2231 parameters
    opens no converter outside the label table, while glibc in the same process still opens it
    (the control).  Every iconv_open of a child interpreter is logged by tests/iconv-log.c."""
    shim = os.environ.get("MIMEUTF8_ICONV_LOG_SHIM")
    if not shim or not os.path.exists(shim):
        pytest.skip("tests/iconv-log.c's shim is not built (MIMEUTF8_ICONV_LOG_SHIM)")
    during, control = tmp_path / "during.log", tmp_path / "control.log"
    child = """if True:
        import ctypes, os, mimeutf8
        message = (b"From: =?ISO-2022-CN-EXT?B?GyQpQQ4hIQ8=?= <a@example.com>\\n"
                   b"Subject: =?IBM1364?Q?x?= =?ISO-8859-2?Q?=B1?=\\nMIME-Version: 1.0\\n"
                   b"Content-Type: text/plain; charset=iso-8859-2;\\n"
                   b" name*=ISO-2022-CN-EXT''%%1B%%24%%29A%%0E\\n"
                   b"Content-Disposition: attachment; filename*=IBM1364''x\\n\\n\\xb1\\n")
        assert mimeutf8.normalize(message).status == "normalized"
        os.environ["MIMEUTF8_ICONV_LOG"] = %r
        libc = ctypes.CDLL(None)  # the global scope: the preloaded shim's iconv_open first
        libc.iconv_open.restype = ctypes.c_void_p
        assert libc.iconv_open(b"UTF-8", b"ISO-2022-CN-EXT") not in (None, ctypes.c_void_p(-1).value)
    """ % str(control)
    env = dict(os.environ, LD_PRELOAD=shim, MIMEUTF8_ICONV_LOG=str(during))
    r = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    opened = [line.split("\t") for line in during.read_text().splitlines()]
    assert any(l[1].upper() == "ISO-8859-2" and l[2] == "ok" for l in opened), opened
    bad = [l for l in opened if l[2] == "ok" and any(
        cve in (l[0] + l[1]).upper() for cve in ("ISO-2022-CN", "IBM1364"))]
    assert not bad, "a converter outside the table was opened: %s" % bad
    assert ["UTF-8", "ISO-2022-CN-EXT", "ok"] in [l.split("\t") for l in control.read_text().splitlines()]


# ---- the GIL, threads, memory -----------------------------------------------------------------


def test_c_calls_release_the_gil():
    """While one thread is inside a long C call, another keeps running Python code: the longest
    pause it sees during the call is far shorter than the call (with the GIL held it would be
    the whole call, every time).  The machine may deschedule the other thread for a moment (the
    suite runs tests in parallel), so each call gets up to five tries; a call that held the GIL
    could pass none.  The C functions are called directly, so that the wrapper's own Python
    work (decoding the result, which holds the GIL as it should) is not in the measured window."""
    from mimeutf8 import _ffi, _lib

    big = (b"From: a@example.com\nMIME-Version: 1.0\nContent-Type: text/plain; "
           b"charset=iso-8859-1\n\n" + b"caf\xe9 cr\xe8me br\xfbl\xe9e\n" * 600000)
    # the single-byte table converts at hundreds of MB/s on a quiet machine: four times the
    # message gives it a call long enough to measure
    text = b"caf\xe9 cr\xe8me br\xfbl\xe9e\n" * 2400000
    state = {"run": True, "measure": False, "gap": 0.0, "ticks": 0}

    def ticker():
        last = time.perf_counter()
        while state["run"]:
            now = time.perf_counter()
            if state["measure"]:
                state["gap"] = max(state["gap"], now - last)
                state["ticks"] += 1
            last = now

    def attempt(data, call):
        out = _lib.g_byte_array_sized_new(2 * len(data))
        state.update(run=True, measure=False, gap=0.0, ticks=0)
        thread = threading.Thread(target=ticker)
        thread.start()
        try:
            time.sleep(0.05)
            state["measure"] = True
            t0 = time.perf_counter()
            call(out)
            duration = time.perf_counter() - t0
            state["measure"] = False
        finally:
            state["run"] = False
            thread.join()
            _lib.g_byte_array_free(out, True)
        return duration, state["gap"], state["ticks"]

    calls = (("mimeutf8_normalize_buffer", big, lambda out: _lib.mimeutf8_normalize_buffer(
                  _ffi.NULL, big, len(big), out, _ffi.NULL, _ffi.NULL)),
             ("mimeutf8_convert", text, lambda out: _lib.mimeutf8_convert(
                  b"latin1", text, len(text), out, _ffi.NULL, _ffi.NULL)))
    for name, data, call in calls:
        tries = []
        for _ in range(5):
            duration, gap, ticks = attempt(data, call)
            tries.append("stalled %.3f s of %.3f s (%d ticks)" % (gap, duration, ticks))
            if duration > 0.01 and ticks > 1000 and gap < duration / 2:
                break
        else:
            raise AssertionError("%s: the other thread stalled in every try: %s"
                                 % (name, "; ".join(tries)))


def test_generated_module_releases_the_gil_in_every_call():
    source = os.path.join(os.path.dirname(mimeutf8.__file__), "_mimeutf8.c")
    if not os.path.exists(source):
        pytest.skip("the generated C source is only in the build directory")
    text = open(source).read()
    wrappers = text.split("\n_cffi_f_")[1:]
    assert len(wrappers) >= 20
    for body in wrappers:
        name = body.split("(", 1)[0]
        body = body.split("\n}\n", 1)[0]
        assert "Py_BEGIN_ALLOW_THREADS" in body, name


def test_threads__same_results_as_one_thread(gen_corpus):
    inputs = [read(os.path.join(FIXTURES, "messages", n)) for n in fixture_names()]
    inputs += [read(os.path.join(gen_corpus, n)) for n in sorted(os.listdir(gen_corpus))[:120]]
    single = [(r.data, r.report_json) for r in map(mimeutf8.normalize, inputs)]
    texts = [(d, "gb18030") for d in inputs[:30]]
    single_text = [mimeutf8.convert(d, c) for d, c in texts]
    barrier = threading.Barrier(8)
    found = [None] * 8

    def work(k):
        barrier.wait(timeout=60)
        out = []
        for round_ in range(2):
            order = inputs if (k + round_) % 2 == 0 else inputs[::-1]
            results = [(r.data, r.report_json) for r in map(mimeutf8.normalize, order)]
            out.append(results if order is inputs else results[::-1])
            out.append([mimeutf8.convert(d, c) for d, c in texts])
        found[k] = out

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    for k in range(8):
        assert found[k] is not None, "thread %d failed" % k
        for i, results in enumerate(found[k]):
            expected = single if i % 2 == 0 else single_text
            bad = [j for j, (a, b) in enumerate(zip(results, expected)) if a != b]
            assert not bad, "thread %d round %d: %d results differ, first input %d" % (
                k, i, len(bad), bad[0])


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


CALLS = int(os.environ.get("MIMEUTF8_LEAK_CALLS", "20000"))


def test_memory__no_growth_over_many_calls():
    """Every C object is freed before a call returns: after a warm-up, RSS stays flat over
    CALLS rounds of normalizations, conversions and translators (MIMEUTF8_LEAK_CALLS, default
    20,000 rounds)."""
    messages = [read(os.path.join(FIXTURES, "messages", n)) for n in fixture_names()]
    text = "Grüße € ".encode("cp1252") * 20

    def round_(n):
        for i in range(n):
            mimeutf8.normalize(messages[i % len(messages)], name="m")
            mimeutf8.convert(text, "windows-1252")
            mimeutf8.convert_text(text, "utf-8")
            with mimeutf8.Translator("gb18030") as t:
                t.convert(b"\x81")
                t.end()
            if i % 7 == 0:
                mimeutf8.Translator("utf-8")  # freed by the collector of its refcount
                try:
                    mimeutf8.convert(b"x", "nope")
                except mimeutf8.UnknownCharsetError:
                    pass
                mimeutf8.normalize(b"\0", max_parts=1)

    round_(min(2000, CALLS))
    gc.collect()
    before = rss_kib()
    round_(CALLS)
    gc.collect()
    grown = rss_kib() - before
    # a leak of a single 100-byte string per call would be 2 MB over 20,000 calls
    assert grown < 1024 + CALLS // 100, "RSS grew by %d KiB over %d calls" % (grown, CALLS)
