/* test-report.c: the report's records and its JSON Lines form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "mimeutf8-private.h"
#include "test-criticals.h"

static void
test_report__records (void **state)
{
	g_autoptr (MimeUtf8Report) report = _mimeutf8_report_new ();
	MimeUtf8PartReport *part;
	char path[] = "1.2";

	part = _mimeutf8_report_add_part (report, path, "text/plain", "latin1");
	part->action = MIMEUTF8_ACTION_CONVERTED;
	path[0] = '9'; /* the report keeps its own copy */
	assert_int_equal (mimeutf8_report_get_n_parts (report), 1);
	assert_string_equal (mimeutf8_report_get_part (report, 0)->path, "1.2");
	assert_int_equal (mimeutf8_report_get_part (report, 0)->first_replacement, -1);
	assert_int_equal (mimeutf8_report_get_status (report), MIMEUTF8_STATUS_UNCHANGED);
	_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_PASSTHROUGH, "why");
	assert_string_equal (mimeutf8_report_get_reason (report), "why");
}

static void
test_report__json (void **state)
{
	g_autoptr (MimeUtf8Report) report = _mimeutf8_report_new ();
	MimeUtf8PartReport *part;
	g_autofree char *json = NULL;

	_mimeutf8_report_set_status (report, MIMEUTF8_STATUS_NORMALIZED, NULL);
	_mimeutf8_report_set_bytes (report, 100, 120);
	_mimeutf8_report_add_part (report, "0", "multipart/mixed", NULL);
	/* a label straight from a message: quotes, a control byte, bytes that are not UTF-8 */
	part = _mimeutf8_report_add_part (report, "1", "text/plain", "x\"y\x01\xff");
	part->charset = "windows-1252";
	part->action = MIMEUTF8_ACTION_CONVERTED;
	part->rule = MIMEUTF8_RULE_FALLBACK;
	part->bytes_in = 10;
	part->bytes_out = 12;
	part->replacements = 1;
	part->first_replacement = 4;
	_mimeutf8_report_add_header (report, "", "Subject", "rfc2047", "koi8-r")->sanitized = TRUE;
	json = mimeutf8_report_to_json (report, "a\\b.eml");
	assert_string_equal (
		json,
		"{\"name\":\"a\\\\b.eml\",\"status\":\"normalized\",\"reason\":null,\"bytes_in\":"
		"100,"
		"\"bytes_out\":120,\"dkim_invalidated\":false,\"parts\":["
		"{\"path\":\"0\",\"type\":\"multipart/mixed\",\"declared\":null,\"charset\":null,"
		"\"action\":\"converted\",\"reason\":null,\"rule\":\"none\",\"detected\":null,"
		"\"encoding_in\":null,\"encoding_out\":null,\"bytes_in\":0,\"bytes_out\":0,"
		"\"replacements\":0,\"first_replacement\":-1},"
		"{\"path\":\"1\",\"type\":\"text/plain\",\"declared\":\"x\\\"y\\u0001\\ufffd\","
		"\"charset\":\"windows-1252\",\"action\":\"converted\",\"reason\":null,"
		"\"rule\":\"fallback\",\"detected\":null,\"encoding_in\":null,\"encoding_out\":"
		"null,"
		"\"bytes_in\":10,\"bytes_out\":12,\"replacements\":1,\"first_replacement\":4}],"
		"\"headers\":[{\"path\":\"\",\"name\":\"Subject\",\"rule\":\"rfc2047\","
		"\"charset\":\"koi8-r\",\"replacements\":0,\"sanitized\":true}]}");
}

/* Every byte of a label reaches the JSON as valid UTF-8: characters of 2, 3 and 4 bytes stay as
 * they are, a sequence cut short (at the end, or by an ASCII byte) and a stray continuation byte
 * each become U+FFFD, and the ASCII after them is kept. */
static void
test_report__json_utf8 (void **state)
{
	g_autoptr (MimeUtf8Report) report = _mimeutf8_report_new ();
	g_autofree char *json = NULL;

	_mimeutf8_report_set_status (
		report, MIMEUTF8_STATUS_PASSTHROUGH,
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80|\xe2\x28\xa1|\x80|\x1f\t|\xc3");
	json = mimeutf8_report_to_json (report, NULL);
	assert_non_null (strstr (json, "\"reason\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80|"
				       "\\ufffd(\\ufffd|\\ufffd|\\u001f\\u0009|\\ufffd\","));
	assert_true (g_str_has_prefix (json, "{\"name\":null,\"status\":\"passthrough\","));
	assert_true (g_utf8_validate (json, -1, NULL));
}

/* Undoing a message's conversions from a given part on: its converted parts are left alone with
 * the reason and their bytes as they came, the others and earlier parts keep their records, and
 * its header records go. */
static void
test_report__undo (void **state)
{
	g_autoptr (MimeUtf8Report) report = _mimeutf8_report_new ();
	MimeUtf8PartReport *part;

	part = _mimeutf8_report_add_part (report, "1", "text/plain", "latin1");
	part->action = MIMEUTF8_ACTION_CONVERTED;
	part = _mimeutf8_report_add_part (report, "2", "text/plain", "latin1");
	part->action = MIMEUTF8_ACTION_CONVERTED;
	part->encoding_in = "8bit";
	part->encoding_out = "quoted-printable";
	part->bytes_in = 10;
	part->bytes_out = 14;
	part = _mimeutf8_report_add_part (report, "3", "text/plain", "utf-8");
	part->action = MIMEUTF8_ACTION_ALREADY_UTF8;
	_mimeutf8_report_add_header (report, "", "Subject", "rfc2047", "koi8-r");
	_mimeutf8_report_add_header (report, "2", "Subject", "rfc2047", "koi8-r");
	_mimeutf8_report_undo (report, 1, 1, "undone");
	assert_int_equal (mimeutf8_report_get_part (report, 0)->action, MIMEUTF8_ACTION_CONVERTED);
	part = (MimeUtf8PartReport *) mimeutf8_report_get_part (report, 1);
	assert_int_equal (part->action, MIMEUTF8_ACTION_LEFT_ALONE);
	assert_string_equal (part->reason, "undone");
	assert_string_equal (part->encoding_out, "8bit");
	assert_int_equal (part->bytes_out, 10);
	assert_int_equal (mimeutf8_report_get_part (report, 2)->action,
			  MIMEUTF8_ACTION_ALREADY_UTF8);
	assert_null (mimeutf8_report_get_part (report, 2)->reason);
	assert_int_equal (mimeutf8_report_get_n_headers (report), 1);
	assert_string_equal (mimeutf8_report_get_header (report, 0)->path, "");
	mimeutf8_report_free (NULL);
}

static void
test_report__names (void **state)
{
	assert_string_equal (mimeutf8_status_name (MIMEUTF8_STATUS_PASSTHROUGH), "passthrough");
	assert_string_equal (mimeutf8_action_name (MIMEUTF8_ACTION_ALREADY_UTF8), "already-utf8");
	assert_string_equal (mimeutf8_action_name (MIMEUTF8_ACTION_LEFT_ALONE), "left-alone");
	assert_string_equal (mimeutf8_rule_name (MIMEUTF8_RULE_DETECTED), "detected");
	assert_string_equal (mimeutf8_rule_name ((MimeUtf8Rule) 99), "unknown");
	assert_string_equal (mimeutf8_status_name ((MimeUtf8Status) 99), "unknown");
	assert_string_equal (mimeutf8_action_name ((MimeUtf8Action) -1), "unknown");
}

/* An index past the records is a programming error: NULL, and GLib logs a critical. */
static void
test_report__index_past_the_end (void **state)
{
	g_autoptr (MimeUtf8Report) report = _mimeutf8_report_new ();
	GLogFunc old;

	_mimeutf8_report_add_part (report, "1", "text/plain", NULL);
	_mimeutf8_report_add_header (report, "", "Subject", "normalized", NULL);
	old = g_log_set_default_handler (count_criticals, NULL);
	criticals = 0;
	assert_non_null (mimeutf8_report_get_part (report, 0));
	assert_null (mimeutf8_report_get_part (report, 1));
	assert_non_null (mimeutf8_report_get_header (report, 0));
	assert_null (mimeutf8_report_get_header (report, 1));
	g_log_set_default_handler (old, NULL);
	assert_int_equal (criticals, 2);
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_report__records),
		cmocka_unit_test (test_report__json),
		cmocka_unit_test (test_report__names),
		cmocka_unit_test (test_report__index_past_the_end),
		cmocka_unit_test (test_report__json_utf8),
		cmocka_unit_test (test_report__undo),
	};

	return cmocka_run_group_tests (tests, NULL, NULL);
}
