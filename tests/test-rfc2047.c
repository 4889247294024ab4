/* test-rfc2047.c: RFC 2047 encoded-words on byte strings: counting them, decoding text with them
 * (adjacent words joined, a character cut across two words whole, what is not a word literal),
 * and writing text back as words where it must be. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "header-text.h"
#include "test-skip.h"

static void
test_rfc2047__count_words (void **state)
{
	static const struct {
		const char *p;
		size_t max, count;
	} cases[] = {
		{ "=?utf-8?q?a?= =?iso-8859-1?b?Y2Fm6Q==?=", 10, 2 },
		{ "=?utf-8?q?a?= =?utf-8?q?b?= =?utf-8?q?c?=", 1, 2 }, /* stops past the limit */
		{ "plain text", 10, 0 },
		{ "=?utf-8?q?open", 10, 0 },
		{ "=?utf-8?x?a?=", 10, 0 }, /* no such encoding */
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++)
		assert_int_equal (_mimeutf8_count_words ((const guint8 *) cases[i].p,
							 strlen (cases[i].p), cases[i].max),
				  cases[i].count);
}

static void
test_rfc2047__label_is_normal (void **state)
{
	assert_true (_mimeutf8_label_is_normal ((const guint8 *) "UTF-8", 5));
	assert_true (_mimeutf8_label_is_normal ((const guint8 *) "us-ascii", 8));
	assert_false (_mimeutf8_label_is_normal ((const guint8 *) "utf8", 4));
	assert_false (_mimeutf8_label_is_normal ((const guint8 *) "iso-8859-1", 10));
}

static void
test_rfc2047__decode_text (void **state)
{
	static const struct {
		const char *in;
		TextKind kind;
		const char *text;
		gboolean changed;
	} cases[] = {
		{ "=?iso-8859-1?q?caf=E9?= au =?utf-8?b?bGFpdA==?=", TEXT_RAW,
		  "caf\xc3\xa9 au lait", TRUE },
		/* blanks between two words go; Q's underscore is a space */
		{ "=?iso-8859-1?q?a_b?= =?iso-8859-1?q?c?=", TEXT_RAW, "a bc", TRUE },
		/* a character cut across two words of one charset comes out whole */
		{ "=?utf-8?q?=C3?= =?utf-8?q?=A9?=", TEXT_RAW, "\xc3\xa9", FALSE },
		/* an unknown charset's word, and a malformed one, are text */
		{ "=?x-no-such?q?a?= b", TEXT_RAW, "=?x-no-such?q?a?= b", FALSE },
		{ "=?utf-8?q?a b?=", TEXT_RAW, "=?utf-8?q?a b?=", FALSE },
		/* folding is removed */
		{ "a\r\n b", TEXT_RAW, "a b", FALSE },
		/* a phrase loses its quotes and escapes, a word inside them is still a word */
		{ "\"J\\\"o\" =?koi8-r?b?8A==?=", TEXT_PHRASE, "J\"o \xd0\x9f", TRUE },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		Ctx ctx;

		_mimeutf8_ctx_init (&ctx, MIMEUTF8_HEADERS_ENCODED, "Subject", NULL, NULL, NULL,
				    strlen (cases[i].in));
		_mimeutf8_decode_text (&ctx, (const guint8 *) cases[i].in, strlen (cases[i].in),
				       cases[i].kind);
		assert_string_equal (ctx.text->str, cases[i].text);
		assert_int_equal (ctx.rec.changed, cases[i].changed);
		_mimeutf8_ctx_clear (&ctx);
	}
}

/* Raw 8-bit text decodes as UTF-8 when it is that, else in the message's charset, else in the
 * fallback. */
static void
test_rfc2047__decide_raw (void **state)
{
	const _MimeUtf8Charset *koi8 = _mimeutf8_charset_lookup ("koi8-r", 6);
	const _MimeUtf8Charset *latin1 = _mimeutf8_charset_lookup ("iso-8859-1", 10);
	Ctx ctx;

	_mimeutf8_ctx_init (&ctx, MIMEUTF8_HEADERS_ENCODED, "Subject", NULL, koi8, latin1, 0);
	_mimeutf8_decide_raw (&ctx, (const guint8 *) "caf\xc3\xa9", 5);
	assert_ptr_equal (ctx.raw_charset, _mimeutf8_cs_utf8);
	assert_int_equal (ctx.raw_rule, RULE_8BIT_UTF8);
	_mimeutf8_decide_raw (&ctx, (const guint8 *) "\xf0\xf2", 2);
	assert_ptr_equal (ctx.raw_charset, koi8);
	assert_int_equal (ctx.raw_rule, RULE_8BIT_MESSAGE);
	ctx.eight_bit = NULL;
	_mimeutf8_decide_raw (&ctx, (const guint8 *) "\xf0\xf2", 2);
	assert_ptr_equal (ctx.raw_charset, latin1);
	assert_int_equal (ctx.raw_rule, RULE_8BIT_FALLBACK);
	_mimeutf8_ctx_clear (&ctx);
}

/* Decoded text written back: plain words stay plain, the others become UTF-8 encoded-words. */
static void
test_rfc2047__emit_words (void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		/* B or Q, whichever is shorter */
		{ "=?iso-8859-1?q?caf=E9?= au lait", " =?UTF-8?B?Y2Fmw6k=?= au lait" },
		{ "=?iso-8859-1?q?Bruxelles-Montr=E9al?=", " =?UTF-8?Q?Bruxelles-Montr=C3=A9al?=" },
		/* only the words that need it are encoded */
		{ "=?iso-8859-1?q?d=E9j=E0_vu?=", " =?UTF-8?B?ZMOpasOg?= vu" },
		{ "=?iso-8859-1?q?a?= =?iso-8859-1?q?b?=", " ab" },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		Ctx ctx;
		Out o;
		GString *out;

		_mimeutf8_ctx_init (&ctx, MIMEUTF8_HEADERS_ENCODED, "Subject", NULL, NULL, NULL,
				    strlen (cases[i].in));
		_mimeutf8_decode_text (&ctx, (const guint8 *) cases[i].in, strlen (cases[i].in),
				       TEXT_RAW);
		_mimeutf8_out_init (&o, "Subject", "\n", 0);
		_mimeutf8_out_put (&o, " ", 1);
		_mimeutf8_emit_words (&ctx, &o, "", 0, CTX_UNSTRUCTURED);
		out = _mimeutf8_out_finish (&o);
		assert_string_equal (out->str, cases[i].out);
		g_string_free (out, TRUE);
		_mimeutf8_ctx_clear (&ctx);
	}
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_rfc2047__count_words),
		cmocka_unit_test (test_rfc2047__label_is_normal),
		cmocka_unit_test (test_rfc2047__decode_text),
		cmocka_unit_test (test_rfc2047__decide_raw),
		cmocka_unit_test (test_rfc2047__emit_words),
	};

	mimeutf8_init ();
	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
