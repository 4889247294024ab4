/* test-iconv-host.c: a program that links libmimeutf8 keeps its own iconv: after the library has
 * parsed and converted mail, every converter glibc has still opens, g_convert still works, and the
 * environment (GCONV_PATH) is as the program left it.  Linked with the shared library, as a host
 * links it. */
#include <errno.h>
#include <iconv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mimeutf8.h"

#define GCONV_PATH_SET "/nonexistent/mimeutf8-test-gconv"

static void
normalize_some_mail (void)
{
	static const char message[] =
		"MIME-Version: 1.0\nSubject: =?IBM037?Q?=C8=85?= =?iso-8859-1?Q?caf=E9?=\n"
		"Content-Type: text/plain; charset=iso-8859-1; name*=ibm037''%C8\n\ncaf\xe9\n";
	GByteArray *out = g_byte_array_new ();

	assert_int_equal (
		mimeutf8_normalize_buffer (NULL, message, strlen (message), out, NULL, NULL),
		MIMEUTF8_STATUS_NORMALIZED);
	g_byte_array_unref (out);
}

static void
test_iconv_host__converters_still_open (void **state)
{
	static const char *const names[] = { "UTF-32LE",        "UCS-4",        "WCHAR_T",
					     "CP437",           "CP850",        "IBM037",
					     "ASCII//TRANSLIT", "UTF-8//IGNORE" };
	size_t i;

	normalize_some_mail ();
	for (i = 0; i < G_N_ELEMENTS (names); i++) {
		iconv_t cd = iconv_open (names[i], "UTF-8");

		print_message ("%s\n", names[i]);
		if (cd == (iconv_t) -1)
			fail_msg ("iconv_open (\"%s\", \"UTF-8\"): %s", names[i],
				  g_strerror (errno));
		iconv_close (cd);
	}
}

static void
test_iconv_host__g_convert (void **state)
{
	GError *error = NULL;
	gsize written = 0;
	char *utf32;

	normalize_some_mail ();
	utf32 = g_convert ("caf\xc3\xa9", -1, "UTF-32LE", "UTF-8", NULL, &written, &error);
	assert_null (error);
	assert_int_equal (written, 16);
	assert_memory_equal (utf32, "c\0\0\0a\0\0\0f\0\0\0\xe9\0\0\0", 16);
	g_free (utf32);
}

static void
test_iconv_host__environment_untouched (void **state)
{
	normalize_some_mail ();
	assert_non_null (g_getenv ("GCONV_PATH"));
	assert_string_equal (g_getenv ("GCONV_PATH"), GCONV_PATH_SET);
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_iconv_host__converters_still_open),
		cmocka_unit_test (test_iconv_host__g_convert),
		cmocka_unit_test (test_iconv_host__environment_untouched),
	};

	/* a directory that does not exist: glibc looks there, finds nothing, and goes on */
	setenv ("GCONV_PATH", GCONV_PATH_SET, 1);
	mimeutf8_init ();
	return cmocka_run_group_tests (tests, NULL, NULL);
}
