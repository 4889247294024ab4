/* mimeutf8.h: the whole public API of libmimeutf8, which turns RFC 822 mail into a message whose
 * text parts are all UTF-8.  What is not declared here is not part of the library. */
#ifndef MIMEUTF8_H
#define MIMEUTF8_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include <gmime/gmime.h>

G_BEGIN_DECLS

#define MIMEUTF8_VERSION_MAJOR 0
#define MIMEUTF8_VERSION_MINOR 1
#define MIMEUTF8_VERSION_MICRO 0
#define MIMEUTF8_VERSION_STRING "0.1.0"

/* The library's version at run time, which may differ from MIMEUTF8_VERSION_STRING at build time. */
const char *mimeutf8_version (void);

/* Initializes GMime and the library once per process.  Safe to call from several threads and more
 * than once; every entry point below calls it itself.  It changes nothing the host owns: the
 * environment (GCONV_PATH included: the mimeutf8 command clears it, a host decides for itself)
 * and the process's iconv_open are left alone.  A host that uses GMime itself from several
 * threads calls this (or g_mime_init) once before starting them, as GMime's own initialization
 * is not thread-safe.
 *
 * Threads.  Every call of this header may be made from any number of threads at once, on
 * different objects: different messages, reports, translators, GMime objects.  One object
 * (a MimeUtf8Translator, a report, a GMimeMessage given to mimeutf8_normalize_message) is used
 * by one thread at a time.  What the library shares between threads is built once and then
 * only read (the label table, the single-byte tables, the descriptors kept open for GMime), or is
 * per thread (iconv descriptor caches, the charset detector); the result of a call never
 * depends on other threads (tests/test-threads.c, also run under ThreadSanitizer).
 *
 * Charset names.  iconv_open never sees a charset name outside the label table because of a
 * message, whether the library is linked or dlopen()ed: GMime parses a private copy of the
 * message, of the same length, in which every such name (in encoded-words and RFC 2231
 * parameters) is made unusable, and every encoded-word of Content-Type and Content-Disposition is
 * disabled; the output is spliced from the original bytes.  Nothing is interposed: the host's
 * own iconv_open, g_convert and GMime calls are not affected. */
void mimeutf8_init (void);

/* ---- Errors ---------------------------------------------------------------------------------- */

#define MIMEUTF8_ERROR (mimeutf8_error_quark ())
GQuark mimeutf8_error_quark (void);

/* Error codes of MIMEUTF8_ERROR.  Append only. */
typedef enum {
	/* The message could not be parsed as MIME; it was passed through unchanged. */
	MIMEUTF8_ERROR_PARSE = 1,
	/* A charset label is not in the label table. */
	MIMEUTF8_ERROR_UNKNOWN_CHARSET = 2,
	/* Reading the input or writing the output failed.  Transient: the caller may retry. */
	MIMEUTF8_ERROR_IO = 3,
	/* An options struct is invalid (unknown version, bad value). */
	MIMEUTF8_ERROR_OPTIONS = 4,
	/* A limit on the input's size or shape was hit; the message was passed through unchanged. */
	MIMEUTF8_ERROR_LIMIT = 5,
	/* Memory ran out.  Transient. */
	MIMEUTF8_ERROR_NO_MEMORY = 6,
	/* Bytes do not decode in their charset and the strict policy forbids replacing them. */
	MIMEUTF8_ERROR_INVALID_INPUT = 7,
} MimeUtf8Error;

/* ---- Options --------------------------------------------------------------------------------- */

/* How much a text part's label is trusted. */
typedef enum {
	/* Evidence first: byte-order mark, ASCII, valid UTF-8, the label, then detection. */
	MIMEUTF8_POLICY_LENIENT = 0,
	/* Trust the label; invalid bytes become U+FFFD; no sniffing, no detection. */
	MIMEUTF8_POLICY_DECLARED = 1,
	/* A part that does not decode exactly as labelled is left unchanged and reported. */
	MIMEUTF8_POLICY_STRICT = 2,
} MimeUtf8Policy;

/* How message and part headers are written. */
typedef enum {
	/* Headers that needed a change are rewritten as RFC 2047 UTF-8 encoded-words (RFC 2231
	 * UTF-8 for parameters): the output's headers stay 7-bit, except raw bytes that are never
	 * rewritten: addr-specs, identifier headers (Message-ID, References, In-Reply-To,
	 * Content-ID, MIME-Version, Resent-Message-ID), signatures and Return-Path, and valid UTF-8
	 * in structured headers. */
	MIMEUTF8_HEADERS_ENCODED = 0,
	/* Headers that needed a change are rewritten as raw UTF-8, as RFC 6532 allows. */
	MIMEUTF8_HEADERS_UTF8 = 1,
	/* Headers are not touched. */
	MIMEUTF8_HEADERS_KEEP = 2,
} MimeUtf8HeaderMode;

#define MIMEUTF8_OPTIONS_VERSION 2

/* Options for one normalization.  Declare with MIMEUTF8_OPTIONS_INIT, then set fields: new fields
 * are only ever appended, and `version` tells the library how many the caller knows. */
typedef struct {
	unsigned int version;
	MimeUtf8Policy policy;
	/* Charset label used for 8-bit text that has no usable label and defeats detection.
	 * NULL means windows-1252.  Must be a label of the table. */
	const char *fallback_charset;
	/* Make every converted part 7-bit clean: quoted-printable, or base64 for mostly non-ASCII text. */
	gboolean force_7bit;
	/* Convert signed and encrypted content too (this breaks signatures). */
	gboolean convert_signed;
	MimeUtf8HeaderMode headers;
	/* Limits on what one message may make the library do.  0 means the default (in brackets);
	 * a message over a limit is passed through unchanged, and the report says which limit. */
	uint64_t max_message_size;      /* bytes [50 MiB] */
	unsigned int max_depth;         /* MIME nesting [64] */
	unsigned int max_parts;         /* MIME parts [10,000] */
	uint64_t max_header_block;      /* bytes of one header block [1 MiB] */
	unsigned int max_params;        /* parameters in one header [128] */
	unsigned int max_encoded_words; /* RFC 2047 encoded-words in one header [1,000] */
	unsigned int timeout_ms;        /* wall time for one message [10,000] */
	/* Version 2.  Cancelled (from any thread), it ends a normalization early: the call returns
	 * MIMEUTF8_STATUS_FAILED with G_IO_ERROR_CANCELLED, writes nothing (except a message over
	 * 8 MiB that mimeutf8_normalize_fd was already writing: see there); an in-place message
	 * may then have some of its parts converted, each part whole or not at all.  It is checked
	 * before parsing, between MIME parts and before writing, so a call ends within one part's
	 * work.  NULL: no cancellation.  Not referenced after the call returns. */
	GCancellable *cancellable;
} MimeUtf8Options;

/* clang-format off */
#define MIMEUTF8_OPTIONS_INIT \
	{ MIMEUTF8_OPTIONS_VERSION, MIMEUTF8_POLICY_LENIENT, NULL, FALSE, FALSE, \
	  MIMEUTF8_HEADERS_ENCODED, 0, 0, 0, 0, 0, 0, 0, NULL }
/* clang-format on */

/* ---- Report ---------------------------------------------------------------------------------- */

/* What happened to one message. */
typedef enum {
	/* Something was rewritten. */
	MIMEUTF8_STATUS_NORMALIZED = 0,
	/* Nothing needed a change; the output is the input, byte for byte. */
	MIMEUTF8_STATUS_UNCHANGED = 1,
	/* The message could not be normalized (it does not parse, a limit was hit...); the output is
	 * the input, byte for byte, and the error says why. */
	MIMEUTF8_STATUS_PASSTHROUGH = 2,
	/* A local fault (I/O, memory): there is no usable output.  The error says why. */
	MIMEUTF8_STATUS_FAILED = 3,
} MimeUtf8Status;

/* What was done to one part. */
typedef enum {
	/* The body was converted to UTF-8 (or only relabelled, when it already was UTF-8). */
	MIMEUTF8_ACTION_CONVERTED = 0,
	/* Labelled UTF-8 and valid, or pure ASCII with no label or a US-ASCII one (ASCII is
	 * UTF-8): untouched. */
	MIMEUTF8_ACTION_ALREADY_UTF8 = 1,
	/* Not a text part (a multipart, a message/rfc822 container, an attachment): untouched. */
	MIMEUTF8_ACTION_NOT_TEXT = 2,
	/* A text part deliberately not converted; `reason` says why. */
	MIMEUTF8_ACTION_LEFT_ALONE = 3,
} MimeUtf8Action;

/* Which piece of evidence decided a text part's charset. */
typedef enum {
	MIMEUTF8_RULE_NONE = 0,     /* no decision was made (not text, left alone) */
	MIMEUTF8_RULE_BOM = 1,      /* a byte-order mark */
	MIMEUTF8_RULE_ASCII = 2,    /* only ASCII bytes */
	MIMEUTF8_RULE_UTF8 = 3,     /* valid UTF-8 with non-ASCII, over a legacy or missing label */
	MIMEUTF8_RULE_LABEL = 4,    /* the declared label */
	MIMEUTF8_RULE_DETECTED = 5, /* charset detection on the bytes */
	MIMEUTF8_RULE_META = 6,     /* an HTML <meta> charset */
	MIMEUTF8_RULE_FALLBACK = 7, /* the fallback charset */
	MIMEUTF8_RULE_MESSAGE = 8,  /* a charset the same message declares elsewhere */
} MimeUtf8Rule;

/* The record of one MIME part.  Owned by its report; fields are only ever appended. */
typedef struct {
	/* IMAP-style path in the MIME tree: "1", "1.2", "2.1.1"; "0" is the message itself when it is
	 * a multipart, "" never happens. */
	const char *path;
	/* "type/subtype" in lower case. */
	const char *content_type;
	/* The charset label as declared, unquoted; NULL when the part declares none. */
	const char *declared_charset;
	/* Canonical name of the charset the body was read in; NULL for parts not decoded. */
	const char *charset;
	MimeUtf8Action action;
	/* Why a part was left alone ("signed", "strict", ...); NULL otherwise. */
	const char *reason;
	MimeUtf8Rule rule;
	/* Transfer encodings before and after, lower case ("7bit", "quoted-printable"...). */
	const char *encoding_in;
	const char *encoding_out;
	/* Decoded body bytes before and after conversion. */
	uint64_t bytes_in;
	uint64_t bytes_out;
	/* Invalid sequences replaced by U+FFFD (NUL counts as one; a run of NULs that ends the
	 * body, before its last line breaks, is padding: dropped, not counted), and the input
	 * offset of the first one (-1 when there was none). */
	uint64_t replacements;
	int64_t first_replacement;
	/* The charset detector's answer when it ran, else NULL. */
	const char *detected;
} MimeUtf8PartReport;

/* The record of one header the library rewrote.  Owned by its report; fields only appended. */
typedef struct {
	/* Path of the part whose header it is: "" for the message's own headers, "2" for the
	 * headers of the message inside message part 2, or a part path for Content-* headers. */
	const char *path;
	/* The field name as written. */
	const char *name;
	/* What decoded it: "rfc2047", "rfc2231", "8bit-utf8", "8bit-message" (the charset of the
	 * message's first text part), "8bit-fallback". */
	const char *rule;
	/* Canonical charset the old text was in, or NULL. */
	const char *charset;
	/* Invalid sequences replaced by U+FFFD. */
	uint64_t replacements;
	/* CR, LF or NUL in decoded text were replaced, so that no header could be forged. */
	gboolean sanitized;
} MimeUtf8HeaderReport;

typedef struct _MimeUtf8Report MimeUtf8Report;

/* Frees a report; NULL is a no-op. */
void mimeutf8_report_free (MimeUtf8Report *report);
/* A report for a message of `size` bytes written through unchanged for `reason`, for a caller
 * that supervises normalization from outside (a worker that crashed or ran out of time).
 * Transfer full. */
MimeUtf8Report *mimeutf8_report_new_passthrough (const char *reason, uint64_t size);
MimeUtf8Status mimeutf8_report_get_status (const MimeUtf8Report *report);
/* Why the message was passed through or failed; NULL otherwise.  Owned by the report. */
const char *mimeutf8_report_get_reason (const MimeUtf8Report *report);
/* Whole message bytes read and written. */
uint64_t mimeutf8_report_get_bytes_in (const MimeUtf8Report *report);
uint64_t mimeutf8_report_get_bytes_out (const MimeUtf8Report *report);
size_t mimeutf8_report_get_n_parts (const MimeUtf8Report *report);
/* The record of part `index` (0 <= index < n_parts), in depth-first order.  Owned by the report. */
const MimeUtf8PartReport *mimeutf8_report_get_part (const MimeUtf8Report *report, size_t index);
/* TRUE when a DKIM-Signature of the message's own header block no longer verifies: a header field
 * its h= tag lists was rewritten or added (or any field, when it has no readable h=), or the body
 * changed within what it hashes (all of it, or its first l= octets).  In place
 * (mimeutf8_normalize_message) any converted part counts as a body change. */
gboolean mimeutf8_report_get_dkim_invalidated (const MimeUtf8Report *report);
size_t mimeutf8_report_get_n_headers (const MimeUtf8Report *report);
/* The record of rewritten header `index`, in message order.  Owned by the report. */
const MimeUtf8HeaderReport *mimeutf8_report_get_header (const MimeUtf8Report *report,
							 size_t index);
/* The report as one line of JSON, without the newline (format: README, "Report").  `name` is the
 * input's name, or NULL.  Free with g_free. */
char *mimeutf8_report_to_json (const MimeUtf8Report *report, const char *name);
/* Stable names of the enums as they appear in the JSON report. */
const char *mimeutf8_status_name (MimeUtf8Status status);
const char *mimeutf8_action_name (MimeUtf8Action action);
const char *mimeutf8_rule_name (MimeUtf8Rule rule);

/* ---- Normalizing messages -------------------------------------------------------------------- */

/* All four calls: `options` may be NULL for the defaults.  `report_out` may be NULL; otherwise it
 * receives a report (transfer full) whatever the status.  The error is set for PASSTHROUGH and
 * FAILED.  A message never makes these calls abort or lose data: whatever the message holds, the
 * output is the normalized message or the input unchanged. */

/* Normalizes `len` bytes at `data` and appends the result to `out`. */
MimeUtf8Status mimeutf8_normalize_buffer (const MimeUtf8Options *options, const void *data,
					  size_t len, GByteArray *out, MimeUtf8Report **report_out,
					  GError **error);

/* Reads a message from `in` to its end and writes the result to `out`.  A seekable `in` (a file)
 * is read in place; other streams are copied first. */
MimeUtf8Status mimeutf8_normalize_stream (const MimeUtf8Options *options, GMimeStream *in,
					  GMimeStream *out, MimeUtf8Report **report_out,
					  GError **error);

/* Reads a message from file descriptor `in_fd`, from its current offset to its end, and writes
 * the result to `out_fd`.  Neither descriptor is closed.  The call moves `in_fd`'s offset, as
 * read(2) does: a message up to 8 MiB, or a larger one read from a pipe or from a non-zero
 * offset, leaves it at the end of the input; a file over 8 MiB read from offset 0 is mapped and
 * parsed through the descriptor, which may leave the offset anywhere.  To read the file again,
 * seek first.  A message up to 8 MiB is written only once its whole result is ready (so a
 * FAILED status leaves `out_fd` untouched).  A larger one is parsed from its file (a pipe is
 * first spooled to an unlinked temporary file), so that memory does not grow with its
 * attachments, and is written as it is produced: a FAILED status then means `out_fd` holds a
 * partial result, to be discarded.  After a FAILED status from reading or writing, errno says
 * why (ENOSPC for a full disk or spool). */
MimeUtf8Status mimeutf8_normalize_fd (const MimeUtf8Options *options, int in_fd, int out_fd,
				      MimeUtf8Report **report_out, GError **error);

/* Normalizes a message an engine already holds, in place: text parts get new content, labels and
 * transfer encodings, and headers are rewritten as by the other calls (their raw values set, the
 * rest of each value and its folding kept).  Unchanged parts and headers are left as GMime holds
 * them.  Unlike the other calls, a message/rfc822 part sent base64 or quoted-printable is not
 * opened, and GMime's model of a malformed header block (it skips what it cannot read, and writes
 * without it) is taken as it is.  Setting a raw value makes GMime parse it again, so a value that would make it open a
 * converter outside the label table is not set: the header stays, and a text part whose
 * Content-Type it is stays as it was (reason "a charset name outside the label table").  The
 * report's byte counts are the sizes GMime writes the message in before and after, with default
 * format options.  The caller writes the message with its own format options; note that GMime
 * ends a multipart's preamble with a bare LF even in GMIME_NEWLINE_FORMAT_DOS, so a caller that
 * wants CRLF throughout adds a GMimeFilterUnix2Dos to its output stream. */
MimeUtf8Status mimeutf8_normalize_message (const MimeUtf8Options *options, GMimeMessage *message,
					   MimeUtf8Report **report_out, GError **error);

/* ---- Converting text ------------------------------------------------------------------------- */

/* Canonical name of a charset label ("latin1" -> "windows-1252"), or NULL when the label is
 * unknown or means "undeclared".  The returned string is static. */
const char *mimeutf8_charset_canonical (const char *label);

/* Counts kept by a conversion. */
typedef struct {
	uint64_t bytes_in;
	uint64_t bytes_out;
	/* Invalid sequences replaced by U+FFFD; a NUL counts as one. */
	uint64_t replacements;
	/* Input offset of the first replacement, or -1. */
	int64_t first_replacement;
} MimeUtf8ConvertStats;

typedef enum {
	/* Every input byte decoded exactly. */
	MIMEUTF8_CONVERT_OK = 0,
	/* Some sequences were invalid and became U+FFFD. */
	MIMEUTF8_CONVERT_REPLACED = 1,
	/* The label is unknown; nothing was converted and the error is set. */
	MIMEUTF8_CONVERT_ERROR = 2,
} MimeUtf8ConvertStatus;

/* Converts `len` bytes in charset `label` to UTF-8, appended to `out`.  The output is always
 * strictly valid UTF-8 without NUL.  `stats_out` may be NULL.  No MIME assumption is made: no
 * byte-order mark or charset sniffing (see mimeutf8_convert_text for that). */
MimeUtf8ConvertStatus mimeutf8_convert (const char *label, const void *data, size_t len,
					GByteArray *out, MimeUtf8ConvertStats *stats_out,
					GError **error);

/* Converts a text file's bytes with the same rules as a text part: byte-order mark, valid UTF-8,
 * NUL padding at the end dropped, and so on under the policy in `options`, with `label` as the
 * declared charset (may be NULL).
 * `charset_out`, if not NULL, receives the canonical name used (static). */
MimeUtf8ConvertStatus mimeutf8_convert_text (const MimeUtf8Options *options, const char *label,
					     const void *data, size_t len, GByteArray *out,
					     MimeUtf8ConvertStats *stats_out,
					     const char **charset_out, GError **error);

/* A streaming converter: new (begin), convert any number of chunks, end.  Chunks may cut a
 * character anywhere; at most 16 bytes are held back between calls, except in the stateful 7-bit
 * charsets (ISO-2022-JP, ISO-2022-KR, UTF-7), whose input is converted whole at the end, so that
 * the output never depends on where the chunks were cut.  A NULL translator or `out`, or NULL
 * `data` with a length, is a programming error: GLib logs a critical and the call does nothing
 * (mimeutf8_convert returns MIMEUTF8_CONVERT_ERROR); NULL `data` with length 0 is empty input. */
typedef struct _MimeUtf8Translator MimeUtf8Translator;

/* A converter from `label` to UTF-8, or NULL with the error set for an unknown label. */
MimeUtf8Translator *mimeutf8_translator_new (const char *label, GError **error);
/* Converts a chunk, appending UTF-8 to `out`. */
void mimeutf8_translator_convert (MimeUtf8Translator *translator, const void *data, size_t len,
				  GByteArray *out);
/* Ends the input: bytes held back become U+FFFD.  The translator is then ready for new input,
 * with its counts reset only by mimeutf8_translator_reset. */
void mimeutf8_translator_end (MimeUtf8Translator *translator, GByteArray *out);
/* Forgets held-back bytes and counts. */
void mimeutf8_translator_reset (MimeUtf8Translator *translator);
void mimeutf8_translator_get_stats (const MimeUtf8Translator *translator,
				    MimeUtf8ConvertStats *stats_out);
/* Canonical name of the translator's charset (static). */
const char *mimeutf8_translator_get_charset (const MimeUtf8Translator *translator);
/* Frees a translator; NULL is a no-op. */
void mimeutf8_translator_free (MimeUtf8Translator *translator);

/* ---- Parsing messages: the view a sync engine stores and indexes ------------------------------ */

/* A message parsed once and read with the normalizer's rules: its decoded headers, and its parts
 * in MIME order with each text part's UTF-8 text, the text mimeutf8_normalize_buffer would write
 * for it.  Nothing is serialized or parsed again.  Owns everything it hands out; an embedded
 * message (a message/rfc822 part) is a MimeUtf8Message owned by its top message. */
typedef struct _MimeUtf8Message MimeUtf8Message;
typedef struct _MimeUtf8Part MimeUtf8Part;

/* One mailbox of an address header.  Owned by its message. */
typedef struct {
	/* The display name, decoded (RFC 2047, raw 8-bit as for other headers), blanks collapsed;
	 * "" when there is none. */
	const char *name;
	/* The addr-spec as written, without comments, blanks or angle brackets (valid UTF-8: an
	 * invalid byte becomes U+FFFD). */
	const char *address;
} MimeUtf8Address;

/* Parses `len` bytes at `data` (copied: the caller may free them at once) and converts every text
 * part as mimeutf8_normalize_buffer would, but writes nothing.  `options` may be NULL; signed and
 * encrypted content is read as if `convert_signed` were set, since nothing is rewritten.  Returns
 * NULL, with the error set, only for a local fault (invalid options, cancelled, no memory).  A
 * message that the normalizer passes through (it does not parse, a limit is hit) still gives what
 * could be read before that, with mimeutf8_message_get_status PASSTHROUGH and the reason.
 * Transfer full: free with mimeutf8_message_free. */
MimeUtf8Message *mimeutf8_parse (const MimeUtf8Options *options, const void *data, size_t len,
				 GError **error);
/* The same, reading file descriptor `fd` to its end (not closed).  The message is held in memory
 * whole; NULL with MIMEUTF8_ERROR_IO (errno set) when reading fails. */
MimeUtf8Message *mimeutf8_parse_fd (const MimeUtf8Options *options, int fd, GError **error);
/* Frees a top message and all it owns; NULL is a no-op.  Not for embedded messages. */
void mimeutf8_message_free (MimeUtf8Message *message);

/* NORMALIZED or UNCHANGED (what mimeutf8_normalize_buffer would do: the texts are those of its
 * output), or PASSTHROUGH, with the reason: then the normalizer's output would be the input,
 * the texts given are what the walk had read, and parts after the failure are missing.  An
 * embedded message gives its top message's. */
MimeUtf8Status mimeutf8_message_get_status (const MimeUtf8Message *message);
const char *mimeutf8_message_get_reason (const MimeUtf8Message *message);
/* The report of the walk (every part's charset, rule, action), as mimeutf8_normalize_buffer
 * would give it.  Owned by the message. */
const MimeUtf8Report *mimeutf8_message_get_report (const MimeUtf8Message *message);

/* The Subject, decoded and unfolded; NULL when there is none. */
const char *mimeutf8_message_get_subject (const MimeUtf8Message *message);
/* The mailboxes of address header `field` ("from", "sender", "reply-to", "to", "cc", "bcc", any
 * case; all fields of that name, in order): their number, and in `*list_out` (may be NULL) an
 * array of them owned by the message. */
size_t mimeutf8_message_get_addresses (const MimeUtf8Message *message, const char *field,
				       const MimeUtf8Address **list_out);
/* The Date as written (unfolded), or NULL. */
const char *mimeutf8_message_get_date (const MimeUtf8Message *message);
/* TRUE when the Date parses: `*time_out` (may be NULL) then receives it as seconds since 1970. */
gboolean mimeutf8_message_get_time (const MimeUtf8Message *message, int64_t *time_out);
/* The message identifiers of `field` ("message-id", "in-reply-to", "references"), without
 * angle brackets, in order: a NULL-terminated array owned by the message, empty when none. */
const char *const *mimeutf8_message_get_ids (const MimeUtf8Message *message, const char *field);
/* The first header named `name` (any case), decoded as unstructured text: encoded-words
 * decoded, raw 8-bit bytes read as for the other headers, unfolded; NULL when there is none. */
const char *mimeutf8_message_get_header (const MimeUtf8Message *message, const char *name);
/* Every header, in order: name as written, value decoded as above. */
size_t mimeutf8_message_get_n_headers (const MimeUtf8Message *message);
const char *mimeutf8_message_get_header_at (const MimeUtf8Message *message, size_t index,
					    const char **name_out);

/* The parts of the message, in MIME order (depth first, as in the report), the parts of its
 * embedded messages included: every multipart, message/rfc822 part and leaf. */
size_t mimeutf8_message_get_n_parts (const MimeUtf8Message *message);
const MimeUtf8Part *mimeutf8_message_get_part (const MimeUtf8Message *message, size_t index);
/* The body a reader would be shown, `subtype` "plain" or "html": the first text/`subtype` part
 * that is not an attachment, looking into every multipart but multipart/related, where only its
 * start part counts (Python's email get_body); embedded messages are not looked into.  NULL when
 * there is none. */
const MimeUtf8Part *mimeutf8_message_get_body (const MimeUtf8Message *message,
					       const char *subtype);
/* The attachments, in MIME order: every leaf part (a message/rfc822 part is one) of this message,
 * outside its embedded messages, that is not one of the two bodies above nor an alternative of
 * its multipart/alternative, and every part with Content-Disposition: attachment.  `*list_out`
 * (may be NULL) receives an array owned by the message. */
size_t mimeutf8_message_get_attachments (const MimeUtf8Message *message,
					 const MimeUtf8Part *const **list_out);

/* The part's path, as in the report ("1", "2.1", "0" for the top multipart). */
const char *mimeutf8_part_get_path (const MimeUtf8Part *part);
/* "type/subtype" in lower case. */
const char *mimeutf8_part_get_content_type (const MimeUtf8Part *part);
/* The Content-Type parameters: their number, and each one's lower-case name and value, decoded
 * (RFC 2231, RFC 2047). */
size_t mimeutf8_part_get_n_params (const MimeUtf8Part *part);
const char *mimeutf8_part_get_param_at (const MimeUtf8Part *part, size_t index,
					const char **name_out);
/* The Content-Disposition ("inline", "attachment"... lower case), or NULL. */
const char *mimeutf8_part_get_disposition (const MimeUtf8Part *part);
/* The file name, decoded: the Content-Disposition filename, else the Content-Type name; NULL. */
const char *mimeutf8_part_get_filename (const MimeUtf8Part *part);
/* The Content-ID without angle brackets, or NULL. */
const char *mimeutf8_part_get_content_id (const MimeUtf8Part *part);
/* The part's record in the report: charset decided, rule, action, reason, replacements. */
const MimeUtf8PartReport *mimeutf8_part_get_record (const MimeUtf8Part *part);
/* A text part's UTF-8 text (no NUL inside, NUL-terminated), `*len_out` its length: the text the
 * normalizer writes for it.  NULL for parts that are not text, and for text parts it leaves
 * alone before deciding their charset (the record says why: uuencoded, strict policy...). */
const char *mimeutf8_part_get_text (const MimeUtf8Part *part, size_t *len_out);
/* Bytes of the leaf's body with its transfer encoding removed (before any charset conversion);
 * 0 for multiparts and message/rfc822 parts.  Counted on the first call (a decoding), so a
 * message is read by one thread at a time, as every object of this header. */
uint64_t mimeutf8_part_get_size (const MimeUtf8Part *part);
/* Those bytes, decoded now (nothing is copied before this is asked).  Transfer full. */
GBytes *mimeutf8_part_get_bytes (const MimeUtf8Part *part);
/* The message inside a message/rfc822 part, owned by the top message; NULL for other parts. */
const MimeUtf8Message *mimeutf8_part_get_message (const MimeUtf8Part *part);

G_END_DECLS

#endif /* MIMEUTF8_H */
