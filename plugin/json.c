/* json.c: the parsed view of a message as one line of JSON (mimeutf8 --json).  Keys are only
 * ever added; README.md ("The parsed view as JSON") and doc/mimeutf8.1 describe them. */
#include <string.h>

#include "json.h"

/* A JSON string.  Texts of the view are valid UTF-8 already; any byte that is not (a name the
 * message wrote) becomes U+FFFD so that every line is valid JSON. */
static void
put_string (GString *json, const char *value, gssize len)
{
	const char *p, *end, *run;

	if (value == NULL) {
		g_string_append (json, "null");
		return;
	}
	p = run = value;
	end = value + (len < 0 ? (gssize) strlen (value) : len);
	g_string_append_c (json, '"');
	while (p < end) {
		unsigned char c = (unsigned char) *p;
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			p++;
			continue;
		}
		g_string_append_len (json, run, p - run);
		if (c >= 0x80) {
			/* one character: copied as it is when it is valid */
			int n = g_utf8_skip[c];

			if (end - p < n || !g_utf8_validate (p, n, NULL)) {
				g_string_append (json, "\\ufffd");
				n = 1;
			} else {
				g_string_append_len (json, p, n);
			}
			p = run = p + n;
			continue;
		}
		if (c == '"' || c == '\\')
			g_string_append_printf (json, "\\%c", c);
		else if (c == '\n')
			g_string_append (json, "\\n");
		else if (c == '\r')
			g_string_append (json, "\\r");
		else if (c == '\t')
			g_string_append (json, "\\t");
		else
			g_string_append_printf (json, "\\u%04x", c);
		p = run = p + 1;
	}
	g_string_append_len (json, run, p - run);
	g_string_append_c (json, '"');
}

static void
put_key (GString *json, const char *key)
{
	char last = json->len > 0 ? json->str[json->len - 1] : '\0';

	if (last != '{' && last != '[' && last != '\0')
		g_string_append_c (json, ',');
	put_string (json, key, -1);
	g_string_append_c (json, ':');
}

static void
put_key_string (GString *json, const char *key, const char *value)
{
	put_key (json, key);
	put_string (json, value, -1);
}

static void
put_key_int (GString *json, const char *key, gint64 value)
{
	put_key (json, key);
	g_string_append_printf (json, "%" G_GINT64_FORMAT, value);
}

static void
put_addresses (GString *json, const MimeUtf8Message *message, const char *field, const char *key)
{
	const MimeUtf8Address *list;
	size_t n = mimeutf8_message_get_addresses (message, field, &list), i;

	put_key (json, key);
	g_string_append_c (json, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			g_string_append_c (json, ',');
		g_string_append_c (json, '{');
		put_key_string (json, "name", list[i].name);
		put_key_string (json, "address", list[i].address);
		g_string_append_c (json, '}');
	}
	g_string_append_c (json, ']');
}

static void
put_ids (GString *json, const MimeUtf8Message *message, const char *field, const char *key)
{
	const char *const *ids = mimeutf8_message_get_ids (message, field);
	size_t i;

	put_key (json, key);
	g_string_append_c (json, '[');
	for (i = 0; ids[i] != NULL; i++) {
		if (i > 0)
			g_string_append_c (json, ',');
		put_string (json, ids[i], -1);
	}
	g_string_append_c (json, ']');
}

static const char *
path_of (const MimeUtf8Part *part)
{
	return part != NULL ? mimeutf8_part_get_path (part) : NULL;
}

/* The keys a message and an embedded message share: its headers, body and attachments. */
static void
put_message (GString *json, const MimeUtf8Message *message)
{
	const MimeUtf8Part *const *attachments;
	size_t n = mimeutf8_message_get_attachments (message, &attachments), i;
	int64_t time;

	put_key_string (json, "subject", mimeutf8_message_get_subject (message));
	put_addresses (json, message, "from", "from");
	put_addresses (json, message, "sender", "sender");
	put_addresses (json, message, "reply-to", "reply_to");
	put_addresses (json, message, "to", "to");
	put_addresses (json, message, "cc", "cc");
	put_addresses (json, message, "bcc", "bcc");
	put_key_string (json, "date", mimeutf8_message_get_date (message));
	put_key (json, "timestamp");
	if (mimeutf8_message_get_time (message, &time))
		g_string_append_printf (json, "%" G_GINT64_FORMAT, (gint64) time);
	else
		g_string_append (json, "null");
	put_key_string (json, "message_id", mimeutf8_message_get_ids (message, "message-id")[0]);
	put_ids (json, message, "in-reply-to", "in_reply_to");
	put_ids (json, message, "references", "references");
	put_key (json, "body");
	g_string_append_c (json, '{');
	put_key_string (json, "plain", path_of (mimeutf8_message_get_body (message, "plain")));
	put_key_string (json, "html", path_of (mimeutf8_message_get_body (message, "html")));
	g_string_append_c (json, '}');
	put_key (json, "attachments");
	g_string_append_c (json, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			g_string_append_c (json, ',');
		put_string (json, path_of (attachments[i]), -1);
	}
	g_string_append_c (json, ']');
}

static void
put_part (GString *json, const MimeUtf8Part *part)
{
	const MimeUtf8PartReport *record = mimeutf8_part_get_record (part);
	const MimeUtf8Message *inner = mimeutf8_part_get_message (part);
	size_t n = mimeutf8_part_get_n_params (part), i, len;
	const char *text = mimeutf8_part_get_text (part, &len);

	g_string_append_c (json, '{');
	put_key_string (json, "path", mimeutf8_part_get_path (part));
	put_key_string (json, "type", mimeutf8_part_get_content_type (part));
	put_key (json, "params");
	g_string_append_c (json, '{');
	for (i = 0; i < n; i++) {
		const char *name, *value = mimeutf8_part_get_param_at (part, i, &name);

		put_key_string (json, name, value);
	}
	g_string_append_c (json, '}');
	put_key_string (json, "disposition", mimeutf8_part_get_disposition (part));
	put_key_string (json, "filename", mimeutf8_part_get_filename (part));
	put_key_string (json, "content_id", mimeutf8_part_get_content_id (part));
	put_key_string (json, "declared", record->declared_charset);
	put_key_string (json, "charset", record->charset);
	put_key_string (json, "rule",
			record->rule != MIMEUTF8_RULE_NONE ? mimeutf8_rule_name (record->rule)
							   : NULL);
	put_key_string (json, "action", mimeutf8_action_name (record->action));
	put_key_string (json, "reason", record->reason);
	put_key_int (json, "size", (gint64) mimeutf8_part_get_size (part));
	put_key_int (json, "replacements", (gint64) record->replacements);
	if (g_str_has_prefix (mimeutf8_part_get_content_type (part), "text/")) {
		put_key (json, "text");
		put_string (json, text, (gssize) len);
	}
	if (inner != NULL) {
		put_key (json, "message");
		g_string_append_c (json, '{');
		put_message (json, inner);
		g_string_append_c (json, '}');
	}
	g_string_append_c (json, '}');
}

char *
json_message (const MimeUtf8Message *message, const char *name)
{
	GString *json = g_string_sized_new (1024);
	size_t n = mimeutf8_message_get_n_parts (message), i;

	g_string_append_c (json, '{');
	put_key_string (json, "name", name);
	put_key_string (json, "status", mimeutf8_status_name (mimeutf8_message_get_status (message)));
	put_key_string (json, "reason", mimeutf8_message_get_reason (message));
	put_message (json, message);
	put_key (json, "parts");
	g_string_append_c (json, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			g_string_append_c (json, ',');
		put_part (json, mimeutf8_message_get_part (message, i));
	}
	g_string_append_c (json, ']');
	g_string_append_c (json, '}');
	return g_string_free (json, FALSE);
}
