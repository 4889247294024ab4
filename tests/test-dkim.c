/* test-dkim.c: which DKIM signatures the edits break, as the report says. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mimeutf8-private.h"
#include "test-fixtures.h"
#include "test-skip.h"

/* `message` normalized from a buffer: its report's dkim_invalidated. */
static gboolean
dkim_invalidated (const char *message)
{
	g_autoptr (GByteArray) out = g_byte_array_new ();
	g_autoptr (MimeUtf8Report) report = NULL;

	assert_int_equal (mimeutf8_normalize_buffer (NULL, message, strlen (message), out, &report,
						     NULL),
			  MIMEUTF8_STATUS_NORMALIZED);
	return mimeutf8_report_get_dkim_invalidated (report);
}

/* dkim_invalidated follows each DKIM-Signature's h= and l= tags: a signed header field that
 * changes breaks it as much as the body does; an unsigned one, or a body change past l=, not. */
static void
test_dkim__dkim (void **state)
{
	static const struct {
		const char *message;
		gboolean invalidated;
	} cases[] = {
		/* only the Subject changes: signed, then not */
		{ "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s;\n\th=From:To:\n\t "
		  "Subject; "
		  "bh=x; b=y\nFrom: a@example.com\nSubject: =?iso-8859-1?Q?caf=E9?=\n"
		  "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nhi\n",
		  TRUE },
		{ "DKIM-Signature: v=1; h=from:to; bh=x; b=y\nFrom: a@example.com\n"
		  "Subject: =?iso-8859-1?Q?caf=E9?=\nMIME-Version: 1.0\n"
		  "Content-Type: text/plain; charset=utf-8\n\nhi\n",
		  FALSE },
		/* only the label changes (valid UTF-8 under a latin-1 label) */
		{ "DKIM-Signature: v=1; h=from:content-type; bh=x; b=y\nFrom: a@example.com\n"
		  "MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n\n"
		  "caf\xc3\xa9\n",
		  TRUE },
		{ "DKIM-Signature: v=1; h=from; bh=x; b=y\nFrom: a@example.com\n"
		  "MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n\n"
		  "caf\xc3\xa9\n",
		  FALSE },
		/* the body changes: everywhere, or past the l= octets it signs */
		{ "DKIM-Signature: v=1; h=from; bh=x; b=y\nFrom: a@example.com\nMIME-Version: 1.0\n"
		  "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
		  "Content-Type: text/plain; charset=utf-8\n\nhello\n--b\n"
		  "Content-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n--b--\n",
		  TRUE },
		{ "DKIM-Signature: v=1; h=from; l=10; bh=x; b=y\nFrom: a@example.com\n"
		  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		  "Content-Type: text/plain; charset=utf-8\n\nhello\n"
		  "--b\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n--b--\n",
		  FALSE },
		{ "DKIM-Signature: v=1; h=from; l=100; bh=x; b=y\nFrom: a@example.com\n"
		  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		  "Content-Type: text/plain; charset=utf-8\n\nhello\n"
		  "--b\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n--b--\n",
		  TRUE },
		/* no DKIM-Signature */
		{ "From: a@example.com\nSubject: =?iso-8859-1?Q?caf=E9?=\n\nhi\n", FALSE },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (MimeUtf8Report) in_place = NULL;
		g_autoptr (GMimeStream) stream = g_mime_stream_mem_new_with_buffer (
			cases[i].message, strlen (cases[i].message));
		g_autoptr (GMimeParser) parser = g_mime_parser_new_with_stream (stream);
		g_autoptr (GMimeMessage) message = g_mime_parser_construct_message (parser, NULL);

		print_message ("case %zu\n", i);
		assert_int_equal (dkim_invalidated (cases[i].message), cases[i].invalidated);
		/* in place, any converted part counts as a body change (where in the body, and
		 * whether its bytes changed, is not known): cases 3 and 5 say TRUE there */
		mimeutf8_normalize_message (NULL, message, &in_place, NULL);
		assert_int_equal (mimeutf8_report_get_dkim_invalidated (in_place),
				  cases[i].invalidated || i == 3 || i == 5);
	}
}

/* The tags read less simply: no h= or an empty one (every field is signed), an l= that is no
 * number or too large (the whole body is signed), a folded field that changes (signed or not),
 * fields the normalizer adds (the signature breaks when it lists them, as a verifier hashes
 * absent ones); CR LF line ends; two signatures. */
static void
test_dkim__tags (void **state)
{
	static const struct {
		const char *message;
		gboolean invalidated;
	} cases[] = {
		{ "DKIM-Signature: v=1; bh=x; b=y\nFrom: a@example.com\n"
		  "Subject: =?iso-8859-1?Q?caf=E9?=\n\nhi\n",
		  TRUE },
		/* l=10 would leave this body change outside (test_dkim__dkim) */
		{ "DKIM-Signature: v=1; h=from; l=10x; bh=x; b=y\nFrom: a@example.com\n"
		  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
		  "Content-Type: text/plain; charset=utf-8\n\nhello\n"
		  "--b\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n--b--\n",
		  TRUE },
		{ "DKIM-Signature: v=1; h=from:subject; bh=x; b=y\nFrom: a@example.com\n"
		  "Subject: hi\n =?iso-8859-1?Q?caf=E9?=\n\nhi\n",
		  TRUE },
		{ "DKIM-Signature: v=1; h=from:to; bh=x; b=y\nFrom: a@example.com\n"
		  "Subject: hi\n =?iso-8859-1?Q?caf=E9?=\n\nhi\n",
		  FALSE },
		{ "DKIM-Signature: v=1; h=from:mime-version:content-type; bh=x; b=y\n"
		  "From: a@example.com\nSubject: plain\n\ncaf\xc3\xa9\n",
		  TRUE },
		{ "DKIM-Signature: v=1; h=from:subject; bh=x; b=y\n"
		  "From: a@example.com\nSubject: plain\n\ncaf\xc3\xa9\n",
		  FALSE },
		/* an empty h= lists nothing, so it is no list: every field counts, as without h= */
		{ "DKIM-Signature: v=1; h=; bh=x; b=y\nFrom: a@example.com\n"
		  "Subject: =?iso-8859-1?Q?caf=E9?=\n\nhi\n",
		  TRUE },
		/* an l= past what 64 bits hold is no length: the whole body is signed */
		{ "DKIM-Signature: v=1; h=from; l=99999999999999999999; bh=x; b=y\n"
		  "From: a@example.com\nMIME-Version: 1.0\n"
		  "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
		  "Content-Type: text/plain; charset=utf-8\n\nhello\n"
		  "--b\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n--b--\n",
		  TRUE },
		/* an empty l= is no length either */
		{ "DKIM-Signature: v=1; h=from; l=; bh=x; b=y\n"
		  "From: a@example.com\nMIME-Version: 1.0\n"
		  "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
		  "Content-Type: text/plain; charset=utf-8\n\nhello\n"
		  "--b\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n--b--\n",
		  TRUE },
		/* CR LF line ends: the blank line is found, and l=10 still leaves the second part out
		 * (canonicalization only adds CRs and drops blanks) */
		{ "DKIM-Signature: v=1; h=from; l=10; bh=x; b=y\r\nFrom: a@example.com\r\n"
		  "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		  "Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n"
		  "--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf\xe9\r\n--b--\r\n",
		  FALSE },
		/* a value folded with a tab: the edit on its second line is in the signed Subject */
		{ "DKIM-Signature: v=1; h=from:subject; bh=x; b=y\nFrom: a@example.com\n"
		  "Subject: hi\n\t=?iso-8859-1?Q?caf=E9?=\n\nhi\n",
		  TRUE },
		/* two signatures: broken when any one is */
		{ "DKIM-Signature: v=1; h=from; bh=x; b=y\n"
		  "DKIM-Signature: v=1; h=from:subject; bh=x; b=y\nFrom: a@example.com\n"
		  "Subject: =?iso-8859-1?Q?caf=E9?=\n\nhi\n",
		  TRUE },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		print_message ("case %zu\n", i);
		assert_int_equal (dkim_invalidated (cases[i].message), cases[i].invalidated);
	}
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_dkim__dkim),
		cmocka_unit_test (test_dkim__tags),
	};

	mimeutf8_init ();
	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
