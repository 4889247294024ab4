/* raw.c: the raw-bytes layer, which reads header fields in the input's own bytes: where a field and
 * its value are, its parameters, CFWS and quoted strings, and whether a value reads the same to
 * every parser.  The walk finds with it the ranges it splices, so that GMime never re-serializes a
 * header. */
#include <string.h>

#include "mimeutf8-private.h"

/* End of the header field starting at `start`: past its last line's newline, folding included. */
size_t
_mimeutf8_raw_field_end (const guint8 *raw, size_t len, size_t start)
{
	size_t i = start;

	for (;;) {
		const guint8 *nl = memchr (raw + i, '\n', len - i);

		if (nl == NULL)
			return len;
		i = nl - raw + 1;
		if (i >= len || (raw[i] != ' ' && raw[i] != '\t'))
			return i;
	}
}

/* Bounds of a header field's value in the raw bytes: after the colon, before the final newline. */
gboolean
_mimeutf8_raw_field_value (const guint8 *raw, size_t len, size_t start, const char *name,
			   size_t *value_start, size_t *value_end)
{
	size_t name_len = strlen (name), i = start + name_len, end;

	if (start + name_len >= len ||
	    g_ascii_strncasecmp ((const char *) raw + start, name, name_len) != 0)
		return FALSE;
	while (i < len && (raw[i] == ' ' || raw[i] == '\t'))
		i++;
	if (i >= len || raw[i] != ':')
		return FALSE;
	end = _mimeutf8_raw_field_end (raw, len, start);
	if (end > i + 1 && raw[end - 1] == '\n')
		end--;
	if (end > i + 1 && raw[end - 1] == '\r')
		end--;
	*value_start = i + 1;
	*value_end = end;
	return TRUE;
}

/* TRUE when the raw bytes of a value are the value GMime parsed there (carriage returns and
 * surrounding blanks aside): the proof that a header offset points where we think. */
gboolean
_mimeutf8_raw_same_value (const guint8 *raw, size_t len, const char *parsed)
{
	size_t i = 0, j = 0, parsed_len = strlen (parsed);

	while (i < len && g_ascii_isspace (raw[i]))
		i++;
	while (j < parsed_len && g_ascii_isspace (parsed[j]))
		j++;
	while (len > i && g_ascii_isspace (raw[len - 1]))
		len--;
	while (parsed_len > j && g_ascii_isspace (parsed[parsed_len - 1]))
		parsed_len--;
	while (i < len && j < parsed_len) {
		if (raw[i] == '\r') {
			i++;
			continue;
		}
		if (parsed[j] == '\r') {
			j++;
			continue;
		}
		if (raw[i] != (guint8) parsed[j])
			return FALSE;
		i++;
		j++;
	}
	return i == len && j == parsed_len;
}

/* Skips blanks, folding and (comments) in a structured header value. */
size_t
_mimeutf8_raw_skip_cfws (const char *v, size_t i, size_t len)
{
	int depth = 0;

	while (i < len) {
		if (v[i] == '(')
			depth++;
		else if (v[i] == ')' && depth > 0)
			depth--;
		else if (v[i] == '\\' && depth > 0 && i + 1 < len)
			i++;
		else if (depth == 0 && !g_ascii_isspace (v[i]))
			break;
		i++;
	}
	return i;
}

/* End of a parameter value (token or quoted-string) starting at `i`. */
size_t
_mimeutf8_raw_param_value_end (const char *v, size_t i, size_t len)
{
	if (i < len && v[i] == '"') {
		for (i++; i < len && v[i] != '"'; i++)
			if (v[i] == '\\' && i + 1 < len)
				i++;
		return i < len ? i + 1 : len;
	}
	/* a token ends at a blank, a line break or a comment; a lone CR is no line break, and
	 * belongs to the (broken) token, so that a rewrite replaces all of it */
	while (i < len && v[i] != ';' && v[i] != ' ' && v[i] != '\t' && v[i] != '\n' &&
	       !(v[i] == '\r' && i + 1 < len && v[i + 1] == '\n') && v[i] != '(')
		i++;
	return i;
}

/* Finds the next parameter of a structured value (";" name "=" value) from `*pos` on, outside
 * quotes and comments.  Returns FALSE when there is none. */
gboolean
_mimeutf8_raw_next_param (const char *value, size_t len, size_t *pos, size_t *name_start,
			  size_t *name_end, size_t *value_start, size_t *value_end)
{
	size_t i = *pos;

	while (i < len) {
		size_t n0, n1, v0;

		i = _mimeutf8_raw_skip_cfws (value, i, len);
		if (i >= len)
			break;
		if (value[i] == '"') {
			i = _mimeutf8_raw_param_value_end (value, i, len);
			continue;
		}
		if (value[i] != ';') {
			i++;
			continue;
		}
		n0 = _mimeutf8_raw_skip_cfws (value, i + 1, len);
		n1 = n0;
		while (n1 < len &&
		       (g_ascii_isalnum (value[n1]) || strchr ("-_*.", value[n1]) != NULL))
			n1++;
		v0 = _mimeutf8_raw_skip_cfws (value, n1, len);
		if (n1 == n0 || v0 >= len || value[v0] != '=') {
			i = n1 > i + 1 ? n1 : i + 1;
			continue;
		}
		v0 = _mimeutf8_raw_skip_cfws (value, v0 + 1, len);
		*name_start = n0;
		*name_end = n1;
		*value_start = v0;
		*value_end = _mimeutf8_raw_param_value_end (value, v0, len);
		*pos = *value_end > i + 1 ? *value_end : i + 1;
		return TRUE;
	}
	*pos = len;
	return FALSE;
}

static gboolean
is_charset_name (const char *name, size_t len)
{
	return len == 7 && g_ascii_strncasecmp (name, "charset", 7) == 0;
}

/* FALSE when a quoted string or a comment in a structured value never ends: a parameter added
 * after it would be inside it for a reader that honours them, and invisible. */
gboolean
_mimeutf8_raw_value_is_balanced (const char *v, size_t len)
{
	gboolean quoted = FALSE;
	int depth = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (v[i] == '\\' && (quoted || depth > 0))
			i++;
		else if (v[i] == '"' && depth == 0)
			quoted = !quoted;
		else if (v[i] == '(' && !quoted)
			depth++;
		else if (v[i] == ')' && !quoted && depth > 0)
			depth--;
	}
	return !quoted && depth == 0;
}

/* End of what readers take as the charset value starting at `v0`, which replaces it whole with
 * utf-8; FALSE when readers disagree on where it ends.  GMime reads an unquoted value up to the
 * next ';', quotes and comments included ("iso-8859-1 name="x.txt"" is one label to it); Python's
 * email package (compat32) up to the next ';' outside a quoted string; a quoted value GMime reads
 * to its closing quote, then skips blanks and comments, and gives up on every later parameter
 * unless a ';' comes next, where Python reads that junk as part of the value.  The one form all
 * of them read as utf-8 is utf-8 followed by blanks and ';' (or the end): so the whole extent
 * goes, and a value on whose end they disagree (a ';' inside quotes after an unquoted start,
 * text after a quoted string) is not rewritten. */
gboolean
_mimeutf8_raw_charset_value_end (const char *value, size_t len, size_t v0, size_t *end_out)
{
	size_t gmime_end, python_end, i;
	gboolean quoted = FALSE;

	if (v0 < len && value[v0] == '"') {
		size_t k = _mimeutf8_raw_skip_cfws (
			value, _mimeutf8_raw_param_value_end (value, v0, len), len);

		if (k < len && value[k] != ';')
			return FALSE;
		*end_out = k;
	} else {
		gmime_end = v0;
		while (gmime_end < len && value[gmime_end] != ';')
			gmime_end++;
		for (i = v0, python_end = len; i < len; i++) {
			if (value[i] == '\\' && quoted && i + 1 < len)
				i++;
			else if (value[i] == '"')
				quoted = !quoted;
			else if (value[i] == ';' && !quoted) {
				python_end = i;
				break;
			}
		}
		if (gmime_end != python_end)
			return FALSE;
		*end_out = gmime_end;
	}
	while (*end_out > v0 && g_ascii_isspace (value[*end_out - 1]))
		(*end_out)--;
	return TRUE;
}

/* Bounds of the plain charset parameter's value (quotes included), if there is one. */
gboolean
_mimeutf8_raw_find_charset_param (const char *value, size_t len, size_t *start_out, size_t *end_out)
{
	size_t pos = 0, n0, n1;

	while (_mimeutf8_raw_next_param (value, len, &pos, &n0, &n1, start_out, end_out))
		if (is_charset_name (value + n0, n1 - n0))
			return TRUE;
	return FALSE;
}

/* A Content-Type value with its charset parameter set to utf-8 and every other byte kept:
 * GMime's own setter would re-encode the other parameters (DESIGN.md, GMime trap 3). */
GString *
_mimeutf8_raw_content_type_with_utf8 (const char *value, size_t len, const char *newline,
				      const char *unused)
{
	GString *out = g_string_sized_new (len + 20);
	size_t pos = 0, copied = 0, n0, n1, v0, v1, tail, line_start;
	gboolean found = FALSE, separated;

	while (_mimeutf8_raw_next_param (value, len, &pos, &n0, &n1, &v0, &v1)) {
		if (is_charset_name (value + n0, n1 - n0)) {
			/* the whole value as readers take it (apply_splice leaves a part whose
			 * readers disagree on it alone; the in-place call keeps GMime's token) */
			if (!_mimeutf8_raw_charset_value_end (value, len, v0, &v1))
				v1 = _mimeutf8_raw_param_value_end (value, v0, len);
			/* keep the quotes if it had them */
			g_string_append_len (out, value + copied, v0 - copied);
			g_string_append (out, value[v0] == '"' ? "\"utf-8\"" : "utf-8");
			copied = v1;
			pos = MAX (pos, v1);
			found = TRUE;
		} else if (n1 - n0 > 7 && g_ascii_strncasecmp (value + n0, "charset*", 8) == 0) {
			/* an RFC 2231 form of charset: replaced whole by the plain one */
			g_string_append_len (out, value + copied, n0 - copied);
			g_string_append (out,
					 found ? "x-mimeutf8-old-charset=utf-8" : "charset=utf-8");
			copied = v1;
			found = TRUE;
		}
	}
	if (found) {
		g_string_append_len (out, value + copied, len - copied);
		return out;
	}
	/* append, before trailing blanks, folding if the last line would grow past 78 */
	tail = len;
	while (tail > 0 && g_ascii_isspace (value[tail - 1]))
		tail--;
	g_string_append_len (out, value, tail);
	line_start = tail;
	while (line_start > 0 && value[line_start - 1] != '\n')
		line_start--;
	/* a value that ends in ";" already has the separator: ";;" is an empty parameter, which
	 * RFC 2045 readers reject */
	separated = tail > 0 && value[tail - 1] == ';';
	if (tail - line_start + strlen ("Content-Type:; charset=utf-8") > 78 && line_start < tail)
		g_string_append_printf (out, "%s%s\tcharset=utf-8", separated ? "" : ";", newline);
	else
		g_string_append (out, separated ? " charset=utf-8" : "; charset=utf-8");
	g_string_append_len (out, value + tail, len - tail);
	return out;
}

gboolean
_mimeutf8_raw_is_field_name_char (guint8 c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* A charset value whose end readers disagree on (_mimeutf8_raw_charset_value_end): a rewrite could not give
 * them all utf-8. */
gboolean
_mimeutf8_raw_value_charset_is_unambiguous (const char *value, size_t len)
{
	size_t pos = 0, n0, n1, v0, v1;

	while (_mimeutf8_raw_next_param (value, len, &pos, &n0, &n1, &v0, &v1))
		if (is_charset_name (value + n0, n1 - n0) &&
		    !_mimeutf8_raw_charset_value_end (value, len, v0, &v1))
			return FALSE;
	return TRUE;
}

/* Blanks, folds and (nested) comments of a structured value, as RFC 5322 has them: only SP,
 * HTAB, CR and LF are blanks.  FALSE when a comment never ends. */
static gboolean
strict_cfws (const char *v, size_t len, size_t *i)
{
	int depth = 0;

	for (; *i < len; (*i)++) {
		char c = v[*i];

		if (depth > 0 && c == '\\' && *i + 1 < len)
			(*i)++;
		else if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n')
			break;
	}
	return depth == 0;
}

/* TRUE when a Content-Type value reads as RFC 2045 has it: type "/" subtype *(";" attribute "="
 * (token / quoted-string)) [";"], with blanks, folds and comments between.  An unquoted value may
 * hold tspecials such as "=" (every reader takes "boundary=----=_Part_1"), but ends at a blank,
 * a comment, ";" or a quote.  Anything else (a parameter without "=", an empty one, text after a
 * value where a ";" belongs, an 8-bit byte outside quotes, an open quote or comment) is read by
 * GMime and by other readers in ways that disagree, so a part whose value is not in this form is
 * not relabelled: the new label could be invisible to them, or read as another one. */
gboolean
_mimeutf8_raw_value_is_rfc2045 (const char *v, size_t len)
{
	size_t i = 0, t;

	if (!strict_cfws (v, len, &i))
		return FALSE;
	for (t = i; i < len && is_token_char (v[i]); i++)
		;
	if (i == t || !strict_cfws (v, len, &i) || i >= len || v[i] != '/')
		return FALSE;
	i++;
	if (!strict_cfws (v, len, &i))
		return FALSE;
	for (t = i; i < len && is_token_char (v[i]); i++)
		;
	if (i == t)
		return FALSE;
	for (;;) {
		if (!strict_cfws (v, len, &i))
			return FALSE;
		if (i >= len)
			return TRUE;
		if (v[i] != ';')
			return FALSE;
		i++;
		if (!strict_cfws (v, len, &i))
			return FALSE;
		if (i >= len)
			return TRUE; /* a trailing ";" */
		for (t = i; i < len && is_token_char (v[i]); i++)
			;
		if (i == t || !strict_cfws (v, len, &i) || i >= len || v[i] != '=')
			return FALSE;
		i++;
		if (!strict_cfws (v, len, &i) || i >= len)
			return FALSE;
		if (v[i] == '"') {
			for (i++; i < len && v[i] != '"'; i++)
				if (v[i] == '\\' && i + 1 < len)
					i++;
			if (i >= len)
				return FALSE;
			i++;
		} else {
			for (t = i; i < len && v[i] > 32 && v[i] < 127 && v[i] != ';' &&
				    v[i] != '"' && v[i] != '(';
			     i++)
				;
			if (i == t)
				return FALSE;
		}
	}
}

/* `word` (lower case) in [p, p + len), in any case: MIME types are case-insensitive. */
static gboolean
contains_ascii_nocase (const guint8 *p, size_t len, const char *word)
{
	size_t n = strlen (word), i;

	for (i = 0; i + n <= len; i++)
		if (g_ascii_strncasecmp ((const char *) p + i, word, n) == 0)
			return TRUE;
	return FALSE;
}

/* FALSE when the message's own header block has a line that other readers end the block on (a
 * line that is neither a field nor a fold, a bare CR, a NUL) and the message is a multipart:
 * GMime reads past that line and finds the parts, while those readers take the rest for the
 * body of a text/plain message, so no part can be rewritten for both.  (A single part's block
 * is checked whole where it is rewritten: header_block_is_clean.) */
gboolean
_mimeutf8_raw_top_block_is_clean (const guint8 *raw, size_t len)
{
	size_t i = 0, j;
	gboolean clean = TRUE, multipart = FALSE, open = FALSE;

	if (len >= 5 && memcmp (raw, "From ", 5) == 0) {
		const guint8 *nl = memchr (raw, '\n', len);

		i = nl ? (size_t) (nl - raw) + 1 : len;
	}
	while (i < len) {
		const guint8 *nl = memchr (raw + i, '\n', len - i);
		size_t end = nl ? (size_t) (nl - raw) : len;

		if (raw[i] == '\n' || (raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n'))
			break;
		/* a NUL, or a CR anywhere but just before the LF */
		if (memchr (raw + i, '\0', end - i) != NULL ||
		    memchr (raw + i, '\r', end - i - (end < len && raw[end - 1] == '\r')) != NULL)
			clean = FALSE;
		if (raw[i] == ' ' || raw[i] == '\t') {
			/* a fold with no field before it (after the From_ line): GMime joins it
			 * to "From :...", other readers drop it or start the body there */
			if (!open)
				clean = FALSE;
		} else {
			open = TRUE;
			for (j = i; j < end && _mimeutf8_raw_is_field_name_char (raw[j]); j++)
				;
			if (j == i || j == end || raw[j] != ':')
				clean = FALSE;
			else if (j - i == 12 &&
				 g_ascii_strncasecmp ((const char *) raw + i, "Content-Type", 12) ==
					 0 &&
				 contains_ascii_nocase (raw + j, end - j, "multipart"))
				multipart = TRUE;
		}
		i = end + 1;
	}
	return clean || !multipart;
}
