/* entry.c: the ways in and out of the engine: a buffer, a file descriptor (a large message mapped,
 * a pipe spooled to a file), a GMimeStream, and a parsed message rewritten in place.  Each checks
 * the options, runs the prescan and the walk, writes the result and fills the report. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "walk.h"

/* A message larger than this is parsed from its file (a pipe is spooled to one), so that memory
 * does not grow with attachment size; smaller ones are read into memory, which is faster. */
#define LARGE_MESSAGE (8 * 1024 * 1024)
/* Most messages in a stream of mail are smaller than this: read a pipe in chunks of it. */
#define READ_CHUNK (64 * 1024)

static MimeUtf8Status
finish (MimeUtf8Report *report, MimeUtf8Report **report_out, MimeUtf8Status status)
{
	if (report_out != NULL)
		*report_out = report;
	else
		mimeutf8_report_free (report);
	return status;
}

/* A cancelled call: FAILED, G_IO_ERROR_CANCELLED, nothing written. */
static MimeUtf8Status
cancelled (MimeUtf8Report *report, MimeUtf8Report **report_out, const MimeUtf8Options *options,
	   GError **error)
{
	g_cancellable_set_error_if_cancelled (options->cancellable, error);
	_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_FAILED, "cancelled");
	return finish (report, report_out, MIMEUTF8_STATUS_FAILED);
}

static MimeUtf8Status
passthrough (MimeUtf8Report *report, MimeUtf8Report **report_out, const Walk *walk, Sink *sink,
	     int code, const char *why, GError **error)
{
	_mimeutf8_sink_copy (walk, sink, 0, walk->raw_len);
	_mimeutf8_report_set_bytes (report, walk->raw_len, walk->raw_len);
	if (sink->failed) {
		_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_FAILED, "write failed");
		g_set_error (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO, "write failed: %s",
			     g_strerror (sink->saved_errno));
		return finish (report, report_out, MIMEUTF8_STATUS_FAILED);
	}
	_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_PASSTHROUGH, why);
	g_set_error (error, MIMEUTF8_ERROR, code, "%s", why);
	return finish (report, report_out, MIMEUTF8_STATUS_PASSTHROUGH);
}

/* Normalizes the message in `raw` (the file `fd` mapped, when fd >= 0), splicing the result into
 * `sink`. */
static MimeUtf8Status
normalize_raw (const MimeUtf8Options *options, const guint8 *raw, size_t len, int fd, Sink *sink,
	       MimeUtf8Report **report_out, GError **error)
{
	MimeUtf8Report *report = _mimeutf8_report_new ();
	MimeUtf8Options defaults;
	Walk walk;
	size_t out_len;

	mimeutf8_init ();
	options = _mimeutf8_options_check (options, &defaults, error);
	if (options == NULL) {
		_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_FAILED, "invalid options");
		return finish (report, report_out, MIMEUTF8_STATUS_FAILED);
	}
	if (g_cancellable_is_cancelled (options->cancellable))
		return cancelled (report, report_out, options, error);
	_mimeutf8_walk_init (&walk, options, report, 0);
	_mimeutf8_walk_raw (&walk, raw, len, fd, "");
	if (g_cancellable_is_cancelled (options->cancellable)) {
		_mimeutf8_walk_clear (&walk);
		return cancelled (report, report_out, options, error);
	}
	if (walk.failure != NULL) {
		g_autofree char *why = g_steal_pointer (&walk.failure);
		int code = g_str_has_prefix (why, "limit:") ? MIMEUTF8_ERROR_LIMIT
							    : MIMEUTF8_ERROR_PARSE;
		MimeUtf8Status status =
			passthrough (report, report_out, &walk, sink, code, why, error);

		_mimeutf8_walk_clear (&walk);
		return status;
	}
	if (walk.edits->len > 0 && _mimeutf8_dkim_invalidated (&walk))
		_mimeutf8_report_set_dkim_invalidated (report, TRUE);
	out_len = _mimeutf8_splice_out (&walk, sink);
	_mimeutf8_report_set_bytes (report, len, out_len);
	_mimeutf8_report_set_status (
		report,
		walk.edits->len > 0 ? MIMEUTF8_STATUS_NORMALIZED : MIMEUTF8_STATUS_UNCHANGED, NULL);
	_mimeutf8_walk_clear (&walk);
	if (sink->failed) {
		_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_FAILED, "write failed");
		g_set_error (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO, "write failed: %s",
			     g_strerror (sink->saved_errno));
		return finish (report, report_out, MIMEUTF8_STATUS_FAILED);
	}
	return finish (report, report_out, mimeutf8_report_get_status (report));
}

MimeUtf8Status
mimeutf8_normalize_buffer (const MimeUtf8Options *options, const void *data, size_t len,
			   GByteArray *out, MimeUtf8Report **report_out, GError **error)
{
	Sink sink = { out, NULL, -1, FALSE, 0 };

	return normalize_raw (options, data, len, -1, &sink, report_out, error);
}

/* Reads `fd` to its end, appending to `array`, but stops past `limit` bytes.  FALSE with errno
 * set on a read error. */
static gboolean
read_upto (int fd, GByteArray *array, size_t limit)
{
	while (array->len <= limit) {
		guint old = array->len;
		ssize_t n;

		g_byte_array_set_size (array, old + READ_CHUNK);
		do
			n = read (fd, array->data + old, READ_CHUNK);
		while (n < 0 && errno == EINTR);
		g_byte_array_set_size (array, old + (n > 0 ? (guint) n : 0));
		if (n == 0)
			return TRUE;
		if (n < 0)
			return FALSE;
	}
	return TRUE;
}

static MimeUtf8Status
io_failure (MimeUtf8Report **report_out, const char *what, int saved_errno, GError **error)
{
	MimeUtf8Report *report = _mimeutf8_report_new ();
	g_autofree char *why = g_strdup_printf ("%s: %s", what, g_strerror (saved_errno));

	g_set_error (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO, "%s", why);
	_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_FAILED, why);
	return finish (report, report_out, MIMEUTF8_STATUS_FAILED);
}

/* A large message from a file: mapped, parsed through the file, written out as it goes. */
static MimeUtf8Status
normalize_file (const MimeUtf8Options *options, int fd, size_t size, Sink *sink,
		MimeUtf8Report **report_out, GError **error)
{
	void *map = mmap (NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	MimeUtf8Status status;

	if (map == MAP_FAILED)
		return io_failure (report_out, "mapping the message", errno, error);
	status = normalize_raw (options, map, size, fd, sink, report_out, error);
	munmap (map, size);
	return status;
}

/* A file of our own, gone from the file system already, for a large message read from a pipe. */
static int
spool_file (void)
{
	const char *dir = g_get_tmp_dir ();
	g_autofree char *path = NULL;
	int fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0)
		return fd;
	path = g_build_filename (dir, "mimeutf8-spool-XXXXXX", NULL);
	fd = g_mkstemp_full (path, O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		unlink (path);
	return fd;
}

/* Copies what `in_fd` has left into `spool` after `head`. */
static gboolean
spool_rest (int in_fd, int spool, const GByteArray *head, size_t *size_out)
{
	guint8 buffer[READ_CHUNK];
	size_t size = head->len;
	ssize_t n;

	if (!_mimeutf8_write_all (spool, head->data, head->len))
		return FALSE;
	for (;;) {
		do
			n = read (in_fd, buffer, sizeof buffer);
		while (n < 0 && errno == EINTR);
		if (n == 0)
			break;
		if (n < 0 || !_mimeutf8_write_all (spool, buffer, (size_t) n))
			return FALSE;
		size += (size_t) n;
	}
	*size_out = size;
	return TRUE;
}

MimeUtf8Status
mimeutf8_normalize_fd (const MimeUtf8Options *options, int in_fd, int out_fd,
		       MimeUtf8Report **report_out, GError **error)
{
	g_autoptr (GByteArray) input = g_byte_array_new ();
	g_autoptr (GByteArray) output = NULL;
	Sink direct = { NULL, NULL, out_fd, FALSE, 0 };
	MimeUtf8Status status;
	struct stat st;
	size_t size;
	int spool;

	mimeutf8_init ();
	/* a large file is parsed in place and written as it goes; memory stays small */
	if (fstat (in_fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > LARGE_MESSAGE &&
	    lseek (in_fd, 0, SEEK_CUR) == 0) {
		status = normalize_file (options, in_fd, (size_t) st.st_size, &direct, report_out,
					 error);
		/* the caller tells a full disk from other faults by errno */
		if (direct.failed)
			errno = direct.saved_errno;
		return status;
	}
	if (!read_upto (in_fd, input, LARGE_MESSAGE))
		return io_failure (report_out, "read failed", errno, error);
	if (input->len > LARGE_MESSAGE) {
		/* a large message from a pipe goes to a file first, then as above */
		spool = spool_file ();
		if (spool < 0 || !spool_rest (in_fd, spool, input, &size)) {
			int saved = errno;

			if (spool >= 0)
				close (spool);
			status = io_failure (report_out, "spooling a large message", saved, error);
			errno = saved;
			return status;
		}
		g_byte_array_set_size (input, 0);
		status = normalize_file (options, spool, size, &direct, report_out, error);
		close (spool);
		if (direct.failed)
			errno = direct.saved_errno;
		return status;
	}
	/* a small message is written only once its whole result is there */
	output = g_byte_array_sized_new (input->len + input->len / 8 + 64);
	status = mimeutf8_normalize_buffer (options, input->data, input->len, output, report_out,
					    error);
	if (status == MIMEUTF8_STATUS_FAILED)
		return status;
	if (!_mimeutf8_write_all (out_fd, output->data, output->len)) {
		int saved = errno;

		if (report_out != NULL && *report_out != NULL)
			_mimeutf8_report_set_status (*report_out, MIMEUTF8_STATUS_FAILED,
						     "write failed");
		g_clear_error (error);
		g_set_error (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO, "write failed: %s",
			     g_strerror (saved));
		errno = saved;
		return MIMEUTF8_STATUS_FAILED;
	}
	return status;
}

MimeUtf8Status
mimeutf8_normalize_stream (const MimeUtf8Options *options, GMimeStream *in, GMimeStream *out,
			   MimeUtf8Report **report_out, GError **error)
{
	g_autoptr (GByteArray) input = g_byte_array_new ();
	Sink sink = { NULL, out, -1, FALSE, 0 };
	char buffer[READ_CHUNK];
	struct stat st;
	ssize_t n;

	mimeutf8_init ();
	if (GMIME_IS_STREAM_MEM (in) && in->bound_end == -1 && in->position == in->bound_start &&
	    ((GMimeStreamMem *) in)->buffer != NULL) {
		GByteArray *whole = ((GMimeStreamMem *) in)->buffer;
		size_t start = (size_t) in->bound_start;

		return normalize_raw (options, whole->data + start, whole->len - start, -1, &sink,
				      report_out, error);
	}
	/* a whole large file behind a file stream is read in place, as by mimeutf8_normalize_fd */
	if (GMIME_IS_STREAM_FS (in) && in->bound_start == 0 && in->bound_end == -1 &&
	    in->position == 0 && fstat (((GMimeStreamFs *) in)->fd, &st) == 0 &&
	    S_ISREG (st.st_mode) && st.st_size > LARGE_MESSAGE)
		return normalize_file (options, ((GMimeStreamFs *) in)->fd, (size_t) st.st_size,
				       &sink, report_out, error);
	while ((n = g_mime_stream_read (in, buffer, sizeof buffer)) > 0)
		g_byte_array_append (input, (const guint8 *) buffer, (guint) n);
	/* a file stream with bounds says -1 (EINVAL) at its end, where others say 0 */
	if (n < 0 && !g_mime_stream_eos (in))
		return io_failure (report_out, "read failed", errno ? errno : EIO, error);
	return normalize_raw (options, input->data, input->len, -1, &sink, report_out, error);
}

/* Bytes GMime writes for `message` now. */
static uint64_t
serialized_size (GMimeMessage *message)
{
	GMimeStream *counter = g_mime_stream_null_new ();
	uint64_t size;

	g_mime_object_write_to_stream (GMIME_OBJECT (message), NULL, counter);
	size = (uint64_t) ((GMimeStreamNull *) counter)->written;
	g_object_unref (counter);
	return size;
}

MimeUtf8Status
mimeutf8_normalize_message (const MimeUtf8Options *options, GMimeMessage *message,
			    MimeUtf8Report **report_out, GError **error)
{
	MimeUtf8Report *report = _mimeutf8_report_new ();
	MimeUtf8Options defaults;
	Walk walk;
	gboolean changed, body_changed = FALSE;
	uint64_t bytes_in;
	guint i;

	mimeutf8_init ();
	options = _mimeutf8_options_check (options, &defaults, error);
	if (options == NULL) {
		_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_FAILED, "invalid options");
		return finish (report, report_out, MIMEUTF8_STATUS_FAILED);
	}
	if (g_cancellable_is_cancelled (options->cancellable))
		return cancelled (report, report_out, options, error);
	bytes_in = serialized_size (message);
	_mimeutf8_walk_init (&walk, options, report, 0);
	_mimeutf8_walk_collect_charsets (&walk, message);
	_mimeutf8_walk_message (&walk, message, "", FALSE);
	if (g_cancellable_is_cancelled (options->cancellable)) {
		_mimeutf8_walk_clear (&walk);
		return cancelled (report, report_out, options, error);
	}
	/* a rewritten header, a converted or relabelled part, or a new transfer encoding */
	changed = mimeutf8_report_get_n_headers (report) > 0;
	for (i = 0; i < mimeutf8_report_get_n_parts (report); i++) {
		const MimeUtf8PartReport *part = mimeutf8_report_get_part (report, i);

		if (part->action == MIMEUTF8_ACTION_CONVERTED ||
		    g_strcmp0 (part->encoding_in, part->encoding_out) != 0)
			body_changed = TRUE;
	}
	changed = changed || body_changed;
	if (changed && _mimeutf8_dkim_invalidated_in_place (message, report, body_changed))
		_mimeutf8_report_set_dkim_invalidated (report, TRUE);
	_mimeutf8_walk_clear (&walk);
	_mimeutf8_report_set_bytes (report, bytes_in,
				    changed ? serialized_size (message) : bytes_in);
	_mimeutf8_report_set_status (
		report, changed ? MIMEUTF8_STATUS_NORMALIZED : MIMEUTF8_STATUS_UNCHANGED, NULL);
	return finish (report, report_out, mimeutf8_report_get_status (report));
}
