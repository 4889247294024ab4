/* rfc2047.c: RFC 2047 encoded-words: counting and decoding them (with the raw 8-bit text between
 * them), and writing text back as UTF-8 encoded-words where it must be (unstructured text, a
 * phrase, a comment), plain where it may. */
#include <string.h>

#include "header-text.h"

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
size_t
_mimeutf8_count_words (const guint8 *p, size_t n, size_t max)
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
gboolean
_mimeutf8_label_is_normal (const guint8 *label, size_t n)
{
	return (n == 5 && g_ascii_strncasecmp ((const char *) label, "utf-8", 5) == 0) ||
	       (n == 8 && g_ascii_strncasecmp ((const char *) label, "us-ascii", 8) == 0);
}

void
_mimeutf8_text_reset (Ctx *ctx)
{
	g_string_truncate (ctx->text, 0);
}

static void
flush_run (Ctx *ctx)
{
	if (ctx->run_charset == NULL)
		return;
	_mimeutf8_decode_bytes (ctx, ctx->run_charset, ctx->run_normal, ctx->run->data,
				ctx->run->len, RULE_RFC2047, ctx->text);
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
		_mimeutf8_append_sanitized (ctx, ctx->text, p, n);
	} else {
		/* Raw UTF-8 is what RFC 6532 allows: normal when the output may be 8-bit. */
		gboolean normal =
			ctx->mode == MIMEUTF8_HEADERS_UTF8 && ctx->raw_charset == _mimeutf8_cs_utf8;

		_mimeutf8_decode_bytes (ctx, ctx->raw_charset, normal, p, n, ctx->raw_rule,
					ctx->text);
	}
	g_byte_array_set_size (ctx->raw, 0);
}

/* How the raw 8-bit bytes of a piece of text decode, from the evidence of all of them. */
void
_mimeutf8_decide_raw (Ctx *ctx, const guint8 *p, size_t n)
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
void
_mimeutf8_decode_text (Ctx *ctx, const guint8 *p, size_t n, TextKind kind)
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
		_mimeutf8_decide_raw (ctx, p, n);
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
				ctx->run_normal &= _mimeutf8_label_is_normal (w.label, w.label_len);
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
void
_mimeutf8_encode_words (Ctx *ctx, Out *o, GString *dst, const char *ws, size_t ws_len,
			const guint8 *p, size_t n, gboolean restricted)
{
	size_t i, q_left = 0;
	gboolean use_b;
	GString *word = ctx->scratch2;

	if (o != NULL)
		_mimeutf8_out_flush (o);
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
				_mimeutf8_out_fold (o);
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
			_mimeutf8_out_put (o, ws, ws_len);
			_mimeutf8_out_put (o, word->str, word->len);
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
gboolean
_mimeutf8_has_live_word (Ctx *ctx, size_t start, size_t end)
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
	return !_mimeutf8_has_live_word (ctx, start, end);
}

void
_mimeutf8_append_escaped (GString *out, const char *p, size_t n, const char *specials)
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
void
_mimeutf8_emit_words (Ctx *ctx, Out *o, const char *ws, size_t ws_len, TextContext tc)
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
			_mimeutf8_out_hold (o, sep->str, sep->len);
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
				_mimeutf8_append_escaped (tok, t + w_start, w_end - w_start,
							  "()\\");
			else
				g_string_append_len (tok, t + w_start, (gssize) (w_end - w_start));
			_mimeutf8_out_token (o, sep->str, sep->len, tok->str, tok->len);
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
			_mimeutf8_encode_words (ctx, o, NULL, sep->str, sep->len,
						(const guint8 *) t + run_start, run_end - run_start,
						restricted);
		}
		first = FALSE;
	}
	if (n == 0)
		_mimeutf8_out_hold (o, ws, ws_len);
}

/* TRUE when ctx->text holds nothing but blanks: it is held, not written, for there is nothing to
 * fold before. */
gboolean
_mimeutf8_text_is_blank (Ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->text->len; i++)
		if (!is_wsp ((guint8) ctx->text->str[i]))
			return FALSE;
	return TRUE;
}

/* Writes ctx->text as a display name. */
void
_mimeutf8_emit_phrase (Ctx *ctx, Out *o, const char *ws, size_t ws_len)
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
		live |= _mimeutf8_has_live_word (ctx, start, pos);
		high |= has_8bit ((const guint8 *) t + start, pos - start);
	}
	if (n == 0 || (!all_plain && !live && (utf8 || !high))) {
		/* A quoted string: the text is ASCII (or the output may be UTF-8) but holds
		 * specials, or the name is empty. */
		GString *tok = ctx->scratch2;

		g_string_truncate (tok, 0);
		g_string_append_c (tok, '"');
		_mimeutf8_append_escaped (tok, t, n, "\"\\");
		g_string_append_c (tok, '"');
		_mimeutf8_out_token (o, ws, ws_len, tok->str, tok->len);
		return;
	}
	_mimeutf8_emit_words (ctx, o, ws, ws_len, CTX_PHRASE);
}

void
_mimeutf8_emit_comment (Ctx *ctx, Out *o, const char *ws, size_t ws_len)
{
	size_t reserve = o->reserve;

	_mimeutf8_out_token (o, ws, ws_len, "(", 1);
	o->reserve = 1;
	_mimeutf8_emit_words (ctx, o, "", 0, CTX_COMMENT);
	o->reserve = reserve;
	_mimeutf8_out_put (o, ")", 1);
}
