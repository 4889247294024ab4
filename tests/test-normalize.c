/* test-normalize.c: the MIME walk end to end: fixture pairs, idempotence, every way in and out,
 * the report, and the in-place API. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mimeutf8-private.h"
#include "test-skip.h"

static GByteArray *
read_file (const char *path)
{
	char *data = NULL;
	gsize len = 0;

	if (!g_file_get_contents (path, &data, &len, NULL))
		return NULL;
	return g_byte_array_new_take ((guint8 *) data, len);
}

static GByteArray *
read_fixture (const char *dir, const char *name)
{
	g_autofree char *path = g_build_filename (FIXTURES_DIR, dir, name, NULL);
	GByteArray *data = read_file (path);

	if (data == NULL)
		fail_msg ("cannot read %s", path);
	return data;
}

static GByteArray *
normalize (GByteArray *in, MimeUtf8Status *status_out, MimeUtf8Report **report_out)
{
	GByteArray *out = g_byte_array_new ();
	GError *error = NULL;

	*status_out = mimeutf8_normalize_buffer (NULL, in->data, in->len, out, report_out, &error);
	if (*status_out == MIMEUTF8_STATUS_FAILED)
		fail_msg ("failed: %s", error->message);
	g_clear_error (&error);
	return out;
}

static void
assert_bytes_equal (GByteArray *got, GByteArray *want, const char *name)
{
	if (got->len != want->len || memcmp (got->data, want->data, got->len) != 0) {
		print_error ("%s: output differs from the expected fixture\n--- got:\n%.*s\n", name,
			     (int) got->len, (const char *) got->data);
		fail ();
	}
}

/* Every fixtures/messages/NAME.eml becomes fixtures/expected/NAME.eml, and a second run changes
 * nothing. */
static void
test_normalize__fixtures (void **state)
{
	g_autofree char *dir_path = g_build_filename (FIXTURES_DIR, "messages", NULL);
	GDir *dir = g_dir_open (dir_path, 0, NULL);
	const char *name;
	int n = 0;

	assert_non_null (dir);
	while ((name = g_dir_read_name (dir)) != NULL) {
		g_autoptr (GByteArray) in = NULL;
		g_autoptr (GByteArray) want = NULL;
		g_autoptr (GByteArray) out = NULL;
		g_autoptr (GByteArray) again = NULL;
		g_autoptr (MimeUtf8Report) report = NULL;
		g_autoptr (MimeUtf8Report) report2 = NULL;
		MimeUtf8Status status, first;

		if (!g_str_has_suffix (name, ".eml"))
			continue;
		in = read_fixture ("messages", name);
		want = read_fixture ("expected", name);
		out = normalize (in, &status, &report);
		first = status;
		assert_bytes_equal (out, want, name);
		/* a fixture passed through (readers disagree on its structure) comes out as it is */
		if (status == MIMEUTF8_STATUS_PASSTHROUGH) {
			assert_memory_equal (out->data, in->data, MIN (in->len, out->len));
			assert_int_equal (out->len, in->len);
		} else {
			assert_int_equal (status, (in->len == out->len &&
						   memcmp (in->data, out->data, in->len) == 0)
							  ? MIMEUTF8_STATUS_UNCHANGED
							  : MIMEUTF8_STATUS_NORMALIZED);
		}
		again = normalize (out, &status, &report2);
		assert_bytes_equal (again, out, name);
		assert_int_equal (status, first == MIMEUTF8_STATUS_PASSTHROUGH
						  ? MIMEUTF8_STATUS_PASSTHROUGH
						  : MIMEUTF8_STATUS_UNCHANGED);
		n++;
	}
	g_dir_close (dir);
	assert_true (n >= 10);
}

static const MimeUtf8PartReport *
find_part (MimeUtf8Report *report, const char *path)
{
	size_t i;

	for (i = 0; i < mimeutf8_report_get_n_parts (report); i++)
		if (strcmp (mimeutf8_report_get_part (report, i)->path, path) == 0)
			return mimeutf8_report_get_part (report, i);
	fail_msg ("no part %s in the report", path);
	return NULL;
}

static void
test_normalize__report (void **state)
{
	g_autoptr (GByteArray) in = read_fixture ("messages", "nested-rfc822.eml");
	g_autoptr (MimeUtf8Report) report = NULL;
	g_autoptr (GByteArray) out = NULL;
	const MimeUtf8PartReport *part;
	MimeUtf8Status status;

	out = normalize (in, &status, &report);
	assert_int_equal (status, MIMEUTF8_STATUS_NORMALIZED);
	assert_int_equal (mimeutf8_report_get_n_parts (report), 5);
	part = find_part (report, "0");
	assert_string_equal (part->content_type, "multipart/mixed");
	assert_int_equal (part->action, MIMEUTF8_ACTION_NOT_TEXT);
	part = find_part (report, "1");
	assert_string_equal (part->declared_charset, "us-ascii");
	assert_int_equal (part->rule, MIMEUTF8_RULE_ASCII);
	part = find_part (report, "2");
	assert_string_equal (part->content_type, "message/rfc822");
	part = find_part (report, "2.1");
	assert_string_equal (part->content_type, "text/plain");
	assert_string_equal (part->declared_charset, "iso-8859-2");
	assert_string_equal (part->charset, "iso-8859-2");
	assert_int_equal (part->action, MIMEUTF8_ACTION_CONVERTED);
	assert_int_equal (part->rule, MIMEUTF8_RULE_LABEL);
	assert_true (part->bytes_out > part->bytes_in);
	assert_int_equal (part->replacements, 0);
	part = find_part (report, "3");
	assert_string_equal (part->content_type, "application/pdf");
	assert_int_equal (part->action, MIMEUTF8_ACTION_NOT_TEXT);
	assert_int_equal (mimeutf8_report_get_bytes_in (report), in->len);
	assert_int_equal (mimeutf8_report_get_bytes_out (report), out->len);
}

static void
test_normalize__signed_left_alone (void **state)
{
	g_autoptr (GByteArray) in = read_fixture ("messages", "signed.eml");
	g_autoptr (MimeUtf8Report) report = NULL;
	g_autoptr (GByteArray) out = NULL;
	MimeUtf8Status status;

	out = normalize (in, &status, &report);
	assert_int_equal (status, MIMEUTF8_STATUS_UNCHANGED);
	assert_int_equal (find_part (report, "1")->action, MIMEUTF8_ACTION_LEFT_ALONE);
	assert_string_equal (find_part (report, "1")->reason, "signed");
}

/* The same message through a GMimeStream (memory and file), a file descriptor (file and pipe):
 * the same bytes as through a buffer. */
static void
test_normalize__every_way_in (void **state)
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
test_normalize__write_error (void **state)
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

/* Parses a fixture with GMime, normalizes it in place (which must change it) and copies its top
 * part's decoded content into `content`. */
static GMimeMessage *
normalize_fixture_in_place (const char *name, GByteArray *content)
{
	g_autoptr (GByteArray) in = read_fixture ("messages", name);
	g_autoptr (GMimeStream) stream =
		g_mime_stream_mem_new_with_buffer ((const char *) in->data, in->len);
	g_autoptr (GMimeParser) parser = g_mime_parser_new_with_stream (stream);
	GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);
	g_autoptr (MimeUtf8Report) report = NULL;
	GMimeStream *sink = g_mime_stream_mem_new_with_byte_array (content);

	g_mime_stream_mem_set_owner ((GMimeStreamMem *) sink, FALSE);
	assert_int_equal (mimeutf8_normalize_message (NULL, message, &report, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	g_mime_data_wrapper_write_to_stream (
		g_mime_part_get_content (GMIME_PART (g_mime_message_get_mime_part (message))), sink);
	g_object_unref (sink);
	return message;
}

static void
test_normalize__in_place (void **state)
{
	g_autoptr (GByteArray) content = g_byte_array_new ();
	g_autoptr (GMimeMessage) message = normalize_fixture_in_place ("rfc2231-params.eml", content);
	GMimeObject *body = g_mime_message_get_mime_part (message);
	GMimeHeader *header;

	assert_string_equal (g_mime_object_get_content_type_parameter (body, "charset"), "utf-8");
	/* the RFC 2231 name parameter is in UTF-8 now, rewritten by us (not re-encoded by GMime in
	 * its declared charset), and the rest of the value is as GMime holds it, folding included:
	 * the same value as the buffer call writes */
	header = g_mime_header_list_get_header (g_mime_object_get_header_list (body),
						"Content-Type");
	assert_string_equal (g_mime_header_get_raw_value (header),
			     " text/plain; charset=utf-8;\n name*=utf-8''r%C3%A9sum%C3%A9.txt\n");
	assert_int_equal (content->len, strlen ("R\xc3\xa9sum\xc3\xa9 des notes.\n"));
	assert_memory_equal (content->data, "R\xc3\xa9sum\xc3\xa9 des notes.\n", content->len);
}

/* In place too, a plain footer after a base64 body is text of the part, not dropped. */
static void
test_normalize__in_place_base64_footer (void **state)
{
	g_autoptr (GByteArray) content = g_byte_array_new ();
	g_autoptr (GMimeMessage) message = normalize_fixture_in_place ("base64-footer.eml", content);

	g_byte_array_append (content, (const guint8 *) "", 1);
	assert_non_null (strstr ((const char *) content->data,
				 "Le caf\xc3\xa9 co\xc3\xbbte 2\xe2\x82\xac"));
	assert_non_null (strstr ((const char *) content->data,
				 "ligne.\n_______________________________________________\n"
				 "SLAT mailing list\n"));
}

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

/* A cancelled call fails with G_IO_ERROR_CANCELLED and writes nothing, whether it was cancelled
 * before it started or, from another thread, while it ran. */
static void
test_normalize__cancel (void **state)
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
test_normalize__options_version_1 (void **state)
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

/* The in-place call on what broke it: charset as the last Content-Type parameter (its newline
 * was lost, so that the next header ran into it), and a message whose only change is a header
 * (it said unchanged, with 0 bytes). */
static void
test_normalize__in_place_header_block (void **state)
{
	static const char relabel[] =
		"MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n"
		"Content-Transfer-Encoding: 8bit\n\ncaf\xe9\n";
	static const char subject[] = "MIME-Version: 1.0\nSubject: =?iso-8859-1?Q?caf=E9?=\n"
				      "Content-Type: text/plain; charset=utf-8\n\nhi\n";
	const char *messages[] = { relabel, subject };
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (messages); i++) {
		g_autoptr (GMimeStream) stream =
			g_mime_stream_mem_new_with_buffer (messages[i], strlen (messages[i]));
		g_autoptr (GMimeParser) parser = g_mime_parser_new_with_stream (stream);
		g_autoptr (GMimeMessage) message = g_mime_parser_construct_message (parser, NULL);
		g_autoptr (MimeUtf8Report) report = NULL;
		g_autofree char *text = NULL;

		assert_int_equal (mimeutf8_normalize_message (NULL, message, &report, NULL),
				  MIMEUTF8_STATUS_NORMALIZED);
		text = g_mime_object_to_string (GMIME_OBJECT (message), NULL);
		print_message ("%s", text);
		assert_int_equal (mimeutf8_report_get_bytes_out (report), strlen (text));
		assert_true (mimeutf8_report_get_bytes_in (report) > 0);
		if (i == 0) {
			assert_non_null (
				strstr (text, "charset=utf-8\nContent-Transfer-Encoding: 8bit\n"));
			assert_non_null (strstr (text, "\n\ncaf\xc3\xa9\n"));
		} else {
			assert_int_equal (mimeutf8_report_get_n_headers (report), 1);
			g_autofree char *lower = g_ascii_strdown (text, -1);

			assert_non_null (strstr (lower, "\nsubject: =?utf-8?"));
		}
	}
}

/* dkim_invalidated follows each DKIM-Signature's h= and l= tags: a signed header field that
 * changes breaks it as much as the body does; an unsigned one, or a body change past l=, not. */
static void
test_normalize__dkim (void **state)
{
	static const struct {
		const char *message;
		gboolean invalidated;
	} cases[] = {
		/* only the Subject changes: signed, then not */
		{ "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s;\n\th=From:To:\n\t "
		  "Subject; "
		  "bh=x; b=y\nFrom: a@example.com\nSubject: =?iso-8859-1?Q?caf=E9?=\n"
		  "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nhi\n",
		  TRUE },
		{ "DKIM-Signature: v=1; h=from:to; bh=x; b=y\nFrom: a@example.com\n"
		  "Subject: =?iso-8859-1?Q?caf=E9?=\nMIME-Version: 1.0\n"
		  "Content-Type: text/plain; charset=utf-8\n\nhi\n",
		  FALSE },
		/* only the label changes (valid UTF-8 under a latin-1 label) */
		{ "DKIM-Signature: v=1; h=from:content-type; bh=x; b=y\nFrom: a@example.com\n"
		  "MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n\n"
		  "caf\xc3\xa9\n",
		  TRUE },
		{ "DKIM-Signature: v=1; h=from; bh=x; b=y\nFrom: a@example.com\n"
		  "MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n\n"
		  "caf\xc3\xa9\n",
		  FALSE },
		/* the body changes: everywhere, or past the l= octets it signs */
		{ "DKIM-Signature: v=1; h=from; bh=x; b=y\nFrom: a@example.com\nMIME-Version: 1.0\n"
		  "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
		  "Content-Type: text/plain; charset=utf-8\n\nhello\n--b\n"
		  "Content-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n--b--\n",
		  TRUE },
		{ "DKIM-Signature: v=1; h=from; l=10; bh=x; b=y\nFrom: a@example.com\n"
		  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		  "Content-Type: text/plain; charset=utf-8\n\nhello\n"
		  "--b\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n--b--\n",
		  FALSE },
		{ "DKIM-Signature: v=1; h=from; l=100; bh=x; b=y\nFrom: a@example.com\n"
		  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		  "Content-Type: text/plain; charset=utf-8\n\nhello\n"
		  "--b\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n--b--\n",
		  TRUE },
		/* no DKIM-Signature */
		{ "From: a@example.com\nSubject: =?iso-8859-1?Q?caf=E9?=\n\nhi\n", FALSE },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GByteArray) out = g_byte_array_new ();
		g_autoptr (MimeUtf8Report) report = NULL;
		g_autoptr (MimeUtf8Report) in_place = NULL;
		g_autoptr (GMimeStream) stream = g_mime_stream_mem_new_with_buffer (
			cases[i].message, strlen (cases[i].message));
		g_autoptr (GMimeParser) parser = g_mime_parser_new_with_stream (stream);
		g_autoptr (GMimeMessage) message = g_mime_parser_construct_message (parser, NULL);

		print_message ("case %zu\n", i);
		assert_int_equal (mimeutf8_normalize_buffer (NULL, cases[i].message,
							     strlen (cases[i].message), out,
							     &report, NULL),
				  MIMEUTF8_STATUS_NORMALIZED);
		assert_int_equal (mimeutf8_report_get_dkim_invalidated (report),
				  cases[i].invalidated);
		/* in place, any converted part counts as a body change (where in the body, and
		 * whether its bytes changed, is not known): cases 3 and 5 say TRUE there */
		mimeutf8_normalize_message (NULL, message, &in_place, NULL);
		assert_int_equal (mimeutf8_report_get_dkim_invalidated (in_place),
				  cases[i].invalidated || i == 3 || i == 5);
	}
}

static void
test_normalize__bad_options (void **state)
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

/* Input that is not a message at all still comes out, byte for byte or normalized. */
static void
test_normalize__odd_input (void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
	} inputs[] = {
		{ "", 0 },
		{ "\n", 1 },
		{ "no header at all, just text \xe9\n", 30 },
		{ "\0\1\2\3\xff\xfe", 6 },
		{ "Subject: x\r\r\rbody\r", 18 },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (inputs); i++) {
		g_autoptr (GByteArray) out = g_byte_array_new ();
		g_autoptr (GByteArray) again = g_byte_array_new ();
		MimeUtf8Status status;

		status = mimeutf8_normalize_buffer (NULL, inputs[i].bytes, inputs[i].len, out, NULL,
						    NULL);
		assert_true (status != MIMEUTF8_STATUS_FAILED);
		if (status != MIMEUTF8_STATUS_NORMALIZED) {
			assert_int_equal (out->len, inputs[i].len);
			assert_memory_equal (out->data, inputs[i].bytes, inputs[i].len);
		}
		mimeutf8_normalize_buffer (NULL, out->data, out->len, again, NULL, NULL);
		assert_int_equal (again->len, out->len);
		assert_memory_equal (again->data, out->data, out->len);
	}
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_normalize__fixtures),
		cmocka_unit_test (test_normalize__report),
		cmocka_unit_test (test_normalize__signed_left_alone),
		cmocka_unit_test (test_normalize__every_way_in),
		cmocka_unit_test (test_normalize__write_error),
		cmocka_unit_test (test_normalize__in_place),
		cmocka_unit_test (test_normalize__in_place_base64_footer),
		cmocka_unit_test (test_normalize__in_place_header_block),
		cmocka_unit_test (test_normalize__bad_options),
		cmocka_unit_test (test_normalize__dkim),
		cmocka_unit_test (test_normalize__cancel),
		cmocka_unit_test (test_normalize__options_version_1),
		cmocka_unit_test (test_normalize__odd_input),
	};

	mimeutf8_init ();
	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
