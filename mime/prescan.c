/* prescan.c: one cheap pass over a message's bytes that enforces the limits before GMime builds
 * anything.  GMime's costs grow with the input's shape, not its size (DESIGN.md, GMime trap 7:
 * 100,000 tiny parts take 1.3 GB; a boundary scan nested 1,000 deep takes seconds), so a message
 * is measured here first, in linear time and constant memory per boundary. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mimeutf8-private.h"

/* GMime compares every line that starts with "--" against every open boundary: the message is
 * passed through when that work would pass this many comparisons. */
#define MAX_BOUNDARY_COMPARISONS (20 * 1000 * 1000)

typedef struct {
	const MimeUtf8Options *options;
	GPtrArray *boundaries;      /* open multipart boundaries, innermost last (borrowed spans) */
	GArray *lengths;            /* their lengths */
	unsigned int message_depth; /* message/rfc822 levels inside the innermost multipart */
	unsigned int parts;
	guint64 comparisons;
	const char *why;
} Scan;

static unsigned int
limit_or (unsigned int value, unsigned int fallback)
{
	return value != 0 ? value : fallback;
}

static guint64
limit64_or (guint64 value, guint64 fallback)
{
	return value != 0 ? value : fallback;
}

unsigned int
_mimeutf8_limit_depth (const MimeUtf8Options *options)
{
	return limit_or (options->max_depth, 64);
}

unsigned int
_mimeutf8_limit_parts (const MimeUtf8Options *options)
{
	return limit_or (options->max_parts, 10000);
}

guint64
_mimeutf8_limit_message_size (const MimeUtf8Options *options)
{
	return limit64_or (options->max_message_size, 50 * 1024 * 1024);
}

unsigned int
_mimeutf8_limit_timeout_ms (const MimeUtf8Options *options)
{
	return limit_or (options->timeout_ms, 10000);
}

static gboolean
starts_with_ci (const guint8 *p, const guint8 *end, const char *prefix)
{
	size_t n = strlen (prefix);

	return (size_t) (end - p) >= n && g_ascii_strncasecmp ((const char *) p, prefix, n) == 0;
}

/* Looks at one whole header field [p, end): counts what the limits count, and opens a boundary
 * or a message level when it is a Content-Type that does. */
static void
scan_field (Scan *scan, const guint8 *p, const guint8 *end, gboolean *opens_message)
{
	unsigned int params = 0, words = 0;
	gboolean content_type = starts_with_ci (p, end, "content-type:");
	gboolean quoted = FALSE;
	const guint8 *q;

	for (q = p; q + 1 < end; q++) {
		if (*q == '"')
			quoted = !quoted;
		else if (*q == ';' && !quoted)
			params++;
		else if (q[0] == '=' && q[1] == '?')
			words++;
	}
	if (params > limit_or (scan->options->max_params, 128)) {
		scan->why = "limit: too many parameters in one header";
		return;
	}
	if (words > limit_or (scan->options->max_encoded_words, 1000)) {
		scan->why = "limit: too many encoded-words in one header";
		return;
	}
	if (!content_type)
		return;
	for (q = p + 13; q < end && g_ascii_isspace (*q); q++)
		;
	if (starts_with_ci (q, end, "message/rfc822") ||
	    starts_with_ci (q, end, "message/global")) {
		*opens_message = TRUE;
		return;
	}
	if (!starts_with_ci (q, end, "multipart/"))
		return;
	/* the boundary parameter's value, quoted or not */
	for (; q + 9 < end; q++) {
		const guint8 *value, *value_end;

		if (g_ascii_strncasecmp ((const char *) q, "boundary=", 9) != 0)
			continue;
		value = q + 9;
		if (*value == '"') {
			value++;
			value_end = memchr (value, '"', end - value);
			if (value_end == NULL)
				value_end = end;
		} else {
			for (value_end = value;
			     value_end < end && *value_end != ';' && !g_ascii_isspace (*value_end);
			     value_end++)
				;
		}
		g_ptr_array_add (scan->boundaries, (gpointer) value);
		g_array_append_val (scan->lengths, (size_t){ value_end - value });
		scan->message_depth = 0;
		return;
	}
}

static unsigned int
depth (const Scan *scan)
{
	return scan->boundaries->len + scan->message_depth;
}

/* A line starting with "--": a delimiter of an open boundary closes the levels inside it. */
static void
scan_dashes (Scan *scan, const guint8 *line, const guint8 *end, gboolean *in_header)
{
	guint i = scan->boundaries->len;

	scan->comparisons += scan->boundaries->len;
	while (i-- > 0) {
		const guint8 *b = g_ptr_array_index (scan->boundaries, i);
		size_t n = g_array_index (scan->lengths, size_t, i);

		if ((size_t) (end - line) < n + 2 || memcmp (line + 2, b, n) != 0)
			continue;
		g_ptr_array_set_size (scan->boundaries, i + 1);
		g_array_set_size (scan->lengths, i + 1);
		scan->message_depth = 0;
		if ((size_t) (end - line) >= n + 4 && line[n + 2] == '-' && line[n + 3] == '-') {
			g_ptr_array_set_size (scan->boundaries, i);
			g_array_set_size (scan->lengths, i);
			return;
		}
		scan->parts++;
		*in_header = TRUE;
		return;
	}
}

void
_mimeutf8_release_mapped (const guint8 *map, size_t start, size_t end)
{
	size_t page = (size_t) sysconf (_SC_PAGESIZE);
	size_t first = (start + page - 1) / page * page, last = end / page * page;

	if (((size_t) map & (page - 1)) == 0 && last > first)
		madvise ((void *) (map + first), last - first, MADV_DONTNEED);
}

gboolean
_mimeutf8_prescan (const MimeUtf8Options *options, const guint8 *data, size_t len, gboolean mapped,
		   const char **why_out)
{
	size_t released = 0;
	Scan scan = { options, g_ptr_array_new (), g_array_new (FALSE, FALSE, sizeof (size_t)) };
	const guint8 *p = data, *end = data + len, *field = NULL, *block = data;
	guint64 max_block = limit64_or (options->max_header_block, 1024 * 1024);
	gboolean in_header = TRUE, opens_message = FALSE;

	if (len > _mimeutf8_limit_message_size (options))
		scan.why = "limit: message size";
	while (p < end && scan.why == NULL) {
		const guint8 *nl = memchr (p, '\n', end - p);
		const guint8 *line_end = nl ? nl + 1 : end;
		gboolean blank = (line_end - p) <= 2 && (*p == '\n' || *p == '\r');

		if (in_header) {
			if (field != NULL && (blank || (*p != ' ' && *p != '\t'))) {
				scan_field (&scan, field, p, &opens_message);
				field = NULL;
			}
			if ((guint64) (line_end - block) > max_block)
				scan.why = "limit: header block size";
			else if (blank) {
				in_header = FALSE;
				if (opens_message) {
					/* the body of message/rfc822 starts with a header block */
					opens_message = FALSE;
					scan.message_depth++;
					in_header = TRUE;
					block = line_end;
				}
			} else if (*p != ' ' && *p != '\t') {
				field = p;
			}
		}
		if (!in_header && line_end - p >= 2 && p[0] == '-' && p[1] == '-') {
			scan_dashes (&scan, p, line_end, &in_header);
			if (in_header) {
				block = line_end;
				opens_message = FALSE;
			}
		}
		if (scan.why == NULL && depth (&scan) > _mimeutf8_limit_depth (options))
			scan.why = "limit: nesting depth";
		else if (scan.why == NULL && scan.parts > _mimeutf8_limit_parts (options))
			scan.why = "limit: number of parts";
		else if (scan.why == NULL && scan.comparisons > MAX_BOUNDARY_COMPARISONS)
			scan.why = "limit: boundary scan cost";
		p = line_end;
		_mimeutf8_release_behind (data, p, mapped, &released);
	}
	if (scan.why == NULL && field != NULL)
		scan_field (&scan, field, end, &opens_message);
	g_ptr_array_unref (scan.boundaries);
	g_array_unref (scan.lengths);
	*why_out = scan.why;
	return scan.why == NULL;
}
