/* harness.h: the checks that the fuzz targets run on each input and that tests/crashers.c
 * replays on every saved crasher.  Each harness_* function takes one input in its target's format
 * and aborts, saying why on stderr, when the library breaks one of its promises.
 *
 * Input formats (the same bytes a crasher file holds):
 *   convert:   LABEL "\n" BYTES.  With no newline in the first 128 bytes there is no label line:
 *              the label is "utf-8" and every byte is data.
 *   normalize: a message.
 *   headers:   NAME ":" VALUE.  With no colon in the first 128 bytes the name is "Subject" and
 *              every byte is the value.  The value is cut at a newline not followed by a blank,
 *              where a real field would end.
 * Options, chunk sizes and the like are drawn from a hash of the whole input, so that a saved
 * input replays exactly. */
#ifndef MIMEUTF8_FUZZ_HARNESS_H
#define MIMEUTF8_FUZZ_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mimeutf8-private.h"

/* headers.c is being written: when it is not linked in yet, the header checks are skipped */
#pragma weak _mimeutf8_header_normalize

#define HARNESS_FAIL(...)                                                                          \
	do {                                                                                       \
		fprintf (stderr, "harness: ");                                                     \
		fprintf (stderr, __VA_ARGS__);                                                     \
		fputc ('\n', stderr);                                                              \
		abort ();                                                                          \
	} while (0)

/* Headers the library may add to a part: its new type, encoding and MIME-Version. */
static const char *const harness_may_add[] = { "content-type", "content-transfer-encoding",
					       "mime-version" };

static inline uint64_t
harness_hash (const uint8_t *data, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ data[i]) * 0x100000001b3ULL;
	return h;
}

/* xorshift64: chunk sizes from the hash */
static inline uint64_t
harness_next (uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

/* memcmp's arguments must not be NULL, even for 0 bytes: an empty GByteArray's data may be. */
static inline gboolean
harness_same (const void *a, size_t a_len, const void *b, size_t b_len)
{
	return a_len == b_len && (a_len == 0 || memcmp (a, b, a_len) == 0);
}

/* _mimeutf8_utf8_scan for any bytes: an empty GByteArray's data may be NULL, and the scanner's
 * `data + len` must not see a NULL. */
static inline void
harness_scan (const guint8 *data, size_t len, _MimeUtf8Scan *scan_out)
{
	if (len == 0) {
		memset (scan_out, 0, sizeof *scan_out);
		return;
	}
	_mimeutf8_utf8_scan (data, len, scan_out);
}

static inline void
harness_check_utf8 (const char *what, const guint8 *data, size_t len)
{
	_MimeUtf8Scan scan;

	harness_scan (data, len, &scan);
	if (scan.invalid != 0 || scan.nul != 0)
		HARNESS_FAIL ("%s: not strictly valid UTF-8 without NUL (%zu invalid, %zu NUL in %zu bytes)",
			      what, scan.invalid, scan.nul, len);
}

/* ---- a small JSON validator, for the report ---------------------------------------------- */

typedef struct {
	const char *p, *end;
	int depth;
} HarnessJson;

static int harness_json_value (HarnessJson *j);

static inline void
harness_json_ws (HarnessJson *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static inline int
harness_json_string (HarnessJson *j)
{
	if (j->p >= j->end || *j->p != '"')
		return 0;
	for (j->p++; j->p < j->end; j->p++) {
		unsigned char c = (unsigned char) *j->p;

		if (c == '"') {
			j->p++;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			j->p++;
			if (j->p >= j->end || !strchr ("\"\\/bfnrtu", *j->p))
				return 0;
			if (*j->p == 'u') {
				for (int k = 1; k <= 4; k++)
					if (j->p + k >= j->end || !g_ascii_isxdigit (j->p[k]))
						return 0;
				j->p += 4;
			}
		}
	}
	return 0;
}

static inline int
harness_json_literal (HarnessJson *j, const char *word)
{
	size_t n = strlen (word);

	if ((size_t) (j->end - j->p) < n || memcmp (j->p, word, n) != 0)
		return 0;
	j->p += n;
	return 1;
}

static inline int
harness_json_number (HarnessJson *j)
{
	const char *start = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	while (j->p < j->end && (g_ascii_isdigit (*j->p) || strchr (".eE+-", *j->p)))
		j->p++;
	return j->p > start && g_ascii_isdigit (j->p[-1]);
}

static int
harness_json_value (HarnessJson *j)
{
	harness_json_ws (j);
	if (j->p >= j->end || ++j->depth > 64)
		return 0;
	if (*j->p == '{' || *j->p == '[') {
		char close = *j->p == '{' ? '}' : ']';
		int object = *j->p == '{';

		j->p++;
		harness_json_ws (j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			j->depth--;
			return 1;
		}
		for (;;) {
			if (object) {
				harness_json_ws (j);
				if (!harness_json_string (j))
					return 0;
				harness_json_ws (j);
				if (j->p >= j->end || *j->p++ != ':')
					return 0;
			}
			if (!harness_json_value (j))
				return 0;
			harness_json_ws (j);
			if (j->p >= j->end)
				return 0;
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p++ != close)
				return 0;
			j->depth--;
			return 1;
		}
	}
	j->depth--;
	if (*j->p == '"')
		return harness_json_string (j);
	if (*j->p == 't')
		return harness_json_literal (j, "true");
	if (*j->p == 'f')
		return harness_json_literal (j, "false");
	if (*j->p == 'n')
		return harness_json_literal (j, "null");
	return harness_json_number (j);
}

/* The report's JSON line is one valid JSON object, in valid UTF-8. */
static inline void
harness_check_report_json (const MimeUtf8Report *report)
{
	g_autofree char *json = mimeutf8_report_to_json (report, "fuzz\"\n\x01");
	HarnessJson j;

	if (json == NULL)
		HARNESS_FAIL ("mimeutf8_report_to_json returned NULL");
	if (!g_utf8_validate (json, -1, NULL))
		HARNESS_FAIL ("the report's JSON is not valid UTF-8: %.300s", json);
	j.p = json;
	j.end = json + strlen (json);
	j.depth = 0;
	if (*json != '{' || !harness_json_value (&j) || (harness_json_ws (&j), j.p != j.end))
		HARNESS_FAIL ("the report is not one JSON object (error at byte %zu): %.300s",
			      (size_t) (j.p - json), json);
}

/* ---- convert ------------------------------------------------------------------------------- */

static inline void
harness_same_stats (const char *what, const MimeUtf8ConvertStats *a, const MimeUtf8ConvertStats *b)
{
	if (a->bytes_in != b->bytes_in || a->bytes_out != b->bytes_out ||
	    a->replacements != b->replacements || a->first_replacement != b->first_replacement)
		HARNESS_FAIL ("%s: stats differ from the whole conversion's: in %llu/%llu out %llu/%llu "
			      "replacements %llu/%llu first %lld/%lld",
			      what, (unsigned long long) a->bytes_in, (unsigned long long) b->bytes_in,
			      (unsigned long long) a->bytes_out, (unsigned long long) b->bytes_out,
			      (unsigned long long) a->replacements,
			      (unsigned long long) b->replacements, (long long) a->first_replacement,
			      (long long) b->first_replacement);
}

/* Runs `translator` over `data` in chunks drawn from `state` (all of size 1 when `state` is
 * NULL); the output and the stats must be the whole conversion's. */
static inline void
harness_chunked (MimeUtf8Translator *translator, const guint8 *data, size_t len, uint64_t *state,
		 const GByteArray *whole, const MimeUtf8ConvertStats *whole_stats, const char *what)
{
	g_autoptr (GByteArray) out = g_byte_array_new ();
	MimeUtf8ConvertStats stats;
	size_t done = 0;

	mimeutf8_translator_reset (translator);
	while (done < len) {
		size_t n = 1;

		if (state != NULL) {
			uint64_t r = harness_next (state);

			/* mostly short chunks, which cut characters; sometimes long ones */
			n = (r & 3) == 0 ? 1 + (r >> 8) % 4096 : 1 + (r >> 8) % 17;
		}
		if (n > len - done)
			n = len - done;
		/* an empty chunk in between must change nothing */
		if (state != NULL && (harness_next (state) & 15) == 0)
			mimeutf8_translator_convert (translator, data + done, 0, out);
		mimeutf8_translator_convert (translator, data + done, n, out);
		done += n;
	}
	mimeutf8_translator_end (translator, out);
	mimeutf8_translator_get_stats (translator, &stats);
	if (!harness_same (out->data, out->len, whole->data, whole->len))
		HARNESS_FAIL ("%s: chunked output (%u bytes) differs from the whole conversion's (%u)",
			      what, out->len, whole->len);
	harness_same_stats (what, &stats, whole_stats);
}

static inline void
harness_convert (const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr (data, '\n', size < 128 ? size : 128);
	g_autofree char *label = nl ? g_strndup ((const char *) data, (gsize) (nl - data))
				    : g_strdup ("utf-8");
	const guint8 *body = nl ? nl + 1 : data;
	size_t len = size - (size_t) (body - data);
	g_autoptr (GByteArray) whole = g_byte_array_new ();
	g_autoptr (GByteArray) text = g_byte_array_new ();
	g_autoptr (MimeUtf8Translator) translator = NULL;
	MimeUtf8ConvertStats stats, text_stats;
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	uint64_t state = harness_hash (data, size);
	MimeUtf8ConvertStatus status;
	GError *error = NULL;

	g_byte_array_append (whole, (const guint8 *) "x", 1); /* output is appended, not replaced */
	status = mimeutf8_convert (label, body, len, whole, &stats, &error);
	if (status == MIMEUTF8_CONVERT_ERROR) {
		if (error == NULL)
			HARNESS_FAIL ("convert: ERROR without a GError");
		if (mimeutf8_charset_canonical (label) != NULL)
			HARNESS_FAIL ("convert: known label \"%s\" (%s) refused: %s", label,
				      mimeutf8_charset_canonical (label), error->message);
		if (whole->len != 1)
			HARNESS_FAIL ("convert: ERROR but %u bytes were written", whole->len - 1);
		g_clear_error (&error);
		translator = mimeutf8_translator_new (label, NULL);
		if (translator != NULL)
			HARNESS_FAIL ("translator_new accepts \"%s\" that convert refused", label);
		return;
	}
	if (error != NULL)
		HARNESS_FAIL ("convert: status %d with an error set: %s", status, error->message);
	g_byte_array_remove_index (whole, 0);
	harness_check_utf8 ("convert", whole->data, whole->len);
	if (stats.bytes_in != len || stats.bytes_out != whole->len)
		HARNESS_FAIL ("convert: stats say %llu in, %llu out; really %zu in, %u out",
			      (unsigned long long) stats.bytes_in, (unsigned long long) stats.bytes_out,
			      len, whole->len);
	if ((status == MIMEUTF8_CONVERT_OK) != (stats.replacements == 0) ||
	    (stats.replacements == 0) != (stats.first_replacement == -1) ||
	    (stats.replacements > 0 && stats.first_replacement >= (int64_t) len))
		HARNESS_FAIL ("convert: status %d, %llu replacements, first at %lld of %zu", status,
			      (unsigned long long) stats.replacements, (long long) stats.first_replacement,
			      len);
	translator = mimeutf8_translator_new (label, &error);
	if (translator == NULL)
		HARNESS_FAIL ("translator_new refuses \"%s\" that convert accepted: %s", label,
			      error ? error->message : "");
	harness_chunked (translator, body, len, &state, whole, &stats, "random chunks");
	if (len <= 4096)
		harness_chunked (translator, body, len, NULL, whole, &stats, "1-byte chunks");
	/* reuse after end without reset (the documented "ready for new input") */
	{
		g_autoptr (GByteArray) again = g_byte_array_new ();

		mimeutf8_translator_reset (translator);
		mimeutf8_translator_convert (translator, body, len, again);
		mimeutf8_translator_end (translator, again);
		mimeutf8_translator_convert (translator, body, len, again);
		mimeutf8_translator_end (translator, again);
		if (again->len != 2 * whole->len ||
		    (whole->len > 0 &&
		     (memcmp (again->data, whole->data, whole->len) != 0 ||
		      memcmp (again->data + whole->len, whole->data, whole->len) != 0)))
			HARNESS_FAIL ("a translator reused after end gives other bytes");
	}
	/* the text-part rules: still valid UTF-8 under every policy but strict */
	for (int policy = MIMEUTF8_POLICY_LENIENT; policy <= MIMEUTF8_POLICY_STRICT; policy++) {
		const char *charset = NULL;

		options.policy = (MimeUtf8Policy) policy;
		g_byte_array_set_size (text, 0);
		status = mimeutf8_convert_text (&options, label, body, len, text, &text_stats, &charset,
						&error);
		if (status == MIMEUTF8_CONVERT_ERROR) {
			if (policy != MIMEUTF8_POLICY_STRICT)
				HARNESS_FAIL ("convert_text (policy %d) failed on a known label: %s",
					      policy, error ? error->message : "");
			g_clear_error (&error);
			continue;
		}
		g_clear_error (&error);
		harness_check_utf8 ("convert_text", text->data, text->len);
		if (charset == NULL)
			HARNESS_FAIL ("convert_text gave no charset");
	}
}

/* ---- normalize ----------------------------------------------------------------------------- */

static inline gboolean
harness_may_add_header (const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS (harness_may_add); i++)
		if (g_ascii_strcasecmp (name, harness_may_add[i]) == 0)
			return TRUE;
	return FALSE;
}

/* A raw header value forges a line when it holds a NUL, a CR not before LF, or a LF not
 * before a blank.  GMime's raw value ends with the field's own newline, which is not one. */
static inline gboolean
harness_value_forges (const char *value)
{
	size_t len = strlen (value);

	if (len > 0 && value[len - 1] == '\n')
		len--;
	if (len > 0 && value[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len; i++) {
		if (value[i] == '\r' && (i + 1 == len || value[i + 1] != '\n'))
			return TRUE;
		if (value[i] == '\n' && (i + 1 == len || (value[i + 1] != ' ' && value[i + 1] != '\t')))
			return TRUE;
	}
	return FALSE;
}

typedef struct {
	GHashTable *names;  /* lower-case field name -> count */
	GHashTable *forged; /* lower-case field name -> count of forging values */
	guint bad_utf8;     /* text parts labelled utf-8 whose content is not valid */
} HarnessCensus;

static inline void
harness_count (GHashTable *table, const char *name)
{
	char *key = g_ascii_strdown (name, -1);

	g_hash_table_insert (table, key,
			     GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (table, key)) + 1));
}

/* The length of `data` without a UTF-8 sequence cut short at its very end.  GMime 3.2.13 ends a
 * part one byte early when its last line ends in LF and the boundary line after it in CR
 * (issue 9 item 10): reading the output with GMime, a last character that is really whole looks
 * cut.  The strict reader below checks the real bytes; this census, which reads with GMime,
 * must not count GMime's own cut. */
static inline size_t
harness_without_cut_tail (const guint8 *data, size_t len)
{
	size_t i = len, continuation = 0, need;

	while (i > 0 && continuation < 3 && (data[i - 1] & 0xC0) == 0x80) {
		i--;
		continuation++;
	}
	if (i == 0 || data[i - 1] < 0xC0)
		return len;
	need = data[i - 1] >= 0xF0 ? 3 : data[i - 1] >= 0xE0 ? 2 : 1;
	return continuation < need ? i - 1 : len;
}

static gboolean harness_census_bytes (const guint8 *data, size_t len, HarnessCensus *census,
				      int depth);

static inline gboolean
harness_is_message_type (GMimeObject *object)
{
	GMimeContentType *type = g_mime_object_get_content_type (object);

	return type != NULL && (g_mime_content_type_is_type (type, "message", "rfc822") ||
				g_mime_content_type_is_type (type, "message", "global"));
}

static void
harness_census_object (GMimeObject *object, HarnessCensus *census, int depth)
{
	GMimeHeaderList *headers;

	if (object == NULL || depth > 200)
		return;
	headers = g_mime_object_get_header_list (object);
	for (int i = 0; headers && i < g_mime_header_list_get_count (headers); i++) {
		GMimeHeader *header = g_mime_header_list_get_header_at (headers, i);
		const char *raw = g_mime_header_get_raw_value (header);

		harness_count (census->names, g_mime_header_get_name (header));
		if (raw != NULL && harness_value_forges (raw))
			harness_count (census->forged, g_mime_header_get_name (header));
	}
	if (GMIME_IS_MESSAGE (object)) {
		harness_census_object (g_mime_message_get_mime_part (GMIME_MESSAGE (object)), census,
				       depth + 1);
	} else if (GMIME_IS_MESSAGE_PART (object)) {
		harness_census_object (
			(GMimeObject *) g_mime_message_part_get_message (GMIME_MESSAGE_PART (object)),
			census, depth + 1);
	} else if (GMIME_IS_MULTIPART (object)) {
		GMimeMultipart *multipart = GMIME_MULTIPART (object);

		for (int i = 0; i < g_mime_multipart_get_count (multipart); i++)
			harness_census_object (g_mime_multipart_get_part (multipart, i), census,
					       depth + 1);
	} else if (GMIME_IS_PART (object) && harness_is_message_type (object)) {
		/* a message/rfc822 sent base64 or quoted-printable, which GMime keeps as a leaf: the
		 * library opens it, so count the message it holds */
		GMimeDataWrapper *content = g_mime_part_get_content (GMIME_PART (object));

		if (content != NULL) {
			g_autoptr (GByteArray) bytes = g_byte_array_new ();
			g_autoptr (GMimeStream) stream = g_mime_stream_mem_new_with_byte_array (bytes);

			g_mime_stream_mem_set_owner (GMIME_STREAM_MEM (stream), FALSE);
			g_mime_data_wrapper_write_to_stream (content, stream);
			harness_census_bytes (bytes->data, bytes->len, census, depth + 1);
		}
	} else if (GMIME_IS_TEXT_PART (object)) {
		const char *charset = g_mime_object_get_content_type_parameter (object, "charset");
		GMimeDataWrapper *content = g_mime_part_get_content (GMIME_PART (object));

		if (charset != NULL && g_ascii_strcasecmp (charset, "utf-8") == 0 && content) {
			g_autoptr (GByteArray) bytes = g_byte_array_new ();
			g_autoptr (GMimeStream) stream = g_mime_stream_mem_new_with_byte_array (bytes);
			_MimeUtf8Scan scan;

			g_mime_stream_mem_set_owner (GMIME_STREAM_MEM (stream), FALSE);
			g_mime_data_wrapper_write_to_stream (content, stream);
			harness_scan (bytes->data, harness_without_cut_tail (bytes->data, bytes->len),
				      &scan);
			if (scan.invalid || scan.nul)
				census->bad_utf8++;
		}
	}
}

static gboolean
harness_census_bytes (const guint8 *data, size_t len, HarnessCensus *census, int depth)
{
	g_autoptr (GMimeStream) stream = g_mime_stream_mem_new_with_buffer ((const char *) data, len);
	g_autoptr (GMimeParser) parser = g_mime_parser_new_with_stream (stream);
	g_autoptr (GMimeMessage) message = g_mime_parser_construct_message (parser, NULL);

	if (message == NULL)
		return FALSE;
	harness_census_object (GMIME_OBJECT (message), census, depth);
	return TRUE;
}

static inline gboolean
harness_census (const guint8 *data, size_t len, HarnessCensus *census)
{
	census->names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	census->forged = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	census->bad_utf8 = 0;
	return harness_census_bytes (data, len, census, 0);
}

static inline void
harness_census_clear (HarnessCensus *census)
{
	g_hash_table_unref (census->names);
	g_hash_table_unref (census->forged);
}

static inline guint
harness_text_left_alone (const MimeUtf8Report *report)
{
	guint n = 0;

	for (size_t i = 0; i < mimeutf8_report_get_n_parts (report); i++) {
		const MimeUtf8PartReport *part = mimeutf8_report_get_part (report, i);

		if (part->action == MIMEUTF8_ACTION_LEFT_ALONE)
			n++;
	}
	return n;
}

/* The output of a normalization, compared with its input by an independent reading (GMime's
 * own parse): no new header field, no header that gained a forged line, and no text part
 * labelled utf-8 that is not valid UTF-8 (unless the report left parts alone). */
static inline void
harness_check_output (const guint8 *in, size_t in_len, const guint8 *out, size_t out_len,
		      const MimeUtf8Report *report)
{
	HarnessCensus before, after;
	GHashTableIter iter;
	gpointer key, value;

	if (!harness_census (out, out_len, &after))
		HARNESS_FAIL ("GMime cannot parse the normalized output");
	harness_census (in, in_len, &before);
	g_hash_table_iter_init (&iter, after.names);
	while (g_hash_table_iter_next (&iter, &key, &value)) {
		guint had = GPOINTER_TO_UINT (g_hash_table_lookup (before.names, key));

		if (GPOINTER_TO_UINT (value) > had && !harness_may_add_header (key))
			HARNESS_FAIL ("the output has %u \"%s\" fields, the input %u", GPOINTER_TO_UINT (value),
				      (const char *) key, had);
	}
	g_hash_table_iter_init (&iter, after.forged);
	while (g_hash_table_iter_next (&iter, &key, &value)) {
		guint had = GPOINTER_TO_UINT (g_hash_table_lookup (before.forged, key));

		if (GPOINTER_TO_UINT (value) > had)
			HARNESS_FAIL ("a \"%s\" field gained a NUL, CR or LF", (const char *) key);
	}
	if (after.bad_utf8 > harness_text_left_alone (report))
		HARNESS_FAIL ("%u text parts labelled utf-8 are not valid UTF-8 (%u left alone)",
			      after.bad_utf8, harness_text_left_alone (report));
	harness_census_clear (&before);
	harness_census_clear (&after);
}

/* ---- a strict reader of the output's structure, independent of GMime ----------------------
 *
 * GMime is the library's parser, so a check that reads the output with GMime cannot see where
 * GMime and the bytes part ways (issue 9, items 7, 10, 11, 13).  This reader takes a message as
 * RFC 5322 and RFC 2045/2046 say, and no more leniently:
 *   - the header block ends at the first empty line, or at the first line that is neither a
 *     field ("name:" with a printable ASCII name) nor a fold (a line starting with a blank), or
 *     that holds a NUL or a CR not before LF; such a line starts the body (an mbox From_ line
 *     at the very top is skipped, as Python's email does);
 *   - Content-Type is type "/" subtype *(";" attribute "=" (token / quoted-string)), with
 *     blanks, folds and comments between, read up to the ";" after the charset parameter
 *     (an unquoted value may hold tspecials such as "=", as every reader allows); anything
 *     else up to there (a second Content-Type, text after a value where a ";" belongs, an
 *     empty parameter, an 8-bit byte) makes it malformed, and none means text/plain;
 *   - a multipart body is cut at lines "--" boundary ["--"] followed only by blanks (a CR at
 *     the very end of the input ends a line, as in Python's email and GMime); in a
 *     multipart/digest a part without Content-Type is message/rfc822;
 *   - base64 and quoted-printable decode strictly: a byte outside the alphabet, a partial
 *     group, a stray "=" make the body undecodable; any other transfer encoding is the bytes
 *     as they are (as GMime and Python's email read an unknown one). */

#define HARNESS_STRICT_MAX_LEAVES 512

static gboolean harness_contains (const guint8 *hay, size_t hay_len, const guint8 *needle,
				  size_t needle_len);

typedef struct {
	gboolean text;             /* a text/ type (or none, which is text/plain) */
	gboolean ct_bad;           /* Content-Type malformed or given twice */
	char charset[64];          /* the charset value as read (lower case), "" when none */
	gboolean charset_too_long; /* a value longer than charset[] holds */
	size_t body, body_end;     /* the raw body, in the message read */
	GByteArray *decoded;       /* the transfer-decoded body, NULL when undecodable */
} HarnessLeaf;

typedef struct {
	HarnessLeaf leaves[HARNESS_STRICT_MAX_LEAVES];
	size_t n;
	size_t input_len;
	gboolean overflow;
} HarnessStrict;

static inline gboolean
harness_tspecial (guint8 c)
{
	return strchr ("()<>@,;:\\\"/[]?=", c) != NULL && c != '\0';
}

static inline gboolean
harness_token_char (guint8 c)
{
	return c > 32 && c < 127 && !harness_tspecial (c);
}

/* Skips blanks, folds and (nested, quoted-pair) comments; FALSE on an unclosed comment. */
static inline gboolean
harness_cfws (const guint8 *v, size_t len, size_t *i)
{
	int depth = 0;

	while (*i < len) {
		guint8 c = v[*i];

		if (depth > 0 && c == '\\' && *i + 1 < len)
			(*i)++;
		else if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n')
			break;
		(*i)++;
	}
	return depth == 0;
}

static inline size_t
harness_token (const guint8 *v, size_t len, size_t i)
{
	while (i < len && harness_token_char (v[i]))
		i++;
	return i;
}

/* Reads a Content-Type value as RFC 2045 has it. */
static inline void
harness_strict_content_type (const guint8 *v, size_t len, HarnessLeaf *leaf, gboolean *multipart,
			     gboolean *message, gboolean *digest, char *boundary,
			     size_t boundary_size)
{
	size_t i = 0, t0, t1, s0, s1;
	gboolean have_charset = FALSE;

	*multipart = *message = *digest = FALSE;
	boundary[0] = '\0';
	leaf->text = TRUE; /* an unreadable type is text/plain to RFC 2045 */
	if (!harness_cfws (v, len, &i))
		goto bad;
	t0 = i;
	t1 = i = harness_token (v, len, i);
	if (!harness_cfws (v, len, &i) || i >= len || v[i] != '/')
		goto bad;
	i++;
	if (!harness_cfws (v, len, &i))
		goto bad;
	s0 = i;
	s1 = i = harness_token (v, len, i);
	if (t1 == t0 || s1 == s0)
		goto bad;
	leaf->text = t1 - t0 == 4 && g_ascii_strncasecmp ((const char *) v + t0, "text", 4) == 0;
	*multipart =
		t1 - t0 == 9 && g_ascii_strncasecmp ((const char *) v + t0, "multipart", 9) == 0;
	*message = t1 - t0 == 7 && g_ascii_strncasecmp ((const char *) v + t0, "message", 7) == 0 &&
		   ((s1 - s0 == 6 && g_ascii_strncasecmp ((const char *) v + s0, "rfc822", 6) == 0) ||
		    (s1 - s0 == 6 && g_ascii_strncasecmp ((const char *) v + s0, "global", 6) == 0));
	*digest = *multipart && s1 - s0 == 6 &&
		  g_ascii_strncasecmp ((const char *) v + s0, "digest", 6) == 0;
	for (;;) {
		size_t a0, a1;
		GString *value;

		if (!harness_cfws (v, len, &i))
			goto bad;
		if (i >= len)
			return;
		if (v[i] != ';')
			goto bad;
		/* a malformed parameter after the charset's ";" does not change what the charset
		 * is: readers stop there (the charset itself must end where ";" or the end is) */
		if (have_charset)
			return;
		i++;
		if (!harness_cfws (v, len, &i))
			goto bad;
		if (i >= len)
			return; /* a trailing ";" */
		a0 = i;
		a1 = i = harness_token (v, len, i);
		if (a1 == a0 || !harness_cfws (v, len, &i) || i >= len || v[i] != '=')
			goto bad;
		i++;
		if (!harness_cfws (v, len, &i) || i >= len)
			goto bad;
		value = g_string_new (NULL);
		if (v[i] == '"') {
			for (i++; i < len && v[i] != '"'; i++) {
				if (v[i] == '\\' && i + 1 < len)
					i++;
				else if (v[i] == '\r' || v[i] == '\n')
					continue; /* a fold inside a quoted string */
				g_string_append_c (value, (char) v[i]);
			}
			if (i >= len) {
				g_string_free (value, TRUE);
				goto bad;
			}
			i++;
		} else {
			size_t v0 = i;

			/* every reader takes tspecials such as "=" in an unquoted boundary; what
			 * matters is where the value ends: a blank, a comment, ";" or a quote */
			while (i < len && v[i] > 32 && v[i] < 127 && v[i] != ';' && v[i] != '"' &&
			       v[i] != '(')
				i++;
			if (i == v0) {
				g_string_free (value, TRUE);
				goto bad;
			}
			g_string_append_len (value, (const char *) v + v0, (gssize) (i - v0));
		}
		if (a1 - a0 == 7 && g_ascii_strncasecmp ((const char *) v + a0, "charset", 7) == 0) {
			have_charset = TRUE;
			leaf->charset_too_long = value->len >= sizeof leaf->charset;
			g_strlcpy (leaf->charset, value->str, sizeof leaf->charset);
			for (char *c = leaf->charset; *c; c++)
				*c = g_ascii_tolower (*c);
		} else if (a1 - a0 == 8 &&
			   g_ascii_strncasecmp ((const char *) v + a0, "boundary", 8) == 0) {
			g_strlcpy (boundary, value->str, boundary_size);
		}
		g_string_free (value, TRUE);
	}
bad:
	leaf->ct_bad = TRUE;
	*multipart = *message = *digest = FALSE;
}

static inline int
harness_b64_value (guint8 c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Strict transfer decoding; NULL when the body does not decode. */
static inline GByteArray *
harness_strict_decode (const guint8 *p, size_t len, const char *cte)
{
	GByteArray *out = g_byte_array_sized_new ((guint) len);

	/* 7bit, 8bit, binary, none, and a value no reader knows ("8bits", "quoted printable"):
	 * GMime and Python's email both take the bytes as they are (RFC 2045, 6.4, would make the
	 * part opaque, which a converted body does not harm either) */
	if (g_ascii_strcasecmp (cte, "base64") && g_ascii_strcasecmp (cte, "quoted-printable")) {
		g_byte_array_append (out, p, (guint) len);
		return out;
	}
	if (!g_ascii_strcasecmp (cte, "base64")) {
		guint32 acc = 0;
		int n = 0, pad = 0;

		for (size_t i = 0; i < len; i++) {
			int v = harness_b64_value (p[i]);

			if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')
				continue;
			if (p[i] == '=') {
				pad++;
				continue;
			}
			if (v < 0 || pad > 0)
				goto bad;
			acc = acc << 6 | (guint32) v;
			if (++n == 4) {
				guint8 b[3] = { (guint8) (acc >> 16), (guint8) (acc >> 8), (guint8) acc };

				g_byte_array_append (out, b, 3);
				acc = 0;
				n = 0;
			}
		}
		if (n == 2 && pad == 2) {
			guint8 b = (guint8) (acc >> 4);

			g_byte_array_append (out, &b, 1);
		} else if (n == 3 && pad == 1) {
			guint8 b[2] = { (guint8) (acc >> 10), (guint8) (acc >> 2) };

			g_byte_array_append (out, b, 2);
		} else if (n != 0 || pad != 0) {
			goto bad;
		}
		return out;
	}
	if (!g_ascii_strcasecmp (cte, "quoted-printable")) {
		for (size_t i = 0; i < len; i++) {
			if (p[i] != '=') {
				g_byte_array_append (out, p + i, 1);
				continue;
			}
			if (i + 1 < len && p[i + 1] == '\n') {
				i++;
			} else if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n') {
				i += 2;
			} else if (i + 2 < len && g_ascii_isxdigit (p[i + 1]) &&
				   g_ascii_isxdigit (p[i + 2])) {
				guint8 b = (guint8) (g_ascii_xdigit_value (p[i + 1]) * 16 +
						     g_ascii_xdigit_value (p[i + 2]));

				g_byte_array_append (out, &b, 1);
				i += 2;
			} else if (i + 1 == len) {
				/* a soft break at the very end */
			} else {
				goto bad;
			}
		}
		return out;
	}
bad:
	g_byte_array_unref (out);
	return NULL;
}

/* Start of the line after `i` (len at the end) and the end of its content (before CR LF / LF). */
static inline size_t
harness_line (const guint8 *p, size_t len, size_t i, size_t *content_end)
{
	const guint8 *lf = memchr (p + i, '\n', len - i);
	size_t end = lf ? (size_t) (lf - p) : len;

	*content_end = end > i && lf && p[end - 1] == '\r' ? end - 1 : end;
	return lf ? end + 1 : len;
}

static void harness_strict_entity (const guint8 *p, size_t start, size_t end, HarnessStrict *r,
				   int depth, gboolean in_digest);

static inline void
harness_strict_multipart (const guint8 *p, size_t start, size_t end, const char *boundary,
			  HarnessStrict *r, int depth, gboolean digest)
{
	size_t blen = strlen (boundary), i = start, part_start = 0;
	gboolean in_part = FALSE;

	while (i < end) {
		size_t content_end, next = harness_line (p, end, i, &content_end);

		/* a CR at the very end of the input ends the last line: Python's email (which
		 * takes CR, LF and CR LF as line ends) and GMime read "--b--" CR there as the close
		 * delimiter */
		if (next == r->input_len && content_end == next && content_end > i &&
		    p[content_end - 1] == '\r')
			content_end--;
		if (content_end - i >= blen + 2 && p[i] == '-' && p[i + 1] == '-' &&
		    memcmp (p + i + 2, boundary, blen) == 0) {
			size_t k = i + 2 + blen;
			gboolean close = k + 2 <= content_end && p[k] == '-' && p[k + 1] == '-';

			if (close)
				k += 2;
			while (k < content_end && (p[k] == ' ' || p[k] == '\t'))
				k++;
			if (k == content_end) {
				if (in_part) {
					/* the line break before the delimiter belongs to it */
					size_t part_end = i;

					if (part_end > part_start && p[part_end - 1] == '\n')
						part_end--;
					if (part_end > part_start && p[part_end - 1] == '\r')
						part_end--;
					harness_strict_entity (p, part_start, MAX (part_end, part_start),
							       r, depth + 1, digest);
				}
				if (close)
					return;
				in_part = TRUE;
				part_start = next;
			}
		}
		i = next;
	}
	if (in_part) /* no close delimiter: the last part runs to the end */
		harness_strict_entity (p, part_start, end, r, depth + 1, digest);
}

/* One entity (a message or a body part) in p[start, end); in a multipart/digest, an entity
 * without Content-Type is message/rfc822 (RFC 2046, 5.1.5). */
static void
harness_strict_entity (const guint8 *p, size_t start, size_t end, HarnessStrict *r, int depth,
		       gboolean in_digest)
{
	HarnessLeaf leaf = { 0 };
	size_t i = start, body = end, ct0 = 0, ct1 = 0, cte0 = 0, cte1 = 0;
	int n_ct = 0;
	size_t other_end = 0, *open_end = NULL; /* where the open field's folds end */
	gboolean multipart = FALSE, message = FALSE, digest = FALSE;
	char boundary[256] = "", cte[32] = "";

	if (depth > 40 || r->overflow)
		return;
	/* an mbox From_ line at the very top is no header: Python's email and GMime read past it */
	if (start == 0 && end >= 5 && memcmp (p, "From ", 5) == 0) {
		size_t content_end;

		i = harness_line (p, end, 0, &content_end);
	}
	/* the header block */
	while (i < end) {
		size_t content_end, next = harness_line (p, end, i, &content_end), k;
		gboolean garbage = FALSE;

		if (content_end == i) { /* the empty line */
			body = next;
			break;
		}
		for (k = i; k < content_end; k++)
			if (p[k] == '\0' || (p[k] == '\r'))
				garbage = TRUE;
		if (p[i] == ' ' || p[i] == '\t') {
			if (open_end == NULL)
				garbage = TRUE;
		} else {
			for (k = i; k < content_end && p[k] != ':'; k++)
				if (p[k] <= 32 || p[k] >= 127)
					garbage = TRUE;
			if (k == i || k == content_end)
				garbage = TRUE;
		}
		if (garbage) {
			body = i;
			break;
		}
		if (p[i] != ' ' && p[i] != '\t') {
			size_t colon = (size_t) ((const guint8 *) memchr (p + i, ':', content_end - i) - p);

			open_end = NULL;
			if (colon - i == 12 && !g_ascii_strncasecmp ((const char *) p + i, "content-type", 12)) {
				n_ct++;
				ct0 = colon + 1;
				open_end = &ct1;
			} else if (colon - i == 25 &&
				   !g_ascii_strncasecmp ((const char *) p + i,
							 "content-transfer-encoding", 25)) {
				cte0 = colon + 1;
				open_end = &cte1;
			} else {
				open_end = &other_end;
			}
		}
		*open_end = content_end;
		i = next;
	}
	if (i >= end)
		body = end;
	leaf.text = TRUE; /* no Content-Type: text/plain */
	if (n_ct > 1)
		leaf.ct_bad = TRUE;
	else if (n_ct == 1)
		harness_strict_content_type (p + ct0, ct1 - ct0, &leaf, &multipart, &message,
					     &digest, boundary, sizeof boundary);
	else if (in_digest)
		message = TRUE, leaf.text = FALSE;
	if (cte1 > cte0) {
		size_t a = cte0, b = cte1;

		while (a < b && g_ascii_isspace (p[a]))
			a++;
		while (b > a && g_ascii_isspace (p[b - 1]))
			b--;
		g_strlcpy (cte, (const char *) p + a, MIN (sizeof cte, b - a + 1));
		if (b - a >= sizeof cte)
			g_strlcpy (cte, "unknown", sizeof cte);
	}
	if (multipart && boundary[0] != '\0') {
		harness_strict_multipart (p, body, end, boundary, r, depth, digest);
		return;
	}
	if (message && (cte[0] == '\0' || !g_ascii_strcasecmp (cte, "7bit") ||
			!g_ascii_strcasecmp (cte, "8bit") || !g_ascii_strcasecmp (cte, "binary"))) {
		harness_strict_entity (p, body, end, r, depth + 1, FALSE);
		return;
	}
	if (r->n >= HARNESS_STRICT_MAX_LEAVES) {
		r->overflow = TRUE;
		return;
	}
	leaf.body = body;
	leaf.body_end = end;
	leaf.decoded = leaf.text ? harness_strict_decode (p + body, end - body, cte) : NULL;
	r->leaves[r->n++] = leaf;
}

static inline void
harness_strict_read (const guint8 *p, size_t len, HarnessStrict *r)
{
	r->n = 0;
	r->input_len = len;
	r->overflow = FALSE;
	harness_strict_entity (p, 0, len, r, 0, FALSE);
}

static inline void
harness_strict_clear (HarnessStrict *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->leaves[i].decoded != NULL)
			g_byte_array_unref (r->leaves[i].decoded);
	r->n = 0;
}

static inline gboolean
harness_is_utf8_label (const char *cs)
{
	return !strcmp (cs, "utf-8") || !strcmp (cs, "utf8");
}

/* The output's text parts as the strict reader reads them: each is UTF-8 by its label (valid,
 * no NUL), or pure ASCII under no label or us-ascii, or, as the input's part at the same place
 * (same raw body, same label as read), untouched.  A text part the library changed into
 * anything else (a label a strict reader reads as junk or as the old charset, a utf-8 label
 * over bytes it did not convert, a body that no longer decodes) fails. */
static inline void
harness_check_strict (const guint8 *in, size_t in_len, const guint8 *out, size_t out_len)
{
	static HarnessStrict before, after; /* large: not on the stack */
	gboolean paired;

	harness_strict_read (in, in_len, &before);
	harness_strict_read (out, out_len, &after);
	paired = before.n == after.n && !before.overflow && !after.overflow;
	for (size_t k = 0; k < after.n; k++) {
		const HarnessLeaf *o = &after.leaves[k];
		const HarnessLeaf *i = paired ? &before.leaves[k] : NULL;
		gboolean untouched;
		_MimeUtf8Scan scan;

		if (!o->text)
			continue;
		untouched = i != NULL && i->ct_bad == o->ct_bad && !strcmp (i->charset, o->charset) &&
			    harness_same (in + i->body, i->body_end - i->body, out + o->body,
					  o->body_end - o->body);
		if (i == NULL && !o->ct_bad && !harness_is_utf8_label (o->charset))
			/* unpaired (a message/rfc822 written back decoded moves parts): a body
			 * found verbatim in the input under a non-utf-8 label was not converted */
			untouched = harness_contains (in, in_len, out + o->body, o->body_end - o->body);
		if (untouched)
			continue;
		if (o->ct_bad || o->charset_too_long)
			HARNESS_FAIL ("strict reader: text part %zu has a Content-Type it cannot read, "
				      "and the library changed the part", k + 1);
		if (o->decoded == NULL)
			HARNESS_FAIL ("strict reader: the body of changed text part %zu does not "
				      "decode", k + 1);
		harness_scan (o->decoded->data, o->decoded->len, &scan);
		if (harness_is_utf8_label (o->charset)) {
			if (scan.invalid != 0 || scan.nul != 0)
				HARNESS_FAIL ("strict reader: text part %zu is labelled utf-8 but is "
					      "not valid UTF-8 (%zu invalid, %zu NUL)",
					      k + 1, scan.invalid, scan.nul);
		} else if (o->charset[0] == '\0' || !strcmp (o->charset, "us-ascii")) {
			if (_mimeutf8_count_high (o->decoded->data, o->decoded->len) != 0 ||
			    scan.nul != 0)
				HARNESS_FAIL ("strict reader: changed text part %zu is not ASCII "
					      "under %s", k + 1,
					      o->charset[0] ? "us-ascii" : "no charset label");
		} else {
			HARNESS_FAIL ("strict reader: changed text part %zu reads as charset \"%s\"",
				      k + 1, o->charset);
		}
	}
	harness_strict_clear (&before);
	harness_strict_clear (&after);
}

static inline void
harness_options (uint64_t h, MimeUtf8Options *options)
{
	static const MimeUtf8Options defaults = MIMEUTF8_OPTIONS_INIT;

	*options = defaults;
	options->policy = (MimeUtf8Policy) (h % 3);
	options->force_7bit = (h >> 2) & 1;
	options->headers = (MimeUtf8HeaderMode) ((h >> 3) % 3);
	options->convert_signed = ((h >> 5) & 7) == 0;
}

/* The in-place API on GMime's own parse: no crash, no hang, no FAILED; GMime then writes it. */
static inline void
harness_normalize_in_place (const MimeUtf8Options *options, const uint8_t *data, size_t size)
{
	g_autoptr (GMimeStream) stream = g_mime_stream_mem_new_with_buffer ((const char *) data, size);
	g_autoptr (GMimeParser) parser = g_mime_parser_new_with_stream (stream);
	g_autoptr (GMimeMessage) message = g_mime_parser_construct_message (parser, NULL);
	g_autoptr (MimeUtf8Report) report = NULL;
	g_autofree char *written = NULL;
	GError *error = NULL;
	MimeUtf8Status status;

	if (message == NULL)
		return;
	status = mimeutf8_normalize_message (options, message, &report, &error);
	if (status == MIMEUTF8_STATUS_FAILED)
		HARNESS_FAIL ("normalize_message FAILED: %s", error ? error->message : "(no error)");
	g_clear_error (&error);
	if (report == NULL)
		HARNESS_FAIL ("normalize_message gave no report");
	harness_check_report_json (report);
	written = g_mime_object_to_string (GMIME_OBJECT (message), NULL);
	if (written == NULL)
		HARNESS_FAIL ("GMime cannot write the message normalized in place");
}

/* The parsed view of the same input (mimeutf8_parse): never NULL for valid options; the status
 * of the normalization when it reads signed content too; every text strictly valid UTF-8 without
 * NUL, as long as its record says; every header and address valid UTF-8; a leaf's bytes as long
 * as its size. */
static inline void
harness_check_view_message (const MimeUtf8Message *message)
{
	const MimeUtf8Address *list;
	size_t i, n;

	for (i = 0; i < mimeutf8_message_get_n_headers (message); i++) {
		const char *name, *value = mimeutf8_message_get_header_at (message, i, &name);

		if (!g_utf8_validate (value, -1, NULL) || !g_utf8_validate (name, -1, NULL))
			HARNESS_FAIL ("view: header %zu is not UTF-8", i);
	}
	n = mimeutf8_message_get_addresses (message, "to", &list);
	for (i = 0; i < n; i++)
		if (!g_utf8_validate (list[i].name, -1, NULL) ||
		    !g_utf8_validate (list[i].address, -1, NULL))
			HARNESS_FAIL ("view: address %zu is not UTF-8", i);
	for (i = 0; i < mimeutf8_message_get_n_parts (message); i++) {
		const MimeUtf8Part *part = mimeutf8_message_get_part (message, i);
		size_t len;
		const char *text = mimeutf8_part_get_text (part, &len);
		g_autoptr (GBytes) bytes = mimeutf8_part_get_bytes (part);

		if (text != NULL && (!g_utf8_validate (text, (gssize) len, NULL) ||
				     memchr (text, 0, len) != NULL))
			HARNESS_FAIL ("view: the text of part %s is not UTF-8 without NUL",
				      mimeutf8_part_get_path (part));
		if (g_bytes_get_size (bytes) != mimeutf8_part_get_size (part))
			HARNESS_FAIL ("view: part %s has %zu bytes, its size says %" G_GUINT64_FORMAT,
				      mimeutf8_part_get_path (part), g_bytes_get_size (bytes),
				      (guint64) mimeutf8_part_get_size (part));
		if (mimeutf8_part_get_message (part) != NULL)
			harness_check_view_message (mimeutf8_part_get_message (part));
	}
	(void) mimeutf8_message_get_body (message, "plain");
	(void) mimeutf8_message_get_attachments (message, NULL);
}

static inline void
harness_view (const MimeUtf8Options *options, const uint8_t *data, size_t size,
	      MimeUtf8Status status)
{
	GError *error = NULL;
	MimeUtf8Message *message = mimeutf8_parse (options, data, size, &error);

	if (message == NULL)
		HARNESS_FAIL ("mimeutf8_parse gave NULL: %s", error ? error->message : "(no error)");
	if (options->convert_signed && mimeutf8_message_get_status (message) != status)
		HARNESS_FAIL ("the view's status %s is not the normalization's %s",
			      mimeutf8_status_name (mimeutf8_message_get_status (message)),
			      mimeutf8_status_name (status));
	harness_check_view_message (message);
	mimeutf8_message_free (message);
}

/* fuzz-view's input: the view under the options fuzz-normalize would use for it. */
static inline void
harness_view_input (const uint8_t *data, size_t size)
{
	g_autoptr (GByteArray) out = g_byte_array_new ();
	MimeUtf8Options options;
	MimeUtf8Status status;
	GError *error = NULL;

	harness_options (harness_hash (data, size), &options);
	status = mimeutf8_normalize_buffer (&options, data, size, out, NULL, &error);
	g_clear_error (&error);
	harness_view (&options, data, size, status);
}

/* A message proven unchanged without GMime (fastpath.c) gets from the GMime way the same status,
 * bytes and report. */
static inline void
harness_fast_path_agrees (const MimeUtf8Options *options, const uint8_t *data, size_t size,
			  MimeUtf8Report *report)
{
	g_autoptr (GByteArray) slow = g_byte_array_new ();
	g_autoptr (MimeUtf8Report) slow_report = NULL;
	g_autofree char *json = NULL, *slow_json = NULL;
	MimeUtf8Status status;

	if (!_mimeutf8_fast_path_proves (options, data, size))
		return;
	_mimeutf8_fast_path_off = TRUE;
	status = mimeutf8_normalize_buffer (options, data, size, slow, &slow_report, NULL);
	_mimeutf8_fast_path_off = FALSE;
	json = mimeutf8_report_to_json (report, "m");
	slow_json = mimeutf8_report_to_json (slow_report, "m");
	if (status != MIMEUTF8_STATUS_UNCHANGED || !harness_same (slow->data, slow->len, data, size))
		HARNESS_FAIL ("proved unchanged without GMime, but the GMime way says %s",
			      mimeutf8_status_name (status));
	if (strcmp (json, slow_json) != 0)
		HARNESS_FAIL ("the reports differ:\n  fast:  %s\n  GMime: %s", json, slow_json);
}

static inline void
harness_normalize (const uint8_t *data, size_t size)
{
	g_autoptr (GByteArray) out = g_byte_array_new ();
	g_autoptr (GByteArray) again = g_byte_array_new ();
	g_autoptr (MimeUtf8Report) report = NULL;
	g_autoptr (MimeUtf8Report) report2 = NULL;
	MimeUtf8Options options;
	MimeUtf8Status status, status2;
	GError *error = NULL;

	harness_options (harness_hash (data, size), &options);
	status = mimeutf8_normalize_buffer (&options, data, size, out, &report, &error);
	if (report == NULL)
		HARNESS_FAIL ("normalize_buffer gave no report");
	if (status == MIMEUTF8_STATUS_FAILED)
		HARNESS_FAIL ("normalize_buffer FAILED: %s", error ? error->message : "(no error)");
	if (mimeutf8_report_get_status (report) != status)
		HARNESS_FAIL ("the report's status %d is not the returned %d",
			      mimeutf8_report_get_status (report), status);
	if ((status == MIMEUTF8_STATUS_PASSTHROUGH) != (error != NULL))
		HARNESS_FAIL ("status %d with%s an error", status, error ? "" : "out");
	if (status == MIMEUTF8_STATUS_PASSTHROUGH && mimeutf8_report_get_reason (report) == NULL)
		HARNESS_FAIL ("passthrough without a reason");
	g_clear_error (&error);
	harness_check_report_json (report);
	if (status != MIMEUTF8_STATUS_NORMALIZED) {
		if (!harness_same (out->data, out->len, data, size))
			HARNESS_FAIL ("status %s but the output (%u bytes) is not the input (%zu)",
				      mimeutf8_status_name (status), out->len, size);
		if (status == MIMEUTF8_STATUS_UNCHANGED)
			harness_fast_path_agrees (&options, data, size, report);
		harness_normalize_in_place (&options, data, size);
		return;
	}
	if (harness_same (out->data, out->len, data, size))
		HARNESS_FAIL ("status normalized but the output is the input");
	harness_check_output (data, size, out->data, out->len, report);
	harness_check_strict (data, size, out->data, out->len);

	/* idempotence: the output needs nothing more */
	status2 = mimeutf8_normalize_buffer (&options, out->data, out->len, again, &report2, &error);
	g_clear_error (&error);
	if (status2 == MIMEUTF8_STATUS_FAILED || status2 == MIMEUTF8_STATUS_NORMALIZED ||
	    !harness_same (again->data, again->len, out->data, out->len))
		HARNESS_FAIL ("not idempotent: the second run says %s and gives %u bytes for %u",
			      mimeutf8_status_name (status2), again->len, out->len);
	if (status2 == MIMEUTF8_STATUS_UNCHANGED) {
		for (size_t i = 0; i < mimeutf8_report_get_n_parts (report2); i++) {
			const MimeUtf8PartReport *part = mimeutf8_report_get_part (report2, i);

			if (g_str_has_prefix (part->content_type, "text/") &&
			    part->action != MIMEUTF8_ACTION_ALREADY_UTF8 &&
			    part->action != MIMEUTF8_ACTION_LEFT_ALONE)
				HARNESS_FAIL ("after normalization, text part %s is %s", part->path,
					      mimeutf8_action_name (part->action));
		}
	}
	harness_normalize_in_place (&options, data, size);
}

/* ---- headers ------------------------------------------------------------------------------- */

/* TRUE when `needle` occurs in `hay` (memmem, which needs _GNU_SOURCE before every include). */
static gboolean
harness_contains (const guint8 *hay, size_t hay_len, const guint8 *needle, size_t needle_len)
{
	size_t i;

	for (i = 0; i + needle_len <= hay_len; i++)
		if (memcmp (hay + i, needle, needle_len) == 0)
			return TRUE;
	return FALSE;
}

static inline size_t
harness_count_bytes (const guint8 *data, size_t len, guint8 byte, gboolean bare_cr)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (data[i] == byte && (!bare_cr || i + 1 == len || data[i + 1] != '\n'))
			n++;
	return n;
}

static inline gboolean
harness_blank_line (const guint8 *data, size_t len)
{
	/* a line of the field that holds nothing but blanks (RFC 5322 3.2.2 forbids it) */
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		size_t j = i + 1;

		while (j < len && (data[j] == ' ' || data[j] == '\t'))
			j++;
		if (j == len || data[j] == '\n' || (data[j] == '\r' && j + 1 < len && data[j + 1] == '\n'))
			return TRUE;
	}
	return FALSE;
}

static inline void
harness_headers (const uint8_t *data, size_t size)
{
	const uint8_t *colon = memchr (data, ':', size < 128 ? size : 128);
	g_autofree char *name = colon && colon > data
					? g_strndup ((const char *) data, (gsize) (colon - data))
					: g_strdup ("Subject");
	const guint8 *value = colon && colon > data ? colon + 1 : data;
	size_t len = size - (size_t) (value - data);
	uint64_t h = harness_hash (data, size);
	const _MimeUtf8Charset *all, *eight_bit, *fallback;
	const char *newline = (h >> 12) & 1 ? "\r\n" : "\n";
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	_MimeUtf8HeaderChange change, change2;
	GString *result, *again;
	size_t n_all;

	if (_mimeutf8_header_normalize == NULL)
		return;
	/* where a real field would end */
	for (size_t i = 0; i < len; i++)
		if (value[i] == '\n' && (i + 1 == len || (value[i + 1] != ' ' && value[i + 1] != '\t'))) {
			len = i;
			if (len > 0 && value[len - 1] == '\r')
				len--;
			break;
		}
	all = _mimeutf8_charset_all (&n_all);
	eight_bit = (h >> 2) % 4 == 0 ? NULL : &all[(h >> 4) % n_all];
	fallback = (h >> 20) % 2 ? _mimeutf8_fallback (NULL) : &all[(h >> 24) % n_all];
	options.headers = (MimeUtf8HeaderMode) (h % 3);
	memset (&change, 0, sizeof change);
	result = _mimeutf8_header_normalize (name, (const char *) value, len, &options, eight_bit,
					     fallback, newline, &change);
	if (result == NULL)
		return;
	if (options.headers == MIMEUTF8_HEADERS_KEEP)
		HARNESS_FAIL ("headers: KEEP mode rewrote \"%s\"", name);
	if (change.limit_hit)
		HARNESS_FAIL ("headers: a limit was hit but \"%s\" was rewritten", name);
	if (result->len > 16 * len + 4096)
		HARNESS_FAIL ("headers: %zu bytes became %zu", len, result->len);
	{
		const guint8 *r = (const guint8 *) result->str;
		size_t n = result->len;

		if (memchr (r, 0, n) != NULL && harness_count_bytes (r, n, 0, FALSE) >
							harness_count_bytes (value, len, 0, FALSE))
			HARNESS_FAIL ("headers: \"%s\" gained a NUL", name);
		if (harness_count_bytes (r, n, '\r', TRUE) > harness_count_bytes (value, len, '\r', TRUE))
			HARNESS_FAIL ("headers: \"%s\" gained a bare CR", name);
		for (size_t i = 0; i < n; i++)
			if (r[i] == '\n' && (i + 1 == n || (r[i + 1] != ' ' && r[i + 1] != '\t')))
				HARNESS_FAIL ("headers: \"%s\" has a newline that is not folding at %zu: "
					      "%.200s",
					      name, i, result->str);
		if (harness_blank_line (r, n) && !harness_blank_line (value, len))
			HARNESS_FAIL ("headers: \"%s\" has a line of blanks only: %.200s", name,
				      result->str);
		if (options.headers == MIMEUTF8_HEADERS_UTF8) {
			/* invalid UTF-8 only where the input had it, byte for byte: an addr-spec, or
			 * a piece too malformed to read, is never touched */
			for (size_t i = 0; i < n;) {
				int bad = _mimeutf8_utf8_invalid_len (r + i, n - i);
				size_t j = i;

				if (bad == 0) {
					i += g_utf8_skip[r[i]];
					continue;
				}
				while (j < n && _mimeutf8_utf8_invalid_len (r + j, n - j) != 0)
					j++;
				if (!harness_contains ((const guint8 *) value, len, r + i, j - i))
					HARNESS_FAIL ("headers: UTF8 mode wrote invalid UTF-8: %.200s",
						      result->str);
				i = j;
			}
		} else {
			/* 8-bit bytes only where the input had them, byte for byte: an addr-spec
			 * (RFC 6531) is never touched */
			for (size_t i = 0; i < n; i++) {
				size_t j = i;

				if (r[i] < 0x80)
					continue;
				while (j < n && r[j] >= 0x80)
					j++;
				if (!harness_contains (value, len, r + i, j - i))
					HARNESS_FAIL ("headers: ENCODED mode wrote 8-bit byte 0x%02x at "
						      "%zu: %.200s",
						      r[i], i, result->str);
				i = j;
			}
		}
	}
	/* the normal form is normal */
	memset (&change2, 0, sizeof change2);
	again = _mimeutf8_header_normalize (name, result->str, result->len, &options, eight_bit,
					    fallback, newline, &change2);
	if (again != NULL && !harness_same (again->str, again->len, result->str, result->len))
		HARNESS_FAIL ("headers: not idempotent:\n  first:  %.300s\n  second: %.300s", result->str,
			      again->str);
	if (again != NULL)
		g_string_free (again, TRUE);
	g_string_free (result, TRUE);
}

/* ---- once per process ---------------------------------------------------------------------- */

/* Fills the library's and GMime's one-time caches (single-byte tables, iconv descriptors, GType
 * classes), so that a leak checker run after each input does not count them. */
static inline void
harness_warm_up (void)
{
	static const char message[] =
		"From: a@example.com\nSubject: =?iso-8859-1?q?caf=E9?=\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=b\n\n--b\n"
		"Content-Type: text/plain; charset=iso-8859-1; name*=iso-8859-1''%E9\n\ncaf\xe9\n--b\n"
		"Content-Type: message/rfc822\n\nSubject: x\n\nhi\n--b--\n";
	const _MimeUtf8Charset *all;
	size_t n;

	all = _mimeutf8_charset_all (&n);
	for (size_t i = 0; i < n; i++) {
		g_autoptr (GByteArray) out = g_byte_array_new ();

		mimeutf8_convert (all[i].name, "abc\xe9\xff", 5, out, NULL, NULL);
	}
	harness_normalize ((const uint8_t *) message, sizeof message - 1);
}

#endif /* MIMEUTF8_FUZZ_HARNESS_H */
