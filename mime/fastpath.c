/* fastpath.c: a message that needs nothing, proven so without GMime.  Most mail is one text/plain
 * part already in UTF-8 or ASCII; parsing it with GMime and freeing the tree costs more than half
 * of what normalizing it does.  The proof is narrow on purpose: a single text/plain part with a
 * plain header block, a 7bit or 8bit body (or none declared), a utf-8 or us-ascii label (or
 * none), valid UTF-8 throughout and no header the header rules would rewrite.  Anything else,
 * however harmless, goes the GMime way.  The report is the one the GMime way gives such a message
 * (tests/test-fastpath.c checks both ways against each other on every corpus). */
#include <string.h>

#include "walk.h"

/* Larger messages go the GMime way, which gives their pages back as it reads them. */
#define FAST_MAX_BYTES (1024 * 1024)

gboolean _mimeutf8_fast_path_off = FALSE;

typedef struct {
	const guint8 *raw;
	size_t len;
	size_t body; /* offset of the body, after the blank line */
	const char *newline;
	/* the one Content-Type and Content-Transfer-Encoding values, or none */
	size_t ct_start, ct_end;
	size_t cte_start, cte_end;
	gboolean has_ct, has_cte;
} Block;

/* TRUE when [start, end) is `name`, any case. */
static gboolean
name_is (const guint8 *p, size_t n, const char *name)
{
	return strlen (name) == n && g_ascii_strncasecmp ((const char *) p, name, n) == 0;
}

/* TRUE when the line [line, lf] ends with the message's newline: CR LF when `nl_len` is 2, else
 * LF without a CR before it. */
static gboolean
newline_ends (const guint8 *lf, const guint8 *line, size_t nl_len)
{
	return (nl_len == 2) == (lf > line && lf[-1] == '\r');
}

/* Reads the header block: fields "Name: value" with folds, every line ended by the message's one
 * newline, then a blank line.  FALSE for anything else: a line without a colon, a bare CR, a
 * name with blanks, a second Content-Type or Content-Transfer-Encoding, or any other Content-*
 * field (a disposition, an ID: a part GMime may see otherwise). */
static gboolean
read_block (Block *b)
{
	const guint8 *raw = b->raw;
	size_t i = 0, nl_len;
	const guint8 *lf = memchr (raw, '\n', b->len);

	if (lf == NULL)
		return FALSE;
	b->newline = lf > raw && lf[-1] == '\r' ? "\r\n" : "\n";
	nl_len = strlen (b->newline);
	while (i < b->len) {
		size_t line_end, name_end, field_start = i;

		lf = memchr (raw + i, '\n', b->len - i);
		if (lf == NULL)
			return FALSE; /* no blank line: no body GMime and we agree on */
		line_end = (size_t) (lf - raw) + 1;
		/* every line ends with the newline the first one has */
		if (!newline_ends (lf, raw + i, nl_len))
			return FALSE;
		if (line_end - i == nl_len) {
			/* no field at all: the GMime way leaves the text alone (malformed header
			 * block) */
			b->body = line_end;
			return i > 0;
		}
		if (is_wsp (raw[i]))
			return FALSE; /* a first line that continues nothing */
		name_end = i;
		while (name_end < line_end && _mimeutf8_raw_is_field_name_char (raw[name_end]))
			name_end++;
		if (name_end == i || raw[name_end] != ':')
			return FALSE;
		/* the field's folded lines */
		for (;;) {
			const guint8 *cr = memchr (raw + i, '\r', line_end - i);

			/* a CR only in the newline */
			if (cr != NULL && (nl_len == 1 || (size_t) (cr - raw) != line_end - 2))
				return FALSE;
			if (line_end >= b->len || !is_wsp (raw[line_end]))
				break;
			i = line_end;
			lf = memchr (raw + i, '\n', b->len - i);
			if (lf == NULL)
				return FALSE;
			line_end = (size_t) (lf - raw) + 1;
			if (!newline_ends (lf, raw + i, nl_len))
				return FALSE;
			/* a fold of blanks only is the end of the block for some readers */
			{
				size_t k = i;

				while (k < line_end - nl_len && is_wsp (raw[k]))
					k++;
				if (k == line_end - nl_len)
					return FALSE;
			}
		}
		{
			const guint8 *name = raw + field_start;
			size_t n = name_end - field_start;

			if (name_is (name, n, "Content-Type")) {
				if (b->has_ct)
					return FALSE;
				b->has_ct = TRUE;
				b->ct_start = name_end + 1;
				b->ct_end = line_end;
			} else if (name_is (name, n, "Content-Transfer-Encoding")) {
				if (b->has_cte)
					return FALSE;
				b->has_cte = TRUE;
				b->cte_start = name_end + 1;
				b->cte_end = line_end;
			} else if (n >= 8 && g_ascii_strncasecmp ((const char *) name, "Content-", 8) == 0) {
				return FALSE;
			}
		}
		i = line_end;
	}
	return FALSE;
}

/* Skips blanks and line breaks (folds) from i. */
static size_t
skip_space (const guint8 *p, size_t i, size_t end)
{
	while (i < end && (is_wsp (p[i]) || p[i] == '\r' || p[i] == '\n'))
		i++;
	return i;
}

/* The Content-Type value "text/plain" followed only by plain parameters (token=token, or a quoted
 * string without escapes, no RFC 2231 '*'), at most one charset.  The label, if any, in
 * [*label_start, *label_end). */
static gboolean
read_content_type (const guint8 *p, size_t start, size_t end, size_t *label_start,
		   size_t *label_end, gboolean *has_label)
{
	size_t i = skip_space (p, start, end), t;

	*has_label = FALSE;
	t = i;
	while (i < end && is_token_char (p[i]))
		i++;
	if (!name_is (p + t, i - t, "text") || i >= end || p[i] != '/')
		return FALSE;
	t = ++i;
	while (i < end && is_token_char (p[i]))
		i++;
	if (!name_is (p + t, i - t, "plain"))
		return FALSE;
	for (;;) {
		size_t attr, attr_end, value, value_end;

		i = skip_space (p, i, end);
		if (i == end)
			return TRUE;
		if (p[i] != ';')
			return FALSE;
		i = skip_space (p, i + 1, end);
		attr = i;
		while (i < end && is_token_char (p[i]) && p[i] != '*')
			i++;
		attr_end = i;
		if (attr_end == attr || i >= end || p[i] != '=')
			return FALSE;
		i++;
		if (i < end && p[i] == '"') {
			value = ++i;
			while (i < end && p[i] != '"' && p[i] != '\\' && p[i] >= 0x20 && p[i] < 0x7F)
				i++;
			if (i >= end || p[i] != '"')
				return FALSE;
			value_end = i++;
		} else {
			value = i;
			while (i < end && is_token_char (p[i]))
				i++;
			value_end = i;
		}
		if (value_end == value)
			return FALSE;
		if (name_is (p + attr, attr_end - attr, "charset")) {
			if (*has_label)
				return FALSE;
			*has_label = TRUE;
			*label_start = value;
			*label_end = value_end;
		}
	}
}

/* Every field of the block through the header rules: TRUE when none would be rewritten. */
static gboolean
headers_need_nothing (const Walk *walk, const Block *b)
{
	const guint8 *raw = b->raw;
	size_t i = 0;

	while (i < b->body - strlen (b->newline)) {
		size_t name_end = i, value_start, value_end, end = _mimeutf8_raw_field_end (raw, b->len, i);
		g_autofree char *name = NULL;
		_MimeUtf8HeaderChange change;
		GString *out;

		while (_mimeutf8_raw_is_field_name_char (raw[name_end]))
			name_end++;
		name = g_strndup ((const char *) raw + i, name_end - i);
		if (end <= i ||
		    !_mimeutf8_raw_field_value (raw, b->len, i, name, &value_start, &value_end))
			return FALSE;
		out = _mimeutf8_header_normalize (name, (const char *) raw + value_start,
						  value_end - value_start, walk->options, NULL,
						  _mimeutf8_fallback (walk->options), b->newline,
						  &change);
		if (out != NULL) {
			g_string_free (out, TRUE);
			return FALSE;
		}
		if (change.limit_hit)
			return FALSE;
		i = end;
	}
	return TRUE;
}

gboolean
_mimeutf8_fast_unchanged (Walk *walk, const guint8 *raw, size_t len, const char *prefix)
{
	Block b = { raw, len, 0, NULL, 0, 0, 0, 0, FALSE, FALSE };
	const MimeUtf8Options *options = walk->options;
	size_t label_start = 0, label_end = 0, cte = 0, cte_end = 0;
	gboolean has_label = FALSE, utf8_label = FALSE, ascii;
	const char *encoding = NULL;
	g_autofree char *label = NULL;
	_MimeUtf8Scan scan;
	MimeUtf8PartReport *record;

	if (walk->view != NULL || walk->depth != 0 || prefix[0] != '\0' || len > FAST_MAX_BYTES ||
	    options->force_7bit || _mimeutf8_fast_path_off || !read_block (&b))
		return FALSE;
	if (b.has_ct && !read_content_type (raw, b.ct_start, b.ct_end, &label_start, &label_end,
					    &has_label))
		return FALSE;
	if (b.has_cte) {
		cte = skip_space (raw, b.cte_start, b.cte_end);
		cte_end = cte;
		while (cte_end < b.cte_end && is_token_char (raw[cte_end]))
			cte_end++;
		if (skip_space (raw, cte_end, b.cte_end) != b.cte_end)
			return FALSE;
		if (name_is (raw + cte, cte_end - cte, "7bit"))
			encoding = "7bit";
		else if (name_is (raw + cte, cte_end - cte, "8bit"))
			encoding = "8bit";
		else
			return FALSE;
	}
	/* valid UTF-8 and no NUL anywhere: nothing for a decoder to replace */
	_mimeutf8_utf8_scan (raw, len, &scan);
	if (scan.invalid != 0 || scan.nul != 0)
		return FALSE;
	ascii = _mimeutf8_ascii_prefix (raw + b.body, len - b.body) == len - b.body;
	/* 8-bit bytes under 7bit are left as they are the GMime way too, but say so there */
	if (!ascii && encoding != NULL && strcmp (encoding, "7bit") == 0)
		return FALSE;
	if (has_label) {
		label = g_strndup ((const char *) raw + label_start, label_end - label_start);
		utf8_label = g_ascii_strcasecmp (label, "utf-8") == 0;
		/* utf-8 is read as it is; us-ascii only over ASCII (else it is relabelled) */
		if (!utf8_label && !(ascii && g_ascii_strcasecmp (label, "us-ascii") == 0))
			return FALSE;
	} else if (!ascii) {
		return FALSE; /* unlabelled UTF-8 gets its label */
	} else if (memchr (raw + b.body, 0x1b, len - b.body) != NULL) {
		return FALSE; /* unlabelled 7-bit text with escapes may be ISO-2022-JP */
	}
	if (!headers_need_nothing (walk, &b))
		return FALSE;

	record = _mimeutf8_report_add_part (walk->report, "1", "text/plain", label);
	record->action = MIMEUTF8_ACTION_ALREADY_UTF8;
	record->charset = "utf-8";
	record->rule = utf8_label ? MIMEUTF8_RULE_LABEL : MIMEUTF8_RULE_ASCII;
	record->encoding_in = encoding;
	record->encoding_out = encoding;
	record->bytes_in = len - b.body;
	record->bytes_out = len - b.body;
	return TRUE;
}

gboolean
_mimeutf8_fast_path_proves (const MimeUtf8Options *options, const guint8 *raw, size_t len)
{
	MimeUtf8Report *report = _mimeutf8_report_new ();
	MimeUtf8Options defaults;
	Walk walk;
	gboolean proved;

	options = _mimeutf8_options_check (options, &defaults, NULL);
	g_return_val_if_fail (options != NULL, FALSE);
	_mimeutf8_walk_init (&walk, options, report, 0);
	walk.raw = raw;
	walk.raw_len = len;
	proved = _mimeutf8_fast_unchanged (&walk, raw, len, "");
	_mimeutf8_walk_clear (&walk);
	mimeutf8_report_free (report);
	return proved;
}
