/* mbox.h: reading and writing mbox files (mboxo, mboxrd, and Content-Length mboxes), a message
 * at a time. */
#ifndef MIMEUTF8_MBOX_H
#define MIMEUTF8_MBOX_H

#include <glib.h>
#include <stdio.h>

typedef struct _MboxReader MboxReader;

/* A reader over `in`, which it does not close.  A Content-Length header over
 * `max_content_length` is not trusted (it would make the reader hold that much to check it). */
MboxReader *mbox_reader_new (FILE *in, guint64 max_content_length);
/* The next message: `from_line` (with its newline) and the message's bytes with ">From "
 * quoting undone (transfer full).  `separator` is the blank line that ended it in the mbox ("",
 * "\n" or "\r\n"; static).  FALSE at the end or on a read error (then *error_out is TRUE). */
gboolean mbox_reader_next (MboxReader *reader, GByteArray **from_line_out, GByteArray **message_out,
			   const char **separator_out, gboolean *error_out);
void mbox_reader_free (MboxReader *reader);

/* Appends one message to `out` the mboxrd way: its From_ line, the message with every line that
 * starts with ">*From " quoted by one more ">", then the separator. */
void mbox_append (GByteArray *out, const GByteArray *from_line, const guint8 *message, size_t len,
		  const char *separator);

#endif /* MIMEUTF8_MBOX_H */
