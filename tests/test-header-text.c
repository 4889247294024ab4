/* test-header-text.c: what the header modules share, on byte strings: folding output, bytes
 * decoded to UTF-8 with control characters sanitized, delimited runs, the record of changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "header-text.h"
#include "test-skip.h"

static const _MimeUtf8Charset *
charset (const char *label)
{
	const _MimeUtf8Charset *cs = _mimeutf8_charset_lookup (label, strlen (label));

	assert_non_null (cs);
	return cs;
}

/* Tokens after "Subject:" fold before the blank that precedes one that would pass column 78. */
static void
test_header_text__folding (void **state)
{
	Out o;
	GString *out;
	int i;

	_mimeutf8_out_init (&o, "Subject", "\r\n", 0);
	_mimeutf8_out_put (&o, " ", 1);
	for (i = 0; i < 12; i++)
		_mimeutf8_out_token (&o, i == 0 ? "" : " ", i == 0 ? 0 : 1, "abcdefg", 7);
	out = _mimeutf8_out_finish (&o);
	/* "Subject:" is 8 columns, " abcdefg" 8 more each: 8 + 8 * 8 = 72, a ninth would make 80 */
	assert_string_equal (out->str, " abcdefg abcdefg abcdefg abcdefg abcdefg abcdefg abcdefg "
				       "abcdefg\r\n abcdefg abcdefg abcdefg abcdefg");
	g_string_free (out, TRUE);
}

/* Held blanks are written before the next token, and dropped at the end when they hold a fold
 * (no line of blanks only). */
static void
test_header_text__held_blanks (void **state)
{
	Out o;
	GString *out;

	_mimeutf8_out_init (&o, "Subject", "\n", 0);
	_mimeutf8_out_hold (&o, " ", 1);
	_mimeutf8_out_token (&o, "", 0, "a", 1);
	_mimeutf8_out_hold (&o, "\n ", 2);
	out = _mimeutf8_out_finish (&o);
	assert_string_equal (out->str, " a");
	g_string_free (out, TRUE);

	_mimeutf8_out_init (&o, "Subject", "\n", 0);
	_mimeutf8_out_put (&o, " a", 2);
	_mimeutf8_out_hold (&o, "  ", 2);
	out = _mimeutf8_out_finish (&o);
	assert_string_equal (out->str, " a  ");
	g_string_free (out, TRUE);
}

static void
test_header_text__decode_bytes (void **state)
{
	Ctx ctx;
	GString *out = g_string_new (NULL);

	_mimeutf8_ctx_init (&ctx, MIMEUTF8_HEADERS_ENCODED, "Subject", NULL, NULL, NULL, 0);
	/* valid UTF-8 that may stay: copied, no change */
	_mimeutf8_decode_bytes (&ctx, _mimeutf8_cs_utf8, TRUE, (const guint8 *) "caf\xc3\xa9", 5,
				RULE_8BIT_UTF8, out);
	assert_string_equal (out->str, "caf\xc3\xa9");
	assert_false (ctx.rec.changed);
	/* a legacy charset: converted, the rule and charset recorded */
	g_string_truncate (out, 0);
	_mimeutf8_decode_bytes (&ctx, charset ("iso-8859-1"), FALSE, (const guint8 *) "caf\xe9", 4,
				RULE_RFC2047, out);
	assert_string_equal (out->str, "caf\xc3\xa9");
	assert_true (ctx.rec.changed);
	assert_int_equal (ctx.rec.rule, RULE_RFC2047);
	assert_ptr_equal (ctx.rec.charset, charset ("iso-8859-1"));
	/* control characters become blanks, NUL becomes U+FFFD */
	g_string_truncate (out, 0);
	_mimeutf8_decode_bytes (&ctx, charset ("iso-8859-1"), FALSE, (const guint8 *) "a\nb\0c", 5,
				RULE_RFC2047, out);
	assert_int_equal (out->len, 7);
	assert_memory_equal (out->str,
			     "a b\xef\xbf\xbd"
			     "c",
			     7);
	assert_true (ctx.rec.sanitized);
	/* invalid UTF-8 under a UTF-8 label: U+FFFD, counted (the NUL above was counted too) */
	assert_int_equal (ctx.rec.replacements, 1);
	g_string_truncate (out, 0);
	_mimeutf8_decode_bytes (&ctx, _mimeutf8_cs_utf8, TRUE, (const guint8 *) "a\xff", 2,
				RULE_RFC2047, out);
	assert_string_equal (out->str, "a\xef\xbf\xbd");
	assert_int_equal (ctx.rec.replacements, 2);
	_mimeutf8_ctx_clear (&ctx);
	g_string_free (out, TRUE);
}

static void
test_header_text__skip_delimited (void **state)
{
	static const struct {
		const char *p;
		gboolean closed;
		size_t after;
	} cases[] = {
		{ "(a (b) c) x", TRUE, 9 },
		{ "\"a \\\" b\" x", TRUE, 8 },
		{ "[1.2.3.4] x", TRUE, 9 },
		{ "(a (b) c", FALSE, 0 },
		{ "\"a", FALSE, 0 },
		{ "\"(\" x", TRUE, 3 }, /* a parenthesis in quotes does not nest */
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		size_t at = 0;

		assert_int_equal (_mimeutf8_skip_delimited ((const guint8 *) cases[i].p,
							    strlen (cases[i].p), &at),
				  cases[i].closed);
		if (cases[i].closed)
			assert_int_equal (at, cases[i].after);
	}
}

/* An element that turned out to need no change restores what decoding met before it. */
static void
test_header_text__record (void **state)
{
	Ctx ctx;
	Record saved;
	GString *out = g_string_new (NULL);

	_mimeutf8_ctx_init (&ctx, MIMEUTF8_HEADERS_ENCODED, "To", NULL, NULL, NULL, 0);
	_mimeutf8_record_save (&ctx, &saved);
	_mimeutf8_decode_bytes (&ctx, charset ("koi8-r"), FALSE, (const guint8 *) "\xf0", 1,
				RULE_RFC2047, out);
	assert_true (ctx.rec.changed);
	assert_true (_mimeutf8_record_merge (&ctx, &saved));
	assert_true (ctx.rec.changed);
	_mimeutf8_record_save (&ctx, &saved);
	assert_false (_mimeutf8_record_merge (&ctx, &saved));
	_mimeutf8_ctx_clear (&ctx);
	g_string_free (out, TRUE);
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_header_text__folding),
		cmocka_unit_test (test_header_text__held_blanks),
		cmocka_unit_test (test_header_text__decode_bytes),
		cmocka_unit_test (test_header_text__skip_delimited),
		cmocka_unit_test (test_header_text__record),
	};

	mimeutf8_init ();
	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
