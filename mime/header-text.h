/* header-text.h: what the header modules share (headers.c, rfc2047.c, rfc2231.c, addresses.c,
 * header-text.c): the context of one header being rewritten, byte classes, the output with
 * folding, and decoding bytes to UTF-8.  Nobody else includes it. */
#ifndef MIMEUTF8_HEADER_TEXT_H
#define MIMEUTF8_HEADER_TEXT_H

#include <string.h>

#include "mimeutf8-private.h"

G_BEGIN_DECLS

/* RFC 5322 2.1.1: lines SHOULD be at most 78 characters. */
#define FOLD_COLUMN 78
/* RFC 2047 2: an encoded-word is at most 75 characters; "=?UTF-8?Q?" and "?=" take 12. */
#define WORD_MAX 75
#define WORD_OVERHEAD 12
#define PAYLOAD_MAX (WORD_MAX - WORD_OVERHEAD)
/* An encoded-word is not started with less room than this at the end of a line: a fold gives a
 * fresh line instead of a string of tiny words. */
#define PAYLOAD_MIN 12
/* A charset label (with its RFC 2231 language) longer than this is not an encoded-word's. */
#define WORD_LABEL_MAX 80
/* Encoded characters in one RFC 2231 section before the value is cut into continuations. */
#define SECTION_MAX 60
/* Translators a header keeps open: a header rarely mixes more than two charsets. */
#define N_TRANSLATORS 4

static const char replacement_char[] = "\xEF\xBF\xBD";
static const char hex_digits[] = "0123456789ABCDEF";

/* What the bytes handed to the decoder are. */
typedef enum {
	TEXT_RAW,     /* unstructured text, or a parameter value already unquoted */
	TEXT_PHRASE,  /* words of a display name: quoted strings are unquoted */
	TEXT_COMMENT, /* the inside of a comment: backslash escapes */
} TextKind;

/* Where encoded text goes, which decides what may stay plain and how words are quoted. */
typedef enum {
	CTX_UNSTRUCTURED,
	CTX_PHRASE,
	CTX_COMMENT,
	CTX_FALLBACK, /* an address list that does not parse: phrase-safe words, never quoted */
} TextContext;

/* Strength of the evidence a rule stands for: the report names the strongest one used. */
typedef enum {
	RULE_NONE,
	RULE_8BIT_FALLBACK,
	RULE_8BIT_MESSAGE,
	RULE_8BIT_UTF8,
	RULE_RFC2047,
	RULE_RFC2231,
} Rule;

typedef struct {
	const _MimeUtf8Charset *charset;
	MimeUtf8Translator *translator;
} CachedTranslator;

/* What decoding met so far; element-level callers save and restore it around an element that
 * turns out to need no change. */
typedef struct {
	gboolean changed;
	Rule rule;
	const _MimeUtf8Charset *charset;
	guint64 replacements;
	gboolean sanitized;
} Record;

typedef struct {
	MimeUtf8HeaderMode mode;
	const char *name;
	const char *newline;
	/* How raw 8-bit bytes decode: decided for each piece of text decoded (an unstructured
	 * value, a display name, a comment, a parameter value), never from the bytes of an
	 * addr-spec, which stay as they are whatever they hold. */
	const _MimeUtf8Charset *eight_bit;
	const _MimeUtf8Charset *fallback;
	const _MimeUtf8Charset *raw_charset;
	Rule raw_rule;
	Record rec;
	CachedTranslator translators[N_TRANSLATORS];
	size_t n_translators;
	/* Decoder state: encoded-words of one charset waiting to be converted together, so that
	 * a character cut across two words comes out whole. */
	const _MimeUtf8Charset *run_charset;
	gboolean run_normal;
	GByteArray *run;
	GByteArray *raw;      /* raw text after the run, unfolded and unescaped */
	GByteArray *word;     /* one encoded-word's bytes */
	GByteArray *conv;     /* translator output */
	GByteArray *param;    /* a parameter's value bytes */
	GByteArray *unquoted; /* a display name or comment, quotes and escapes taken away */
	GString *text;        /* decoded text */
	GString *scratch;
	GString *scratch2;
} Ctx;

typedef struct {
	GString *s;
	const char *newline;
	size_t col;
	/* The current line holds something besides the field name, leading blanks or a fold's
	 * blank: a fold there would leave an empty line or an empty first line. */
	gboolean content;
	/* Blanks read but not written yet: what comes next may fold at them, and a fold among
	 * them is written only when something follows it (no line of blanks only). */
	GString *hold;
	GString *taken;
	/* Columns to leave free after a token: a ',' ';' or ')' that will follow it. */
	size_t reserve;
} Out;

static inline gboolean
is_blank (guint8 c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 5322 atext, plus '.' (obs-phrase allows it in display names: "John Q. Public"). */
static inline gboolean
is_atext (guint8 c)
{
	return g_ascii_isalnum (c) || (c != 0 && strchr ("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

/* RFC 5987 attr-char: what an RFC 2231 value may carry without %-encoding. */
static inline gboolean
is_attr_char (guint8 c)
{
	return g_ascii_isalnum (c) || (c != 0 && strchr ("!#$&+-.^_`|~", c) != NULL);
}

/* Empty byte arrays have no buffer: helpers take (NULL, 0) and do nothing with it. */
static inline gboolean
has_8bit (const guint8 *p, size_t n)
{
	return n > 0 && _mimeutf8_ascii_prefix (p, n) < n;
}

static inline const guint8 *
find_marker (const guint8 *p, size_t n)
{
	const guint8 *end = p + n;

	while (end - p >= 2) {
		p = memchr (p, '=', (size_t) (end - p) - 1);
		if (p == NULL || p[1] == '?')
			return p;
		p++;
	}
	return NULL;
}

/* Display width of UTF-8 text, counted in characters. */
static inline size_t
n_chars (const char *p, size_t n)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++)
		count += ((guint8) p[i] & 0xC0) != 0x80;
	return count;
}

static inline size_t
utf8_char_len (const guint8 *p, size_t avail)
{
	size_t n = p[0] < 0xC0 ? 1 : p[0] < 0xE0 ? 2 : p[0] < 0xF0 ? 3 : 4;

	return MIN (n, avail);
}

static inline int
hex_value (guint8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Control characters text must not carry into a header: CR and LF would end it (UTF-7's
 * "+AA0ACg-" is CR LF), NUL ends strings, the others have no place in a header either.  Raw or
 * decoded, all go from text that is written again: one written encoded would come back as
 * decoded text on the next run, and the output would not be its own normal form. */
static inline gboolean
is_unsafe (guint8 c)
{
	return c < 0x20 && c != '\t';
}

/* ---- header-text.c: output with folding, decoding bytes, what decoding met --------------------- */

void _mimeutf8_ctx_init (Ctx *ctx, MimeUtf8HeaderMode mode, const char *name, const char *newline,
			 const _MimeUtf8Charset *eight_bit, const _MimeUtf8Charset *fallback,
			 size_t len);
void _mimeutf8_ctx_clear (Ctx *ctx);
void _mimeutf8_out_init (Out *o, const char *name, const char *newline, size_t size_hint);
void _mimeutf8_out_flush (Out *o);
void _mimeutf8_out_hold (Out *o, const char *p, size_t n);
void _mimeutf8_out_take (Out *o, const char **ws_out, size_t *ws_len_out);
GString *_mimeutf8_out_finish (Out *o);
void _mimeutf8_out_put (Out *o, const char *p, size_t n);
void _mimeutf8_out_fold (Out *o);
void _mimeutf8_out_token (Out *o, const char *ws, size_t ws_len, const char *tok, size_t tok_len);
inline gboolean is_unsafe (guint8 c);
void _mimeutf8_append_sanitized (Ctx *ctx, GString *out, const guint8 *p, size_t n);
void _mimeutf8_decode_bytes (Ctx *ctx, const _MimeUtf8Charset *charset, gboolean normal,
			     const guint8 *p, size_t n, Rule rule, GString *out);
gboolean _mimeutf8_skip_delimited (const guint8 *p, size_t n, size_t *i);
void _mimeutf8_record_save (Ctx *ctx, Record *saved);
/* ctx->text with its runs of blanks made one space, and none at either end (g_free). */
char *_mimeutf8_ctx_text_collapsed (Ctx *ctx);
gboolean _mimeutf8_record_merge (Ctx *ctx, const Record *saved);

/* ---- rfc2047.c: encoded-words and the text around them ----------------------------------------- */

size_t _mimeutf8_count_words (const guint8 *p, size_t n, size_t max);
gboolean _mimeutf8_label_is_normal (const guint8 *label, size_t n);
void _mimeutf8_text_reset (Ctx *ctx);
void _mimeutf8_decide_raw (Ctx *ctx, const guint8 *p, size_t n);
void _mimeutf8_decode_text (Ctx *ctx, const guint8 *p, size_t n, TextKind kind);
void _mimeutf8_encode_words (Ctx *ctx, Out *o, GString *dst, const char *ws, size_t ws_len,
			     const guint8 *p, size_t n, gboolean restricted);
gboolean _mimeutf8_has_live_word (Ctx *ctx, size_t start, size_t end);
void _mimeutf8_append_escaped (GString *out, const char *p, size_t n, const char *specials);
void _mimeutf8_emit_words (Ctx *ctx, Out *o, const char *ws, size_t ws_len, TextContext tc);
gboolean _mimeutf8_text_is_blank (Ctx *ctx);
void _mimeutf8_emit_phrase (Ctx *ctx, Out *o, const char *ws, size_t ws_len);
void _mimeutf8_emit_comment (Ctx *ctx, Out *o, const char *ws, size_t ws_len);

/* ---- addresses.c: address lists ---------------------------------------------------------------- */

gboolean _mimeutf8_addresses_walk (Ctx *ctx, Out *o, const guint8 *p, size_t n);
void _mimeutf8_addresses_fallback (Ctx *ctx, Out *o, const guint8 *p, size_t n);

/* ---- rfc2231.c: parameters --------------------------------------------------------------------- */

/* FALSE when no parameter of a value needs a rewrite: _mimeutf8_normalize_params would give NULL
 * (with the limit set when there are more than `max_params`), so no Ctx is needed to ask it. */
gboolean _mimeutf8_params_need_rewrite (const guint8 *p, size_t n, size_t max_params,
					_MimeUtf8HeaderChange *change);
GString *_mimeutf8_normalize_params (Ctx *ctx, const guint8 *p, size_t n, size_t max_params,
				     size_t max_words, _MimeUtf8HeaderChange *change);

G_END_DECLS

#endif /* MIMEUTF8_HEADER_TEXT_H */
