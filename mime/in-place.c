/* in-place.c: a text part's plan applied to a parsed GMimeMessage instead of to the input's bytes
 * (mimeutf8_normalize_message): GMime's setters, with raw header values GMime may parse again. */
#include <string.h>

#include "walk.h"

/* TRUE when GMime, given `value` as the raw value of header `name`, would open no converter outside
 * the label table: setting a raw value makes GMime parse it again, and here no private copy can
 * stand in for it (iconv-guard.c). */
static gboolean
gmime_may_parse (const char *name, const char *value)
{
	g_autofree char *field = g_strconcat (name, ":", value, NULL);
	g_autoptr (GArray) spans = g_array_new (FALSE, FALSE, sizeof (_MimeUtf8Span));

	return !_mimeutf8_guard_scan ((const guint8 *) field, strlen (field), FALSE, spans);
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

void
_mimeutf8_rewrite_header_in_place (Walk *walk, GMimeObject *object, GMimeHeader *header,
				   const char *path)
{
	const char *raw = g_mime_header_get_raw_value (header);
	size_t n_headers = mimeutf8_report_get_n_headers (walk->report);
	GString *value;

	if (_mimeutf8_header_kept_as_is (object, g_mime_header_get_name (header), raw,
					 raw_value_len (raw)))
		return;
	value = _mimeutf8_header_text (walk, path, g_mime_header_get_name (header), raw,
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
 * Content-Type is written as in splice mode (_mimeutf8_rewrite_content_type); a part whose new Content-Type
 * GMime may not parse is left alone. */
void
_mimeutf8_apply_in_place (Walk *walk, GMimePart *part, TextPlan *plan, MimeUtf8PartReport *record)
{
	GMimeObject *object = GMIME_OBJECT (part);
	GMimeHeader *header = g_mime_header_list_get_header (g_mime_object_get_header_list (object),
							     "Content-Type");
	size_t n_headers = mimeutf8_report_get_n_headers (walk->report);

	if (_mimeutf8_plan_edits_a_repeated_header (plan, object)) {
		_mimeutf8_report_undo (walk->report, mimeutf8_report_get_n_parts (walk->report) - 1,
				       n_headers, "malformed header block: a header given twice");
		return;
	}
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
		value = _mimeutf8_rewrite_content_type (walk, record->path, raw,
							raw_value_len (raw), "\n", NULL);
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
