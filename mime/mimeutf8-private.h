/* mimeutf8-private.h: what the library's own files share and nobody else sees. */
#ifndef MIMEUTF8_PRIVATE_H
#define MIMEUTF8_PRIVATE_H

#include <iconv.h>
#include <string.h>

#include "mimeutf8.h"

G_BEGIN_DECLS

/* GMime declares no autoptr cleanups; GMime objects are GObjects, so g_object_unref does. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeDataWrapper, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MimeUtf8Translator, mimeutf8_translator_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MimeUtf8Report, mimeutf8_report_free)

/* ---- bytes: tests the library's scanners share --------------------------------------------- */

/* A word of eight bytes at a time: HIGH_BITS masks each byte's high bit; v - LOW_BITS sets a
 * high bit in every byte of v that is zero (and in some above one). */
#define HIGH_BITS G_GUINT64_CONSTANT (0x8080808080808080)
#define LOW_BITS G_GUINT64_CONSTANT (0x0101010101010101)

/* A blank inside a line: space or tab (RFC 5322 WSP). */
static inline gboolean
is_wsp (guint8 c)
{
	return c == ' ' || c == '\t';
}

/* RFC 2045 token characters: printable ASCII except tspecials. */
static inline gboolean
is_token_char (guint8 c)
{
	return c > 0x20 && c < 0x7F && strchr ("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* ---- library.c: init, version, error domain, options ------------------------------------------ */

/* Checks an options struct: NULL gives the defaults in `storage`. */
const MimeUtf8Options *_mimeutf8_options_check (const MimeUtf8Options *options,
						MimeUtf8Options *storage, GError **error);

/* ---- charset-table.c: labels -> canonical charset -> how to decode it ------------------------- */

typedef enum {
	_MIMEUTF8_DECODER_UTF8,        /* our own validating decoder */
	_MIMEUTF8_DECODER_SINGLE_BYTE, /* a 256-entry table, built once from iconv */
	_MIMEUTF8_DECODER_ICONV,       /* multi-byte, through iconv */
	_MIMEUTF8_DECODER_UTF7,        /* our own lenient UTF-7 decoder */
} _MimeUtf8Decoder;

/* Flags of a charset. */
enum {
	/* ASCII bytes may mean something else (ISO-2022-JP, UTF-7, HZ): even pure-ASCII bytes must be
	 * decoded with it. */
	_MIMEUTF8_CS_STATEFUL_7BIT = 1 << 0,
	/* Not ASCII-compatible at all (UTF-16): ASCII and UTF-8 sniffing do not apply. */
	_MIMEUTF8_CS_NOT_ASCII = 1 << 1,
	/* Bytes 0x80-0x9F that iconv rejects are the C1 controls, as WHATWG says for windows-125x. */
	_MIMEUTF8_CS_C1_CONTROLS = 1 << 2,
	/* A legacy single-byte charset: valid UTF-8 under this label is taken as UTF-8. */
	_MIMEUTF8_CS_SINGLE_BYTE = 1 << 3,
	/* JIS X 0208 codes iconv rejects (NEC row 13, the NEC-selected IBM rows 89-92) are read
	 * through CP932, as WHATWG's jis0208 index has them. */
	_MIMEUTF8_CS_JIS_EXTENSIONS = 1 << 4,
};

typedef struct {
	const char *name;       /* canonical, lower case: "windows-1252" */
	const char *iconv_name; /* the name given to iconv_open: "CP1252" */
	_MimeUtf8Decoder decoder;
	unsigned int flags;
	unsigned int error_unit; /* bytes skipped for one invalid sequence: 2 for UTF-16, else 1 */
} _MimeUtf8Charset;

/* The charset a label means, or NULL when it is unknown or means "undeclared" ("x-unknown",
 * "default"...).  Case-insensitive; quotes and blanks around the label are ignored. */
const _MimeUtf8Charset *_mimeutf8_charset_lookup (const char *label, size_t len);
/* The charset of a canonical name; NULL if there is none. */
const _MimeUtf8Charset *_mimeutf8_charset_by_name (const char *name);
/* TRUE when iconv_open may be called with this name: it belongs to a charset of the table. */
gboolean _mimeutf8_charset_iconv_allowed (const char *iconv_name);
/* Every charset of the table, `*n_out` of them. */
const _MimeUtf8Charset *_mimeutf8_charset_all (size_t *n_out);
extern const _MimeUtf8Charset *const _mimeutf8_cs_utf8;
/* The fallback charset of the options (library.c): windows-1252 unless set. */
const _MimeUtf8Charset *_mimeutf8_fallback (const MimeUtf8Options *options);

/* ---- iconv-guard.c ---------------------------------------------------------------------------- */

/* TRUE when iconv_open may see this name: it is a label or an iconv name of the table. */
gboolean _mimeutf8_iconv_name_allowed (const char *name);

/* A range of a message whose letters and digits GMime must not see as they are. */
typedef struct {
	size_t start;
	size_t end;
} _MimeUtf8Span;

/* Appends to `spans` (of _MimeUtf8Span, sorted) every range of `data` that would make GMime, parsing
 * it, open a converter outside the label table: encoded-word charsets and RFC 2231 parameter
 * charsets outside the table, and the B or Q of every encoded-word in Content-Type and
 * Content-Disposition (GMime parses their parameters after decoding them).  TRUE when it added
 * any.  Names of the table that GMime will open get a descriptor kept open, so that glibc keeps
 * their modules loaded.  With `mapped` (`data` is a file mapped privately) the pages scanned
 * are given back as it goes. */
gboolean _mimeutf8_guard_scan (const guint8 *data, size_t len, gboolean mapped, GArray *spans);
/* Makes the spans unusable in `copy` (a copy of the scanned bytes), without moving any byte:
 * letters and digits become 'x'. */
void _mimeutf8_guard_neutralize (guint8 *copy, const GArray *spans);

/* ---- utf8.c: UTF-8 facts about byte strings --------------------------------------------------- */

/* Number of bytes >= 0x80. */
size_t _mimeutf8_count_high (const guint8 *data, size_t len);
/* Length of the leading run of bytes < 0x80. */
size_t _mimeutf8_ascii_prefix (const guint8 *data, size_t len);

typedef struct {
	size_t multibyte; /* valid sequences of 2 to 4 bytes */
	size_t invalid;   /* maximal invalid subparts (each would be one U+FFFD) */
	size_t nul;       /* NUL bytes */
} _MimeUtf8Scan;

/* Counts what a UTF-8 decoder would meet in `data`.  Strictly valid UTF-8 without NUL has
 * invalid == 0 && nul == 0. */
void _mimeutf8_utf8_scan (const guint8 *data, size_t len, _MimeUtf8Scan *scan_out);
/* TRUE when bytes with invalid sequences are still UTF-8 text with a few stray bytes: at least
 * two valid multi-byte sequences for each invalid one. */
gboolean _mimeutf8_utf8_mostly (const _MimeUtf8Scan *scan);
/* Length of the maximal invalid subpart at `data` (at least 1), or 0 if `data` starts with a
 * complete valid sequence; -1 if the bytes are a valid but incomplete prefix of a sequence. */
int _mimeutf8_utf8_invalid_len (const guint8 *data, size_t len);

/* ---- utf7.c ------------------------------------------------------------------------------------ */

/* The run of base64 characters after the '+' at `p` ends at `*run_end_out`; TRUE when it is
 * well-formed UTF-7 (whole UTF-16 units, surrogates in pairs, no bits left over, only characters
 * an encoder writes), its `*n_out` characters then in `chars` (room for the run's length).  An
 * empty run is well-formed only before '-' ("+-" is '+'). */
gboolean _mimeutf8_utf7_at (const guint8 *p, const guint8 *end, const guint8 **run_end_out,
			    gunichar *chars, size_t *n_out);

/* ---- translator.c ----------------------------------------------------------------------------- */

MimeUtf8Translator *_mimeutf8_translator_new_for (const _MimeUtf8Charset *charset);

/* ---- decide.c: which charset a text part is in ------------------------------------------------ */

typedef struct {
	const _MimeUtf8Charset *charset; /* never NULL once decided */
	MimeUtf8Rule rule;
	size_t skip; /* bytes of byte-order mark to drop before converting */
	/* NUL padding to drop: [pad_start, pad_start + pad_len), followed by nothing but line
	 * breaks.  pad_len is 0 when there is none. */
	size_t pad_start, pad_len;
	char detected[48];    /* the detector's answer when it ran, else "" */
	gboolean leave_alone; /* strict policy: do not convert */
	const char *reason;   /* why it is left alone */
} _MimeUtf8Decision;

typedef struct {
	const char *label; /* declared label or NULL */
	gboolean html;     /* text/html: its <meta> charset counts as evidence */
	const _MimeUtf8Charset *const
		*message_charsets; /* charsets the message declares elsewhere */
	size_t n_message_charsets;
} _MimeUtf8Evidence;

void _mimeutf8_decide (const MimeUtf8Options *options, const guint8 *data, size_t len,
		       const _MimeUtf8Evidence *evidence, _MimeUtf8Decision *decision_out);
/* Converts a part's bytes as decided, appending to `out`: without its byte-order mark and its NUL
 * padding. */
void _mimeutf8_decision_convert (const _MimeUtf8Decision *decision, MimeUtf8Translator *translator,
				 const guint8 *data, size_t len, GByteArray *out);
/* Finds the charset value of a <meta> tag within the HTML prescan window: its label is at
 * [*start_out, *end_out). */
gboolean _mimeutf8_html_meta_charset (const guint8 *data, size_t len, size_t *start_out,
				      size_t *end_out);

/* ---- encode.c: transfer encodings for rewritten bodies ---------------------------------------- */

/* The value of a base64 character (RFC 2045, RFC 2152's set B), or -1. */
int _mimeutf8_base64_value (guint8 c);
/* Appends `data` encoded as base64 lines of 76 characters, each ended by `newline`. */
void _mimeutf8_base64_encode (const guint8 *data, size_t len, const char *newline, GByteArray *out);
/* Appends `data` as quoted-printable text: each `newline` in it is a hard line break, any other CR
 * or LF is encoded (so the body decodes to exactly `data`), lines longer than 76 get soft breaks.
 * A last line without a break stays without one. */
void _mimeutf8_qp_encode (const guint8 *data, size_t len, const char *newline, GByteArray *out);
/* Decodes quoted-printable text `p` into `out` (room for `len` bytes) and returns the length:
 * byte for byte what GMime 3.2's decoder gives (g_mime_encoding_quoted_decode_step, then flush).
 * A '=' that starts no escape and no soft break is kept with the two bytes after it; "=" or "=x"
 * at the very end is dropped.  `*exact_out` (if not NULL) is TRUE when the text reads one way
 * only: every '=' starts "=XX" (two hex digits) or ends a line (a soft break).  A stray '='
 * ("charset=ISO" in a QP body), which GMime keeps as it is and a strict decoder rejects, makes it
 * FALSE. */
size_t _mimeutf8_qp_decode (const guint8 *p, size_t len, guint8 *out, gboolean *exact_out);
/* Appends the bytes of base64 text `p` (no line breaks) to `out`, or with `out` NULL only says
 * whether it decodes.  Strict about the alphabet and where padding goes, lenient about missing
 * padding, as mail readers are: bad base64 is a character outside the alphabet, more than two
 * '=', or a lone 6 bits (4n+1 characters). */
gboolean _mimeutf8_base64_decode (const guint8 *p, size_t n, GByteArray *out);
/* Decodes a base64 body as a reader can read it (RFC 2045 6.8) and appends it to `out`: the run
 * of base64 lines at its start, a last group without its padding included (2 or 3 characters
 * hold 1 or 2 bytes; GMime drops them).  The run ends at the first line that is not base64 or
 * follows a padded one, or at the first blank line inside the run when such a line follows.  Returns the offset of the
 * text after the run (a footer a mailing list appended to a base64 body), `len` if there is
 * none, and `*clean_out` TRUE when the body is nothing but well-padded base64; (size_t) -1 with
 * `why` set when the body does not start with base64 (plain text under a base64 label) or its
 * run cannot be base64 (4n+1 characters). */
size_t _mimeutf8_base64_decode_body (const guint8 *data, size_t len, GByteArray *out,
				     gboolean *clean_out, const char **why);
/* Length of the longest line of `data`, not counting its CR LF or LF. */
size_t _mimeutf8_longest_line (const guint8 *data, size_t len);

/* ---- raw.c: header fields in the input's own bytes ---------------------------------------------- */

/* End of the header field starting at `start`: past its last line's newline, folding included. */
size_t _mimeutf8_raw_field_end (const guint8 *raw, size_t len, size_t start);
/* Bounds of the value of field `name` starting at `start` (after the colon, before the final
 * newline); FALSE when the field there is not `name`. */
gboolean _mimeutf8_raw_field_value (const guint8 *raw, size_t len, size_t start, const char *name,
				    size_t *value_start, size_t *value_end);
/* TRUE when raw value bytes are the value GMime parsed there (carriage returns and surrounding
 * blanks aside). */
gboolean _mimeutf8_raw_same_value (const guint8 *raw, size_t len, const char *parsed);
/* Skips blanks, folding and (comments) from `i` in a structured value. */
size_t _mimeutf8_raw_skip_cfws (const char *v, size_t i, size_t len);
/* End of a parameter value (token or quoted-string) starting at `i`. */
size_t _mimeutf8_raw_param_value_end (const char *v, size_t i, size_t len);
/* The next parameter (";" name "=" value) from `*pos` on, outside quotes and comments: its name at
 * [*name_start, *name_end), its value at [*value_start, *value_end); FALSE when there is none. */
gboolean _mimeutf8_raw_next_param (const char *value, size_t len, size_t *pos, size_t *name_start,
				   size_t *name_end, size_t *value_start, size_t *value_end);
/* FALSE when a quoted string or a comment in a structured value never ends. */
gboolean _mimeutf8_raw_value_is_balanced (const char *v, size_t len);
/* End of what every reader takes as the charset value starting at `v0`; FALSE when they disagree
 * on it. */
gboolean _mimeutf8_raw_charset_value_end (const char *value, size_t len, size_t v0,
					  size_t *end_out);
/* Bounds of the plain charset parameter's value (quotes included), if there is one. */
gboolean _mimeutf8_raw_find_charset_param (const char *value, size_t len, size_t *start_out,
					   size_t *end_out);
/* A Content-Type value with its charset parameter set to utf-8 (added when missing, folding with
 * `newline`) and every other byte kept.  `unused` makes it a header rewriter of the walk. */
GString *_mimeutf8_raw_content_type_with_utf8 (const char *value, size_t len, const char *newline,
					       const char *unused);
/* A character of a header field name (RFC 5322 ftext). */
gboolean _mimeutf8_raw_is_field_name_char (guint8 c);
/* FALSE when a charset parameter's end is read differently by different readers. */
gboolean _mimeutf8_raw_value_charset_is_unambiguous (const char *value, size_t len);
/* TRUE when a Content-Type value is in RFC 2045 form. */
gboolean _mimeutf8_raw_value_is_rfc2045 (const char *v, size_t len);
/* FALSE when a multipart message's own header block has a line other readers end it on. */
gboolean _mimeutf8_raw_top_block_is_clean (const guint8 *raw, size_t len);

/* ---- headers.c: header text to UTF-8 (RFC 2047, RFC 2231, raw 8-bit) ---------------------- */

/* What rewriting one header did. */
typedef struct {
	/* "rfc2047", "rfc2231", "8bit-utf8", "8bit-message" or "8bit-fallback": the strongest
	 * evidence used; NULL when nothing was decoded. */
	const char *rule;
	/* The legacy charset the old text was in (the first one met), or NULL. */
	const _MimeUtf8Charset *charset;
	/* Invalid sequences replaced by U+FFFD. */
	guint64 replacements;
	/* Decoded CR, LF or NUL were replaced (by a space; NUL by U+FFFD). */
	gboolean sanitized;
	/* A limit (encoded-words or parameters in one header) was exceeded: nothing was rewritten
	 * and the caller passes the message through. */
	gboolean limit_hit;
} _MimeUtf8HeaderChange;

/* Normal form for the value of one header field.  `value` is the raw value: the bytes after the
 * colon up to, not including, the newline that ends the field (folding inside is kept as it is).
 * Returns the new raw value (the caller puts it after "Name:"), or NULL when the header is
 * already normal or is not one that is rewritten.
 *  - eight_bit: charset for raw 8-bit bytes that are not valid UTF-8 (the charset decided for
 *    the message's first text part), or NULL; then `fallback` is used.
 *  - newline: "\n" or "\r\n", for folding long output.
 *  - options: mode (options->headers) and limits (max_encoded_words, max_params; 0 = default). */
GString *_mimeutf8_header_normalize (const char *name, const char *value, size_t len,
				     const MimeUtf8Options *options,
				     const _MimeUtf8Charset *eight_bit,
				     const _MimeUtf8Charset *fallback, const char *newline,
				     _MimeUtf8HeaderChange *change_out);

/* The parsed view's decoding (view.c), with the rewrite's rules and raw UTF-8 taken as it is.
 * `eight_bit` and `fallback` are as for _mimeutf8_header_normalize. */
/* Unstructured text: encoded-words decoded, unfolded, without blanks at either end.  g_free. */
char *_mimeutf8_header_decode_text (const char *value, size_t len,
				    const _MimeUtf8Charset *eight_bit,
				    const _MimeUtf8Charset *fallback);
/* Mailboxes of an address list (group members included): appends each display name, decoded
 * ("" when none), to `names` and its addr-spec as written to `addresses` (both g_free). */
void _mimeutf8_header_decode_addresses (const char *value, size_t len,
					const _MimeUtf8Charset *eight_bit,
					const _MimeUtf8Charset *fallback, GPtrArray *names,
					GPtrArray *addresses);
/* The value of parameter `name` of a Content-Type or Content-Disposition value, RFC 2231 and
 * RFC 2047 decoded; NULL when there is none (or it cannot be decoded).  g_free. */
char *_mimeutf8_header_decode_param (const char *value, size_t len, const char *name,
				     const _MimeUtf8Charset *eight_bit,
				     const _MimeUtf8Charset *fallback);
/* Appends the lower-case names of the parameters, each once, to `names` (g_free). */
void _mimeutf8_header_param_names (const char *value, size_t len, GPtrArray *names);

/* ---- fastpath.c: a message that needs nothing, proven so without GMime --------------------------- */

/* TRUE turns the proof off, so that tests can compare both ways; set only before any call. */
extern gboolean _mimeutf8_fast_path_off;
/* TRUE when `raw` would be proven unchanged without GMime under `options` (tests). */
gboolean _mimeutf8_fast_path_proves (const MimeUtf8Options *options, const guint8 *raw, size_t len);

/* ---- prescan.c: limits, enforced before GMime parses -------------------------------------------- */

/* `mapped`: `data` is a file mapping, whose pages the scan gives back as it goes.
 * FALSE, with `*why_out` set to a static reason ("limit: ..."), when the message passes a limit of
 * `options`: size, nesting depth, parts, header block size, parameters or encoded-words in one
 * header, or the cost of GMime's boundary scan. */
gboolean _mimeutf8_prescan (const MimeUtf8Options *options, const guint8 *data, size_t len,
			    gboolean mapped, const char **why_out);
/* Gives back the whole pages in [start, end) of `map`, a read-only file mapping (MADV_DONTNEED):
 * a page looked at again is read again from the file.  Never for bytes in memory, which it
 * would zero.  Nothing when `map` is not page-aligned. */
void _mimeutf8_release_mapped (const guint8 *map, size_t start, size_t end);
/* For a scan of `map` that has reached `p`: every megabyte, gives back what it passed but the
 * last 64 KiB (which it may look back into), so that a large message never sits in memory whole;
 * `*released` (0 at the start) is how far it did.  Nothing unless `mapped`. */
static inline void
_mimeutf8_release_behind (const guint8 *map, const guint8 *p, gboolean mapped, size_t *released)
{
	/* inline: the scans call it for every line of every message, and the common case returns
	 * before anything else */
	if (!mapped || (size_t) (p - map) < *released + 1024 * 1024 + 64 * 1024)
		return;
	*released = (size_t) (p - map) - 64 * 1024;
	_mimeutf8_release_mapped (map, 0, *released);
}
/* The limits of `options`, with their defaults for 0. */
unsigned int _mimeutf8_limit_depth (const MimeUtf8Options *options);
unsigned int _mimeutf8_limit_parts (const MimeUtf8Options *options);
guint64 _mimeutf8_limit_message_size (const MimeUtf8Options *options);
unsigned int _mimeutf8_limit_timeout_ms (const MimeUtf8Options *options);

/* ---- report.c --------------------------------------------------------------------------------- */

MimeUtf8Report *_mimeutf8_report_new (void);
/* A new part record with its strings copied; the report owns it. */
MimeUtf8PartReport *_mimeutf8_report_add_part (MimeUtf8Report *report, const char *path,
					       const char *content_type,
					       const char *declared_charset);
/* Copies `value` into storage the report owns and returns it. */
const char *_mimeutf8_report_intern (MimeUtf8Report *report, const char *value);
void _mimeutf8_report_set_status (MimeUtf8Report *report, MimeUtf8Status status,
				  const char *reason);
void _mimeutf8_report_set_bytes (MimeUtf8Report *report, uint64_t bytes_in, uint64_t bytes_out);
void _mimeutf8_report_set_dkim_invalidated (MimeUtf8Report *report, gboolean invalidated);
/* The part records from `first_part` on that say converted now say left alone for `reason`, and
 * the header records from `first_header` on are dropped: rewrites that were not applied. */
void _mimeutf8_report_undo (MimeUtf8Report *report, size_t first_part, size_t first_header,
			    const char *reason);
/* A new header record with its strings copied; the report owns it. */
MimeUtf8HeaderReport *_mimeutf8_report_add_header (MimeUtf8Report *report, const char *path,
						   const char *name, const char *rule,
						   const char *charset);

/* ---- byte-tables.c: iconv descriptors and single-byte tables, for translator.c -------------- */

/* Bytes a UTF-8 sequence with this lead byte needs (a guess for bytes that cannot lead). */
static inline size_t
_mimeutf8_utf8_need (guint8 lead)
{
	return lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

/* What one byte of a single-byte charset becomes.  utf8 is padded so that every entry can be
 * stored with one 4-byte copy. */
typedef struct {
	guint8 utf8[4];
	guint8 len;
	guint8 replaced; /* counts as a replacement: NUL, or a byte the charset leaves undefined */
} _MimeUtf8ByteEntry;

typedef struct {
	_MimeUtf8ByteEntry entry[256];
	gboolean ascii; /* bytes 0x01-0x7F are themselves: the word-at-a-time copy applies */
} _MimeUtf8ByteTable;

/* A descriptor from `iconv_name` to UTF-8 in its initial state, or (iconv_t) -1; given back
 * with _mimeutf8_cd_give, to the calling thread's cache. */
iconv_t _mimeutf8_cd_take (const char *iconv_name);
void _mimeutf8_cd_give (const char *iconv_name, iconv_t cd);
/* The shared table of a single-byte charset of the table (built once, never freed), or NULL;
 * `*unavailable_out` says iconv cannot convert it here. */
const _MimeUtf8ByteTable *_mimeutf8_table_shared (const _MimeUtf8Charset *charset,
						  gboolean *unavailable_out);
/* A table of one's own (g_free), or NULL. */
_MimeUtf8ByteTable *_mimeutf8_table_build_for (const _MimeUtf8Charset *charset);
/* ASCII as itself, every other byte U+FFFD. */
const _MimeUtf8ByteTable *_mimeutf8_table_ascii_only (void);

/* ---- the parsed view: normalize.c's walk records into view.c's message ---------------------- */

/* Walks the message in `raw` as mimeutf8_normalize_buffer does, recording into `view` and
 * `report`, and writes nothing.  Returns why the normalizer would pass it through (g_free), or
 * NULL; `*changed_out` says whether it would rewrite anything. */
char *_mimeutf8_walk_view (const MimeUtf8Options *options, const guint8 *raw, size_t len,
			   MimeUtf8Report *report, MimeUtf8Message *view, gboolean *changed_out);
/* A part met by the walk (view.c): `record` is its report's.  GMime parsed `raw` (`raw_len`
 * bytes) from `raw_array` (the bytes or a copy of the same length). */
void _mimeutf8_view_part (MimeUtf8Message *view, GMimeObject *object, MimeUtf8PartReport *record,
			  const guint8 *raw, size_t raw_len, GByteArray *raw_array);
/* The UTF-8 text of the text part last given to _mimeutf8_view_part: what the normalizer writes. */
void _mimeutf8_view_text (MimeUtf8Message *view, const guint8 *text, size_t len);
/* A message whose parts were walked: the top one (prefix "") or one inside part `prefix`;
 * `eight_bit` is the charset its raw 8-bit header bytes are read in. */
void _mimeutf8_view_message (MimeUtf8Message *view, GMimeMessage *message, const char *prefix,
			     const guint8 *raw, size_t raw_len, const _MimeUtf8Charset *eight_bit,
			     const _MimeUtf8Charset *fallback);

G_END_DECLS

#endif /* MIMEUTF8_PRIVATE_H */
