/* test-normalize.c: the MIME walk end to end: fixture pairs, idempotence, the report, odd input.
 * The ways in and out are in test-entry.c, the in-place API in test-in-place.c. */
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

/* An encrypted multipart is sealed like a signed one: its parts and their headers stay byte for
 * byte while the message's own Subject is converted; --convert-signed opens it.  An S/MIME
 * application/pkcs7-mime message is sealed too, its header block included. */
static void
test_normalize__sealed_parts (void **state)
{
	static const char sealed[] =
		"--e\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n--e\n"
		"Content-Type: text/plain; charset=latin1\n"
		"Content-Description: =?iso-8859-1?q?caf=E9?=\n\ncaf\xe9\n--e--\n";
	static const char pkcs7[] =
		"MIME-Version: 1.0\nSubject: s\nContent-Type: application/pkcs7-mime; "
		"smime-type=enveloped-data; name=smime.p7m\n"
		"Content-Description: =?iso-8859-1?q?caf=E9?=\nContent-Transfer-Encoding: "
		"base64\n\n"
		"AAAA\n";
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	g_autoptr (GString) in =
		g_string_new ("MIME-Version: 1.0\nSubject: =?iso-8859-1?q?caf=E9?=\nContent-Type: "
			      "multipart/encrypted; "
			      "protocol=\"application/pgp-encrypted\"; boundary=e\n\n");
	g_autoptr (GByteArray) out = g_byte_array_new ();
	g_autoptr (MimeUtf8Report) report = NULL;

	g_string_append (in, sealed);
	assert_int_equal (mimeutf8_normalize_buffer (NULL, in->str, in->len, out, &report, NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	assert_int_equal (find_part (report, "2")->action, MIMEUTF8_ACTION_LEFT_ALONE);
	assert_string_equal (find_part (report, "2")->reason, "signed");
	assert_true (out->len > strlen (sealed));
	assert_memory_equal (out->data + out->len - strlen (sealed), sealed, strlen (sealed));
	assert_non_null (g_strstr_len ((const char *) out->data, out->len,
				       "Subject: =?UTF-8?B?Y2Fmw6k=?=\n"));
	g_clear_pointer (&report, mimeutf8_report_free);

	g_byte_array_set_size (out, 0);
	options.convert_signed = TRUE;
	assert_int_equal (
		mimeutf8_normalize_buffer (&options, in->str, in->len, out, &report, NULL),
		MIMEUTF8_STATUS_NORMALIZED);
	assert_int_equal (find_part (report, "2")->action, MIMEUTF8_ACTION_CONVERTED);
	assert_non_null (g_strstr_len ((const char *) out->data, out->len,
				       "Content-Description: =?UTF-8?B?Y2Fmw6k=?=\n"));
	g_clear_pointer (&report, mimeutf8_report_free);

	g_byte_array_set_size (out, 0);
	assert_int_equal (
		mimeutf8_normalize_buffer (NULL, pkcs7, strlen (pkcs7), out, &report, NULL),
		MIMEUTF8_STATUS_UNCHANGED);
	assert_int_equal (out->len, strlen (pkcs7));
	assert_memory_equal (out->data, pkcs7, out->len);
	g_clear_pointer (&report, mimeutf8_report_free);
	/* opened, its Content-Description is decoded like any other */
	g_byte_array_set_size (out, 0);
	assert_int_equal (
		mimeutf8_normalize_buffer (&options, pkcs7, strlen (pkcs7), out, &report, NULL),
		MIMEUTF8_STATUS_NORMALIZED);
	assert_non_null (g_strstr_len ((const char *) out->data, out->len,
				       "Content-Description: =?UTF-8?B?Y2Fmw6k=?=\n"));
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

/* Where new header lines go and when a part's header block is too odd to edit: the exact output
 * and the part's action. */
static void
test_normalize__header_blocks (void **state)
{
	static const struct {
		const char *what, *in, *out;
		gboolean seven_bit;
		MimeUtf8Status status;
	} cases[] = {
		{ "a part without header in CR LF: its fields go before the blank line",
		  "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
		  "boundary=b\r\n\r\n--b\r\n\r\n"
		  "caf\xe9\r\n--b--\r\n",
		  "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		  "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
		  "8bit\r\n\r\n"
		  "caf\xc3\xa9\r\n--b--\r\n",
		  FALSE, MIMEUTF8_STATUS_NORMALIZED },
		{ "MIME-Version without Content-Type: only the part's fields are added",
		  "MIME-Version: 1.0\nFrom: a@example.com\n\ncaf\xe9\n",
		  "MIME-Version: 1.0\nFrom: a@example.com\nContent-Type: text/plain; "
		  "charset=utf-8\n"
		  "Content-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9\n",
		  FALSE, MIMEUTF8_STATUS_NORMALIZED },
		{ "an attached message without MIME-Version gets one with its Content-Type",
		  "MIME-Version: 1.0\nContent-Type: message/rfc822\n\nFrom: b@example.com\n"
		  "Subject: inner\n\ncaf\xe9\n",
		  "MIME-Version: 1.0\nContent-Type: message/rfc822\n\nFrom: b@example.com\n"
		  "Subject: inner\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
		  "Content-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9\n",
		  FALSE, MIMEUTF8_STATUS_NORMALIZED },
		{ "an mbox From_ line on top is kept, the fields under it edited",
		  "From x@example.com Mon Jan  1 00:00:00 2024\nSubject: s\n"
		  "Content-Type: text/plain; charset=latin1\n\ncaf\xe9\n",
		  "From x@example.com Mon Jan  1 00:00:00 2024\nSubject: s\n"
		  "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
		  "caf\xc3\xa9\n",
		  FALSE, MIMEUTF8_STATUS_NORMALIZED },
		{ "a \"From :\" line on top stays as it is (the mbox From_ line to other readers)",
		  "From :caf\xe9\nContent-Type: text/plain; charset=latin1\n\ncaf\xe9\n",
		  "From :caf\xe9\nContent-Type: text/plain; charset=utf-8\n"
		  "Content-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9\n",
		  FALSE, MIMEUTF8_STATUS_NORMALIZED },
		{ "an encoding without a blank after the colon gets one",
		  "MIME-Version: 1.0\nContent-Type: text/plain; charset=latin1\n"
		  "Content-Transfer-Encoding:8bit\n\ncaf\xe9 cr\xe8me\n",
		  "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
		  "Content-Transfer-Encoding: base64\n\nY2Fmw6kgY3LDqG1lCg==\n",
		  TRUE, MIMEUTF8_STATUS_NORMALIZED },
		{ "base64 of a body without a final line break has none either",
		  "MIME-Version: 1.0\nContent-Type: text/plain; charset=latin1\n\n\xe9\xe9\xe9\xe9",
		  "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
		  "Content-Transfer-Encoding: base64\n\nw6nDqcOpw6k=",
		  TRUE, MIMEUTF8_STATUS_NORMALIZED },
		{ "the blank before an encoding value is kept, a tab too",
		  "MIME-Version: 1.0\nContent-Type: text/plain; charset=latin1\n"
		  "Content-Transfer-Encoding:\t8bit\n\ncaf\xe9 cr\xe8me\n",
		  "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
		  "Content-Transfer-Encoding:\tbase64\n\nY2Fmw6kgY3LDqG1lCg==\n",
		  TRUE, MIMEUTF8_STATUS_NORMALIZED },
		{ "a last boundary line without \"--\" nor line break ends the part all the same",
		  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		  "Content-Type: text/plain; charset=latin1\n\ncaf\xe9\n--b",
		  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		  "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
		  "caf\xc3\xa9\n--b",
		  FALSE, MIMEUTF8_STATUS_NORMALIZED },
		{ "an 8-bit preamble stays as it is, the headerless part after it gets its fields",
		  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\npreamble\n\n"
		  "caf\xe9\n--b\n\ncaf\xe9\n--b--\n",
		  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\npreamble\n\n"
		  "caf\xe9\n--b\nContent-Type: text/plain; charset=utf-8\n"
		  "Content-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9\n--b--\n",
		  FALSE, MIMEUTF8_STATUS_NORMALIZED },
		{ "made 7-bit, a UTF-8 part changes only its encoding",
		  "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
		  "Content-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9 cr\xc3\xa8me\n",
		  "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
		  "Content-Transfer-Encoding: base64\n\nY2Fmw6kgY3LDqG1lCg==\n",
		  TRUE, MIMEUTF8_STATUS_NORMALIZED },
		/* other readers end the block or take the part's first line for the body: left
		 * alone */
		{ "an ASCII part, which needs nothing, behind a garbage line",
		  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		  "garbage line\nContent-Type: text/plain; charset=us-ascii\n\nplain\n--b--\n",
		  NULL, FALSE, MIMEUTF8_STATUS_UNCHANGED },
		{ "a field whose name starts with an 8-bit byte",
		  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		  "Content-Type: text/plain; charset=latin1\n\xe9t\xe9: v\n\ncaf\xe9\n--b--\n",
		  NULL, FALSE, MIMEUTF8_STATUS_UNCHANGED },
		{ "a message without any header: no place for the new fields", "\ncaf\xe9\n", NULL,
		  FALSE, MIMEUTF8_STATUS_UNCHANGED },
		{ "a part whose first field line starts with a blank",
		  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		  " Content-Type: text/plain; charset=latin1\n\ncaf\xe9\n--b--\n",
		  NULL, FALSE, MIMEUTF8_STATUS_UNCHANGED },
		{ "a part whose fields come after a garbage line",
		  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		  "garbage line\nContent-Type: text/plain; charset=latin1\n\ncaf\xe9\n--b--\n",
		  NULL, FALSE, MIMEUTF8_STATUS_UNCHANGED },
		{ "a message whose fields come after a first line that is no field",
		  /* GMime skips the ">From" line; Python's email takes it for the body */
		  ">From x\nContent-Type: text/plain; charset=latin1\n\ncaf\xe9\n",
		  NULL, FALSE, MIMEUTF8_STATUS_UNCHANGED },
		{ "a part without fields whose only line before the blank starts with one dash",
		  /* GMime skips the line; Python's email takes it for the first line of the body */
		  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		  "-garbage\n\ncaf\xe9\n--b--\n",
		  NULL, FALSE, MIMEUTF8_STATUS_UNCHANGED },
		{ "a fold under an mbox From_ line GMime reads as a field \"From :\"",
		  /* GMime joins the fold to that field; Python's email drops it, a strict reader
		   * starts the body there (found by fuzz-normalize) */
		  "From :c ;harset=iso-8859-1;\n name*=iso-8859-1''r%E4sum%E9.txt\n"
		  "Content-Transfer-Encoding: 8bit\n\nR\xe9sum\xe9\n",
		  NULL, FALSE, MIMEUTF8_STATUS_UNCHANGED },
		{ "a bare CR in a fold of a field that would be rewritten",
		  /* the field itself stays: rewritten, "X-Y: z", a field of its own to readers
		   * that end a line at a bare CR, became part of Received (found by
		   * fuzz-normalize) */
		  "From: a@example.com\nReceived: from a\n by b caf\xe9\rX-Y: z\n"
		  "Content-Type: text/plain; charset=latin1\n\ncaf\xe9\n",
		  NULL, FALSE, MIMEUTF8_STATUS_UNCHANGED },
		{ "a part with a bare CR in a field",
		  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		  "Content-Type: text/plain; charset=latin1\nX-A: a\rb\n\ncaf\xe9\n--b--\n",
		  NULL, FALSE, MIMEUTF8_STATUS_UNCHANGED },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
		g_autoptr (GByteArray) out = g_byte_array_new ();
		g_autoptr (MimeUtf8Report) report = NULL;
		const char *want = cases[i].out ? cases[i].out : cases[i].in;
		size_t n, k, texts = 0;

		print_message ("case: %s\n", cases[i].what);
		options.force_7bit = cases[i].seven_bit;
		assert_int_equal (mimeutf8_normalize_buffer (&options, cases[i].in,
							     strlen (cases[i].in), out, &report,
							     NULL),
				  cases[i].status);
		assert_int_equal (out->len, strlen (want));
		assert_memory_equal (out->data, want, out->len);
		if (cases[i].out != NULL)
			continue;
		/* the text part is left alone, and says why */
		n = mimeutf8_report_get_n_parts (report);
		for (k = 0; k < n; k++) {
			const MimeUtf8PartReport *part = mimeutf8_report_get_part (report, k);

			if (g_str_has_prefix (part->content_type, "text/")) {
				assert_int_equal (part->action, MIMEUTF8_ACTION_LEFT_ALONE);
				assert_string_equal (part->reason, "malformed header block");
				texts++;
			}
		}
		assert_int_equal (texts, 1);
	}
}

/* `message` (`len` bytes) under `options`: PASSTHROUGH for `reason`, with the input as output,
 * or (reason NULL) NORMALIZED. */
static void
assert_limit (const MimeUtf8Options *options, const char *message, size_t len, const char *reason)
{
	g_autoptr (GByteArray) out = g_byte_array_new ();
	g_autoptr (MimeUtf8Report) report = NULL;
	GError *error = NULL;
	MimeUtf8Status status;

	status = mimeutf8_normalize_buffer (options, message, len, out, &report, &error);
	if (reason == NULL) {
		assert_int_equal (status, MIMEUTF8_STATUS_NORMALIZED);
		assert_null (error);
		return;
	}
	assert_int_equal (status, MIMEUTF8_STATUS_PASSTHROUGH);
	assert_string_equal (mimeutf8_report_get_reason (report), reason);
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_LIMIT));
	assert_int_equal (out->len, len);
	assert_memory_equal (out->data, message, len);
	assert_int_equal (mimeutf8_report_get_bytes_out (report), len);
	g_clear_error (&error);
}

/* The limits met inside attached messages and during the walk leave the whole message as it came,
 * with the limit as its reason; one more than the message needs converts it. */
static void
test_normalize__limits_in_the_walk (void **state)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	g_autoptr (GString) nested =
		g_string_new ("Content-Type: text/plain; charset=iso-8859-1\n\n"
			      "caf\xe9\n");
	g_autoptr (GString) parts = g_string_new (
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		"Content-Type: message/rfc822\n\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=c\n\n");
	g_autoptr (GString) many =
		g_string_new ("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n");
	int i;

	/* five message/rfc822 levels around a text part */
	for (i = 0; i < 5; i++)
		g_string_prepend (nested, "MIME-Version: 1.0\nContent-Type: message/rfc822\n\n");
	options.max_depth = 4;
	assert_limit (&options, nested->str, nested->len, "limit: nesting depth");
	options.max_depth = 5;
	assert_limit (&options, nested->str, nested->len, NULL);

	/* 8 parts: the outer multipart, the message/rfc822, its multipart and its 5 text parts */
	for (i = 0; i < 5; i++)
		g_string_append (parts,
				 "--c\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n");
	g_string_append (parts, "--c--\n\n--b--\n");
	options = (MimeUtf8Options) MIMEUTF8_OPTIONS_INIT;
	options.max_parts = 7;
	assert_limit (&options, parts->str, parts->len, "limit: number of parts");
	options.max_parts = 8;
	assert_limit (&options, parts->str, parts->len, NULL);

	/* a message that takes far longer than 1 ms to convert */
	for (i = 0; i < 3000; i++)
		g_string_append (many,
				 "--b\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n");
	g_string_append (many, "--b--\n");
	options = (MimeUtf8Options) MIMEUTF8_OPTIONS_INIT;
	options.timeout_ms = 1;
	assert_limit (&options, many->str, many->len, "limit: time");
}

/* `message` passes through whole for `reason`: status PASSTHROUGH, the input as output. */
static void
assert_passed_through (const char *message, const char *reason)
{
	g_autoptr (GByteArray) out = g_byte_array_new ();
	g_autoptr (MimeUtf8Report) report = NULL;
	size_t len = strlen (message);

	assert_int_equal (mimeutf8_normalize_buffer (NULL, message, len, out, &report, NULL),
			  MIMEUTF8_STATUS_PASSTHROUGH);
	assert_string_equal (mimeutf8_report_get_reason (report), reason);
	assert_int_equal (out->len, len);
	assert_memory_equal (out->data, message, len);
}

/* The same Content-Type twice: a reader that refuses a second one reads the part as text/plain
 * (a multipart as one text), so the message is passed through, as with two different values. */
static void
test_normalize__repeated_content_type (void **state)
{
	static const char *const messages[] = {
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n"
		"Content-Type: multipart/mixed; boundary=b\n\n--b\n"
		"Content-Type: text/plain; charset=latin1\n\ncaf\xe9\n--b--\n",
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		"Content-Type: text/plain; charset=latin1\nContent-Type: text/plain; charset=latin1\n"
		"\ncaf\xe9\n--b--\n",
		"Content-Type: text/plain; charset=utf-8\nContent-Type: text/plain; charset=utf-8\n\n"
		"caf\xc3\xa9\n",
	};
	size_t i;

	(void) state;
	for (i = 0; i < G_N_ELEMENTS (messages); i++)
		assert_passed_through (messages[i], "a part has its Content-Type header twice");
}

/* A multipart whose header block other readers end early passes the message through, wherever
 * the multipart is: the message's own, or the body of an attached message. */
static void
test_normalize__multipart_blocks_read_apart (void **state)
{
	static const char *const messages[] = {
		/* a fold under "From :" on top: GMime joins it to that field, Python's email drops
		 * it, a strict reader takes the rest for a text/plain body */
		"From :x\n y\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		"Content-Type: text/plain; charset=latin1\n\ncaf\xe9\n--b--\n",
		/* an attached message whose block has a bare CR before its Content-Type (found by
		 * fuzz-normalize: a strict reader ends that block there) */
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=a\n\n--a\n"
		"Content-Type: message/rfc822\n\nTo: x@example.com\n\rSubject: s\n"
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		"Content-Type: text/plain; charset=latin1\n\ncaf\xe9\n--b--\n\n--a--\n",
		/* an attached message under an mbox From_ line, which GMime and Python's email
		 * skip and a strict reader takes for the start of a text/plain body (one
		 * corpus/real message, from the mail gem, now passes through so) */
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=a\n\n--a\n"
		"Content-Type: message/rfc822\n\nFrom x@example.com Mon Jan  1 00:00:00 2024\n"
		"To: x@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n"
		"\n--b\nContent-Type: text/plain; charset=latin1\n\ncaf\xe9\n--b--\n\n--a--\n",
	};
	size_t i;

	(void) state;
	for (i = 0; i < G_N_ELEMENTS (messages); i++) {
		print_message ("case %zu\n", i + 1);
		assert_passed_through (messages[i], "malformed header block: a multipart whose "
						    "header block other readers end early");
	}
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_normalize__fixtures),
		cmocka_unit_test (test_normalize__report),
		cmocka_unit_test (test_normalize__signed_left_alone),
		cmocka_unit_test (test_normalize__sealed_parts),
		cmocka_unit_test (test_normalize__odd_input),
		cmocka_unit_test (test_normalize__header_blocks),
		cmocka_unit_test (test_normalize__repeated_content_type),
		cmocka_unit_test (test_normalize__multipart_blocks_read_apart),
		cmocka_unit_test (test_normalize__limits_in_the_walk),
	};

	mimeutf8_init ();
	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
