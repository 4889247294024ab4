/* test-iconv-guard.c: the process-wide iconv_open refuses every name outside the label table,
 * for our calls and for GMime's. */
#include <errno.h>
#include <iconv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "mimeutf8-private.h"

static gboolean
opens (const char *to, const char *from)
{
	iconv_t cd = iconv_open (to, from);

	if (cd == (iconv_t) -1) {
		assert_int_equal (errno, EINVAL);
		return FALSE;
	}
	iconv_close (cd);
	return TRUE;
}

static void
test_iconv_guard__table_names_open (void **state)
{
	const _MimeUtf8Charset *all;
	size_t n, i;

	all = _mimeutf8_charset_all (&n);
	for (i = 0; i < n; i++)
		assert_true (opens ("UTF-8", all[i].iconv_name));
	/* labels too, as GMime passes them on */
	assert_true (opens ("UTF-8", "iso-8859-1"));
	assert_true (opens ("iso-8859-1", "UTF-8"));
	assert_true (opens ("UTF-8", "koi8-r"));
}

static void
test_iconv_guard__everything_else_is_refused (void **state)
{
	static const char *const refused[] = {
		"ISO-2022-CN",
		"ISO-2022-CN-EXT",
		"iso-2022-cn-ext",
		"ISO-2022-JP-3",
		"IBM930",
		"IBM933",
		"IBM935",
		"IBM937",
		"IBM939",
		"IBM1364",
		"IBM1371",
		"IBM1388",
		"IBM1390",
		"IBM1399",
		"UTF-8//TRANSLIT",
		"UTF-8//IGNORE",
		"../../x",
		"/tmp/x",
		"",
		"x-unknown",
		"EBCDIC-US",
	};
	g_autofree char *huge = g_strnfill (100000, 'a');
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (refused); i++) {
		print_message ("%s\n", refused[i]);
		assert_false (opens ("UTF-8", refused[i]));
		assert_false (opens (refused[i], "UTF-8"));
	}
	assert_false (opens ("UTF-8", huge));
	assert_false (_mimeutf8_iconv_name_allowed (NULL));
}

/* GMime's own decoding goes through the guard: an encoded-word in a refused charset stays
 * undecoded instead of reaching glibc's converter. */
static void
test_iconv_guard__gmime_is_guarded (void **state)
{
	static const char message[] =
		"Subject: =?ISO-2022-CN-EXT?B?GyQpQQ5KfA8=?=\n"
		"Content-Type: text/plain; name*=iso-2022-cn-ext''%1B%24%29A\n"
		"\n"
		"hi\n";
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer (message, strlen (message));
	GMimeParser *parser = g_mime_parser_new_with_stream (stream);
	GMimeMessage *parsed = g_mime_parser_construct_message (parser, NULL);
	GMimeObject *body;

	assert_non_null (parsed);
	/* the word's only Chinese character, had GMime reached glibc's ISO-2022-CN-EXT */
	assert_non_null (g_mime_message_get_subject (parsed));
	assert_null (strstr (g_mime_message_get_subject (parsed), "\xe5\xba\xb6"));
	body = g_mime_message_get_mime_part (parsed);
	(void) g_mime_object_get_content_type_parameter (body, "name");
	g_object_unref (parsed);
	g_object_unref (parser);
	g_object_unref (stream);
	assert_false (opens ("UTF-8", "ISO-2022-CN-EXT"));
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_iconv_guard__table_names_open),
		cmocka_unit_test (test_iconv_guard__everything_else_is_refused),
		cmocka_unit_test (test_iconv_guard__gmime_is_guarded),
	};

	mimeutf8_init ();
	return cmocka_run_group_tests (tests, NULL, NULL);
}
