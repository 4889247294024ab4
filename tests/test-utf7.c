/* test-utf7.c: one base64 run of UTF-7, read strictly: what an encoder writes decodes, base64 that
 * is not UTF-7 does not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "mimeutf8-private.h"
#include "test-skip.h"

static void
test_utf7__runs (void **state)
{
	static const struct {
		const char *text; /* starts with the '+' */
		gboolean ok;
		size_t run_len; /* base64 characters after the '+' */
		gunichar chars[3];
		size_t n;
	} cases[] = {
		{ "+AOk-", TRUE, 3, { 0xE9 }, 1 },          /* é */
		{ "+AOkA6Q-", TRUE, 6, { 0xE9, 0xE9 }, 2 }, /* éé */
		{ "+2D3eAA-", TRUE, 6, { 0x1F600 }, 1 },    /* a surrogate pair */
		{ "+-", TRUE, 0, { 0 }, 0 },                /* '+' itself */
		{ "+ 1", FALSE, 0, { 0 }, 0 },              /* an empty run, not before '-' */
		{ "+AOl-", FALSE, 3, { 0 }, 0 },            /* bits left over that are not zero */
		{ "+2D0-", FALSE, 3, { 0 }, 0 },            /* a lone high surrogate */
		{ "+AAE-", FALSE, 3, { 0 }, 0 },            /* U+0001: no encoder writes it */
		{ "+4AA-", FALSE, 3, { 0 }, 0 },            /* U+E000: private use */
		{ "+AOk", TRUE, 3, { 0xE9 }, 1 },           /* the run may end the text */
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		const guint8 *p = (const guint8 *) cases[i].text, *end = p + strlen (cases[i].text);
		const guint8 *run_end = NULL;
		gunichar chars[16];
		size_t n = 99;

		assert_int_equal (_mimeutf8_utf7_at (p, end, &run_end, chars, &n), cases[i].ok);
		assert_int_equal (run_end - (p + 1), cases[i].run_len);
		if (cases[i].ok) {
			assert_int_equal (n, cases[i].n);
			assert_memory_equal (chars, cases[i].chars, n * sizeof (gunichar));
		}
	}
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_utf7__runs),
	};

	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
