/* rfc2231.c: parameters of Content-Type and Content-Disposition (RFC 2045, RFC 2231): parsed
 * whole, continuations and charsets of RFC 2231 values decoded, then written back in one form
 * readers agree on; structural parameters (boundary, charset...) are never touched. */
#include <string.h>

#include "header-text.h"

/* as many parameters as the normalizer reads by default (headers.c) */
#define VIEW_MAX_PARAMS 128

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
			if (!_mimeutf8_skip_delimited (p, n, &i))
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
			if (!_mimeutf8_skip_delimited (p, n, &i))
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

			if (!_mimeutf8_skip_delimited (p, n, &j))
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
	_mimeutf8_text_reset (ctx);
	if (!extended) {
		for (k = 0; k < n_members; k++)
			param_value_bytes (p, &params[members[k]], FALSE, bytes);
		_mimeutf8_decode_text (ctx, bytes->data, bytes->len, TEXT_RAW);
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
					normal = _mimeutf8_label_is_normal (v, label_len);
				}
				param.value_len -= (size_t) (q2 + 1 - v);
				param.value += (size_t) (q2 + 1 - v);
			}
		}
		param_value_bytes (p, &param, param.extended, bytes);
	}
	if (charset != NULL) {
		_mimeutf8_decode_bytes (ctx, charset, normal, bytes->data, bytes->len, RULE_RFC2231,
					ctx->text);
	} else if (has_8bit (bytes->data, bytes->len)) {
		/* No charset declared: raw 8-bit bytes, which need a label in either output. */
		_mimeutf8_decide_raw (ctx, bytes->data, bytes->len);
		_mimeutf8_decode_bytes (ctx, ctx->raw_charset, FALSE, bytes->data, bytes->len,
					ctx->raw_rule, ctx->text);
	} else {
		_mimeutf8_append_sanitized (ctx, ctx->text, bytes->data, bytes->len);
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

	_mimeutf8_out_put (o, ";", 1);
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
			_mimeutf8_out_token (o, " ", 1, tok->str, tok->len);
		} else {
			size_t from = 0, s;

			for (s = 0; s <= cuts->len; s++) {
				size_t to =
					s < cuts->len ? g_array_index (cuts, size_t, s) : enc->len;

				char number[32];

				g_snprintf (number, sizeof number, "*%zu*=", s);
				if (s > 0)
					_mimeutf8_out_put (o, ";", 1);
				_mimeutf8_out_fold (o);
				_mimeutf8_out_put (o, " ", 1);
				_mimeutf8_out_put (o, base, edit->base_len);
				_mimeutf8_out_put (o, number, strlen (number));
				if (s == 0)
					_mimeutf8_out_put (o, "utf-8''", 7);
				_mimeutf8_out_put (o, enc->str + from, to - from);
				from = to;
			}
		}
		g_array_unref (cuts);
		g_string_free (enc, TRUE);
	} else {
		g_string_append_len (tok, base, (gssize) edit->base_len);
		g_string_append (tok, "=\"");
		if (edit->form == FORM_QUOTED_UTF8)
			_mimeutf8_append_escaped (tok, (const char *) t, n, "\"\\");
		else if (n > 0)
			_mimeutf8_encode_words (ctx, NULL, tok, "", 0, t, n, TRUE);
		g_string_append_c (tok, '"');
		_mimeutf8_out_token (o, " ", 1, tok->str, tok->len);
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

	_mimeutf8_out_put (o, (const char *) p + start, MIN (semi + 1, end) - start);
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
		_mimeutf8_out_hold (o, (const char *) p + semi + 1, ws_end - semi - 1);
		_mimeutf8_out_take (o, &ws, &ws_len);
		o->reserve = next == end && end < n;
		_mimeutf8_out_token (o, ws, ws_len, (const char *) p + ws_end, tok_end - ws_end);
		o->reserve = 0;
		semi = next;
	}
}

/* Flags of the names a header's parameter groups use, by lower-case base name. */
enum {
	NAME_PLAIN = 1 << 0,    /* name= */
	NAME_EXTENDED = 1 << 1, /* name*= or name*N... */
};

/* Reads the parameters into `params`; TRUE when one of them may need a rewrite (continued,
 * extended, 8-bit or with an encoded-word).  Too many parameters set the limit and give FALSE. */
static gboolean
params_read (const guint8 *p, size_t n, size_t max_params, GArray *params,
	     _MimeUtf8HeaderChange *change)
{
	size_t i;

	if (!params_parse (p, n, max_params, params)) {
		change->limit_hit = TRUE;
		return FALSE;
	}
	for (i = 0; i < params->len; i++) {
		const Param *param = &g_array_index (params, Param, i);

		if (param->section >= 0 || param->extended ||
		    has_8bit (p + param->value, param->value_len) ||
		    find_marker (p + param->value, param->value_len) != NULL)
			return TRUE;
	}
	return FALSE;
}

gboolean
_mimeutf8_params_need_rewrite (const guint8 *p, size_t n, size_t max_params,
			       _MimeUtf8HeaderChange *change)
{
	g_autoptr (GArray) params = g_array_new (FALSE, TRUE, sizeof (Param));

	return params_read (p, n, max_params, params, change);
}

GString *
_mimeutf8_normalize_params (Ctx *ctx, const guint8 *p, size_t n, size_t max_params,
			    size_t max_words, _MimeUtf8HeaderChange *change)
{
	g_autoptr (GArray) params = g_array_new (FALSE, TRUE, sizeof (Param));
	g_autoptr (GArray) groups = g_array_new (FALSE, TRUE, sizeof (Group));
	g_autoptr (GArray) members = NULL;
	g_autoptr (GArray) edits = g_array_new (FALSE, TRUE, sizeof (Edit));
	g_autoptr (GHashTable) by_key = NULL, names = NULL;
	g_autoptr (GString) texts = g_string_new (NULL);
	Out o;
	size_t i, pos;

	if (!params_read (p, n, max_params, params, change))
		return NULL;
	if (_mimeutf8_count_words (p, n, max_words) > max_words) {
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
		_mimeutf8_record_save (ctx, &saved);
		if (!group_decode (ctx, p, (const Param *) params->data, m, count) ||
		    !_mimeutf8_record_merge (ctx, &saved)) {
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

			if (collides || _mimeutf8_has_live_word (ctx, 0, ctx->text->len))
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
	_mimeutf8_out_init (&o, ctx->name, ctx->newline, n);
	for (i = 0, pos = 0; i < edits->len; i++) {
		const Edit *edit = &g_array_index (edits, Edit, i);

		if (i == 0)
			_mimeutf8_out_put (&o, (const char *) p + pos, edit->start - pos);
		else
			emit_params_verbatim (&o, p, pos, edit->start, n);
		if (edit->write)
			emit_param (ctx, &o, p, n, edit, texts);
		pos = edit->end;
	}
	emit_params_verbatim (&o, p, pos, n, n);
	return _mimeutf8_out_finish (&o);
}

/* ---- decoded parameters, for the parsed view (view.c) -------------------------------------- */

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

	params_parse (p, len, VIEW_MAX_PARAMS, params);
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
	_mimeutf8_ctx_init (&ctx, MIMEUTF8_HEADERS_UTF8, "", "\n", eight_bit, fallback, 0);
	if ((extended->len > 0 && group_decode (&ctx, p, (const Param *) params->data,
						(const guint *) extended->data, extended->len)) ||
	    (plain->len > 0 && group_decode (&ctx, p, (const Param *) params->data,
					     (const guint *) plain->data, plain->len)))
		text = g_strstrip (g_strndup (ctx.text->str, ctx.text->len));
	_mimeutf8_ctx_clear (&ctx);
	return text;
}

void
_mimeutf8_header_param_names (const char *value, size_t len, GPtrArray *names)
{
	const guint8 *p = (const guint8 *) value;
	g_autoptr (GArray) params = g_array_new (FALSE, TRUE, sizeof (Param));
	guint i, k;

	params_parse (p, len, VIEW_MAX_PARAMS, params);
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
