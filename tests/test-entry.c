/* test-entry.c: every way in and out of the engine (a buffer, a file descriptor, a pipe, a
 * GMimeStream), write errors, cancellation and the options struct. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mimeutf8-private.h"
#include "test-fixtures.h"
#include "test-skip.h"

/* A message of `n` latin-1 text parts. */
static GByteArray *
many_parts (int n)
{
	static const char head[] =
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n";
	static const char part[] = "--b\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n";
	GByteArray *message = g_byte_array_new ();
	int i;

	g_byte_array_append (message, (const guint8 *) head, strlen (head));
	for (i = 0; i < n; i++)
		g_byte_array_append (message, (const guint8 *) part, strlen (part));
	g_byte_array_append (message, (const guint8 *) "--b--\n", 6);
	return message;
}

static gpointer
cancel_soon (gpointer cancellable)
{
	g_usleep (2000);
	g_cancellable_cancel (cancellable);
	return NULL;
}

/* The same message through a GMimeStream (memory and file), a file descriptor (file and pipe):
 * the same bytes as through a buffer. */
static void
test_entry__every_way_in (void **state)
{
	g_autoptr (GByteArray) in = read_fixture ("messages", "koi8r-8bit.eml");
	g_autoptr (GByteArray) want = read_fixture ("expected", "koi8r-8bit.eml");
	g_autofree char *path = g_build_filename (FIXTURES_DIR, "messages", "koi8r-8bit.eml", NULL);
	g_autoptr (GByteArray) got = g_byte_array_new ();
	GMimeStream *source, *sink;
	int fd, pipe_in[2], out_fd;
	char out_path[] = "/tmp/mimeutf8-test-XXXXXX";
	g_autoptr (GByteArray) from_fd = NULL;

	/* a memory stream, read in place */
	source = g_mime_stream_mem_new_with_buffer ((const char *) in->data, in->len);
	sink = g_mime_stream_mem_new_with_byte_array (got);
	g_mime_stream_mem_set_owner ((GMimeStreamMem *) sink, FALSE);
	assert_int_equal (mimeutf8_normalize_stream (NULL, source, sink, NULL, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	g_object_unref (source);
	g_object_unref (sink);
	assert_bytes_equal (got, want, "memory stream");

	/* a file stream */
	g_byte_array_set_size (got, 0);
	fd = open (path, O_RDONLY);
	assert_true (fd >= 0);
	source = g_mime_stream_fs_new (fd);
	sink = g_mime_stream_mem_new_with_byte_array (got);
	g_mime_stream_mem_set_owner ((GMimeStreamMem *) sink, FALSE);
	assert_int_equal (mimeutf8_normalize_stream (NULL, source, sink, NULL, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	g_object_unref (source);
	g_object_unref (sink);
	assert_bytes_equal (got, want, "file stream");

	/* a file descriptor on a file (mapped) into a file */
	fd = open (path, O_RDONLY);
	out_fd = g_mkstemp (out_path);
	assert_true (fd >= 0 && out_fd >= 0);
	assert_int_equal (mimeutf8_normalize_fd (NULL, fd, out_fd, NULL, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	close (fd);
	close (out_fd);
	from_fd = read_file (out_path);
	assert_bytes_equal (from_fd, want, "file descriptor");
	g_byte_array_unref (from_fd);

	/* a pipe */
	assert_int_equal (pipe (pipe_in), 0);
	assert_int_equal (write (pipe_in[1], in->data, in->len), (ssize_t) in->len);
	close (pipe_in[1]);
	out_fd = open (out_path, O_WRONLY | O_TRUNC);
	assert_int_equal (mimeutf8_normalize_fd (NULL, pipe_in[0], out_fd, NULL, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	close (pipe_in[0]);
	close (out_fd);
	from_fd = read_file (out_path);
	assert_bytes_equal (from_fd, want, "pipe");
	unlink (out_path);
}

/* A write error is a FAILED status with an I/O error, never a silent loss. */
static void
test_entry__write_error (void **state)
{
	g_autoptr (GByteArray) in = read_fixture ("messages", "koi8r-8bit.eml");
	g_autofree char *path = g_build_filename (FIXTURES_DIR, "messages", "koi8r-8bit.eml", NULL);
	GError *error = NULL;
	int fd = open (path, O_RDONLY), full = open ("/dev/full", O_WRONLY);

	if (full < 0) {
		close (fd);
		TEST_SKIP ("/dev/full cannot be opened\n");
	}
	assert_int_equal (mimeutf8_normalize_fd (NULL, fd, full, NULL, &error),
			  MIMEUTF8_STATUS_FAILED);
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO));
	g_clear_error (&error);
	close (fd);
	close (full);
}

/* A cancelled call fails with G_IO_ERROR_CANCELLED and writes nothing, whether it was cancelled
 * before it started or, from another thread, while it ran. */
static void
test_entry__cancel (void **state)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	g_autoptr (GByteArray) message = many_parts (3000);
	g_autoptr (GByteArray) out = g_byte_array_new ();
	g_autoptr (MimeUtf8Report) report = NULL;
	GError *error = NULL;
	GThread *thread;
	gint64 start, uncancelled;

	/* how long the whole call takes */
	start = g_get_monotonic_time ();
	assert_int_equal (
		mimeutf8_normalize_buffer (&options, message->data, message->len, out, NULL, NULL),
		MIMEUTF8_STATUS_NORMALIZED);
	uncancelled = g_get_monotonic_time () - start;
	g_byte_array_set_size (out, 0);

	options.cancellable = g_cancellable_new ();
	g_cancellable_cancel (options.cancellable);
	assert_int_equal (mimeutf8_normalize_buffer (&options, message->data, message->len, out,
						     &report, &error),
			  MIMEUTF8_STATUS_FAILED);
	assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
	assert_string_equal (mimeutf8_report_get_reason (report), "cancelled");
	assert_int_equal (out->len, 0);
	g_clear_error (&error);
	g_clear_pointer (&report, mimeutf8_report_free);

	/* the in-place call too: it fails before it touches the message */
	{
		static const char latin1[] = "Subject: =?iso-8859-1?Q?caf=E9?=\n"
					     "Content-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n";
		g_autoptr (GMimeStream) stream =
			g_mime_stream_mem_new_with_buffer (latin1, sizeof latin1 - 1);
		g_autoptr (GMimeParser) parser = g_mime_parser_new_with_stream (stream);
		g_autoptr (GMimeMessage) parsed = g_mime_parser_construct_message (parser, NULL);
		g_autofree char *before = g_mime_object_to_string (GMIME_OBJECT (parsed), NULL);
		g_autofree char *after = NULL;

		assert_int_equal (mimeutf8_normalize_message (&options, parsed, &report, &error),
				  MIMEUTF8_STATUS_FAILED);
		assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
		assert_string_equal (mimeutf8_report_get_reason (report), "cancelled");
		after = g_mime_object_to_string (GMIME_OBJECT (parsed), NULL);
		assert_string_equal (after, before);
		g_clear_error (&error);
	}
	g_clear_object (&options.cancellable);

	options.cancellable = g_cancellable_new ();
	thread = g_thread_new ("cancel", cancel_soon, options.cancellable);
	start = g_get_monotonic_time ();
	assert_int_equal (mimeutf8_normalize_buffer (&options, message->data, message->len, out,
						     NULL, &error),
			  MIMEUTF8_STATUS_FAILED);
	print_message ("whole call %" G_GINT64_FORMAT " us, cancelled after 2 ms: %" G_GINT64_FORMAT
		       " us\n",
		       uncancelled, g_get_monotonic_time () - start);
	assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
	assert_int_equal (out->len, 0);
	g_clear_error (&error);
	g_thread_join (thread);
	g_clear_object (&options.cancellable);
}

/* A caller built against version 1 of the options has no cancellable field: nothing past
 * timeout_ms is read (the struct is allocated to its version 1 size, so AddressSanitizer sees a
 * read past it). */
static void
test_entry__options_version_1 (void **state)
{
	MimeUtf8Options init = MIMEUTF8_OPTIONS_INIT;
	size_t size = G_STRUCT_OFFSET (MimeUtf8Options, cancellable);
	guint8 *options = g_malloc (size);
	g_autoptr (GByteArray) message = many_parts (2);
	g_autoptr (GByteArray) out = g_byte_array_new ();

	init.version = 1;
	init.force_7bit = TRUE;
	memcpy (options, &init, size);
	assert_int_equal (mimeutf8_normalize_buffer ((const MimeUtf8Options *) options,
						     message->data, message->len, out, NULL, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	g_byte_array_append (out, (const guint8 *) "", 1);
	assert_non_null (strstr ((const char *) out->data, "Content-Transfer-Encoding: base64"));
	g_free (options);
}

static void
test_entry__bad_options (void **state)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	g_autoptr (GByteArray) out = g_byte_array_new ();
	GError *error = NULL;

	options.version = 99;
	assert_int_equal (mimeutf8_normalize_buffer (&options, "a", 1, out, NULL, &error),
			  MIMEUTF8_STATUS_FAILED);
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_OPTIONS));
	g_clear_error (&error);
	options.version = MIMEUTF8_OPTIONS_VERSION;
	options.fallback_charset = "no-such-charset";
	assert_int_equal (mimeutf8_normalize_buffer (&options, "a", 1, out, NULL, &error),
			  MIMEUTF8_STATUS_FAILED);
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_OPTIONS));
	g_clear_error (&error);
	assert_int_equal (out->len, 0);
}

/* A latin-1 message larger than the 8 MiB the engine keeps in memory: a text part, then a base64
 * attachment that fills it up. */
static GByteArray *
large_message (void)
{
	static const char head[] =
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
		"--b\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n"
		"--b\nContent-Type: application/octet-stream\n"
		"Content-Transfer-Encoding: base64\n\n";
	static const char line[] =
		"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2\n";
	GByteArray *message = g_byte_array_new ();

	g_byte_array_append (message, (const guint8 *) head, strlen (head));
	while (message->len <= 9 * 1024 * 1024)
		g_byte_array_append (message, (const guint8 *) line, strlen (line));
	g_byte_array_append (message, (const guint8 *) "--b--\n", 6);
	return message;
}

/* Writes `data` into a new temporary file, whose name goes to `path`; returns its descriptor. */
static int
temporary_file (const GByteArray *data, char *path)
{
	int fd = g_mkstemp (path);

	assert_true (fd >= 0);
	assert_int_equal (write (fd, data->data, data->len), (ssize_t) data->len);
	assert_int_equal (lseek (fd, 0, SEEK_SET), 0);
	return fd;
}

/* `message` with `before` and `after` around it. */
static GByteArray *
framed (const char *before, const GByteArray *message, const char *after)
{
	GByteArray *all = g_byte_array_new ();

	g_byte_array_append (all, (const guint8 *) before, strlen (before));
	g_byte_array_append (all, message->data, message->len);
	g_byte_array_append (all, (const guint8 *) after, strlen (after));
	return all;
}

/* What mimeutf8_normalize_stream writes for `source` (unreffed here), which must be NORMALIZED. */
static GByteArray *
normalized_stream (GMimeStream *source)
{
	GByteArray *got = g_byte_array_new ();
	GMimeStream *sink = g_mime_stream_mem_new_with_byte_array (got);

	g_mime_stream_mem_set_owner ((GMimeStreamMem *) sink, FALSE);
	assert_int_equal (mimeutf8_normalize_stream (NULL, source, sink, NULL, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	g_object_unref (sink);
	g_object_unref (source);
	return got;
}

typedef struct {
	const GByteArray *data;
	int fd;
} Feed;

static gpointer
feed (gpointer data)
{
	Feed *f = data;
	size_t done = 0;

	while (done < f->data->len) {
		ssize_t n = write (f->fd, f->data->data + done, f->data->len - done);

		if (n <= 0)
			break;
		done += (size_t) n;
	}
	close (f->fd);
	return NULL;
}

/* A large message gives the same bytes as through a buffer whichever way it comes: a file (mapped),
 * a pipe (spooled to a file), a file stream; its report counts the bytes. */
static void
test_entry__large_message (void **state)
{
	g_autoptr (GByteArray) in = large_message ();
	g_autoptr (GByteArray) want = g_byte_array_new ();
	GByteArray *got;
	g_autoptr (MimeUtf8Report) report = NULL;
	char in_path[] = "/tmp/mimeutf8-test-XXXXXX", out_path[] = "/tmp/mimeutf8-test-XXXXXX";
	int fd, out_fd, pipe_in[2];
	GMimeStream *source, *sink;
	GThread *thread;
	Feed f;

	assert_int_equal (mimeutf8_normalize_buffer (NULL, in->data, in->len, want, NULL, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	assert_non_null (g_strstr_len ((const char *) want->data, 400, "caf\xc3\xa9"));

	/* a file, mapped */
	fd = temporary_file (in, in_path);
	out_fd = g_mkstemp (out_path);
	assert_true (out_fd >= 0);
	assert_int_equal (mimeutf8_normalize_fd (NULL, fd, out_fd, &report, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	assert_int_equal (mimeutf8_report_get_bytes_in (report), in->len);
	assert_int_equal (mimeutf8_report_get_bytes_out (report), want->len);
	g_clear_pointer (&report, mimeutf8_report_free);
	close (out_fd);
	got = read_file (out_path);
	assert_bytes_equal (got, want, "large file");
	g_byte_array_unref (got);

	/* a pipe, spooled */
	assert_int_equal (pipe (pipe_in), 0);
	f.data = in;
	f.fd = pipe_in[1];
	thread = g_thread_new ("feed", feed, &f);
	out_fd = open (out_path, O_WRONLY | O_TRUNC);
	assert_int_equal (mimeutf8_normalize_fd (NULL, pipe_in[0], out_fd, NULL, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	g_thread_join (thread);
	close (pipe_in[0]);
	close (out_fd);
	got = read_file (out_path);
	assert_bytes_equal (got, want, "large message from a pipe");
	g_byte_array_unref (got);

	/* a file stream (the mapped file was parsed through its descriptor, which moved its offset) */
	got = g_byte_array_new ();
	assert_int_equal (lseek (fd, 0, SEEK_SET), 0);
	source = g_mime_stream_fs_new (fd);
	sink = g_mime_stream_mem_new_with_byte_array (got);
	g_mime_stream_mem_set_owner ((GMimeStreamMem *) sink, FALSE);
	assert_int_equal (mimeutf8_normalize_stream (NULL, source, sink, NULL, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	g_object_unref (source);
	g_object_unref (sink);
	assert_bytes_equal (got, want, "large file stream");
	g_byte_array_unref (got);
	unlink (in_path);
	unlink (out_path);
}

/* mimeutf8_normalize_fd reads from the descriptor's current offset, as read(2) would, and moves
 * it: to the end of the input for a message up to 8 MiB and for a large one read from a
 * non-zero offset; a large file read from offset 0 is mapped and may be left anywhere, and is
 * normalized again the same once the caller seeks back (mimeutf8.h). */
static void
test_entry__fd_offset (void **state)
{
	static const char junk[] = "bytes before the message, which the caller has read already\n";
	g_autoptr (GByteArray) message = read_fixture ("messages", "koi8r-8bit.eml");
	g_autoptr (GByteArray) want = read_fixture ("expected", "koi8r-8bit.eml");
	g_autoptr (GByteArray) large = large_message ();
	g_autoptr (GByteArray) large_want = g_byte_array_new ();
	g_autoptr (GByteArray) both = g_byte_array_new ();
	char in_path[] = "/tmp/mimeutf8-test-XXXXXX", out_path[] = "/tmp/mimeutf8-test-XXXXXX";
	int fd, out_fd = g_mkstemp (out_path);
	GByteArray *got;

	assert_true (out_fd >= 0);
	/* a small message after bytes already read: only the message is normalized, and the offset
	 * ends at the end of the file */
	g_byte_array_append (both, (const guint8 *) junk, strlen (junk));
	g_byte_array_append (both, message->data, message->len);
	fd = temporary_file (both, in_path);
	assert_int_equal (lseek (fd, strlen (junk), SEEK_SET), (off_t) strlen (junk));
	assert_int_equal (mimeutf8_normalize_fd (NULL, fd, out_fd, NULL, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	assert_int_equal (lseek (fd, 0, SEEK_CUR), (off_t) both->len);
	got = read_file (out_path);
	assert_bytes_equal (got, want, "small message from an offset");
	g_byte_array_unref (got);
	close (fd);
	unlink (in_path);

	/* a large message after bytes already read: the same, through the spool */
	assert_int_equal (
		mimeutf8_normalize_buffer (NULL, large->data, large->len, large_want, NULL, NULL),
		MIMEUTF8_STATUS_NORMALIZED);
	g_byte_array_set_size (both, 0);
	g_byte_array_append (both, (const guint8 *) junk, strlen (junk));
	g_byte_array_append (both, large->data, large->len);
	strcpy (in_path, "/tmp/mimeutf8-test-XXXXXX");
	fd = temporary_file (both, in_path);
	assert_int_equal (lseek (fd, strlen (junk), SEEK_SET), (off_t) strlen (junk));
	assert_int_equal (ftruncate (out_fd, 0), 0);
	assert_int_equal (lseek (out_fd, 0, SEEK_SET), 0);
	assert_int_equal (mimeutf8_normalize_fd (NULL, fd, out_fd, NULL, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	assert_int_equal (lseek (fd, 0, SEEK_CUR), (off_t) both->len);
	got = read_file (out_path);
	assert_bytes_equal (got, large_want, "large message from an offset");
	g_byte_array_unref (got);
	close (fd);
	unlink (in_path);

	/* a large file from offset 0, twice with a seek back between: the same bytes both times */
	strcpy (in_path, "/tmp/mimeutf8-test-XXXXXX");
	fd = temporary_file (large, in_path);
	for (int round = 0; round < 2; round++) {
		assert_int_equal (lseek (fd, 0, SEEK_SET), 0);
		assert_int_equal (ftruncate (out_fd, 0), 0);
		assert_int_equal (lseek (out_fd, 0, SEEK_SET), 0);
		assert_int_equal (mimeutf8_normalize_fd (NULL, fd, out_fd, NULL, NULL),
				  MIMEUTF8_STATUS_NORMALIZED);
		got = read_file (out_path);
		assert_bytes_equal (got, large_want, "large file, after seeking back");
		g_byte_array_unref (got);
	}
	close (fd);
	close (out_fd);
	unlink (in_path);
	unlink (out_path);
}

/* A large file written to a full disk: FAILED, an I/O error, errno ENOSPC for the caller, and the
 * report says why. */
static void
test_entry__large_write_error (void **state)
{
	g_autoptr (GByteArray) in = large_message ();
	g_autoptr (MimeUtf8Report) report = NULL;
	char in_path[] = "/tmp/mimeutf8-test-XXXXXX";
	GError *error = NULL;
	int fd, full = open ("/dev/full", O_WRONLY);

	if (full < 0)
		TEST_SKIP ("/dev/full cannot be opened\n");
	fd = temporary_file (in, in_path);
	unlink (in_path);
	errno = 0;
	assert_int_equal (mimeutf8_normalize_fd (NULL, fd, full, &report, &error),
			  MIMEUTF8_STATUS_FAILED);
	assert_int_equal (errno, ENOSPC);
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO));
	assert_int_equal (mimeutf8_report_get_status (report), MIMEUTF8_STATUS_FAILED);
	assert_string_equal (mimeutf8_report_get_reason (report), "write failed");
	g_clear_error (&error);
	close (fd);
	close (full);
}

/* Faults of the descriptor call beyond a full disk for a file: invalid options (nothing
 * written), a large file open for writing only (it cannot be mapped: an I/O error that says so),
 * a large message from a pipe written to a full disk (ENOSPC for the caller). */
static void
test_entry__fd_faults (void **state)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	g_autofree char *path = g_build_filename (FIXTURES_DIR, "messages", "koi8r-8bit.eml", NULL);
	g_autoptr (GByteArray) large = large_message ();
	g_autoptr (MimeUtf8Report) report = NULL;
	char in_path[] = "/tmp/mimeutf8-test-XXXXXX", out_path[] = "/tmp/mimeutf8-test-XXXXXX";
	GError *error = NULL;
	int fd, out_fd = g_mkstemp (out_path), full, pipe_in[2];
	GThread *thread;
	Feed f;
	struct stat st;

	assert_true (out_fd >= 0);
	options.version = 99;
	fd = open (path, O_RDONLY);
	assert_int_equal (mimeutf8_normalize_fd (&options, fd, out_fd, &report, &error),
			  MIMEUTF8_STATUS_FAILED);
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_OPTIONS));
	assert_int_equal (mimeutf8_report_get_status (report), MIMEUTF8_STATUS_FAILED);
	assert_int_equal (fstat (out_fd, &st), 0);
	assert_int_equal (st.st_size, 0);
	g_clear_error (&error);
	g_clear_pointer (&report, mimeutf8_report_free);
	close (fd);

	fd = temporary_file (large, in_path);
	close (fd);
	fd = open (in_path, O_WRONLY);
	assert_true (fd >= 0);
	assert_int_equal (mimeutf8_normalize_fd (NULL, fd, out_fd, &report, &error),
			  MIMEUTF8_STATUS_FAILED);
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO));
	assert_true (
		g_str_has_prefix (mimeutf8_report_get_reason (report), "mapping the message: "));
	assert_int_equal (fstat (out_fd, &st), 0);
	assert_int_equal (st.st_size, 0);
	g_clear_error (&error);
	g_clear_pointer (&report, mimeutf8_report_free);
	close (fd);
	unlink (in_path);
	close (out_fd);
	unlink (out_path);

	full = open ("/dev/full", O_WRONLY);
	if (full < 0)
		TEST_SKIP ("/dev/full cannot be opened\n");
	assert_int_equal (pipe (pipe_in), 0);
	f.data = large;
	f.fd = pipe_in[1];
	thread = g_thread_new ("feed", feed, &f);
	errno = 0;
	assert_int_equal (mimeutf8_normalize_fd (NULL, pipe_in[0], full, &report, &error),
			  MIMEUTF8_STATUS_FAILED);
	assert_int_equal (errno, ENOSPC);
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO));
	assert_string_equal (mimeutf8_report_get_reason (report), "write failed");
	g_clear_error (&error);
	close (pipe_in[0]);
	g_thread_join (thread);
	close (full);
}

/* A large message from a pipe whose spool file cannot grow (here a file size limit of 1 MiB):
 * FAILED with an I/O error that says so, errno for the caller, nothing written; and a
 * descriptor that is not open at all. */
static void
test_entry__spool_fault (void **state)
{
	g_autoptr (GByteArray) large = large_message ();
	g_autoptr (MimeUtf8Report) report = NULL;
	struct rlimit saved, small;
	GError *error = NULL;
	int pipe_in[2], null = open ("/dev/null", O_WRONLY);
	GThread *thread;
	Feed f;

	assert_true (null >= 0);
	assert_int_equal (getrlimit (RLIMIT_FSIZE, &saved), 0);
	small = saved;
	small.rlim_cur = 1024 * 1024;
	signal (SIGXFSZ, SIG_IGN);
	assert_int_equal (setrlimit (RLIMIT_FSIZE, &small), 0);
	assert_int_equal (pipe (pipe_in), 0);
	f.data = large;
	f.fd = pipe_in[1];
	thread = g_thread_new ("feed", feed, &f);
	errno = 0;
	assert_int_equal (mimeutf8_normalize_fd (NULL, pipe_in[0], null, &report, &error),
			  MIMEUTF8_STATUS_FAILED);
	assert_int_equal (errno, EFBIG);
	assert_int_equal (setrlimit (RLIMIT_FSIZE, &saved), 0);
	signal (SIGXFSZ, SIG_DFL);
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO));
	assert_true (g_str_has_prefix (mimeutf8_report_get_reason (report),
				       "spooling a large message: "));
	g_clear_error (&error);
	g_clear_pointer (&report, mimeutf8_report_free);
	close (pipe_in[0]);
	g_thread_join (thread);

	assert_int_equal (mimeutf8_normalize_fd (NULL, -1, null, &report, &error),
			  MIMEUTF8_STATUS_FAILED);
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO));
	assert_true (g_str_has_prefix (mimeutf8_report_get_reason (report), "read failed: "));
	g_clear_error (&error);
	close (null);
}

static void
on_alarm (int signo)
{
}

typedef struct {
	const GByteArray *data;
	int fd;
	pthread_t reader;
} LateFeed;

/* Interrupts the reader's wait with a signal, then feeds it. */
static gpointer
feed_late (gpointer data)
{
	LateFeed *f = data;

	g_usleep (100000);
	pthread_kill (f->reader, SIGALRM);
	g_usleep (100000);
	assert_int_equal (write (f->fd, f->data->data, f->data->len), (ssize_t) f->data->len);
	close (f->fd);
	return NULL;
}

/* A signal that interrupts the wait for input (a handler installed without SA_RESTART) does not
 * fail the call: it reads on. */
static void
test_entry__read_interrupted (void **state)
{
	g_autoptr (GByteArray) in = read_fixture ("messages", "koi8r-8bit.eml");
	g_autoptr (GByteArray) want = read_fixture ("expected", "koi8r-8bit.eml");
	char out_path[] = "/tmp/mimeutf8-test-XXXXXX";
	struct sigaction action = { 0 }, saved;
	int pipe_in[2], out_fd = g_mkstemp (out_path);
	GByteArray *got;
	GThread *thread;
	LateFeed f;

	assert_true (out_fd >= 0);
	action.sa_handler = on_alarm; /* no SA_RESTART: read() returns EINTR */
	assert_int_equal (sigaction (SIGALRM, &action, &saved), 0);
	assert_int_equal (pipe (pipe_in), 0);
	f.data = in;
	f.fd = pipe_in[1];
	f.reader = pthread_self ();
	thread = g_thread_new ("feed", feed_late, &f);
	assert_int_equal (mimeutf8_normalize_fd (NULL, pipe_in[0], out_fd, NULL, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	g_thread_join (thread);
	sigaction (SIGALRM, &saved, NULL);
	close (pipe_in[0]);
	close (out_fd);
	got = read_file (out_path);
	assert_bytes_equal (got, want, "read interrupted by a signal");
	g_byte_array_unref (got);
	unlink (out_path);
}

/* A memory stream with bounds is read only between them. */
static void
test_entry__bounded_stream (void **state)
{
	static const char before[] = "bytes before\n", after[] = "\nbytes after\n";
	g_autoptr (GByteArray) in = read_fixture ("messages", "koi8r-8bit.eml");
	g_autoptr (GByteArray) want = read_fixture ("expected", "koi8r-8bit.eml");
	g_autoptr (GByteArray) all = framed (before, in, after);
	g_autoptr (GByteArray) got = NULL;
	GMimeStream *source;

	source = g_mime_stream_mem_new_with_buffer ((const char *) all->data, all->len);
	g_mime_stream_set_bounds (source, strlen (before), strlen (before) + in->len);
	assert_int_equal (g_mime_stream_seek (source, strlen (before), GMIME_STREAM_SEEK_SET),
			  (gint64) strlen (before));
	got = normalized_stream (source);
	assert_bytes_equal (got, want, "bounded memory stream");
}

/* A pipe stream, and a file stream over a large file already read past some bytes: each is read
 * from where it stands to its end. */
static void
test_entry__file_streams (void **state)
{
	static const char junk[] = "bytes the caller has read already\n";
	g_autoptr (GByteArray) in = read_fixture ("messages", "koi8r-8bit.eml");
	g_autoptr (GByteArray) want = read_fixture ("expected", "koi8r-8bit.eml");
	g_autoptr (GByteArray) large = large_message ();
	g_autoptr (GByteArray) large_want = g_byte_array_new ();
	g_autoptr (GByteArray) both = g_byte_array_new ();
	GByteArray *got;
	char path[] = "/tmp/mimeutf8-test-XXXXXX";
	GMimeStream *source;
	int pipe_in[2], fd;

	assert_int_equal (pipe (pipe_in), 0);
	assert_int_equal (write (pipe_in[1], in->data, in->len), (ssize_t) in->len);
	close (pipe_in[1]);
	got = normalized_stream (g_mime_stream_pipe_new (pipe_in[0]));
	assert_bytes_equal (got, want, "pipe stream");
	g_byte_array_unref (got);

	assert_int_equal (
		mimeutf8_normalize_buffer (NULL, large->data, large->len, large_want, NULL, NULL),
		MIMEUTF8_STATUS_NORMALIZED);
	g_byte_array_append (both, (const guint8 *) junk, strlen (junk));
	g_byte_array_append (both, large->data, large->len);
	fd = temporary_file (both, path);
	unlink (path);
	source = g_mime_stream_fs_new (fd);
	assert_int_equal (g_mime_stream_seek (source, strlen (junk), GMIME_STREAM_SEEK_SET),
			  (gint64) strlen (junk));
	got = normalized_stream (source);
	assert_bytes_equal (got, large_want, "large file stream read from an offset");
	g_byte_array_unref (got);
}

/* A small message written to a full disk: the report says "write failed", errno is ENOSPC. */
static void
test_entry__small_write_error_report (void **state)
{
	g_autofree char *path = g_build_filename (FIXTURES_DIR, "messages", "koi8r-8bit.eml", NULL);
	g_autoptr (MimeUtf8Report) report = NULL;
	GError *error = NULL;
	int fd = open (path, O_RDONLY), full = open ("/dev/full", O_WRONLY);

	if (full < 0) {
		close (fd);
		TEST_SKIP ("/dev/full cannot be opened\n");
	}
	errno = 0;
	assert_int_equal (mimeutf8_normalize_fd (NULL, fd, full, &report, &error),
			  MIMEUTF8_STATUS_FAILED);
	assert_int_equal (errno, ENOSPC);
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO));
	assert_int_equal (mimeutf8_report_get_status (report), MIMEUTF8_STATUS_FAILED);
	assert_string_equal (mimeutf8_report_get_reason (report), "write failed");
	g_clear_error (&error);
	close (fd);
	close (full);
}

/* A message the engine leaves alone (a limit reached) is copied out; when that copy fails, the call
 * fails with an I/O error rather than claiming a passthrough. */
static void
test_entry__passthrough_write_error (void **state)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	g_autoptr (GByteArray) message = many_parts (5);
	g_autoptr (GByteArray) out = g_byte_array_new ();
	g_autoptr (MimeUtf8Report) report = NULL;
	GMimeStream *source, *sink;
	GError *error = NULL;
	int full = open ("/dev/full", O_WRONLY);

	options.max_parts = 2;
	/* into memory: the input, byte for byte, with the limit as reason */
	assert_int_equal (mimeutf8_normalize_buffer (&options, message->data, message->len, out,
						     &report, &error),
			  MIMEUTF8_STATUS_PASSTHROUGH);
	assert_bytes_equal (out, message, "passthrough");
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_LIMIT));
	assert_true (g_str_has_prefix (mimeutf8_report_get_reason (report), "limit:"));
	g_clear_error (&error);
	g_clear_pointer (&report, mimeutf8_report_free);
	if (full < 0)
		TEST_SKIP ("/dev/full cannot be opened\n");
	source = g_mime_stream_mem_new_with_buffer ((const char *) message->data, message->len);
	sink = g_mime_stream_fs_new (full);
	assert_int_equal (mimeutf8_normalize_stream (&options, source, sink, &report, &error),
			  MIMEUTF8_STATUS_FAILED);
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO));
	assert_string_equal (mimeutf8_report_get_reason (report), "write failed");
	g_clear_error (&error);
	g_object_unref (source);
	g_object_unref (sink);
}

/* A read error is FAILED with an I/O error, whether from a descriptor or a stream. */
static void
test_entry__read_error (void **state)
{
	g_autoptr (GByteArray) out = g_byte_array_new ();
	g_autoptr (MimeUtf8Report) report = NULL;
	GMimeStream *source, *sink;
	GError *error = NULL;
	int dir = open ("/", O_RDONLY | O_DIRECTORY), out_fd = open ("/dev/null", O_WRONLY);

	assert_true (dir >= 0 && out_fd >= 0);
	assert_int_equal (mimeutf8_normalize_fd (NULL, dir, out_fd, &report, &error),
			  MIMEUTF8_STATUS_FAILED);
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO));
	assert_true (g_str_has_prefix (mimeutf8_report_get_reason (report), "read failed: "));
	g_clear_error (&error);
	g_clear_pointer (&report, mimeutf8_report_free);

	source = g_mime_stream_fs_new (dir);
	sink = g_mime_stream_mem_new_with_byte_array (out);
	g_mime_stream_mem_set_owner ((GMimeStreamMem *) sink, FALSE);
	assert_int_equal (mimeutf8_normalize_stream (NULL, source, sink, &report, &error),
			  MIMEUTF8_STATUS_FAILED);
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO));
	assert_true (g_str_has_prefix (mimeutf8_report_get_reason (report), "read failed: "));
	assert_int_equal (out->len, 0);
	g_clear_error (&error);
	g_object_unref (source);
	g_object_unref (sink);
	close (out_fd);
}

/* A memory stream already partly read is read from where it stands, not from its start. */
static void
test_entry__stream_position (void **state)
{
	static const char skipped[] = "junk that is not part of the message\n";
	g_autoptr (GByteArray) in = read_fixture ("messages", "koi8r-8bit.eml");
	g_autoptr (GByteArray) want = read_fixture ("expected", "koi8r-8bit.eml");
	g_autoptr (GByteArray) both = g_byte_array_new ();
	g_autoptr (GByteArray) got = g_byte_array_new ();
	GMimeStream *source, *sink;

	g_byte_array_append (both, (const guint8 *) skipped, strlen (skipped));
	g_byte_array_append (both, in->data, in->len);
	source = g_mime_stream_mem_new_with_buffer ((const char *) both->data, both->len);
	assert_int_equal (g_mime_stream_seek (source, strlen (skipped), GMIME_STREAM_SEEK_SET),
			  (gint64) strlen (skipped));
	sink = g_mime_stream_mem_new_with_byte_array (got);
	g_mime_stream_mem_set_owner ((GMimeStreamMem *) sink, FALSE);
	assert_int_equal (mimeutf8_normalize_stream (NULL, source, sink, NULL, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	g_object_unref (source);
	g_object_unref (sink);
	assert_bytes_equal (got, want, "stream read from its position");
}

/* A file stream with bounds, the message between junk: GMime's file stream reads -1 (EINVAL)
 * at its bound's end, which is the end of the input, not a failure. */
static void
test_entry__stream_fs_bounds (void **state)
{
	static const char before[] = "junk before the message\n", after[] = "junk after it\n";
	g_autoptr (GByteArray) in = read_fixture ("messages", "koi8r-8bit.eml");
	g_autoptr (GByteArray) want = read_fixture ("expected", "koi8r-8bit.eml");
	g_autoptr (GByteArray) all = framed (before, in, after);
	g_autoptr (GByteArray) got = NULL;
	char path[] = "/tmp/mimeutf8-test-XXXXXX";
	int fd = temporary_file (all, path);

	unlink (path);
	/* the stream owns fd */
	got = normalized_stream (g_mime_stream_fs_new_with_bounds (
		fd, (gint64) strlen (before), (gint64) (strlen (before) + in->len)));
	assert_bytes_equal (got, want, "bounded file stream");
}

/* A parsed message whose text is UTF-8 already, made 7-bit: only its transfer encoding changes,
 * which is a change of the body all the same (NORMALIZED, a DKIM signature broken); the part
 * then reads back as the same text. */
static void
test_entry__message_encoding_only (void **state)
{
	static const char text[] = "DKIM-Signature: v=1; h=from; bh=x; b=y\nFrom: a@example.com\n"
				   "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
				   "Content-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9\n";
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	g_autoptr (MimeUtf8Report) report = NULL;
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer (text, strlen (text));
	GMimeParser *parser = g_mime_parser_new_with_stream (stream);
	GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);
	const MimeUtf8PartReport *part;
	g_autofree char *written = NULL;
	g_autofree guchar *decoded = NULL;
	const char *body, *type;
	gsize decoded_len;

	assert_non_null (message);
	options.force_7bit = TRUE;
	assert_int_equal (mimeutf8_normalize_message (&options, message, &report, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	part = mimeutf8_report_get_part (report, 0);
	assert_int_equal (part->action, MIMEUTF8_ACTION_ALREADY_UTF8);
	assert_string_equal (part->encoding_in, "8bit");
	assert_true (mimeutf8_report_get_dkim_invalidated (report));
	/* read back without GMime: a base64 body of the same text */
	written = g_mime_object_to_string (GMIME_OBJECT (message), NULL);
	body = strstr (written, "\n\n");
	assert_non_null (body);
	type = strstr (written, "Content-Transfer-Encoding: ");
	assert_non_null (type);
	assert_true (type < body);
	assert_string_equal (part->encoding_out, "base64");
	assert_true (g_str_has_prefix (type + strlen ("Content-Transfer-Encoding: "), "base64\n"));
	decoded = g_base64_decode (body + 2, &decoded_len);
	assert_int_equal (decoded_len, strlen ("caf\xc3\xa9\n"));
	assert_memory_equal (decoded, "caf\xc3\xa9\n", decoded_len);
	g_object_unref (message);
	g_object_unref (parser);
	g_object_unref (stream);
}

/* A parsed message: bad options and cancellation fail before anything is changed. */
static void
test_entry__message_options (void **state)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	g_autoptr (GByteArray) in = read_fixture ("messages", "koi8r-8bit.eml");
	g_autoptr (MimeUtf8Report) report = NULL;
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer ((const char *) in->data, in->len);
	GMimeParser *parser = g_mime_parser_new_with_stream (stream);
	GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);
	GError *error = NULL;

	assert_non_null (message);
	options.version = 99;
	assert_int_equal (mimeutf8_normalize_message (&options, message, &report, &error),
			  MIMEUTF8_STATUS_FAILED);
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_OPTIONS));
	assert_string_equal (mimeutf8_report_get_reason (report), "invalid options");
	g_clear_error (&error);
	g_clear_pointer (&report, mimeutf8_report_free);

	options.version = MIMEUTF8_OPTIONS_VERSION;
	options.cancellable = g_cancellable_new ();
	g_cancellable_cancel (options.cancellable);
	assert_int_equal (mimeutf8_normalize_message (&options, message, &report, &error),
			  MIMEUTF8_STATUS_FAILED);
	assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
	assert_string_equal (mimeutf8_report_get_reason (report), "cancelled");
	assert_int_equal (mimeutf8_report_get_n_parts (report), 0);
	g_clear_error (&error);
	g_clear_object (&options.cancellable);
	g_clear_pointer (&report, mimeutf8_report_free);

	/* uncancelled, the same message is converted */
	assert_int_equal (mimeutf8_normalize_message (&options, message, &report, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	g_object_unref (message);
	g_object_unref (parser);
	g_object_unref (stream);
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_entry__every_way_in),
		cmocka_unit_test (test_entry__write_error),
		cmocka_unit_test (test_entry__cancel),
		cmocka_unit_test (test_entry__options_version_1),
		cmocka_unit_test (test_entry__bad_options),
		cmocka_unit_test (test_entry__large_message),
		cmocka_unit_test (test_entry__fd_offset),
		cmocka_unit_test (test_entry__large_write_error),
		cmocka_unit_test (test_entry__fd_faults),
		cmocka_unit_test (test_entry__spool_fault),
		cmocka_unit_test (test_entry__read_interrupted),
		cmocka_unit_test (test_entry__bounded_stream),
		cmocka_unit_test (test_entry__file_streams),
		cmocka_unit_test (test_entry__small_write_error_report),
		cmocka_unit_test (test_entry__passthrough_write_error),
		cmocka_unit_test (test_entry__read_error),
		cmocka_unit_test (test_entry__stream_position),
		cmocka_unit_test (test_entry__stream_fs_bounds),
		cmocka_unit_test (test_entry__message_options),
		cmocka_unit_test (test_entry__message_encoding_only),
	};

	mimeutf8_init ();
	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
