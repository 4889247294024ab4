/* plan.c: the plan for one text part: its body decoded from its transfer encoding, its charset
 * decided (decide.c), its text converted (translator.c) and the transfer encoding it goes out in. */
#include <string.h>

#include "walk.h"

/* Lines longer than this break RFC 5322; a body with one is sent as quoted-printable. */
#define MAX_LINE 998

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
void
_mimeutf8_decode_body (Walk *walk, GMimePart *part, TextPlan *plan)
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
	in_bounds = _mimeutf8_source_bounds (walk, stream, &start, &end, &plan->leave_reason);
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
		_mimeutf8_release_pages (walk, start, end);
		return;
	}
	if (plan->encoding_in == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE && in_bounds) {
		/* decoded straight from the message's bytes, in the bounds checked above */
		gboolean exact;
		size_t n;

		plan->decoded_copy = g_byte_array_sized_new ((guint) (end - start) + 16);
		n = _mimeutf8_qp_decode (walk->raw + start, end - start, plan->decoded_copy->data,
					 &exact);
		g_byte_array_set_size (plan->decoded_copy, (guint) n);
		plan->decoded = n > 0 ? plan->decoded_copy->data : (const guint8 *) "";
		plan->decoded_len = n;
		/* a stray '=' that GMime kept as text is written anew ("=3D") if the part changes:
		 * under a new label a strict reader could not decode it */
		plan->reencode = !exact;
		_mimeutf8_release_pages (walk, start, end);
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
const char *
_mimeutf8_part_label (Walk *walk, GMimeObject *object)
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
	static const char *const names[] = { "us-ascii",
					     "ascii",
					     "us",
					     "ansi_x3.4-1968",
					     "ansi_x3.4-1986",
					     "iso-ir-6",
					     "iso_646.irv:1991",
					     "iso646-us",
					     "ibm367",
					     "cp367",
					     "csascii",
					     "646" };

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
gboolean
_mimeutf8_plan_text_part (Walk *walk, GMimePart *part, MimeUtf8PartReport *record, TextPlan *plan)
{
	GMimeObject *object = GMIME_OBJECT (part);
	const char *label = _mimeutf8_part_label (walk, object);
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
	record->encoding_in = _mimeutf8_encoding_name (plan->encoding_in);
	record->encoding_out = record->encoding_in;
	if (plan->encoding_in == GMIME_CONTENT_ENCODING_UUENCODE) {
		record->action = MIMEUTF8_ACTION_LEFT_ALONE;
		record->reason = "uuencoded";
		return FALSE;
	}
	_mimeutf8_decode_body (walk, part, plan);
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
			record->encoding_out = _mimeutf8_encoding_name (plan->encoding_out);
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
		_mimeutf8_decision_convert (&decision, translator, plan->decoded, plan->decoded_len,
					    plan->converted);
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
	record->encoding_out = _mimeutf8_encoding_name (plan->encoding_out);
	return TRUE;
}
