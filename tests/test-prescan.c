/* test-prescan.c: the limits are enforced by the pre-scan, before GMime, on small messages with
 * small limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "mimeutf8-private.h"

/* A multipart nested `depth` deep, each level with `siblings` text parts. */
static GString *
nested (int depth, int siblings)
{
	GString *m = g_string_new ("MIME-Version: 1.0\n");
	int i, j;

	for (i = 0; i < depth; i++) {
		g_string_append_printf (m, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n",
					i);
		for (j = 0; j < siblings; j++)
			g_string_append_printf (m, "--b%d\nContent-Type: text/plain\n\nx\n", i);
		g_string_append_printf (m, "--b%d\n", i);
	}
	g_string_append (m, "Content-Type: text/plain\n\nleaf\n");
	for (i = depth - 1; i >= 0; i--)
		g_string_append_printf (m, "--b%d--\n", i);
	return m;
}

static const char *
prescan (const MimeUtf8Options *options, const GString *m)
{
	const char *why = NULL;

	if (_mimeutf8_prescan (options, (const guint8 *) m->str, m->len, FALSE, &why))
		assert_null (why);
	return why;
}

static void
test_prescan__depth_and_parts (void **state)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	g_autoptr (GString) shallow = nested (3, 1);
	g_autoptr (GString) deep = nested (5, 0);
	g_autoptr (GString) wide = nested (1, 20);

	options.max_depth = 4;
	options.max_parts = 10;
	assert_null (prescan (&options, shallow));
	assert_string_equal (prescan (&options, deep), "limit: nesting depth");
	assert_string_equal (prescan (&options, wide), "limit: number of parts");
	/* siblings closed in turn do not add up to depth */
	options.max_parts = 0;
	options.max_depth = 2;
	assert_null (prescan (&options, wide));
}

static void
test_prescan__message_chain (void **state)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	g_autoptr (GString) m = g_string_new ("MIME-Version: 1.0\n");
	int i;

	for (i = 0; i < 10; i++)
		g_string_append (m, "Content-Type: message/rfc822\n\nSubject: x\n");
	g_string_append (m, "\nbody\n");
	options.max_depth = 5;
	assert_string_equal (prescan (&options, m), "limit: nesting depth");
	options.max_depth = 20;
	assert_null (prescan (&options, m));
}

static void
test_prescan__header_limits (void **state)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	g_autoptr (GString) params = g_string_new ("Content-Type: text/plain");
	g_autoptr (GString) words = g_string_new ("Subject:");
	g_autoptr (GString) block = g_string_new ("Subject: x\n");
	int i;

	for (i = 0; i < 10; i++) {
		g_string_append_printf (params, ";\n p%d=\"a;b\"", i);
		g_string_append (words, " =?utf-8?q?a?=");
		g_string_append (block, "X-Filler: 0123456789\n");
	}
	g_string_append (params, "\n\nbody\n");
	g_string_append (words, "\n\nbody\n");
	g_string_append (block, "\nbody\n");
	options.max_params = 9;
	options.max_encoded_words = 9;
	assert_string_equal (prescan (&options, params),
			     "limit: too many parameters in one header");
	assert_string_equal (prescan (&options, words),
			     "limit: too many encoded-words in one header");
	options.max_header_block = 100;
	assert_string_equal (prescan (&options, block), "limit: header block size");
	options.max_params = 10;
	options.max_encoded_words = 10;
	options.max_header_block = 1000;
	assert_null (prescan (&options, params));
	assert_null (prescan (&options, words));
	assert_null (prescan (&options, block));
}

static void
test_prescan__size_and_boundary_cost (void **state)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	g_autoptr (GString) bomb = nested (60, 0);
	g_autoptr (GString) small = g_string_new ("Subject: x\n\n0123456789\n");
	int i;

	/* a million "--" lines under 60 open boundaries: 60 million comparisons for GMime */
	g_string_truncate (bomb, strstr (bomb->str, "leaf\n") - bomb->str);
	for (i = 0; i < 1000000; i++)
		g_string_append (bomb, "--\n");
	assert_string_equal (prescan (&options, bomb), "limit: boundary scan cost");
	options.max_message_size = 10;
	assert_string_equal (prescan (&options, small), "limit: message size");
}

/* The whole normalization passes an over-limit message through, byte for byte. */
static void
test_prescan__passthrough (void **state)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	g_autoptr (GString) deep = nested (5, 0);
	g_autoptr (GByteArray) out = g_byte_array_new ();
	g_autoptr (MimeUtf8Report) report = NULL;
	GError *error = NULL;

	options.max_depth = 3;
	assert_int_equal (
		mimeutf8_normalize_buffer (&options, deep->str, deep->len, out, &report, &error),
		MIMEUTF8_STATUS_PASSTHROUGH);
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_LIMIT));
	assert_string_equal (mimeutf8_report_get_reason (report), "limit: nesting depth");
	assert_int_equal (out->len, deep->len);
	assert_memory_equal (out->data, deep->str, deep->len);
	g_clear_error (&error);
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_prescan__depth_and_parts),
		cmocka_unit_test (test_prescan__message_chain),
		cmocka_unit_test (test_prescan__header_limits),
		cmocka_unit_test (test_prescan__size_and_boundary_cost),
		cmocka_unit_test (test_prescan__passthrough),
	};

	mimeutf8_init ();
	return cmocka_run_group_tests (tests, NULL, NULL);
}
