/* test-skip.h: a skipped cmocka case makes its whole test program exit 77, which meson counts as
 * SKIP, so that a test that could not run never shows as passed. */
#ifndef MIMEUTF8_TEST_SKIP_H
#define MIMEUTF8_TEST_SKIP_H

static int test_skipped;

/* Skips the running case, saying why on the test's output. */
#define TEST_SKIP(...)                                                                              \
	do {                                                                                        \
		print_message ("SKIP: " __VA_ARGS__);                                               \
		test_skipped++;                                                                     \
		skip ();                                                                            \
	} while (0)

/* main's exit status: the failures, else 77 when a case was skipped, else 0. */
#define TEST_STATUS(failed) ((failed) != 0 ? (failed) : test_skipped != 0 ? 77 : 0)

#endif
