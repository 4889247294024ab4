/* normalize.c: the MIME walk.  It parses a message with GMime, decides and converts every text
 * part, and writes the result by splicing: the input's bytes are copied as they are, except the
 * few ranges that change (a charset parameter, a transfer-encoding, a body).  So whatever is not
 * rewritten is byte-identical, and GMime never re-serializes a header. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mimeutf8-private.h"

/* Lines longer than this break RFC 5322; a body with one is sent as quoted-printable. */
#define MAX_LINE 998
/* How deep base64-encoded message/rfc822 parts are opened, each one a parse of its own. */
#define MAX_ENCODED_DEPTH 8
/* A message larger than this is parsed from its file (a pipe is spooled to one), so that memory
 * does not grow with attachment size; smaller ones are read into memory, which is faster. */
#define LARGE_MESSAGE (8 * 1024 * 1024)
/* Most messages in a stream of mail are smaller than this: read a pipe in chunks of it. */
#define READ_CHUNK (64 * 1024)

/* ---- the plan for one text part ------------------------------------------------------------- */

/* One range of the input replaced by new bytes; an insertion has start == end. */
typedef struct {
	size_t start;
	size_t end;
	GByteArray *bytes;
} Edit;

/* The headers of one object, to rewrite once its message's first text part is decided. */
typedef struct {
	GMimeObject *object;
	GMimeObject *outer;
	char *path;
} HeaderJob;

static void
header_job_free (HeaderJob *job)
{
	g_free (job->path);
	g_free (job);
}

typedef struct {
	const MimeUtf8Options *options;
	MimeUtf8Report *report;
	/* The message's bytes, when it was parsed from memory (splice mode); NULL in place. */
	const guint8 *raw;
	size_t raw_len;
	GByteArray *raw_array;
	/* The bytes GMime parsed: `raw`, or a copy of the same length in which charset names that must
	 * not reach iconv are made unusable (iconv-guard.c).  Its header values are compared with
	 * these; the output is spliced from `raw`.  Valid only during walk_raw. */
	const guint8 *parsed;
	/* A large message is a mapped file, parsed through a GMimeStreamFs on `fd` so that GMime
	 * reads it with read() and keeps attachments on disk; its pages are released once used. */
	int fd;
	gboolean mapped;
	GArray *edits; /* of Edit */
	/* Charsets the message declares (part labels, encoded-words): evidence for unlabelled text. */
	GPtrArray *message_charsets;
	const char *newline;
	/* Messages around this one: 0 for the top, 1 inside an encoded message/rfc822... */
	int depth;
	/* Header fields already rewritten (their offsets): a part's Content-* headers are in its
	 * message's list too. */
	GHashTable *headers_done;
	/* The charset decided for the current message's first text part: raw 8-bit header bytes
	 * are read in it.  Its headers are rewritten once its parts are walked. */
	const _MimeUtf8Charset *eight_bit;
	gboolean text_seen;
	GPtrArray *header_jobs; /* of HeaderJob, for the current message */
	/* Boundaries of the multiparts around the object being walked, innermost last: a part's
	 * content ends at a line of one of them. */
	GPtrArray *boundaries;
	/* Messages embedded in the one walked (message/rfc822 parts) around the object. */
	unsigned int embedded;
	/* MIME nesting of the object being walked, parts seen, and when time is up. */
	unsigned int level;
	unsigned int parts;
	gint64 deadline;
	/* Set when a part cannot be rewritten where it stands: the message is then passed through. */
	char *failure;
} Walk;

static void
walk_fail (Walk *walk, const char *why)
{
	if (walk->failure == NULL)
		walk->failure = g_strdup (why);
}

/* Pages of a mapped message that were used are given back, so that a large message never sits
 * in memory whole. */
static void
release_pages (const Walk *walk, size_t start, size_t end)
{
	size_t page = (size_t) sysconf (_SC_PAGESIZE);
	size_t first = (start + page - 1) / page * page, last = end / page * page;

	if (walk->mapped && last > first)
		madvise ((void *) (walk->raw + first), last - first, MADV_DONTNEED);
}

static void
add_edit (Walk *walk, size_t start, size_t end, GByteArray *bytes)
{
	Edit edit = { start, end, bytes };

	/* a rewrite to the same bytes is no change: the message can stay unchanged */
	if (end - start == bytes->len && memcmp (walk->raw + start, bytes->data, bytes->len) == 0) {
		g_byte_array_unref (bytes);
		return;
	}
	g_array_append_val (walk->edits, edit);
}

static GByteArray *
bytes_of (const char *text)
{
	GByteArray *array = g_byte_array_new ();

	g_byte_array_append (array, (const guint8 *) text, strlen (text));
	return array;
}

static const char *
encoding_name (GMimeContentEncoding encoding)
{
	switch (encoding) {
	case GMIME_CONTENT_ENCODING_7BIT:
		return "7bit";
	case GMIME_CONTENT_ENCODING_8BIT:
		return "8bit";
	case GMIME_CONTENT_ENCODING_BINARY:
		return "binary";
	case GMIME_CONTENT_ENCODING_BASE64:
		return "base64";
	case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
		return "quoted-printable";
	case GMIME_CONTENT_ENCODING_UUENCODE:
		return "x-uuencode";
	default:
		return NULL;
	}
}

/* ---- raw header surgery ---------------------------------------------------------------------- */

static GString *header_text (Walk *walk, const char *path, const char *name, const char *value,
			     size_t len, const char *newline);

/* A text part's Content-Type: its other parameters in normal form (RFC 2231 file names...),
 * then charset=utf-8. */
static GString *
rewrite_content_type (Walk *walk, const char *path, const char *value, size_t len,
		      const char *newline, const char *unused)
{
	GString *params = header_text (walk, path, "Content-Type", value, len, newline);
	GString *out;

	if (params == NULL)
		return _mimeutf8_raw_content_type_with_utf8 (value, len, newline, NULL);
	out = _mimeutf8_raw_content_type_with_utf8 (params->str, params->len, newline, NULL);
	g_string_free (params, TRUE);
	return out;
}

/* Newline used by the line that ends just before `at`. */
static const char *
newline_before (const Walk *walk, size_t at)
{
	if (at >= 2 && walk->raw[at - 1] == '\n')
		return walk->raw[at - 2] == '\r' ? "\r\n" : "\n";
	return walk->newline;
}

/* Smallest offset of a parsed header of `object` (and of `outer`, the message whose header block
 * it shares), or -1. */
static gint64
first_header_offset (GMimeObject *object, GMimeObject *outer, size_t body_start)
{
	GMimeHeaderList *lists[2] = { g_mime_object_get_header_list (object),
				      outer ? g_mime_object_get_header_list (outer) : NULL };
	gint64 first = -1;
	guint l;
	int i;

	for (l = 0; l < 2; l++) {
		if (lists[l] == NULL)
			continue;
		for (i = 0; i < g_mime_header_list_get_count (lists[l]); i++) {
			gint64 offset = g_mime_header_get_offset (
				g_mime_header_list_get_header_at (lists[l], i));

			if (offset >= 0 && (size_t) offset < body_start &&
			    (first < 0 || offset < first))
				first = offset;
		}
	}
	return first;
}

/* TRUE when the part's header block, up to the line at `upto`, reads the same to every parser: it
 * starts where the part starts (after a boundary line, a blank line or an mbox From_ line, or at
 * the top), and every line is a field "name:" or its folded continuation, without a bare CR.
 * GMime also skips a garbage line, takes "Name :" and CR-only line ends; other readers end the
 * header block there, so a rewrite after such a line would be invisible to them, and a body
 * rewritten under a new label would have lines of the block before it. */
static gboolean
header_block_is_clean (const Walk *walk, GMimeObject *object, GMimeObject *outer, size_t body_start,
		       size_t upto)
{
	const guint8 *raw = walk->raw;
	gint64 first = first_header_offset (object, outer, body_start);
	size_t i, prev;

	if (first < 0 || (size_t) first > upto)
		return TRUE; /* no header before it: header_insert_point checks the blank line */
	i = (size_t) first;
	if (i > 0) {
		if (raw[i - 1] != '\n')
			return FALSE;
		prev = i - 1;
		while (prev > 0 && raw[prev - 1] != '\n')
			prev--;
		if (!(raw[prev] == '\n' || (raw[prev] == '\r' && raw[prev + 1] == '\n') ||
		      (raw[prev] == '-' && raw[prev + 1] == '-') ||
		      (prev == 0 && memcmp (raw, "From ", 5) == 0)))
			return FALSE;
	}
	while (i <= upto && i < walk->raw_len) {
		const guint8 *nl = memchr (raw + i, '\n', walk->raw_len - i), *cr;
		size_t j = i;

		if (nl == NULL)
			return FALSE;
		if (raw[i] == '\n' || (raw[i] == '\r' && raw[i + 1] == '\n'))
			return TRUE; /* the blank line that ends the block */
		/* a bare CR ends a line for readers that split on it (Python's email), and the
		 * next "line" is no field to them */
		cr = memchr (raw + i, '\r', (size_t) (nl - raw) - i);
		if (cr != NULL && cr + 1 != nl)
			return FALSE;
		/* a NUL ends GMime's reading of a header line where other readers read on */
		if (memchr (raw + i, '\0', (size_t) (nl - raw) - i) != NULL)
			return FALSE;
		if (i == 0 && memcmp (raw, "From ", 5) == 0) {
			/* an mbox From_ line at the top, which GMime reads past */
		} else if (raw[i] != ' ' && raw[i] != '\t') {
			while (j < (size_t) (nl - raw) && _mimeutf8_raw_is_field_name_char (raw[j]))
				j++;
			if (j == i || raw[j] != ':')
				return FALSE;
		} else if (i == (size_t) first) {
			return FALSE;
		}
		i = (size_t) (nl - raw) + 1;
	}
	return TRUE;
}

/* Where new header lines of `object` go: after its last header field, else before the blank
 * line that ends its (empty) header block.  (size_t) -1 if that place cannot be found. */
static size_t
header_insert_point (Walk *walk, GMimeObject *object, GMimeObject *outer, size_t body_start)
{
	GMimeHeaderList *lists[2] = { g_mime_object_get_header_list (object),
				      outer ? g_mime_object_get_header_list (outer) : NULL };
	gint64 last = -1;
	guint l;
	int i;

	for (l = 0; l < 2; l++) {
		if (lists[l] == NULL)
			continue;
		for (i = 0; i < g_mime_header_list_get_count (lists[l]); i++) {
			gint64 offset = g_mime_header_get_offset (
				g_mime_header_list_get_header_at (lists[l], i));

			if (offset >= 0 && (size_t) offset < body_start && offset > last)
				last = offset;
		}
	}
	if (last >= 0) {
		size_t end = _mimeutf8_raw_field_end (walk->raw, body_start, (size_t) last);

		return end > 0 && walk->raw[end - 1] == '\n' ? end : (size_t) -1;
	}
	/* no header at all: "--boundary NL" then the blank line, then the body; anything else is a
	 * line GMime skipped, which other readers take for the start of the body */
	if (body_start >= 2 && walk->raw[body_start - 1] == '\n') {
		size_t blank = body_start - 1, line;

		if (blank >= 1 && walk->raw[blank - 1] == '\r')
			blank--;
		if (blank < 1 || walk->raw[blank - 1] != '\n')
			return (size_t) -1;
		line = blank - 1;
		while (line > 0 && walk->raw[line - 1] != '\n')
			line--;
		if (blank - line >= 3 && walk->raw[line] == '-' && walk->raw[line + 1] == '-')
			return blank;
	}
	return (size_t) -1;
}

/* Sets one header of a part in the raw message: `rewrite` maps the old value to the new one. */
static gboolean
splice_header (Walk *walk, GMimeObject *object, GMimeObject *outer, size_t body_start,
	       const char *name,
	       GString *(*rewrite) (Walk *walk, const char *path, const char *value, size_t len,
				    const char *newline, const char *new_value),
	       const char *path, const char *new_value)
{
	GMimeHeader *header =
		g_mime_header_list_get_header (g_mime_object_get_header_list (object), name);
	size_t value_start, value_end, at;
	GByteArray *bytes;

	if (header != NULL && g_mime_header_get_offset (header) >= 0) {
		size_t start = (size_t) g_mime_header_get_offset (header);
		GString *value;

		if (!_mimeutf8_raw_field_value (walk->raw, walk->raw_len, start, name, &value_start,
						&value_end) ||
		    !_mimeutf8_raw_same_value (walk->parsed + value_start, value_end - value_start,
					       g_mime_header_get_raw_value (header)))
			return FALSE;
		g_hash_table_add (walk->headers_done, GSIZE_TO_POINTER (start + 1));
		value = rewrite (
			walk, path, (const char *) walk->raw + value_start, value_end - value_start,
			newline_before (walk,
					_mimeutf8_raw_field_end (walk->raw, walk->raw_len, start)),
			new_value);
		bytes = g_byte_array_new_take ((guint8 *) value->str, value->len);
		g_string_free (value, FALSE);
		add_edit (walk, value_start, value_end, bytes);
		return TRUE;
	}
	at = header_insert_point (walk, object, outer, body_start);
	if (at == (size_t) -1)
		return FALSE;
	bytes = bytes_of (name);
	g_byte_array_append (bytes, (const guint8 *) ": ", 2);
	g_byte_array_append (bytes, (const guint8 *) new_value, strlen (new_value));
	g_byte_array_append (bytes, (const guint8 *) newline_before (walk, at),
			     strlen (newline_before (walk, at)));
	add_edit (walk, at, at, bytes);
	return TRUE;
}

/* The normal form of one header's value, or NULL when it needs none; the report gets a record. */
static GString *
header_text (Walk *walk, const char *path, const char *name, const char *value, size_t len,
	     const char *newline)
{
	_MimeUtf8HeaderChange change;
	MimeUtf8HeaderReport *record;
	GString *out;

	if (walk->options->headers == MIMEUTF8_HEADERS_KEEP)
		return NULL;
	out = _mimeutf8_header_normalize (name, value, len, walk->options, walk->eight_bit,
					  _mimeutf8_fallback (walk->options), newline, &change);
	if (change.limit_hit) {
		walk_fail (walk, "limit: a header has too many encoded-words or parameters");
		if (out != NULL)
			g_string_free (out, TRUE);
		return NULL;
	}
	if (out == NULL)
		return NULL;
	record = _mimeutf8_report_add_header (walk->report, path, name,
					      change.rule ? change.rule : "normalized",
					      change.charset ? change.charset->name : NULL);
	record->replacements = change.replacements;
	record->sanitized = change.sanitized;
	return out;
}

static void rewrite_header_in_place (Walk *walk, GMimeHeader *header, const char *path);

/* Rewrites the headers of `object` that need it (its Content-Type of a relabelled text part was
 * done with the label).  A header after a line that other parsers end the header block on is
 * left alone: they would not see the rewrite. */
static void
rewrite_headers (Walk *walk, GMimeObject *object, GMimeObject *outer, const char *path)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list (object);
	int i;

	for (i = 0; i < g_mime_header_list_get_count (headers) && walk->failure == NULL; i++) {
		GMimeHeader *header = g_mime_header_list_get_header_at (headers, i);
		const char *name = g_mime_header_get_name (header);
		gint64 offset = g_mime_header_get_offset (header);
		size_t value_start, value_end;
		GString *value;

		if (walk->raw == NULL) {
			rewrite_header_in_place (walk, header, path);
			continue;
		}
		if (offset < 0 ||
		    g_hash_table_contains (walk->headers_done, GSIZE_TO_POINTER (offset + 1)))
			continue;
		g_hash_table_add (walk->headers_done, GSIZE_TO_POINTER (offset + 1));
		if (!_mimeutf8_raw_field_value (walk->raw, walk->raw_len, (size_t) offset, name,
						&value_start, &value_end) ||
		    !_mimeutf8_raw_same_value (walk->parsed + value_start, value_end - value_start,
					       g_mime_header_get_raw_value (header)))
			continue;
		if (!header_block_is_clean (walk, object, outer, (size_t) offset + 1,
					    (size_t) offset))
			continue;
		value = header_text (
			walk, path, name, (const char *) walk->raw + value_start,
			value_end - value_start,
			newline_before (walk, _mimeutf8_raw_field_end (walk->raw, walk->raw_len,
								       (size_t) offset)));
		if (value != NULL) {
			gsize n = value->len;

			add_edit (
				walk, value_start, value_end,
				g_byte_array_new_take ((guint8 *) g_string_free (value, FALSE), n));
		}
	}
}

static GString *
rewrite_encoding (Walk *walk, const char *path, const char *value, size_t len, const char *newline,
		  const char *new_encoding)
{
	GString *out = g_string_new (NULL);
	size_t lead = 0;

	while (lead < len && (value[lead] == ' ' || value[lead] == '\t'))
		lead++;
	g_string_append_len (out, value, lead);
	if (lead == 0)
		g_string_append_c (out, ' ');
	g_string_append (out, new_encoding);
	return out;
}

/* ---- text parts ------------------------------------------------------------------------------ */

typedef struct {
	GByteArray *decoded_copy; /* decoded body when it had to be copied */
	const guint8 *decoded;    /* decoded body bytes */
	size_t decoded_len;
	GByteArray *converted; /* new decoded body, NULL if the body stays */
	GMimeContentEncoding encoding_in;
	GMimeContentEncoding encoding_out;
	gboolean relabel; /* charset parameter becomes utf-8 */
	/* Set when the body cannot be read as the parser reads it: the part is left alone. */
	const char *leave_reason;
	/* The body is rewritten even if its text stays: it is not clean base64 (a footer after
	 * it, a last group without padding), and a strict reader would not read it. */
	gboolean reencode;
	/* Plain text followed the base64 run, and is part of the decoded body. */
	gboolean trailer;
	gboolean ascii_normal; /* pure ASCII that stays: only its header block is checked */
} TextPlan;

/* TRUE when a boundary line of a multipart around the part starts at `at`: "--", the boundary,
 * "--" or not, blanks, then a line break or the end of input, as every reader takes it (GMime
 * also ends a part at a line that merely starts with a closing boundary, "--b-->"). */
static gboolean
boundary_line_at (const Walk *walk, size_t at)
{
	const guint8 *raw = walk->raw;
	size_t len = walk->raw_len;
	guint b;

	for (b = 0; b < walk->boundaries->len; b++) {
		const char *boundary = g_ptr_array_index (walk->boundaries, b);
		size_t n = strlen (boundary), i = at + 2 + n;

		if (i > len || raw[at] != '-' || raw[at + 1] != '-' ||
		    memcmp (raw + at + 2, boundary, n) != 0)
			continue;
		if (i + 2 <= len && raw[i] == '-' && raw[i + 1] == '-')
			i += 2;
		while (i < len && (raw[i] == ' ' || raw[i] == '\t'))
			i++;
		if (i == len || raw[i] == '\n' || raw[i] == '\r')
			return TRUE;
	}
	return FALSE;
}

/* The bounds in the message of a part's content stream, when it is a substream of the message
 * the walk parsed (and not, say, content an engine set itself).  The content ends before the
 * line break that precedes the next boundary line, or at the end of input; where GMime's end is
 * not there, `*why` says so and the part must be left alone. */
static gboolean
source_bounds (const Walk *walk, GMimeStream *stream, size_t *start_out, size_t *end_out,
	       const char **why)
{
	const guint8 *raw = walk->raw;
	size_t start, end, next;

	*why = NULL;
	if (stream == NULL || walk->raw == NULL)
		return FALSE;
	if (!(walk->raw_array != NULL && GMIME_IS_STREAM_MEM (stream) &&
	      ((GMimeStreamMem *) stream)->buffer == walk->raw_array) &&
	    !(walk->fd >= 0 && GMIME_IS_STREAM_FS (stream) &&
	      ((GMimeStreamFs *) stream)->fd == walk->fd))
		return FALSE;
	if (stream->bound_start < 0 || stream->bound_end < stream->bound_start ||
	    (size_t) stream->bound_end > walk->raw_len)
		return FALSE;
	start = (size_t) stream->bound_start;
	end = (size_t) stream->bound_end;
	if (end < walk->raw_len) {
		if (end == start && boundary_line_at (walk, end)) {
			/* an empty body: the line break before the boundary ends the header block */
			next = end;
		} else if (raw[end] == '\r' && end + 1 < walk->raw_len && raw[end + 1] == '\n') {
			next = end + 2;
		} else if (raw[end] == '\n') {
			next = end + 1;
			/* The CR LF before a boundary is the boundary's; GMime sometimes keeps its CR
			 * in the content (when the CR LF straddles its read buffer). */
			if (end > start && raw[end - 1] == '\r')
				end--;
		} else if (end + 1 < walk->raw_len && raw[end + 1] == '\n') {
			/* GMime 3.2.13 trims two bytes before a boundary line that ends in CR (CR LF,
			 * or a bare CR at the end of input) even when the line before it ends in a
			 * bare LF: the last content byte is the part's */
			next = end + 2;
			end++;
		} else {
			next = (size_t) -1;
		}
		if (next == (size_t) -1 || !boundary_line_at (walk, next)) {
			*why = "the body does not end at a boundary line where the parser ends it";
			return FALSE;
		}
	}
	*start_out = start;
	*end_out = end;
	return TRUE;
}

/* A base64 body read as a reader can: the base64 run, its last group even unpadded, then any
 * plain text after it (a list footer) as text, on a line of its own.  A body that is no base64
 * sets the reason to leave the part alone; one that is not clean base64 is to be re-encoded. */
static void
decode_base64_text (const guint8 *data, size_t len, TextPlan *plan)
{
	size_t trailer;
	gboolean clean = TRUE;

	plan->decoded_copy = g_byte_array_sized_new ((guint) (len / 4 * 3 + 16));
	trailer = _mimeutf8_base64_decode_body (data, len, plan->decoded_copy, &clean,
						&plan->leave_reason);
	plan->reencode = !clean;
	if (trailer != (size_t) -1 && trailer < len) {
		const guint8 *last = plan->decoded_copy->data;
		size_t n = plan->decoded_copy->len;

		plan->trailer = TRUE;
		/* the trailer's line starts on a line of its own, with the newline before it */
		if (n > 0 && last[n - 1] != '\n') {
			const char *nl = trailer >= 2 && data[trailer - 2] == '\r' ? "\r\n" : "\n";

			g_byte_array_append (plan->decoded_copy, (const guint8 *) nl, strlen (nl));
		}
		g_byte_array_append (plan->decoded_copy, data + trailer, len - trailer);
	}
	plan->decoded =
		plan->decoded_copy->len > 0 ? plan->decoded_copy->data : (const guint8 *) "";
	plan->decoded_len = plan->decoded_copy->len;
}

/* The part's body with its transfer encoding removed.  In splice mode a raw body is read in place. */
static void
decode_body (Walk *walk, GMimePart *part, TextPlan *plan)
{
	GMimeDataWrapper *content = g_mime_part_get_content (part);
	GMimeStream *stream = content ? g_mime_data_wrapper_get_stream (content) : NULL;
	GMimeStream *sink;
	size_t start, end;
	gboolean in_bounds;

	plan->decoded = (const guint8 *) "";
	plan->decoded_len = 0;
	if (stream == NULL)
		return;
	in_bounds = source_bounds (walk, stream, &start, &end, &plan->leave_reason);
	if (plan->leave_reason != NULL)
		return;
	if ((plan->encoding_in == GMIME_CONTENT_ENCODING_DEFAULT ||
	     plan->encoding_in == GMIME_CONTENT_ENCODING_7BIT ||
	     plan->encoding_in == GMIME_CONTENT_ENCODING_8BIT ||
	     plan->encoding_in == GMIME_CONTENT_ENCODING_BINARY) &&
	    in_bounds) {
		plan->decoded = walk->raw + start;
		plan->decoded_len = end - start;
		return;
	}
	if (plan->encoding_in == GMIME_CONTENT_ENCODING_BASE64 && in_bounds) {
		decode_base64_text (walk->raw + start, end - start, plan);
		release_pages (walk, start, end);
		return;
	}
	if (plan->encoding_in == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE && in_bounds) {
		/* decoded straight from the message's bytes, in the bounds checked above */
		GMimeEncoding state;
		size_t n;

		g_mime_encoding_init_decode (&state, plan->encoding_in);
		plan->decoded_copy = g_byte_array_sized_new (
			(guint) g_mime_encoding_outlen (&state, end - start) + 16);
		g_byte_array_set_size (plan->decoded_copy,
				       (guint) g_mime_encoding_outlen (&state, end - start) + 16);
		n = g_mime_encoding_step (&state, (const char *) walk->raw + start, end - start,
					  (char *) plan->decoded_copy->data);
		n += g_mime_encoding_flush (&state, NULL, 0, (char *) plan->decoded_copy->data + n);
		g_byte_array_set_size (plan->decoded_copy, (guint) n);
		plan->decoded = n > 0 ? plan->decoded_copy->data : (const guint8 *) "";
		plan->decoded_len = n;
		release_pages (walk, start, end);
		return;
	}
	plan->decoded_copy = g_byte_array_new ();
	sink = g_mime_stream_mem_new_with_byte_array (plan->decoded_copy);
	g_mime_stream_mem_set_owner ((GMimeStreamMem *) sink, FALSE);
	if (plan->encoding_in == GMIME_CONTENT_ENCODING_BASE64 &&
	    g_mime_data_wrapper_get_encoding (content) == GMIME_CONTENT_ENCODING_BASE64 &&
	    g_mime_stream_reset (stream) == 0) {
		/* in place: the encoded bytes GMime holds, read as above */
		g_autoptr (GByteArray) encoded = plan->decoded_copy;

		g_mime_stream_write_to_stream (stream, sink);
		g_object_unref (sink);
		plan->decoded_copy = NULL;
		decode_base64_text (encoded->data, encoded->len, plan);
		return;
	}
	g_mime_data_wrapper_write_to_stream (content, sink);
	g_object_unref (sink);
	/* an empty array has no data at all: an empty body still gets a pointer */
	plan->decoded =
		plan->decoded_copy->len > 0 ? plan->decoded_copy->data : (const guint8 *) "";
	plan->decoded_len = plan->decoded_copy->len;
}

/* The transfer encoding of the rewritten body: base64 and quoted-printable stay; raw bodies
 * become 8bit when they gained 8-bit bytes, quoted-printable when a line grew too long, and
 * 7-bit-clean encodings under force_7bit. */
static GMimeContentEncoding
choose_encoding (const MimeUtf8Options *options, GMimeContentEncoding in, const guint8 *data,
		 size_t len)
{
	size_t high;

	if (in == GMIME_CONTENT_ENCODING_BASE64 || in == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
		return in;
	high = _mimeutf8_count_high (data, len);
	if (options->force_7bit && high > 0)
		/* whichever is smaller: QP costs 2 more bytes per 8-bit byte, base64 a third */
		return high * 2 > len / 3 ? GMIME_CONTENT_ENCODING_BASE64
					  : GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
	if (in != GMIME_CONTENT_ENCODING_BINARY && _mimeutf8_longest_line (data, len) > MAX_LINE)
		return GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
	if (high > 0 && in != GMIME_CONTENT_ENCODING_BINARY)
		return GMIME_CONTENT_ENCODING_8BIT;
	return in;
}

/* TRUE when an HTML <meta> in the prescan window names a charset other than utf-8. */
static gboolean
meta_needs_rewrite (const guint8 *html, size_t len)
{
	size_t start, end;

	if (!_mimeutf8_html_meta_charset (html, len, &start, &end))
		return FALSE;
	return !(end - start == 5 &&
		 g_ascii_strncasecmp ((const char *) html + start, "utf-8", 5) == 0);
}

/* The HTML <meta> charset, in converted text, now says utf-8. */
static void
rewrite_meta (GByteArray *html)
{
	size_t start, end, tail;

	if (!meta_needs_rewrite (html->data, html->len))
		return;
	_mimeutf8_html_meta_charset (html->data, html->len, &start, &end);
	tail = html->len - end;
	if (end - start < 5)
		g_byte_array_set_size (html, html->len + 5 - (end - start));
	memmove (html->data + start + 5, html->data + end, tail);
	memcpy (html->data + start, "utf-8", 5);
	g_byte_array_set_size (html, start + 5 + tail);
}

/* The declared charset.  GMime gives up on the parameters after a stray token
 * ("text/html;iso-8859-1; charset=utf-8"); the raw value is then read the way the rewrite
 * reads it, so that a rewritten label is always read back. */
static const char *
part_label (Walk *walk, GMimeObject *object)
{
	const char *label = g_mime_object_get_content_type_parameter (object, "charset");
	GMimeHeader *header;
	const char *raw;
	size_t start, end;

	if (label != NULL)
		return label;
	header = g_mime_header_list_get_header (g_mime_object_get_header_list (object),
						"Content-Type");
	if (header == NULL || (raw = g_mime_header_get_raw_value (header)) == NULL ||
	    !_mimeutf8_raw_find_charset_param (raw, strlen (raw), &start, &end))
		return NULL;
	if (end > start && raw[start] == '"') {
		start++;
		if (end > start && raw[end - 1] == '"')
			end--;
	}
	{
		g_autofree char *copy = g_strndup (raw + start, end - start);

		return _mimeutf8_report_intern (walk->report, copy);
	}
}

/* TRUE when a label, blanks and quotes aside, is one of `names` (case-insensitively). */
static gboolean
label_is_one_of (const char *label, const char *const *names, size_t n)
{
	const char *start, *end;

	if (label == NULL)
		return FALSE;
	start = label;
	end = label + strlen (label);
	while (start < end && (g_ascii_isspace (*start) || *start == '"'))
		start++;
	while (end > start && (g_ascii_isspace (end[-1]) || end[-1] == '"'))
		end--;
	for (size_t i = 0; i < n; i++)
		if ((size_t) (end - start) == strlen (names[i]) &&
		    g_ascii_strncasecmp (start, names[i], (size_t) (end - start)) == 0)
			return TRUE;
	return FALSE;
}

static gboolean
label_is_utf8 (const char *label)
{
	static const char *const names[] = { "utf-8" };

	return label_is_one_of (label, names, G_N_ELEMENTS (names));
}

/* TRUE when a label names US-ASCII (its IANA names and aliases).  The label table maps them to
 * windows-1252, as WHATWG does, for the 8-bit bytes mail so labelled holds; over pure ASCII they
 * say what is true, and the part is already UTF-8. */
static gboolean
label_names_ascii (const char *label)
{
	static const char *const names[] = { "us-ascii",	 "ascii",	 "us",
					     "ansi_x3.4-1968",	 "ansi_x3.4-1986", "iso-ir-6",
					     "iso_646.irv:1991", "iso646-us",	   "ibm367",
					     "cp367",		 "csascii",	   "646" };

	return label_is_one_of (label, names, G_N_ELEMENTS (names));
}

/* Pure ASCII under no label or a US-ASCII one is UTF-8 already: relabelling it, or giving it
 * MIME-Version and Content-Type, would change bytes (and break DKIM) for no reader's benefit.
 * Not when ASCII bytes mean something else (ISO-2022-JP escapes, detected: `rule`), when they
 * hold a NUL (which becomes U+FFFD), or when an HTML <meta> names another charset (a browser
 * reads the part by it: it is rewritten, and the part relabelled, as before). */
static gboolean
ascii_is_normal (const char *label, gboolean html, const TextPlan *plan,
		 const _MimeUtf8Decision *decision)
{
	if (decision->leave_alone ||
	    (decision->rule != MIMEUTF8_RULE_ASCII && decision->rule != MIMEUTF8_RULE_LABEL))
		return FALSE;
	if (label != NULL && !label_names_ascii (label))
		return FALSE;
	return _mimeutf8_ascii_prefix (plan->decoded, plan->decoded_len) == plan->decoded_len &&
	       memchr (plan->decoded, 0, plan->decoded_len) == NULL &&
	       !(html && meta_needs_rewrite (plan->decoded, plan->decoded_len));
}

/* Works out what a text part becomes.  Returns FALSE when the part stays as it is. */
static gboolean
plan_text_part (Walk *walk, GMimePart *part, MimeUtf8PartReport *record, TextPlan *plan)
{
	GMimeObject *object = GMIME_OBJECT (part);
	const char *label = part_label (walk, object);
	gboolean html = g_mime_content_type_is_type (g_mime_object_get_content_type (object),
						     "text", "html");
	_MimeUtf8Evidence evidence = {
		label, html, (const _MimeUtf8Charset *const *) walk->message_charsets->pdata,
		walk->message_charsets->len
	};
	_MimeUtf8Decision decision;
	_MimeUtf8Scan scan;
	MimeUtf8ConvertStats stats;

	plan->encoding_in = g_mime_part_get_content_encoding (part);
	record->encoding_in = encoding_name (plan->encoding_in);
	record->encoding_out = record->encoding_in;
	if (plan->encoding_in == GMIME_CONTENT_ENCODING_UUENCODE) {
		record->action = MIMEUTF8_ACTION_LEFT_ALONE;
		record->reason = "uuencoded";
		return FALSE;
	}
	decode_body (walk, part, plan);
	record->bytes_in = plan->decoded_len;
	record->bytes_out = plan->decoded_len;
	if (plan->leave_reason != NULL) {
		record->action = MIMEUTF8_ACTION_LEFT_ALONE;
		record->reason = plan->leave_reason;
		return FALSE;
	}

	if (label_is_utf8 (label)) {
		_mimeutf8_utf8_scan (plan->decoded, plan->decoded_len, &scan);
		if (scan.invalid == 0 && scan.nul == 0) {
			record->action = MIMEUTF8_ACTION_ALREADY_UTF8;
			record->charset = "utf-8";
			record->rule = MIMEUTF8_RULE_LABEL;
			/* under force_7bit an 8-bit body still needs a 7-bit transfer encoding */
			plan->encoding_out = choose_encoding (walk->options, plan->encoding_in,
							      plan->decoded, plan->decoded_len);
			if (!walk->options->force_7bit || plan->encoding_out == plan->encoding_in ||
			    scan.multibyte == 0)
				return FALSE;
			record->encoding_out = encoding_name (plan->encoding_out);
			return TRUE;
		}
	}

	_mimeutf8_decide (walk->options, plan->decoded, plan->decoded_len, &evidence, &decision);
	/* a US-ASCII label over 8-bit bytes is not what the bytes are: not exact */
	if (walk->options->policy == MIMEUTF8_POLICY_STRICT && label_names_ascii (label) &&
	    !decision.leave_alone && _mimeutf8_count_high (plan->decoded, plan->decoded_len) > 0) {
		decision.leave_alone = TRUE;
		decision.reason = "strict: bytes invalid in the declared charset";
	}
	record->rule = decision.rule;
	if (decision.detected[0] != '\0')
		record->detected = _mimeutf8_report_intern (walk->report, decision.detected);
	if (decision.leave_alone) {
		record->action = MIMEUTF8_ACTION_LEFT_ALONE;
		record->reason = decision.reason;
		record->charset = decision.charset ? decision.charset->name : NULL;
		return FALSE;
	}
	if (ascii_is_normal (label, html, plan, &decision)) {
		record->action = MIMEUTF8_ACTION_ALREADY_UTF8;
		record->charset = _mimeutf8_cs_utf8->name;
		record->rule = MIMEUTF8_RULE_ASCII;
		walk->text_seen = TRUE;
		plan->encoding_out = plan->encoding_in;
		plan->ascii_normal = TRUE;
		return TRUE;
	}
	record->charset = decision.charset->name;
	record->action = MIMEUTF8_ACTION_CONVERTED;
	plan->relabel = TRUE;
	if (!walk->text_seen) {
		walk->text_seen = TRUE;
		if (decision.charset != _mimeutf8_cs_utf8 && decision.rule != MIMEUTF8_RULE_ASCII)
			walk->eight_bit = decision.charset;
	}

	if (decision.rule == MIMEUTF8_RULE_ASCII &&
	    memchr (plan->decoded, 0, plan->decoded_len) == NULL) {
		/* nothing to convert: the label alone changes, and a stale <meta> */
		plan->encoding_out = plan->encoding_in;
		if (html && meta_needs_rewrite (plan->decoded, plan->decoded_len)) {
			plan->converted = g_byte_array_sized_new (plan->decoded_len + 8);
			g_byte_array_append (plan->converted, plan->decoded, plan->decoded_len);
			rewrite_meta (plan->converted);
			record->bytes_out = plan->converted->len;
		}
	} else {
		g_autoptr (MimeUtf8Translator) translator =
			_mimeutf8_translator_new_for (decision.charset);

		plan->converted =
			g_byte_array_sized_new (plan->decoded_len + plan->decoded_len / 4 + 16);
		_mimeutf8_decision_convert (&decision, translator, plan->decoded,
					    plan->decoded_len, plan->converted);
		mimeutf8_translator_end (translator, plan->converted);
		mimeutf8_translator_get_stats (translator, &stats);
		record->replacements = stats.replacements;
		record->first_replacement =
			stats.first_replacement >= 0
				? stats.first_replacement + (int64_t) decision.skip
				: -1;
		if (html)
			rewrite_meta (plan->converted);
		record->bytes_out = plan->converted->len;
		plan->encoding_out = choose_encoding (walk->options, plan->encoding_in,
						      plan->converted->data, plan->converted->len);
		if (plan->encoding_out == plan->encoding_in &&
		    plan->converted->len == plan->decoded_len &&
		    memcmp (plan->converted->data, plan->decoded, plan->decoded_len) == 0) {
			g_byte_array_unref (plan->converted);
			plan->converted = NULL;
		}
	}
	if (plan->converted == NULL && walk->options->force_7bit &&
	    _mimeutf8_count_high (plan->decoded, plan->decoded_len) > 0)
		plan->encoding_out = choose_encoding (walk->options, plan->encoding_in,
						      plan->decoded, plan->decoded_len);
	record->encoding_out = encoding_name (plan->encoding_out);
	return TRUE;
}

/* The body in its new transfer encoding, with the part's newline. */
static GByteArray *
encode_body (const TextPlan *plan, const guint8 *data, size_t len, const char *newline,
	     gboolean raw_ends_with_newline)
{
	GByteArray *out = g_byte_array_sized_new (len + len / 2 + 16);

	switch (plan->encoding_out) {
	case GMIME_CONTENT_ENCODING_BASE64:
		_mimeutf8_base64_encode (data, len, newline, out);
		if (!raw_ends_with_newline && out->len >= strlen (newline))
			g_byte_array_set_size (out, out->len - strlen (newline));
		break;
	case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
		_mimeutf8_qp_encode (data, len, newline, out);
		break;
	default:
		g_byte_array_append (out, data, len);
		break;
	}
	return out;
}

/* The part's Content-Type value, as written in the input, passes `check`; TRUE when the part
 * has no such header in the input, FALSE when it cannot be located there. */
static gboolean
content_type_value_passes (const Walk *walk, GMimeObject *object,
			   gboolean (*check) (const char *value, size_t len))
{
	GMimeHeader *header = g_mime_header_list_get_header (g_mime_object_get_header_list (object),
							     "Content-Type");
	size_t start, end;

	if (header == NULL || g_mime_header_get_offset (header) < 0)
		return TRUE;
	if (!_mimeutf8_raw_field_value (walk->raw, walk->raw_len,
					(size_t) g_mime_header_get_offset (header), "Content-Type",
					&start, &end))
		return FALSE;
	return check ((const char *) walk->raw + start, end - start);
}

/* Where a rewrite of header `name` happens: the header's offset, else the insertion point. */
static size_t
edit_point (Walk *walk, GMimeObject *object, GMimeObject *outer, size_t body_start,
	    const char *name)
{
	GMimeHeader *header =
		g_mime_header_list_get_header (g_mime_object_get_header_list (object), name);

	if (header != NULL && g_mime_header_get_offset (header) >= 0)
		return (size_t) g_mime_header_get_offset (header);
	return header_insert_point (walk, object, outer, body_start);
}

static void
apply_splice (Walk *walk, GMimePart *part, GMimeObject *outer, TextPlan *plan,
	      MimeUtf8PartReport *record)
{
	GMimeObject *object = GMIME_OBJECT (part);
	GMimeDataWrapper *content = g_mime_part_get_content (part);
	GMimeStream *stream = content ? g_mime_data_wrapper_get_stream (content) : NULL;
	size_t body_start, body_end, upto;
	const char *newline, *why;

	if (!source_bounds (walk, stream, &body_start, &body_end, &why)) {
		walk_fail (walk, "a text part's body is not where the parser says");
		return;
	}
	newline = newline_before (walk, body_start);
	if (plan->ascii_normal) {
		/* nothing to write; but "already UTF-8" holds only if other readers see the same
		 * header block and label (no garbage line GMime skips, no open quote) */
		upto = edit_point (walk, object, outer, body_start, "Content-Type");
		if (upto == (size_t) -1 ||
		    !header_block_is_clean (walk, object, outer, body_start, upto) ||
		    !content_type_value_passes (walk, object, _mimeutf8_raw_value_is_balanced)) {
			record->action = MIMEUTF8_ACTION_LEFT_ALONE;
			record->reason = "malformed header block";
		}
		return;
	}
	upto = 0;
	if (plan->relabel)
		upto = edit_point (walk, object, outer, body_start, "Content-Type");
	if (plan->encoding_out != plan->encoding_in)
		upto = MAX (upto, edit_point (walk, object, outer, body_start,
					      "Content-Transfer-Encoding"));
	/* the whole block, not only up to the edited line: a reader that ends the block at a line
	 * after it would take the rest of the block for the body, under the new label */
	if ((plan->relabel || plan->encoding_out != plan->encoding_in) &&
	    (upto == (size_t) -1 ||
	     !header_block_is_clean (walk, object, outer, body_start, body_start - 1) ||
	     !content_type_value_passes (walk, object, _mimeutf8_raw_value_is_balanced))) {
		record->action = MIMEUTF8_ACTION_LEFT_ALONE;
		record->reason = "malformed header block";
		record->encoding_out = record->encoding_in;
		record->bytes_out = record->bytes_in;
		return;
	}
	if (plan->relabel &&
	    !content_type_value_passes (walk, object, _mimeutf8_raw_value_is_rfc2045)) {
		record->action = MIMEUTF8_ACTION_LEFT_ALONE;
		record->reason = "malformed Content-Type";
		record->encoding_out = record->encoding_in;
		record->bytes_out = record->bytes_in;
		return;
	}
	if (plan->relabel &&
	    !content_type_value_passes (walk, object, _mimeutf8_raw_value_charset_is_unambiguous)) {
		record->action = MIMEUTF8_ACTION_LEFT_ALONE;
		record->reason = "ambiguous charset parameter";
		record->encoding_out = record->encoding_in;
		record->bytes_out = record->bytes_in;
		return;
	}

	/* MIME headers mean nothing without MIME-Version: a plain RFC 822 message that gets a
	 * Content-Type gets that too, just before it (an equal-place insertion keeps its order) */
	if (plan->relabel && outer != NULL && GMIME_IS_MESSAGE (outer) &&
	    g_mime_object_get_header (object, "Content-Type") == NULL &&
	    g_mime_object_get_header (outer, "MIME-Version") == NULL) {
		size_t at = header_insert_point (walk, object, outer, body_start);
		GByteArray *line = bytes_of ("MIME-Version: 1.0");

		g_byte_array_append (line, (const guint8 *) newline_before (walk, at),
				     strlen (newline_before (walk, at)));
		add_edit (walk, at, at, line);
	}
	if (plan->relabel &&
	    !splice_header (walk, object, outer, body_start, "Content-Type", rewrite_content_type,
			    record->path, "text/plain; charset=utf-8")) {
		walk_fail (walk, "a text part's Content-Type header cannot be located");
		return;
	}
	if (plan->encoding_out != plan->encoding_in) {
		if (!splice_header (walk, object, outer, body_start, "Content-Transfer-Encoding",
				    rewrite_encoding, record->path,
				    encoding_name (plan->encoding_out))) {
			walk_fail (walk, "a text part's header block cannot be located");
			return;
		}
	}
	if (plan->converted != NULL || plan->encoding_out != plan->encoding_in) {
		const guint8 *data = plan->converted ? plan->converted->data : plan->decoded;
		size_t len = plan->converted ? plan->converted->len : plan->decoded_len;
		gboolean ends_nl = body_end > body_start && walk->raw[body_end - 1] == '\n';

		add_edit (walk, body_start, body_end,
			  encode_body (plan, data, len, newline, ends_nl));
	}
}

/* ---- in place -------------------------------------------------------------------------------- */

/* TRUE when GMime, given `value` as the raw value of header `name`, would open no converter outside
 * the label table: setting a raw value makes GMime parse it again, and here no private copy can
 * stand in for it (iconv-guard.c). */
static gboolean
gmime_may_parse (const char *name, const char *value)
{
	g_autofree char *field = g_strconcat (name, ":", value, NULL);
	g_autoptr (GArray) spans = g_array_new (FALSE, FALSE, sizeof (_MimeUtf8Span));

	return !_mimeutf8_guard_scan ((const guint8 *) field, strlen (field), spans);
}

/* Sets a header's raw value from `value` (without its final newline) and the newline GMime held
 * after the old one.  FALSE, with nothing set, when GMime may not parse the new value. */
static gboolean
set_raw_value (GMimeHeader *header, GString *value, const char *old_raw)
{
	size_t len = strlen (old_raw);

	while (len > 0 && (old_raw[len - 1] == '\n' || old_raw[len - 1] == '\r'))
		len--;
	g_string_append (value, old_raw + len);
	if (!gmime_may_parse (g_mime_header_get_name (header), value->str))
		return FALSE;
	g_mime_header_set_raw_value (header, value->str);
	return TRUE;
}

/* Length of a raw value GMime holds, without its final newline. */
static size_t
raw_value_len (const char *raw)
{
	size_t len = strlen (raw);

	while (len > 0 && (raw[len - 1] == '\n' || raw[len - 1] == '\r'))
		len--;
	return len;
}

static void
rewrite_header_in_place (Walk *walk, GMimeHeader *header, const char *path)
{
	const char *raw = g_mime_header_get_raw_value (header);
	size_t n_headers = mimeutf8_report_get_n_headers (walk->report);
	GString *value = header_text (walk, path, g_mime_header_get_name (header), raw,
				      raw_value_len (raw), "\n");

	if (value == NULL)
		return;
	/* not rewritten after all: its record goes */
	if (!set_raw_value (header, value, raw))
		_mimeutf8_report_undo (walk->report, mimeutf8_report_get_n_parts (walk->report),
				       n_headers, NULL);
	g_string_free (value, TRUE);
}

/* A text part of a message an engine holds: its content and labels set through GMime.  The new
 * Content-Type is written as in splice mode (rewrite_content_type); a part whose new Content-Type
 * GMime may not parse is left alone. */
static void
apply_in_place (Walk *walk, GMimePart *part, TextPlan *plan, MimeUtf8PartReport *record)
{
	GMimeObject *object = GMIME_OBJECT (part);
	GMimeHeader *header = g_mime_header_list_get_header (g_mime_object_get_header_list (object),
							     "Content-Type");
	size_t n_headers = mimeutf8_report_get_n_headers (walk->report);

	if (plan->relabel && header != NULL) {
		const char *raw = g_mime_header_get_raw_value (header);
		GString *value;
		gboolean set;

		if (!_mimeutf8_raw_value_is_rfc2045 (raw, raw_value_len (raw))) {
			_mimeutf8_report_undo (walk->report,
					       mimeutf8_report_get_n_parts (walk->report) - 1,
					       n_headers, "malformed Content-Type");
			return;
		}
		if (!_mimeutf8_raw_value_charset_is_unambiguous (raw, raw_value_len (raw))) {
			_mimeutf8_report_undo (walk->report,
					       mimeutf8_report_get_n_parts (walk->report) - 1,
					       n_headers, "ambiguous charset parameter");
			return;
		}
		value = rewrite_content_type (walk, record->path, raw, raw_value_len (raw), "\n",
					      NULL);
		set = set_raw_value (header, value, raw);

		g_string_free (value, TRUE);
		if (!set) {
			_mimeutf8_report_undo (walk->report,
					       mimeutf8_report_get_n_parts (walk->report) - 1,
					       n_headers, "a charset name outside the label table");
			return;
		}
	} else if (plan->relabel) {
		g_mime_object_set_header (object, "Content-Type", "text/plain; charset=utf-8",
					  NULL);
	}
	if (plan->converted != NULL) {
		GMimeStream *stream = g_mime_stream_mem_new_with_byte_array (plan->converted);
		GMimeDataWrapper *content = g_mime_data_wrapper_new_with_stream (
			stream, GMIME_CONTENT_ENCODING_DEFAULT);

		plan->converted = NULL; /* the stream owns it now */
		g_mime_part_set_content (part, content);
		g_object_unref (content);
		g_object_unref (stream);
	}
	if (plan->encoding_out != plan->encoding_in)
		g_mime_part_set_content_encoding (part, plan->encoding_out);
}

/* ---- output ---------------------------------------------------------------------------------- */

/* Where the result goes: a byte array, a GMimeStream, or a file descriptor (fd >= 0). */
typedef struct {
	GByteArray *array;
	GMimeStream *stream;
	int fd;
	gboolean failed;
	int saved_errno;
} Sink;

static gboolean write_all (int fd, const guint8 *data, size_t len);

static void
sink_write (Sink *sink, const guint8 *data, size_t len)
{
	if (len == 0 || sink->failed)
		return;
	if (sink->array != NULL) {
		g_byte_array_append (sink->array, data, len);
	} else if (sink->fd >= 0) {
		if (!write_all (sink->fd, data, len)) {
			sink->failed = TRUE;
			sink->saved_errno = errno;
		}
	} else if (g_mime_stream_write (sink->stream, (const char *) data, len) != (ssize_t) len) {
		sink->failed = TRUE;
		sink->saved_errno = errno ? errno : EIO;
	}
}

/* Copies raw bytes [start, end) to the sink, releasing mapped pages as it goes. */
static void
sink_copy (const Walk *walk, Sink *sink, size_t start, size_t end)
{
	const size_t chunk = 4 * 1024 * 1024;

	while (start < end) {
		size_t n = MIN (chunk, end - start);

		sink_write (sink, walk->raw + start, n);
		release_pages (walk, start, start + n);
		start += n;
	}
}

/* ---- the walk -------------------------------------------------------------------------------- */

/* TRUE when the part has two `name` headers with different values. */
static gboolean
conflicting_headers (GMimeObject *object, const char *name)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list (object);
	const char *first = NULL;
	int i;

	for (i = 0; i < g_mime_header_list_get_count (headers); i++) {
		GMimeHeader *header = g_mime_header_list_get_header_at (headers, i);

		if (g_ascii_strcasecmp (g_mime_header_get_name (header), name) != 0)
			continue;
		if (first == NULL)
			first = g_mime_header_get_raw_value (header);
		else if (strcmp (first, g_mime_header_get_raw_value (header)) != 0)
			return TRUE;
	}
	return FALSE;
}

static char *
lower_type (GMimeObject *object)
{
	GMimeContentType *type = g_mime_object_get_content_type (object);
	g_autofree char *mime_type = NULL;

	if (type == NULL)
		return g_strdup ("text/plain");
	/* GMime gives a new string (transfer full) */
	mime_type = g_mime_content_type_get_mime_type (type);
	return g_ascii_strdown (mime_type, -1);
}

static void walk_object (Walk *walk, GMimeObject *object, GMimeObject *outer, const char *path,
			 gboolean sealed);
static void walk_init (Walk *walk, const MimeUtf8Options *options, MimeUtf8Report *report,
		       int depth);
static void walk_raw (Walk *walk, const guint8 *raw, size_t len, int fd, const char *prefix);
static size_t splice_out (const Walk *walk, Sink *sink);
static void walk_clear (Walk *walk);

/* A message/rfc822 part sent base64 or quoted-printable (which RFC 2046 forbids) is not parsed by
 * GMime.  Its decoded bytes are normalized as a message of their own; when that changes anything,
 * the part is written back decoded, as RFC 2046 wants it. */
static void
walk_encoded_message (Walk *walk, GMimePart *part, GMimeObject *outer, const char *path,
		      MimeUtf8PartReport *record)
{
	TextPlan plan = { 0 };
	Walk inner;
	size_t first_part = mimeutf8_report_get_n_parts (walk->report);
	size_t first_header = mimeutf8_report_get_n_headers (walk->report);

	plan.encoding_in = g_mime_part_get_content_encoding (part);
	record->encoding_in = encoding_name (plan.encoding_in);
	record->encoding_out = record->encoding_in;
	if (walk->raw == NULL || walk->depth >= MAX_ENCODED_DEPTH)
		return;
	decode_body (walk, part, &plan);
	if (plan.leave_reason != NULL) {
		record->action = MIMEUTF8_ACTION_LEFT_ALONE;
		record->reason = plan.leave_reason;
		if (plan.decoded_copy != NULL)
			g_byte_array_unref (plan.decoded_copy);
		return;
	}
	walk_init (&inner, walk->options, walk->report, walk->depth + 1);
	inner.level = walk->level + 1;
	inner.parts = walk->parts;
	inner.deadline = walk->deadline;
	walk_raw (&inner, plan.decoded, plan.decoded_len, -1, path);
	walk->parts = inner.parts;
	if (inner.failure != NULL) {
		record->action = MIMEUTF8_ACTION_LEFT_ALONE;
		record->reason = _mimeutf8_report_intern (walk->report, inner.failure);
	} else if (inner.edits->len > 0) {
		GByteArray *out = g_byte_array_sized_new (plan.decoded_len + plan.decoded_len / 8);
		Sink sink = { out, NULL, -1, FALSE, 0 };

		splice_out (&inner, &sink);
		plan.converted = out;
		plan.encoding_out = _mimeutf8_count_high (out->data, out->len) > 0
					    ? GMIME_CONTENT_ENCODING_8BIT
					    : GMIME_CONTENT_ENCODING_7BIT;
		record->encoding_out = encoding_name (plan.encoding_out);
		record->bytes_in = plan.decoded_len;
		record->bytes_out = out->len;
		apply_splice (walk, part, outer, &plan, record);
		/* the inner message's rewrites did not happen after all: its records say so */
		if (record->action == MIMEUTF8_ACTION_LEFT_ALONE)
			_mimeutf8_report_undo (walk->report, first_part, first_header,
					       "inside a part left alone");
	}
	walk_clear (&inner);
	if (plan.converted != NULL)
		g_byte_array_unref (plan.converted);
	if (plan.decoded_copy != NULL)
		g_byte_array_unref (plan.decoded_copy);
}

static void
walk_message (Walk *walk, GMimeMessage *message, const char *prefix, gboolean sealed)
{
	GMimeObject *body = g_mime_message_get_mime_part (message);
	g_autofree char *path = NULL;
	GPtrArray *outer_jobs = walk->header_jobs;
	const _MimeUtf8Charset *outer_eight_bit = walk->eight_bit;
	gboolean outer_text_seen = walk->text_seen;
	guint i;

	walk->header_jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) header_job_free);
	walk->eight_bit = NULL;
	walk->text_seen = FALSE;
	if (body != NULL) {
		if (GMIME_IS_MULTIPART (body))
			path = prefix[0] ? g_strdup_printf ("%s.0", prefix) : g_strdup ("0");
		else
			path = prefix[0] ? g_strdup_printf ("%s.1", prefix) : g_strdup ("1");
		walk_object (walk, body, GMIME_OBJECT (message), path, sealed);
	}
	/* the message's own headers, then its parts', now that the first text part is decided */
	if (!sealed && walk->failure == NULL) {
		rewrite_headers (walk, GMIME_OBJECT (message), NULL, prefix);
		for (i = 0; i < walk->header_jobs->len && walk->failure == NULL; i++) {
			HeaderJob *job = g_ptr_array_index (walk->header_jobs, i);

			rewrite_headers (walk, job->object, job->outer, job->path);
		}
	}
	g_ptr_array_unref (walk->header_jobs);
	walk->header_jobs = outer_jobs;
	walk->eight_bit = outer_eight_bit;
	walk->text_seen = outer_text_seen;
}

static void
walk_object (Walk *walk, GMimeObject *object, GMimeObject *outer, const char *path, gboolean sealed)
{
	g_autofree char *type = lower_type (object);
	MimeUtf8PartReport *record;
	TextPlan plan = { 0 };
	const _MimeUtf8Charset *charset;
	gboolean change;

	if (walk->failure != NULL)
		return;
	if (++walk->parts > _mimeutf8_limit_parts (walk->options)) {
		walk_fail (walk, "limit: number of parts");
		return;
	}
	if (walk->level > _mimeutf8_limit_depth (walk->options)) {
		walk_fail (walk, "limit: nesting depth");
		return;
	}
	if (g_get_monotonic_time () > walk->deadline) {
		walk_fail (walk, "limit: time");
		return;
	}
	if (g_cancellable_is_cancelled (walk->options->cancellable)) {
		walk_fail (walk, "cancelled");
		return;
	}
	if (!sealed &&
	    !(!walk->options->convert_signed &&
	      (GMIME_IS_MULTIPART_SIGNED (object) || GMIME_IS_MULTIPART_ENCRYPTED (object) ||
	       GMIME_IS_APPLICATION_PKCS7_MIME (object)))) {
		HeaderJob *job = g_new0 (HeaderJob, 1);

		job->object = object;
		job->outer = outer;
		job->path = g_strdup (path);
		g_ptr_array_add (walk->header_jobs, job);
	}
	record = _mimeutf8_report_add_part (walk->report, path, type,
					    GMIME_IS_PART (object) ? part_label (walk, object)
								   : NULL);
	record->action = MIMEUTF8_ACTION_NOT_TEXT;
	if (conflicting_headers (object, "Content-Type")) {
		/* readers would not agree on what this part is (a multipart to one, an attachment
		 * to another): leave the message as it is */
		walk_fail (walk, "a part has conflicting Content-Type headers");
		return;
	}

	if (!walk->options->convert_signed &&
	    (GMIME_IS_MULTIPART_SIGNED (object) || GMIME_IS_MULTIPART_ENCRYPTED (object) ||
	     GMIME_IS_APPLICATION_PKCS7_MIME (object)))
		sealed = TRUE;

	if (GMIME_IS_MULTIPART (object)) {
		GMimeMultipart *multipart = GMIME_MULTIPART (object);
		/* the children of the message's top multipart are "1", "2"...; of others "P.1" */
		gboolean top = strcmp (path, "0") == 0 || g_str_has_suffix (path, ".0");
		g_autofree char *base =
			top ? g_strndup (path, strlen (path) - (path[1] ? 2 : 1)) : g_strdup (path);
		const char *boundary = g_mime_multipart_get_boundary (multipart);
		int i;

		g_ptr_array_add (walk->boundaries, (gpointer) (boundary ? boundary : ""));
		for (i = 0; i < g_mime_multipart_get_count (multipart) && walk->failure == NULL;
		     i++) {
			g_autofree char *child = base[0] ? g_strdup_printf ("%s.%d", base, i + 1)
							 : g_strdup_printf ("%d", i + 1);

			walk->level++;
			walk_object (walk, g_mime_multipart_get_part (multipart, i), NULL, child,
				     sealed);
			walk->level--;
		}
		g_ptr_array_set_size (walk->boundaries, walk->boundaries->len - 1);
		return;
	}
	if (GMIME_IS_MESSAGE_PART (object)) {
		GMimeMessage *inner = g_mime_message_part_get_message (GMIME_MESSAGE_PART (object));

		if (inner != NULL) {
			walk->level++;
			walk->embedded++;
			walk_message (walk, inner, path, sealed);
			walk->embedded--;
			walk->level--;
		}
		return;
	}
	if (GMIME_IS_PART (object) &&
	    g_mime_content_type_is_type (g_mime_object_get_content_type (object), "message",
					 "rfc822")) {
		walk_encoded_message (walk, GMIME_PART (object), outer, path, record);
		return;
	}
	if (!GMIME_IS_PART (object) ||
	    !g_mime_content_type_is_type (g_mime_object_get_content_type (object), "text", "*"))
		return;
	if (sealed) {
		record->action = MIMEUTF8_ACTION_LEFT_ALONE;
		record->reason = "signed";
		return;
	}
	change = plan_text_part (walk, GMIME_PART (object), record, &plan);
	if (change && (walk->embedded > 0 || walk->depth > 0) &&
	    record->action == MIMEUTF8_ACTION_CONVERTED && record->rule == MIMEUTF8_RULE_ASCII &&
	    plan.converted == NULL && !plan.reencode && plan.encoding_out == plan.encoding_in) {
		/* ASCII in an embedded message: a new label would change nothing a reader sees, and
		 * would make an attached message (message/news, message/rfc822) differ from the one
		 * sent, headers inserted into it */
		record->action = MIMEUTF8_ACTION_ALREADY_UTF8;
		change = FALSE;
	}
	charset = change && plan.trailer && record->action == MIMEUTF8_ACTION_CONVERTED
			  ? _mimeutf8_charset_lookup (record->charset, strlen (record->charset))
			  : NULL;
	if (charset != NULL &&
	    (charset->flags & (_MIMEUTF8_CS_NOT_ASCII | _MIMEUTF8_CS_STATEFUL_7BIT))) {
		/* the plain text after the base64 is ASCII, which UTF-16 or UTF-7 would misread */
		record->action = MIMEUTF8_ACTION_LEFT_ALONE;
		record->reason = "plain text after base64 in a charset that is not ASCII";
		record->encoding_out = record->encoding_in;
		record->bytes_out = record->bytes_in;
		change = FALSE;
	}
	if (change && plan.reencode && plan.converted == NULL) {
		/* base64 that a strict reader would not read is written anew, even when its text
		 * stays the same */
		plan.converted = g_byte_array_sized_new ((guint) plan.decoded_len);
		g_byte_array_append (plan.converted, plan.decoded, (guint) plan.decoded_len);
	}
	if (change) {
		if (walk->raw != NULL)
			apply_splice (walk, GMIME_PART (object), outer, &plan, record);
		else
			apply_in_place (walk, GMIME_PART (object), &plan, record);
	}
	if (plan.converted != NULL)
		g_byte_array_unref (plan.converted);
	if (plan.decoded_copy != NULL)
		g_byte_array_unref (plan.decoded_copy);
}

/* Charset labels the message states (part labels and encoded-words in its headers), as evidence
 * for parts that state none.  US-ASCII labels say nothing about 8-bit bytes and are skipped. */
static void
add_message_charset (Walk *walk, const char *label, size_t len)
{
	const _MimeUtf8Charset *charset;
	char buffer[32];

	if (len == 0 || len >= sizeof buffer)
		return;
	memcpy (buffer, label, len);
	buffer[len] = '\0';
	g_strstrip (buffer);
	if (g_ascii_strcasecmp (buffer, "us-ascii") == 0 ||
	    g_ascii_strcasecmp (buffer, "ascii") == 0)
		return;
	charset = _mimeutf8_charset_lookup (buffer, strlen (buffer));
	if (charset != NULL && charset != _mimeutf8_cs_utf8 &&
	    !g_ptr_array_find (walk->message_charsets, charset, NULL))
		g_ptr_array_add (walk->message_charsets, (gpointer) charset);
}

static void
collect_header_charsets (Walk *walk, GMimeObject *object)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list (object);
	int i;

	for (i = 0; i < g_mime_header_list_get_count (headers); i++) {
		const char *value =
			g_mime_header_get_raw_value (g_mime_header_list_get_header_at (headers, i));
		const char *p = value;

		while (p != NULL && (p = strstr (p, "=?")) != NULL) {
			const char *end = strchr (p + 2, '?');

			if (end == NULL)
				break;
			add_message_charset (walk, p + 2, end - p - 2);
			p = end;
		}
	}
}

static void
collect_charsets (GMimeObject *parent, GMimeObject *part, gpointer data)
{
	Walk *walk = data;
	const char *label;

	if (GMIME_IS_PART (part) && (label = part_label (walk, part)) != NULL)
		add_message_charset (walk, label, strlen (label));
}

static void
walk_init (Walk *walk, const MimeUtf8Options *options, MimeUtf8Report *report, int depth)
{
	memset (walk, 0, sizeof *walk);
	walk->options = options;
	walk->report = report;
	walk->depth = depth;
	walk->edits = g_array_new (FALSE, FALSE, sizeof (Edit));
	walk->message_charsets = g_ptr_array_new ();
	walk->headers_done = g_hash_table_new (NULL, NULL);
	walk->boundaries = g_ptr_array_new ();
	walk->newline = "\n";
	walk->fd = -1;
	walk->deadline =
		g_get_monotonic_time () + (gint64) _mimeutf8_limit_timeout_ms (options) * 1000;
}

static void
walk_collect_charsets (Walk *walk, GMimeMessage *message)
{
	collect_header_charsets (walk, GMIME_OBJECT (message));
	g_mime_message_foreach (message, collect_charsets, walk);
}

static void
walk_clear (Walk *walk)
{
	guint i;

	for (i = 0; i < walk->edits->len; i++)
		g_byte_array_unref (g_array_index (walk->edits, Edit, i).bytes);
	g_array_unref (walk->edits);
	g_ptr_array_unref (walk->message_charsets);
	g_hash_table_unref (walk->headers_done);
	g_ptr_array_unref (walk->boundaries);
	g_free (walk->failure);
}

static int
compare_edits (gconstpointer a, gconstpointer b)
{
	const Edit *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* an insertion before a replacement at the same place */
	return (x->end - x->start > 0) - (y->end - y->start > 0);
}

/* ---- entry points ---------------------------------------------------------------------------- */

static MimeUtf8Status
finish (MimeUtf8Report *report, MimeUtf8Report **report_out, MimeUtf8Status status)
{
	if (report_out != NULL)
		*report_out = report;
	else
		mimeutf8_report_free (report);
	return status;
}

/* A cancelled call: FAILED, G_IO_ERROR_CANCELLED, nothing written. */
static MimeUtf8Status
cancelled (MimeUtf8Report *report, MimeUtf8Report **report_out, const MimeUtf8Options *options,
	   GError **error)
{
	g_cancellable_set_error_if_cancelled (options->cancellable, error);
	_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_FAILED, "cancelled");
	return finish (report, report_out, MIMEUTF8_STATUS_FAILED);
}

static MimeUtf8Status
passthrough (MimeUtf8Report *report, MimeUtf8Report **report_out, const Walk *walk, Sink *sink,
	     int code, const char *why, GError **error)
{
	sink_copy (walk, sink, 0, walk->raw_len);
	_mimeutf8_report_set_bytes (report, walk->raw_len, walk->raw_len);
	if (sink->failed) {
		_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_FAILED, "write failed");
		g_set_error (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO, "write failed: %s",
			     g_strerror (sink->saved_errno));
		return finish (report, report_out, MIMEUTF8_STATUS_FAILED);
	}
	_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_PASSTHROUGH, why);
	g_set_error (error, MIMEUTF8_ERROR, code, "%s", why);
	return finish (report, report_out, MIMEUTF8_STATUS_PASSTHROUGH);
}

/* Parses the message in `raw` (borrowed, never copied) and walks it, filling `walk->edits`; the
 * report's paths start with `prefix`.  With `fd` >= 0, `raw` is that file mapped, and GMime reads
 * the file instead.  On return nothing points into `raw` any more. */
static void
walk_raw (Walk *walk, const guint8 *raw, size_t len, int fd, const char *prefix)
{
	g_autoptr (GMimeParser) parser = NULL;
	g_autoptr (GMimeMessage) message = NULL;
	g_autoptr (GMimeStream) stream = NULL;
	GMimeParserOptions *parser_options;
	GByteArray *array = NULL;
	g_autoptr (GByteArray) copy = NULL;
	g_autoptr (GArray) spans = g_array_new (FALSE, FALSE, sizeof (_MimeUtf8Span));
	const guint8 *nl;
	const char *why;
	guint i;

	if (raw == NULL)
		raw = (const guint8 *) ""; /* an empty message may come as NULL */
	walk->raw = raw;
	walk->raw_len = len;
	walk->fd = fd;
	walk->mapped = fd >= 0;
	if (!_mimeutf8_prescan (walk->options, raw, len, walk->mapped, &why)) {
		walk_fail (walk, why);
		return;
	}
	if (!_mimeutf8_raw_top_block_is_clean (raw, len)) {
		walk_fail (walk, "malformed header block: a multipart whose header block other "
				 "readers end early");
		return;
	}
	walk->parsed = raw;
	if (_mimeutf8_guard_scan (raw, len, spans)) {
		/* GMime parses a copy where the names it must not open are unusable: from memory,
		 * even for a large message */
		if (len > G_MAXUINT) {
			walk_fail (walk,
				   "limit: message size (GMime reads at most 4 GiB from memory)");
			return;
		}
		copy = g_byte_array_sized_new ((guint) len);
		g_byte_array_append (copy, raw, (guint) len);
		_mimeutf8_guard_neutralize (copy->data, spans);
		walk->parsed = copy->data;
		fd = -1;
		walk->fd = -1;
	}
	release_pages (walk, 0, len);
	if (copy != NULL) {
		array = g_byte_array_ref (copy);
		stream = g_mime_stream_mem_new_with_byte_array (array);
		g_mime_stream_mem_set_owner ((GMimeStreamMem *) stream, FALSE);
	} else if (fd >= 0) {
		if (lseek (fd, 0, SEEK_SET) != 0) {
			walk_fail (walk, "the message's file cannot be read from its start");
			return;
		}
		stream = g_mime_stream_fs_new (fd);
		g_mime_stream_fs_set_owner ((GMimeStreamFs *) stream, FALSE);
	} else {
		if (len > G_MAXUINT) {
			walk_fail (walk,
				   "limit: message size (GMime reads at most 4 GiB from memory)");
			return;
		}
		/* GMime reads the bytes in place: the array borrows them and gives them back below */
		array = len > 0 ? g_byte_array_new_take ((guint8 *) raw, len) : g_byte_array_new ();
		stream = g_mime_stream_mem_new_with_byte_array (array);
		g_mime_stream_mem_set_owner ((GMimeStreamMem *) stream, FALSE);
	}
	parser = g_mime_parser_new_with_stream (stream);
	g_mime_parser_set_persist_stream (parser, TRUE);
	g_mime_parser_set_format (parser, GMIME_FORMAT_MESSAGE);
	parser_options = g_mime_parser_options_new ();
	g_mime_parser_options_set_rfc2047_compliance_mode (parser_options,
							   GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode (parser_options,
							     GMIME_RFC_COMPLIANCE_LOOSE);
	message = g_mime_parser_construct_message (parser, parser_options);
	g_mime_parser_options_free (parser_options);

	walk->raw_array = array;
	nl = memchr (raw, '\n', MIN (len, 64 * 1024));
	if (nl != NULL && nl > raw && nl[-1] == '\r')
		walk->newline = "\r\n";
	if (message == NULL) {
		walk_fail (walk, "does not parse as a message");
	} else {
		walk_collect_charsets (walk, message);
		walk_message (walk, message, prefix, FALSE);
	}
	g_array_sort (walk->edits, compare_edits);
	for (i = 1; i < walk->edits->len; i++)
		if (g_array_index (walk->edits, Edit, i).start <
		    g_array_index (walk->edits, Edit, i - 1).end)
			walk_fail (walk, "internal: overlapping rewrites");

	/* the message and its parts point into `raw`: drop them before giving the bytes back */
	g_clear_object (&message);
	g_clear_object (&parser);
	g_clear_object (&stream);
	if (array != NULL && array != copy) {
		g_byte_array_steal (array, NULL);
		g_byte_array_unref (array);
	} else if (array != NULL) {
		g_byte_array_unref (array);
	}
	walk->raw_array = NULL;
	walk->parsed = NULL;
}

/* Writes the walked message: its bytes with the edits applied.  Returns the length written. */
static size_t
splice_out (const Walk *walk, Sink *sink)
{
	size_t pos = 0, written = 0;
	guint i;

	for (i = 0; i < walk->edits->len; i++) {
		const Edit *edit = &g_array_index (walk->edits, Edit, i);

		sink_copy (walk, sink, pos, edit->start);
		sink_write (sink, edit->bytes->data, edit->bytes->len);
		written += edit->start - pos + edit->bytes->len;
		pos = edit->end;
	}
	sink_copy (walk, sink, pos, walk->raw_len);
	return written + walk->raw_len - pos;
}

/* ---- DKIM ------------------------------------------------------------------------------------ */

/* What one DKIM-Signature covers (RFC 6376): the header fields named in its h= tag (each instance
 * of them, and their absence: a field added under a listed name breaks it too), and the body, or
 * its first l= octets. */
typedef struct {
	char **signed_fields; /* lower case; NULL when the tag is missing or unreadable: all of them */
	gint64 body_length; /* -1 without l= */
} DkimSignature;

/* The value of tag `tag` in a DKIM tag list, blanks and folds removed, or NULL. */
static char *
dkim_tag (const char *list, size_t len, const char *tag)
{
	g_auto (GStrv) tags = NULL;
	g_autofree char *copy = g_strndup (list, len);
	guint i;

	tags = g_strsplit (copy, ";", -1);
	for (i = 0; tags[i] != NULL; i++) {
		GString *value = g_string_new (NULL);
		const char *p = tags[i], *eq = strchr (p, '=');
		g_autofree char *name = NULL;

		if (eq == NULL) {
			g_string_free (value, TRUE);
			continue;
		}
		name = g_strstrip (g_strndup (p, (size_t) (eq - p)));
		for (p = eq + 1; *p; p++)
			if (!g_ascii_isspace (*p))
				g_string_append_c (value, *p);
		if (g_ascii_strcasecmp (name, tag) == 0)
			return g_string_free (value, FALSE);
		g_string_free (value, TRUE);
	}
	return NULL;
}

static void
dkim_signature_read (const char *value, size_t len, DkimSignature *signature_out)
{
	g_autofree char *h = dkim_tag (value, len, "h");
	g_autofree char *l = dkim_tag (value, len, "l");
	char *end = NULL;
	guint i;

	signature_out->signed_fields = NULL;
	if (h != NULL && *h != '\0') {
		signature_out->signed_fields = g_strsplit (h, ":", -1);
		for (i = 0; signature_out->signed_fields[i] != NULL; i++) {
			char *lower = g_ascii_strdown (signature_out->signed_fields[i], -1);

			g_free (signature_out->signed_fields[i]);
			signature_out->signed_fields[i] = lower;
		}
	}
	signature_out->body_length = -1;
	if (l != NULL) {
		guint64 n = g_ascii_strtoull (l, &end, 10);

		if (end != l && *end == '\0' && n <= G_MAXINT64)
			signature_out->body_length = (gint64) n;
	}
}

/* TRUE when a change to header field `name` breaks the signature. */
static gboolean
dkim_signs_field (const DkimSignature *signature, const char *name, size_t len)
{
	guint i;

	if (signature->signed_fields == NULL)
		return TRUE;
	for (i = 0; signature->signed_fields[i] != NULL; i++)
		if (strlen (signature->signed_fields[i]) == len &&
		    g_ascii_strncasecmp (signature->signed_fields[i], name, len) == 0)
			return TRUE;
	return FALSE;
}

/* The name of the header field an edit of the top header block changes: the field it starts in,
 * or, for an insertion, the field it inserts. */
static void
edited_field (const Walk *walk, const Edit *edit, const char **name_out, size_t *len_out)
{
	const guint8 *p, *colon;
	size_t line;

	if (edit->start == edit->end) {
		p = edit->bytes->data;
		colon = memchr (p, ':', edit->bytes->len);
		*name_out = (const char *) p;
		*len_out = colon ? (size_t) (colon - p) : 0;
		return;
	}
	line = edit->start;
	for (;;) {
		while (line > 0 && walk->raw[line - 1] != '\n')
			line--;
		if (line == 0 || (walk->raw[line] != ' ' && walk->raw[line] != '\t'))
			break;
		line--;
	}
	p = walk->raw + line;
	colon = memchr (p, ':', edit->start - line);
	*name_out = (const char *) p;
	*len_out = colon ? (size_t) (colon - p) : 0;
	while (*len_out > 0 && (p[*len_out - 1] == ' ' || p[*len_out - 1] == '\t'))
		(*len_out)--;
}

/* TRUE when an edit at body offset `offset` (bytes after the header block) may fall inside the
 * first `length` octets of the canonical body.  Canonicalization only adds CRs and removes
 * blanks, so the edit is outside for sure only when the offset, less every blank before it,
 * is still at or past `length`. */
static gboolean
dkim_body_edit_counts (const Walk *walk, size_t body, size_t offset, gint64 length)
{
	size_t blanks = 0, i;

	if (length < 0)
		return TRUE;
	for (i = body; i < body + offset; i++)
		if (walk->raw[i] == ' ' || walk->raw[i] == '\t' || walk->raw[i] == '\r')
			blanks++;
	return (gint64) (offset - blanks) < length;
}

/* TRUE when the message's own header block has a DKIM-Signature that the edits break: they
 * change a header field its h= tag lists, or the body it hashes (all of it, or its first l=
 * octets). */
static gboolean
dkim_invalidated (const Walk *walk)
{
	const guint8 *p = walk->raw, *end = walk->raw + walk->raw_len;
	GArray *signatures = g_array_new (FALSE, FALSE, sizeof (DkimSignature));
	size_t body = walk->raw_len;
	gboolean broken = FALSE;
	guint s, e;

	while (p < end) {
		const guint8 *nl = memchr (p, '\n', end - p);
		const guint8 *line_end = nl ? nl + 1 : end;

		if (*p == '\n' || (*p == '\r' && line_end - p == 2)) {
			body = (size_t) (line_end - walk->raw);
			break;
		}
		if (line_end - p > 15 &&
		    g_ascii_strncasecmp ((const char *) p, "DKIM-Signature:", 15) == 0) {
			size_t field = (size_t) (p - walk->raw);
			size_t stop = _mimeutf8_raw_field_end (walk->raw, walk->raw_len, field);
			DkimSignature signature;

			dkim_signature_read ((const char *) p + 15, stop - field - 15, &signature);
			g_array_append_val (signatures, signature);
		}
		p = line_end;
	}
	for (s = 0; s < signatures->len && !broken; s++) {
		const DkimSignature *signature = &g_array_index (signatures, DkimSignature, s);

		for (e = 0; e < walk->edits->len && !broken; e++) {
			const Edit *edit = &g_array_index (walk->edits, Edit, e);
			const char *name;
			size_t len;

			/* an insertion into the header block is at its blank line, before `body` */
			if (edit->start < body) {
				edited_field (walk, edit, &name, &len);
				broken = dkim_signs_field (signature, name, len);
			} else {
				broken = dkim_body_edit_counts (walk, body, edit->start - body,
								signature->body_length);
			}
		}
	}
	for (s = 0; s < signatures->len; s++)
		g_strfreev (g_array_index (signatures, DkimSignature, s).signed_fields);
	g_array_unref (signatures);
	return broken;
}

/* Normalizes the message in `raw` (the file `fd` mapped, when fd >= 0), splicing the result into
 * `sink`. */
static MimeUtf8Status
normalize_raw (const MimeUtf8Options *options, const guint8 *raw, size_t len, int fd, Sink *sink,
	       MimeUtf8Report **report_out, GError **error)
{
	MimeUtf8Report *report = _mimeutf8_report_new ();
	MimeUtf8Options defaults;
	Walk walk;
	size_t out_len;

	mimeutf8_init ();
	options = _mimeutf8_options_check (options, &defaults, error);
	if (options == NULL) {
		_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_FAILED, "invalid options");
		return finish (report, report_out, MIMEUTF8_STATUS_FAILED);
	}
	if (g_cancellable_is_cancelled (options->cancellable))
		return cancelled (report, report_out, options, error);
	walk_init (&walk, options, report, 0);
	walk_raw (&walk, raw, len, fd, "");
	if (g_cancellable_is_cancelled (options->cancellable)) {
		walk_clear (&walk);
		return cancelled (report, report_out, options, error);
	}
	if (walk.failure != NULL) {
		g_autofree char *why = g_steal_pointer (&walk.failure);
		int code = g_str_has_prefix (why, "limit:") ? MIMEUTF8_ERROR_LIMIT
							    : MIMEUTF8_ERROR_PARSE;
		MimeUtf8Status status =
			passthrough (report, report_out, &walk, sink, code, why, error);

		walk_clear (&walk);
		return status;
	}
	if (walk.edits->len > 0 && dkim_invalidated (&walk))
		_mimeutf8_report_set_dkim_invalidated (report, TRUE);
	out_len = splice_out (&walk, sink);
	_mimeutf8_report_set_bytes (report, len, out_len);
	_mimeutf8_report_set_status (
		report,
		walk.edits->len > 0 ? MIMEUTF8_STATUS_NORMALIZED : MIMEUTF8_STATUS_UNCHANGED, NULL);
	walk_clear (&walk);
	if (sink->failed) {
		_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_FAILED, "write failed");
		g_set_error (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO, "write failed: %s",
			     g_strerror (sink->saved_errno));
		return finish (report, report_out, MIMEUTF8_STATUS_FAILED);
	}
	return finish (report, report_out, mimeutf8_report_get_status (report));
}

MimeUtf8Status
mimeutf8_normalize_buffer (const MimeUtf8Options *options, const void *data, size_t len,
			   GByteArray *out, MimeUtf8Report **report_out, GError **error)
{
	Sink sink = { out, NULL, -1, FALSE, 0 };

	return normalize_raw (options, data, len, -1, &sink, report_out, error);
}

/* Reads `fd` to its end, appending to `array`, but stops past `limit` bytes.  FALSE with errno
 * set on a read error. */
static gboolean
read_upto (int fd, GByteArray *array, size_t limit)
{
	while (array->len <= limit) {
		guint old = array->len;
		ssize_t n;

		g_byte_array_set_size (array, old + READ_CHUNK);
		do
			n = read (fd, array->data + old, READ_CHUNK);
		while (n < 0 && errno == EINTR);
		g_byte_array_set_size (array, old + (n > 0 ? (guint) n : 0));
		if (n == 0)
			return TRUE;
		if (n < 0)
			return FALSE;
	}
	return TRUE;
}

static gboolean
write_all (int fd, const guint8 *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write (fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		data += n;
		len -= (size_t) n;
	}
	return TRUE;
}

static MimeUtf8Status
io_failure (MimeUtf8Report **report_out, const char *what, int saved_errno, GError **error)
{
	MimeUtf8Report *report = _mimeutf8_report_new ();
	g_autofree char *why = g_strdup_printf ("%s: %s", what, g_strerror (saved_errno));

	g_set_error (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO, "%s", why);
	_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_FAILED, why);
	return finish (report, report_out, MIMEUTF8_STATUS_FAILED);
}

/* A large message from a file: mapped, parsed through the file, written out as it goes. */
static MimeUtf8Status
normalize_file (const MimeUtf8Options *options, int fd, size_t size, Sink *sink,
		MimeUtf8Report **report_out, GError **error)
{
	void *map = mmap (NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	MimeUtf8Status status;

	if (map == MAP_FAILED)
		return io_failure (report_out, "mapping the message", errno, error);
	status = normalize_raw (options, map, size, fd, sink, report_out, error);
	munmap (map, size);
	return status;
}

/* A file of our own, gone from the file system already, for a large message read from a pipe. */
static int
spool_file (void)
{
	const char *dir = g_get_tmp_dir ();
	g_autofree char *path = NULL;
	int fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0)
		return fd;
	path = g_build_filename (dir, "mimeutf8-spool-XXXXXX", NULL);
	fd = g_mkstemp_full (path, O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		unlink (path);
	return fd;
}

/* Copies what `in_fd` has left into `spool` after `head`. */
static gboolean
spool_rest (int in_fd, int spool, const GByteArray *head, size_t *size_out)
{
	guint8 buffer[READ_CHUNK];
	size_t size = head->len;
	ssize_t n;

	if (!write_all (spool, head->data, head->len))
		return FALSE;
	for (;;) {
		do
			n = read (in_fd, buffer, sizeof buffer);
		while (n < 0 && errno == EINTR);
		if (n == 0)
			break;
		if (n < 0 || !write_all (spool, buffer, (size_t) n))
			return FALSE;
		size += (size_t) n;
	}
	*size_out = size;
	return TRUE;
}

MimeUtf8Status
mimeutf8_normalize_fd (const MimeUtf8Options *options, int in_fd, int out_fd,
		       MimeUtf8Report **report_out, GError **error)
{
	g_autoptr (GByteArray) input = g_byte_array_new ();
	g_autoptr (GByteArray) output = NULL;
	Sink direct = { NULL, NULL, out_fd, FALSE, 0 };
	MimeUtf8Status status;
	struct stat st;
	size_t size;
	int spool;

	mimeutf8_init ();
	/* a large file is parsed in place and written as it goes; memory stays small */
	if (fstat (in_fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > LARGE_MESSAGE &&
	    lseek (in_fd, 0, SEEK_CUR) == 0) {
		status = normalize_file (options, in_fd, (size_t) st.st_size, &direct, report_out,
					 error);
		/* the caller tells a full disk from other faults by errno */
		if (direct.failed)
			errno = direct.saved_errno;
		return status;
	}
	if (!read_upto (in_fd, input, LARGE_MESSAGE))
		return io_failure (report_out, "read failed", errno, error);
	if (input->len > LARGE_MESSAGE) {
		/* a large message from a pipe goes to a file first, then as above */
		spool = spool_file ();
		if (spool < 0 || !spool_rest (in_fd, spool, input, &size)) {
			int saved = errno;

			if (spool >= 0)
				close (spool);
			status = io_failure (report_out, "spooling a large message", saved, error);
			errno = saved;
			return status;
		}
		g_byte_array_set_size (input, 0);
		status = normalize_file (options, spool, size, &direct, report_out, error);
		close (spool);
		if (direct.failed)
			errno = direct.saved_errno;
		return status;
	}
	/* a small message is written only once its whole result is there */
	output = g_byte_array_sized_new (input->len + input->len / 8 + 64);
	status = mimeutf8_normalize_buffer (options, input->data, input->len, output, report_out,
					    error);
	if (status == MIMEUTF8_STATUS_FAILED)
		return status;
	if (!write_all (out_fd, output->data, output->len)) {
		int saved = errno;

		if (report_out != NULL && *report_out != NULL)
			_mimeutf8_report_set_status (*report_out, MIMEUTF8_STATUS_FAILED,
						     "write failed");
		g_clear_error (error);
		g_set_error (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO, "write failed: %s",
			     g_strerror (saved));
		errno = saved;
		return MIMEUTF8_STATUS_FAILED;
	}
	return status;
}

MimeUtf8Status
mimeutf8_normalize_stream (const MimeUtf8Options *options, GMimeStream *in, GMimeStream *out,
			   MimeUtf8Report **report_out, GError **error)
{
	g_autoptr (GByteArray) input = g_byte_array_new ();
	Sink sink = { NULL, out, -1, FALSE, 0 };
	char buffer[READ_CHUNK];
	struct stat st;
	ssize_t n;

	mimeutf8_init ();
	if (GMIME_IS_STREAM_MEM (in) && in->bound_end == -1 && in->position == in->bound_start &&
	    ((GMimeStreamMem *) in)->buffer != NULL) {
		GByteArray *whole = ((GMimeStreamMem *) in)->buffer;
		size_t start = (size_t) in->bound_start;

		return normalize_raw (options, whole->data + start, whole->len - start, -1, &sink,
				      report_out, error);
	}
	/* a whole large file behind a file stream is read in place, as by mimeutf8_normalize_fd */
	if (GMIME_IS_STREAM_FS (in) && in->bound_start == 0 && in->bound_end == -1 &&
	    in->position == 0 && fstat (((GMimeStreamFs *) in)->fd, &st) == 0 &&
	    S_ISREG (st.st_mode) && st.st_size > LARGE_MESSAGE)
		return normalize_file (options, ((GMimeStreamFs *) in)->fd, (size_t) st.st_size,
				       &sink, report_out, error);
	while ((n = g_mime_stream_read (in, buffer, sizeof buffer)) > 0)
		g_byte_array_append (input, (const guint8 *) buffer, (guint) n);
	if (n < 0)
		return io_failure (report_out, "read failed", errno ? errno : EIO, error);
	return normalize_raw (options, input->data, input->len, -1, &sink, report_out, error);
}

/* dkim_invalidated for a message changed in place: its own header fields the report lists as
 * rewritten, and its body when any part changed (where in the body is not known, so l= does not
 * help). */
static gboolean
dkim_invalidated_in_place (GMimeMessage *message, const MimeUtf8Report *report,
			   gboolean body_changed)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list (GMIME_OBJECT (message));
	gboolean broken = FALSE;
	int h;
	size_t i;

	for (h = 0; h < g_mime_header_list_get_count (headers) && !broken; h++) {
		GMimeHeader *header = g_mime_header_list_get_header_at (headers, h);
		const char *raw = g_mime_header_get_raw_value (header);
		DkimSignature signature;

		if (g_ascii_strcasecmp (g_mime_header_get_name (header), "DKIM-Signature") != 0)
			continue;
		dkim_signature_read (raw, strlen (raw), &signature);
		broken = body_changed;
		for (i = 0; i < mimeutf8_report_get_n_headers (report) && !broken; i++) {
			const MimeUtf8HeaderReport *record = mimeutf8_report_get_header (report, i);

			if (record->path[0] == '\0')
				broken = dkim_signs_field (&signature, record->name,
							   strlen (record->name));
		}
		g_strfreev (signature.signed_fields);
	}
	return broken;
}

/* Bytes GMime writes for `message` now. */
static uint64_t
serialized_size (GMimeMessage *message)
{
	GMimeStream *counter = g_mime_stream_null_new ();
	uint64_t size;

	g_mime_object_write_to_stream (GMIME_OBJECT (message), NULL, counter);
	size = (uint64_t) ((GMimeStreamNull *) counter)->written;
	g_object_unref (counter);
	return size;
}

MimeUtf8Status
mimeutf8_normalize_message (const MimeUtf8Options *options, GMimeMessage *message,
			    MimeUtf8Report **report_out, GError **error)
{
	MimeUtf8Report *report = _mimeutf8_report_new ();
	MimeUtf8Options defaults;
	Walk walk;
	gboolean changed, body_changed = FALSE;
	uint64_t bytes_in;
	guint i;

	mimeutf8_init ();
	options = _mimeutf8_options_check (options, &defaults, error);
	if (options == NULL) {
		_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_FAILED, "invalid options");
		return finish (report, report_out, MIMEUTF8_STATUS_FAILED);
	}
	if (g_cancellable_is_cancelled (options->cancellable))
		return cancelled (report, report_out, options, error);
	bytes_in = serialized_size (message);
	walk_init (&walk, options, report, 0);
	walk_collect_charsets (&walk, message);
	walk_message (&walk, message, "", FALSE);
	if (g_cancellable_is_cancelled (options->cancellable)) {
		walk_clear (&walk);
		return cancelled (report, report_out, options, error);
	}
	/* a rewritten header, a converted or relabelled part, or a new transfer encoding */
	changed = mimeutf8_report_get_n_headers (report) > 0;
	for (i = 0; i < mimeutf8_report_get_n_parts (report); i++) {
		const MimeUtf8PartReport *part = mimeutf8_report_get_part (report, i);

		if (part->action == MIMEUTF8_ACTION_CONVERTED ||
		    g_strcmp0 (part->encoding_in, part->encoding_out) != 0)
			body_changed = TRUE;
	}
	changed = changed || body_changed;
	if (changed && dkim_invalidated_in_place (message, report, body_changed))
		_mimeutf8_report_set_dkim_invalidated (report, TRUE);
	walk_clear (&walk);
	_mimeutf8_report_set_bytes (report, bytes_in,
				    changed ? serialized_size (message) : bytes_in);
	_mimeutf8_report_set_status (
		report, changed ? MIMEUTF8_STATUS_NORMALIZED : MIMEUTF8_STATUS_UNCHANGED, NULL);
	return finish (report, report_out, mimeutf8_report_get_status (report));
}
