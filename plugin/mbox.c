/* mbox.c: mbox files, read and written a message at a time.  A message starts at a From_ line
 * recognized by its syntax, as mutt and Dovecot do ("From SENDER DATE", DATE as ctime writes
 * it), wherever it stands; a message's Content-Length, where it points exactly at the next From_
 * line (or the end), is honoured, so that a body line "From ..." inside it does not split it.
 * Quoting follows mboxrd, whose undoing and redoing are exact inverses on lines ">*From ", so an
 * mboxo or mboxrd file whose messages need no change is written back byte for byte. */
#include <stdlib.h>
#include <string.h>

#include "mbox.h"

struct _MboxReader {
	FILE *in;
	guint64 max_content_length;
	GQueue lookahead;    /* lines read ahead and given back, first to read at the head */
	GByteArray *pending; /* the From_ line of the next message, once seen */
	gboolean started;
	char *buffer; /* getline's */
	size_t buffer_size;
};

MboxReader *
mbox_reader_new (FILE *in, guint64 max_content_length)
{
	MboxReader *reader = g_new0 (MboxReader, 1);

	reader->in = in;
	reader->max_content_length = max_content_length;
	g_queue_init (&reader->lookahead);
	return reader;
}

void
mbox_reader_free (MboxReader *reader)
{
	if (reader == NULL)
		return;
	g_queue_clear_full (&reader->lookahead, (GDestroyNotify) g_byte_array_unref);
	if (reader->pending != NULL)
		g_byte_array_unref (reader->pending);
	free (reader->buffer);
	g_free (reader);
}

/* The next line with its newline (transfer full); NULL at the end of the file.  getline, unlike
 * fgets, counts NUL bytes. */
static GByteArray *
read_line (MboxReader *reader)
{
	GByteArray *line;
	ssize_t n;

	if (!g_queue_is_empty (&reader->lookahead))
		return g_queue_pop_head (&reader->lookahead);
	n = getline (&reader->buffer, &reader->buffer_size, reader->in);
	if (n <= 0)
		return NULL;
	line = g_byte_array_sized_new ((guint) n);
	g_byte_array_append (line, (const guint8 *) reader->buffer, (guint) n);
	return line;
}

/* Gives a line back: the next read_line returns it. */
static void
unread_line (MboxReader *reader, GByteArray *line)
{
	g_queue_push_head (&reader->lookahead, line);
}

static gboolean
starts_from (const GByteArray *line)
{
	return line->len >= 5 && memcmp (line->data, "From ", 5) == 0;
}

static gboolean
is_blank (const GByteArray *line)
{
	return (line->len == 1 && line->data[0] == '\n') ||
	       (line->len == 2 && line->data[0] == '\r' && line->data[1] == '\n');
}

/* "Name:" at the start of a line: a header field. */
static gboolean
is_header_line (const GByteArray *line)
{
	guint i;

	for (i = 0; i < line->len && line->data[i] > ' ' && line->data[i] < 127; i++)
		if (line->data[i] == ':')
			return i > 0;
	return FALSE;
}

static gboolean
word_in (const char *word, size_t len, const char *const *list)
{
	for (; *list != NULL; list++)
		if (len == 3 && g_ascii_strncasecmp (word, *list, 3) == 0)
			return TRUE;
	return FALSE;
}

static gboolean
all_digits (const char *word, size_t len, size_t min, size_t max)
{
	size_t i;

	if (len < min || len > max)
		return FALSE;
	for (i = 0; i < len; i++)
		if (!g_ascii_isdigit (word[i]))
			return FALSE;
	return TRUE;
}

/* hh:mm or hh:mm:ss (an hour may have one digit) */
static gboolean
is_time (const char *word, size_t len)
{
	size_t i = 0, digits;
	int fields = 0;

	for (;;) {
		for (digits = 0; i < len && g_ascii_isdigit (word[i]); i++)
			digits++;
		if (digits < 1 || digits > 2)
			return FALSE;
		if (++fields >= 2 && i == len)
			return TRUE;
		if (i == len || word[i] != ':' || fields == 3)
			return FALSE;
		i++;
	}
}

/* A zone after the time: "PST", "+0100" */
static gboolean
is_zone (const char *word, size_t len)
{
	size_t i;

	if ((word[0] == '+' || word[0] == '-') && all_digits (word + 1, len - 1, 4, 4))
		return TRUE;
	for (i = 0; i < len; i++)
		if (!g_ascii_isalpha (word[i]))
			return FALSE;
	return len > 0 && len <= 5;
}

/* The words of a ctime date: [Www[,]] Mmm d hh:mm[:ss] [zone [zone]] yyyy ..., or of an RFC 5322
 * one: [Www,] d Mmm yyyy hh:mm[:ss] ... */
static gboolean
is_date (char **words, guint n)
{
	static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", NULL };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
					      "Aug", "Sep", "Oct", "Nov", "Dec", NULL };
	guint i = 0, k;

	if (i < n && word_in (words[i], strcspn (words[i], ","), days))
		i++;
	/* the RFC 5322 order some writers use: d Mmm yyyy hh:mm[:ss] */
	if (i + 3 < n && all_digits (words[i], strlen (words[i]), 1, 2) &&
	    word_in (words[i + 1], strlen (words[i + 1]), months) &&
	    all_digits (words[i + 2], strlen (words[i + 2]), 2, 4) &&
	    is_time (words[i + 3], strlen (words[i + 3])))
		return TRUE;
	if (i >= n || !word_in (words[i], strlen (words[i]), months))
		return FALSE;
	if (++i >= n || !all_digits (words[i], strlen (words[i]), 1, 2))
		return FALSE;
	if (++i >= n || !is_time (words[i], strlen (words[i])))
		return FALSE;
	for (i++, k = 0; i < n && k < 3; i++, k++) {
		size_t len = strlen (words[i]);

		if (all_digits (words[i], len, 2, 4) && len != 3)
			return TRUE;
		if (!is_zone (words[i], len))
			return FALSE;
	}
	return FALSE;
}

/* The words after "From " on a From_ line candidate. */
static char **
from_words (const GByteArray *line)
{
	g_autofree char *rest = g_strndup ((const char *) line->data + 5, line->len - 5);
	char **words = g_strsplit_set (g_strstrip (rest), " \t", -1);
	guint i, j;

	/* runs of blanks make empty words: squeeze them out */
	for (i = j = 0; words[i] != NULL; i++) {
		if (words[i][0] != '\0')
			words[j++] = words[i];
		else
			g_free (words[i]);
	}
	words[j] = NULL;
	return words;
}

/* A From_ line: "From SENDER DATE" (SENDER may be missing, as mutt allows), or, with `undated`,
 * "From SENDER" alone when header fields follow it (Netscape wrote "From - " with no date).  In
 * a header block only the first form counts: "From  :<a@b>" there is a (misplaced) field. */
static gboolean
is_separator (MboxReader *reader, const GByteArray *line, gboolean undated)
{
	g_auto (GStrv) words = NULL;
	guint n;
	gboolean yes;

	if (!starts_from (line))
		return FALSE;
	words = from_words (line);
	n = g_strv_length (words);
	if (is_date (words, n) || (n > 1 && is_date (words + 1, n - 1)))
		return TRUE;
	if (undated && (n == 0 || (n == 1 && words[0][0] != ':'))) {
		GByteArray *next = read_line (reader);

		if (next == NULL)
			return FALSE;
		yes = is_header_line (next);
		unread_line (reader, next);
		return yes;
	}
	return FALSE;
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

/* The value of a "Content-Length:" header line, or -1. */
static gint64
content_length_of (const GByteArray *line)
{
	g_autofree char *value = NULL;
	guint64 n;

	if (line->len < 15 ||
	    g_ascii_strncasecmp ((const char *) line->data, "Content-Length:", 15))
		return -1;
	value = g_strstrip (g_strndup ((const char *) line->data + 15, line->len - 15));
	if (!g_ascii_string_to_unsigned (value, 10, 0, G_MAXINT64, &n, NULL))
		return -1;
	return (gint64) n;
}

static const char *
separator_of (const GByteArray *blank)
{
	return blank == NULL ? "" : blank->len == 2 ? "\r\n" : "\n";
}

/* Takes a body of exactly `length` bytes if it is followed by the end of the file or (after an
 * optional blank line, the separator) by a line "From ".  Otherwise it gives every line back and
 * returns FALSE: the Content-Length is wrong and the From_ lines decide. */
static gboolean
take_content_length (MboxReader *reader, GByteArray *message, guint64 length,
		     const char **separator_out)
{
	g_autoptr (GPtrArray) span = g_ptr_array_new ();
	GByteArray *line = NULL, *next = NULL, *blank = NULL;
	guint64 got = 0;
	gboolean ok = FALSE;
	guint i;

	while (got < length && (line = read_line (reader)) != NULL) {
		g_ptr_array_add (span, line);
		got += line->len;
	}
	if (got == length) {
		next = read_line (reader);
		if (next != NULL && is_blank (next)) {
			blank = next;
			next = read_line (reader);
		}
		ok = next == NULL || starts_from (next);
	}
	if (!ok) {
		if (next != NULL)
			unread_line (reader, next);
		if (blank != NULL)
			unread_line (reader, blank);
		for (i = span->len; i > 0; i--)
			unread_line (reader, span->pdata[i - 1]);
		return FALSE;
	}
	for (i = 0; i < span->len; i++) {
		append_unquoted (message, span->pdata[i]);
		g_byte_array_unref (span->pdata[i]);
	}
	*separator_out = separator_of (blank);
	if (blank != NULL)
		g_byte_array_unref (blank);
	reader->pending = next;
	return TRUE;
}

gboolean
mbox_reader_next (MboxReader *reader, GByteArray **from_line_out, GByteArray **message_out,
		  const char **separator_out, gboolean *error_out)
{
	GByteArray *line, *message, *blank = NULL;
	gint64 length = -1;
	static const char bom_from[] = "\xEF\xBB\xBF"
				       "From ";

	*error_out = FALSE;
	if (!reader->started) {
		/* the top of the file: it must be a From_ line, of any form */
		reader->started = TRUE;
		line = read_line (reader);
		if (line == NULL) {
			*error_out = ferror (reader->in) != 0;
			return FALSE;
		}
		/* a UTF-8 byte-order mark before it (an editor's) stays with the From_ line */
		if (!starts_from (line) &&
		    !(line->len >= 8 && memcmp (line->data, bom_from, 8) == 0)) {
			g_byte_array_unref (line);
			*error_out = TRUE;
			return FALSE;
		}
		reader->pending = line;
	}
	if (reader->pending == NULL) {
		*error_out = ferror (reader->in) != 0;
		return FALSE;
	}
	*from_line_out = reader->pending;
	reader->pending = NULL;
	*separator_out = "";
	message = g_byte_array_new ();
	*message_out = message;

	/* the header block, to its blank line */
	while ((line = read_line (reader)) != NULL) {
		if (is_separator (reader, line, FALSE)) {
			reader->pending = line;
			return TRUE;
		}
		append_unquoted (message, line);
		if (is_blank (line)) {
			g_byte_array_unref (line);
			break;
		}
		if (length < 0)
			length = content_length_of (line);
		g_byte_array_unref (line);
	}
	if (line == NULL)
		return TRUE;
	if (length >= 0 && (guint64) length <= reader->max_content_length &&
	    take_content_length (reader, message, (guint64) length, separator_out))
		return TRUE;

	/* the body, to the next From_ line; the blank line before it (or before the end) separates
	 * and is not the message's */
	while ((line = read_line (reader)) != NULL) {
		if (is_separator (reader, line, TRUE)) {
			reader->pending = line;
			break;
		}
		if (blank != NULL) {
			append_unquoted (message, blank);
			g_clear_pointer (&blank, g_byte_array_unref);
		}
		if (is_blank (line)) {
			blank = line;
		} else {
			append_unquoted (message, line);
			g_byte_array_unref (line);
		}
	}
	*separator_out = separator_of (blank);
	if (blank != NULL)
		g_byte_array_unref (blank);
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
