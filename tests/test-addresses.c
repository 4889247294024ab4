/* test-addresses.c: address lists: display names and comments decoded and written back, every
 * addr-spec, angle bracket and group kept byte for byte; a list that does not parse is handled
 * word by word. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "header-text.h"
#include "test-skip.h"

/* The list through the walk (or, when it does not parse, the fallback), as headers.c runs it. */
static char *
rewrite (const char *list, gboolean *parsed_out)
{
	Ctx ctx;
	Out o;

	_mimeutf8_ctx_init (&ctx, MIMEUTF8_HEADERS_ENCODED, "To", NULL, NULL, NULL, strlen (list));
	_mimeutf8_out_init (&o, "To", "\n", strlen (list));
	*parsed_out = _mimeutf8_addresses_walk (&ctx, &o, (const guint8 *) list, strlen (list));
	if (!*parsed_out) {
		g_string_free (_mimeutf8_out_finish (&o), TRUE);
		_mimeutf8_out_init (&o, "To", "\n", strlen (list));
		_mimeutf8_addresses_fallback (&ctx, &o, (const guint8 *) list, strlen (list));
	}
	_mimeutf8_ctx_clear (&ctx);
	return g_string_free (_mimeutf8_out_finish (&o), FALSE);
}

static void
test_addresses__lists (void **state)
{
	static const struct {
		const char *in;
		gboolean parsed;
		const char *out;
	} cases[] = {
		{ "=?iso-8859-1?q?Ren=E9?= <rene@example.org>", TRUE,
		  "=?UTF-8?B?UmVuw6k=?= <rene@example.org>" },
		/* the addr-spec stays as it is, whatever it holds */
		{ "a@example.org (=?iso-8859-1?q?caf=E9?=), b@example.org", TRUE,
		  "a@example.org (=?UTF-8?B?Y2Fmw6k=?=), b@example.org" },
		{ "Team: =?iso-8859-1?q?Ren=E9?= <r@example.org>;", TRUE,
		  "Team: =?UTF-8?B?UmVuw6k=?= <r@example.org>;" },
		{ "\"Plain Name\" <p@example.org>", TRUE, "\"Plain Name\" <p@example.org>" },
		/* an open angle bracket: not a list, word by word */
		{ "=?iso-8859-1?q?Ren=E9?= <rene@example.org", FALSE,
		  "=?UTF-8?B?UmVuw6k=?= <rene@example.org" },
		/* comments anywhere in an address are decoded: in the local part, after a domain
		 * literal, after a route or an angle-addr; the addr-spec around them stays */
		{ "a(=?iso-8859-1?q?caf=E9?=)@example.org", TRUE,
		  "a(=?UTF-8?B?Y2Fmw6k=?=)@example.org" },
		{ "a@[192.0.2.1] (=?iso-8859-1?q?caf=E9?=)", TRUE,
		  "a@[192.0.2.1] (=?UTF-8?B?Y2Fmw6k=?=)" },
		{ "<@route.example:a@example.org> (=?iso-8859-1?q?caf=E9?=)", TRUE,
		  "<@route.example:a@example.org> (=?UTF-8?B?Y2Fmw6k=?=)" },
		{ "<a@example.org> (=?iso-8859-1?q?caf=E9?=)", TRUE,
		  "<a@example.org> (=?UTF-8?B?Y2Fmw6k=?=)" },
		/* a "(" in a quoted string opens no comment; a group without members is kept */
		{ "\"A (b\" <a@example.org>", TRUE, "\"A (b\" <a@example.org>" },
		{ "undisclosed-recipients:;", TRUE, "undisclosed-recipients:;" },
		/* an encoded-word in quotes (RFC 2047 forbids it, mailers write it) is decoded */
		{ "\"=?iso-8859-1?q?Ren=E9?=\" <r@example.org>", TRUE,
		  "=?UTF-8?B?UmVuw6k=?= <r@example.org>" },
		/* obsolete forms: a bracket in a phrase is part of the name, words after the
		 * angle-addr are decoded */
		{ "=?iso-8859-1?q?Ren=E9?= [x] <r@example.org>", TRUE,
		  "=?UTF-8?B?UmVuw6kgW3hd?= <r@example.org>" },
		{ "=?iso-8859-1?q?Ren=E9?= <r@example.org> trailing =?iso-8859-1?q?caf=E9?=", TRUE,
		  "=?UTF-8?B?UmVuw6k=?= <r@example.org> trailing =?UTF-8?B?Y2Fmw6k=?=" },
		/* an unclosed comment or quote: not a list, word by word */
		{ "=?iso-8859-1?q?Ren=E9?= (note <r@example.org>", FALSE,
		  "=?UTF-8?B?UmVuw6k=?= (note <r@example.org>" },
		{ "a@example.org (unclosed =?iso-8859-1?q?caf=E9?=", FALSE,
		  "a@example.org (unclosed =?UTF-8?B?Y2Fmw6k=?=" },
		{ "\"unclosed <r@example.org>", FALSE, "\"unclosed <r@example.org>" },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		gboolean parsed;
		g_autofree char *out = rewrite (cases[i].in, &parsed);

		assert_int_equal (parsed, cases[i].parsed);
		assert_string_equal (out, cases[i].out);
	}
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_addresses__lists),
	};

	mimeutf8_init ();
	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
