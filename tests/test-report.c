/* test-report.c: the report's records and its JSON Lines form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "mimeutf8-private.h"

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

static void
test_report__names (void **state)
{
	assert_string_equal (mimeutf8_status_name (MIMEUTF8_STATUS_PASSTHROUGH), "passthrough");
	assert_string_equal (mimeutf8_action_name (MIMEUTF8_ACTION_ALREADY_UTF8), "already-utf8");
	assert_string_equal (mimeutf8_action_name (MIMEUTF8_ACTION_LEFT_ALONE), "left-alone");
	assert_string_equal (mimeutf8_rule_name (MIMEUTF8_RULE_DETECTED), "detected");
	assert_string_equal (mimeutf8_rule_name ((MimeUtf8Rule) 99), "unknown");
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_report__records),
		cmocka_unit_test (test_report__json),
		cmocka_unit_test (test_report__names),
	};

	return cmocka_run_group_tests (tests, NULL, NULL);
}
