/* dkim.c: whether the edits break a DKIM signature of the message (RFC 6376): the header fields
 * its h= tag lists, the body or its first l= octets. */
#include <string.h>

#include "walk.h"

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
gboolean
_mimeutf8_dkim_invalidated (const Walk *walk)
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

/* _mimeutf8_dkim_invalidated for a message changed in place: its own header fields the report lists as
 * rewritten, and its body when any part changed (where in the body is not known, so l= does not
 * help). */
gboolean
_mimeutf8_dkim_invalidated_in_place (GMimeMessage *message, const MimeUtf8Report *report,
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
