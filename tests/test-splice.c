/* test-splice.c: the splice on hand-made edits: the output is the input with the edits applied
 * in order, a rewrite to the same bytes is no edit, and write errors are kept for the caller. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "walk.h"
#include "test-skip.h"

static GByteArray *
bytes (const char *text)
{
	GByteArray *array = g_byte_array_new ();

	g_byte_array_append (array, (const guint8 *) text, strlen (text));
	return array;
}

/* A walk over `raw` from memory, with no edits yet. */
static void
walk_over (Walk *walk, const char *raw)
{
	static const MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;

	_mimeutf8_walk_init (walk, &options, NULL, 0);
	walk->raw = (const guint8 *) raw;
	walk->raw_len = strlen (raw);
}

static char *
spliced (const Walk *walk, size_t *written_out)
{
	GByteArray *out = g_byte_array_new ();
	Sink sink = { out, NULL, -1, FALSE, 0 };

	g_array_sort (walk->edits, _mimeutf8_compare_edits);
	*written_out = _mimeutf8_splice_out (walk, &sink);
	assert_false (sink.failed);
	assert_int_equal (*written_out, out->len);
	g_byte_array_append (out, (const guint8 *) "", 1);
	return (char *) g_byte_array_free (out, FALSE);
}

static void
test_splice__edits_in_order (void **state)
{
	static const char raw[] = "Content-Type: text/plain; charset=koi8-r\n\nbody\n";
	Walk walk;
	size_t written;
	g_autofree char *out = NULL;

	walk_over (&walk, raw);
	/* added out of order: the splice sorts them by offset */
	_mimeutf8_add_edit (&walk, 42, 46, bytes ("BODY"));
	_mimeutf8_add_edit (&walk, 34, 40, bytes ("utf-8"));
	/* an insertion at the start of a replaced range goes before the replacement */
	_mimeutf8_add_edit (&walk, 41, 41, bytes ("X-New: 1\n"));
	_mimeutf8_add_edit (&walk, 41, 42, bytes ("\r\n"));
	out = spliced (&walk, &written);
	assert_string_equal (out, "Content-Type: text/plain; charset=utf-8\nX-New: 1\n\r\nBODY\n");
	_mimeutf8_walk_clear (&walk);
}

/* A rewrite to the bytes already there is dropped, so that an unchanged message stays unchanged
 * (and its DKIM signature is not said to be broken). */
static void
test_splice__same_bytes_no_edit (void **state)
{
	static const char raw[] = "Content-Transfer-Encoding: 8bit\n\nx\n";
	Walk walk;
	size_t written;
	g_autofree char *out = NULL;

	walk_over (&walk, raw);
	_mimeutf8_add_edit (&walk, 27, 31, bytes ("8bit"));
	assert_int_equal (walk.edits->len, 0);
	_mimeutf8_add_edit (&walk, 27, 31, bytes ("7bit"));
	assert_int_equal (walk.edits->len, 1);
	out = spliced (&walk, &written);
	assert_string_equal (out, "Content-Transfer-Encoding: 7bit\n\nx\n");
	_mimeutf8_walk_clear (&walk);
}

static void
test_splice__compare_edits (void **state)
{
	Edit insert = { 5, 5, NULL }, replace = { 5, 9, NULL }, later = { 6, 6, NULL };

	assert_true (_mimeutf8_compare_edits (&insert, &replace) < 0);
	assert_true (_mimeutf8_compare_edits (&replace, &insert) > 0);
	assert_true (_mimeutf8_compare_edits (&replace, &later) < 0);
	assert_int_equal (_mimeutf8_compare_edits (&insert, &insert), 0);
}

static void
test_splice__newline_before (void **state)
{
	static const char raw[] = "A: b\r\nC: d\nE";
	Walk walk;

	walk_over (&walk, raw);
	assert_string_equal (_mimeutf8_newline_before (&walk, 6), "\r\n");
	assert_string_equal (_mimeutf8_newline_before (&walk, 11), "\n");
	/* not after a line: the message's newline */
	walk.newline = "\r\n";
	assert_string_equal (_mimeutf8_newline_before (&walk, 12), "\r\n");
	assert_string_equal (_mimeutf8_newline_before (&walk, 0), "\r\n");
	_mimeutf8_walk_clear (&walk);
}

static void
test_splice__encoding_name (void **state)
{
	assert_string_equal (_mimeutf8_encoding_name (GMIME_CONTENT_ENCODING_7BIT), "7bit");
	assert_string_equal (_mimeutf8_encoding_name (GMIME_CONTENT_ENCODING_BASE64), "base64");
	assert_string_equal (_mimeutf8_encoding_name (GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE),
			     "quoted-printable");
	assert_null (_mimeutf8_encoding_name (GMIME_CONTENT_ENCODING_DEFAULT));
}

/* To a file descriptor: all of it, and a failed write is kept with its errno. */
static void
test_splice__to_fd (void **state)
{
	static const char raw[] = "Subject: x\n\nbody\n";
	Walk walk;
	int fds[2];
	char got[64];
	Sink sink = { NULL, NULL, -1, FALSE, 0 };
	ssize_t n;

	walk_over (&walk, raw);
	_mimeutf8_add_edit (&walk, 9, 10, bytes ("y"));
	assert_int_equal (pipe (fds), 0);
	sink.fd = fds[1];
	assert_int_equal (_mimeutf8_splice_out (&walk, &sink), strlen (raw));
	assert_false (sink.failed);
	close (fds[1]);
	n = read (fds[0], got, sizeof got);
	assert_int_equal (n, strlen (raw));
	assert_memory_equal (got, "Subject: y\n\nbody\n", n);
	close (fds[0]);

	sink.fd = open ("/dev/full", O_WRONLY | O_CLOEXEC);
	if (sink.fd < 0) {
		_mimeutf8_walk_clear (&walk);
		TEST_SKIP ("no /dev/full\n");
	}
	_mimeutf8_splice_out (&walk, &sink);
	assert_true (sink.failed);
	assert_int_equal (sink.saved_errno, ENOSPC);
	close (sink.fd);
	_mimeutf8_walk_clear (&walk);
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_splice__edits_in_order),
		cmocka_unit_test (test_splice__same_bytes_no_edit),
		cmocka_unit_test (test_splice__compare_edits),
		cmocka_unit_test (test_splice__newline_before),
		cmocka_unit_test (test_splice__encoding_name),
		cmocka_unit_test (test_splice__to_fd),
	};

	mimeutf8_init ();
	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
