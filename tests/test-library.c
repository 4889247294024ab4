/* test-library.c: what every file of the library uses: the version, the error domain and the
 * check of an options struct. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "mimeutf8-private.h"
#include "test-skip.h"

static void
test_library__version (void **state)
{
	assert_string_equal (mimeutf8_version (), MIMEUTF8_VERSION_STRING);
	assert_string_equal (g_quark_to_string (MIMEUTF8_ERROR), "mimeutf8-error-quark");
	/* a second init is harmless */
	mimeutf8_init ();
}

static void
test_library__defaults (void **state)
{
	static const MimeUtf8Options defaults = MIMEUTF8_OPTIONS_INIT;
	MimeUtf8Options storage;
	const MimeUtf8Options *checked;

	memset (&storage, 0xAA, sizeof storage);
	checked = _mimeutf8_options_check (NULL, &storage, NULL);
	assert_ptr_equal (checked, &storage);
	assert_memory_equal (&storage, &defaults, sizeof storage);
	/* good options are used as they are */
	assert_ptr_equal (_mimeutf8_options_check (&defaults, &storage, NULL), &defaults);
}

/* Each bad field gives MIMEUTF8_ERROR_OPTIONS and NULL. */
static void
test_library__bad_options (void **state)
{
	MimeUtf8Options storage;
	static const struct {
		unsigned int version;
		int policy;
		const char *fallback;
	} cases[] = {
		{ 0, MIMEUTF8_POLICY_LENIENT, NULL },
		{ MIMEUTF8_OPTIONS_VERSION + 1, MIMEUTF8_POLICY_LENIENT, NULL },
		{ MIMEUTF8_OPTIONS_VERSION, MIMEUTF8_POLICY_STRICT + 1, NULL },
		{ MIMEUTF8_OPTIONS_VERSION, MIMEUTF8_POLICY_LENIENT, "no-such-charset" },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
		GError *error = NULL;

		options.version = cases[i].version;
		options.policy = (MimeUtf8Policy) cases[i].policy;
		options.fallback_charset = cases[i].fallback;
		assert_null (_mimeutf8_options_check (&options, &storage, &error));
		assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_OPTIONS));
		g_clear_error (&error);
	}
}

/* A version 1 struct ends before `cancellable`: the check copies what it has and reads no
 * further. */
static void
test_library__version_1 (void **state)
{
	MimeUtf8Options init = MIMEUTF8_OPTIONS_INIT;
	size_t size = G_STRUCT_OFFSET (MimeUtf8Options, cancellable);
	guint8 *options = g_malloc (size);
	MimeUtf8Options storage;
	const MimeUtf8Options *checked;

	init.version = 1;
	init.force_7bit = TRUE;
	init.fallback_charset = "koi8-r";
	memcpy (options, &init, size);
	checked = _mimeutf8_options_check ((const MimeUtf8Options *) options, &storage, NULL);
	assert_ptr_equal (checked, &storage);
	assert_true (storage.force_7bit);
	assert_string_equal (storage.fallback_charset, "koi8-r");
	assert_null (storage.cancellable);
	g_free (options);
}

/* The fallback charset: the options' when set, else windows-1252. */
static void
test_library__fallback (void **state)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;

	assert_string_equal (_mimeutf8_fallback (NULL)->name, "windows-1252");
	assert_string_equal (_mimeutf8_fallback (&options)->name, "windows-1252");
	options.fallback_charset = "KOI8-R";
	assert_string_equal (_mimeutf8_fallback (&options)->name, "koi8-r");
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_library__version),
		cmocka_unit_test (test_library__defaults),
		cmocka_unit_test (test_library__bad_options),
		cmocka_unit_test (test_library__version_1),
		cmocka_unit_test (test_library__fallback),
	};

	mimeutf8_init ();
	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
