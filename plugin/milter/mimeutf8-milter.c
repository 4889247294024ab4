/* mimeutf8-milter.c: the milter front-end (Postfix smtpd_milters, Sendmail INPUT_MAIL_FILTER): it
 * collects each message as the MTA holds it, normalizes it with libmimeutf8, and sends back only
 * the differences.  It knows only the public header. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libmilter/mfapi.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <netdb.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "mimeutf8.h"
#include "options.h"
#include "workers.h" /* write_full */

/* sysexits.h values, as the command uses them */
enum {
	EXIT_DONE = 0,
	EXIT_USAGE = 64,
	EXIT_IOERR = 74,
	EXIT_SOFTWARE = 70,
};

/* A message larger than this is spooled to an unlinked file, as the command's filter does. */
#define SPOOL_THRESHOLD (2 * 1024 * 1024)
/* smfi_replacebody is given the new body in pieces of this size (libmilter's own chunk size). */
#define BODY_CHUNK 65535

static const char help_text[] =
	"NAME\n"
	"       mimeutf8-milter - normalize mail to UTF-8 inside Postfix or Sendmail\n"
	"\n"
	"SYNOPSIS\n"
	"       mimeutf8-milter -p SOCKET [-f] [OPTIONS]\n"
	"\n"
	"DESCRIPTION\n"
	"       A milter (mail filter) that normalizes each message as mimeutf8 does: every text\n"
	"       part becomes UTF-8.  It sends the MTA only the differences: changed headers,\n"
	"       added headers, and the body when it changed.  A message that needs nothing, or\n"
	"       that is passed through (over a limit, unparsable), is not modified at all.\n"
	"\n"
	"OPTIONS\n"
	"       -p, --socket=SOCKET       where to listen, in libmilter syntax:\n"
	"                                 unix:/run/mimeutf8/milter.sock, inet:8890@127.0.0.1\n"
	"       -f, --foreground          stay in the foreground and log to stderr too\n"
	"       --pid-file=FILE           when daemonized, write the pid there (default\n"
	"                                 /run/mimeutf8-milter.pid)\n"
	"       --on-error=accept|tempfail\n"
	"              what to do with a message the milter cannot handle (a local fault such as\n"
	"              a full disk, not a bad message): accept it unchanged (default), or have\n"
	"              the MTA keep it and retry\n"
	"       --trace-header            add X-Mimeutf8: normalized; converted=N (or unchanged,\n"
	"                                 passthrough) to every message\n"
	"       --report=FILE             append one JSON line per message to FILE, with its\n"
	"                                 queue id and Message-ID (see README, \"Report\")\n"
	"       --policy=lenient|declared|strict, --fallback-charset=CHARSET,\n"
	"       --headers=encoded|utf8|keep, --7bit, --convert-signed\n"
	"                                 as for mimeutf8(1)\n"
	"       --max-message-size=BYTES, --max-depth=N, --max-parts=N, --max-header-block=BYTES,\n"
	"       --max-params=N, --max-encoded-words=N, --timeout=SECONDS\n"
	"                                 limits, as for mimeutf8(1): a message over one is\n"
	"                                 passed through unchanged\n"
	"       -h, --help, -V, --version\n"
	"\n"
	"SIGNALS\n"
	"       SIGTERM, SIGINT, SIGHUP: stop accepting connections and exit.\n";

/* Settings shared by every connection, read-only once smfi_main runs. */
static struct {
	MimeUtf8Options options;
	const char *socket;
	const char *pid_file;
	gboolean foreground;
	gboolean tempfail_on_error;
	gboolean trace_header;
	gboolean report; /* --report was given */
	int report_fd;   /* under report_lock: -1 once closed at exit */
	pthread_mutex_t report_lock;
} config = {
	.pid_file = "/run/mimeutf8-milter.pid",
	.report_fd = -1,
	.report_lock = PTHREAD_MUTEX_INITIALIZER,
};

/* One header field as the MTA gave it: offsets into the rebuilt message. */
typedef struct {
	size_t start;    /* the name's first byte */
	size_t name_len; /* up to the colon */
	size_t end;      /* after the field's CRLF */
} Field;

/* The message being received on one connection (the libmilter private data). */
typedef struct {
	/* The message as the MTA holds it, CRLF line ends: in memory, or in `spool_fd` once it
	 * passes SPOOL_THRESHOLD (then `bytes` holds only the header block). */
	GByteArray *bytes;
	int spool_fd;
	guint64 size;
	size_t head_len; /* the header block with its blank line; 0 until the end of headers */
	GArray *fields;
	gboolean over_limit;
	gboolean failed; /* a local fault while collecting (errno in `fault`) */
	int fault;
	char *message_id;
	gboolean nr_hdr, nr_body, leadspc; /* negotiated protocol steps */
} Message;

static void log_msg (int priority, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
log_msg (int priority, const char *format, ...)
{
	va_list args;

	va_start (args, format);
	vsyslog (priority, format, args);
	va_end (args);
}

/* ---- per-message state ------------------------------------------------------------------------ */

static Message *
message_get (SMFICTX *ctx)
{
	Message *msg = smfi_getpriv (ctx);

	if (msg == NULL) {
		msg = g_new0 (Message, 1);
		msg->spool_fd = -1;
		smfi_setpriv (ctx, msg);
	}
	if (msg->bytes == NULL) {
		msg->bytes = g_byte_array_new ();
		msg->fields = g_array_new (FALSE, FALSE, sizeof (Field));
	}
	return msg;
}

/* Forgets the message, keeping what was negotiated for the connection. */
static void
message_reset (Message *msg)
{
	if (msg == NULL)
		return;
	if (msg->bytes != NULL)
		g_byte_array_unref (msg->bytes);
	if (msg->fields != NULL)
		g_array_unref (msg->fields);
	if (msg->spool_fd >= 0)
		close (msg->spool_fd);
	g_free (msg->message_id);
	msg->bytes = NULL;
	msg->fields = NULL;
	msg->spool_fd = -1;
	msg->size = 0;
	msg->head_len = 0;
	msg->over_limit = msg->failed = FALSE;
	msg->fault = 0;
	msg->message_id = NULL;
}

/* An unlinked file in $TMPDIR (or /tmp), or -1 with errno set. */
static int
anonymous_file (void)
{
	const char *dir = g_getenv ("TMPDIR");
	char *path;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd;
	path = g_build_filename (dir, "mimeutf8-milter-XXXXXX", NULL);
	fd = g_mkstemp_full (path, O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		unlink (path);
	g_free (path);
	return fd;
}

/* Appends bytes of the message: to memory, or to the spool file once it is large. */
static void
message_append (Message *msg, const void *data, size_t len)
{
	guint64 limit = config.options.max_message_size ? config.options.max_message_size
							: 50 * 1024 * 1024;

	if (msg->over_limit || msg->failed)
		return;
	msg->size += len;
	if (msg->size > limit) {
		/* passed through unchanged: nothing more needs keeping */
		msg->over_limit = TRUE;
		if (msg->spool_fd >= 0)
			close (msg->spool_fd);
		msg->spool_fd = -1;
		g_byte_array_set_size (msg->bytes, msg->head_len);
		return;
	}
	if (msg->spool_fd < 0 && msg->size > SPOOL_THRESHOLD && msg->head_len > 0) {
		msg->spool_fd = anonymous_file ();
		if (msg->spool_fd < 0 ||
		    !write_full (msg->spool_fd, msg->bytes->data, msg->bytes->len)) {
			msg->failed = TRUE;
			msg->fault = errno;
			return;
		}
		/* keep the header block in memory: the edits are computed from it */
		g_byte_array_set_size (msg->bytes, msg->head_len);
	}
	if (msg->spool_fd >= 0) {
		if (!write_full (msg->spool_fd, data, len)) {
			msg->failed = TRUE;
			msg->fault = errno;
		}
	} else {
		g_byte_array_append (msg->bytes, data, (guint) len);
	}
}

/* Appends `text` with every bare LF made CRLF: the MTA gives folded header values with LF. */
static void
append_crlf (Message *msg, const char *text)
{
	const char *p = text, *nl;

	while ((nl = strchr (p, '\n')) != NULL) {
		size_t n = (size_t) (nl - p);

		if (n > 0 && nl[-1] == '\r')
			n--;
		message_append (msg, p, n);
		message_append (msg, "\r\n", 2);
		p = nl + 1;
	}
	message_append (msg, p, strlen (p));
}

/* ---- milter callbacks ------------------------------------------------------------------------- */

static sfsistat
on_negotiate (SMFICTX *ctx, unsigned long actions, unsigned long steps, unsigned long unused2,
	      unsigned long unused3, unsigned long *actions_out, unsigned long *steps_out,
	      unsigned long *unused2_out, unsigned long *unused3_out)
{
	const unsigned long needed = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY;
	/* everything before the message is of no use here, and header and body chunks need no
	 * reply: the answer comes at the end of the message */
	const unsigned long wanted = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT |
				     SMFIP_NODATA | SMFIP_NOUNKNOWN | SMFIP_NOEOH | SMFIP_NR_HDR |
				     SMFIP_NR_BODY | SMFIP_HDR_LEADSPC;
	Message *msg;

	if ((actions & needed) != needed) {
		log_msg (LOG_ERR, "the MTA does not allow header and body changes (actions 0x%lx)",
			 actions);
		return SMFIS_REJECT;
	}
	*actions_out = needed | (actions & SMFIF_SETSYMLIST);
	*steps_out = steps & wanted;
	*unused2_out = *unused3_out = 0;
	msg = message_get (ctx);
	msg->nr_hdr = (*steps_out & SMFIP_NR_HDR) != 0;
	msg->nr_body = (*steps_out & SMFIP_NR_BODY) != 0;
	msg->leadspc = (*steps_out & SMFIP_HDR_LEADSPC) != 0;
	/* the queue id, for the log and the report (Postfix sends it by default; Sendmail too) */
	if (actions & SMFIF_SETSYMLIST)
		smfi_setsymlist (ctx, SMFIM_EOM, "i");
	return SMFIS_CONTINUE;
}

static sfsistat
on_header (SMFICTX *ctx, char *name, char *value)
{
	Message *msg = message_get (ctx);
	Field field = { .start = msg->bytes->len, .name_len = strlen (name) };

	if (msg->message_id == NULL && g_ascii_strcasecmp (name, "Message-ID") == 0)
		msg->message_id = g_strstrip (g_strdup (value));
	message_append (msg, name, strlen (name));
	message_append (msg, msg->leadspc ? ":" : ": ", msg->leadspc ? 1 : 2);
	append_crlf (msg, value);
	message_append (msg, "\r\n", 2);
	field.end = msg->bytes->len;
	if (!msg->over_limit && !msg->failed)
		g_array_append_val (msg->fields, field);
	return msg->nr_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static void
end_of_headers (Message *msg)
{
	if (msg->head_len > 0)
		return;
	message_append (msg, "\r\n", 2);
	msg->head_len = msg->bytes->len;
}

static sfsistat
on_body (SMFICTX *ctx, unsigned char *data, size_t len)
{
	Message *msg = message_get (ctx);

	end_of_headers (msg);
	message_append (msg, data, len);
	return msg->nr_body ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* ---- the edits -------------------------------------------------------------------------------- */

/* The fields of a header block (CRLF or LF lines) up to its blank line.  Returns where the body
 * starts, or (size_t) -1 if the block has no end. */
static size_t
parse_fields (const guint8 *data, size_t len, GArray *fields)
{
	size_t pos = 0;

	while (pos < len) {
		const guint8 *nl = memchr (data + pos, '\n', len - pos);
		size_t line_end = nl ? (size_t) (nl - data) + 1 : len;
		Field field = { .start = pos };
		const guint8 *colon;

		if (data[pos] == '\n' ||
		    (data[pos] == '\r' && pos + 1 < len && data[pos + 1] == '\n'))
			return line_end;
		/* a field goes on over lines that start with a blank */
		while (line_end < len && (data[line_end] == ' ' || data[line_end] == '\t')) {
			nl = memchr (data + line_end, '\n', len - line_end);
			line_end = nl ? (size_t) (nl - data) + 1 : len;
		}
		colon = memchr (data + pos, ':', line_end - pos);
		if (colon == NULL)
			return (size_t) -1;
		field.name_len = (size_t) (colon - data) - pos;
		field.end = line_end;
		g_array_append_val (fields, field);
		pos = line_end;
	}
	return (size_t) -1;
}

/* A field's value as the MTA wants it back: from after the colon (less the space the MTA adds
 * itself when the leading space was not negotiated), without the final newline, LF line ends. */
static char *
field_value (const guint8 *data, const Field *field, gboolean leadspc)
{
	size_t start = field->start + field->name_len + 1, end = field->end;
	GString *value;
	size_t i;

	if (!leadspc && start < end && data[start] == ' ')
		start++;
	if (end > start && data[end - 1] == '\n')
		end--;
	if (end > start && data[end - 1] == '\r')
		end--;
	value = g_string_sized_new (end - start);
	for (i = start; i < end; i++) {
		if (data[i] == '\r' && i + 1 < end && data[i + 1] == '\n')
			continue;
		g_string_append_c (value, (char) data[i]);
	}
	return g_string_free (value, FALSE);
}

static gboolean
same_name (const guint8 *a_data, const Field *a, const guint8 *b_data, const Field *b)
{
	return a->name_len == b->name_len &&
	       g_ascii_strncasecmp ((const char *) a_data + a->start,
				    (const char *) b_data + b->start, a->name_len) == 0;
}

static gboolean
same_field (const guint8 *a_data, const Field *a, const guint8 *b_data, const Field *b)
{
	return a->end - a->start == b->end - b->start &&
	       memcmp (a_data + a->start, b_data + b->start, a->end - a->start) == 0;
}

/* 1-based rank of field `index` among the fields of the same name before it, as
 * smfi_chgheader counts. */
static int
occurrence (const guint8 *data, GArray *fields, guint index)
{
	const Field *field = &g_array_index (fields, Field, index);
	int n = 1;
	guint i;

	for (i = 0; i < index; i++)
		if (same_name (data, &g_array_index (fields, Field, i), data, field))
			n++;
	return n;
}

/* Adds output field `o`: appended when `index` is -1, else inserted at `index`. */
static gboolean
send_field (SMFICTX *ctx, Message *msg, const guint8 *out, const Field *o, int index)
{
	char *name = g_strndup ((const char *) out + o->start, o->name_len);
	char *value = field_value (out, o, msg->leadspc);
	gboolean ok = (index < 0 ? smfi_addheader (ctx, name, value)
				 : smfi_insheader (ctx, index, name, value)) == MI_SUCCESS;

	g_free (name);
	g_free (value);
	return ok;
}

/* A field that says how the body reads: its label or its transfer encoding. */
static gboolean
is_mime_field (const guint8 *data, const Field *f)
{
	const char *name = (const char *) data + f->start;

	return (f->name_len > 8 && g_ascii_strncasecmp (name, "Content-", 8) == 0) ||
	       (f->name_len == 12 && g_ascii_strncasecmp (name, "MIME-Version", 12) == 0);
}

/* Sends the MTA the header edits that turn the input's fields into the output's; *any says
 * whether there was one.  The library rewrites fields in place and appends new ones after the last field; the
 * alignment below pairs fields in order, takes a field of another name in the output for an
 * insertion, and a field left over in the input for a deletion.
 *
 * The edits go in two rounds, the MIME fields' first (and every appended field, which are MIME
 * fields: their order is the output's): after a new body, the moment in which the MTA holds it
 * under its old label is as short as it can be.  In each round, changes from the last (they
 * move nothing), deletions from the last (an index counts fields of that name), then additions;
 * an inserted field's index counts the input's fields and those the first round inserted before
 * it. */
static gboolean
send_header_edits (SMFICTX *ctx, Message *msg, const guint8 *in, GArray *in_fields,
		   const guint8 *out, GArray *out_fields, gboolean *any)
{
	typedef struct {
		guint out; /* the output field */
		guint in;  /* the input field it replaces, or goes before */
	} Edit;
	GArray *changes = g_array_new (FALSE, FALSE, sizeof (Edit));
	GArray *inserts = g_array_new (FALSE, FALSE, sizeof (Edit));
	guint i = 0, j = 0, k, round;
	gboolean ok = TRUE;

	while (j < out_fields->len) {
		const Field *o = &g_array_index (out_fields, Field, j);
		const Field *f = i < in_fields->len ? &g_array_index (in_fields, Field, i) : NULL;
		Edit edit = { j, i };

		if (f != NULL && same_field (in, f, out, o)) {
			i++;
		} else if (f != NULL && same_name (in, f, out, o)) {
			g_array_append_val (changes, edit);
			i++;
		} else {
			g_array_append_val (inserts, edit);
		}
		j++;
	}
	/* changes, fields left over (deleted), fields added */
	*any = changes->len > 0 || i < in_fields->len || inserts->len > 0;
	for (round = 0; round < 2; round++) {
		gboolean mime = round == 0;

		/* from the last field: Postfix finds a field by reading the header from its top, and
		 * each field it changed before on the way costs a jump back, 10,000 of which per
		 * message fail it ("too many reverse jump records": 451 from about 142 changed
		 * fields on when they are changed from the first) */
		for (k = changes->len; ok && k > 0; k--) {
			const Edit *change = &g_array_index (changes, Edit, k - 1);
			const Field *f = &g_array_index (in_fields, Field, change->in);
			char *name, *value;

			if (is_mime_field (in, f) != mime)
				continue;
			name = g_strndup ((const char *) in + f->start, f->name_len);
			value = field_value (out, &g_array_index (out_fields, Field, change->out),
					     msg->leadspc);
			ok = smfi_chgheader (ctx, name, occurrence (in, in_fields, change->in),
					     value) == MI_SUCCESS;
			g_free (name);
			g_free (value);
		}
		/* fields the output no longer has */
		for (k = in_fields->len; ok && k > i; k--) {
			const Field *f = &g_array_index (in_fields, Field, k - 1);
			char *name;

			if (is_mime_field (in, f) != mime)
				continue;
			name = g_strndup ((const char *) in + f->start, f->name_len);
			ok = smfi_chgheader (ctx, name, occurrence (in, in_fields, k - 1), NULL) ==
			     MI_SUCCESS;
			g_free (name);
		}
		/* appended fields in their order, all in the first round */
		for (k = 0; ok && mime && k < inserts->len; k++) {
			const Edit *insert = &g_array_index (inserts, Edit, k);

			if (insert->in >= i)
				ok = send_field (ctx, msg, out,
						 &g_array_index (out_fields, Field, insert->out), -1);
		}
		/* inserted ones from the last, so that each index still counts the input's fields */
		for (k = inserts->len; ok && k > 0; k--) {
			const Edit *insert = &g_array_index (inserts, Edit, k - 1);
			int index = (int) insert->in;
			guint m;

			if (insert->in >= i ||
			    is_mime_field (out, &g_array_index (out_fields, Field, insert->out)) != mime)
				continue;
			/* in the second round, after the first round's insertions before this one */
			for (m = 0; !mime && m < k - 1; m++) {
				const Edit *before = &g_array_index (inserts, Edit, m);

				if (is_mime_field (out, &g_array_index (out_fields, Field, before->out)))
					index++;
			}
			/* smfi_insheader's index counts the MTA's own Received: field, which Postfix
			 * puts first and does not show a milter: index 0 would go above it */
			ok = send_field (ctx, msg, out, &g_array_index (out_fields, Field, insert->out),
					 index + 1);
		}
	}
	g_array_unref (changes);
	g_array_unref (inserts);
	return ok;
}

static gboolean
send_body (SMFICTX *ctx, const guint8 *body, size_t len)
{
	size_t done = 0;

	/* an empty body is replaced by sending nothing but the request */
	if (len == 0)
		return smfi_replacebody (ctx, (unsigned char *) "", 0) == MI_SUCCESS;
	while (done < len) {
		size_t n = MIN (len - done, BODY_CHUNK);

		if (smfi_replacebody (ctx, (unsigned char *) body + done, (int) n) != MI_SUCCESS)
			return FALSE;
		done += n;
	}
	return TRUE;
}

/* Compares input and output and sends the differences: the new body first, then the header
 * edits, MIME fields first.  The MTA applies each edit as it comes, and under
 * milter_default_action = accept keeps those it had when the connection is lost; in this order
 * a message it keeps has its new body only with its new label (unless the connection is lost
 * between two MIME fields' edits, or inside the body for a Postfix before 3.12-20260821).
 * FALSE if the MTA refused an edit. */
static gboolean
send_edits (SMFICTX *ctx, Message *msg, const guint8 *in, size_t in_len, const guint8 *out,
	    size_t out_len)
{
	GArray *out_fields = g_array_new (FALSE, FALSE, sizeof (Field));
	size_t out_body = parse_fields (out, out_len, out_fields);
	gboolean ok = TRUE, new_body, new_fields = FALSE;

	if (out_body == (size_t) -1) {
		/* the library keeps the blank line that ends the header block: never here */
		g_array_unref (out_fields);
		log_msg (LOG_ERR, "normalized message has no end of header block");
		return FALSE;
	}
	new_body = out_len - out_body != in_len - msg->head_len ||
		   memcmp (in + msg->head_len, out + out_body, in_len - msg->head_len) != 0;
	if (new_body)
		ok = send_body (ctx, out + out_body, out_len - out_body);
	if (ok)
		ok = send_header_edits (ctx, msg, in, msg->fields, out, out_fields, &new_fields);
	/* the MTA ends a body replacement at the next packet; until then a lost connection leaves
	 * it half done (Postfix before 3.12-20260821 then commits the message under
	 * milter_default_action = accept), so a new body is never left open */
	if (ok && new_body && !new_fields)
		ok = smfi_progress (ctx) == MI_SUCCESS;
	g_array_unref (out_fields);
	return ok;
}

/* Appends `text` to `out` as a JSON string. */
static void
append_json_string (GString *out, const char *text)
{
	const char *p;

	if (text == NULL) {
		g_string_append (out, "null");
		return;
	}
	g_string_append_c (out, '"');
	for (p = text; *p; p++) {
		unsigned char c = (unsigned char) *p;

		if (c == '"' || c == '\\')
			g_string_append_printf (out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			/* bytes, not characters: a Message-ID is ASCII, anything else is kept
			 * readable and the line stays valid JSON */
			g_string_append_printf (out, "\\u%04x", c);
		else
			g_string_append_c (out, (char) c);
	}
	g_string_append_c (out, '"');
}

/* One line of --report: the library's JSON with the queue id and the Message-ID in front. */
static void
write_report (const char *queue_id, const Message *msg, const MimeUtf8Report *report)
{
	char *json;
	GString *line;

	if (!config.report)
		return;
	json = mimeutf8_report_to_json (report, queue_id);
	line = g_string_new ("{\"queue_id\":");
	append_json_string (line, queue_id);
	g_string_append (line, ",\"message_id\":");
	append_json_string (line, msg->message_id);
	g_string_append_c (line, ',');
	g_string_append (line, json[0] == '{' ? json + 1 : json);
	g_string_append_c (line, '\n');
	/* one write per line under a lock: lines of parallel connections never interleave */
	pthread_mutex_lock (&config.report_lock);
	if (config.report_fd >= 0 && !write_full (config.report_fd, line->str, line->len))
		log_msg (LOG_ERR, "writing the report: %s", g_strerror (errno));
	pthread_mutex_unlock (&config.report_lock);
	g_string_free (line, TRUE);
	g_free (json);
}

static unsigned int
converted_parts (const MimeUtf8Report *report)
{
	size_t i, n = mimeutf8_report_get_n_parts (report);
	unsigned int converted = 0;

	for (i = 0; i < n; i++)
		if (mimeutf8_report_get_part (report, i)->action == MIMEUTF8_ACTION_CONVERTED)
			converted++;
	return converted;
}

/* Maps a spool file for reading; NULL with errno set on failure (an empty file is "" ). */
static const guint8 *
map_file (int fd, size_t *len_out)
{
	struct stat st;
	void *p;

	if (fstat (fd, &st) != 0)
		return NULL;
	*len_out = (size_t) st.st_size;
	if (st.st_size == 0)
		return (const guint8 *) "";
	p = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* What a fault does to the message: --on-error. */
static sfsistat
fault (SMFICTX *ctx, Message *msg, const char *queue_id, const char *what)
{
	log_msg (LOG_ERR, "%s: %s; message %s", queue_id, what,
		 config.tempfail_on_error ? "deferred" : "accepted unchanged");
	message_reset (msg);
	return config.tempfail_on_error ? SMFIS_TEMPFAIL : SMFIS_ACCEPT;
}

static sfsistat
on_eom (SMFICTX *ctx)
{
	Message *msg = message_get (ctx);
	const char *queue_id = smfi_getsymval (ctx, "i");
	MimeUtf8Report *report = NULL;
	g_autoptr (GError) error = NULL;
	GByteArray *out = NULL;
	MimeUtf8Status status;
	const guint8 *in_data = NULL, *out_data = NULL;
	size_t in_len = 0, out_len = 0;
	int out_fd = -1;
	gboolean ok = TRUE;
	char *trace = NULL;

	if (queue_id == NULL)
		queue_id = "NOQUEUE";
	end_of_headers (msg);
	if (msg->failed)
		return fault (ctx, msg, queue_id, g_strerror (msg->fault));
	if (msg->over_limit) {
		error = g_error_new_literal (MIMEUTF8_ERROR, MIMEUTF8_ERROR_LIMIT,
					     "limit: message size");
		report = mimeutf8_report_new_passthrough ("limit: message size", msg->size);
		status = MIMEUTF8_STATUS_PASSTHROUGH;
	} else if (msg->spool_fd < 0) {
		out = g_byte_array_new ();
		in_data = msg->bytes->data ? msg->bytes->data : (const guint8 *) "";
		in_len = msg->bytes->len;
		status = mimeutf8_normalize_buffer (&config.options, in_data, in_len, out, &report,
						    &error);
		out_data = out->data ? out->data : (const guint8 *) "";
		out_len = out->len;
	} else {
		out_fd = anonymous_file ();
		if (out_fd < 0 || lseek (msg->spool_fd, 0, SEEK_SET) != 0) {
			char *what = g_strdup_printf ("spool file: %s", g_strerror (errno));
			sfsistat r = fault (ctx, msg, queue_id, what);

			g_free (what);
			if (out_fd >= 0)
				close (out_fd);
			return r;
		}
		status = mimeutf8_normalize_fd (&config.options, msg->spool_fd, out_fd, &report,
						&error);
		if (status == MIMEUTF8_STATUS_NORMALIZED) {
			in_data = map_file (msg->spool_fd, &in_len);
			out_data = in_data ? map_file (out_fd, &out_len) : NULL;
			if (out_data == NULL) {
				status = MIMEUTF8_STATUS_FAILED;
				g_clear_error (&error);
				g_set_error (&error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO,
					     "mapping the spool file: %s", g_strerror (errno));
			}
		}
	}

	if (status == MIMEUTF8_STATUS_FAILED) {
		char *what =
			g_strdup_printf ("normalization failed: %s", error ? error->message : "?");
		sfsistat r;

		write_report (queue_id, msg, report);
		r = fault (ctx, msg, queue_id, what);
		g_free (what);
		mimeutf8_report_free (report);
		if (out != NULL)
			g_byte_array_unref (out);
		if (in_data != NULL && in_len > 0 && msg->spool_fd >= 0)
			munmap ((void *) in_data, in_len);
		if (out_fd >= 0)
			close (out_fd);
		return r;
	}
	if (status == MIMEUTF8_STATUS_NORMALIZED) {
		ok = send_edits (ctx, msg, in_data, in_len, out_data, out_len);
		trace = g_strdup_printf (" normalized; converted=%u", converted_parts (report));
	} else if (status == MIMEUTF8_STATUS_UNCHANGED) {
		trace = g_strdup (" unchanged");
	} else {
		trace = g_strdup (" passthrough");
	}
	if (ok && config.trace_header)
		ok = smfi_addheader (ctx, "X-Mimeutf8", msg->leadspc ? trace : trace + 1) ==
		     MI_SUCCESS;
	if (status == MIMEUTF8_STATUS_PASSTHROUGH)
		log_msg (LOG_INFO, "%s: passthrough: %s", queue_id,
			 mimeutf8_report_get_reason (report));
	else
		log_msg (LOG_INFO, "%s: %s", queue_id, mimeutf8_status_name (status));
	write_report (queue_id, msg, report);

	g_free (trace);
	mimeutf8_report_free (report);
	if (out != NULL)
		g_byte_array_unref (out);
	if (msg->spool_fd >= 0 && in_data != NULL && in_len > 0)
		munmap ((void *) in_data, in_len);
	if (out_fd >= 0 && out_data != NULL && out_len > 0)
		munmap ((void *) out_data, out_len);
	if (out_fd >= 0)
		close (out_fd);
	if (!ok)
		return fault (ctx, msg, queue_id, "the MTA refused an edit");
	message_reset (msg);
	return SMFIS_CONTINUE;
}

static sfsistat
on_abort (SMFICTX *ctx)
{
	message_reset (smfi_getpriv (ctx));
	return SMFIS_CONTINUE;
}

static sfsistat
on_close (SMFICTX *ctx)
{
	Message *msg = smfi_getpriv (ctx);

	message_reset (msg);
	g_free (msg);
	smfi_setpriv (ctx, NULL);
	return SMFIS_CONTINUE;
}

static struct smfiDesc filter = {
	.xxfi_name = "mimeutf8",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_SETSYMLIST,
	.xxfi_header = on_header,
	.xxfi_body = on_body,
	.xxfi_eom = on_eom,
	.xxfi_abort = on_abort,
	.xxfi_close = on_close,
	.xxfi_negotiate = on_negotiate,
};

/* ---- options and main ------------------------------------------------------------------------- */

static G_NORETURN void
usage_error (const char *format, const char *value)
{
	options_usage_error ("mimeutf8-milter", format, value);
}

/* The index of `value` in the NULL-terminated `names`, or a usage error. */
static int
choice_arg (const char *option, const char *value, const char *const *names)
{
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp (value, names[i]) == 0)
			return i;
	usage_error ("bad value for %s", option);
}

/* The -p value, checked before anything listens: libmilter would take a value without a type as
 * the path of a unix socket in the working directory ("-p nonsense" listened on ./nonsense), an
 * empty unix path or port 0 as an address the kernel picks, which no MTA can be told, and would
 * cut port 99999 down to 34463 and read port "8890x" as 8890.  A
 * relative unix path is made absolute, so that the socket is removed at exit even when daemon()
 * has changed the directory to /.  Returns the value to give libmilter. */
static const char *
checked_socket (const char *spec)
{
	const char *colon = strchr (spec, ':');
	g_autofree char *type = colon != NULL ? g_strndup (spec, colon - spec) : NULL;
	const char *rest = colon != NULL ? colon + 1 : NULL;

	if (type != NULL && (strcmp (type, "unix") == 0 || strcmp (type, "local") == 0)) {
		struct sockaddr_un addr;
		g_autofree char *path = NULL;

		if (*rest == '\0')
			usage_error ("-p '%s': no socket path", spec);
		path = g_canonicalize_filename (rest, NULL);
		if (strlen (path) >= sizeof addr.sun_path)
			usage_error ("-p '%s': the socket path is too long for a unix socket",
				     spec);
		return g_strconcat (type, ":", path, NULL); /* kept until exit */
	}
	if (type != NULL && (strcmp (type, "inet") == 0 || strcmp (type, "inet6") == 0)) {
		const char *at = strchr (rest, '@');
		g_autofree char *port = at != NULL ? g_strndup (rest, at - rest) : g_strdup (rest);
		guint64 number;

		if (port[0] >= '0' && port[0] <= '9') {
			if (!g_ascii_string_to_unsigned (port, 10, 1, 65535, &number, NULL))
				usage_error ("-p '%s': the port must be a number from 1 to 65535",
					     spec);
		} else if (getservbyname (port, "tcp") == NULL)
			usage_error ("-p '%s': no such port name", spec);
		if (at != NULL && at[1] == '\0')
			usage_error ("-p '%s': no host after '@'", spec);
		return spec;
	}
	usage_error ("-p '%s': not a socket (unix:PATH, local:PATH, inet:PORT@HOST or "
		     "inet6:PORT@HOST)",
		     spec);
}

static void
parse_options (int argc, char **argv)
{
	static const char *const on_error[] = { "accept", "tempfail", NULL };
	enum {
		OPT_REPORT = 256,
		OPT_PID_FILE,
		OPT_ON_ERROR,
		OPT_TRACE,
	};
	static const struct option long_options[] = {
		{ "socket", required_argument, NULL, 'p' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "on-error", required_argument, NULL, OPT_ON_ERROR },
		{ "trace-header", no_argument, NULL, OPT_TRACE },
		{ "report", required_argument, NULL, OPT_REPORT },
		ENGINE_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *report_path = NULL;
	int c;

	while ((c = getopt_long (argc, argv, "p:fhV", long_options, NULL)) != -1) {
		switch (c) {
		case 'p':
			config.socket = optarg;
			break;
		case 'f':
			config.foreground = TRUE;
			break;
		case OPT_PID_FILE:
			config.pid_file = optarg;
			break;
		case OPT_ON_ERROR:
			config.tempfail_on_error = choice_arg ("--on-error", optarg, on_error) == 1;
			break;
		case OPT_TRACE:
			config.trace_header = TRUE;
			break;
		case OPT_REPORT:
			report_path = optarg;
			break;
		case 'h':
			fputs (help_text, stdout);
			exit (EXIT_DONE);
		case 'V':
			printf ("mimeutf8-milter %s\n", mimeutf8_version ());
			exit (EXIT_DONE);
		default:
			if (options_apply ("mimeutf8-milter", c, optarg, &config.options, NULL))
				break;
			fprintf (stderr, "Try 'mimeutf8-milter --help' for more information.\n");
			exit (EXIT_USAGE);
		}
	}
	if (optind < argc)
		usage_error ("unexpected argument '%s'", argv[optind]);
	if (config.socket == NULL)
		usage_error ("%s", "-p SOCKET is required (unix:PATH or inet:PORT@HOST)");
	config.socket = checked_socket (config.socket);
	if (report_path != NULL) {
		config.report_fd =
			open (report_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (config.report_fd < 0) {
			fprintf (stderr, "mimeutf8-milter: %s: %s\n", report_path,
				 g_strerror (errno));
			exit (EXIT_IOERR);
		}
		config.report = TRUE;
	}
}

/* The pid file, written whole: a reader never sees it empty. */
static gboolean
write_pid_file (void)
{
	char *text = g_strdup_printf ("%ld\n", (long) getpid ());
	g_autoptr (GError) error = NULL;
	gboolean ok = g_file_set_contents (config.pid_file, text, -1, &error);

	if (!ok)
		log_msg (LOG_ERR, "pid file: %s", error->message);
	g_free (text);
	return ok;
}

int
main (int argc, char **argv)
{
	static const MimeUtf8Options defaults = MIMEUTF8_OPTIONS_INIT;
	gboolean wrote_pid = FALSE;
	int code;

	sigset_t stop_signals;

	/* a SIGTERM during start-up waits, blocked, for libmilter's signal thread (which sigwaits
	 * for it once smfi_main runs) rather than killing the process before it can clean up */
	sigemptyset (&stop_signals);
	sigaddset (&stop_signals, SIGTERM);
	sigaddset (&stop_signals, SIGINT);
	sigaddset (&stop_signals, SIGHUP);
	pthread_sigmask (SIG_BLOCK, &stop_signals, NULL);
	/* glibc would load converter modules from GCONV_PATH: never from a place the caller picks */
	unsetenv ("GCONV_PATH");
	config.options = defaults;
	parse_options (argc, argv);

	openlog ("mimeutf8-milter", LOG_PID | (config.foreground ? LOG_PERROR : 0), LOG_MAIL);
	mimeutf8_init ();
	if (smfi_setconn ((char *) config.socket) != MI_SUCCESS ||
	    smfi_register (filter) != MI_SUCCESS) {
		fprintf (stderr, "mimeutf8-milter: cannot use socket '%s'\n", config.socket);
		return EXIT_USAGE;
	}
	/* open the socket before daemonizing, so that a bad address is reported to the caller;
	 * a stale unix socket of an earlier run is removed */
	if (smfi_opensocket (true) != MI_SUCCESS) {
		fprintf (stderr, "mimeutf8-milter: cannot listen on '%s'\n", config.socket);
		return EXIT_IOERR;
	}
	if (!config.foreground) {
		if (daemon (0, 0) != 0) {
			fprintf (stderr, "mimeutf8-milter: daemon: %s\n", g_strerror (errno));
			return EXIT_SOFTWARE;
		}
		wrote_pid = write_pid_file ();
	}
	/* a connection the MTA drops must not kill the process */
	signal (SIGPIPE, SIG_IGN);
	log_msg (LOG_INFO, "mimeutf8-milter %s listening on %s", mimeutf8_version (),
		 config.socket);
	/* libmilter's own signal thread turns SIGTERM, SIGINT and SIGHUP into a clean return */
	code = smfi_main () == MI_SUCCESS ? EXIT_DONE : EXIT_SOFTWARE;
	log_msg (LOG_INFO, "stopped");
	if (wrote_pid)
		unlink (config.pid_file);
	/* libmilter leaves its unix socket behind; the next start would remove it anyway */
	if (g_str_has_prefix (config.socket, "unix:") || g_str_has_prefix (config.socket, "local:"))
		unlink (strchr (config.socket, ':') + 1);
	/* libmilter does not join its connection threads: one may still be writing a line */
	pthread_mutex_lock (&config.report_lock);
	if (config.report_fd >= 0)
		close (config.report_fd);
	config.report_fd = -1;
	pthread_mutex_unlock (&config.report_lock);
	closelog ();
	return code;
}
