/* normalize.c: the MIME walk.  It parses a message with GMime, plans every text part (plan.c) and
 * turns the plans into edits of the input (splice.c) or of the parsed message (in-place.c), and
 * rewrites the headers that need it (headers.c says how); the entry points (entry.c) run it. */
#include <string.h>

#include "walk.h"

/* How deep base64-encoded message/rfc822 parts are opened, each one a parse of its own. */
#define MAX_ENCODED_DEPTH 8

static void
header_job_free (HeaderJob *job)
{
	g_free (job->path);
	g_free (job);
}

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
			_mimeutf8_rewrite_header_in_place (walk, object, header, path);
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
		/* the block up to the field's last line: a bare CR in one of its folds ends the
		 * block there for other readers, who would take the rewrite for the body */
		if (!_mimeutf8_header_block_is_clean (walk, object, outer, (size_t) offset + 1,
						      value_end) ||
		    _mimeutf8_header_kept_as_is (object, name,
						 (const char *) walk->raw + value_start,
						 value_end - value_start))
			continue;
		value = _mimeutf8_header_text (
			walk, path, name, (const char *) walk->raw + value_start,
			value_end - value_start,
			_mimeutf8_newline_before (walk,
						  _mimeutf8_raw_field_end (walk->raw, walk->raw_len,
									   (size_t) offset)));
		if (value != NULL) {
			gsize n = value->len;

			_mimeutf8_add_edit (
				walk, value_start, value_end,
				g_byte_array_new_take ((guint8 *) g_string_free (value, FALSE), n));
		}
	}
}

typedef enum {
	HEADER_ONCE,        /* no `name` header, or one */
	HEADER_REPEATED,    /* two or more, all with the same value */
	HEADER_CONFLICTING, /* two with different values */
} HeaderCount;

/* How many `name` headers the part has, and whether they agree. */
static HeaderCount
count_headers (GMimeObject *object, const char *name)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list (object);
	const char *first = NULL;
	HeaderCount count = HEADER_ONCE;
	int i;

	for (i = 0; i < g_mime_header_list_get_count (headers); i++) {
		GMimeHeader *header = g_mime_header_list_get_header_at (headers, i);

		if (g_ascii_strcasecmp (g_mime_header_get_name (header), name) != 0)
			continue;
		if (first == NULL)
			first = g_mime_header_get_raw_value (header);
		else if (strcmp (first, g_mime_header_get_raw_value (header)) != 0)
			return HEADER_CONFLICTING;
		else
			count = HEADER_REPEATED;
	}
	return count;
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
	record->encoding_in = _mimeutf8_encoding_name (plan.encoding_in);
	record->encoding_out = record->encoding_in;
	if (walk->raw == NULL || walk->depth >= MAX_ENCODED_DEPTH)
		return;
	_mimeutf8_decode_body (walk, part, &plan);
	if (plan.leave_reason == NULL && plan.trailer)
		/* plain lines after the base64 run would be appended to the decoded message, where
		 * they could be header fields of it or of a part inside it */
		plan.leave_reason = "not base64: plain text after the base64 run of a message";
	if (plan.leave_reason != NULL) {
		record->action = MIMEUTF8_ACTION_LEFT_ALONE;
		record->reason = plan.leave_reason;
		if (plan.decoded_copy != NULL)
			g_byte_array_unref (plan.decoded_copy);
		return;
	}
	_mimeutf8_walk_init (&inner, walk->options, walk->report, walk->depth + 1);
	inner.level = walk->level + 1;
	inner.parts = walk->parts;
	inner.deadline = walk->deadline;
	inner.view = walk->view;
	_mimeutf8_walk_raw (&inner, plan.decoded, plan.decoded_len, -1, path);
	walk->parts = inner.parts;
	if (inner.failure != NULL) {
		record->action = MIMEUTF8_ACTION_LEFT_ALONE;
		record->reason = _mimeutf8_report_intern (walk->report, inner.failure);
	} else if (inner.edits->len > 0) {
		GByteArray *out = g_byte_array_sized_new (plan.decoded_len + plan.decoded_len / 8);
		Sink sink = { out, NULL, -1, FALSE, 0 };

		_mimeutf8_splice_out (&inner, &sink);
		plan.converted = out;
		plan.encoding_out = _mimeutf8_count_high (out->data, out->len) > 0
					    ? GMIME_CONTENT_ENCODING_8BIT
					    : GMIME_CONTENT_ENCODING_7BIT;
		record->encoding_out = _mimeutf8_encoding_name (plan.encoding_out);
		record->bytes_in = plan.decoded_len;
		record->bytes_out = out->len;
		_mimeutf8_apply_splice (walk, part, outer, &plan, record);
		/* the inner message's rewrites did not happen after all: its records say so */
		if (record->action == MIMEUTF8_ACTION_LEFT_ALONE)
			_mimeutf8_report_undo (walk->report, first_part, first_header,
					       "inside a part left alone");
	}
	_mimeutf8_walk_clear (&inner);
	if (plan.converted != NULL)
		g_byte_array_unref (plan.converted);
	if (plan.decoded_copy != NULL)
		g_byte_array_unref (plan.decoded_copy);
}

void
_mimeutf8_walk_message (Walk *walk, GMimeMessage *message, const char *prefix, gboolean sealed)
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
	if (walk->view != NULL)
		_mimeutf8_view_message (walk->view, message, prefix, walk->raw, walk->raw_len,
					walk->eight_bit, _mimeutf8_fallback (walk->options));
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

/* TRUE when the header block of a message/rfc822 part (shared with `outer`, the message it is the
 * body of, if any), up to where its attached message starts, reads the same to every reader (see
 * _mimeutf8_header_block_is_clean). */
static gboolean
message_part_block_is_clean (const Walk *walk, GMimeObject *object, GMimeObject *outer,
			     GMimeMessage *inner)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list (GMIME_OBJECT (inner));
	gint64 start = -1;
	int i;

	if (walk->raw == NULL)
		return TRUE;
	for (i = 0; i < g_mime_header_list_get_count (headers); i++) {
		gint64 offset =
			g_mime_header_get_offset (g_mime_header_list_get_header_at (headers, i));

		if (offset >= 0 && (start < 0 || offset < start))
			start = offset;
	}
	if (start <= 0)
		return TRUE;
	return _mimeutf8_header_block_is_clean (walk, object, outer, (size_t) start,
						(size_t) start - 1);
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
		_mimeutf8_walk_fail (walk, "limit: number of parts");
		return;
	}
	if (walk->level > _mimeutf8_limit_depth (walk->options)) {
		_mimeutf8_walk_fail (walk, "limit: nesting depth");
		return;
	}
	if (g_get_monotonic_time () > walk->deadline) {
		_mimeutf8_walk_fail (walk, "limit: time");
		return;
	}
	if (g_cancellable_is_cancelled (walk->options->cancellable)) {
		_mimeutf8_walk_fail (walk, "cancelled");
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
	record = _mimeutf8_report_add_part (
		walk->report, path, type,
		GMIME_IS_PART (object) ? _mimeutf8_part_label (walk, object) : NULL);
	record->action = MIMEUTF8_ACTION_NOT_TEXT;
	if (walk->view != NULL)
		_mimeutf8_view_part (walk->view, object, record, walk->raw, walk->raw_len,
				     walk->raw_array);
	switch (count_headers (object, "Content-Type")) {
	case HEADER_CONFLICTING:
		/* readers would not agree on what this part is (a multipart to one, an attachment
		 * to another): leave the message as it is */
		_mimeutf8_walk_fail (walk, "a part has conflicting Content-Type headers");
		return;
	case HEADER_REPEATED:
		/* the same twice: a reader that takes a second Content-Type for an error reads
		 * the part as text/plain (a multipart as one text) */
		_mimeutf8_walk_fail (walk, "a part has its Content-Type header twice");
		return;
	case HEADER_ONCE:
		break;
	}

	if (!walk->options->convert_signed &&
	    (GMIME_IS_MULTIPART_SIGNED (object) || GMIME_IS_MULTIPART_ENCRYPTED (object) ||
	     GMIME_IS_APPLICATION_PKCS7_MIME (object)))
		sealed = TRUE;

	if (GMIME_IS_MULTIPART (object) && walk->raw != NULL &&
	    !_mimeutf8_content_type_value_passes (walk, object, _mimeutf8_raw_value_is_rfc2045)) {
		/* GMime found a multipart in a Content-Type value other readers may not read (an
		 * 8-bit byte in the subtype): they could take the whole for one text body */
		_mimeutf8_walk_fail (walk, "malformed Content-Type: a multipart other readers may "
					   "not read as one");
		return;
	}
	if (GMIME_IS_MULTIPART (object) && walk->raw != NULL &&
	    (outer == NULL || walk->embedded > 0) &&
	    !_mimeutf8_header_block_is_clean (walk, object, outer, walk->raw_len, walk->raw_len)) {
		/* a multipart inside a multipart, or the body of an attached message; the message's
		 * own block is checked as the message (_mimeutf8_raw_top_block_is_clean): GMime
		 * reads past a line other readers end this block on ("boundary=..." without the
		 * blank that folds it, a bare CR), and finds parts in what they take for the body
		 * of a text part */
		_mimeutf8_walk_fail (walk, "malformed header block: a multipart whose header block "
					   "other readers end early");
		return;
	}
	if (GMIME_IS_MULTIPART (object)) {
		GMimeMultipart *multipart = GMIME_MULTIPART (object);
		/* the children of the message's top multipart are "1", "2"...; of others "P.1" */
		gboolean top = strcmp (path, "0") == 0 || g_str_has_suffix (path, ".0");
		g_autofree char *base =
			top ? g_strndup (path, strlen (path) - (path[1] ? 2 : 1)) : g_strdup (path);
		/* not g_mime_multipart_get_boundary (): without a boundary it makes one up and
		 * re-encodes the Content-Type, which takes minutes for some malformed values */
		const char *boundary =
			g_mime_object_get_content_type_parameter (object, "boundary");
		int i;

		/* NULL (no boundary: no line is one) is kept, and skipped by the splice's checks */
		g_ptr_array_add (walk->boundaries, (gpointer) boundary);
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

		if (inner != NULL && !message_part_block_is_clean (walk, object, outer, inner)) {
			/* other readers end this part's header block early, and take the rest,
			 * the attached message included, for its body: nothing in it is changed */
			record->action = MIMEUTF8_ACTION_LEFT_ALONE;
			record->reason = "malformed header block";
			return;
		}
		if (inner != NULL) {
			walk->level++;
			walk->embedded++;
			_mimeutf8_walk_message (walk, inner, path, sealed);
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
	change = _mimeutf8_plan_text_part (walk, GMIME_PART (object), record, &plan);
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
		/* base64 or quoted-printable that a strict reader would not read is written anew,
		 * even when its text stays the same */
		plan.converted = g_byte_array_sized_new ((guint) plan.decoded_len);
		g_byte_array_append (plan.converted, plan.decoded, (guint) plan.decoded_len);
	}
	if (walk->view != NULL && (record->action == MIMEUTF8_ACTION_CONVERTED ||
				   record->action == MIMEUTF8_ACTION_ALREADY_UTF8))
		_mimeutf8_view_text (
			walk->view, plan.converted != NULL ? plan.converted->data : plan.decoded,
			plan.converted != NULL ? plan.converted->len : plan.decoded_len);
	if (change) {
		if (walk->raw != NULL)
			_mimeutf8_apply_splice (walk, GMIME_PART (object), outer, &plan, record);
		else
			_mimeutf8_apply_in_place (walk, GMIME_PART (object), &plan, record);
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

	if (GMIME_IS_PART (part) && (label = _mimeutf8_part_label (walk, part)) != NULL)
		add_message_charset (walk, label, strlen (label));
}

void
_mimeutf8_walk_init (Walk *walk, const MimeUtf8Options *options, MimeUtf8Report *report, int depth)
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

void
_mimeutf8_walk_collect_charsets (Walk *walk, GMimeMessage *message)
{
	collect_header_charsets (walk, GMIME_OBJECT (message));
	g_mime_message_foreach (message, collect_charsets, walk);
}

void
_mimeutf8_walk_clear (Walk *walk)
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

/* Parses the message in `raw` (borrowed, never copied) and walks it, filling `walk->edits`; the
 * report's paths start with `prefix`.  With `fd` >= 0, `raw` is that file mapped, and GMime reads
 * the file instead.  On return nothing points into `raw` any more. */
void
_mimeutf8_walk_raw (Walk *walk, const guint8 *raw, size_t len, int fd, const char *prefix)
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
		_mimeutf8_walk_fail (walk, why);
		return;
	}
	if (!_mimeutf8_raw_top_block_is_clean (raw, len)) {
		_mimeutf8_walk_fail (walk,
				     "malformed header block: a multipart whose header block other "
				     "readers end early");
		return;
	}
	if (_mimeutf8_fast_unchanged (walk, raw, len, prefix))
		return;
	walk->parsed = raw;
	if (_mimeutf8_guard_scan (raw, len, walk->mapped, spans)) {
		/* GMime parses a copy where the names it must not open are unusable: from memory,
		 * even for a large message */
		if (len > G_MAXUINT) {
			_mimeutf8_walk_fail (
				walk,
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
	_mimeutf8_release_pages (walk, 0, len);
	if (copy != NULL) {
		array = g_byte_array_ref (copy);
		stream = g_mime_stream_mem_new_with_byte_array (array);
		g_mime_stream_mem_set_owner ((GMimeStreamMem *) stream, FALSE);
	} else if (fd >= 0) {
		if (lseek (fd, 0, SEEK_SET) != 0) {
			_mimeutf8_walk_fail (walk,
					     "the message's file cannot be read from its start");
			return;
		}
		stream = g_mime_stream_fs_new (fd);
		g_mime_stream_fs_set_owner ((GMimeStreamFs *) stream, FALSE);
	} else {
		if (len > G_MAXUINT) {
			_mimeutf8_walk_fail (
				walk,
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
		_mimeutf8_walk_fail (walk, "does not parse as a message");
	} else {
		_mimeutf8_walk_collect_charsets (walk, message);
		_mimeutf8_walk_message (walk, message, prefix, FALSE);
	}
	g_array_sort (walk->edits, _mimeutf8_compare_edits);
	for (i = 1; i < walk->edits->len; i++)
		if (g_array_index (walk->edits, Edit, i).start <
		    g_array_index (walk->edits, Edit, i - 1).end)
			_mimeutf8_walk_fail (walk, "internal: overlapping rewrites");

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

/* ---- DKIM ------------------------------------------------------------------------------------ */

/* ---- the parsed view (view.c) ---------------------------------------------------------------- */

char *
_mimeutf8_walk_view (const MimeUtf8Options *options, const guint8 *raw, size_t len,
		     MimeUtf8Report *report, MimeUtf8Message *view, gboolean *changed_out)
{
	Walk walk;
	char *failure;

	_mimeutf8_walk_init (&walk, options, report, 0);
	walk.view = view;
	_mimeutf8_walk_raw (&walk, raw, len, -1, "");
	*changed_out = walk.edits->len > 0;
	failure = g_steal_pointer (&walk.failure);
	_mimeutf8_walk_clear (&walk);
	return failure;
}
