/* test-entry.c: every way in and out of the engine (a buffer, a file descriptor, a pipe, a
 * GMimeStream), write errors, cancellation and the options struct. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
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

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_entry__every_way_in),
		cmocka_unit_test (test_entry__write_error),
		cmocka_unit_test (test_entry__cancel),
		cmocka_unit_test (test_entry__options_version_1),
		cmocka_unit_test (test_entry__bad_options),
	};

	mimeutf8_init ();
	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
