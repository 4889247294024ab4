/* iconv-guard.c: keeps every charset name outside the label table away from iconv_open, GMime's
 * calls included.  GMime opens converters with names taken from the message (encoded-words, RFC
 * 2231 parameters) while it parses, where no check in our code can reach.  So GMime never parses
 * the message's own bytes when they name such a charset: it parses a private copy of the same
 * length in which those names (and, in Content-Type and Content-Disposition, every encoded-word)
 * are made unusable.  Nothing is interposed, so this holds the same whether libmimeutf8 is linked
 * or dlopen()ed, and the host's own iconv_open is never touched (README, "Charset allowlist"). */
#define _GNU_SOURCE
#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <string.h>

#include "mimeutf8-private.h"

/* Longer names are not labels of the table; refusing them early keeps lookups bounded. */
#define MAX_NAME 64
/* Descriptors kept open for good (below): one per name GMime opens, which are the table's. */
#define MAX_PINNED 256

gboolean
_mimeutf8_iconv_name_allowed (const char *name)
{
	size_t len;

	if (name == NULL)
		return FALSE;
	len = strnlen (name, MAX_NAME + 1);
	/* "//TRANSLIT", "//IGNORE" and paths never come from the table */
	if (len == 0 || len > MAX_NAME || memchr (name, '/', len) != NULL)
		return FALSE;
	return _mimeutf8_charset_iconv_allowed (name) ||
	       _mimeutf8_charset_lookup (name, len) != NULL;
}

/* glibc unloads a converter module when its last descriptor closes, and loads it again for the
 * next: GMime opens and closes one for every encoded-word it decodes, so a batch paid a module
 * load per message and charset.  The first time the scan below lets GMime see a name, one
 * descriptor for what GMime will open is opened and kept; the names are the table's, so there are
 * few, and at most MAX_PINNED. */
static void
pin (const char *gmime_name)
{
	/* a pthread mutex rather than a GMutex: ThreadSanitizer sees it (tests/tsan.sh) */
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static GHashTable *pinned;
	char *key;

	pthread_mutex_lock (&lock);
	if (pinned == NULL)
		pinned = g_hash_table_new (g_str_hash, g_str_equal);
	if (g_hash_table_size (pinned) < MAX_PINNED &&
	    !g_hash_table_contains (pinned, gmime_name)) {
		key = g_strdup (gmime_name);
		g_hash_table_insert (pinned, key, iconv_open ("UTF-8", key));
	}
	pthread_mutex_unlock (&lock);
}

/* Copies into `out` the name GMime gives iconv_open for charset `name`, or returns FALSE when it
 * is longer than MAX_NAME.  GMime's strings live in its own cache, filled under its own lock by
 * whichever thread asked first: this function is the only place that reads them (tests/tsan.supp
 * names it, since ThreadSanitizer cannot see GMime's lock). */
static gboolean __attribute__ ((noinline))
gmime_iconv_name_copy (const char *name, char out[MAX_NAME + 1])
{
	const char *gmime_name = g_mime_charset_iconv_name (g_mime_charset_canon_name (name));
	size_t len = gmime_name != NULL ? strnlen (gmime_name, MAX_NAME + 1) : MAX_NAME + 1;

	if (len > MAX_NAME)
		return FALSE;
	memcpy (out, gmime_name, len);
	out[len] = '\0';
	return TRUE;
}

/* TRUE when GMime may open a converter for `name` (len bytes, as the message writes it): the name
 * and the one GMime turns it into are both the table's.  Such a name is pinned. */
static gboolean
gmime_may_open (const guint8 *name, size_t len)
{
	char buffer[MAX_NAME + 1], gmime_name[MAX_NAME + 1];

	if (len == 0 || len > MAX_NAME || memchr (name, '\0', len) != NULL)
		return FALSE;
	memcpy (buffer, name, len);
	buffer[len] = '\0';
	if (!_mimeutf8_iconv_name_allowed (buffer) || !gmime_iconv_name_copy (buffer, gmime_name) ||
	    !_mimeutf8_iconv_name_allowed (gmime_name))
		return FALSE;
	pin (gmime_name);
	return TRUE;
}

static void
add_span (GArray *spans, size_t start, size_t end)
{
	_MimeUtf8Span span = { start, end };

	if (end > start)
		g_array_append_val (spans, span);
}

/* End of the header field (or body line) that contains `at`: the line ends and so do the
 * folded lines after it, as GMime unfolds a header value. */
static size_t
field_end (const guint8 *data, size_t len, size_t at)
{
	const guint8 *nl;

	while ((nl = memchr (data + at, '\n', len - at)) != NULL) {
		at = (size_t) (nl - data) + 1;
		if (at >= len || (data[at] != ' ' && data[at] != '\t'))
			return at;
	}
	return len;
}

/* ---- encoded-words ------------------------------------------------------------------------- */

/* TRUE when the '?' at `q` ends an encoded-word's charset: "B?" or "Q?" follow (with quotes or
 * backslashes around them, which GMime removes from a display name first).  GMime decodes
 * nothing else, and a boundary may hold "=?" and '?' (a boundary is made of such characters). */
static gboolean
is_word_tail (const guint8 *q, const guint8 *limit)
{
	q++;
	while (q < limit && (*q == '\\' || *q == '"'))
		q++;
	if (q >= limit || strchr ("BbQq", *q) == NULL || *q == '\0')
		return FALSE;
	q++;
	while (q < limit && (*q == '\\' || *q == '"'))
		q++;
	return q < limit && *q == '?';
}

/* Every "=?name?" in the message, headers and bodies alike, so that a header GMime finds where
 * the pre-scan sees body is covered too.  GMime takes the name up to the next '?', across folds;
 * in a display name it first removes quotes and backslashes, so "=\?" and "=\"?" open a word as
 * well.  A name GMime may not open gets its letters and digits replaced. */
static void
scan_encoded_words (const guint8 *data, size_t len, gboolean mapped, GArray *spans)
{
	const guint8 *p = data, *end = data + len, *limit = data;
	size_t released = 0;

	/* '?' is rarer than '=' (quoted-printable is full of '='): find it, then look back; a
	 * megabyte at a time, so that the pages behind can be given back */
	while (p < end) {
		const guint8 *window = MIN (end, p + 1024 * 1024), *q, *name, *name_end;

		_mimeutf8_release_behind (data, p, mapped, &released);
		q = memchr (p, '?', (size_t) (window - p));
		if (q == NULL) {
			p = window;
			continue;
		}
		p = q;

		while (q > data && (q[-1] == '\\' || q[-1] == '"'))
			q--;
		if (q == data || q[-1] != '=') {
			p++;
			continue;
		}
		q = p;
		p = q - 1;
		while (*p != '=')
			p--;
		name = q + 1;
		/* the words of one field share its end: found once, not once per word */
		if (p >= limit)
			limit = data + field_end (data, len, (size_t) (p - data));
		name_end = name < limit ? memchr (name, '?', (size_t) (limit - name)) : NULL;
		if (name_end == NULL) {
			p = name;
			continue;
		}
		if (is_word_tail (name_end, limit)) {
			/* "=?utf-8*en?" names utf-8: GMime drops the language */
			const guint8 *star = memchr (name, '*', (size_t) (name_end - name));

			if (!gmime_may_open (name, (size_t) ((star ? star : name_end) - name)))
				add_span (spans, (size_t) (name - data),
					  (size_t) (name_end - data));
		}
		p = name_end + 1;
		/* a well-formed word is one token to GMime, up to its "?=": "=?" after its last
		 * base64 '=' starts nothing */
		if (limit - name_end > 3 && strchr ("BbQq", name_end[1]) != NULL &&
		    name_end[2] == '?') {
			const guint8 *close =
				memmem (name_end + 3, (size_t) (limit - name_end - 3), "?=", 2);

			if (close != NULL)
				p = close + 2;
		}
	}
}

/* ---- RFC 2231 parameters ----------------------------------------------------------------------- */

/* GMime parses the parameters of Content-Type and Content-Disposition from the value it has
 * unfolded and decoded.  Every encoded-word in those two fields is disabled (its B or Q becomes
 * 'x'), so that decoding cannot make parameter text the bytes do not show; what GMime then parses
 * is the unfolded bytes.  The functions below follow gmime-param.c (3.2.13, loose mode) over that
 * unfolded copy, to find each charset an RFC 2231 parameter names. */

typedef struct {
	char *text;     /* the unfolded value, NUL-terminated (GMime stops at a NUL too) */
	size_t *offset; /* offset in the message of each byte of text */
} Unfolded;

static gboolean
is_lwsp (char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static gboolean
is_ttoken (char c)
{
	guint8 u = (guint8) c;

	if (u >= 0x80)
		return TRUE;
	return u > 32 && u != 127 && strchr ("()<>@,;:\\\"/[]?=", c) == NULL;
}

static void
skip_lwsp (const char **in)
{
	while (is_lwsp (**in))
		(*in)++;
}

static void
skip_cfws (const char **in)
{
	const char *p = *in;

	skip_lwsp (&p);
	while (*p == '(') {
		int depth = 1;

		p++;
		while (*p && depth) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			p++;
		}
		if (depth != 0)
			return; /* GMime leaves the pointer where it was */
		skip_lwsp (&p);
	}
	*in = p;
}

/* A charset at [start, quote) of the unfolded text: spans for the bytes GMime may not open.  A
 * quoted value is unescaped by GMime first; a name with a backslash is simply refused. */
static void
check_charset (const Unfolded *u, const char *start, const char *quote, GArray *spans)
{
	size_t i, n = (size_t) (quote - start);

	if (gmime_may_open ((const guint8 *) start, n))
		return;
	for (i = 0; i < n; i++)
		add_span (spans, u->offset[start - u->text + i],
			  u->offset[start - u->text + i] + 1);
}

/* One parameter at *in, as decode_param reads it.  FALSE, with *in where it was, when GMime gives
 * up on it. */
static gboolean
parse_param (const Unfolded *u, const char **in, GPtrArray *continued, GArray *spans)
{
	const char *p = *in, *name, *value, *value_end, *quote;
	size_t name_len;
	gboolean rfc2231 = FALSE, encoded = FALSE, first = TRUE;
	int id = -1;
	guint i;

	/* decode_rfc2184_param: a name (no '*' in it), then "*", "*=", "*N" or "*N*" */
	skip_cfws (&p);
	name = p;
	while (is_ttoken (*p) && *p != '*')
		p++;
	name_len = (size_t) (p - name);
	if (name_len == 0) {
		p = *in;
	} else {
		skip_cfws (&p);
		if (*p == '*') {
			rfc2231 = TRUE;
			p++;
			skip_cfws (&p);
			if (*p == '=') {
				encoded = TRUE;
			} else {
				skip_cfws (&p);
				id = 0;
				while (g_ascii_isdigit (*p))
					p++;
				skip_cfws (&p);
				if (*p == '*') {
					p++;
					encoded = TRUE;
					skip_cfws (&p);
				}
			}
		}
	}
	if (*p != '=' || name_len == 0)
		return FALSE;
	/* decode_value: a quoted string, or (loose) everything up to ';' */
	p++;
	skip_cfws (&p);
	if (*p == '"') {
		value = ++p;
		while (*p && *p != '"') {
			if (*p++ == '\\' && *p)
				p++;
		}
		value_end = p;
		if (*p == '"')
			p++;
	} else {
		value = p;
		while (*p && *p != ';')
			p++;
		value_end = p;
		while (value_end > value && is_lwsp (value_end[-1]))
			value_end--;
		if (value_end == value)
			return FALSE; /* no value */
	}
	*in = p;
	if (rfc2231 && id >= 0) {
		/* continuations: the charset comes from the first part met of each name */
		for (i = 0; i < continued->len && first; i++)
			if (strlen (continued->pdata[i]) == name_len &&
			    g_ascii_strncasecmp (continued->pdata[i], name, name_len) == 0)
				first = FALSE;
		if (first)
			g_ptr_array_add (continued, g_strndup (name, name_len));
	}
	quote = memchr (value, '\'', (size_t) (value_end - value));
	if (encoded && first && quote != NULL)
		check_charset (u, value, quote, spans);
	return TRUE;
}

/* The parameter list after the first ';' of an unfolded value (decode_param_list). */
static void
parse_params (const Unfolded *u, const char *p, GArray *spans)
{
	g_autoptr (GPtrArray) continued = g_ptr_array_new_with_free_func (g_free);

	do {
		skip_cfws (&p);
		if (*p == '\0')
			break;
		if (!parse_param (u, &p, continued, spans)) {
			skip_cfws (&p);
			if (*p == ';')
				continue;
			break;
		}
		skip_cfws (&p);
	} while (*p++ == ';');
}

/* A Content-Type or Content-Disposition field whose value is [start, end). */
static void
scan_param_field (const guint8 *data, size_t start, size_t end, gboolean content_type,
		  GArray *spans)
{
	Unfolded u;
	const char *p;
	size_t i, n = 0;
	const guint8 *word = data + start;

	/* every encoded-word: its B or Q becomes 'x', so GMime leaves it as it is */
	while ((word = memchr (word, '=', end - (size_t) (word - data))) != NULL &&
	       (size_t) (word - data) + 1 < end) {
		const guint8 *q;

		word++;
		if (*word != '?')
			continue;
		q = memchr (word + 1, '?', end - (size_t) (word + 1 - data));
		if (q != NULL && (size_t) (q - data) + 2 < end && q[1] != '\0' &&
		    strchr ("BbQq", q[1]) != NULL && q[2] == '?')
			add_span (spans, (size_t) (q + 1 - data), (size_t) (q + 2 - data));
	}

	u.text = g_malloc (end - start + 1);
	u.offset = g_new (size_t, end - start + 1);
	for (i = start; i < end && data[i] != '\0'; i++) {
		if (data[i] == '\r' || data[i] == '\n')
			continue;
		u.text[n] = (char) data[i];
		u.offset[n++] = i;
	}
	u.text[n] = '\0';
	p = u.text;
	if (content_type) {
		/* type "/" subtype (g_mime_parse_content_type); without them GMime parses no
		 * parameter */
		skip_cfws (&p);
		while (is_ttoken (*p))
			p++;
		skip_cfws (&p);
		if (*p++ != '/')
			goto done;
		skip_cfws (&p);
		if (!is_ttoken (*p))
			goto done;
		while (is_ttoken (*p))
			p++;
		skip_cfws (&p);
	}
	while (*p && *p != ';')
		p++;
	if (*p++ == ';' && *p)
		parse_params (&u, p, spans);
done:
	g_free (u.text);
	g_free (u.offset);
}

/* The line at `line` if it is a Content-Type or Content-Disposition field: its value goes to
 * scan_param_field. */
static void
scan_param_line (const guint8 *data, size_t len, size_t line, GArray *spans)
{
	static const struct {
		const char *name;
		size_t len;
		gboolean content_type;
	} fields[] = { { "content-type", 12, TRUE }, { "content-disposition", 19, FALSE } };
	guint f;

	for (f = 0; f < G_N_ELEMENTS (fields); f++) {
		size_t colon = line + fields[f].len;

		if (colon >= len || g_ascii_strncasecmp ((const char *) data + line, fields[f].name,
							 fields[f].len) != 0)
			continue;
		while (colon < len && (data[colon] == ' ' || data[colon] == '\t'))
			colon++;
		if (colon < len && data[colon] == ':')
			scan_param_field (data, colon + 1, field_end (data, len, line),
					  fields[f].content_type, spans);
	}
}

/* Every line that GMime could read as a Content-Type or Content-Disposition field, anywhere. */
static void
scan_param_fields (const guint8 *data, size_t len, gboolean mapped, GArray *spans)
{
	const guint8 *p = data, *end = data + len;
	size_t released = 0;

	while (p < end) {
		const guint8 *nl;

		_mimeutf8_release_behind (data, p, mapped, &released);

		if ((*p == 'C' || *p == 'c'))
			scan_param_line (data, len, (size_t) (p - data), spans);
		nl = memchr (p, '\n', (size_t) (end - p));
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

static int
compare_spans (gconstpointer a, gconstpointer b)
{
	const _MimeUtf8Span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

gboolean
_mimeutf8_guard_scan (const guint8 *data, size_t len, gboolean mapped, GArray *spans)
{
	guint before = spans->len;

	scan_encoded_words (data, len, mapped, spans);
	scan_param_fields (data, len, mapped, spans);
	g_array_sort (spans, compare_spans);
	return spans->len > before;
}

void
_mimeutf8_guard_neutralize (guint8 *copy, const GArray *spans)
{
	guint i;

	for (i = 0; i < spans->len; i++) {
		const _MimeUtf8Span *span = &g_array_index (spans, _MimeUtf8Span, i);
		size_t j;

		/* letters and digits only: what GMime reads as structure (quotes, folds, '?', ';')
		 * stays, and glibc, which drops every other byte of a name, finds no converter
		 * called "xxx" */
		for (j = span->start; j < span->end; j++)
			if (g_ascii_isalnum (copy[j]) || copy[j] == '/')
				copy[j] = 'x';
	}
}
