/* test-options.c: the engine options the front-ends share (plugin/options.c): each one fills
 * its field, says whether only messages take it, and a bad value is a usage error (exit 64). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "options.h"
#include "test-skip.h"

static void
test_options__apply (void **state)
{
	static const MimeUtf8Options defaults = MIMEUTF8_OPTIONS_INIT;
	MimeUtf8Options o = defaults;
	const char *message_option = NULL;

	assert_true (options_apply ("t", ENGINE_OPT_POLICY, "strict", &o, &message_option));
	assert_int_equal (o.policy, MIMEUTF8_POLICY_STRICT);
	assert_null (message_option); /* --text takes it too */
	assert_true (options_apply ("t", ENGINE_OPT_FALLBACK, "koi8-r", &o, &message_option));
	assert_string_equal (o.fallback_charset, "koi8-r");
	assert_null (message_option);
	assert_true (options_apply ("t", ENGINE_OPT_HEADERS, "utf8", &o, &message_option));
	assert_int_equal (o.headers, MIMEUTF8_HEADERS_UTF8);
	assert_string_equal (message_option, "--headers");
	assert_true (options_apply ("t", ENGINE_OPT_7BIT, NULL, &o, NULL));
	assert_true (o.force_7bit);
	assert_true (options_apply ("t", ENGINE_OPT_SIGNED, NULL, &o, NULL));
	assert_true (o.convert_signed);
	assert_true (options_apply ("t", ENGINE_OPT_MAX_SIZE, "1000", &o, NULL));
	assert_int_equal (o.max_message_size, 1000);
	assert_true (options_apply ("t", ENGINE_OPT_MAX_DEPTH, "7", &o, NULL));
	assert_int_equal (o.max_depth, 7);
	assert_true (options_apply ("t", ENGINE_OPT_MAX_PARTS, "8", &o, NULL));
	assert_int_equal (o.max_parts, 8);
	assert_true (options_apply ("t", ENGINE_OPT_MAX_HEADER, "9", &o, NULL));
	assert_int_equal (o.max_header_block, 9);
	assert_true (options_apply ("t", ENGINE_OPT_MAX_PARAMS, "10", &o, NULL));
	assert_int_equal (o.max_params, 10);
	assert_true (options_apply ("t", ENGINE_OPT_MAX_WORDS, "11", &o, NULL));
	assert_int_equal (o.max_encoded_words, 11);
	assert_true (options_apply ("t", ENGINE_OPT_TIMEOUT, "3", &o, &message_option));
	assert_int_equal (o.timeout_ms, 3000);
	assert_string_equal (message_option, "--timeout");
	/* a front-end's own option, or an unknown one */
	assert_false (options_apply ("t", 'o', "x", &o, NULL));
	assert_false (options_apply ("t", '?', NULL, &o, NULL));
}

/* Runs options_apply in a child: its exit status, and what it said on stderr. */
static int
apply_in_child (int c, const char *value, char *said, size_t size)
{
	int pipefd[2], status;
	pid_t pid;
	ssize_t n;
	size_t got = 0;

	assert_int_equal (pipe (pipefd), 0);
	pid = fork ();
	assert_true (pid >= 0);
	if (pid == 0) {
		MimeUtf8Options o = MIMEUTF8_OPTIONS_INIT;

		dup2 (pipefd[1], STDERR_FILENO);
		options_apply ("prog", c, value, &o, NULL);
		_exit (0);
	}
	close (pipefd[1]);
	/* stderr is written in pieces: read to the end */
	while (got < size - 1 && (n = read (pipefd[0], said + got, size - 1 - got)) > 0)
		got += (size_t) n;
	said[got] = '\0';
	close (pipefd[0]);
	assert_int_equal (waitpid (pid, &status, 0), pid);
	return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static void
test_options__bad_values (void **state)
{
	static const struct {
		int c;
		const char *value, *said;
	} cases[] = {
		{ ENGINE_OPT_POLICY, "loose",
		  "prog: unknown policy 'loose' (lenient, declared or strict)\n" },
		{ ENGINE_OPT_HEADERS, "raw",
		  "prog: unknown header mode 'raw' (encoded, utf8 or keep)\n" },
		{ ENGINE_OPT_FALLBACK, "no-such", "prog: unknown charset 'no-such'\n" },
		{ ENGINE_OPT_MAX_DEPTH, "1001", "prog: bad value for --max-depth\n" },
		{ ENGINE_OPT_MAX_PARTS, "0", "prog: bad value for --max-parts\n" },
		{ ENGINE_OPT_TIMEOUT, "x", "prog: bad value for --timeout\n" },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		char said[512];
		g_autofree char *want = g_strconcat (
			cases[i].said, "Try 'prog --help' for more information.\n", NULL);

		assert_int_equal (apply_in_child (cases[i].c, cases[i].value, said, sizeof said),
				  64);
		assert_string_equal (said, want);
	}
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_options__apply),
		cmocka_unit_test (test_options__bad_values),
	};

	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
