/* report.c: the per-message, per-part record of what normalization did, and its JSON Lines form. */
#include <string.h>

#include "mimeutf8-private.h"

struct _MimeUtf8Report {
	MimeUtf8Status status;
	char *reason;
	uint64_t bytes_in;
	uint64_t bytes_out;
	GPtrArray *parts;      /* of MimeUtf8PartReport, freed with g_free */
	GPtrArray *headers;    /* of MimeUtf8HeaderReport, freed with g_free */
	GStringChunk *strings; /* every string a part record points to */
	gboolean dkim_invalidated;
};

MimeUtf8Report *
_mimeutf8_report_new (void)
{
	MimeUtf8Report *report = g_new0 (MimeUtf8Report, 1);

	report->status = MIMEUTF8_STATUS_UNCHANGED;
	report->parts = g_ptr_array_new_with_free_func (g_free);
	report->headers = g_ptr_array_new_with_free_func (g_free);
	report->strings = g_string_chunk_new (256);
	return report;
}

MimeUtf8Report *
mimeutf8_report_new_passthrough (const char *reason, uint64_t size)
{
	MimeUtf8Report *report = _mimeutf8_report_new ();

	_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_PASSTHROUGH, reason);
	_mimeutf8_report_set_bytes (report, size, size);
	return report;
}

void
mimeutf8_report_free (MimeUtf8Report *report)
{
	if (report == NULL)
		return;
	g_ptr_array_unref (report->parts);
	g_ptr_array_unref (report->headers);
	g_string_chunk_free (report->strings);
	g_free (report->reason);
	g_free (report);
}

const char *
_mimeutf8_report_intern (MimeUtf8Report *report, const char *value)
{
	return value != NULL ? g_string_chunk_insert_const (report->strings, value) : NULL;
}

MimeUtf8PartReport *
_mimeutf8_report_add_part (MimeUtf8Report *report, const char *path, const char *content_type,
			   const char *declared_charset)
{
	MimeUtf8PartReport *part = g_new0 (MimeUtf8PartReport, 1);

	part->path = _mimeutf8_report_intern (report, path);
	part->content_type = _mimeutf8_report_intern (report, content_type);
	part->declared_charset = _mimeutf8_report_intern (report, declared_charset);
	part->first_replacement = -1;
	g_ptr_array_add (report->parts, part);
	return part;
}

MimeUtf8HeaderReport *
_mimeutf8_report_add_header (MimeUtf8Report *report, const char *path, const char *name,
			     const char *rule, const char *charset)
{
	MimeUtf8HeaderReport *header = g_new0 (MimeUtf8HeaderReport, 1);

	header->path = _mimeutf8_report_intern (report, path);
	header->name = _mimeutf8_report_intern (report, name);
	header->rule = _mimeutf8_report_intern (report, rule);
	header->charset = _mimeutf8_report_intern (report, charset);
	g_ptr_array_add (report->headers, header);
	return header;
}

void
_mimeutf8_report_set_status (MimeUtf8Report *report, MimeUtf8Status status, const char *reason)
{
	report->status = status;
	g_free (report->reason);
	report->reason = g_strdup (reason);
}

void
_mimeutf8_report_set_bytes (MimeUtf8Report *report, uint64_t bytes_in, uint64_t bytes_out)
{
	report->bytes_in = bytes_in;
	report->bytes_out = bytes_out;
}

MimeUtf8Status
mimeutf8_report_get_status (const MimeUtf8Report *report)
{
	return report->status;
}

const char *
mimeutf8_report_get_reason (const MimeUtf8Report *report)
{
	return report->reason;
}

uint64_t
mimeutf8_report_get_bytes_in (const MimeUtf8Report *report)
{
	return report->bytes_in;
}

uint64_t
mimeutf8_report_get_bytes_out (const MimeUtf8Report *report)
{
	return report->bytes_out;
}

size_t
mimeutf8_report_get_n_parts (const MimeUtf8Report *report)
{
	return report->parts->len;
}

const MimeUtf8PartReport *
mimeutf8_report_get_part (const MimeUtf8Report *report, size_t index)
{
	g_return_val_if_fail (index < report->parts->len, NULL);
	return g_ptr_array_index (report->parts, index);
}

void
_mimeutf8_report_set_dkim_invalidated (MimeUtf8Report *report, gboolean invalidated)
{
	report->dkim_invalidated = invalidated;
}

void
_mimeutf8_report_undo (MimeUtf8Report *report, size_t first_part, size_t first_header,
		       const char *reason)
{
	guint i;

	for (i = (guint) first_part; i < report->parts->len; i++) {
		MimeUtf8PartReport *part = g_ptr_array_index (report->parts, i);

		if (part->action != MIMEUTF8_ACTION_CONVERTED)
			continue;
		part->action = MIMEUTF8_ACTION_LEFT_ALONE;
		part->reason = _mimeutf8_report_intern (report, reason);
		part->encoding_out = part->encoding_in;
		part->bytes_out = part->bytes_in;
	}
	if (first_header < report->headers->len)
		g_ptr_array_set_size (report->headers, (guint) first_header);
}

gboolean
mimeutf8_report_get_dkim_invalidated (const MimeUtf8Report *report)
{
	return report->dkim_invalidated;
}

size_t
mimeutf8_report_get_n_headers (const MimeUtf8Report *report)
{
	return report->headers->len;
}

const MimeUtf8HeaderReport *
mimeutf8_report_get_header (const MimeUtf8Report *report, size_t index)
{
	g_return_val_if_fail (index < report->headers->len, NULL);
	return g_ptr_array_index (report->headers, index);
}

static const char *const status_names[] = {
	[MIMEUTF8_STATUS_NORMALIZED] = "normalized",
	[MIMEUTF8_STATUS_UNCHANGED] = "unchanged",
	[MIMEUTF8_STATUS_PASSTHROUGH] = "passthrough",
	[MIMEUTF8_STATUS_FAILED] = "failed",
};

static const char *const action_names[] = {
	[MIMEUTF8_ACTION_CONVERTED] = "converted",
	[MIMEUTF8_ACTION_ALREADY_UTF8] = "already-utf8",
	[MIMEUTF8_ACTION_NOT_TEXT] = "not-text",
	[MIMEUTF8_ACTION_LEFT_ALONE] = "left-alone",
};

static const char *const rule_names[] = {
	[MIMEUTF8_RULE_NONE] = "none",       [MIMEUTF8_RULE_BOM] = "bom",
	[MIMEUTF8_RULE_ASCII] = "ascii",     [MIMEUTF8_RULE_UTF8] = "utf8",
	[MIMEUTF8_RULE_LABEL] = "label",     [MIMEUTF8_RULE_DETECTED] = "detected",
	[MIMEUTF8_RULE_META] = "meta",       [MIMEUTF8_RULE_FALLBACK] = "fallback",
	[MIMEUTF8_RULE_MESSAGE] = "message",
};

#define NAME_OF(table, value)                                                                      \
	((unsigned int) (value) < G_N_ELEMENTS (table) && (table)[value] ? (table)[value]          \
									 : "unknown")

const char *
mimeutf8_status_name (MimeUtf8Status status)
{
	return NAME_OF (status_names, status);
}

const char *
mimeutf8_action_name (MimeUtf8Action action)
{
	return NAME_OF (action_names, action);
}

const char *
mimeutf8_rule_name (MimeUtf8Rule rule)
{
	return NAME_OF (rule_names, rule);
}

/* A JSON string; bytes that are not UTF-8 (a label from the message can be anything) become
 * U+FFFD so that every line of the report is valid JSON. */
static void
json_string (GString *json, const char *value)
{
	const char *p, *end;

	if (value == NULL) {
		g_string_append (json, "null");
		return;
	}
	g_string_append_c (json, '"');
	p = value;
	end = value + strlen (value);
	while (p < end) {
		unsigned char c = (unsigned char) *p;

		if (c >= 0x80) {
			/* one character at a time: a run of valid UTF-8 may hold control bytes */
			int n = g_utf8_skip[c];

			if (end - p < n || !g_utf8_validate (p, n, NULL)) {
				g_string_append (json, "\\ufffd");
				p++;
				continue;
			}
			g_string_append_len (json, p, n);
			p += n;
			continue;
		}
		if (c == '"' || c == '\\')
			g_string_append_printf (json, "\\%c", c);
		else if (c < 0x20)
			g_string_append_printf (json, "\\u%04x", c);
		else
			g_string_append_c (json, (char) c);
		p++;
	}
	g_string_append_c (json, '"');
}

static void
json_key (GString *json, const char *key)
{
	if (json->len > 0 && json->str[json->len - 1] != '{')
		g_string_append_c (json, ',');
	json_string (json, key);
	g_string_append_c (json, ':');
}

static void
json_key_string (GString *json, const char *key, const char *value)
{
	json_key (json, key);
	json_string (json, value);
}

static void
json_key_int (GString *json, const char *key, int64_t value)
{
	json_key (json, key);
	g_string_append_printf (json, "%" G_GINT64_FORMAT, (gint64) value);
}

char *
mimeutf8_report_to_json (const MimeUtf8Report *report, const char *name)
{
	GString *json = g_string_sized_new (256);
	guint i;

	g_string_append_c (json, '{');
	json_key_string (json, "name", name);
	json_key_string (json, "status", mimeutf8_status_name (report->status));
	json_key_string (json, "reason", report->reason);
	json_key_int (json, "bytes_in", (int64_t) report->bytes_in);
	json_key_int (json, "bytes_out", (int64_t) report->bytes_out);
	json_key (json, "dkim_invalidated");
	g_string_append (json, report->dkim_invalidated ? "true" : "false");
	json_key (json, "parts");
	g_string_append_c (json, '[');
	for (i = 0; i < report->parts->len; i++) {
		const MimeUtf8PartReport *part = g_ptr_array_index (report->parts, i);

		if (i > 0)
			g_string_append_c (json, ',');
		g_string_append_c (json, '{');
		json_key_string (json, "path", part->path);
		json_key_string (json, "type", part->content_type);
		json_key_string (json, "declared", part->declared_charset);
		json_key_string (json, "charset", part->charset);
		json_key_string (json, "action", mimeutf8_action_name (part->action));
		json_key_string (json, "reason", part->reason);
		json_key_string (json, "rule", mimeutf8_rule_name (part->rule));
		json_key_string (json, "detected", part->detected);
		json_key_string (json, "encoding_in", part->encoding_in);
		json_key_string (json, "encoding_out", part->encoding_out);
		json_key_int (json, "bytes_in", (int64_t) part->bytes_in);
		json_key_int (json, "bytes_out", (int64_t) part->bytes_out);
		json_key_int (json, "replacements", (int64_t) part->replacements);
		json_key_int (json, "first_replacement", part->first_replacement);
		g_string_append_c (json, '}');
	}
	g_string_append_c (json, ']');
	json_key (json, "headers");
	g_string_append_c (json, '[');
	for (i = 0; i < report->headers->len; i++) {
		const MimeUtf8HeaderReport *header = g_ptr_array_index (report->headers, i);

		if (i > 0)
			g_string_append_c (json, ',');
		g_string_append_c (json, '{');
		json_key_string (json, "path", header->path);
		json_key_string (json, "name", header->name);
		json_key_string (json, "rule", header->rule);
		json_key_string (json, "charset", header->charset);
		json_key_int (json, "replacements", (int64_t) header->replacements);
		json_key (json, "sanitized");
		g_string_append (json, header->sanitized ? "true" : "false");
		g_string_append_c (json, '}');
	}
	g_string_append (json, "]}");
	return g_string_free (json, FALSE);
}
