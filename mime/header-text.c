/* header-text.c: what the header modules share: the output with folding (lines of at most 78
 * columns, folds only at blanks, nothing but blanks never on a line), raw bytes decoded to UTF-8
 * through cached translators with control characters sanitized, and the record of what decoding
 * met. */
#include <string.h>

#include "header-text.h"

/* A context for one header value of `len` bytes; `newline` NULL means "\n". */
void
_mimeutf8_ctx_init (Ctx *ctx, MimeUtf8HeaderMode mode, const char *name, const char *newline,
		    const _MimeUtf8Charset *eight_bit, const _MimeUtf8Charset *fallback, size_t len)
{
	memset (ctx, 0, sizeof *ctx);
	ctx->mode = mode;
	ctx->name = name;
	ctx->newline = newline != NULL ? newline : "\n";
	/* Sized for the value once: regrowing by doubling copies a large value many times. */
	ctx->run = g_byte_array_new ();
	ctx->raw = g_byte_array_sized_new ((guint) MIN (len, G_MAXUINT));
	ctx->word = g_byte_array_new ();
	ctx->conv = g_byte_array_new ();
	ctx->param = g_byte_array_new ();
	ctx->unquoted = g_byte_array_new ();
	ctx->text = g_string_sized_new (len + len / 2);
	ctx->scratch = g_string_new (NULL);
	ctx->scratch2 = g_string_new (NULL);
	ctx->eight_bit = eight_bit;
	ctx->fallback = fallback;
}

void
_mimeutf8_ctx_clear (Ctx *ctx)
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

void
_mimeutf8_out_init (Out *o, const char *name, const char *newline, size_t size_hint)
{
	o->s = g_string_sized_new (size_hint + size_hint / 2 + 16);
	o->newline = newline;
	o->col = strlen (name) + 1;
	o->content = FALSE;
	o->hold = g_string_new (NULL);
	o->taken = g_string_new (NULL);
	o->reserve = 0;
}

/* Writes the held blanks.  Of blanks that hold line breaks, only the last break and the blanks
 * after it are written: one fold, where dropped text would have left lines of blanks. */
void
_mimeutf8_out_flush (Out *o)
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
	_mimeutf8_out_put (o, hold->str + from, hold->len - from);
}

void
_mimeutf8_out_hold (Out *o, const char *p, size_t n)
{
	g_string_append_len (o->hold, p, (gssize) n);
}

/* Takes the held blanks, to be written before the next token.  Blanks with a fold in them stay
 * held: the fold is written with the next token that is not blank (and the token needs no other
 * fold), or not at all. */
void
_mimeutf8_out_take (Out *o, const char **ws_out, size_t *ws_len_out)
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
GString *
_mimeutf8_out_finish (Out *o)
{
	if (memchr (o->hold->str, '\n', o->hold->len) == NULL)
		_mimeutf8_out_flush (o);
	g_string_free (o->hold, TRUE);
	g_string_free (o->taken, TRUE);
	return o->s;
}

void
_mimeutf8_out_put (Out *o, const char *p, size_t n)
{
	const char *nl = NULL;
	size_t i;

	_mimeutf8_out_flush (o);
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

void
_mimeutf8_out_fold (Out *o)
{
	g_string_append (o->s, o->newline);
	o->col = 0;
	o->content = FALSE;
}

/* Writes blanks `ws` (a fold point when not empty) then `tok`, folding before the blanks when
 * the token would pass the fold column. */
void
_mimeutf8_out_token (Out *o, const char *ws, size_t ws_len, const char *tok, size_t tok_len)
{
	if (tok_len == 0) {
		_mimeutf8_out_hold (o, ws, ws_len);
		return;
	}
	_mimeutf8_out_flush (o);
	if (ws_len > 0 && o->content &&
	    o->col + n_chars (ws, ws_len) + n_chars (tok, tok_len) + o->reserve > FOLD_COLUMN)
		_mimeutf8_out_fold (o);
	_mimeutf8_out_put (o, ws, ws_len);
	_mimeutf8_out_put (o, tok, tok_len);
}

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

static gboolean
has_unsafe (const guint8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (is_unsafe (p[i]))
			return TRUE;
	return FALSE;
}

void
_mimeutf8_append_sanitized (Ctx *ctx, GString *out, const guint8 *p, size_t n)
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
void
_mimeutf8_decode_bytes (Ctx *ctx, const _MimeUtf8Charset *charset, gboolean normal, const guint8 *p,
			size_t n, Rule rule, GString *out)
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
	_mimeutf8_append_sanitized (ctx, out, ctx->conv->data, ctx->conv->len);
}

/* Index after the comment, quoted string or domain literal opening at p[i]; FALSE when it is
 * not closed. */
gboolean
_mimeutf8_skip_delimited (const guint8 *p, size_t n, size_t *i)
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

void
_mimeutf8_record_save (Ctx *ctx, Record *saved)
{
	*saved = ctx->rec;
	ctx->rec.changed = FALSE;
}

/* Ends an element: TRUE when it needs rewriting, else what decoding it noted is forgotten. */
gboolean
_mimeutf8_record_merge (Ctx *ctx, const Record *saved)
{
	gboolean changed = ctx->rec.changed;

	if (!changed)
		ctx->rec = *saved;
	ctx->rec.changed |= saved->changed;
	return changed;
}

/* ctx->text with its runs of blanks made one space, and none at either end. */
char *
_mimeutf8_ctx_text_collapsed (Ctx *ctx)
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
