/* cli.c: what every mode of the command uses: the report line written before the message, standard
 * output taken back after a failure, the first error's exit code, and the progress line. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

void
note_error (Cli *cli, int code)
{
	if (cli->first_error == EXIT_DONE)
		cli->first_error = code;
}

/* The exit code of a failed write: a full disk is a transient fault, others are I/O errors. */
int
write_error_code (int saved_errno)
{
	return saved_errno == ENOSPC || saved_errno == EDQUOT ? EXIT_TEMPFAIL : EXIT_IOERR;
}

/* Adds one report line to those report_flush writes; FALSE once the report failed (nothing is
 * added then). */
gboolean
report_add_line (Cli *cli, const char *json)
{
	if (cli->report == NULL || json == NULL)
		return !cli->stopped;
	if (cli->stopped)
		return FALSE;
	if (cli->report_block == NULL)
		cli->report_block = g_string_new (NULL);
	g_string_append (cli->report_block, json);
	g_string_append_c (cli->report_block, '\n');
	return TRUE;
}

/* Writes the report lines added so far, whole lines in one write, so that processes appending to
 * one report (--report-append) never interleave their lines.  On a failure the error is said and
 * noted, and no further message is started (cli->stopped); FALSE then.  `last` frees the
 * buffer. */
gboolean
report_flush (Cli *cli, gboolean last)
{
	gboolean ok = TRUE;

	if (cli->report_block != NULL && cli->report_block->len > 0 && !cli->stopped &&
	    !write_full (fileno (cli->report), cli->report_block->str, cli->report_block->len)) {
		int saved = errno;

		fprintf (stderr, "%smimeutf8: %s: %s\n", cli->progress ? "\n" : "",
			 cli->report_path, g_strerror (saved));
		note_error (cli, write_error_code (saved));
		cli->stopped = TRUE;
		ok = FALSE;
	}
	if (cli->report_block != NULL)
		g_string_truncate (cli->report_block, 0);
	if (last && cli->report_block != NULL) {
		g_string_free (cli->report_block, TRUE);
		cli->report_block = NULL;
	}
	return ok && !cli->stopped;
}

/* Writes one report line and flushes it, before the message's output is written: a message
 * whose report line could not be written is not written either, and no further message is
 * started (cli->stopped).  FALSE then, with the error said and noted. */
gboolean
write_report_line (Cli *cli, const char *json)
{
	return report_add_line (cli, json) && report_flush (cli, FALSE);
}

/* Where standard output stood when the command started, when it is a regular file: after a
 * failure it is cut back there, so that a partial result never stays behind.  (A pipe cannot be
 * taken back: the filter and the text mode write to it only once the whole result is there.) */
static struct {
	gboolean regular;
	off_t start;
} stdout_origin;

void
stdout_remember (void)
{
	struct stat st;
	off_t pos;

	if (fstat (STDOUT_FILENO, &st) != 0 || !S_ISREG (st.st_mode))
		return;
	pos = (fcntl (STDOUT_FILENO, F_GETFL) & O_APPEND) ? st.st_size
							  : lseek (STDOUT_FILENO, 0, SEEK_CUR);
	if (pos < 0)
		return;
	stdout_origin.regular = TRUE;
	stdout_origin.start = pos;
}

void
stdout_discard (void)
{
	if (stdout_origin.regular && ftruncate (STDOUT_FILENO, stdout_origin.start) == 0)
		lseek (STDOUT_FILENO, stdout_origin.start, SEEK_SET);
}

/* Writes to standard output; on a failure says so and discards what was written.  FALSE then. */
gboolean
stdout_write (const void *data, size_t len)
{
	if (write_full (STDOUT_FILENO, data, len))
		return TRUE;
	fprintf (stderr, "mimeutf8: writing standard output: %s\n", g_strerror (errno));
	stdout_discard ();
	return FALSE;
}

void
show_progress (Cli *cli, gboolean last)
{
	gint64 now = g_get_monotonic_time ();
	double seconds = (now - cli->started) / 1e6, rate, eta = 0;

	if (!cli->progress || (!last && now - cli->shown < 200000))
		return;
	cli->shown = now;
	rate = seconds > 0 ? cli->bytes / 1e6 / seconds : 0;
	if (cli->total > 0 && cli->done > 0)
		eta = seconds * (cli->total - cli->done) / cli->done;
	else if (cli->total_bytes > 0 && cli->bytes > 0)
		eta = seconds * (cli->total_bytes - MIN (cli->bytes, cli->total_bytes)) /
		      cli->bytes;
	if (cli->total > 0)
		fprintf (stderr, "\r%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " messages",
			 cli->done, cli->total);
	else
		fprintf (stderr, "\r%" G_GUINT64_FORMAT " messages", cli->done);
	fprintf (stderr,
		 ", %.1f MB/s, %" G_GUINT64_FORMAT " unchanged, %" G_GUINT64_FORMAT
		 " passed through, ETA %.0f s   %s",
		 rate, cli->unchanged, cli->passthrough, eta, last ? "\n" : "");
	fflush (stderr);
}

void
count_result (Cli *cli, const Result *result, guint64 size)
{
	cli->done++;
	cli->bytes += size;
	cli->unchanged += result->status == MIMEUTF8_STATUS_UNCHANGED;
	cli->passthrough += result->status == MIMEUTF8_STATUS_PASSTHROUGH;
	show_progress (cli, FALSE);
}

/* Reads `fd` to its end into `array`, but stops once it holds more than `limit` bytes. */
gboolean
read_upto (int fd, GByteArray *array, size_t limit)
{
	while (array->len <= limit) {
		guint old = array->len;
		ssize_t n;

		g_byte_array_set_size (array, old + 65536);
		do
			n = read (fd, array->data + old, 65536);
		while (n < 0 && errno == EINTR);
		g_byte_array_set_size (array, old + (n > 0 ? (guint) n : 0));
		if (n <= 0)
			return n == 0;
	}
	return TRUE;
}
