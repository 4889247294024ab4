/* test-fastpath.c: the proof without GMime (fastpath.c) takes the messages it is for, leaves every
 * other one to GMime, and gives exactly what the GMime way gives: the same output bytes and the
 * same report, on its own cases and on every message of ../shared/corpus/real. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mimeutf8-private.h"
#include "test-skip.h"

#ifndef SHARED_DIR
#define SHARED_DIR "../shared"
#endif

typedef struct {
	GByteArray *out;
	char *json;
	MimeUtf8Status status;
} Way;

static void
way_run (const MimeUtf8Options *options, const guint8 *data, size_t len, gboolean fast, Way *way)
{
	MimeUtf8Report *report = NULL;

	_mimeutf8_fast_path_off = !fast;
	way->out = g_byte_array_new ();
	way->status = mimeutf8_normalize_buffer (options, data, len, way->out, &report, NULL);
	way->json = mimeutf8_report_to_json (report, "m");
	mimeutf8_report_free (report);
	_mimeutf8_fast_path_off = FALSE;
}

static void
way_clear (Way *way)
{
	g_byte_array_unref (way->out);
	g_free (way->json);
}

/* Both ways give the same status, bytes and report line; TRUE when the fast one proved it. */
static gboolean
assert_same_both_ways (const MimeUtf8Options *options, const char *what, const guint8 *data,
		       size_t len)
{
	Way fast, slow;
	gboolean proved = _mimeutf8_fast_path_proves (options, data, len);

	way_run (options, data, len, TRUE, &fast);
	way_run (options, data, len, FALSE, &slow);
	if (fast.status != slow.status || strcmp (fast.json, slow.json) != 0 ||
	    fast.out->len != slow.out->len ||
	    (fast.out->len > 0 && memcmp (fast.out->data, slow.out->data, fast.out->len) != 0))
		fail_msg ("%s: the two ways differ\n  fast: %s\n  GMime: %s", what, fast.json,
			  slow.json);
	/* what the proof takes comes out as it went in */
	if (proved && (fast.status != MIMEUTF8_STATUS_UNCHANGED || fast.out->len != len ||
		       (len > 0 && memcmp (fast.out->data, data, len) != 0)))
		fail_msg ("%s: proved unchanged, but the output is not the input", what);
	way_clear (&fast);
	way_clear (&slow);
	return proved;
}

static gboolean
case_proved (const MimeUtf8Options *options, const char *message)
{
	return assert_same_both_ways (options, message, (const guint8 *) message,
				      strlen (message));
}

/* The messages the proof is for, and the near misses it must leave to GMime. */
static void
test_fastpath__cases (void **state)
{
	static const struct {
		const char *message;
		gboolean proved;
		size_t len; /* 0: strlen (message) */
	} cases[] = {
		{ "From: a@b\nSubject: hi\n\nplain text\n", TRUE },
		{ "From: a@b\r\nSubject: hi\r\n\r\nplain text\r\n", TRUE },
		{ "From: a@b\nContent-Type: text/plain; charset=utf-8\n\ncaf\xc3\xa9\n", TRUE },
		{ "From: a@b\nContent-Type: TEXT/Plain;\n\tcharset=\"UTF-8\"; format=flowed\n"
		  "Content-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9\n",
		  TRUE },
		{ "From: a@b\nContent-Type: text/plain; charset=us-ascii\n"
		  "Content-Transfer-Encoding: 7BIT\n\nascii\n",
		  TRUE },
		{ "Subject: =?utf-8?Q?caf=C3=A9?=\n\nx\n", TRUE },
		{ "From: a@b\n\n", TRUE },
		/* left to GMime: each changes something, or reads otherwise to someone */
		{ "From: a@b\n\ncaf\xc3\xa9\n", FALSE },                        /* no label */
		{ "From: a@b\nContent-Type: text/plain; charset=us-ascii\n\ncaf\xc3\xa9\n", FALSE },
		{ "From: a@b\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n", FALSE },
		{ "From: a@b\nContent-Type: text/plain; charset=utf-8\n\ncaf\xe9\n", FALSE },
		{ "From: a@b\nContent-Type: text/html; charset=utf-8\n\n<p>x</p>\n", FALSE },
		{ "From: a@b\nContent-Type: text/plain; charset*=utf-8''x\n\nx\n", FALSE },
		{ "From: a@b\nContent-Type: text/plain\nContent-Type: text/plain\n\nx\n", FALSE },
		{ "From: a@b\nContent-Transfer-Encoding: quoted-printable\n\nx=3D\n", FALSE },
		{ "From: a@b\nContent-Transfer-Encoding: 7bit\n\ncaf\xc3\xa9\n", FALSE },
		{ "From: a@b\nContent-Disposition: inline\n\nx\n", FALSE },
		{ "From: a@b\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n",
		  FALSE },
		{ "Subject: =?iso-8859-1?Q?caf=E9?=\n\nx\n", FALSE },
		{ "Subject: caf\xc3\xa9\n\nx\n", FALSE },          /* raw UTF-8: encoded-words */
		{ "\nno header at all\n", FALSE },
		/* unlabelled, an escape of ISO-2022-JP: the GMime way decides it so (fuzz) */
		{ "From: a@b\n\nthe first \x1b(Jline\n", FALSE },
		{ "From: a@b\n\n\x1b$B$3$s$K$A$O\x1b(B\n", FALSE },
		{ "From: a@b\nContent-Type: text/plain; charset=utf-8\n\nan \x1b escape\n", TRUE },
		{ "From a@b Mon Jan  1 00:00:00 2024\nFrom: a@b\n\nx\n", FALSE },
		{ "From: a@b\nSubject: x\n", FALSE },               /* no blank line */
		{ "From: a@b\nX: y\r\n\nx\n", FALSE },              /* mixed newlines */
		{ "From: a@b\nX: a\rb\n\nx\n", FALSE },             /* bare CR */
		{ "From: a@b\nX: a\n \n\nx\n", FALSE },             /* a fold of blanks only */
		{ "From: a@b\nX : a\n\nx\n", FALSE },               /* a blank before the colon */
		{ "From: a@b\n\nnul \x00 byte\n", FALSE, sizeof "From: a@b\n\nnul \x00 byte\n" - 1 },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		const char *m = cases[i].message;
		size_t len = cases[i].len != 0 ? cases[i].len : strlen (m);
		gboolean proved;

		proved = assert_same_both_ways (NULL, m, (const guint8 *) m, len);
		if (proved != cases[i].proved)
			fail_msg ("case %zu: proved %d, expected %d: %s", i, proved, cases[i].proved, m);
	}
}

/* Options that change what a clean message needs leave it to GMime, or agree with it. */
static void
test_fastpath__options (void **state)
{
	static const char *const message =
		"From: a@b\nContent-Type: text/plain; charset=utf-8\n\ncaf\xc3\xa9\n";
	const MimeUtf8Options init = MIMEUTF8_OPTIONS_INIT;
	MimeUtf8Options options = init;

	options.force_7bit = TRUE; /* the 8-bit body needs a 7-bit encoding */
	assert_false (case_proved (&options, message));
	options = init;
	options.policy = MIMEUTF8_POLICY_STRICT;
	assert_true (case_proved (&options, message));
	options = init;
	options.headers = MIMEUTF8_HEADERS_KEEP;
	assert_true (case_proved (&options, "Subject: caf\xc3\xa9\n\nx\n"));
	options = init;
	options.max_params = 1;
	assert_false (case_proved (&options, "From: a@b\nContent-Type: text/plain; charset=utf-8; "
					     "format=flowed\n\nx\n"));
}

static void
add_files (const char *dir, GPtrArray *paths)
{
	g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
	const char *name;

	if (d == NULL)
		return;
	while ((name = g_dir_read_name (d)) != NULL) {
		char *path = g_build_filename (dir, name, NULL);

		if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
			add_files (path, paths);
			g_free (path);
		} else if (strcmp (name, "README.md") != 0 && strcmp (name, "MESSAGES.tsv") != 0) {
			g_ptr_array_add (paths, path);
		} else {
			g_free (path);
		}
	}
}

/* Every message of corpus/real, both ways; the proof must take some of them. */
static void
test_fastpath__corpus_real (void **state)
{
	g_autofree char *dir = g_build_filename (SHARED_DIR, "corpus", "real", NULL);
	g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
	guint i, proved = 0;

	if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
		TEST_SKIP ("../shared is absent (%s)\n", SHARED_DIR);
	}
	add_files (dir, paths);
	assert_true (paths->len > 1000);
	for (i = 0; i < paths->len; i++) {
		g_autofree char *data = NULL;
		gsize len;

		assert_true (g_file_get_contents (g_ptr_array_index (paths, i), &data, &len, NULL));
		proved += assert_same_both_ways (NULL, g_ptr_array_index (paths, i),
						 (const guint8 *) data, len);
	}
	print_message ("corpus/real: %u files, %u proved without GMime\n", paths->len, proved);
	assert_true (proved > paths->len / 10);
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_fastpath__cases),
		cmocka_unit_test (test_fastpath__options),
		cmocka_unit_test (test_fastpath__corpus_real),
	};

	mimeutf8_init ();
	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
