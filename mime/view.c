/* view.c: the parsed view of a message (mimeutf8_parse): what normalize.c's walk decided for every
 * part, kept with its text, and the message's headers decoded by headers.c, for a caller that
 * stores and indexes mail instead of writing it. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "mimeutf8-private.h"

/* Address fields, in the order of MimeUtf8Message.addresses. */
static const char *const address_fields[] = { "from", "sender", "reply-to", "to", "cc", "bcc" };
#define N_ADDRESS_FIELDS G_N_ELEMENTS (address_fields)
static const char *const id_fields[] = { "message-id", "in-reply-to", "references" };
#define N_ID_FIELDS G_N_ELEMENTS (id_fields)

struct _MimeUtf8Part {
	MimeUtf8PartReport *record;
	GPtrArray *param_names, *param_values;
	char *disposition, *filename, *content_id;
	/* The raw Content-Type and Content-Disposition values, until they are decoded with the
	 * charset of their message's raw 8-bit header bytes, once its parts are walked. */
	char *raw_type, *raw_disposition;
	size_t raw_type_len, raw_disposition_len;
	char *text;
	size_t text_len;
	gboolean has_text, leaf;
	/* The body in its transfer encoding: [start, end) of `source`, or the decoded bytes in
	 * `decoded` when GMime's content was not a range of the parsed bytes. */
	GBytes *source;
	size_t start, end;
	GMimeContentEncoding encoding;
	GBytes *decoded;
	/* the decoded size, counted when first asked (it costs a decoding) */
	uint64_t size;
	gboolean size_known;
	MimeUtf8Message *message;
	MimeUtf8Part *parent;
	GPtrArray *children;
};

struct _MimeUtf8Message {
	MimeUtf8Message *top; /* itself for the top message */
	char *prefix;
	/* The top message's only: */
	MimeUtf8Report *report;
	GPtrArray *all_parts; /* of MimeUtf8Part, owned */
	GPtrArray *embedded;  /* of MimeUtf8Message, owned */
	GPtrArray *sources;   /* of GBytes: the parsed bytes, and decoded message/rfc822 bodies */
	MimeUtf8Part *current;
	/* Every message's: */
	GPtrArray *parts; /* of MimeUtf8Part, borrowed from the top */
	GPtrArray *header_names, *header_values;
	char *subject, *date;
	gboolean has_time;
	int64_t time;
	GArray *addresses[N_ADDRESS_FIELDS]; /* of MimeUtf8Address, strings owned */
	GPtrArray *ids[N_ID_FIELDS];         /* NULL-terminated */
	MimeUtf8Part *body_plain, *body_html;
	GPtrArray *attachments;
};

/* ---- building, from the walk ----------------------------------------------------------------- */

static void
part_free (MimeUtf8Part *part)
{
	g_ptr_array_unref (part->param_names);
	g_ptr_array_unref (part->param_values);
	g_free (part->disposition);
	g_free (part->filename);
	g_free (part->content_id);
	g_free (part->raw_type);
	g_free (part->raw_disposition);
	g_free (part->text);
	if (part->source != NULL)
		g_bytes_unref (part->source);
	if (part->decoded != NULL)
		g_bytes_unref (part->decoded);
	if (part->children != NULL)
		g_ptr_array_unref (part->children);
	g_free (part);
}

static void
address_clear (MimeUtf8Address *address)
{
	g_free ((char *) address->name);
	g_free ((char *) address->address);
}

static MimeUtf8Message *
message_new (MimeUtf8Message *top, const char *prefix)
{
	MimeUtf8Message *message = g_new0 (MimeUtf8Message, 1);
	size_t i;

	message->top = top != NULL ? top : message;
	message->prefix = g_strdup (prefix);
	message->parts = g_ptr_array_new ();
	message->header_names = g_ptr_array_new_with_free_func (g_free);
	message->header_values = g_ptr_array_new_with_free_func (g_free);
	for (i = 0; i < N_ADDRESS_FIELDS; i++) {
		message->addresses[i] = g_array_new (FALSE, FALSE, sizeof (MimeUtf8Address));
		g_array_set_clear_func (message->addresses[i], (GDestroyNotify) address_clear);
	}
	for (i = 0; i < N_ID_FIELDS; i++) {
		message->ids[i] = g_ptr_array_new_with_free_func (g_free);
		g_ptr_array_add (message->ids[i], NULL);
	}
	message->attachments = g_ptr_array_new ();
	return message;
}

static void
message_free (MimeUtf8Message *message)
{
	size_t i;

	g_free (message->prefix);
	g_ptr_array_unref (message->parts);
	g_ptr_array_unref (message->header_names);
	g_ptr_array_unref (message->header_values);
	g_free (message->subject);
	g_free (message->date);
	for (i = 0; i < N_ADDRESS_FIELDS; i++)
		g_array_unref (message->addresses[i]);
	for (i = 0; i < N_ID_FIELDS; i++)
		g_ptr_array_unref (message->ids[i]);
	g_ptr_array_unref (message->attachments);
	if (message->top == message) {
		mimeutf8_report_free (message->report);
		g_ptr_array_unref (message->embedded);
		g_ptr_array_unref (message->all_parts);
		g_ptr_array_unref (message->sources);
	}
	g_free (message);
}

/* The bytes `raw` belongs to, kept for the parts' bodies: the parsed bytes themselves, or a copy
 * of a decoded message/rfc822 body, which the walk frees; `*offset_out` is where `raw` starts
 * in them. */
static GBytes *
source_of (MimeUtf8Message *view, const guint8 *raw, size_t len, size_t *offset_out)
{
	GBytes *bytes;
	guint i;

	for (i = 0; i < view->sources->len; i++) {
		gsize n;
		const guint8 *data = g_bytes_get_data (g_ptr_array_index (view->sources, i), &n);

		if (raw >= data && raw + len <= data + n) {
			*offset_out = (size_t) (raw - data);
			return g_bytes_ref (g_ptr_array_index (view->sources, i));
		}
	}
	*offset_out = 0;
	bytes = g_bytes_new (raw, len);
	g_ptr_array_add (view->sources, bytes);
	return g_bytes_ref (bytes);
}

/* Decodes [p, p + n) in `encoding` into `out`, or, with `out` NULL, only counts the bytes. */
static uint64_t
decode_range (GMimeContentEncoding encoding, const guint8 *p, size_t n, GByteArray *out)
{
	GMimeEncoding state;
	char buffer[16384];
	uint64_t total = 0;
	size_t done = 0;

	if (encoding != GMIME_CONTENT_ENCODING_BASE64 &&
	    encoding != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
		if (out != NULL)
			g_byte_array_append (out, p, (guint) n);
		return n;
	}
	g_mime_encoding_init_decode (&state, encoding);
	/* chunks small enough for the decoder's output to fit the buffer */
	while (done < n) {
		size_t chunk = MIN (n - done, sizeof buffer / 2);
		size_t k = g_mime_encoding_step (&state, (const char *) p + done, chunk, buffer);

		if (out != NULL)
			g_byte_array_append (out, (const guint8 *) buffer, (guint) k);
		total += k;
		done += chunk;
	}
	done = g_mime_encoding_flush (&state, NULL, 0, buffer);
	if (out != NULL)
		g_byte_array_append (out, (const guint8 *) buffer, (guint) done);
	return total + done;
}

/* A header's value as written in `raw`, else as GMime holds it. */
static char *
raw_header (GMimeHeader *header, const guint8 *raw, size_t raw_len, size_t *len_out)
{
	size_t start, end;
	gint64 offset = g_mime_header_get_offset (header);
	const char *value;

	if (raw != NULL && offset >= 0 &&
	    _mimeutf8_raw_field_value (raw, raw_len, (size_t) offset, g_mime_header_get_name (header),
				   &start, &end)) {
		*len_out = end - start;
		return g_strndup ((const char *) raw + start, end - start);
	}
	value = g_mime_header_get_raw_value (header);
	value = value != NULL ? value : "";
	*len_out = strlen (value);
	return g_strdup (value);
}

/* The raw value of the object's first header `name`, or NULL. */
static char *
object_header (GMimeObject *object, const char *name, const guint8 *raw, size_t raw_len,
	       size_t *len_out)
{
	GMimeHeader *header =
		g_mime_header_list_get_header (g_mime_object_get_header_list (object), name);

	return header != NULL ? raw_header (header, raw, raw_len, len_out) : NULL;
}

/* The first token of a value (a disposition), in lower case. */
static char *
first_token (const char *value)
{
	const char *p = value, *end;

	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	for (end = p; *end != '\0' && *end != ';' && *end != ' ' && *end != '\t' && *end != '\r' &&
		      *end != '\n' && *end != '(';
	     end++)
		;
	return end > p ? g_ascii_strdown (p, end - p) : NULL;
}

/* Identifiers of a Message-ID, In-Reply-To or References value: what is between angle
 * brackets, or the whole trimmed value when it has none. */
static void
parse_ids (const char *value, GPtrArray *ids)
{
	const char *p = value;
	gboolean found = FALSE;

	g_ptr_array_set_size (ids, ids->len - 1);
	while ((p = strchr (p, '<')) != NULL) {
		const char *end = strchr (p, '>');
		g_autofree char *id = NULL;

		if (end == NULL)
			break;
		id = g_strstrip (g_strndup (p + 1, end - p - 1));
		if (id[0] != '\0')
			g_ptr_array_add (ids, g_utf8_make_valid (id, -1));
		found = TRUE;
		p = end + 1;
	}
	if (!found) {
		g_autofree char *id = g_strstrip (g_strdup (value));

		if (id[0] != '\0' && strchr (id, ' ') == NULL)
			g_ptr_array_add (ids, g_utf8_make_valid (id, -1));
	}
	g_ptr_array_add (ids, NULL);
}

void
_mimeutf8_view_part (MimeUtf8Message *view, GMimeObject *object, MimeUtf8PartReport *record,
		     const guint8 *raw, size_t raw_len, GByteArray *raw_array)
{
	MimeUtf8Part *part = g_new0 (MimeUtf8Part, 1);

	part->record = record;
	part->param_names = g_ptr_array_new_with_free_func (g_free);
	part->param_values = g_ptr_array_new_with_free_func (g_free);
	g_ptr_array_add (view->all_parts, part);
	view->current = part;

	part->raw_type = object_header (object, "Content-Type", raw, raw_len, &part->raw_type_len);
	part->raw_disposition = object_header (object, "Content-Disposition", raw, raw_len,
					       &part->raw_disposition_len);
	if (part->raw_disposition != NULL)
		part->disposition = first_token (part->raw_disposition);
	if (g_mime_object_get_content_id (object) != NULL)
		part->content_id = g_utf8_make_valid (g_mime_object_get_content_id (object), -1);

	if (GMIME_IS_PART (object)) {
		GMimeDataWrapper *content = g_mime_part_get_content (GMIME_PART (object));
		GMimeStream *stream = content ? g_mime_data_wrapper_get_stream (content) : NULL;

		part->leaf = TRUE;
		part->encoding = g_mime_part_get_content_encoding (GMIME_PART (object));
		if (stream != NULL && raw_array != NULL && GMIME_IS_STREAM_MEM (stream) &&
		    ((GMimeStreamMem *) stream)->buffer == raw_array && stream->bound_start >= 0 &&
		    (size_t) stream->bound_start <= raw_len &&
		    (stream->bound_end < 0 || (size_t) stream->bound_end <= raw_len) &&
		    part->encoding != GMIME_CONTENT_ENCODING_UUENCODE) {
			size_t offset;

			part->source = source_of (view, raw, raw_len, &offset);
			part->start = offset + (size_t) stream->bound_start;
			part->end = part->start + (stream->bound_end < 0
							   ? raw_len - (size_t) stream->bound_start
							   : (size_t) (stream->bound_end -
								       stream->bound_start));
		} else if (content != NULL) {
			/* content GMime holds otherwise (uuencoded, say): decoded by it, now */
			GByteArray *bytes = g_byte_array_new ();
			GMimeStream *sink = g_mime_stream_mem_new_with_byte_array (bytes);

			g_mime_stream_mem_set_owner ((GMimeStreamMem *) sink, FALSE);
			g_mime_data_wrapper_write_to_stream (content, sink);
			g_object_unref (sink);
			part->size = bytes->len;
			part->size_known = TRUE;
			part->decoded = g_byte_array_free_to_bytes (bytes);
		}
	}
}

/* The part's parameters and file name, decoded as the normalizer decodes them when it rewrites
 * them: raw 8-bit bytes in the charset of the message's first text part. */
static void
decode_part_headers (MimeUtf8Part *part, const _MimeUtf8Charset *eight_bit,
		     const _MimeUtf8Charset *fallback)
{
	const char *type = part->raw_type, *disposition = part->raw_disposition;
	guint i;

	if (type != NULL) {
		_mimeutf8_header_param_names (type, part->raw_type_len, part->param_names);
		for (i = 0; i < part->param_names->len; i++) {
			char *value = _mimeutf8_header_decode_param (
				type, part->raw_type_len, g_ptr_array_index (part->param_names, i),
				eight_bit, fallback);

			g_ptr_array_add (part->param_values, value != NULL ? value : g_strdup (""));
		}
	}
	if (disposition != NULL)
		part->filename = _mimeutf8_header_decode_param (
			disposition, part->raw_disposition_len, "filename", eight_bit, fallback);
	if (part->filename == NULL && type != NULL)
		part->filename = _mimeutf8_header_decode_param (type, part->raw_type_len, "name",
								eight_bit, fallback);
	g_clear_pointer (&part->raw_type, g_free);
	g_clear_pointer (&part->raw_disposition, g_free);
}

/* Decodes the headers of the parts still waiting inside the message at `prefix`, whose walk just
 * ended (its embedded messages' parts were decoded when their walks ended; its message/rfc822
 * part itself is its outer message's). */
static void
decode_waiting_parts (MimeUtf8Message *view, const char *prefix,
		      const _MimeUtf8Charset *eight_bit, const _MimeUtf8Charset *fallback)
{
	g_autofree char *inside = g_strconcat (prefix, ".", NULL);
	guint i;

	for (i = 0; i < view->all_parts->len; i++) {
		MimeUtf8Part *part = g_ptr_array_index (view->all_parts, i);

		if ((part->raw_type != NULL || part->raw_disposition != NULL) &&
		    (prefix[0] == '\0' || g_str_has_prefix (part->record->path, inside)))
			decode_part_headers (part, eight_bit, fallback);
	}
}

void
_mimeutf8_view_text (MimeUtf8Message *view, const guint8 *text, size_t len)
{
	MimeUtf8Part *part = view->current;

	g_return_if_fail (part != NULL);
	g_free (part->text);
	part->text = g_strndup ((const char *) text, len);
	part->text_len = len;
	part->has_text = TRUE;
}

static int
address_field (const char *name)
{
	size_t i;

	for (i = 0; i < N_ADDRESS_FIELDS; i++)
		if (g_ascii_strcasecmp (name, address_fields[i]) == 0)
			return (int) i;
	return -1;
}

static int
id_field (const char *name)
{
	size_t i;

	for (i = 0; i < N_ID_FIELDS; i++)
		if (g_ascii_strcasecmp (name, id_fields[i]) == 0)
			return (int) i;
	return -1;
}

void
_mimeutf8_view_message (MimeUtf8Message *view, GMimeMessage *message, const char *prefix,
			const guint8 *raw, size_t raw_len, const _MimeUtf8Charset *eight_bit,
			const _MimeUtf8Charset *fallback)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list (GMIME_OBJECT (message));
	MimeUtf8Message *target = NULL;
	int i, n = g_mime_header_list_get_count (headers);
	guint k;

	decode_waiting_parts (view, prefix, eight_bit, fallback);
	if (prefix[0] == '\0') {
		target = view;
	} else {
		/* the message of the part at `prefix`: the last such part, the one just walked */
		for (k = view->all_parts->len; k-- > 0;) {
			MimeUtf8Part *part = g_ptr_array_index (view->all_parts, k);

			if (strcmp (part->record->path, prefix) == 0) {
				if (part->message == NULL) {
					part->message = message_new (view, prefix);
					g_ptr_array_add (view->embedded, part->message);
				}
				target = part->message;
				break;
			}
		}
		if (target == NULL)
			return;
	}
	for (i = 0; i < n; i++) {
		GMimeHeader *header = g_mime_header_list_get_header_at (headers, i);
		const char *name = g_mime_header_get_name (header);
		size_t len;
		g_autofree char *value = raw_header (header, raw, raw_len, &len);
		char *text = _mimeutf8_header_decode_text (value, len, eight_bit, fallback);
		int field;

		g_ptr_array_add (target->header_names, g_utf8_make_valid (name, -1));
		g_ptr_array_add (target->header_values, text);
		if (g_ascii_strcasecmp (name, "subject") == 0 && target->subject == NULL) {
			target->subject = g_strdup (text);
		} else if (g_ascii_strcasecmp (name, "date") == 0 && target->date == NULL) {
			g_autoptr (GDateTime) date = g_mime_utils_header_decode_date (text);

			target->date = g_strdup (text);
			if (date != NULL) {
				target->has_time = TRUE;
				target->time = g_date_time_to_unix (date);
			}
		} else if ((field = address_field (name)) >= 0) {
			g_autoptr (GPtrArray) names = g_ptr_array_new ();
			g_autoptr (GPtrArray) addresses = g_ptr_array_new ();

			_mimeutf8_header_decode_addresses (value, len, eight_bit, fallback, names,
							   addresses);
			for (k = 0; k < names->len; k++) {
				MimeUtf8Address address = { g_ptr_array_index (names, k),
							    g_ptr_array_index (addresses, k) };

				g_array_append_val (target->addresses[field], address);
			}
		} else if ((field = id_field (name)) >= 0 && target->ids[field]->len == 1) {
			parse_ids (text, target->ids[field]);
		}
	}
}

/* ---- finishing: the tree, bodies, attachments ------------------------------------------------- */

static MimeUtf8Part *
part_at (GHashTable *by_path, const char *path)
{
	return g_hash_table_lookup (by_path, path);
}

/* The part a part belongs to, from the paths: "X.0" and a lone "X.1" are the bodies of message
 * part X; "X.k" is a child of multipart "X.0", or of multipart X. */
static MimeUtf8Part *
parent_of (GHashTable *by_path, const MimeUtf8Part *part)
{
	const char *path = part->record->path, *dot = strrchr (path, '.');
	g_autofree char *base = dot != NULL ? g_strndup (path, dot - path) : g_strdup ("");
	g_autofree char *body = g_strdup_printf ("%s%s0", base, base[0] ? "." : "");
	MimeUtf8Part *container;

	if (strcmp (path, body) == 0)
		return base[0] ? part_at (by_path, base) : NULL;
	container = part_at (by_path, body);
	if (container != NULL)
		return container;
	return base[0] ? part_at (by_path, base) : NULL;
}

static MimeUtf8Part *
message_body (GHashTable *by_path, const MimeUtf8Message *message)
{
	const char *prefix = message->prefix;
	g_autofree char *multi = g_strdup_printf ("%s%s0", prefix, prefix[0] ? "." : "");
	g_autofree char *single = g_strdup_printf ("%s%s1", prefix, prefix[0] ? "." : "");

	return part_at (by_path, multi) != NULL ? part_at (by_path, multi)
						: part_at (by_path, single);
}

static gboolean
is_type (const MimeUtf8Part *part, const char *type)
{
	return g_str_has_prefix (part->record->content_type, type);
}

static const char *
param_of (const MimeUtf8Part *part, const char *name)
{
	guint i;

	for (i = 0; i < part->param_names->len; i++)
		if (strcmp (g_ptr_array_index (part->param_names, i), name) == 0)
			return g_ptr_array_index (part->param_values, i);
	return NULL;
}

/* Python's email get_body: the first text/`subtype` part that is not an attachment; into every
 * multipart but multipart/related, whose start part alone counts. */
static MimeUtf8Part *
find_body (MimeUtf8Part *part, const char *subtype)
{
	MimeUtf8Part *start = NULL;
	guint i;

	if (part == NULL || g_strcmp0 (part->disposition, "attachment") == 0)
		return NULL;
	if (is_type (part, "text/"))
		return strcmp (part->record->content_type + 5, subtype) == 0 ? part : NULL;
	if (!is_type (part, "multipart/") || part->children == NULL)
		return NULL;
	if (strcmp (part->record->content_type, "multipart/related") != 0) {
		for (i = 0; i < part->children->len; i++) {
			MimeUtf8Part *found = find_body (g_ptr_array_index (part->children, i),
							 subtype);

			if (found != NULL)
				return found;
		}
		return NULL;
	}
	if (param_of (part, "start") != NULL) {
		g_autofree char *want = g_strdup (param_of (part, "start"));

		g_strstrip (want);
		if (want[0] == '<' && want[strlen (want) - 1] == '>') {
			memmove (want, want + 1, strlen (want));
			want[strlen (want) - 1] = '\0';
		}
		for (i = 0; i < part->children->len && start == NULL; i++) {
			MimeUtf8Part *child = g_ptr_array_index (part->children, i);

			if (g_strcmp0 (child->content_id, want) == 0)
				start = child;
		}
	}
	if (start == NULL && part->children->len > 0)
		start = g_ptr_array_index (part->children, 0);
	return find_body (start, subtype);
}

static void
collect_attachments (MimeUtf8Message *message, MimeUtf8Part *part)
{
	guint i;

	if (part == NULL)
		return;
	if (is_type (part, "multipart/")) {
		for (i = 0; part->children != NULL && i < part->children->len; i++)
			collect_attachments (message, g_ptr_array_index (part->children, i));
		return;
	}
	if (part != message->body_plain && part != message->body_html &&
	    (g_strcmp0 (part->disposition, "attachment") == 0 || part->parent == NULL ||
	     strcmp (part->parent->record->content_type, "multipart/alternative") != 0))
		g_ptr_array_add (message->attachments, part);
}

static void
finish_message (GHashTable *by_path, MimeUtf8Message *message)
{
	MimeUtf8Part *body = message_body (by_path, message);

	message->body_plain = find_body (body, "plain");
	message->body_html = find_body (body, "html");
	collect_attachments (message, body);
}

static void
view_finish (MimeUtf8Message *view)
{
	g_autoptr (GHashTable) by_path = g_hash_table_new (g_str_hash, g_str_equal);
	guint i, k;

	decode_waiting_parts (view, "", NULL, NULL);
	for (i = 0; i < view->all_parts->len; i++) {
		MimeUtf8Part *part = g_ptr_array_index (view->all_parts, i);

		g_hash_table_insert (by_path, (gpointer) part->record->path, part);
		g_ptr_array_add (view->parts, part);
	}
	for (i = 0; i < view->all_parts->len; i++) {
		MimeUtf8Part *part = g_ptr_array_index (view->all_parts, i);
		MimeUtf8Part *parent = parent_of (by_path, part);

		/* a message part's body is its message's, not its child */
		if (parent == NULL || parent->message != NULL || !is_type (parent, "multipart/"))
			continue;
		part->parent = parent;
		if (parent->children == NULL)
			parent->children = g_ptr_array_new ();
		g_ptr_array_add (parent->children, part);
	}
	for (i = 0; i < view->embedded->len; i++) {
		MimeUtf8Message *message = g_ptr_array_index (view->embedded, i);
		g_autofree char *inside = g_strconcat (message->prefix, ".", NULL);

		for (k = 0; k < view->all_parts->len; k++) {
			MimeUtf8Part *part = g_ptr_array_index (view->all_parts, k);

			if (g_str_has_prefix (part->record->path, inside))
				g_ptr_array_add (message->parts, part);
		}
		finish_message (by_path, message);
	}
	finish_message (by_path, view);
}

/* ---- the entry points ------------------------------------------------------------------------ */

MimeUtf8Message *
mimeutf8_parse (const MimeUtf8Options *options, const void *data, size_t len, GError **error)
{
	MimeUtf8Options defaults, forced;
	MimeUtf8Message *view;
	g_autofree char *failure = NULL;
	gboolean changed = FALSE;
	GBytes *bytes;

	mimeutf8_init ();
	options = _mimeutf8_options_check (options, &defaults, error);
	if (options == NULL)
		return NULL;
	if (g_cancellable_set_error_if_cancelled (options->cancellable, error))
		return NULL;
	forced = *options;
	forced.version = MIMEUTF8_OPTIONS_VERSION;
	forced.convert_signed = TRUE;

	view = message_new (NULL, "");
	view->report = _mimeutf8_report_new ();
	view->all_parts = g_ptr_array_new_with_free_func ((GDestroyNotify) part_free);
	view->embedded = g_ptr_array_new_with_free_func ((GDestroyNotify) message_free);
	view->sources = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
	bytes = g_bytes_new (data, len);
	g_ptr_array_add (view->sources, bytes);
	failure = _mimeutf8_walk_view (&forced, g_bytes_get_data (bytes, NULL), len, view->report,
				       view, &changed);
	if (g_cancellable_set_error_if_cancelled (options->cancellable, error)) {
		message_free (view);
		return NULL;
	}
	_mimeutf8_report_set_bytes (view->report, len, len);
	if (failure != NULL)
		_mimeutf8_report_set_status (view->report, MIMEUTF8_STATUS_PASSTHROUGH, failure);
	else
		_mimeutf8_report_set_status (view->report,
					     changed ? MIMEUTF8_STATUS_NORMALIZED
						     : MIMEUTF8_STATUS_UNCHANGED,
					     NULL);
	view_finish (view);
	return view;
}

MimeUtf8Message *
mimeutf8_parse_fd (const MimeUtf8Options *options, int fd, GError **error)
{
	g_autoptr (GByteArray) data = g_byte_array_new ();
	guint8 buffer[65536];

	for (;;) {
		ssize_t n = read (fd, buffer, sizeof buffer);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved_errno = errno;

			g_set_error (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO, "read failed: %s",
				     g_strerror (saved_errno));
			errno = saved_errno;
			return NULL;
		}
		if (n == 0)
			break;
		g_byte_array_append (data, buffer, (guint) n);
	}
	return mimeutf8_parse (options, data->data, data->len, error);
}

void
mimeutf8_message_free (MimeUtf8Message *message)
{
	if (message == NULL)
		return;
	g_return_if_fail (message->top == message);
	message_free (message);
}

MimeUtf8Status
mimeutf8_message_get_status (const MimeUtf8Message *message)
{
	return mimeutf8_report_get_status (message->top->report);
}

const char *
mimeutf8_message_get_reason (const MimeUtf8Message *message)
{
	return mimeutf8_report_get_reason (message->top->report);
}

const MimeUtf8Report *
mimeutf8_message_get_report (const MimeUtf8Message *message)
{
	return message->top->report;
}

const char *
mimeutf8_message_get_subject (const MimeUtf8Message *message)
{
	return message->subject;
}

size_t
mimeutf8_message_get_addresses (const MimeUtf8Message *message, const char *field,
				const MimeUtf8Address **list_out)
{
	int i = address_field (field);
	GArray *list = i >= 0 ? message->addresses[i] : NULL;

	if (list_out != NULL)
		*list_out = list != NULL && list->len > 0 ? (const MimeUtf8Address *) list->data
							  : NULL;
	return list != NULL ? list->len : 0;
}

const char *
mimeutf8_message_get_date (const MimeUtf8Message *message)
{
	return message->date;
}

gboolean
mimeutf8_message_get_time (const MimeUtf8Message *message, int64_t *time_out)
{
	if (time_out != NULL)
		*time_out = message->has_time ? message->time : 0;
	return message->has_time;
}

const char *const *
mimeutf8_message_get_ids (const MimeUtf8Message *message, const char *field)
{
	static const char *const none[] = { NULL };
	int i = id_field (field);

	return i >= 0 ? (const char *const *) message->ids[i]->pdata : none;
}

const char *
mimeutf8_message_get_header (const MimeUtf8Message *message, const char *name)
{
	guint i;

	for (i = 0; i < message->header_names->len; i++)
		if (g_ascii_strcasecmp (g_ptr_array_index (message->header_names, i), name) == 0)
			return g_ptr_array_index (message->header_values, i);
	return NULL;
}

size_t
mimeutf8_message_get_n_headers (const MimeUtf8Message *message)
{
	return message->header_names->len;
}

const char *
mimeutf8_message_get_header_at (const MimeUtf8Message *message, size_t index,
				const char **name_out)
{
	g_return_val_if_fail (index < message->header_names->len, NULL);
	if (name_out != NULL)
		*name_out = g_ptr_array_index (message->header_names, index);
	return g_ptr_array_index (message->header_values, index);
}

size_t
mimeutf8_message_get_n_parts (const MimeUtf8Message *message)
{
	return message->parts->len;
}

const MimeUtf8Part *
mimeutf8_message_get_part (const MimeUtf8Message *message, size_t index)
{
	g_return_val_if_fail (index < message->parts->len, NULL);
	return g_ptr_array_index (message->parts, index);
}

const MimeUtf8Part *
mimeutf8_message_get_body (const MimeUtf8Message *message, const char *subtype)
{
	if (g_ascii_strcasecmp (subtype, "plain") == 0)
		return message->body_plain;
	if (g_ascii_strcasecmp (subtype, "html") == 0)
		return message->body_html;
	return NULL;
}

size_t
mimeutf8_message_get_attachments (const MimeUtf8Message *message,
				  const MimeUtf8Part *const **list_out)
{
	if (list_out != NULL)
		*list_out = (const MimeUtf8Part *const *) message->attachments->pdata;
	return message->attachments->len;
}

const char *
mimeutf8_part_get_path (const MimeUtf8Part *part)
{
	return part->record->path;
}

const char *
mimeutf8_part_get_content_type (const MimeUtf8Part *part)
{
	return part->record->content_type;
}

size_t
mimeutf8_part_get_n_params (const MimeUtf8Part *part)
{
	return part->param_names->len;
}

const char *
mimeutf8_part_get_param_at (const MimeUtf8Part *part, size_t index, const char **name_out)
{
	g_return_val_if_fail (index < part->param_names->len, NULL);
	if (name_out != NULL)
		*name_out = g_ptr_array_index (part->param_names, index);
	return g_ptr_array_index (part->param_values, index);
}

const char *
mimeutf8_part_get_disposition (const MimeUtf8Part *part)
{
	return part->disposition;
}

const char *
mimeutf8_part_get_filename (const MimeUtf8Part *part)
{
	return part->filename;
}

const char *
mimeutf8_part_get_content_id (const MimeUtf8Part *part)
{
	return part->content_id;
}

const MimeUtf8PartReport *
mimeutf8_part_get_record (const MimeUtf8Part *part)
{
	return part->record;
}

const char *
mimeutf8_part_get_text (const MimeUtf8Part *part, size_t *len_out)
{
	if (len_out != NULL)
		*len_out = part->has_text ? part->text_len : 0;
	return part->has_text ? part->text : NULL;
}

uint64_t
mimeutf8_part_get_size (const MimeUtf8Part *part)
{
	MimeUtf8Part *cache = (MimeUtf8Part *) part;

	if (!part->size_known && part->source != NULL)
		cache->size = decode_range (
			part->encoding,
			(const guint8 *) g_bytes_get_data (part->source, NULL) + part->start,
			part->end - part->start, NULL);
	cache->size_known = TRUE;
	return part->size;
}

GBytes *
mimeutf8_part_get_bytes (const MimeUtf8Part *part)
{
	GByteArray *out;

	if (part->decoded != NULL)
		return g_bytes_ref (part->decoded);
	if (part->source == NULL)
		return g_bytes_new (NULL, 0);
	out = g_byte_array_sized_new ((guint) MIN (part->end - part->start, G_MAXUINT));
	decode_range (part->encoding,
		      (const guint8 *) g_bytes_get_data (part->source, NULL) + part->start,
		      part->end - part->start, out);
	return g_byte_array_free_to_bytes (out);
}

const MimeUtf8Message *
mimeutf8_part_get_message (const MimeUtf8Part *part)
{
	return part->message;
}
