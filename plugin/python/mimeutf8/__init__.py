"""mimeutf8: turn raw RFC 822 mail into a message whose text parts are all UTF-8, in process.

This is the Python binding of libmimeutf8 (CFFI, API mode, over the public header mimeutf8.h).
Every call into C releases the GIL, so threads normalize in parallel; every C object is freed
before the call returns (a Translator when it is closed or collected).

    >>> import mimeutf8
    >>> result = mimeutf8.normalize(raw_bytes)
    >>> result.status, result.data        # "normalized" | "unchanged" | "passthrough", bytes
    >>> result.report["parts"][0]["charset"]
    >>> mimeutf8.convert(b"caf\\xe9", "latin1")
    'café'

A message never raises for what it holds: one that cannot be normalized (it does not parse, it
is over a limit) comes back unchanged with status "passthrough", and `result.error` says why.
Exceptions (all subclasses of mimeutf8.Error) are for the caller's mistakes and local faults:
an unknown charset label, a bad option, memory or I/O.

For many messages across machines, see mimeutf8.dask (`python3 -m mimeutf8.dask --help`).
"""

import json as _json
import threading as _threading
from typing import Any, Dict, NamedTuple, Optional, Union

import os as _os
import sys as _sys

# libmimeutf8 keeps charset names outside its table away from GMime itself (mime/iconv-guard.c:
# GMime parses a same-length copy in which such names are unusable), so no symbol binding or
# dlopen flag is needed for the guard to hold in an interpreter.
from ._mimeutf8 import ffi as _ffi, lib as _lib

__all__ = [
    "normalize", "Result", "parse", "convert", "convert_text", "Conversion", "Translator", "canonical",
    "version", "Error", "UnknownCharsetError", "OptionsError", "LimitError", "ParseError",
    "InvalidInputError", "InputOutputError", "NoMemoryError", "LIMITS",
]

Buffer = Union[bytes, bytearray, memoryview]

# ---- errors ----------------------------------------------------------------------------------


class Error(Exception):
    """An error of libmimeutf8 (the MIMEUTF8_ERROR domain).  `code` is its MimeUtf8Error."""

    code = 0

    def __init__(self, message: str, code: Optional[int] = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class ParseError(Error):
    """The message could not be parsed as MIME (a message passed through says so in
    Result.error; it is never raised)."""

    code = 1


class UnknownCharsetError(Error, LookupError):
    """A charset label is not in the library's label table."""

    code = 2


class InputOutputError(Error, OSError):
    """Reading the input or writing the output failed.  Transient: the caller may retry."""

    code = 3


class OptionsError(Error, ValueError):
    """An option has a bad value (an unknown policy, fallback charset, limit...)."""

    code = 4


class LimitError(Error):
    """A limit on the input's size or shape was hit.  The message was passed through unchanged:
    this is found in Result.error, never raised by normalize."""

    code = 5


class NoMemoryError(Error, MemoryError):
    """Memory ran out.  Transient."""

    code = 6


class InvalidInputError(Error, ValueError):
    """Bytes do not decode in their charset and the strict policy forbids replacing them."""

    code = 7


_ERRORS = {cls.code: cls for cls in (ParseError, UnknownCharsetError, InputOutputError,
                                     OptionsError, LimitError, NoMemoryError,
                                     InvalidInputError)}


def _error_of(gerror: Any, default: str) -> Error:
    """The exception for a GError* (NULL gives a plain Error with `default`)."""
    if gerror == _ffi.NULL:
        return Error(default)
    message = _ffi.string(gerror.message).decode("utf-8", "replace")
    code = gerror.code
    cls = _ERRORS.get(code, Error) if gerror.domain == _lib.mimeutf8_error_quark() else Error
    return cls(message, code)


# ---- helpers ---------------------------------------------------------------------------------

_POLICIES = {"lenient": _lib.MIMEUTF8_POLICY_LENIENT, "declared": _lib.MIMEUTF8_POLICY_DECLARED,
             "strict": _lib.MIMEUTF8_POLICY_STRICT}
_HEADERS = {"encoded": _lib.MIMEUTF8_HEADERS_ENCODED, "utf8": _lib.MIMEUTF8_HEADERS_UTF8,
            "keep": _lib.MIMEUTF8_HEADERS_KEEP}
_STATUSES = {_lib.MIMEUTF8_STATUS_NORMALIZED: "normalized",
             _lib.MIMEUTF8_STATUS_UNCHANGED: "unchanged",
             _lib.MIMEUTF8_STATUS_PASSTHROUGH: "passthrough",
             _lib.MIMEUTF8_STATUS_FAILED: "failed"}

#: The limits normalize() takes as keywords (the fields of MimeUtf8Options; 0 or None is the
#: library's default): sizes in bytes, counts, and timeout_ms in milliseconds.
LIMITS = ("max_message_size", "max_depth", "max_parts", "max_header_block", "max_params",
          "max_encoded_words", "timeout_ms")
_LIMIT_MAX = {"max_message_size": 2**64 - 1, "max_header_block": 2**64 - 1}


def _label(value: Optional[str], what: str) -> Any:
    """A charset label as a C string (ASCII only: every label of the table is)."""
    if value is None:
        return _ffi.NULL
    if not isinstance(value, str):
        raise TypeError("%s must be a str, not %s" % (what, type(value).__name__))
    if "\0" in value:
        raise UnknownCharsetError("unknown charset label %r" % value, 2)
    return value.encode("utf-8", "surrogateescape")


def _input(data: Buffer, what: str = "data") -> Any:
    if isinstance(data, str):
        raise TypeError("%s must be bytes, not str (encode it, or use it as it came off the wire)"
                        % what)
    try:
        return _ffi.from_buffer("char[]", data)
    except TypeError:
        raise TypeError("%s must be a bytes-like object, not %s"
                        % (what, type(data).__name__)) from None


def _options(policy: str, headers: str, fallback: Optional[str], seven_bit: bool,
             convert_signed: bool, limits: Dict[str, Optional[int]]) -> tuple:
    """A MimeUtf8Options and the C strings it points to (to keep alive with it)."""
    options = _ffi.new("MimeUtf8Options *")  # zero: the default of every field
    options.version = _lib.MIMEUTF8_OPTIONS_VERSION
    try:
        options.policy = _POLICIES[policy]
    except (KeyError, TypeError):
        raise OptionsError("policy must be one of %s, not %r"
                           % (", ".join(_POLICIES), policy), 4) from None
    try:
        options.headers = _HEADERS[headers]
    except (KeyError, TypeError):
        raise OptionsError("headers must be one of %s, not %r"
                           % (", ".join(_HEADERS), headers), 4) from None
    fallback_c = _label(fallback, "fallback")
    if fallback_c != _ffi.NULL:
        fallback_c = _ffi.new("char[]", fallback_c)  # a struct field holds no Python bytes
    options.fallback_charset = fallback_c
    options.force_7bit = bool(seven_bit)
    options.convert_signed = bool(convert_signed)
    for key, value in limits.items():
        if key not in LIMITS:
            raise TypeError("unexpected keyword argument %r (the limits are %s)"
                            % (key, ", ".join(LIMITS)))
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("%s must be an int, not %s" % (key, type(value).__name__))
        if not 0 <= value <= _LIMIT_MAX.get(key, 2**32 - 1):
            raise OptionsError("%s out of range: %d" % (key, value), 4)
        setattr(options, key, value)
    return options, fallback_c


def _take_text(array: Any) -> str:
    """The UTF-8 text of a GByteArray, decoded straight from it; the array is freed."""
    try:
        return str(_ffi.buffer(array.data, array.len), "utf-8") if array.len else ""
    finally:
        _lib.g_byte_array_free(array, True)


# ---- normalizing messages --------------------------------------------------------------------


class Result:
    """What normalize() made of one message.

    data    the normalized message (bytes); the input itself when status is not "normalized"
    status  "normalized" (something was rewritten), "unchanged" (nothing needed a change) or
            "passthrough" (could not be normalized; `error` says why)
    report  the report as a dict, the same as one line of `mimeutf8 --report` (README, "Report")
    report_json  that line as text, without the newline
    error   for "passthrough", the reason as a mimeutf8.Error (LimitError, ParseError...), not
            raised; else None
    """

    __slots__ = ("data", "status", "report_json", "error", "_report")

    def __init__(self, data: bytes, status: str, report_json: str, error: Optional[Error]):
        self.data = data
        self.status = status
        self.report_json = report_json
        self.error = error
        self._report: Optional[Dict[str, Any]] = None

    @property
    def report(self) -> Dict[str, Any]:
        """The report as a dict (parsed once, on first use)."""
        if self._report is None:
            self._report = _json.loads(self.report_json)
        return self._report

    def __repr__(self) -> str:
        return "<mimeutf8.Result %s, %d bytes>" % (self.status, len(self.data))


def normalize(data: Buffer, *, policy: str = "lenient", headers: str = "encoded",
              fallback: Optional[str] = "windows-1252", seven_bit: bool = False,
              convert_signed: bool = False, name: Optional[str] = None,
              **limits: Optional[int]) -> Result:
    """Normalizes one RFC 822 message so that every text part is UTF-8.

    data            the raw message, bytes as read from the wire or a file
    policy          "lenient" (evidence first, then the label, then detection), "declared"
                    (trust the label) or "strict" (a part that does not decode exactly as
                    labelled is left alone)
    headers         "encoded" (rewritten headers as RFC 2047 UTF-8), "utf8" (raw UTF-8, RFC 6532)
                    or "keep"
    fallback        charset for 8-bit text with no usable label that detection cannot place
    seven_bit       make every rewritten body 7-bit clean (quoted-printable or base64)
    convert_signed  convert inside signed and encrypted content too (breaks the signature)
    name            the "name" field of the report (None gives null)
    **limits        any of max_message_size, max_depth, max_parts, max_header_block,
                    max_params, max_encoded_words, timeout_ms (None or 0: the default)

    Returns a Result.  A malformed message or one over a limit is not an error: it comes back
    unchanged with status "passthrough".  Raises OptionsError or UnknownCharsetError for bad
    options, TypeError for a str or a wrong type, NoMemoryError when memory ran out.
    """
    options, keep = _options(policy, headers, fallback, seven_bit, convert_signed, limits)
    buf = _input(data)
    size = len(buf)
    out = _lib.g_byte_array_sized_new(min(size + size // 8 + 64, 2**32 - 1))
    report = _ffi.new("MimeUtf8Report **")
    gerror = _ffi.new("GError **")
    status = _lib.MIMEUTF8_STATUS_FAILED
    try:
        status = _lib.mimeutf8_normalize_buffer(options, buf, size, out, report, gerror)
        json_c = _lib.mimeutf8_report_to_json(
            report[0], _ffi.NULL if name is None else name.encode("utf-8", "surrogateescape"))
        try:
            report_json = _ffi.string(json_c).decode("utf-8")
        finally:
            _lib.g_free(json_c)
        error = None
        if status >= _lib.MIMEUTF8_STATUS_PASSTHROUGH:
            error = _error_of(gerror[0], "failed")
        if status == _lib.MIMEUTF8_STATUS_NORMALIZED:
            result_data = _ffi.buffer(out.data, out.len)[:]
        else:
            result_data = bytes(data)  # byte for byte the input (no copy when it is bytes)
    finally:
        _lib.mimeutf8_report_free(report[0])
        if gerror[0] != _ffi.NULL:
            _lib.g_error_free(gerror[0])
        _lib.g_byte_array_free(out, True)
    del keep
    if status == _lib.MIMEUTF8_STATUS_FAILED:
        raise error  # type: ignore[misc]  # options, memory: never the message's fault
    return Result(result_data, _STATUSES[status], report_json, error)


def parse(data: Buffer, *, policy: str = "lenient", fallback: Optional[str] = "windows-1252",
          name: Optional[str] = None, **limits: Optional[int]) -> Dict[str, Any]:
    """The parsed view of one message: its decoded headers and its parts, each text part with
    the UTF-8 text normalize() writes for it, as a dict (the object mimeutf8 --json prints;
    keys: README, "The parsed view").

    data, policy, fallback, **limits   as for normalize(); signed content is read as with
                                       convert_signed=True (nothing is rewritten)
    name                               the "name" key (None gives null)

    A malformed message or one over a limit is not an error: its "status" is "passthrough",
    with the "reason", and what could be read.  Raises OptionsError or UnknownCharsetError for
    bad options, TypeError for a str or a wrong type, NoMemoryError when memory ran out.
    """
    options, keep = _options(policy, "encoded", fallback, False, True, limits)
    buf = _input(data)
    gerror = _ffi.new("GError **")
    message = _lib.mimeutf8_parse(options, buf, len(buf), gerror)
    del keep
    if message == _ffi.NULL:
        try:
            raise _error_of(gerror[0], "failed")
        finally:
            if gerror[0] != _ffi.NULL:
                _lib.g_error_free(gerror[0])
    try:
        json_c = _lib.json_message(
            message, _ffi.NULL if name is None else name.encode("utf-8", "surrogateescape"))
        try:
            view = _ffi.string(json_c).decode("utf-8")
        finally:
            _lib.g_free(json_c)
    finally:
        _lib.mimeutf8_message_free(message)
    return _json.loads(view)


def _passthrough_json(reason: str, size: int, name: Optional[str]) -> str:
    """The report line of a message written through unchanged for `reason` by a caller that
    supervises normalization from outside (mimeutf8.dask, when a message kills its workers)."""
    report = _lib.mimeutf8_report_new_passthrough(reason.encode("utf-8"), size)
    try:
        json_c = _lib.mimeutf8_report_to_json(
            report, _ffi.NULL if name is None else name.encode("utf-8", "surrogateescape"))
        try:
            return _ffi.string(json_c).decode("utf-8")
        finally:
            _lib.g_free(json_c)
    finally:
        _lib.mimeutf8_report_free(report)


# ---- converting text -------------------------------------------------------------------------


class Conversion(NamedTuple):
    """What convert_text() made of some bytes."""

    #: the text
    text: str
    #: canonical name of the charset the bytes were read in
    charset: str
    #: invalid sequences replaced by U+FFFD (a NUL counts as one)
    replacements: int
    #: input offset of the first replacement, or -1
    first_replacement: int
    bytes_in: int
    bytes_out: int


def _convert_error(gerror: Any) -> Error:
    try:
        return _error_of(gerror[0], "conversion failed")
    finally:
        if gerror[0] != _ffi.NULL:
            _lib.g_error_free(gerror[0])


def convert(data: Buffer, charset: str) -> str:
    """Converts `data` from the charset labelled `charset` to text.

    No MIME assumption is made: no byte-order mark or charset sniffing (convert_text does that).
    Invalid sequences become U+FFFD, one per maximal invalid subpart, and NUL becomes U+FFFD, as
    the library converts a text part.  Raises UnknownCharsetError for a label not in the table.
    """
    if charset is None:
        raise TypeError("charset must be a str, not None")
    label = _label(charset, "charset")
    buf = _input(data)
    size = len(buf)
    out = _lib.g_byte_array_sized_new(min(size + size // 2 + 16, 2**32 - 1))
    gerror = _ffi.new("GError **")
    try:
        status = _lib.mimeutf8_convert(label, buf, size, out, _ffi.NULL, gerror)
    finally:
        text = _take_text(out)
    if status == _lib.MIMEUTF8_CONVERT_ERROR:
        raise _convert_error(gerror)
    return text


def convert_text(data: Buffer, charset: Optional[str] = None, *, policy: str = "lenient",
                 fallback: Optional[str] = "windows-1252") -> Conversion:
    """Converts a text file's bytes with the rules of a text part, and returns a Conversion
    (text, charset used, counts).

    charset  the declared label, or None for none: under the lenient policy a byte-order mark,
             ASCII and valid UTF-8 win over it, and detection and `fallback` place unlabelled
             8-bit text
    policy   "lenient", "declared" or "strict" (then bytes that do not decode exactly raise
             InvalidInputError)
    Raises UnknownCharsetError for an unknown label under "declared" or "strict" (lenient
    treats it as undeclared), OptionsError for a bad policy or fallback.
    """
    options, keep = _options(policy, "encoded", fallback, False, False, {})
    label = _label(charset, "charset")
    buf = _input(data)
    size = len(buf)
    out = _lib.g_byte_array_sized_new(min(size + size // 2 + 16, 2**32 - 1))
    stats = _ffi.new("MimeUtf8ConvertStats *")
    used = _ffi.new("const char **")
    gerror = _ffi.new("GError **")
    try:
        status = _lib.mimeutf8_convert_text(options, label, buf, size, out, stats, used, gerror)
    finally:
        text = _take_text(out)
    del keep
    if status == _lib.MIMEUTF8_CONVERT_ERROR:
        raise _convert_error(gerror)
    return Conversion(text, _ffi.string(used[0]).decode("ascii"),
                      stats.replacements, stats.first_replacement, stats.bytes_in,
                      stats.bytes_out)


class Translator:
    """A streaming converter from one charset to text: convert() chunks, then end().

    Chunks may cut a character anywhere; the text is the same wherever they are cut.  After
    end() the translator takes new input (counts keep adding up until reset()).  Use it as a
    context manager, or call close(), to free it at once; else it is freed when collected.  One
    translator may be shared by threads (calls are serialized).
    """

    def __init__(self, charset: str):
        if charset is None:
            raise TypeError("charset must be a str, not None")
        gerror = _ffi.new("GError **")
        translator = _lib.mimeutf8_translator_new(_label(charset, "charset"), gerror)
        if translator == _ffi.NULL:
            raise _convert_error(gerror)
        self._translator = _ffi.gc(translator, _lib.mimeutf8_translator_free)
        self._lock = _threading.Lock()
        self.charset: str = _ffi.string(
            _lib.mimeutf8_translator_get_charset(translator)).decode("ascii")
        """canonical name of the charset"""

    def _pointer(self) -> Any:
        if self._translator is None:
            raise ValueError("the translator is closed")
        return self._translator

    def convert(self, chunk: Buffer) -> str:
        """Converts one chunk; returns the text it completes (bytes of a character cut at the
        end of the chunk are held back for the next)."""
        buf = _input(chunk, "chunk")
        out = _lib.g_byte_array_sized_new(min(len(buf) + len(buf) // 2 + 16, 2**32 - 1))
        try:
            with self._lock:
                _lib.mimeutf8_translator_convert(self._pointer(), buf, len(buf), out)
        finally:
            text = _take_text(out)
        return text

    def end(self) -> str:
        """Ends the input: returns what was held back (bytes of an unfinished character become
        U+FFFD)."""
        out = _lib.g_byte_array_sized_new(64)
        try:
            with self._lock:
                _lib.mimeutf8_translator_end(self._pointer(), out)
        finally:
            text = _take_text(out)
        return text

    def reset(self) -> None:
        """Forgets held-back bytes and counts."""
        with self._lock:
            _lib.mimeutf8_translator_reset(self._pointer())

    @property
    def replacements(self) -> int:
        """Invalid sequences replaced by U+FFFD so far."""
        return self._stats().replacements

    @property
    def first_replacement(self) -> int:
        """Input offset of the first replacement, or -1."""
        return self._stats().first_replacement

    def _stats(self) -> Any:
        stats = _ffi.new("MimeUtf8ConvertStats *")
        with self._lock:
            _lib.mimeutf8_translator_get_stats(self._pointer(), stats)
        return stats

    def close(self) -> None:
        """Frees the translator now; further calls raise ValueError."""
        with self._lock:
            if self._translator is not None:
                _ffi.release(self._translator)
                self._translator = None

    def __enter__(self) -> "Translator":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<mimeutf8.Translator %s%s>" % (self.charset,
                                               "" if self._translator is not None else ", closed")


def canonical(label: str) -> Optional[str]:
    """The canonical name of a charset label ("latin1" -> "windows-1252"), or None when the
    label is unknown or means "undeclared"."""
    if not isinstance(label, str):
        raise TypeError("label must be a str, not %s" % type(label).__name__)
    if "\0" in label:
        return None
    name = _lib.mimeutf8_charset_canonical(label.encode("utf-8", "surrogateescape"))
    return None if name == _ffi.NULL else _ffi.string(name).decode("ascii")


def version() -> str:
    """The version of the libmimeutf8 in use."""
    return _ffi.string(_lib.mimeutf8_version()).decode("ascii")


__version__ = version()
