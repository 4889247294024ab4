/* test-in-place.c: mimeutf8_normalize_message, which rewrites a parsed GMimeMessage in place. */
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
		g_mime_part_get_content (GMIME_PART (g_mime_message_get_mime_part (message))),
		sink);
	g_object_unref (sink);
	return message;
}

static void
test_in_place__in_place (void **state)
{
	g_autoptr (GByteArray) content = g_byte_array_new ();
	g_autoptr (GMimeMessage) message =
		normalize_fixture_in_place ("rfc2231-params.eml", content);
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
test_in_place__in_place_base64_footer (void **state)
{
	g_autoptr (GByteArray) content = g_byte_array_new ();
	g_autoptr (GMimeMessage) message =
		normalize_fixture_in_place ("base64-footer.eml", content);

	g_byte_array_append (content, (const guint8 *) "", 1);
	assert_non_null (
		strstr ((const char *) content->data, "Le caf\xc3\xa9 co\xc3\xbbte 2\xe2\x82\xac"));
	assert_non_null (strstr ((const char *) content->data,
				 "ligne.\n_______________________________________________\n"
				 "SLAT mailing list\n"));
}

/* The in-place call on what broke it: charset as the last Content-Type parameter (its newline
 * was lost, so that the next header ran into it), and a message whose only change is a header
 * (it said unchanged, with 0 bytes). */
static void
test_in_place__in_place_header_block (void **state)
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

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_in_place__in_place),
		cmocka_unit_test (test_in_place__in_place_base64_footer),
		cmocka_unit_test (test_in_place__in_place_header_block),
	};

	mimeutf8_init ();
	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
