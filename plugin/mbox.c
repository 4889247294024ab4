/* mbox.c: mbox files, read and written a message at a time.  A message starts at a line "From "
 * at the top of the file or after a blank line.  Quoting follows mboxrd, whose undoing and
 * redoing are exact inverses on lines ">*From ", so an mboxo or mboxrd file whose messages need
 * no change is written back byte for byte. */
#include <stdlib.h>
#include <string.h>

#include "mbox.h"

struct _MboxReader {
	FILE *in;
	GByteArray *pending; /* the From_ line of the next message, once seen */
	gboolean at_end;
	guint64 offset;
	char *buffer; /* getline's */
	size_t buffer_size;
};

MboxReader *
mbox_reader_new (FILE *in)
{
	MboxReader *reader = g_new0 (MboxReader, 1);

	reader->in = in;
	return reader;
}

void
mbox_reader_free (MboxReader *reader)
{
	if (reader == NULL)
		return;
	if (reader->pending != NULL)
		g_byte_array_unref (reader->pending);
	free (reader->buffer);
	g_free (reader);
}

guint64
mbox_reader_tell (const MboxReader *reader)
{
	return reader->offset;
}

/* One line with its newline into `line`; FALSE at the end of the file.  getline, unlike fgets,
 * counts NUL bytes. */
static gboolean
read_line (MboxReader *reader, GByteArray *line)
{
	ssize_t n = getline (&reader->buffer, &reader->buffer_size, reader->in);

	g_byte_array_set_size (line, 0);
	if (n <= 0)
		return FALSE;
	g_byte_array_append (line, (const guint8 *) reader->buffer, (guint) n);
	reader->offset += (guint64) n;
	return TRUE;
}

static gboolean
is_from_line (const GByteArray *line)
{
	return line->len >= 5 && memcmp (line->data, "From ", 5) == 0;
}

static gboolean
is_blank (const guint8 *line, size_t len)
{
	return (len == 1 && line[0] == '\n') || (len == 2 && line[0] == '\r' && line[1] == '\n');
}

/* ">From " quoting undone: one '>' less on lines ">+From ". */
static void
append_unquoted (GByteArray *message, const GByteArray *line)
{
	guint i = 0;

	while (i < line->len && line->data[i] == '>')
		i++;
	if (i > 0 && line->len - i >= 5 && memcmp (line->data + i, "From ", 5) == 0)
		g_byte_array_append (message, line->data + 1, line->len - 1);
	else
		g_byte_array_append (message, line->data, line->len);
}

gboolean
mbox_reader_next (MboxReader *reader, GByteArray **from_line_out, GByteArray **message_out,
		  const char **separator_out, gboolean *error_out)
{
	g_autoptr (GByteArray) line = g_byte_array_new ();
	GByteArray *message, *blank = NULL;

	*error_out = FALSE;
	if (reader->pending == NULL) {
		/* the top of the file: anything before the first From_ line is kept as a message
		 * of its own only if there is no From_ line at all */
		if (reader->at_end || !read_line (reader, line)) {
			*error_out = ferror (reader->in) != 0;
			return FALSE;
		}
		if (!is_from_line (line)) {
			*error_out = TRUE;
			return FALSE;
		}
		reader->pending = g_byte_array_ref (line);
		line = g_byte_array_new ();
	}
	*from_line_out = reader->pending;
	reader->pending = NULL;
	message = g_byte_array_new ();
	while (read_line (reader, line)) {
		if (blank != NULL && is_from_line (line)) {
			reader->pending = g_byte_array_ref (line);
			break;
		}
		if (blank != NULL)
			append_unquoted (message, blank);
		if (is_blank (line->data, line->len)) {
			if (blank == NULL)
				blank = g_byte_array_new ();
			g_byte_array_set_size (blank, 0);
			g_byte_array_append (blank, line->data, line->len);
		} else {
			if (blank != NULL)
				g_byte_array_unref (blank);
			blank = NULL;
			append_unquoted (message, line);
		}
	}
	if (reader->pending == NULL) {
		reader->at_end = TRUE;
		*error_out = ferror (reader->in) != 0;
	}
	/* the blank line before the next From_ line (or at the end) separates; it is not the
	 * message's */
	*separator_out = blank == NULL ? "" : blank->len == 2 ? "\r\n" : "\n";
	if (blank != NULL)
		g_byte_array_unref (blank);
	*message_out = message;
	return TRUE;
}

void
mbox_append (GByteArray *out, const GByteArray *from_line, const guint8 *message, size_t len,
	     const char *separator)
{
	const guint8 *p = message, *end = message + len;

	g_byte_array_append (out, from_line->data, from_line->len);
	while (p < end) {
		const guint8 *nl = memchr (p, '\n', end - p);
		const guint8 *line_end = nl ? nl + 1 : end;
		const guint8 *q = p;

		while (q < line_end && *q == '>')
			q++;
		if (line_end - q >= 5 && memcmp (q, "From ", 5) == 0)
			g_byte_array_append (out, (const guint8 *) ">", 1);
		g_byte_array_append (out, p, line_end - p);
		p = line_end;
	}
	g_byte_array_append (out, (const guint8 *) separator, strlen (separator));
}
