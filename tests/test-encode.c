/* test-encode.c: base64 and quoted-printable output, checked by rule and decoded back with GMime.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mimeutf8-private.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static GByteArray *
qp_decode (const guint8 *data, size_t len)
{
	GByteArray *out = g_byte_array_sized_new ((guint) len + 16);
	int state = 0;
	guint32 save = 0;
	size_t n;

	g_byte_array_set_size (out, (guint) len + 16);
	n = g_mime_encoding_quoted_decode_step (data, len, out->data, &state, &save);
	g_byte_array_set_size (out, (guint) n);
	return out;
}

static void
assert_same (const char *what, const guint8 *got, size_t got_len, const guint8 *want,
	     size_t want_len)
{
	if (got_len != want_len || (got_len > 0 && memcmp (got, want, got_len) != 0)) {
		g_autofree char *g0 = g_strndup ((const char *) got, got_len);
		g_autofree char *w0 = g_strndup ((const char *) want, want_len);
		g_autofree char *g = g_strescape (g0, NULL);
		g_autofree char *w = g_strescape (w0, NULL);

		fail_msg ("%s:\n  got  \"%s\"\n  want \"%s\"", what, g, w);
	}
}

/* The rules every quoted-printable output follows, whatever the input: lines of at most 76
 * characters, ended by `newline` (the last one may have none), printable ASCII and TAB only,
 * no blank before a line end, '=' only as =XX or as a soft break. */
static void
assert_qp_form (const GByteArray *qp, const char *newline)
{
	const guint8 *p = qp->data, *end = qp->data + qp->len;
	size_t nl = strlen (newline);

	while (p < end) {
		const guint8 *line = p, *line_end;

		while (p < end && !(end - p >= (ptrdiff_t) nl && memcmp (p, newline, nl) == 0))
			p++;
		line_end = p;
		if (p < end)
			p += nl;
		if (line_end - line > 76)
			fail_msg ("line of %d characters", (int) (line_end - line));
		if (line_end > line && (line_end[-1] == ' ' || line_end[-1] == '\t'))
			fail_msg ("blank at a line end");
		for (const guint8 *c = line; c < line_end; c++) {
			if (*c == '=') {
				if (c + 1 == line_end)
					continue; /* soft break */
				if (line_end - c < 3 || !g_ascii_isxdigit (c[1]) ||
				    !g_ascii_isxdigit (c[2]) || g_ascii_islower (c[1]) ||
				    g_ascii_islower (c[2]))
					fail_msg ("'=' neither =XX nor a soft break");
				c += 2;
			} else if (!(*c == '\t' || (*c >= 0x20 && *c < 0x7F))) {
				fail_msg ("byte 0x%02X left as is", *c);
			}
		}
	}
}

/* ---- quoted-printable ---------------------------------------------------------------------- */

typedef struct {
	const char *name;
	const char *in;
	size_t in_len;
	const char *newline;
	const char *out;
} QpCase;

#define QP(name, in, newline, out)                                                                 \
	{                                                                                          \
		name, in, sizeof (in) - 1, newline, out                                            \
	}
#define A10 "aaaaaaaaaa"
#define A70 A10 A10 A10 A10 A10 A10 A10

static const QpCase qp_cases[] = {
	QP ("empty", "", "\n", ""),
	QP ("plain", "hello, world", "\n", "hello, world"),
	QP ("equals sign", "a=b", "\n", "a=3Db"),
	QP ("UTF-8", "caf\xC3\xA9", "\n", "caf=C3=A9"),
	QP ("DEL and controls",
	    "\x7F\x01\x1B"
	    "x",
	    "\n", "=7F=01=1Bx"),
	QP ("tab inside a line", "a\tb", "\n", "a\tb"),
	QP ("LF to LF", "one\ntwo\n", "\n", "one\ntwo\n"),
	QP ("LF in a CRLF message is encoded", "one\ntwo\n", "\r\n", "one=0Atwo=0A"),
	QP ("CRLF in an LF message keeps its CR", "one\r\ntwo", "\n", "one=0D\ntwo"),
	QP ("CRLF to CRLF", "one\r\ntwo\r\n", "\r\n", "one\r\ntwo\r\n"),
	QP ("empty lines", "\n\n\r\n", "\n", "\n\n=0D\n"),
	QP ("space before LF", "trailing \nx", "\n", "trailing=20\nx"),
	QP ("tab before CRLF", "tab\t\r\nx", "\r\n", "tab=09\r\nx"),
	QP ("only the last blank needs it", "a  \t\n", "\n", "a  =09\n"),
	QP ("space at the very end", "end ", "\n", "end=20"),
	QP ("tab at the very end", "end\t", "\n", "end=09"),
	QP ("lone CR", "lone\rcr", "\n", "lone=0Dcr"),
	QP ("CR at the end", "cr\r", "\n", "cr=0D"),
	QP ("CR CR LF", "a\r\r\nb", "\n", "a=0D=0D\nb"),
	QP ("space before a lone CR", "a \rb", "\n", "a =0Db"),
	QP ("76 characters stay one line", A70 "aaaaaa", "\n", A70 "aaaaaa"),
	QP ("76 characters then LF", A70 "aaaaaa\nb", "\n", A70 "aaaaaa\nb"),
	QP ("77 characters get a soft break", A70 "aaaaaaa", "\n", A70 "aaaaa=\naa"),
	QP ("soft break with CRLF", A70 "aaaaaaa", "\r\n", A70 "aaaaa=\r\naa"),
	QP ("=XX that would pass 76 moves down", A70 "aaaa=", "\n", A70 "aaaa=\n=3D"),
	QP ("=XX ending a line at 76 stays", A70 "aaa=", "\n", A70 "aaa=3D"),
	QP ("=XX never split", A70 "aaa\xC3\xA9", "\n", A70 "aaa=\n=C3=A9"),
	QP ("=XX pairs", A70 "aa\xC3\xA9", "\n", A70 "aa=C3=\n=A9"),
	QP ("trailing space at 76", A70 "aaaaa ", "\n", A70 "aaaaa=\n=20"),
	QP ("space before a soft break stays", A70 "aaaa bbb", "\n", A70 "aaaa =\nbbb"),
	QP ("last line without a break", "x\nlast", "\n", "x\nlast"),
};

static void
test_encode__qp_cases (void **state)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (qp_cases); i++) {
		const QpCase *c = &qp_cases[i];
		g_autoptr (GByteArray) out = g_byte_array_new ();
		g_autoptr (GByteArray) decoded = NULL;

		g_byte_array_append (out, (const guint8 *) "kept", 4);
		_mimeutf8_qp_encode ((const guint8 *) c->in, c->in_len, c->newline, out);
		assert_memory_equal (out->data, "kept", 4);
		g_byte_array_remove_range (out, 0, 4);
		assert_same (c->name, out->data, out->len, (const guint8 *) c->out,
			     strlen (c->out));
		assert_qp_form (out, c->newline);
		/* it decodes to exactly the input */
		decoded = qp_decode (out->data, out->len);
		assert_same (c->name, decoded->data, decoded->len, (const guint8 *) c->in,
			     c->in_len);
	}
}

/* Random text, long lines and all: the form holds, GMime decodes it back, and encoding what it
 * decodes gives the same text again. */
static void
test_encode__qp_round_trip (void **state)
{
	static const char *const pieces[] = { "word ", "=",  "\xC3\xA9", "\t", " ", "\n",
					      "\r\n",  "\r", "\x7F",     "\0", "x", A70 };
	static const char *const newlines[] = { "\n", "\r\n" };
	guint32 seed = 3;
	size_t round, nl;

	for (round = 0; round < 300; round++) {
		g_autoptr (GByteArray) in = g_byte_array_new ();
		size_t j, n = 1 + round * 7 % 400;

		for (j = 0; j < n; j++) {
			const char *p;

			seed = seed * 1103515245 + 12345;
			p = pieces[(seed >> 16) % G_N_ELEMENTS (pieces)];
			g_byte_array_append (in, (const guint8 *) p, (guint) MAX (strlen (p), 1));
		}
		for (nl = 0; nl < G_N_ELEMENTS (newlines); nl++) {
			g_autoptr (GByteArray) qp = g_byte_array_new ();
			g_autoptr (GByteArray) again = g_byte_array_new ();
			g_autoptr (GByteArray) decoded = NULL;

			_mimeutf8_qp_encode (in->data, in->len, newlines[nl], qp);
			assert_qp_form (qp, newlines[nl]);
			decoded = qp_decode (qp->data, qp->len);
			/* every byte comes back: only the message's newline is a line break */
			assert_same ("round trip", decoded->data, decoded->len, in->data, in->len);
			_mimeutf8_qp_encode (decoded->data, decoded->len, newlines[nl], again);
			assert_same ("encode again", again->data, again->len, qp->data, qp->len);
		}
	}
}

static void
test_encode__qp_long_line (void **state)
{
	g_autoptr (GByteArray) in = g_byte_array_new ();
	g_autoptr (GByteArray) qp = g_byte_array_new ();
	g_autoptr (GByteArray) decoded = NULL;
	size_t j;

	for (j = 0; j < 100000; j++)
		g_byte_array_append (in, (const guint8 *) (j % 3 == 0 ? "\xE2" : "x"), 1);
	_mimeutf8_qp_encode (in->data, in->len, "\r\n", qp);
	assert_qp_form (qp, "\r\n");
	assert_true (_mimeutf8_longest_line (qp->data, qp->len) <= 76);
	decoded = qp_decode (qp->data, qp->len);
	assert_same ("long line", decoded->data, decoded->len, in->data, in->len);
}

/* ---- base64 -------------------------------------------------------------------------------- */

/* The rule _mimeutf8_qp_decode's exactness follows, written the simplest way: the oracle. */
static gboolean
qp_is_exact (const guint8 *p, size_t len)
{
	const guint8 *end = p + len, *eq;

	while ((eq = memchr (p, '=', (size_t) (end - p))) != NULL) {
		if (eq + 1 == end)
			return TRUE; /* a soft break at the very end */
		if (eq[1] == '\n' || (eq[1] == '\r' && eq + 2 < end && eq[2] == '\n')) {
			p = eq + 2;
			continue;
		}
		if (eq + 2 >= end || !g_ascii_isxdigit (eq[1]) || !g_ascii_isxdigit (eq[2]))
			return FALSE;
		p = eq + 3;
	}
	return TRUE;
}

/* What a strict decoder reads one way only: "=XX" and soft breaks; a stray '=' is not. */
static void
test_encode__qp_is_exact (void **state)
{
	static const struct {
		const char *qp;
		gboolean exact;
	} cases[] = {
		{ "", TRUE },
		{ "plain", TRUE },
		{ "caf=E9 =e9", TRUE },
		{ "soft=\nbreak=\r\nend=", TRUE },
		{ "charset=ISO-8859-1", FALSE },
		{ "=E", FALSE },
		{ "=\r", FALSE },
		{ "= \n", FALSE },
		{ "x==41", FALSE },
	};

	(void) state;
	for (size_t i = 0; i < G_N_ELEMENTS (cases); i++) {
		size_t len = strlen (cases[i].qp);
		g_autofree guint8 *out = g_malloc (len + 1);
		gboolean exact;

		assert_int_equal (qp_is_exact ((const guint8 *) cases[i].qp, len), cases[i].exact);
		_mimeutf8_qp_decode ((const guint8 *) cases[i].qp, len, out, &exact);
		assert_int_equal (exact, cases[i].exact);
	}
}

static void
test_encode__base64 (void **state)
{
	static const char *const newlines[] = { "\n", "\r\n" };
	g_autoptr (GByteArray) in = g_byte_array_new ();
	size_t len, nl;

	for (len = 0; len < 700; len++) {
		guint8 b = (guint8) (len * 131 + 7);

		for (nl = 0; nl < G_N_ELEMENTS (newlines); nl++) {
			const char *newline = newlines[nl];
			g_autoptr (GByteArray) out = g_byte_array_new ();
			g_autofree char *want = g_base64_encode (in->data, in->len);
			g_autoptr (GString) joined = g_string_new (NULL);
			g_autofree guchar *decoded = NULL;
			gsize decoded_len = 0;
			size_t n_lines = 0, nl_len = strlen (newline);
			const guint8 *p, *end;

			g_byte_array_append (out, (const guint8 *) "kept", 4);
			_mimeutf8_base64_encode (in->data, in->len, newline, out);
			assert_memory_equal (out->data, "kept", 4);
			g_byte_array_remove_range (out, 0, 4);
			p = out->data;
			end = out->data + out->len;
			/* Lines of 76, the last one shorter, each ended by the newline. */
			while (p < end) {
				const guint8 *line = p;
				size_t line_len;

				while (p < end && *p != '\r' && *p != '\n')
					p++;
				line_len = (size_t) (p - line);
				assert_true ((size_t) (end - p) >= nl_len);
				assert_memory_equal (p, newline, nl_len);
				p += nl_len;
				if (p < end)
					assert_int_equal (line_len, 76);
				else
					assert_true (line_len > 0 && line_len <= 76 &&
						     line_len % 4 == 0);
				g_string_append_len (joined, (const char *) line,
						     (gssize) line_len);
				n_lines++;
			}
			assert_int_equal (n_lines, (in->len + 56) / 57);
			assert_string_equal (joined->str, want);
			decoded = g_base64_decode (joined->str, &decoded_len);
			assert_int_equal (decoded_len, in->len);
			assert_memory_equal (decoded, in->data, in->len);
		}
		g_byte_array_append (in, &b, 1);
	}
}

/* GMime's own base64 decoder reads our lines back. */
static void
test_encode__base64_gmime (void **state)
{
	g_autoptr (GByteArray) in = g_byte_array_new ();
	g_autoptr (GByteArray) out = g_byte_array_new ();
	g_autofree guint8 *decoded = NULL;
	int b64_state = 0;
	guint32 save = 0;
	size_t j, n;

	for (j = 0; j < 100000; j++) {
		guint8 b = (guint8) (j * 2654435761u >> 13);

		g_byte_array_append (in, &b, 1);
	}
	_mimeutf8_base64_encode (in->data, in->len, "\r\n", out);
	decoded = g_malloc (out->len);
	n = g_mime_encoding_base64_decode_step (out->data, out->len, decoded, &b64_state, &save);
	assert_int_equal (n, in->len);
	assert_memory_equal (decoded, in->data, in->len);
	assert_int_equal (_mimeutf8_longest_line (out->data, out->len), 76);
}

/* _mimeutf8_qp_decode gives what GMime's decoder gives, and its exactness what
 * qp_is_exact says, on every escape, soft break and stray '=' the generator below can
 * make, at every length (the ends of input are where they differ most easily).  Every other
 * round draws from an alphabet with few '=', so that runs of eight bytes and more without one
 * (which the decoder copies a word at a time) meet escapes at every offset. */
static void
test_encode__qp_decode_gmime (void **state)
{
	static const char *const alphabets[] = { "==\r\n\n=aF0 9gx\xe9", "abcdefgh ijklmnop\n=A9" };
	guint32 seed = 12345;
	int round;

	for (round = 0; round < 40000; round++) {
		const char *alphabet = alphabets[round % 2];
		size_t size = strlen (alphabet);
		guint8 in[48], ours[48], theirs[96];
		size_t len = (size_t) (round / 2) % sizeof in, j, n;
		int qp_state = 0;
		guint32 save = 0;
		gboolean exact;

		for (j = 0; j < len; j++) {
			seed = seed * 1103515245u + 12345u;
			in[j] = (guint8) alphabet[(seed >> 16) % size];
		}
		n = g_mime_encoding_quoted_decode_step (in, len, theirs, &qp_state, &save);
		assert_int_equal (_mimeutf8_qp_decode (in, len, ours, &exact), n);
		assert_memory_equal (ours, theirs, n);
		assert_int_equal (exact, qp_is_exact (in, len));
	}
}

/* _mimeutf8_base64_decode, which takes whole groups of four at a time, gives what a decoder of one
 * character at a time gives (the oracle below): the same bytes, the same verdict, and on a bad
 * character the bytes decoded before it, wherever in a group it falls. */
static gboolean
base64_oracle (const guint8 *p, size_t n, GByteArray *out)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t data = n, i, bits = 0;
	guint32 acc = 0;

	while (data > 0 && p[data - 1] == '=')
		data--;
	if (n - data > 2 || data % 4 == 1)
		return FALSE;
	for (i = 0; i < data; i++) {
		const char *at = p[i] != 0 ? strchr (alphabet, p[i]) : NULL;
		guint8 byte;

		if (at == NULL)
			return FALSE;
		acc = (acc << 6) | (guint32) (at - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			byte = (guint8) (acc >> bits);
			g_byte_array_append (out, &byte, 1);
		}
	}
	return TRUE;
}

static void
test_encode__base64_decode_groups (void **state)
{
	static const char alphabet[] = "QUJDRGVmZ2g0NTY3+/==-\n\x80";
	guint32 seed = 777;
	int round;

	for (round = 0; round < 20000; round++) {
		guint8 in[40];
		size_t len = (size_t) round % sizeof in, j;
		g_autoptr (GByteArray) ours = g_byte_array_new ();
		g_autoptr (GByteArray) want = g_byte_array_new ();
		gboolean ok, want_ok;

		for (j = 0; j < len; j++) {
			seed = seed * 1103515245u + 12345u;
			/* mostly alphabet characters, so that bad ones fall at every offset of a
			 * long run */
			in[j] = (guint8) alphabet[(seed >> 16) % ((seed >> 8) % 8 == 0
								      ? sizeof alphabet - 1
								      : 16)];
		}
		g_byte_array_append (ours, (const guint8 *) "pre", 3);
		g_byte_array_append (want, (const guint8 *) "pre", 3);
		ok = _mimeutf8_base64_decode (in, len, ours);
		want_ok = base64_oracle (in, len, want);
		assert_int_equal (ok, want_ok);
		assert_int_equal (_mimeutf8_base64_decode (in, len, NULL), want_ok);
		assert_int_equal (ours->len, want->len);
		assert_memory_equal (ours->data, want->data, want->len);
	}
}

/* ---- longest line -------------------------------------------------------------------------- */

static void
test_encode__longest_line (void **state)
{
	static const struct {
		const char *in;
		size_t len, longest;
	} cases[] = {
		{ "", 0, 0 },
		{ "abc", 3, 3 },
		{ "ab\ncdef\n", 8, 4 },
		{ "ab\r\ncd", 6, 2 },
		{ "abcd\r\n", 6, 4 },
		{ "abc\r", 4, 4 }, /* a CR without LF is part of the line */
		{ "a\rb\nc", 5, 3 },
		{ "\n\n\r\n", 4, 0 },
		{ "x\n\nlonger", 9, 6 },
		{ "\r\n", 2, 0 },
	};
	g_autoptr (GByteArray) big = g_byte_array_new ();
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++)
		assert_int_equal (
			_mimeutf8_longest_line ((const guint8 *) cases[i].in, cases[i].len),
			cases[i].longest);
	for (i = 0; i < 1000; i++)
		g_byte_array_append (big, (const guint8 *) "x", 1);
	g_byte_array_append (big, (const guint8 *) "\r\nshort\n", 8);
	assert_int_equal (_mimeutf8_longest_line (big->data, big->len), 1000);
}

/* A base64 body is read as a reader can: the run, an unpadded last group, a plain trailer. */
static void
test_encode__base64_decode_body (void **state)
{
	static const struct {
		const char *in;
		const char *decoded; /* NULL: not base64 */
		size_t trailer; /* offset of the plain text after the run; strlen (in) if none */
		gboolean clean;
	} cases[] = {
		{ "Y2Fm6Q==\n", "caf\xe9", 9, TRUE },
		{ "Y2Fm6Q\n", "caf\xe9", 7, FALSE },
		{ "Y2Fm6ek\r\n", "caf\xe9\xe9", 9, FALSE },
		{ "Y2Fm\n6Q==\n", "caf\xe9", 10, TRUE },
		{ "\nY2Fm\n\nZQ==\n\n", "cafe", 13, TRUE },
		{ "Y2Fm6Q==\n--\nfooter\n", "caf\xe9", 9, FALSE },
		{ "Y2Fm\n_____\nList\n", "caf", 5, FALSE },
		{ "Y2Fm\n\nThanks\nJohn Smith\n", "caf", 5, FALSE },
		{ "Y2Fm6Q==\nZQ==\n", "caf\xe9", 9, FALSE },
		{ "", "", 0, TRUE },
		{ "This is an attachment\n", NULL, 0, FALSE },
		{ "Nyaan\n", NULL, 0, FALSE },
		{ "Y2Fm6Q=\n", "caf\xe9", 8, FALSE },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GByteArray) out = g_byte_array_new ();
		const char *why = NULL;
		gboolean clean = !cases[i].clean;
		size_t trailer = _mimeutf8_base64_decode_body (
			(const guint8 *) cases[i].in, strlen (cases[i].in), out, &clean, &why);

		if (cases[i].decoded == NULL) {
			assert_int_equal (trailer, (size_t) -1);
			assert_non_null (why);
			continue;
		}
		assert_int_equal (trailer, cases[i].trailer);
		assert_int_equal (out->len, strlen (cases[i].decoded));
		assert_memory_equal (out->data, cases[i].decoded, out->len);
		assert_int_equal (clean, cases[i].clean);
	}
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_encode__qp_cases),
		cmocka_unit_test (test_encode__qp_round_trip),
		cmocka_unit_test (test_encode__qp_long_line),
		cmocka_unit_test (test_encode__qp_is_exact),
		cmocka_unit_test (test_encode__base64),
		cmocka_unit_test (test_encode__base64_gmime),
		cmocka_unit_test (test_encode__qp_decode_gmime),
		cmocka_unit_test (test_encode__base64_decode_groups),
		cmocka_unit_test (test_encode__base64_decode_body),
		cmocka_unit_test (test_encode__longest_line),
	};

	return cmocka_run_group_tests (tests, NULL, NULL);
}
