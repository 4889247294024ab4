/* test-mbox.c: the command's mbox reader (plugin/mbox.c): which lines start a message, the
 * Content-Length it honours, the separators it gives back, and the files it refuses. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mbox.h"

/* The largest Content-Length the reader honours. */
static guint64 max_content_length = 1000;

/* The messages of the mbox `text`, each as "FROM-LINE|MESSAGE|SEPARATOR" joined by "#", and
 * whether the reader said the file was bad (error_out). */
static char *
split (const char *text, gboolean *error)
{
	FILE *in = fmemopen ((void *) text, strlen (text), "r");
	MboxReader *reader = mbox_reader_new (in, max_content_length);
	GString *out = g_string_new (NULL);
	GByteArray *from_line, *message;
	const char *separator;

	while (mbox_reader_next (reader, &from_line, &message, &separator, error)) {
		g_string_append_printf (out, "%s%.*s|%.*s|%s", out->len > 0 ? "#" : "",
					(int) from_line->len, (const char *) from_line->data,
					(int) message->len, (const char *) message->data,
					separator);
		g_byte_array_unref (from_line);
		g_byte_array_unref (message);
	}
	mbox_reader_free (reader);
	fclose (in);
	return g_string_free (out, FALSE);
}

#define ASSERT_SPLIT(text, want)                                                                   \
	do {                                                                                       \
		gboolean error_;                                                                   \
		g_autofree char *got_ = split (text, &error_);                                     \
		assert_false (error_);                                                             \
		assert_string_equal (got_, want);                                                  \
	} while (0)

/* The date forms of a From_ line that start a message, after a blank line in a body. */
static void
test_mbox__dated_from_lines (void **state)
{
	static const char *const dates[] = {
		"Mon Mar  2 10:00:00 2026",
		"Mon, Mar 2 10:00 2026",
		"Mar 2 10:00:00 PST 2026",
		"Mon Mar 2 10:00:00 +0100 2026",
		"Mon Mar 2 9:00:00 MET DST 2026",
		"Mon, 2 Mar 2026 10:00:00 +0000",
		"2 Mar 2026 10:00",
	};
	guint i;

	for (i = 0; i < G_N_ELEMENTS (dates); i++) {
		g_autofree char *text = g_strdup_printf (
			"From a@b Mon Mar  2 10:00:00 2026\nSubject: 1\n\nbody\n\nFrom a@b %s\n"
			"Subject: 2\n\nsecond\n",
			dates[i]);
		g_autofree char *want = g_strdup_printf (
			"From a@b Mon Mar  2 10:00:00 2026\n|Subject: 1\n\nbody\n|\n#"
			"From a@b %s\n|Subject: 2\n\nsecond\n|",
			dates[i]);

		ASSERT_SPLIT (text, want);
	}
	/* the sender may be missing */
	ASSERT_SPLIT ("From Mon Mar  2 10:00:00 2026\nSubject: 1\n\nbody\n",
		      "From Mon Mar  2 10:00:00 2026\n|Subject: 1\n\nbody\n|");
}

/* Body lines that begin "From " but are no From_ line stay in the message. */
static void
test_mbox__body_from_lines (void **state)
{
	static const char *const lines[] = {
		"From here on, we go.",
		"From a@b Mon Mar  2 10:00:00:00 2026",
		"From a@b Mon Mar  2 100:00 2026",
		"From a@b Mon Mar  2 10 2026",
		"From a@b Mon Mar 222 10:00 2026",
		"From a@b Mon Foo  2 10:00:00 2026",
		"From a@b Mon Mar  2 10:00:00",
		"From a@b Mon Mar  2 10:00:00 Z9 2026",
		"From a@b Mon Mar  2 10:00:00 PSTPST 2026",
		"From a@b Mon Mar  2 10:00:00 A B C 2026",
		"From a@b Mon Mar  2 10:00:00 123",
		"From a@b Mon Mar  2 10:00:",
		"From a@b Mon Mar  2 :00",
		"From a@b",
	};
	guint i;

	for (i = 0; i < G_N_ELEMENTS (lines); i++) {
		g_autofree char *text = g_strdup_printf (
			"From a@b Mon Mar  2 10:00:00 2026\nSubject: 1\n\nbody\n\n%s\nend\n",
			lines[i]);
		g_autofree char *want = g_strdup_printf (
			"From a@b Mon Mar  2 10:00:00 2026\n|Subject: 1\n\nbody\n\n%s\nend\n|",
			lines[i]);

		ASSERT_SPLIT (text, want);
	}
}

/* An undated "From SENDER" starts a message only when a header field follows it (Netscape's
 * "From - "); in a header block a dated From_ line ends the message there. */
static void
test_mbox__undated_and_in_header (void **state)
{
	ASSERT_SPLIT (
		"From - Mon Mar  2 10:00:00 2026\nSubject: 1\n\nbody\n\nFrom -\nSubject: 2\n\n"
		"x\n",
		"From - Mon Mar  2 10:00:00 2026\n|Subject: 1\n\nbody\n|\n#From -\n|Subject: "
		"2\n\nx\n|");
	ASSERT_SPLIT (
		"From - Mon Mar  2 10:00:00 2026\nSubject: 1\n\nbody\n\nFrom -\nno field\n",
		"From - Mon Mar  2 10:00:00 2026\n|Subject: 1\n\nbody\n\nFrom -\nno field\n|");
	ASSERT_SPLIT ("From - Mon Mar  2 10:00:00 2026\nSubject: 1\n\nbody\n\nFrom -\n",
		      "From - Mon Mar  2 10:00:00 2026\n|Subject: 1\n\nbody\n\nFrom -\n|");
	ASSERT_SPLIT ("From - Mon Mar  2 10:00:00 2026\nSubject: 1\n\nbody\n\nFrom :x\nA: b\n",
		      "From - Mon Mar  2 10:00:00 2026\n|Subject: 1\n\nbody\n\nFrom :x\nA: b\n|");
	ASSERT_SPLIT ("From a Mon Mar  2 10:00:00 2026\nSubject: 1\nFrom b Mon Mar  2 10:00:00 "
		      "2026\nSubject: 2\n\nx\n",
		      "From a Mon Mar  2 10:00:00 2026\n|Subject: 1\n|#From b Mon Mar  2 10:00:00 "
		      "2026\n|Subject: 2\n\nx\n|");
	/* in a header block an undated "From " line is a (misplaced) field */
	ASSERT_SPLIT ("From a Mon Mar  2 10:00:00 2026\nSubject: 1\nFrom -\nTo: b\n\nx\n",
		      "From a Mon Mar  2 10:00:00 2026\n|Subject: 1\nFrom -\nTo: b\n\nx\n|");
	/* a header block to the end of the file, with no body */
	ASSERT_SPLIT ("From a Mon Mar  2 10:00:00 2026\nSubject: 1\n",
		      "From a Mon Mar  2 10:00:00 2026\n|Subject: 1\n|");
}

/* A Content-Length that points at the next From_ line (or the end) is honoured, so that a From_
 * line inside the body does not split it; one that points elsewhere is not. */
static void
test_mbox__content_length (void **state)
{
	ASSERT_SPLIT ("From a Mon Mar  2 10:00:00 2026\nContent-Length: 45\n\n"
		      "x\n\nFrom b Mon Mar  2 10:00:00 2026\nnot a msg\n\n"
		      "From c Mon Mar  2 10:00:00 2026\nSubject: 2\n\ny\n",
		      "From a Mon Mar  2 10:00:00 2026\n|Content-Length: 45\n\n"
		      "x\n\nFrom b Mon Mar  2 10:00:00 2026\nnot a msg\n|\n#"
		      "From c Mon Mar  2 10:00:00 2026\n|Subject: 2\n\ny\n|");
	/* to the end of the file, with CRLF lines: the separator is empty */
	ASSERT_SPLIT ("From a Mon Mar  2 10:00:00 2026\r\nContent-Length: 3\r\n\r\nx\r\n",
		      "From a Mon Mar  2 10:00:00 2026\r\n|Content-Length: 3\r\n\r\nx\r\n|");
	/* too short, too long, not a number, larger than the reader's bound: the From_ lines decide */
	ASSERT_SPLIT ("From a Mon Mar  2 10:00:00 2026\nContent-Length: 2\n\nxyz\n\n"
		      "From b Mon Mar  2 10:00:00 2026\n\ny\n",
		      "From a Mon Mar  2 10:00:00 2026\n|Content-Length: 2\n\nxyz\n|\n#"
		      "From b Mon Mar  2 10:00:00 2026\n|\ny\n|");
	ASSERT_SPLIT ("From a Mon Mar  2 10:00:00 2026\nContent-Length: 99\n\nxyz\r\n\r\n"
		      "From b Mon Mar  2 10:00:00 2026\n\ny\n",
		      "From a Mon Mar  2 10:00:00 2026\n|Content-Length: 99\n\nxyz\r\n|\r\n#"
		      "From b Mon Mar  2 10:00:00 2026\n|\ny\n|");
	ASSERT_SPLIT ("From a Mon Mar  2 10:00:00 2026\nContent-Length: 4x\n\nxyz\n",
		      "From a Mon Mar  2 10:00:00 2026\n|Content-Length: 4x\n\nxyz\n|");
	ASSERT_SPLIT ("From a Mon Mar  2 10:00:00 2026\nContent-Length: 2000\n\nxyz\n",
		      "From a Mon Mar  2 10:00:00 2026\n|Content-Length: 2000\n\nxyz\n|");
	/* exact, but larger than the reader honours: the From_ line in the body splits it */
	max_content_length = 44;
	ASSERT_SPLIT ("From a Mon Mar  2 10:00:00 2026\nContent-Length: 45\n\n"
		      "x\n\nFrom b Mon Mar  2 10:00:00 2026\nnot a msg\n",
		      "From a Mon Mar  2 10:00:00 2026\n|Content-Length: 45\n\nx\n|\n#"
		      "From b Mon Mar  2 10:00:00 2026\n|not a msg\n|");
	max_content_length = 1000;
	/* exact, but followed by a line that is not "From " */
	ASSERT_SPLIT ("From a Mon Mar  2 10:00:00 2026\nContent-Length: 4\n\nxyz\nmore\n",
		      "From a Mon Mar  2 10:00:00 2026\n|Content-Length: 4\n\nxyz\nmore\n|");
}

/* Quoting: ">From " lines lose one '>' when read and gain it back when written. */
static void
test_mbox__quoting (void **state)
{
	static const char mbox[] =
		"From a Mon Mar  2 10:00:00 2026\nSubject: q\n\n>From x\n>>From y\n"
		">not from\n>\n";
	g_autoptr (GByteArray) out = g_byte_array_new ();
	GByteArray *from_line, *message;
	const char *separator;
	gboolean error;
	FILE *in = fmemopen ((void *) mbox, strlen (mbox), "r");
	MboxReader *reader = mbox_reader_new (in, 1000);

	assert_true (mbox_reader_next (reader, &from_line, &message, &separator, &error));
	assert_int_equal (message->len, strlen ("Subject: q\n\nFrom x\n>From y\n>not from\n>\n"));
	assert_memory_equal (message->data, "Subject: q\n\nFrom x\n>From y\n>not from\n>\n",
			     message->len);
	mbox_append (out, from_line, message->data, message->len, separator);
	assert_int_equal (out->len, strlen (mbox));
	assert_memory_equal (out->data, mbox, out->len);
	g_byte_array_unref (from_line);
	g_byte_array_unref (message);
	assert_false (mbox_reader_next (reader, &from_line, &message, &separator, &error));
	assert_false (error);
	mbox_reader_free (reader);
	mbox_reader_free (NULL);
	fclose (in);
}

/* The top of the file: a From_ line of any form (a byte-order mark before it stays with it); an
 * empty file has no message and no error; anything else is not an mbox. */
static void
test_mbox__top_of_file (void **state)
{
	gboolean error;
	g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

	ASSERT_SPLIT ("\xEF\xBB\xBF"
		      "From x\nSubject: 1\n\nbody\n",
		      "\xEF\xBB\xBF"
		      "From x\n|Subject: 1\n\nbody\n|");
	ASSERT_SPLIT ("", "");
	a = split ("Subject: 1\n\nbody\n", &error);
	assert_true (error);
	assert_string_equal (a, "");
	b = split ("\xEF\xBB\xBF"
		   "Subject: 1\n",
		   &error);
	assert_true (error);
	c = split ("Fro", &error);
	assert_true (error);
	d = split ("From a\n", &error);
	assert_false (error);
	assert_string_equal (d, "From a\n||");
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_mbox__dated_from_lines),
		cmocka_unit_test (test_mbox__body_from_lines),
		cmocka_unit_test (test_mbox__undated_and_in_header),
		cmocka_unit_test (test_mbox__content_length),
		cmocka_unit_test (test_mbox__quoting),
		cmocka_unit_test (test_mbox__top_of_file),
	};

	return cmocka_run_group_tests (tests, NULL, NULL);
}
