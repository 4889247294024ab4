/* test-view.c: the parsed view (mimeutf8_parse): decoded headers, parts and their texts, bodies
 * and attachments, embedded messages, and that it is the normalizer's own walk. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mimeutf8-private.h"
#include "test-criticals.h"

static MimeUtf8Message *
parse (const char *text)
{
	GError *error = NULL;
	MimeUtf8Message *message = mimeutf8_parse (NULL, text, strlen (text), &error);

	assert_null (error);
	assert_non_null (message);
	return message;
}

static const MimeUtf8Part *
part_at (const MimeUtf8Message *message, const char *path)
{
	size_t i;

	for (i = 0; i < mimeutf8_message_get_n_parts (message); i++)
		if (strcmp (mimeutf8_part_get_path (mimeutf8_message_get_part (message, i)), path) ==
		    0)
			return mimeutf8_message_get_part (message, i);
	fail_msg ("no part %s", path);
	return NULL;
}

static void
test_view__headers (void **state)
{
	MimeUtf8Message *message = parse (
		"From: =?iso-8859-1?q?J=F6rg_M=FCller?= <joerg@example.de>\n"
		"To: \"Doe, Jane\" <jane@example.com>, bob@example.com (Bob),\n"
		" Friends: ann@example.com, \"Z\" <z@example.com>;\n"
		"Cc: =?koi8-r?b?6dfBzg==?= <ivan@example.ru>\n"
		"Subject: =?utf-8?b?Q2Fmw6k=?=\n"
		" =?utf-8?q?_cr=C3=A8me?=\n"
		"Date: Mon, 1 Jan 2024 01:00:00 +0100\n"
		"Message-ID: <abc@example.de>\n"
		"References: <r1@x> <r2@x>\n"
		" <r3@x>\n"
		"X-Note: Gr\xfc\xdf" "e\n"
		"\n"
		"body\n");
	const MimeUtf8Address *list;
	const char *const *ids;
	int64_t time;

	(void) state;
	assert_string_equal (mimeutf8_message_get_subject (message), "Café crème");
	assert_int_equal (mimeutf8_message_get_addresses (message, "from", &list), 1);
	assert_string_equal (list[0].name, "Jörg Müller");
	assert_string_equal (list[0].address, "joerg@example.de");
	assert_int_equal (mimeutf8_message_get_addresses (message, "TO", &list), 4);
	assert_string_equal (list[0].name, "Doe, Jane");
	assert_string_equal (list[0].address, "jane@example.com");
	assert_string_equal (list[1].name, "");
	assert_string_equal (list[1].address, "bob@example.com");
	assert_string_equal (list[2].address, "ann@example.com");
	assert_string_equal (list[3].name, "Z");
	assert_string_equal (list[3].address, "z@example.com");
	assert_int_equal (mimeutf8_message_get_addresses (message, "cc", &list), 1);
	assert_string_equal (list[0].name, "Иван");
	assert_int_equal (mimeutf8_message_get_addresses (message, "bcc", &list), 0);
	assert_string_equal (mimeutf8_message_get_date (message), "Mon, 1 Jan 2024 01:00:00 +0100");
	assert_true (mimeutf8_message_get_time (message, &time));
	assert_int_equal (time, 1704067200);
	ids = mimeutf8_message_get_ids (message, "message-id");
	assert_string_equal (ids[0], "abc@example.de");
	assert_null (ids[1]);
	ids = mimeutf8_message_get_ids (message, "references");
	assert_string_equal (ids[0], "r1@x");
	assert_string_equal (ids[2], "r3@x");
	assert_null (ids[3]);
	assert_null (mimeutf8_message_get_ids (message, "in-reply-to")[0]);
	/* raw 8-bit in a header: read as the body's charset would be, here the fallback */
	assert_string_equal (mimeutf8_message_get_header (message, "x-note"), "Grüße");
	assert_null (mimeutf8_message_get_header (message, "X-Missing"));
	assert_int_equal (mimeutf8_message_get_n_headers (message), 8);
	mimeutf8_message_free (message);
}

/* What a caller may leave out or get wrong: NULL for an optional out-argument, a field name the
 * API does not know, identifiers without angle brackets or with none inside them, a Date that
 * does not parse, a disposition after folding and before a comment, a body subtype that is
 * neither plain nor html, the bytes of a multipart, an index past the end. */
static void
test_view__edges (void **state)
{
	MimeUtf8Message *message = parse ("From: a@example.com\n"
					  "To: undisclosed-recipients:;\n"
					  "Date: not a date\n"
					  "Message-ID: bare@example.com\n"
					  "In-Reply-To: <> <  >\n"
					  "References: two words <unterminated\n"
					  "MIME-Version: 1.0\n"
					  "Content-Type: multipart/mixed; boundary=b\n"
					  "\n"
					  "--b\n"
					  "Content-Type: text/plain; charset=utf-8; format=flowed\n"
					  "Content-Disposition:\n"
					  "\tATTACHMENT(a comment); filename=a.txt\n"
					  "\n"
					  "text\n"
					  "--b--\n");
	const MimeUtf8Address *list = (const MimeUtf8Address *) 1;
	const MimeUtf8Part *part;
	g_autoptr (GBytes) bytes = NULL;
	int64_t time = 1;
	GLogFunc old;

	(void) state;
	assert_int_equal (mimeutf8_message_get_addresses (message, "from", NULL), 1);
	assert_int_equal (mimeutf8_message_get_addresses (message, "x-unknown", &list), 0);
	assert_null (list);
	list = (const MimeUtf8Address *) 1;
	/* a group with no mailbox */
	assert_int_equal (mimeutf8_message_get_addresses (message, "to", &list), 0);
	assert_null (list);
	assert_false (mimeutf8_message_get_time (message, NULL));
	assert_false (mimeutf8_message_get_time (message, &time));
	assert_int_equal (time, 0);
	assert_string_equal (mimeutf8_message_get_date (message), "not a date");
	assert_string_equal (mimeutf8_message_get_ids (message, "message-id")[0],
			     "bare@example.com");
	assert_null (mimeutf8_message_get_ids (message, "message-id")[1]);
	assert_null (mimeutf8_message_get_ids (message, "in-reply-to")[0]);
	/* an opening bracket without its closing one ends the list; two words are no identifier */
	assert_null (mimeutf8_message_get_ids (message, "references")[0]);
	assert_null (mimeutf8_message_get_ids (message, "x-unknown")[0]);
	assert_string_equal (mimeutf8_message_get_header_at (message, 0, NULL), "a@example.com");
	assert_null (mimeutf8_message_get_body (message, "enriched"));

	part = mimeutf8_message_get_part (message, 1);
	assert_string_equal (mimeutf8_part_get_disposition (part), "attachment");
	assert_string_equal (mimeutf8_part_get_filename (part), "a.txt");
	assert_int_equal (mimeutf8_part_get_n_params (part), 2);
	assert_string_equal (mimeutf8_part_get_param_at (part, 1, NULL), "flowed");
	/* a multipart has no body bytes of its own */
	part = mimeutf8_message_get_part (message, 0);
	bytes = mimeutf8_part_get_bytes (part);
	assert_int_equal (g_bytes_get_size (bytes), 0);
	assert_int_equal (mimeutf8_part_get_size (part), 0);
	/* an index past the end is a programming error: NULL, and GLib logs a critical */
	old = g_log_set_default_handler (count_criticals, NULL);
	criticals = 0;
	assert_null (mimeutf8_message_get_header_at (message, 99, NULL));
	assert_null (mimeutf8_message_get_part (message, 2));
	assert_null (mimeutf8_part_get_param_at (part, 1, NULL));
	g_log_set_default_handler (old, NULL);
	assert_int_equal (criticals, 3);
	mimeutf8_message_free (message);

	/* a disposition folded right after its colon, with CR LF line ends */
	message = parse ("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
			 "Content-Disposition:\r\n attachment; filename=a.txt\r\n\r\nx\r\n");
	part = mimeutf8_message_get_part (message, 0);
	assert_string_equal (mimeutf8_part_get_disposition (part), "attachment");
	assert_string_equal (mimeutf8_part_get_filename (part), "a.txt");
	mimeutf8_message_free (message);
}

static const char mixed[] =
	"From: a@example.fr\n"
	"Subject: s\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"m\"\n"
	"\n"
	"--m\n"
	"Content-Type: multipart/alternative; boundary=\"a\"\n"
	"\n"
	"--a\n"
	"Content-Type: text/plain; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"Caf=E9\n"
	"--a\n"
	"Content-Type: text/html; charset=windows-1252\n"
	"\n"
	"<p>Caf\xe9</p>\n"
	"--a--\n"
	"--m\n"
	"Content-Type: application/octet-stream\n"
	"Content-Disposition: attachment;\n"
	" filename*=iso-8859-1''r%E9sum%E9.bin\n"
	"Content-ID: <part3@example.fr>\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"AAECAwQ=\n"
	"--m\n"
	"Content-Type: text/plain; charset=utf-8; name=\"=?utf-8?q?n=C3=B8te.txt?=\"\n"
	"Content-Disposition: inline\n"
	"\n"
	"ok \xc3\xa9\n"
	"--m--\n";

static void
test_view__parts (void **state)
{
	MimeUtf8Message *message = parse (mixed);
	const MimeUtf8Part *part;
	const MimeUtf8Part *const *attachments;
	const char *name, *text;
	size_t len;
	g_autoptr (GBytes) bytes = NULL;

	(void) state;
	assert_int_equal (mimeutf8_message_get_status (message), MIMEUTF8_STATUS_NORMALIZED);
	assert_int_equal (mimeutf8_message_get_n_parts (message), 6);
	part = part_at (message, "0");
	assert_string_equal (mimeutf8_part_get_content_type (part), "multipart/mixed");
	assert_int_equal (mimeutf8_part_get_n_params (part), 1);
	assert_string_equal (mimeutf8_part_get_param_at (part, 0, &name), "m");
	assert_string_equal (name, "boundary");
	assert_null (mimeutf8_part_get_text (part, NULL));

	part = part_at (message, "1.1");
	text = mimeutf8_part_get_text (part, &len);
	/* the line break before a boundary is the boundary's */
	assert_string_equal (text, "Café");
	assert_int_equal (len, strlen ("Café"));
	assert_string_equal (mimeutf8_part_get_record (part)->charset, "windows-1252");
	assert_int_equal (mimeutf8_part_get_size (part), 4);
	part = part_at (message, "1.2");
	assert_string_equal (mimeutf8_part_get_text (part, NULL), "<p>Café</p>");

	part = part_at (message, "2");
	assert_null (mimeutf8_part_get_text (part, NULL));
	assert_string_equal (mimeutf8_part_get_disposition (part), "attachment");
	assert_string_equal (mimeutf8_part_get_filename (part), "résumé.bin");
	assert_string_equal (mimeutf8_part_get_content_id (part), "part3@example.fr");
	assert_int_equal (mimeutf8_part_get_size (part), 5);
	bytes = mimeutf8_part_get_bytes (part);
	assert_int_equal (g_bytes_get_size (bytes), 5);
	assert_memory_equal (g_bytes_get_data (bytes, NULL), "\0\1\2\3\4", 5);

	part = part_at (message, "3");
	assert_string_equal (mimeutf8_part_get_filename (part), "nøte.txt");
	assert_string_equal (mimeutf8_part_get_text (part, NULL), "ok é");
	assert_int_equal (mimeutf8_part_get_record (part)->action, MIMEUTF8_ACTION_ALREADY_UTF8);

	assert_string_equal (mimeutf8_part_get_path (mimeutf8_message_get_body (message, "plain")),
			     "1.1");
	assert_string_equal (mimeutf8_part_get_path (mimeutf8_message_get_body (message, "html")),
			     "1.2");
	assert_int_equal (mimeutf8_message_get_attachments (message, &attachments), 2);
	assert_string_equal (mimeutf8_part_get_path (attachments[0]), "2");
	assert_string_equal (mimeutf8_part_get_path (attachments[1]), "3");
	mimeutf8_message_free (message);
}

static void
test_view__embedded (void **state)
{
	MimeUtf8Message *message =
		parse ("From: a@example.pl\n"
		       "Subject: Fwd\n"
		       "Content-Type: multipart/mixed; boundary=o\n"
		       "\n"
		       "--o\n"
		       "Content-Type: text/plain\n"
		       "\n"
		       "see below\n"
		       "--o\n"
		       "Content-Type: message/rfc822\n"
		       "\n"
		       "From: =?iso-8859-2?q?Pawe=B3?= <p@example.pl>\n"
		       "Subject: spotkanie w pi\xb1tek\n"
		       "Content-Type: text/plain; charset=iso-8859-2\n"
		       "\n"
		       "Dzie\xf1 dobry\n"
		       "--o--\n");
	const MimeUtf8Message *inner;
	const MimeUtf8Address *list;
	const MimeUtf8Part *const *attachments;

	(void) state;
	inner = mimeutf8_part_get_message (part_at (message, "2"));
	assert_non_null (inner);
	/* raw 8-bit header bytes are read in the charset of the message's own first text part */
	assert_string_equal (mimeutf8_message_get_subject (inner), "spotkanie w piątek");
	assert_int_equal (mimeutf8_message_get_addresses (inner, "from", &list), 1);
	assert_string_equal (list[0].name, "Paweł");
	assert_int_equal (mimeutf8_message_get_n_parts (inner), 1);
	assert_string_equal (mimeutf8_part_get_text (mimeutf8_message_get_body (inner, "plain"), NULL),
			     "Dzień dobry");
	assert_int_equal (mimeutf8_message_get_status (inner), MIMEUTF8_STATUS_NORMALIZED);
	assert_string_equal (mimeutf8_part_get_path (mimeutf8_message_get_body (message, "plain")),
			     "1");
	assert_int_equal (mimeutf8_message_get_attachments (message, &attachments), 1);
	assert_string_equal (mimeutf8_part_get_path (attachments[0]), "2");
	assert_null (mimeutf8_part_get_message (part_at (message, "1")));
	mimeutf8_message_free (message);
}

/* A message/rfc822 part sent base64 is walked from its decoded bytes, which the walk frees: the
 * view keeps its own copy for the inner parts' bodies. */
static void
test_view__encoded_message_bodies (void **state)
{
	MimeUtf8Message *message = parse ("Subject: outer\n"
					  "Content-Type: multipart/mixed; boundary=o\n"
					  "\n"
					  "--o\n"
					  "Content-Type: message/rfc822\n"
					  "Content-Transfer-Encoding: base64\n"
					  "\n"
					  "RnJvbTogYkBleGFtcGxlLmRlClN1YmplY3Q6IGlubmVyCkNvbnRlbnQtVHlwZTogbXVsdGlwYXJ0\n"
					  "L21peGVkOyBib3VuZGFyeT1pCgotLWkKQ29udGVudC1UeXBlOiB0ZXh0L3BsYWluOyBjaGFyc2V0\n"
					  "PWlzby04ODU5LTEKCkdy/N9lCi0taQpDb250ZW50LVR5cGU6IGFwcGxpY2F0aW9uL29jdGV0LXN0\n"
					  "cmVhbQpDb250ZW50LVRyYW5zZmVyLUVuY29kaW5nOiBiYXNlNjQKCkFBRUNBd1E9Ci0taS0tCg==\n"
					  "--o--\n");
	const MimeUtf8Part *part;
	g_autoptr (GBytes) bytes = NULL;

	(void) state;
	assert_string_equal (mimeutf8_message_get_subject (
				     mimeutf8_part_get_message (part_at (message, "1"))),
			     "inner");
	assert_string_equal (mimeutf8_part_get_text (part_at (message, "1.1"), NULL), "Grüße");
	part = part_at (message, "1.2");
	bytes = mimeutf8_part_get_bytes (part);
	assert_int_equal (mimeutf8_part_get_size (part), 5);
	assert_int_equal (g_bytes_get_size (bytes), 5);
	assert_memory_equal (g_bytes_get_data (bytes, NULL), "\0\1\2\3\4", 5);
	mimeutf8_message_free (message);
}

/* Raw 8-bit bytes in a part's parameters are read as the normalizer reads them when it rewrites
 * them: in the charset of the first text part of their own message. */
static void
test_view__raw_8bit_file_name (void **state)
{
	MimeUtf8Message *message = parse ("Subject: s\n"
					  "Content-Type: multipart/mixed; boundary=o\n"
					  "\n"
					  "--o\n"
					  "Content-Type: text/plain; charset=koi8-r\n"
					  "\n"
					  "\xf0\xd2\xc9\xd7\xc5\xd4\n"
					  "--o\n"
					  "Content-Type: application/octet-stream\n"
					  "Content-Disposition: attachment; filename=\"\xef\xd4\xde\xc5\xd4.txt\"\n"
					  "\n"
					  "x\n"
					  "--o\n"
					  "Content-Type: message/rfc822\n"
					  "\n"
					  "Subject: inner\n"
					  "Content-Type: multipart/mixed; boundary=i\n"
					  "\n"
					  "--i\n"
					  "Content-Type: text/plain; charset=iso-8859-2\n"
					  "\n"
					  "Dzie\xf1 dobry\n"
					  "--i\n"
					  "Content-Type: text/plain; name=\"pi\xb1tek.txt\"\n"
					  "\n"
					  "x\n"
					  "--i--\n"
					  "--o--\n");

	(void) state;
	assert_string_equal (mimeutf8_part_get_filename (part_at (message, "2")), "Отчет.txt");
	assert_string_equal (mimeutf8_part_get_filename (part_at (message, "3.2")), "piątek.txt");
	mimeutf8_message_free (message);
}

/* The view is the normalizer's walk: the same records, part by part, for every fixture. */
static void
test_view__same_walk_as_normalize (void **state)
{
	g_autofree char *dir_path = g_build_filename (FIXTURES_DIR, "messages", NULL);
	g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	const char *name;
	int files = 0;

	(void) state;
	assert_non_null (dir);
	options.convert_signed = TRUE;
	while ((name = g_dir_read_name (dir)) != NULL) {
		g_autofree char *path = g_build_filename (dir_path, name, NULL);
		g_autofree char *data = NULL;
		gsize len;
		g_autoptr (GByteArray) out = g_byte_array_new ();
		g_autoptr (MimeUtf8Report) report = NULL;
		MimeUtf8Message *message;
		const MimeUtf8Report *view_report;
		MimeUtf8Status status;
		size_t i;

		assert_true (g_file_get_contents (path, &data, &len, NULL));
		status = mimeutf8_normalize_buffer (&options, data, len, out, &report, NULL);
		message = mimeutf8_parse (NULL, data, len, NULL);
		assert_non_null (message);
		view_report = mimeutf8_message_get_report (message);
		assert_int_equal (mimeutf8_message_get_status (message), status);
		assert_int_equal (mimeutf8_report_get_n_parts (view_report),
				  mimeutf8_report_get_n_parts (report));
		assert_int_equal (mimeutf8_message_get_n_parts (message),
				  mimeutf8_report_get_n_parts (report));
		for (i = 0; i < mimeutf8_report_get_n_parts (report); i++) {
			const MimeUtf8PartReport *a = mimeutf8_report_get_part (report, i);
			const MimeUtf8PartReport *b =
				mimeutf8_part_get_record (mimeutf8_message_get_part (message, i));

			assert_string_equal (a->path, b->path);
			assert_int_equal (a->action, b->action);
			assert_int_equal (a->rule, b->rule);
			assert_true (g_strcmp0 (a->charset, b->charset) == 0);
			assert_int_equal (a->replacements, b->replacements);
			assert_int_equal (a->bytes_out, b->bytes_out);
			/* a converted or already-UTF-8 text part has its text, as long as written */
			if (b->action == MIMEUTF8_ACTION_CONVERTED ||
			    b->action == MIMEUTF8_ACTION_ALREADY_UTF8) {
				size_t text_len;
				const char *text = mimeutf8_part_get_text (
					mimeutf8_message_get_part (message, i), &text_len);

				assert_non_null (text);
				assert_true (g_utf8_validate (text, (gssize) text_len, NULL));
				if (b->action == MIMEUTF8_ACTION_CONVERTED)
					assert_int_equal (text_len, b->bytes_out);
			}
		}
		mimeutf8_message_free (message);
		files++;
	}
	assert_true (files > 20);
}

static void
test_view__passthrough_still_reads (void **state)
{
	static const char conflicting[] = "Subject: s\n"
					  "Content-Type: multipart/mixed; boundary=m\n"
					  "\n"
					  "--m\n"
					  "Content-Type: text/plain; charset=iso-8859-1\n"
					  "\n"
					  "Caf\xe9\n"
					  "--m\n"
					  "Content-Type: text/plain\n"
					  "Content-Type: image/png\n"
					  "\n"
					  "x\n"
					  "--m\n"
					  "Content-Type: text/plain\n"
					  "\n"
					  "never read\n"
					  "--m--\n";
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	MimeUtf8Message *message = parse (conflicting);

	(void) state;
	assert_int_equal (mimeutf8_message_get_status (message), MIMEUTF8_STATUS_PASSTHROUGH);
	assert_string_equal (mimeutf8_message_get_reason (message),
			     "a part has conflicting Content-Type headers");
	/* what was read before the walk stopped, and the headers */
	assert_string_equal (mimeutf8_message_get_subject (message), "s");
	assert_int_equal (mimeutf8_message_get_n_parts (message), 3);
	assert_string_equal (mimeutf8_part_get_text (part_at (message, "1"), NULL), "Café");
	mimeutf8_message_free (message);

	/* a limit is checked before parsing: nothing is read past it */
	options.max_parts = 3;
	message = mimeutf8_parse (&options, mixed, strlen (mixed), NULL);
	assert_non_null (message);
	assert_int_equal (mimeutf8_message_get_status (message), MIMEUTF8_STATUS_PASSTHROUGH);
	assert_string_equal (mimeutf8_message_get_reason (message), "limit: number of parts");
	assert_int_equal (mimeutf8_message_get_n_parts (message), 0);
	assert_null (mimeutf8_message_get_subject (message));
	mimeutf8_message_free (message);

	/* no message at all: still a view, with nothing in it */
	message = mimeutf8_parse (NULL, "", 0, NULL);
	assert_non_null (message);
	assert_null (mimeutf8_message_get_subject (message));
	mimeutf8_message_free (message);
}

static void
test_view__faults (void **state)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	GError *error = NULL;
	g_autoptr (GCancellable) cancellable = g_cancellable_new ();

	(void) state;
	options.version = 99;
	assert_null (mimeutf8_parse (&options, mixed, strlen (mixed), &error));
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_OPTIONS));
	g_clear_error (&error);
	options.version = MIMEUTF8_OPTIONS_VERSION;
	options.cancellable = cancellable;
	g_cancellable_cancel (cancellable);
	assert_null (mimeutf8_parse (&options, mixed, strlen (mixed), &error));
	assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
	g_clear_error (&error);
	assert_null (mimeutf8_parse_fd (NULL, -1, &error));
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_IO));
	g_clear_error (&error);
	mimeutf8_message_free (NULL);
}

static void
test_view__fd (void **state)
{
	int fds[2];
	MimeUtf8Message *message;

	(void) state;
	assert_int_equal (pipe (fds), 0);
	assert_int_equal (write (fds[1], mixed, strlen (mixed)), (ssize_t) strlen (mixed));
	close (fds[1]);
	message = mimeutf8_parse_fd (NULL, fds[0], NULL);
	close (fds[0]);
	assert_non_null (message);
	assert_string_equal (mimeutf8_part_get_text (part_at (message, "1.1"), NULL), "Café");
	mimeutf8_message_free (message);
}

/* In a multipart/related only the start part counts for the body: the one its start= parameter
 * names by Content-ID (with or without angle brackets), else the first; a text/html part that is
 * not the start is no body. */
static void
test_view__related_start (void **state)
{
	static const char *const starts[] = { " start=\"<root@x>\"", " start=root@x" };
	static const char tail[] =
		"\n\n--r\nContent-Type: text/plain; charset=utf-8\nContent-ID: <other@x>\n\nother\n"
		"--r\nContent-Type: text/html; charset=utf-8\nContent-ID: <root@x>\n\n<p>root</p>\n"
		"--r--\n";
	size_t i;

	(void) state;
	for (i = 0; i < G_N_ELEMENTS (starts); i++) {
		g_autofree char *text = g_strdup_printf (
			"MIME-Version: 1.0\nContent-Type: multipart/related; boundary=r;%s%s",
			starts[i], tail);
		MimeUtf8Message *message = parse (text);

		assert_string_equal (
			mimeutf8_part_get_path (mimeutf8_message_get_body (message, "html")), "2");
		assert_null (mimeutf8_message_get_body (message, "plain"));
		mimeutf8_message_free (message);
	}
	/* no start=, or one no part has: the first part */
	for (i = 0; i < 2; i++) {
		g_autofree char *text = g_strdup_printf (
			"MIME-Version: 1.0\nContent-Type: multipart/related; boundary=r%s%s",
			i == 0 ? "" : "; start=<none@x>", tail);
		MimeUtf8Message *message = parse (text);

		assert_string_equal (
			mimeutf8_part_get_path (mimeutf8_message_get_body (message, "plain")), "1");
		assert_null (mimeutf8_message_get_body (message, "html"));
		mimeutf8_message_free (message);
	}
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_view__headers),
		cmocka_unit_test (test_view__edges),
		cmocka_unit_test (test_view__parts),
		cmocka_unit_test (test_view__embedded),
		cmocka_unit_test (test_view__encoded_message_bodies),
		cmocka_unit_test (test_view__raw_8bit_file_name),
		cmocka_unit_test (test_view__same_walk_as_normalize),
		cmocka_unit_test (test_view__passthrough_still_reads),
		cmocka_unit_test (test_view__faults),
		cmocka_unit_test (test_view__fd),
		cmocka_unit_test (test_view__related_start),
	};

	return cmocka_run_group_tests (tests, NULL, NULL);
}
