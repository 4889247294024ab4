/* test-rfc2231.c: parameters (RFC 2045, RFC 2231): continuations and charsets decoded, the value
 * written back in the one form readers agree on, structural parameters never touched, and the
 * limit on their number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "header-text.h"
#include "test-skip.h"

static GString *
params (const char *name, const char *value, size_t max_params, _MimeUtf8HeaderChange *change)
{
	Ctx ctx;
	GString *out;

	memset (change, 0, sizeof *change);
	_mimeutf8_ctx_init (&ctx, MIMEUTF8_HEADERS_ENCODED, name, NULL, NULL, NULL, strlen (value));
	out = _mimeutf8_normalize_params (&ctx, (const guint8 *) value, strlen (value), max_params,
					  1000, change);
	_mimeutf8_ctx_clear (&ctx);
	return out;
}

static void
test_rfc2231__values (void **state)
{
	static const struct {
		const char *name, *in;
		const char *out; /* NULL: no change */
	} cases[] = {
		{ "Content-Disposition", " attachment; filename*=iso-8859-1''caf%E9.txt",
		  " attachment; filename*=utf-8''caf%C3%A9.txt" },
		/* continuations joined, encoded and plain sections alike */
		{ "Content-Disposition",
		  " attachment; filename*0*=iso-8859-1''caf%E9; filename*1=.txt",
		  " attachment; filename*=utf-8''caf%C3%A9.txt" },
		/* UTF-8 in sections is a form readers read: it stays */
		{ "Content-Disposition",
		  " attachment; filename*0*=utf-8''a%C3; filename*1*=%A9.txt", NULL },
		{ "Content-Disposition", " attachment; filename=\"a.txt\"", NULL },
		/* structure, not text */
		{ "Content-Type", " multipart/mixed; boundary=\"=?iso-8859-1?q?caf=E9?=\"", NULL },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		_MimeUtf8HeaderChange change;
		GString *out = params (cases[i].name, cases[i].in, 128, &change);

		if (cases[i].out == NULL) {
			assert_null (out);
		} else {
			assert_non_null (out);
			assert_string_equal (out->str, cases[i].out);
			g_string_free (out, TRUE);
		}
	}
}

static void
test_rfc2231__limit (void **state)
{
	_MimeUtf8HeaderChange change;

	assert_null (
		params ("Content-Type", " text/plain; a=1; b=2; c*=utf-8''%C3%A9", 2, &change));
	assert_true (change.limit_hit);
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_rfc2231__values),
		cmocka_unit_test (test_rfc2231__limit),
	};

	mimeutf8_init ();
	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
