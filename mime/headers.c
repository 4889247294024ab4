/* headers.c: header values to UTF-8: RFC 2047 encoded-words, RFC 2231 parameters and raw 8-bit
 * text are decoded with the library's own translator, then written back as UTF-8 encoded-words
 * (or raw UTF-8), folded, touching only what needed a change. */
#include <string.h>

#include "mimeutf8-private.h"

#define DEFAULT_MAX_ENCODED_WORDS 1000
#define DEFAULT_MAX_PARAMS 128
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

typedef enum {
	KIND_NONE,
	KIND_UNSTRUCTURED,
	KIND_ADDRESSES,
	KIND_PARAMS,
} HeaderKind;

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

static const char *const rule_names[] = {
	NULL, "8bit-fallback", "8bit-message", "8bit-utf8", "rfc2047", "rfc2231",
};

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

/* ---- bytes -------------------------------------------------------------------------------- */

static inline gboolean
is_wsp (guint8 c)
{
	return c == ' ' || c == '\t';
}

static inline gboolean
is_blank (guint8 c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 5322 atext, plus '.' (obs-phrase allows it in display names: "John Q. Public"). */
static gboolean
is_atext (guint8 c)
{
	return g_ascii_isalnum (c) || (c != 0 && strchr ("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

/* RFC 2045 token characters: printable ASCII except tspecials. */
static gboolean
is_token_char (guint8 c)
{
	return c > 0x20 && c < 0x7F && strchr ("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* RFC 5987 attr-char: what an RFC 2231 value may carry without %-encoding. */
static gboolean
is_attr_char (guint8 c)
{
	return g_ascii_isalnum (c) || (c != 0 && strchr ("!#$&+-.^_`|~", c) != NULL);
}

/* Empty byte arrays have no buffer: helpers take (NULL, 0) and do nothing with it. */
static gboolean
has_8bit (const guint8 *p, size_t n)
{
	return n > 0 && _mimeutf8_ascii_prefix (p, n) < n;
}

static const guint8 *
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
static size_t
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

static int
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

/* ---- output with folding ------------------------------------------------------------------ */

static void
out_init (Out *o, const char *name, const char *newline, size_t size_hint)
{
	o->s = g_string_sized_new (size_hint + size_hint / 2 + 16);
	o->newline = newline;
	o->col = strlen (name) + 1;
	o->content = FALSE;
	o->hold = g_string_new (NULL);
	o->taken = g_string_new (NULL);
	o->reserve = 0;
}

static void out_put (Out *o, const char *p, size_t n);

/* Writes the held blanks.  Of blanks that hold line breaks, only the last break and the blanks
 * after it are written: one fold, where dropped text would have left lines of blanks. */
static void
out_flush (Out *o)
{
	g_autoptr (GString) hold = NULL;
	const char *lf;
	size_t from = 0;

	if (o->hold->len == 0)
		return;
	hold = o->hold;
	o->hold = g_string_new (NULL);
	for (lf = hold->str + hold->len; lf > hold->str && lf[-1] != '\n'; lf--)
		;
	if (lf > hold->str) {
		lf--;
		from = (size_t) (lf - hold->str);
		if (from > 0 && hold->str[from - 1] == '\r')
			from--;
	}
	out_put (o, hold->str + from, hold->len - from);
}

static void
out_hold (Out *o, const char *p, size_t n)
{
	g_string_append_len (o->hold, p, (gssize) n);
}

/* Takes the held blanks, to be written before the next token.  Blanks with a fold in them stay
 * held: the fold is written with the next token that is not blank (and the token needs no other
 * fold), or not at all. */
static void
out_take (Out *o, const char **ws_out, size_t *ws_len_out)
{
	if (memchr (o->hold->str, '\n', o->hold->len) != NULL) {
		g_string_truncate (o->taken, 0);
	} else {
		g_string_assign (o->taken, o->hold->str);
		g_string_truncate (o->hold, 0);
	}
	*ws_out = o->taken->str;
	*ws_len_out = o->taken->len;
}

/* The value written: held blanks at the end go, if they hold a fold (a line of blanks). */
static GString *
out_finish (Out *o)
{
	if (memchr (o->hold->str, '\n', o->hold->len) == NULL)
		out_flush (o);
	g_string_free (o->hold, TRUE);
	g_string_free (o->taken, TRUE);
	return o->s;
}

static void
out_put (Out *o, const char *p, size_t n)
{
	const char *nl = NULL;
	size_t i;

	out_flush (o);
	for (i = n; i-- > 0;) {
		if (p[i] == '\n') {
			nl = p + i;
			break;
		}
	}

	g_string_append_len (o->s, p, (gssize) n);
	if (nl != NULL) {
		n -= (size_t) (nl + 1 - p);
		p = nl + 1;
		o->col = 0;
		o->content = FALSE;
	}
	o->col += n_chars (p, n);
	for (i = 0; i < n && !o->content; i++)
		o->content = !is_blank ((guint8) p[i]);
}

static void
out_fold (Out *o)
{
	g_string_append (o->s, o->newline);
	o->col = 0;
	o->content = FALSE;
}

/* Writes blanks `ws` (a fold point when not empty) then `tok`, folding before the blanks when
 * the token would pass the fold column. */
static void
out_token (Out *o, const char *ws, size_t ws_len, const char *tok, size_t tok_len)
{
	if (tok_len == 0) {
		out_hold (o, ws, ws_len);
		return;
	}
	out_flush (o);
	if (ws_len > 0 && o->content &&
	    o->col + n_chars (ws, ws_len) + n_chars (tok, tok_len) + o->reserve > FOLD_COLUMN)
		out_fold (o);
	out_put (o, ws, ws_len);
	out_put (o, tok, tok_len);
}

/* ---- decoding: translators and sanitizing ------------------------------------------------- */

static MimeUtf8Translator *
ctx_translator (Ctx *ctx, const _MimeUtf8Charset *charset)
{
	size_t i;

	for (i = 0; i < ctx->n_translators; i++)
		if (ctx->translators[i].charset == charset)
			return ctx->translators[i].translator;
	if (ctx->n_translators == N_TRANSLATORS) {
		mimeutf8_translator_free (ctx->translators[0].translator);
		memmove (&ctx->translators[0], &ctx->translators[1],
			 (N_TRANSLATORS - 1) * sizeof ctx->translators[0]);
		ctx->n_translators--;
	}
	i = ctx->n_translators++;
	ctx->translators[i].charset = charset;
	ctx->translators[i].translator = _mimeutf8_translator_new_for (charset);
	return ctx->translators[i].translator;
}

static void
note_rule (Ctx *ctx, Rule rule, const _MimeUtf8Charset *charset)
{
	ctx->rec.changed = TRUE;
	if (rule > ctx->rec.rule)
		ctx->rec.rule = rule;
	if (ctx->rec.charset == NULL && charset != NULL && charset != _mimeutf8_cs_utf8)
		ctx->rec.charset = charset;
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

static gboolean
has_unsafe (const guint8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (is_unsafe (p[i]))
			return TRUE;
	return FALSE;
}

static void
append_sanitized (Ctx *ctx, GString *out, const guint8 *p, size_t n)
{
	size_t i, from = 0;

	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		if (!is_unsafe (p[i]))
			continue;
		g_string_append_len (out, (const char *) p + from, (gssize) (i - from));
		g_string_append (out, p[i] == 0 ? replacement_char : " ");
		ctx->rec.sanitized = TRUE;
		ctx->rec.changed = TRUE;
		from = i + 1;
	}
	g_string_append_len (out, (const char *) p + from, (gssize) (n - from));
}

/* Appends `n` bytes in `charset` to `out` as UTF-8.  `normal` says the label (or, for raw bytes,
 * the mode) accepts the bytes as they are when they are valid UTF-8; otherwise they are
 * converted and the header needs a change. */
static void
decode_bytes (Ctx *ctx, const _MimeUtf8Charset *charset, gboolean normal, const guint8 *p, size_t n,
	      Rule rule, GString *out)
{
	MimeUtf8Translator *translator;
	MimeUtf8ConvertStats before, after;

	if (n == 0) {
		/* An empty word in a legacy charset is still a legacy word to rewrite. */
		if (!normal)
			note_rule (ctx, rule, charset);
		return;
	}
	if (normal) {
		_MimeUtf8Scan scan;

		_mimeutf8_utf8_scan (p, n, &scan);
		if (scan.invalid == 0 && !has_unsafe (p, n)) {
			g_string_append_len (out, (const char *) p, (gssize) n);
			return;
		}
		/* Bytes that claim UTF-8 but are not: decoded as UTF-8, with U+FFFD. */
		if (scan.invalid != 0 && charset != _mimeutf8_cs_utf8)
			normal = FALSE;
	}
	note_rule (ctx, rule, normal ? NULL : charset);
	/* The translator turns NUL into U+FFFD: count it as the header-safety replacement it is.
	 * (Only seen in ASCII-compatible charsets: a NUL out of UTF-16 counts as a replacement.) */
	if ((charset->flags & _MIMEUTF8_CS_NOT_ASCII) == 0 && memchr (p, 0, n) != NULL)
		ctx->rec.sanitized = TRUE;
	translator = ctx_translator (ctx, normal ? _mimeutf8_cs_utf8 : charset);
	mimeutf8_translator_get_stats (translator, &before);
	g_byte_array_set_size (ctx->conv, 0);
	mimeutf8_translator_convert (translator, p, n, ctx->conv);
	mimeutf8_translator_end (translator, ctx->conv);
	mimeutf8_translator_get_stats (translator, &after);
	ctx->rec.replacements += after.replacements - before.replacements;
	append_sanitized (ctx, out, ctx->conv->data, ctx->conv->len);
}

/* ---- RFC 2047 encoded-words --------------------------------------------------------------- */

typedef struct {
	size_t len;          /* of the whole word, "=?" to "?=" */
	const guint8 *label; /* charset, without the RFC 2231 language */
	size_t label_len;
	guint8 encoding; /* 'B' or 'Q' */
	const guint8 *text;
	size_t text_len;
} Word;

/* Recognizes the syntax of an encoded-word at `p` (which starts with "=?").  The charset and
 * the encoded text stop at the first '?' and hold no blank or control, so that a scan never
 * runs past the next candidate's '?': finding all words is linear. */
static gboolean
word_parse (const guint8 *p, size_t n, Word *w)
{
	size_t i = 2, star = 0;

	while (i < n && p[i] != '?') {
		if (p[i] <= 0x20 || p[i] >= 0x7F || i - 2 >= WORD_LABEL_MAX)
			return FALSE;
		if (p[i] == '*' && star == 0)
			star = i;
		i++;
	}
	if (i == 2 || i + 2 >= n || p[i + 2] != '?')
		return FALSE;
	w->label = p + 2;
	w->label_len = (star != 0 ? star : i) - 2;
	w->encoding = (guint8) g_ascii_toupper (p[i + 1]);
	if (w->encoding != 'B' && w->encoding != 'Q')
		return FALSE;
	i += 3;
	w->text = p + i;
	while (i < n && p[i] != '?') {
		if (p[i] <= 0x20 || p[i] >= 0x7F)
			return FALSE;
		i++;
	}
	if (i + 1 >= n || p[i + 1] != '=')
		return FALSE;
	w->text_len = (size_t) (p + i - w->text);
	w->len = i + 2;
	return TRUE;
}

/* Encoded-words in `n` bytes, counting stops past `max`. */
static size_t
count_words (const guint8 *p, size_t n, size_t max)
{
	const guint8 *end = p + n, *m;
	size_t count = 0;
	Word w;

	while ((m = find_marker (p, (size_t) (end - p))) != NULL) {
		if (word_parse (m, (size_t) (end - m), &w)) {
			if (++count > max)
				break;
			p = m + w.len;
		} else {
			p = m + 1;
		}
	}
	return count;
}

static void
q_decode (const guint8 *p, size_t n, GByteArray *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		guint8 b = p[i];

		if (b == '_') {
			b = ' ';
		} else if (b == '=' && i + 2 < n && hex_value (p[i + 1]) >= 0 &&
			   hex_value (p[i + 2]) >= 0) {
			b = (guint8) (hex_value (p[i + 1]) * 16 + hex_value (p[i + 2]));
			i += 2;
		}
		/* Any other '=' stays itself, as readers show it. */
		g_byte_array_append (out, &b, 1);
	}
}

/* The spellings RFC 6532-era mail writes for text that needs nothing: utf-8 and us-ascii. */
static gboolean
label_is_normal (const guint8 *label, size_t n)
{
	return (n == 5 && g_ascii_strncasecmp ((const char *) label, "utf-8", 5) == 0) ||
	       (n == 8 && g_ascii_strncasecmp ((const char *) label, "us-ascii", 8) == 0);
}

/* ---- decoding text ------------------------------------------------------------------------ */

static void
text_reset (Ctx *ctx)
{
	g_string_truncate (ctx->text, 0);
}

static void
flush_run (Ctx *ctx)
{
	if (ctx->run_charset == NULL)
		return;
	decode_bytes (ctx, ctx->run_charset, ctx->run_normal, ctx->run->data, ctx->run->len,
		      RULE_RFC2047, ctx->text);
	ctx->run_charset = NULL;
	g_byte_array_set_size (ctx->run, 0);
}

static void
flush_raw (Ctx *ctx)
{
	const guint8 *p = ctx->raw->data;
	size_t n = ctx->raw->len;

	if (n == 0)
		return;
	if (!has_8bit (p, n)) {
		append_sanitized (ctx, ctx->text, p, n);
	} else {
		/* Raw UTF-8 is what RFC 6532 allows: normal when the output may be 8-bit. */
		gboolean normal =
			ctx->mode == MIMEUTF8_HEADERS_UTF8 && ctx->raw_charset == _mimeutf8_cs_utf8;

		decode_bytes (ctx, ctx->raw_charset, normal, p, n, ctx->raw_rule, ctx->text);
	}
	g_byte_array_set_size (ctx->raw, 0);
}

/* How the raw 8-bit bytes of a piece of text decode, from the evidence of all of them. */
static void
decide_raw (Ctx *ctx, const guint8 *p, size_t n)
{
	const unsigned int unusable = _MIMEUTF8_CS_NOT_ASCII | _MIMEUTF8_CS_STATEFUL_7BIT;
	const _MimeUtf8Charset *eight_bit = ctx->eight_bit, *fallback = ctx->fallback;
	_MimeUtf8Scan scan;

	_mimeutf8_utf8_scan (p, n, &scan);
	if (fallback == NULL || (fallback->flags & unusable) != 0)
		fallback = _mimeutf8_fallback (NULL);
	/* UTF-8 but for a stray byte is UTF-8, with U+FFFD for that byte, as for bodies. */
	if (scan.invalid == 0 || _mimeutf8_utf8_mostly (&scan)) {
		ctx->raw_charset = _mimeutf8_cs_utf8;
		ctx->raw_rule = RULE_8BIT_UTF8;
	} else if (eight_bit != NULL && (eight_bit->flags & unusable) == 0 &&
		   (eight_bit != _mimeutf8_cs_utf8 || scan.multibyte > scan.invalid)) {
		/* A UTF-8 message charset explains bytes that are mostly UTF-8; otherwise the
		 * header was written by something else, and the fallback reads it better. */
		ctx->raw_charset = eight_bit;
		ctx->raw_rule = RULE_8BIT_MESSAGE;
	} else {
		ctx->raw_charset = fallback;
		ctx->raw_rule = RULE_8BIT_FALLBACK;
	}
}

/* Bytes the decoder looks at one by one: the rest is copied as it is. */
static inline gboolean
is_decoder_special (guint8 c)
{
	return c == '=' || c == '\r' || c == '\n';
}

/* The text of a display name (quotes taken away, escapes undone) or of a comment's inside
 * (escapes undone), in ctx->unquoted.  Encoded-words are looked for in that text, not in the
 * bytes: a quote taken away can join two pieces into one word, and whatever form the text is
 * written back in, the next reading finds the same text, and the same words. */
static void
unquote (Ctx *ctx, const guint8 *p, size_t n, TextKind kind)
{
	gboolean in_quote = FALSE;
	size_t i, from = 0;

	g_byte_array_set_size (ctx->unquoted, 0);
	for (i = 0; i < n; i++) {
		if (kind == TEXT_PHRASE && p[i] == '"') {
			g_byte_array_append (ctx->unquoted, p + from, (guint) (i - from));
			in_quote = !in_quote;
			from = i + 1;
		} else if (p[i] == '\\' && i + 1 < n && (kind == TEXT_COMMENT || in_quote)) {
			g_byte_array_append (ctx->unquoted, p + from, (guint) (i - from));
			from = ++i;
		}
	}
	g_byte_array_append (ctx->unquoted, p + from, (guint) (n - from));
}

/* Decodes `n` bytes of header text of `kind` to UTF-8, appended to ctx->text.  Encoded-words are
 * recognized anywhere (readers do, also inside quoted strings); blanks between two of them are
 * dropped and adjacent words of one charset are converted as one byte string; folding is
 * removed; everything that is not a valid, known encoded-word is literal text. */
static void
decode_text (Ctx *ctx, const guint8 *p, size_t n, TextKind kind)
{
	gboolean adjacent = FALSE;
	size_t i = 0;

	if (kind != TEXT_RAW && n > 0) {
		unquote (ctx, p, n, kind);
		p = ctx->unquoted->data;
		n = ctx->unquoted->len;
	}

	ctx->run_charset = NULL;
	g_byte_array_set_size (ctx->run, 0);
	g_byte_array_set_size (ctx->raw, 0);
	if (n == 0)
		return;
	if (has_8bit (p, n))
		decide_raw (ctx, p, n);
	while (i < n) {
		guint8 c = p[i];
		Word w;

		if (!adjacent && !is_decoder_special (c)) {
			size_t j = i + 1;

			/* Most of a value is plain bytes: copy them in one go. */
			while (j < n && !is_decoder_special (p[j]))
				j++;
			g_byte_array_append (ctx->raw, p + i, (guint) (j - i));
			i = j;
			continue;
		}
		if (c == '=' && i + 1 < n && p[i + 1] == '?' && word_parse (p + i, n - i, &w)) {
			const _MimeUtf8Charset *charset =
				_mimeutf8_charset_lookup ((const char *) w.label, w.label_len);
			gboolean ok = charset != NULL;

			g_byte_array_set_size (ctx->word, 0);
			if (ok && w.encoding == 'B')
				ok = _mimeutf8_base64_decode (w.text, w.text_len, ctx->word);
			else if (ok)
				q_decode (w.text, w.text_len, ctx->word);
			if (ok) {
				if (adjacent) {
					g_byte_array_set_size (ctx->raw, 0);
				} else {
					flush_run (ctx);
					flush_raw (ctx);
				}
				if (ctx->run_charset != charset) {
					flush_run (ctx);
					ctx->run_charset = charset;
					ctx->run_normal = TRUE;
				}
				ctx->run_normal &= label_is_normal (w.label, w.label_len);
				g_byte_array_append (ctx->run, ctx->word->data, ctx->word->len);
				adjacent = TRUE;
				i += w.len;
				continue;
			}
		}
		if (c == '\r' || c == '\n') {
			size_t j = i + 1;

			if (c == '\r' && j < n && p[j] == '\n')
				j++;
			if (j < n && is_wsp (p[j])) {
				/* Folding: RFC 5322 unfolding removes the line break only. */
				i = j;
				continue;
			}
			/* A bare line break inside a field is no fold: it must not survive. */
			c = ' ';
			ctx->rec.sanitized = TRUE;
			ctx->rec.changed = TRUE;
			i = j - 1;
		}
		if (!is_wsp (c) && adjacent) {
			flush_run (ctx);
			adjacent = FALSE;
		}
		g_byte_array_append (ctx->raw, &c, 1);
		i++;
	}
	flush_run (ctx);
	flush_raw (ctx);
}

/* ---- encoding ----------------------------------------------------------------------------- */

/* What may stay itself inside a Q encoded-word: RFC 2047 5(3) for phrases and comments, where a
 * word must not hold specials; any printable character but '=', '?', '_' elsewhere. */
static inline gboolean
q_plain (guint8 c, gboolean restricted)
{
	if (restricted)
		return g_ascii_isalnum (c) || c == '!' || c == '*' || c == '+' || c == '-' ||
		       c == '/';
	return c > 0x20 && c < 0x7F && c != '=' && c != '?' && c != '_';
}

static inline size_t
q_cost (guint8 c, gboolean restricted)
{
	return c == ' ' || q_plain (c, restricted) ? 1 : 3;
}

static inline size_t
b_cost (size_t n)
{
	return (n + 2) / 3 * 4;
}

static void
q_encode (const guint8 *p, size_t n, gboolean restricted, GString *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		guint8 c = p[i];

		if (c == ' ') {
			g_string_append_c (out, '_');
		} else if (q_plain (c, restricted)) {
			g_string_append_c (out, (char) c);
		} else {
			g_string_append_c (out, '=');
			g_string_append_c (out, hex_digits[c >> 4]);
			g_string_append_c (out, hex_digits[c & 15]);
		}
	}
}

static void
b_encode (const guint8 *p, size_t n, GString *out)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		guint32 v = (guint32) p[i] << 16 | (guint32) p[i + 1] << 8 | p[i + 2];

		g_string_append_c (out, alphabet[v >> 18]);
		g_string_append_c (out, alphabet[(v >> 12) & 63]);
		g_string_append_c (out, alphabet[(v >> 6) & 63]);
		g_string_append_c (out, alphabet[v & 63]);
	}
	if (i < n) {
		guint32 v = (guint32) p[i] << 16 | (i + 1 < n ? (guint32) p[i + 1] << 8 : 0);

		g_string_append_c (out, alphabet[v >> 18]);
		g_string_append_c (out, alphabet[(v >> 12) & 63]);
		g_string_append_c (out, i + 1 < n ? alphabet[(v >> 6) & 63] : '=');
		g_string_append_c (out, '=');
	}
}

/* Writes text as UTF-8 encoded-words, B or Q, whichever is shorter for the whole text.  Each
 * word holds whole characters and at most 75 characters.  With `o`, the first word goes after
 * `ws` and the words are folded as needed; without, they go to `dst` separated by one space. */
static void
encode_words (Ctx *ctx, Out *o, GString *dst, const char *ws, size_t ws_len, const guint8 *p,
	      size_t n, gboolean restricted)
{
	size_t i, q_left = 0;
	gboolean use_b;
	GString *word = ctx->scratch2;

	if (o != NULL)
		out_flush (o);
	for (i = 0; i < n; i++)
		q_left += q_cost (p[i], restricted);
	use_b = b_cost (n) < q_left;
	i = 0;
	do {
		size_t budget = PAYLOAD_MAX, cost = 0, j = i;
		size_t remaining = use_b ? b_cost (n - i) : q_left;

		if (o != NULL) {
			size_t used = o->col + n_chars (ws, ws_len) + WORD_OVERHEAD + o->reserve;
			size_t room = used < FOLD_COLUMN ? FOLD_COLUMN - used : 0;

			if (ws_len > 0 && o->content &&
			    room < MIN (remaining, (size_t) PAYLOAD_MIN)) {
				out_fold (o);
				room = FOLD_COLUMN - n_chars (ws, ws_len) - WORD_OVERHEAD;
			}
			/* With no fold point (first thing after the field name), the line may run
			 * long: a fresh line is never worse than that. */
			if (room >= PAYLOAD_MIN || o->content)
				budget = MIN (budget, MAX (room, (size_t) 4));
		}
		while (j < n) {
			size_t k = utf8_char_len (p + j, n - j), c = 0, m;

			if (use_b) {
				c = b_cost (j + k - i) - cost;
			} else {
				for (m = 0; m < k; m++)
					c += q_cost (p[j + m], restricted);
			}
			if (cost + c > budget && j > i)
				break;
			cost += c;
			j += k;
		}
		g_string_truncate (word, 0);
		g_string_append (word, use_b ? "=?UTF-8?B?" : "=?UTF-8?Q?");
		if (use_b)
			b_encode (p + i, j - i, word);
		else
			q_encode (p + i, j - i, restricted, word);
		g_string_append (word, "?=");
		if (o != NULL) {
			out_put (o, ws, ws_len);
			out_put (o, word->str, word->len);
		} else {
			if (i > 0)
				g_string_append_c (dst, ' ');
			g_string_append_len (dst, word->str, (gssize) word->len);
		}
		if (!use_b)
			q_left -= cost;
		i = j;
		ws = " ";
		ws_len = 1;
	} while (i < n);
}

/* TRUE when a word of text holds what a reader would decode as an encoded-word (the decoder's
 * own test: its syntax, a known charset, base64 that decodes).  Written plain, it would not
 * read back as this text: such a word is written encoded.  Whatever holds "=?" but would not
 * decode (an unknown charset's word, a malformed one) is text like any other, and stays as it
 * is.  Encoded-words hold no blanks, so no word of the output can hold one this test missed. */
static gboolean
has_live_word (Ctx *ctx, size_t start, size_t end)
{
	const guint8 *t = (const guint8 *) ctx->text->str + start, *stop = t + (end - start);
	const guint8 *m;
	Word w;

	while ((m = find_marker (t, (size_t) (stop - t))) != NULL) {
		if (word_parse (m, (size_t) (stop - m), &w) &&
		    _mimeutf8_charset_lookup ((const char *) w.label, w.label_len) != NULL &&
		    (w.encoding == 'Q' || _mimeutf8_base64_decode (w.text, w.text_len, NULL)))
			return TRUE;
		t = m + 1;
	}
	return FALSE;
}

static gboolean
word_is_plain (Ctx *ctx, TextContext tc, size_t start, size_t end)
{
	const guint8 *t = (const guint8 *) ctx->text->str;
	gboolean utf8 = ctx->mode == MIMEUTF8_HEADERS_UTF8;
	size_t i;

	for (i = start; i < end; i++) {
		guint8 c = t[i];

		if (c >= 0x80) {
			if (!utf8)
				return FALSE;
		} else if (tc == CTX_PHRASE || tc == CTX_FALLBACK ? !is_atext (c)
								  : c <= 0x20 || c == 0x7F) {
			return FALSE;
		}
	}
	return !has_live_word (ctx, start, end);
}

static void
append_escaped (GString *out, const char *p, size_t n, const char *specials)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strchr (specials, p[i]) != NULL)
			g_string_append_c (out, '\\');
		g_string_append_c (out, p[i]);
	}
}

/* Writes ctx->text word by word: words that may stay plain do, runs of the others (with the
 * blanks between them) become encoded-words.  `ws` is a fold point before the first word. */
static void
emit_words (Ctx *ctx, Out *o, const char *ws, size_t ws_len, TextContext tc)
{
	const char *t = ctx->text->str;
	size_t n = ctx->text->len, pos = 0;
	gboolean restricted = tc != CTX_UNSTRUCTURED;
	gboolean first = TRUE;
	GString *sep = ctx->scratch;

	while (pos < n) {
		size_t ws_start = pos, ws_end, w_start, w_end;

		while (pos < n && is_wsp ((guint8) t[pos]))
			pos++;
		ws_end = pos;
		g_string_truncate (sep, 0);
		if (first)
			g_string_append_len (sep, ws, (gssize) ws_len);
		if (pos == n) {
			/* Trailing blanks: held, so that a fold after them leaves no line of
			 * blanks. */
			g_string_append_len (sep, t + ws_start, (gssize) (ws_end - ws_start));
			out_hold (o, sep->str, sep->len);
			break;
		}
		w_start = pos;
		while (pos < n && !is_wsp ((guint8) t[pos]))
			pos++;
		w_end = pos;
		if (word_is_plain (ctx, tc, w_start, w_end)) {
			GString *tok = ctx->scratch2;

			g_string_append_len (sep, t + ws_start, (gssize) (ws_end - ws_start));
			g_string_truncate (tok, 0);
			if (tc == CTX_COMMENT)
				append_escaped (tok, t + w_start, w_end - w_start, "()\\");
			else
				g_string_append_len (tok, t + w_start, (gssize) (w_end - w_start));
			out_token (o, sep->str, sep->len, tok->str, tok->len);
		} else {
			size_t run_start = w_start, run_end = w_end;

			/* Blanks at the edges of unstructured text are text (a decoded word may
			 * begin or end with a space): encoded, they survive unfolding.  Elsewhere
			 * they only separate. */
			if (first && tc == CTX_UNSTRUCTURED)
				run_start = ws_start;
			else
				g_string_append_len (sep, t + ws_start,
						     (gssize) (ws_end - ws_start));
			for (;;) {
				size_t q = pos, ns, ne;

				while (q < n && is_wsp ((guint8) t[q]))
					q++;
				if (q == n) {
					if (tc == CTX_UNSTRUCTURED) {
						run_end = n;
						pos = n;
					}
					break;
				}
				ns = q;
				while (q < n && !is_wsp ((guint8) t[q]))
					q++;
				ne = q;
				if (word_is_plain (ctx, tc, ns, ne))
					break;
				run_end = ne;
				pos = ne;
			}
			encode_words (ctx, o, NULL, sep->str, sep->len,
				      (const guint8 *) t + run_start, run_end - run_start,
				      restricted);
		}
		first = FALSE;
	}
	if (n == 0)
		out_hold (o, ws, ws_len);
}

/* TRUE when ctx->text holds nothing but blanks: it is held, not written, for there is nothing to
 * fold before. */
static gboolean
text_is_blank (Ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->text->len; i++)
		if (!is_wsp ((guint8) ctx->text->str[i]))
			return FALSE;
	return TRUE;
}

/* Writes ctx->text as a display name. */
static void
emit_phrase (Ctx *ctx, Out *o, const char *ws, size_t ws_len)
{
	const char *t = ctx->text->str;
	size_t n = ctx->text->len, pos = 0;
	gboolean utf8 = ctx->mode == MIMEUTF8_HEADERS_UTF8;
	gboolean all_plain = TRUE, live = FALSE, high = FALSE;

	while (pos < n) {
		size_t start;

		while (pos < n && is_wsp ((guint8) t[pos]))
			pos++;
		start = pos;
		while (pos < n && !is_wsp ((guint8) t[pos]))
			pos++;
		if (start == pos)
			break;
		if (!word_is_plain (ctx, CTX_PHRASE, start, pos))
			all_plain = FALSE;
		live |= has_live_word (ctx, start, pos);
		high |= has_8bit ((const guint8 *) t + start, pos - start);
	}
	if (n == 0 || (!all_plain && !live && (utf8 || !high))) {
		/* A quoted string: the text is ASCII (or the output may be UTF-8) but holds
		 * specials, or the name is empty. */
		GString *tok = ctx->scratch2;

		g_string_truncate (tok, 0);
		g_string_append_c (tok, '"');
		append_escaped (tok, t, n, "\"\\");
		g_string_append_c (tok, '"');
		out_token (o, ws, ws_len, tok->str, tok->len);
		return;
	}
	emit_words (ctx, o, ws, ws_len, CTX_PHRASE);
}

static void
emit_comment (Ctx *ctx, Out *o, const char *ws, size_t ws_len)
{
	size_t reserve = o->reserve;

	out_token (o, ws, ws_len, "(", 1);
	o->reserve = 1;
	emit_words (ctx, o, "", 0, CTX_COMMENT);
	o->reserve = reserve;
	out_put (o, ")", 1);
}

/* ---- address lists ------------------------------------------------------------------------ */

/* Index after the comment, quoted string or domain literal opening at p[i]; FALSE when it is
 * not closed. */
static gboolean
skip_delimited (const guint8 *p, size_t n, size_t *i)
{
	guint8 open = p[*i], close = open == '(' ? ')' : open == '[' ? ']' : '"';
	size_t j = *i + 1, depth = 1;

	while (j < n) {
		guint8 c = p[j];

		if (c == '\\') {
			j += 2;
			continue;
		}
		if (c == close && --depth == 0) {
			*i = j + 1;
			return TRUE;
		}
		if (open == '(' && c == '(')
			depth++;
		j++;
	}
	return FALSE;
}

static void
record_save (Ctx *ctx, Record *saved)
{
	*saved = ctx->rec;
	ctx->rec.changed = FALSE;
}

/* Ends an element: TRUE when it needs rewriting, else what decoding it noted is forgotten. */
static gboolean
record_merge (Ctx *ctx, const Record *saved)
{
	gboolean changed = ctx->rec.changed;

	if (!changed)
		ctx->rec = *saved;
	ctx->rec.changed |= saved->changed;
	return changed;
}

/* Writes [start, end) as it is, but with the blanks at either end held as fold points. */
static void
emit_verbatim (Out *o, const guint8 *p, size_t start, size_t end)
{
	size_t a = start, b = end;
	const char *ws;
	size_t ws_len;

	while (a < b && is_blank (p[a]))
		a++;
	out_hold (o, (const char *) p + start, a - start);
	if (a == b)
		return;
	while (b > a && is_blank (p[b - 1]))
		b--;
	out_take (o, &ws, &ws_len);
	out_token (o, ws, ws_len, (const char *) p + a, b - a);
	out_hold (o, (const char *) p + b, end - b);
}

/* A comment [start, end), parentheses included. */
static void
process_comment (Ctx *ctx, Out *o, const guint8 *p, size_t start, size_t end)
{
	Record saved;
	const char *ws;
	size_t ws_len;

	/* The walk only hands over closed comments; anything else is kept as it is. */
	if (end - start < 2 || p[end - 1] != ')') {
		emit_verbatim (o, p, start, end);
		return;
	}
	record_save (ctx, &saved);
	text_reset (ctx);
	decode_text (ctx, p + start + 1, end - start - 2, TEXT_COMMENT);
	if (record_merge (ctx, &saved)) {
		out_take (o, &ws, &ws_len);
		emit_comment (ctx, o, ws, ws_len);
	} else {
		emit_verbatim (o, p, start, end);
	}
}

static void
process_phrase_chunk (Ctx *ctx, Out *o, const guint8 *p, size_t start, size_t end)
{
	Record saved;
	const char *ws;
	size_t ws_len;

	record_save (ctx, &saved);
	text_reset (ctx);
	decode_text (ctx, p + start, end - start, TEXT_PHRASE);
	if (record_merge (ctx, &saved)) {
		out_take (o, &ws, &ws_len);
		emit_phrase (ctx, o, ws, ws_len);
	} else {
		emit_verbatim (o, p, start, end);
	}
}

/* A region of an address with no addr-spec in it (a display name, a group name, what follows
 * an angle-addr): words are decoded and written again, comments too. */
static void
emit_phrase_region (Ctx *ctx, Out *o, const guint8 *p, size_t start, size_t end)
{
	size_t i = start;

	while (i < end) {
		size_t ws_start = i, j;

		while (i < end && is_blank (p[i]))
			i++;
		out_hold (o, (const char *) p + ws_start, i - ws_start);
		if (i == end)
			break;
		if (p[i] == '(') {
			j = i;
			if (!skip_delimited (p, end, &j))
				j = end;
			process_comment (ctx, o, p, i, j);
			i = j;
			continue;
		}
		/* Words up to the next comment, read as the walk read them (a '(' inside a quoted
		 * string or brackets opens nothing); trailing blanks are not part of them. */
		j = i;
		while (j < end && p[j] != '(') {
			if (p[j] == '"' || p[j] == '[') {
				if (!skip_delimited (p, end, &j))
					j = end;
			} else {
				j++;
			}
		}
		while (j > i && is_blank (p[j - 1]))
			j--;
		process_phrase_chunk (ctx, o, p, i, j);
		i = j;
	}
}

/* A region holding an addr-spec: kept byte for byte, but for its comments. */
static void
emit_addr_region (Ctx *ctx, Out *o, const guint8 *p, size_t start, size_t end)
{
	size_t i = start, from = start;

	while (i < end) {
		if (p[i] == '"' || p[i] == '[' || p[i] == '(') {
			size_t j = i;

			if (!skip_delimited (p, end, &j))
				j = end;
			if (p[i] == '(') {
				emit_verbatim (o, p, from, i);
				process_comment (ctx, o, p, i, j);
				from = j;
			}
			i = j;
		} else {
			i++;
		}
	}
	emit_verbatim (o, p, from, end);
}

static void
emit_region (Ctx *ctx, Out *o, const guint8 *p, size_t start, size_t end, gboolean has_at)
{
	if (has_at)
		emit_addr_region (ctx, o, p, start, end);
	else
		emit_phrase_region (ctx, o, p, start, end);
}

/* RFC 5322 address-list, leniently: display names, group names and comments are text;
 * angle-addrs and addr-specs are kept byte for byte.  FALSE when the list does not parse. */
static gboolean
addresses_walk (Ctx *ctx, Out *o, const guint8 *p, size_t n)
{
	size_t i = 0, pend = 0;
	gboolean has_at = FALSE;

	while (i < n) {
		size_t j;

		switch (p[i]) {
		case '(':
		case '"':
		case '[':
			if (!skip_delimited (p, n, &i))
				return FALSE;
			break;
		case '<':
			if (has_at)
				return FALSE;
			emit_phrase_region (ctx, o, p, pend, i);
			for (j = i + 1; j < n && p[j] != '>';) {
				if (p[j] == '"' || p[j] == '[') {
					if (!skip_delimited (p, n, &j))
						return FALSE;
				} else if (p[j] == '<') {
					return FALSE;
				} else {
					j++;
				}
			}
			if (j == n)
				return FALSE;
			o->reserve = j + 1 < n && (p[j + 1] == ',' || p[j + 1] == ';');
			emit_verbatim (o, p, i, j + 1);
			o->reserve = 0;
			i = pend = j + 1;
			break;
		case ':':
			if (has_at)
				return FALSE;
			o->reserve = 1;
			emit_phrase_region (ctx, o, p, pend, i);
			o->reserve = 0;
			out_put (o, ":", 1);
			i = pend = i + 1;
			break;
		case ',':
		case ';':
			o->reserve = 1;
			emit_region (ctx, o, p, pend, i, has_at);
			o->reserve = 0;
			out_put (o, (const char *) p + i, 1);
			i = pend = i + 1;
			has_at = FALSE;
			break;
		case '@':
			has_at = TRUE;
			i++;
			break;
		case '>':
			return FALSE;
		default:
			i++;
			break;
		}
	}
	emit_region (ctx, o, p, pend, n, has_at);
	return TRUE;
}

/* Characters that give an address list its shape: the fallback never moves one. */
static inline gboolean
is_list_special (guint8 c)
{
	return c != 0 && strchr ("\"()<>,;:@[]\\", c) != NULL;
}

/* A word of the fallback that holds text to decode: 8-bit bytes, a control, or what may be an
 * encoded-word. */
static gboolean
is_text_word (const guint8 *p, size_t n)
{
	size_t i;

	if (has_8bit (p, n) || find_marker (p, n) != NULL)
		return TRUE;
	for (i = 0; i < n; i++)
		if (is_unsafe (p[i]))
			return TRUE;
	return FALSE;
}

/* What is left of an address list that does not parse: runs of words with encoded-words or
 * 8-bit text in them, outside <...>, are decoded and written again; every other byte stays,
 * so that the next reading finds the same quotes, parentheses and angle brackets. */
static void
addresses_fallback (Ctx *ctx, Out *o, const guint8 *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t start = i, run_end;
		Record saved;

		if (is_blank (p[i])) {
			while (i < n && is_blank (p[i]))
				i++;
			out_hold (o, (const char *) p + start, i - start);
			continue;
		}
		if (p[i] == '<' && memchr (p + i, '>', n - i) != NULL) {
			while (p[i] != '>')
				i++;
			emit_verbatim (o, p, start, ++i);
			continue;
		}
		if (is_list_special (p[i])) {
			out_put (o, (const char *) p + i, 1);
			i++;
			continue;
		}
		/* A word, and the words after it, blanks between, while they hold text. */
		run_end = start;
		for (;;) {
			size_t w = i;

			while (i < n && !is_blank (p[i]) && !is_list_special (p[i]))
				i++;
			if (!is_text_word (p + w, i - w)) {
				if (w == start)
					run_end = i;
				else
					i = w;
				break;
			}
			run_end = i;
			while (i < n && is_blank (p[i]))
				i++;
			if (i == n || is_list_special (p[i])) {
				i = run_end;
				break;
			}
		}
		i = run_end;
		record_save (ctx, &saved);
		text_reset (ctx);
		decode_text (ctx, p + start, run_end - start, TEXT_RAW);
		if (record_merge (ctx, &saved)) {
			const char *ws;
			size_t ws_len;

			if (text_is_blank (ctx)) {
				out_hold (o, ctx->text->str, ctx->text->len);
				continue;
			}
			out_take (o, &ws, &ws_len);
			emit_words (ctx, o, ws, ws_len, CTX_FALLBACK);
		} else {
			emit_verbatim (o, p, start, run_end);
		}
	}
}

/* ---- parameters --------------------------------------------------------------------------- */

typedef struct {
	size_t start; /* the ';' before it */
	size_t end;   /* after its value */
	size_t attr, base_len;
	gint64 section; /* -1: not a continuation */
	gboolean extended;
	gboolean bad; /* "name*x", or text after the value: left alone */
	size_t value, value_len;
	gboolean quoted;
	guint group;
} Param;

typedef struct {
	size_t first; /* index of its first parameter in the header */
	gboolean sectioned;
	gboolean extended;
	gboolean skip;
} Group;

/* Parameters that are structure, not text: rewriting them would break the message (boundary),
 * a signature (protocol, micalg) or the caller's own edit (charset). */
static const char *const structural_params[] = {
	"charset", "boundary", "protocol", "micalg",      "type",   "start", "start-info",
	"id",      "number",   "total",    "access-type", "format", "delsp", "reply-type",
};

static gboolean
is_structural (const guint8 *name, size_t n)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (structural_params); i++)
		if (strlen (structural_params[i]) == n &&
		    g_ascii_strncasecmp ((const char *) name, structural_params[i], n) == 0)
			return TRUE;
	return FALSE;
}

/* Skips blanks, folding and comments. */
static size_t
skip_cfws (const guint8 *p, size_t n, size_t i)
{
	while (i < n) {
		if (is_blank (p[i])) {
			i++;
		} else if (p[i] == '(') {
			if (!skip_delimited (p, n, &i))
				return n;
		} else {
			break;
		}
	}
	return i;
}

/* Index of the next ';' outside quoted strings and comments, or n. */
static size_t
next_semicolon (const guint8 *p, size_t n, size_t i)
{
	while (i < n && p[i] != ';') {
		if (p[i] == '"' || p[i] == '(') {
			if (!skip_delimited (p, n, &i))
				return n;
		} else {
			i++;
		}
	}
	return i;
}

static void
param_parse_name (const guint8 *p, Param *param, size_t attr_len)
{
	const guint8 *a = p + param->attr, *star = memchr (a, '*', attr_len);
	size_t i;

	param->section = -1;
	param->base_len = star != NULL ? (size_t) (star - a) : attr_len;
	if (star == NULL)
		return;
	i = param->base_len + 1;
	if (i < attr_len && g_ascii_isdigit (a[i])) {
		gint64 section = 0;

		/* Nine digits: more sections than that are not a value anyone wrote. */
		while (i < attr_len && g_ascii_isdigit (a[i]) && section < 100000000)
			section = section * 10 + (a[i++] - '0');
		param->section = section;
		if (i < attr_len && a[i] == '*') {
			param->extended = TRUE;
			i++;
		}
	} else {
		param->extended = TRUE;
	}
	if (i != attr_len || param->base_len == 0)
		param->bad = TRUE;
}

/* Parses the parameters of a Content-Type or Content-Disposition value.  FALSE when there are
 * more than `max`. */
static gboolean
params_parse (const guint8 *p, size_t n, size_t max, GArray *params)
{
	size_t i = next_semicolon (p, n, 0);

	while (i < n) {
		Param param = { 0 };
		size_t attr_len;

		param.start = i;
		i = skip_cfws (p, n, i + 1);
		param.attr = i;
		while (i < n && is_token_char (p[i]))
			i++;
		attr_len = i - param.attr;
		i = skip_cfws (p, n, i);
		if (attr_len == 0 || i == n || p[i] != '=') {
			i = next_semicolon (p, n, i);
			continue;
		}
		i = skip_cfws (p, n, i + 1);
		if (i < n && p[i] == '"') {
			size_t j = i;

			if (!skip_delimited (p, n, &j))
				return TRUE; /* unterminated: what follows is not parameters */
			param.quoted = TRUE;
			param.value = i + 1;
			param.value_len = j - i - 2;
			i = j;
		} else {
			param.value = i;
			while (i < n && p[i] != ';' && !is_blank (p[i]) && p[i] != '(' &&
			       p[i] != '"')
				i++;
			param.value_len = i - param.value;
		}
		param.end = i;
		param_parse_name (p, &param, attr_len);
		/* Text between the value and the next ';' would run into a value written
		 * differently (unquoted, say) and read otherwise next time. */
		if (skip_cfws (p, n, i) < n && p[skip_cfws (p, n, i)] != ';')
			param.bad = TRUE;
		if (params->len >= max)
			return FALSE;
		g_array_append_val (params, param);
		i = next_semicolon (p, n, i);
	}
	return TRUE;
}

/* The value of a parameter as bytes: a quoted string unquoted, RFC 2231 %XX decoded. */
static void
param_value_bytes (const guint8 *p, const Param *param, gboolean percent, GByteArray *out)
{
	const guint8 *v = p + param->value;
	size_t i, n = param->value_len, at = out->len;
	guint8 *w;

	if (n == 0)
		return;
	/* Decoding only shrinks: room for all of it, then one cut to size. */
	g_byte_array_set_size (out, (guint) (at + n));
	w = out->data + at;
	for (i = 0; i < n; i++) {
		guint8 c = v[i];

		if (param->quoted && c == '\\' && i + 1 < n) {
			c = v[++i];
		} else if (c == '\r' || c == '\n') {
			continue; /* folding inside a quoted string */
		} else if (percent && c == '%' && i + 2 < n && hex_value (v[i + 1]) >= 0 &&
			   hex_value (v[i + 2]) >= 0) {
			c = (guint8) (hex_value (v[i + 1]) * 16 + hex_value (v[i + 2]));
			i += 2;
		}
		*w++ = c;
	}
	g_byte_array_set_size (out, (guint) (w - out->data));
}

typedef enum {
	FORM_RFC2231,
	FORM_QUOTED_UTF8,
	FORM_QUOTED_RFC2047,
} ParamForm;

typedef struct {
	size_t start, end;
	gboolean write; /* FALSE: the span is dropped (a later section of a rewritten one) */
	ParamForm form;
	size_t base, base_len;
	size_t text, text_len; /* the decoded value, in the texts buffer */
} Edit;

static int
compare_members (gconstpointer a, gconstpointer b, gpointer data)
{
	const Param *params = data;
	const Param *x = &params[*(const guint *) a], *y = &params[*(const guint *) b];

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if (x->section != y->section)
		return x->section < y->section ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int
compare_edits (gconstpointer a, gconstpointer b)
{
	const Edit *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Decodes a group's value into ctx->text.  FALSE when it is to be left alone (an unknown
 * charset, sections given twice). */
static gboolean
group_decode (Ctx *ctx, const guint8 *p, const Param *params, const guint *members,
	      size_t n_members)
{
	const _MimeUtf8Charset *charset = NULL;
	gboolean normal = FALSE, extended = FALSE;
	GByteArray *bytes = ctx->param;
	size_t k;

	for (k = 0; k < n_members; k++) {
		if (k > 0 && params[members[k]].section == params[members[k - 1]].section)
			return FALSE;
		extended |= params[members[k]].extended;
	}
	g_byte_array_set_size (bytes, 0);
	text_reset (ctx);
	if (!extended) {
		for (k = 0; k < n_members; k++)
			param_value_bytes (p, &params[members[k]], FALSE, bytes);
		decode_text (ctx, bytes->data, bytes->len, TEXT_RAW);
		return TRUE;
	}
	for (k = 0; k < n_members; k++) {
		Param param = params[members[k]];

		if (k == 0 && param.extended) {
			/* charset'language'value, its quotes found before %XX can make more;
			 * without both, the whole is the value. */
			const guint8 *v = p + param.value;
			const guint8 *q1 = memchr (v, '\'', param.value_len);
			const guint8 *q2 =
				q1 != NULL ? memchr (q1 + 1, '\'',
						     param.value_len - (size_t) (q1 + 1 - v))
					   : NULL;

			if (q2 != NULL) {
				size_t label_len = (size_t) (q1 - v);

				if (label_len > 0) {
					charset = _mimeutf8_charset_lookup ((const char *) v,
									    label_len);
					if (charset == NULL)
						return FALSE;
					normal = label_is_normal (v, label_len);
				}
				param.value_len -= (size_t) (q2 + 1 - v);
				param.value += (size_t) (q2 + 1 - v);
			}
		}
		param_value_bytes (p, &param, param.extended, bytes);
	}
	if (charset != NULL) {
		decode_bytes (ctx, charset, normal, bytes->data, bytes->len, RULE_RFC2231,
			      ctx->text);
	} else if (has_8bit (bytes->data, bytes->len)) {
		/* No charset declared: raw 8-bit bytes, which need a label in either output. */
		decide_raw (ctx, bytes->data, bytes->len);
		decode_bytes (ctx, ctx->raw_charset, FALSE, bytes->data, bytes->len, ctx->raw_rule,
			      ctx->text);
	} else {
		append_sanitized (ctx, ctx->text, bytes->data, bytes->len);
	}
	return TRUE;
}

static void
emit_param (Ctx *ctx, Out *o, const guint8 *p, size_t n_value, const Edit *edit, GString *texts)
{
	const char *base = (const char *) p + edit->base;
	const guint8 *t = (const guint8 *) texts->str + edit->text;
	size_t n = edit->text_len, i;
	GString *tok = g_string_new (NULL);

	out_put (o, ";", 1);
	o->reserve = edit->end < n_value && p[edit->end] == ';';
	if (edit->form == FORM_RFC2231) {
		GString *enc = g_string_new (NULL);
		GArray *cuts = g_array_new (FALSE, FALSE, sizeof (size_t));
		size_t section_len = 0;

		/* %-encode by characters, noting where each section would end. */
		for (i = 0; i < n;) {
			size_t k = utf8_char_len (t + i, n - i), m, before = enc->len;

			for (m = 0; m < k; m++) {
				guint8 c = t[i + m];

				if (is_attr_char (c)) {
					g_string_append_c (enc, (char) c);
				} else {
					g_string_append_c (enc, '%');
					g_string_append_c (enc, hex_digits[c >> 4]);
					g_string_append_c (enc, hex_digits[c & 15]);
				}
			}
			if (section_len > 0 && section_len + enc->len - before > SECTION_MAX) {
				g_array_append_val (cuts, before);
				section_len = 0;
			}
			section_len += enc->len - before;
			i += k;
		}
		if (cuts->len == 0) {
			g_string_append_len (tok, base, (gssize) edit->base_len);
			g_string_append (tok, "*=utf-8''");
			g_string_append_len (tok, enc->str, (gssize) enc->len);
			out_token (o, " ", 1, tok->str, tok->len);
		} else {
			size_t from = 0, s;

			for (s = 0; s <= cuts->len; s++) {
				size_t to =
					s < cuts->len ? g_array_index (cuts, size_t, s) : enc->len;

				char number[32];

				g_snprintf (number, sizeof number, "*%zu*=", s);
				if (s > 0)
					out_put (o, ";", 1);
				out_fold (o);
				out_put (o, " ", 1);
				out_put (o, base, edit->base_len);
				out_put (o, number, strlen (number));
				if (s == 0)
					out_put (o, "utf-8''", 7);
				out_put (o, enc->str + from, to - from);
				from = to;
			}
		}
		g_array_unref (cuts);
		g_string_free (enc, TRUE);
	} else {
		g_string_append_len (tok, base, (gssize) edit->base_len);
		g_string_append (tok, "=\"");
		if (edit->form == FORM_QUOTED_UTF8)
			append_escaped (tok, (const char *) t, n, "\"\\");
		else if (n > 0)
			encode_words (ctx, NULL, tok, "", 0, t, n, TRUE);
		g_string_append_c (tok, '"');
		out_token (o, " ", 1, tok->str, tok->len);
	}
	o->reserve = 0;
	g_string_free (tok, TRUE);
}

/* Writes [start, end) of a parameter list as it is, except that a parameter that would pass the
 * fold column after a rewritten one (or after a dropped section and its fold) folds at the
 * blanks after its ';'. */
static void
emit_params_verbatim (Out *o, const guint8 *p, size_t start, size_t end, size_t n)
{
	size_t semi = next_semicolon (p, end, start);

	out_put (o, (const char *) p + start, MIN (semi + 1, end) - start);
	while (semi < end) {
		size_t ws_end = semi + 1, next, tok_end;
		const char *ws;
		size_t ws_len;

		while (ws_end < end && is_blank (p[ws_end]))
			ws_end++;
		next = next_semicolon (p, end, ws_end);
		tok_end = MIN (next + 1, end);
		/* The ';' that ends it goes with it; past the end of the segment, the next ';' comes
		 * from what follows. */
		out_hold (o, (const char *) p + semi + 1, ws_end - semi - 1);
		out_take (o, &ws, &ws_len);
		o->reserve = next == end && end < n;
		out_token (o, ws, ws_len, (const char *) p + ws_end, tok_end - ws_end);
		o->reserve = 0;
		semi = next;
	}
}

/* Flags of the names a header's parameter groups use, by lower-case base name. */
enum {
	NAME_PLAIN = 1 << 0,    /* name= */
	NAME_EXTENDED = 1 << 1, /* name*= or name*N... */
};

static GString *
normalize_params (Ctx *ctx, const guint8 *p, size_t n, size_t max_params, size_t max_words,
		  _MimeUtf8HeaderChange *change)
{
	g_autoptr (GArray) params = g_array_new (FALSE, TRUE, sizeof (Param));
	g_autoptr (GArray) groups = g_array_new (FALSE, TRUE, sizeof (Group));
	g_autoptr (GArray) members = NULL;
	g_autoptr (GArray) edits = g_array_new (FALSE, TRUE, sizeof (Edit));
	g_autoptr (GHashTable) by_key = NULL, names = NULL;
	g_autoptr (GString) texts = g_string_new (NULL);
	gboolean interesting = FALSE;
	Out o;
	size_t i, pos;

	if (!params_parse (p, n, max_params, params)) {
		change->limit_hit = TRUE;
		return NULL;
	}
	for (i = 0; i < params->len && !interesting; i++) {
		const Param *param = &g_array_index (params, Param, i);

		interesting = param->section >= 0 || param->extended ||
			      has_8bit (p + param->value, param->value_len) ||
			      find_marker (p + param->value, param->value_len) != NULL;
	}
	if (!interesting)
		return NULL;
	if (count_words (p, n, max_words) > max_words) {
		change->limit_hit = TRUE;
		return NULL;
	}

	/* Groups: a parameter and its continuations; name= and name*= are two. */
	by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	for (i = 0; i < params->len; i++) {
		Param *param = &g_array_index (params, Param, i);
		char *base =
			g_ascii_strdown ((const char *) p + param->attr, (gssize) param->base_len);
		char *key = g_strdup_printf ("%s%c", base,
					     param->section >= 0 ? 's'
					     : param->extended   ? 'e'
								 : 'p');
		gpointer found;
		guint flags = GPOINTER_TO_UINT (g_hash_table_lookup (names, base));

		if (g_hash_table_lookup_extended (by_key, key, NULL, &found)) {
			param->group = GPOINTER_TO_UINT (found);
			g_free (key);
		} else {
			Group group = { 0 };

			group.first = i;
			group.sectioned = param->section >= 0;
			group.extended = param->extended && param->section < 0;
			group.skip = param->bad || is_structural (p + param->attr, param->base_len);
			param->group = groups->len;
			g_array_append_val (groups, group);
			g_hash_table_insert (by_key, key, GUINT_TO_POINTER (param->group));
		}
		if (param->bad)
			g_array_index (groups, Group, param->group).skip = TRUE;
		flags |= param->section >= 0 || param->extended ? NAME_EXTENDED : NAME_PLAIN;
		g_hash_table_insert (names, base, GUINT_TO_POINTER (flags));
	}
	members = g_array_sized_new (FALSE, FALSE, sizeof (guint), params->len);
	for (i = 0; i < params->len; i++) {
		guint m = (guint) i;

		g_array_append_val (members, m);
	}
	g_array_sort_with_data (members, compare_members, params->data);

	for (i = 0; i < members->len;) {
		const guint *m = &g_array_index (members, guint, i);
		const Param *first_param = &g_array_index (params, Param, m[0]);
		const Group *group = &g_array_index (groups, Group, first_param->group);
		size_t count = 1, k;
		Record saved;
		g_autofree char *base = NULL;
		guint flags;
		ParamForm form;

		while (i + count < members->len &&
		       g_array_index (params, Param, m[count]).group == first_param->group)
			count++;
		i += count;
		if (group->skip)
			continue;
		record_save (ctx, &saved);
		if (!group_decode (ctx, p, (const Param *) params->data, m, count) ||
		    !record_merge (ctx, &saved)) {
			ctx->rec = saved;
			continue;
		}
		base = g_ascii_strdown ((const char *) p + first_param->attr,
					(gssize) first_param->base_len);
		flags = GPOINTER_TO_UINT (g_hash_table_lookup (names, base));
		/* In a quoted string, text that holds an encoded-word would be decoded on the next
		 * reading (readers decode them there): RFC 2231 keeps it text. */
		if (ctx->mode == MIMEUTF8_HEADERS_UTF8) {
			gboolean collides =
				(group->sectioned || group->extended) && (flags & NAME_PLAIN) != 0;

			if (collides || has_live_word (ctx, 0, ctx->text->len))
				form = FORM_RFC2231;
			else
				form = FORM_QUOTED_UTF8;
		} else {
			gboolean collides = !group->sectioned && !group->extended &&
					    (flags & NAME_EXTENDED) != 0;

			form = collides ? FORM_QUOTED_RFC2047 : FORM_RFC2231;
		}
		for (k = 0; k < count; k++) {
			const Param *param = &g_array_index (params, Param, m[k]);
			Edit edit = { param->start, param->end, FALSE };

			if (m[k] == group->first) {
				edit.write = TRUE;
				edit.form = form;
				edit.base = first_param->attr;
				edit.base_len = first_param->base_len;
				edit.text = texts->len;
				edit.text_len = ctx->text->len;
				g_string_append_len (texts, ctx->text->str,
						     (gssize) ctx->text->len);
			}
			g_array_append_val (edits, edit);
		}
	}
	if (edits->len == 0)
		return NULL;
	g_array_sort (edits, compare_edits);
	out_init (&o, ctx->name, ctx->newline, n);
	for (i = 0, pos = 0; i < edits->len; i++) {
		const Edit *edit = &g_array_index (edits, Edit, i);

		if (i == 0)
			out_put (&o, (const char *) p + pos, edit->start - pos);
		else
			emit_params_verbatim (&o, p, pos, edit->start, n);
		if (edit->write)
			emit_param (ctx, &o, p, n, edit, texts);
		pos = edit->end;
	}
	emit_params_verbatim (&o, p, pos, n, n);
	return out_finish (&o);
}

/* ---- header names ------------------------------------------------------------------------- */

static const char *const unstructured_names[] = {
	"subject", "comments", "keywords", "content-description", "thread-topic", "organization",
};

static const char *const address_names[] = {
	"from",
	"to",
	"cc",
	"bcc",
	"reply-to",
	"sender",
	"resent-from",
	"resent-to",
	"resent-cc",
	"resent-bcc",
	"resent-sender",
	"disposition-notification-to",
};

/* X- headers named like these carry addresses, identifiers, trace or signatures, not text. */
static const char *const x_structured_suffixes[] = {
	"-to",        "-cc",         "-bcc",      "-from",       "-sender",
	"-for",       "-path",       "-id",       "-signature",  "-results",
	"-recipient", "-recipients", "-received", "-references", "-reply-to",
};

static gboolean
name_in (const char *name, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (g_ascii_strcasecmp (name, list[i]) == 0)
			return TRUE;
	return FALSE;
}

static gboolean
ends_with_ci (const char *s, size_t n, const char *suffix)
{
	size_t k = strlen (suffix);

	return n >= k && g_ascii_strcasecmp (s + n - k, suffix) == 0;
}

static HeaderKind
header_kind (const char *name)
{
	size_t n = strlen (name), i;

	if (name_in (name, unstructured_names, G_N_ELEMENTS (unstructured_names)))
		return KIND_UNSTRUCTURED;
	if (name_in (name, address_names, G_N_ELEMENTS (address_names)))
		return KIND_ADDRESSES;
	if (g_ascii_strcasecmp (name, "content-type") == 0 ||
	    g_ascii_strcasecmp (name, "content-disposition") == 0)
		return KIND_PARAMS;
	if (n > 2 && g_ascii_strncasecmp (name, "x-", 2) == 0) {
		g_autofree char *lower = g_ascii_strdown (name, (gssize) n);

		for (i = 0; i < G_N_ELEMENTS (x_structured_suffixes); i++)
			if (ends_with_ci (name, n, x_structured_suffixes[i]))
				return KIND_NONE;
		if (strstr (lower, "dkim") != NULL || strstr (lower, "arc-") != NULL ||
		    strstr (lower, "received") != NULL)
			return KIND_NONE;
		return KIND_UNSTRUCTURED;
	}
	return KIND_NONE;
}

/* ---- the entry point ---------------------------------------------------------------------- */

/* Raw 8-bit bytes that are not UTF-8 make a structured header (Received, Date, Message-ID...)
 * invalid already; read as text and rewritten, it at least becomes UTF-8 (7-bit under
 * MIMEUTF8_HEADERS_ENCODED).  Valid UTF-8 stays: it may be an RFC 6531 address, and RFC 6532
 * allows it. */
static gboolean
raw_8bit_text (const guint8 *p, size_t n)
{
	_MimeUtf8Scan scan;

	if (_mimeutf8_ascii_prefix (p, n) == n)
		return FALSE;
	_mimeutf8_utf8_scan (p, n, &scan);
	return scan.invalid > 0;
}

/* Headers that a signature covers or that carry one, and Return-Path (an addr-spec only): never
 * rewritten, whatever their bytes. */
static gboolean
signs (const char *name)
{
	g_autofree char *lower = g_ascii_strdown (name, -1);

	return strstr (lower, "dkim") != NULL || g_str_has_prefix (lower, "arc-") ||
	       strstr (lower, "signature") != NULL || strcmp (lower, "return-path") == 0;
}

/* Identifier headers: never rewritten, whatever their bytes.  A msg-id allows no encoded-word,
 * and one rewritten no longer matches the References and In-Reply-To of the replies, which
 * breaks threading; Content-ID is matched by cid: URLs, MIME-Version by its exact value. */
static const char *const identifier_names[] = {
	"message-id", "references", "in-reply-to", "content-id", "mime-version", "resent-message-id",
};

/* A CR or LF that is not part of a fold (CR LF or LF, then a blank). */
static gboolean
has_bare_break (const guint8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' && !(i + 1 < n && p[i + 1] == '\n'))
			return TRUE;
		if (p[i] == '\n' && !(i + 1 < n && is_wsp (p[i + 1])))
			return TRUE;
	}
	return FALSE;
}

/* Nothing a rewrite could change: 7-bit, no encoded-word marker, no NUL, no bare line break. */
static gboolean
plainly_normal (const guint8 *p, size_t n)
{
	return !has_8bit (p, n) && find_marker (p, n) == NULL && memchr (p, 0, n) == NULL &&
	       !has_bare_break (p, n);
}

static void
ctx_clear (Ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->n_translators; i++)
		mimeutf8_translator_free (ctx->translators[i].translator);
	g_byte_array_unref (ctx->run);
	g_byte_array_unref (ctx->raw);
	g_byte_array_unref (ctx->word);
	g_byte_array_unref (ctx->conv);
	g_byte_array_unref (ctx->param);
	g_byte_array_unref (ctx->unquoted);
	g_string_free (ctx->text, TRUE);
	g_string_free (ctx->scratch, TRUE);
	g_string_free (ctx->scratch2, TRUE);
}

GString *
_mimeutf8_header_normalize (const char *name, const char *value, size_t len,
			    const MimeUtf8Options *options, const _MimeUtf8Charset *eight_bit,
			    const _MimeUtf8Charset *fallback, const char *newline,
			    _MimeUtf8HeaderChange *change_out)
{
	const guint8 *p = (const guint8 *) value;
	_MimeUtf8HeaderChange ignored;
	MimeUtf8HeaderMode mode = options != NULL ? options->headers : MIMEUTF8_HEADERS_ENCODED;
	size_t max_words = options != NULL && options->max_encoded_words != 0
				   ? options->max_encoded_words
				   : DEFAULT_MAX_ENCODED_WORDS;
	size_t max_params = options != NULL && options->max_params != 0 ? options->max_params
									: DEFAULT_MAX_PARAMS;
	HeaderKind kind;
	GString *result = NULL;
	Ctx ctx = { 0 };

	if (change_out == NULL)
		change_out = &ignored;
	memset (change_out, 0, sizeof *change_out);
	g_return_val_if_fail (name != NULL, NULL);
	g_return_val_if_fail (value != NULL || len == 0, NULL);
	if (len == 0 || (mode != MIMEUTF8_HEADERS_ENCODED && mode != MIMEUTF8_HEADERS_UTF8))
		return NULL;
	kind = header_kind (name);
	if (kind == KIND_NONE && raw_8bit_text ((const guint8 *) value, len) && !signs (name) &&
	    !name_in (name, identifier_names, G_N_ELEMENTS (identifier_names)))
		kind = KIND_UNSTRUCTURED;
	/* A line break inside a list that is no fold leaves its structure in doubt: such a list
	 * is not rewritten.  (Unstructured text turns one into a blank.) */
	if (kind == KIND_NONE ||
	    (kind != KIND_UNSTRUCTURED && has_bare_break ((const guint8 *) value, len)))
		return NULL;
	if (kind != KIND_PARAMS) {
		if (plainly_normal (p, len))
			return NULL;
		if (count_words (p, len, max_words) > max_words) {
			change_out->limit_hit = TRUE;
			return NULL;
		}
	}

	ctx.mode = mode;
	ctx.name = name;
	ctx.newline = newline != NULL ? newline : "\n";
	/* Sized for the value once: regrowing by doubling copies a large value many times. */
	ctx.run = g_byte_array_new ();
	ctx.raw = g_byte_array_sized_new ((guint) MIN (len, G_MAXUINT));
	ctx.word = g_byte_array_new ();
	ctx.conv = g_byte_array_new ();
	ctx.param = g_byte_array_new ();
	ctx.unquoted = g_byte_array_new ();
	ctx.text = g_string_sized_new (len + len / 2);
	ctx.scratch = g_string_new (NULL);
	ctx.scratch2 = g_string_new (NULL);
	ctx.eight_bit = eight_bit;
	ctx.fallback = fallback;

	if (kind == KIND_PARAMS) {
		result = normalize_params (&ctx, p, len, max_params, max_words, change_out);
	} else {
		Out o;
		size_t lead = 0;

		while (lead < len && is_blank (p[lead]))
			lead++;
		out_init (&o, name, ctx.newline, len);
		if (kind == KIND_UNSTRUCTURED) {
			decode_text (&ctx, p + lead, len - lead, TEXT_RAW);
			/* Text that decodes to nothing leaves no fold behind. */
			if (text_is_blank (&ctx))
				out_hold (&o, value, lead);
			else
				out_put (&o, value, lead);
			if (ctx.rec.changed)
				emit_words (&ctx, &o, "", 0, CTX_UNSTRUCTURED);
		} else {
			out_put (&o, value, lead);
			if (!addresses_walk (&ctx, &o, p + lead, len - lead)) {
				/* Start again from the leading blanks, forgetting what the walk
				 * met. */
				memset (&ctx.rec, 0, sizeof ctx.rec);
				g_string_free (out_finish (&o), TRUE);
				out_init (&o, name, ctx.newline, len);
				out_put (&o, value, lead);
				addresses_fallback (&ctx, &o, p + lead, len - lead);
			}
		}
		result = out_finish (&o);
		if (!ctx.rec.changed) {
			g_string_free (result, TRUE);
			result = NULL;
		}
	}
	if (result != NULL && result->len == len && memcmp (result->str, value, len) == 0) {
		g_string_free (result, TRUE);
		result = NULL;
	}
	if (result != NULL) {
		change_out->rule = rule_names[ctx.rec.rule];
		change_out->charset = ctx.rec.charset;
		change_out->replacements = ctx.rec.replacements;
		change_out->sanitized = ctx.rec.sanitized;
	}
	ctx_clear (&ctx);
	return result;
}

/* ---- decoded values, for the parsed view (view.c) ------------------------------------------ */

/* A decoder only: the same decoding as a rewrite, with raw UTF-8 taken as it is (RFC 6532). */
static void
ctx_init_decoder (Ctx *ctx, const _MimeUtf8Charset *eight_bit, const _MimeUtf8Charset *fallback)
{
	memset (ctx, 0, sizeof *ctx);
	ctx->mode = MIMEUTF8_HEADERS_UTF8;
	ctx->name = "";
	ctx->newline = "\n";
	ctx->run = g_byte_array_new ();
	ctx->raw = g_byte_array_new ();
	ctx->word = g_byte_array_new ();
	ctx->conv = g_byte_array_new ();
	ctx->param = g_byte_array_new ();
	ctx->unquoted = g_byte_array_new ();
	ctx->text = g_string_new (NULL);
	ctx->scratch = g_string_new (NULL);
	ctx->scratch2 = g_string_new (NULL);
	ctx->eight_bit = eight_bit;
	ctx->fallback = fallback;
}

/* ctx->text with its runs of blanks made one space, and none at either end. */
static char *
ctx_text_collapsed (Ctx *ctx)
{
	GString *out = g_string_sized_new (ctx->text->len);
	gboolean blank = FALSE;
	size_t i;

	for (i = 0; i < ctx->text->len; i++) {
		char c = ctx->text->str[i];

		if (is_wsp ((guint8) c)) {
			blank = out->len > 0;
			continue;
		}
		if (blank)
			g_string_append_c (out, ' ');
		blank = FALSE;
		g_string_append_c (out, c);
	}
	return g_string_free (out, FALSE);
}

/* A control character other than the CR and LF of folds (which plainly_normal checks). */
static gboolean
has_unsafe_but_folds (const guint8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (is_unsafe (p[i]) && p[i] != '\r' && p[i] != '\n')
			return TRUE;
	return FALSE;
}

char *
_mimeutf8_header_decode_text (const char *value, size_t len, const _MimeUtf8Charset *eight_bit,
			      const _MimeUtf8Charset *fallback)
{
	const guint8 *p = (const guint8 *) value;
	Ctx ctx;
	char *text;
	size_t i;

	if (plainly_normal (p, len) && !has_unsafe_but_folds (p, len)) {
		/* nothing to decode (most headers): unfolded, as decode_text would */
		GString *out = g_string_sized_new (len);

		for (i = 0; i < len; i++)
			if (p[i] != '\r' && p[i] != '\n')
				g_string_append_c (out, (char) p[i]);
		return g_strstrip (g_string_free (out, FALSE));
	}
	ctx_init_decoder (&ctx, eight_bit, fallback);
	decode_text (&ctx, (const guint8 *) value, len, TEXT_RAW);
	text = g_strstrip (g_strndup (ctx.text->str, ctx.text->len));
	ctx_clear (&ctx);
	return text;
}

/* Appends [start, end) without its comments (each becomes a blank) to `out`. */
static void
append_without_comments (const guint8 *p, size_t start, size_t end, GByteArray *out)
{
	size_t i = start, from = start;

	while (i < end) {
		if (p[i] == '"' || p[i] == '(' || p[i] == '[') {
			size_t j = i;

			if (!skip_delimited (p, end, &j))
				j = end;
			if (p[i] == '(') {
				g_byte_array_append (out, p + from, (guint) (i - from));
				g_byte_array_append (out, (const guint8 *) " ", 1);
				from = j;
			}
			i = j;
		} else {
			i++;
		}
	}
	g_byte_array_append (out, p + from, (guint) (end - from));
}

/* One mailbox of an address list, [start, end): its display name decoded as the rewrite decodes
 * it, its addr-spec as written (blanks, folding and comments taken away). */
static void
add_mailbox (Ctx *ctx, const guint8 *p, size_t start, size_t end, GPtrArray *names,
	     GPtrArray *addresses)
{
	g_autoptr (GByteArray) bytes = g_byte_array_new ();
	size_t i = start, lt = end, gt = end, k;
	char *name, *address;
	GString *spec;

	while (i < end && gt == end) {
		if (p[i] == '"' || p[i] == '(' || p[i] == '[') {
			if (!skip_delimited (p, end, &i))
				i = end;
			continue;
		}
		if (p[i] == '<' && lt == end)
			lt = i;
		else if (p[i] == '>' && lt != end)
			gt = i;
		i++;
	}
	if (lt < end) {
		append_without_comments (p, start, lt, bytes);
		text_reset (ctx);
		decode_text (ctx, bytes->data, bytes->len, TEXT_PHRASE);
		name = ctx_text_collapsed (ctx);
		g_byte_array_set_size (bytes, 0);
		append_without_comments (p, lt + 1, gt, bytes);
	} else {
		name = g_strdup ("");
		append_without_comments (p, start, end, bytes);
	}
	spec = g_string_sized_new (bytes->len);
	for (k = 0; k < bytes->len; k++)
		if (!is_blank (bytes->data[k]))
			g_string_append_c (spec, (char) bytes->data[k]);
	/* an obsolete source route, "<@a,@b:user@host>", is not part of the address */
	if (spec->str[0] == '@' && strchr (spec->str, ':') != NULL)
		g_string_erase (spec, 0, strchr (spec->str, ':') - spec->str + 1);
	address = g_utf8_make_valid (spec->str, (gssize) spec->len);
	g_string_free (spec, TRUE);
	if (name[0] == '\0' && address[0] == '\0') {
		g_free (name);
		g_free (address);
		return;
	}
	g_ptr_array_add (names, name);
	g_ptr_array_add (addresses, address);
}

void
_mimeutf8_header_decode_addresses (const char *value, size_t len,
				   const _MimeUtf8Charset *eight_bit,
				   const _MimeUtf8Charset *fallback, GPtrArray *names,
				   GPtrArray *addresses)
{
	const guint8 *p = (const guint8 *) value;
	size_t i = 0, start = 0;
	Ctx ctx;

	ctx_init_decoder (&ctx, eight_bit, fallback);
	while (i < len) {
		switch (p[i]) {
		case '"':
		case '(':
		case '[':
			if (!skip_delimited (p, len, &i))
				i = len;
			continue;
		case '<':
			while (i < len && p[i] != '>') {
				if (p[i] == '"' && skip_delimited (p, len, &i))
					continue;
				i++;
			}
			break;
		case ':':
			/* a group's name: its members follow */
			start = i + 1;
			break;
		case ',':
		case ';':
			add_mailbox (&ctx, p, start, i, names, addresses);
			start = i + 1;
			break;
		default:
			break;
		}
		i++;
	}
	if (start < len)
		add_mailbox (&ctx, p, start, len, names, addresses);
	ctx_clear (&ctx);
}

/* TRUE when parameter `param` is named `name` (without its RFC 2231 section and star). */
static gboolean
param_is (const guint8 *p, const Param *param, const char *name)
{
	return param->base_len == strlen (name) &&
	       g_ascii_strncasecmp ((const char *) p + param->attr, name, param->base_len) == 0;
}

char *
_mimeutf8_header_decode_param (const char *value, size_t len, const char *name,
			       const _MimeUtf8Charset *eight_bit, const _MimeUtf8Charset *fallback)
{
	const guint8 *p = (const guint8 *) value;
	g_autoptr (GArray) params = g_array_new (FALSE, TRUE, sizeof (Param));
	g_autoptr (GArray) extended = g_array_new (FALSE, FALSE, sizeof (guint));
	g_autoptr (GArray) plain = g_array_new (FALSE, FALSE, sizeof (guint));
	char *text = NULL;
	Ctx ctx;
	guint i;

	params_parse (p, len, DEFAULT_MAX_PARAMS, params);
	for (i = 0; i < params->len; i++) {
		const Param *param = &g_array_index (params, Param, i);

		if (param->bad || !param_is (p, param, name))
			continue;
		if (param->section >= 0 || param->extended)
			g_array_append_val (extended, i);
		else if (plain->len == 0)
			g_array_append_val (plain, i);
	}
	if (extended->len == 0 && plain->len == 0)
		return NULL;
	/* RFC 2231 first, as readers prefer it; sections in order */
	g_array_sort_with_data (extended, compare_members, params->data);
	ctx_init_decoder (&ctx, eight_bit, fallback);
	if ((extended->len > 0 && group_decode (&ctx, p, (const Param *) params->data,
						(const guint *) extended->data, extended->len)) ||
	    (plain->len > 0 && group_decode (&ctx, p, (const Param *) params->data,
					     (const guint *) plain->data, plain->len)))
		text = g_strstrip (g_strndup (ctx.text->str, ctx.text->len));
	ctx_clear (&ctx);
	return text;
}

void
_mimeutf8_header_param_names (const char *value, size_t len, GPtrArray *names)
{
	const guint8 *p = (const guint8 *) value;
	g_autoptr (GArray) params = g_array_new (FALSE, TRUE, sizeof (Param));
	guint i, k;

	params_parse (p, len, DEFAULT_MAX_PARAMS, params);
	for (i = 0; i < params->len; i++) {
		const Param *param = &g_array_index (params, Param, i);
		char *base;

		if (param->bad)
			continue;
		base = g_ascii_strdown ((const char *) p + param->attr, (gssize) param->base_len);
		for (k = 0; k < names->len && strcmp (g_ptr_array_index (names, k), base) != 0; k++)
			;
		if (k < names->len)
			g_free (base);
		else
			g_ptr_array_add (names, base);
	}
}
