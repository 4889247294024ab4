/* addresses.c: address lists (RFC 5322 3.4): display names and comments are decoded and written
 * back, addr-specs, angle brackets and group syntax are kept as they are; a list that does not
 * parse is handled word by word. */
#include <string.h>

#include "header-text.h"

/* Writes [start, end) as it is, but with the blanks at either end held as fold points. */
static void
emit_verbatim (Out *o, const guint8 *p, size_t start, size_t end)
{
	size_t a = start, b = end;
	const char *ws;
	size_t ws_len;

	while (a < b && is_blank (p[a]))
		a++;
	_mimeutf8_out_hold (o, (const char *) p + start, a - start);
	if (a == b)
		return;
	while (b > a && is_blank (p[b - 1]))
		b--;
	_mimeutf8_out_take (o, &ws, &ws_len);
	_mimeutf8_out_token (o, ws, ws_len, (const char *) p + a, b - a);
	_mimeutf8_out_hold (o, (const char *) p + b, end - b);
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
	_mimeutf8_record_save (ctx, &saved);
	_mimeutf8_text_reset (ctx);
	_mimeutf8_decode_text (ctx, p + start + 1, end - start - 2, TEXT_COMMENT);
	if (_mimeutf8_record_merge (ctx, &saved)) {
		_mimeutf8_out_take (o, &ws, &ws_len);
		_mimeutf8_emit_comment (ctx, o, ws, ws_len);
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

	_mimeutf8_record_save (ctx, &saved);
	_mimeutf8_text_reset (ctx);
	_mimeutf8_decode_text (ctx, p + start, end - start, TEXT_PHRASE);
	if (_mimeutf8_record_merge (ctx, &saved)) {
		_mimeutf8_out_take (o, &ws, &ws_len);
		_mimeutf8_emit_phrase (ctx, o, ws, ws_len);
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
		_mimeutf8_out_hold (o, (const char *) p + ws_start, i - ws_start);
		if (i == end)
			break;
		if (p[i] == '(') {
			j = i;
			if (!_mimeutf8_skip_delimited (p, end, &j))
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
				if (!_mimeutf8_skip_delimited (p, end, &j))
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

			if (!_mimeutf8_skip_delimited (p, end, &j))
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
gboolean
_mimeutf8_addresses_walk (Ctx *ctx, Out *o, const guint8 *p, size_t n)
{
	size_t i = 0, pend = 0;
	gboolean has_at = FALSE;

	while (i < n) {
		size_t j;

		switch (p[i]) {
		case '(':
		case '"':
		case '[':
			if (!_mimeutf8_skip_delimited (p, n, &i))
				return FALSE;
			break;
		case '<':
			if (has_at)
				return FALSE;
			emit_phrase_region (ctx, o, p, pend, i);
			for (j = i + 1; j < n && p[j] != '>';) {
				if (p[j] == '"' || p[j] == '[') {
					if (!_mimeutf8_skip_delimited (p, n, &j))
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
			_mimeutf8_out_put (o, ":", 1);
			i = pend = i + 1;
			break;
		case ',':
		case ';':
			o->reserve = 1;
			emit_region (ctx, o, p, pend, i, has_at);
			o->reserve = 0;
			_mimeutf8_out_put (o, (const char *) p + i, 1);
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
void
_mimeutf8_addresses_fallback (Ctx *ctx, Out *o, const guint8 *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t start = i, run_end;
		Record saved;

		if (is_blank (p[i])) {
			while (i < n && is_blank (p[i]))
				i++;
			_mimeutf8_out_hold (o, (const char *) p + start, i - start);
			continue;
		}
		if (p[i] == '<' && memchr (p + i, '>', n - i) != NULL) {
			while (p[i] != '>')
				i++;
			emit_verbatim (o, p, start, ++i);
			continue;
		}
		if (is_list_special (p[i])) {
			_mimeutf8_out_put (o, (const char *) p + i, 1);
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
		_mimeutf8_record_save (ctx, &saved);
		_mimeutf8_text_reset (ctx);
		_mimeutf8_decode_text (ctx, p + start, run_end - start, TEXT_RAW);
		if (_mimeutf8_record_merge (ctx, &saved)) {
			const char *ws;
			size_t ws_len;

			if (_mimeutf8_text_is_blank (ctx)) {
				_mimeutf8_out_hold (o, ctx->text->str, ctx->text->len);
				continue;
			}
			_mimeutf8_out_take (o, &ws, &ws_len);
			_mimeutf8_emit_words (ctx, o, ws, ws_len, CTX_FALLBACK);
		} else {
			emit_verbatim (o, p, start, run_end);
		}
	}
}

/* ---- decoded address lists, for the parsed view (view.c) ----------------------------------- */

/* Appends [start, end) without its comments (each becomes a blank) to `out`. */
static void
append_without_comments (const guint8 *p, size_t start, size_t end, GByteArray *out)
{
	size_t i = start, from = start;

	while (i < end) {
		if (p[i] == '"' || p[i] == '(' || p[i] == '[') {
			size_t j = i;

			if (!_mimeutf8_skip_delimited (p, end, &j))
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
			if (!_mimeutf8_skip_delimited (p, end, &i))
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
		_mimeutf8_text_reset (ctx);
		_mimeutf8_decode_text (ctx, bytes->data, bytes->len, TEXT_PHRASE);
		name = _mimeutf8_ctx_text_collapsed (ctx);
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

	_mimeutf8_ctx_init (&ctx, MIMEUTF8_HEADERS_UTF8, "", "\n", eight_bit, fallback, 0);
	while (i < len) {
		switch (p[i]) {
		case '"':
		case '(':
		case '[':
			if (!_mimeutf8_skip_delimited (p, len, &i))
				i = len;
			continue;
		case '<':
			while (i < len && p[i] != '>') {
				if (p[i] == '"' && _mimeutf8_skip_delimited (p, len, &i))
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
	_mimeutf8_ctx_clear (&ctx);
}
