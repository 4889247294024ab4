/* splice.c: the splice.  A part's plan becomes edits of the input's bytes (a charset parameter, a
 * transfer-encoding, a body, each at a place every reader agrees on), and the output is the
 * input copied as it is between the edits: whatever is not rewritten stays byte-identical, and
 * GMime never re-serializes a header. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "walk.h"

void
_mimeutf8_walk_fail (Walk *walk, const char *why)
{
	if (walk->failure == NULL)
		walk->failure = g_strdup (why);
}

/* Pages of a mapped message that were used are given back, so that a large message never sits
 * in memory whole. */
void
_mimeutf8_release_pages (const Walk *walk, size_t start, size_t end)
{
	if (walk->mapped)
		_mimeutf8_release_mapped (walk->raw, start, end);
}

void
_mimeutf8_add_edit (Walk *walk, size_t start, size_t end, GByteArray *bytes)
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

const char *
_mimeutf8_encoding_name (GMimeContentEncoding encoding)
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

/* A text part's Content-Type: its other parameters in normal form (RFC 2231 file names...),
 * then charset=utf-8. */
GString *
_mimeutf8_rewrite_content_type (Walk *walk, const char *path, const char *value, size_t len,
				const char *newline, const char *unused)
{
	GString *params = _mimeutf8_header_text (walk, path, "Content-Type", value, len, newline);
	GString *out;

	if (params == NULL)
		return _mimeutf8_raw_content_type_with_utf8 (value, len, newline, NULL);
	out = _mimeutf8_raw_content_type_with_utf8 (params->str, params->len, newline, NULL);
	g_string_free (params, TRUE);
	return out;
}

/* Newline used by the line that ends just before `at`. */
const char *
_mimeutf8_newline_before (const Walk *walk, size_t at)
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
gboolean
_mimeutf8_header_block_is_clean (const Walk *walk, GMimeObject *object, GMimeObject *outer,
				 size_t body_start, size_t upto)
{
	const guint8 *raw = walk->raw;
	gint64 first = first_header_offset (object, outer, body_start);
	size_t i, prev;
	gboolean open = FALSE; /* a field line came before: a fold continues it */
	gboolean from_line = walk->raw_len >= 5 && memcmp (raw, "From ", 5) == 0;

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
		      (prev == 0 && from_line)))
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
		if (i == 0 && from_line) {
			/* an mbox From_ line at the top, which other readers skip.  GMime reads
			 * past it, or takes "From :..." for a field: that field is not rewritten
			 * (a check up to this line is for it), and a fold after it is none to them
			 * (Python's email drops it, a strict reader starts the body there) */
			if ((size_t) (nl - raw) >= upto)
				return FALSE;
		} else if (raw[i] != ' ' && raw[i] != '\t') {
			while (j < (size_t) (nl - raw) && _mimeutf8_raw_is_field_name_char (raw[j]))
				j++;
			if (j == i || raw[j] != ':')
				return FALSE;
			open = TRUE;
		} else if (!open) {
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
			_mimeutf8_newline_before (
				walk, _mimeutf8_raw_field_end (walk->raw, walk->raw_len, start)),
			new_value);
		bytes = g_byte_array_new_take ((guint8 *) value->str, value->len);
		g_string_free (value, FALSE);
		_mimeutf8_add_edit (walk, value_start, value_end, bytes);
		return TRUE;
	}
	at = header_insert_point (walk, object, outer, body_start);
	if (at == (size_t) -1)
		return FALSE;
	bytes = bytes_of (name);
	g_byte_array_append (bytes, (const guint8 *) ": ", 2);
	g_byte_array_append (bytes, (const guint8 *) new_value, strlen (new_value));
	g_byte_array_append (bytes, (const guint8 *) _mimeutf8_newline_before (walk, at),
			     strlen (_mimeutf8_newline_before (walk, at)));
	_mimeutf8_add_edit (walk, at, at, bytes);
	return TRUE;
}

/* A text part's Content-Type value not in RFC 2045 form stays byte for byte, its parameters too:
 * the part is not relabelled (apply_splice), and a rewrite of its parameters could make the value
 * readable to the next run, which would then convert the part (not idempotent).  Other parts'
 * parameters (an attachment's 8-bit name) are rewritten as usual. */
gboolean
_mimeutf8_header_kept_as_is (GMimeObject *object, const char *name, const char *value, size_t len)
{
	return g_ascii_strcasecmp (name, "Content-Type") == 0 && GMIME_IS_PART (object) &&
	       g_mime_content_type_is_type (g_mime_object_get_content_type (object), "text", "*") &&
	       !_mimeutf8_raw_value_is_rfc2045 (value, len);
}

/* The normal form of one header's value, or NULL when it needs none; the report gets a record. */
GString *
_mimeutf8_header_text (Walk *walk, const char *path, const char *name, const char *value,
		       size_t len, const char *newline)
{
	_MimeUtf8HeaderChange change;
	MimeUtf8HeaderReport *record;
	GString *out;

	if (walk->options->headers == MIMEUTF8_HEADERS_KEEP)
		return NULL;
	out = _mimeutf8_header_normalize (name, value, len, walk->options, walk->eight_bit,
					  _mimeutf8_fallback (walk->options), newline, &change);
	if (change.limit_hit) {
		_mimeutf8_walk_fail (walk,
				     "limit: a header has too many encoded-words or parameters");
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
		size_t n, i;

		if (boundary == NULL)
			continue;
		n = strlen (boundary);
		i = at + 2 + n;
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
gboolean
_mimeutf8_source_bounds (const Walk *walk, GMimeStream *stream, size_t *start_out, size_t *end_out,
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
gboolean
_mimeutf8_content_type_value_passes (const Walk *walk, GMimeObject *object,
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

/* How many times header `name` is in the object's block. */
static int
header_count (GMimeObject *object, const char *name)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list (object);
	int i, n = 0;

	for (i = 0; i < g_mime_header_list_get_count (headers); i++)
		if (g_ascii_strcasecmp (
			    g_mime_header_get_name (g_mime_header_list_get_header_at (headers, i)),
			    name) == 0)
			n++;
	return n;
}

/* A header the plan rewrites is there twice (with the same value: other values fail the walk):
 * a rewrite edits one, and a reader that takes the other (GMime takes the last, others the
 * first; a strict reader neither) would read the old label or encoding over the new body. */
gboolean
_mimeutf8_plan_edits_a_repeated_header (const TextPlan *plan, GMimeObject *object)
{
	return (plan->relabel && header_count (object, "Content-Type") > 1) ||
	       (plan->encoding_out != plan->encoding_in &&
		header_count (object, "Content-Transfer-Encoding") > 1);
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

/* The part's record when its bytes stay as they are, for `reason`. */
static void
leave_alone (MimeUtf8PartReport *record, const char *reason)
{
	record->action = MIMEUTF8_ACTION_LEFT_ALONE;
	record->reason = reason;
	record->encoding_out = record->encoding_in;
	record->bytes_out = record->bytes_in;
}

void
_mimeutf8_apply_splice (Walk *walk, GMimePart *part, GMimeObject *outer, TextPlan *plan,
			MimeUtf8PartReport *record)
{
	GMimeObject *object = GMIME_OBJECT (part);
	GMimeDataWrapper *content = g_mime_part_get_content (part);
	GMimeStream *stream = content ? g_mime_data_wrapper_get_stream (content) : NULL;
	size_t body_start, body_end, upto;
	const char *newline, *why;

	if (!_mimeutf8_source_bounds (walk, stream, &body_start, &body_end, &why)) {
		_mimeutf8_walk_fail (walk, "a text part's body is not where the parser says");
		return;
	}
	newline = _mimeutf8_newline_before (walk, body_start);
	if (plan->ascii_normal) {
		/* nothing to write; but "already UTF-8" holds only if other readers see the same
		 * header block and label (no garbage line GMime skips, no open quote) */
		upto = edit_point (walk, object, outer, body_start, "Content-Type");
		if (upto == (size_t) -1 ||
		    !_mimeutf8_header_block_is_clean (walk, object, outer, body_start, upto) ||
		    !_mimeutf8_content_type_value_passes (walk, object,
							  _mimeutf8_raw_value_is_balanced)) {
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
	     !_mimeutf8_header_block_is_clean (walk, object, outer, body_start, body_start - 1) ||
	     !_mimeutf8_content_type_value_passes (walk, object,
						   _mimeutf8_raw_value_is_balanced))) {
		leave_alone (record, "malformed header block");
		return;
	}
	if (_mimeutf8_plan_edits_a_repeated_header (plan, object)) {
		leave_alone (record, "malformed header block: a header given twice");
		return;
	}
	if (plan->relabel &&
	    !_mimeutf8_content_type_value_passes (walk, object, _mimeutf8_raw_value_is_rfc2045)) {
		leave_alone (record, "malformed Content-Type");
		return;
	}
	if (plan->relabel && !_mimeutf8_content_type_value_passes (
				     walk, object, _mimeutf8_raw_value_charset_is_unambiguous)) {
		leave_alone (record, "ambiguous charset parameter");
		return;
	}

	/* MIME headers mean nothing without MIME-Version: a plain RFC 822 message that gets a
	 * Content-Type gets that too, just before it (an equal-place insertion keeps its order) */
	if (plan->relabel && outer != NULL && GMIME_IS_MESSAGE (outer) &&
	    g_mime_object_get_header (object, "Content-Type") == NULL &&
	    g_mime_object_get_header (outer, "MIME-Version") == NULL) {
		size_t at = header_insert_point (walk, object, outer, body_start);
		GByteArray *line = bytes_of ("MIME-Version: 1.0");

		g_byte_array_append (line, (const guint8 *) _mimeutf8_newline_before (walk, at),
				     strlen (_mimeutf8_newline_before (walk, at)));
		_mimeutf8_add_edit (walk, at, at, line);
	}
	if (plan->relabel && !splice_header (walk, object, outer, body_start, "Content-Type",
					     _mimeutf8_rewrite_content_type, record->path,
					     "text/plain; charset=utf-8")) {
		_mimeutf8_walk_fail (walk, "a text part's Content-Type header cannot be located");
		return;
	}
	if (plan->encoding_out != plan->encoding_in) {
		if (!splice_header (walk, object, outer, body_start, "Content-Transfer-Encoding",
				    rewrite_encoding, record->path,
				    _mimeutf8_encoding_name (plan->encoding_out))) {
			_mimeutf8_walk_fail (walk, "a text part's header block cannot be located");
			return;
		}
	}
	if (plan->converted != NULL || plan->encoding_out != plan->encoding_in) {
		const guint8 *data = plan->converted ? plan->converted->data : plan->decoded;
		size_t len = plan->converted ? plan->converted->len : plan->decoded_len;
		gboolean ends_nl = body_end > body_start && walk->raw[body_end - 1] == '\n';

		_mimeutf8_add_edit (walk, body_start, body_end,
				    encode_body (plan, data, len, newline, ends_nl));
	}
}

static void
sink_write (Sink *sink, const guint8 *data, size_t len)
{
	if (len == 0 || sink->failed)
		return;
	if (sink->array != NULL) {
		g_byte_array_append (sink->array, data, len);
	} else if (sink->fd >= 0) {
		if (!_mimeutf8_write_all (sink->fd, data, len)) {
			sink->failed = TRUE;
			sink->saved_errno = errno;
		}
	} else if (g_mime_stream_write (sink->stream, (const char *) data, len) != (ssize_t) len) {
		sink->failed = TRUE;
		sink->saved_errno = errno ? errno : EIO;
	}
}

/* Copies raw bytes [start, end) to the sink, releasing mapped pages as it goes. */
void
_mimeutf8_sink_copy (const Walk *walk, Sink *sink, size_t start, size_t end)
{
	const size_t chunk = 1024 * 1024;

	while (start < end) {
		size_t n = MIN (chunk, end - start);

		sink_write (sink, walk->raw + start, n);
		_mimeutf8_release_pages (walk, start, start + n);
		start += n;
	}
}

int
_mimeutf8_compare_edits (gconstpointer a, gconstpointer b)
{
	const Edit *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* an insertion before a replacement at the same place */
	return (x->end - x->start > 0) - (y->end - y->start > 0);
}

/* Writes the walked message: its bytes with the edits applied.  Returns the length written. */
size_t
_mimeutf8_splice_out (const Walk *walk, Sink *sink)
{
	size_t pos = 0, written = 0;
	guint i;

	for (i = 0; i < walk->edits->len; i++) {
		const Edit *edit = &g_array_index (walk->edits, Edit, i);

		_mimeutf8_sink_copy (walk, sink, pos, edit->start);
		sink_write (sink, edit->bytes->data, edit->bytes->len);
		written += edit->start - pos + edit->bytes->len;
		pos = edit->end;
	}
	_mimeutf8_sink_copy (walk, sink, pos, walk->raw_len);
	return written + walk->raw_len - pos;
}

gboolean
_mimeutf8_write_all (int fd, const guint8 *data, size_t len)
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
