/* test-utf8.c: the UTF-8 facts of utf8.c against Unicode's Table 3-7 and its maximal-subpart
 * rule, byte string by byte string. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mimeutf8-private.h"

#define R "\xEF\xBF\xBD"

typedef struct {
	const char *name;
	const char *in;
	size_t in_len;
	/* What a decoder gives: U+FFFD for each maximal subpart; NUL stays NUL here. */
	const char *out;
	size_t out_len;
	size_t multibyte, invalid, nul;
} Utf8Case;

#define CASE(name, in, out, mb, inv, nul)                                                          \
	{                                                                                          \
		name, in, sizeof (in) - 1, out, sizeof (out) - 1, mb, inv, nul                     \
	}

static const Utf8Case cases[] = {
	CASE ("empty", "", "", 0, 0, 0),
	CASE ("ascii", "abc", "abc", 0, 0, 0),
	CASE ("two-byte", "\xC3\xA9", "\xC3\xA9", 1, 0, 0),
	CASE ("three-byte", "\xE2\x82\xAC", "\xE2\x82\xAC", 1, 0, 0),
	CASE ("four-byte", "\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80", 1, 0, 0),
	CASE ("U+0080", "\xC2\x80", "\xC2\x80", 1, 0, 0),
	CASE ("U+07FF", "\xDF\xBF", "\xDF\xBF", 1, 0, 0),
	CASE ("U+0800", "\xE0\xA0\x80", "\xE0\xA0\x80", 1, 0, 0),
	CASE ("U+D7FF", "\xED\x9F\xBF", "\xED\x9F\xBF", 1, 0, 0),
	CASE ("U+E000", "\xEE\x80\x80", "\xEE\x80\x80", 1, 0, 0),
	CASE ("U+FFFF is a noncharacter, still valid", "\xEF\xBF\xBF", "\xEF\xBF\xBF", 1, 0, 0),
	CASE ("U+10000", "\xF0\x90\x80\x80", "\xF0\x90\x80\x80", 1, 0, 0),
	CASE ("U+10FFFF", "\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF", 1, 0, 0),
	/* The brief's and Unicode's examples. */
	CASE ("F0 80 80: F0 cannot take 80", "\xF0\x80\x80", R R R, 0, 3, 0),
	CASE ("E1 80 41: truncated, then A", "\xE1\x80\x41", R "A", 0, 1, 0),
	CASE ("ED A0 80: surrogate", "\xED\xA0\x80", R R R, 0, 3, 0),
	CASE ("ED BF BF: last surrogate", "\xED\xBF\xBF", R R R, 0, 3, 0),
	CASE ("CESU pair", "\xED\xA0\xBD\xED\xB8\x80", R R R R R R, 0, 6, 0),
	CASE ("F4 90 80 80: above U+10FFFF", "\xF4\x90\x80\x80", R R R R, 0, 4, 0),
	CASE ("F5 80 80 80: above U+10FFFF", "\xF5\x80\x80\x80", R R R R, 0, 4, 0),
	CASE ("C0 AF: overlong /", "\xC0\xAF", R R, 0, 2, 0),
	CASE ("C1 BF: overlong", "\xC1\xBF", R R, 0, 2, 0),
	CASE ("E0 80 AF: overlong /", "\xE0\x80\xAF", R R R, 0, 3, 0),
	CASE ("E0 9F BF: overlong U+07FF", "\xE0\x9F\xBF", R R R, 0, 3, 0),
	CASE ("F0 8F BF BF: overlong U+FFFF", "\xF0\x8F\xBF\xBF", R R R R, 0, 4, 0),
	CASE ("F1 80 80 at the end", "\xF1\x80\x80", R, 0, 1, 0),
	CASE ("F1 80 80 then A", "\xF1\x80\x80\x41", R "A", 0, 1, 0),
	CASE ("C2 at the end", "\xC2", R, 0, 1, 0),
	CASE ("E0 A0 at the end", "\xE0\xA0", R, 0, 1, 0),
	CASE ("C2 41", "\xC2\x41", R "A", 0, 1, 0),
	CASE ("lone continuation bytes", "\x80\xBF", R R, 0, 2, 0),
	CASE ("FE FF", "\xFE\xFF", R R, 0, 2, 0),
	CASE ("5-byte form", "\xF8\x88\x80\x80\x80", R R R R R, 0, 5, 0),
	CASE ("6-byte form", "\xFC\x84\x80\x80\x80\x80", R R R R R R, 0, 6, 0),
	/* Unicode 15, section 3.9, Table 3-8 and the text around it. */
	CASE ("Table 3-8", "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
	      "a" R R R "b" R "c" R R "d", 0, 6, 0),
	CASE ("NUL is valid, and counted", "a\0b\0", "a\0b\0", 0, 0, 2),
	CASE ("NUL after a sequence", "\xC3\xA9\0", "\xC3\xA9\0", 1, 0, 1),
	CASE ("sequence cut by NUL", "\xE2\x82\0", R "\0", 0, 1, 1),
	CASE ("mixed", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xFF!",
	      "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 " R "!", 3, 1, 0),
};

/* A decoder built on _mimeutf8_utf8_invalid_len alone: if its output is right, the subparts the
 * function reports are the maximal ones. */
static GString *
decode (const guint8 *data, size_t len)
{
	GString *out = g_string_new (NULL);
	size_t i = 0;

	while (i < len) {
		int r = _mimeutf8_utf8_invalid_len (data + i, len - i);

		if (r < 0) {
			g_string_append (out, R);
			break;
		}
		if (r == 0) {
			size_t n = data[i] < 0x80 ? 1 : data[i] < 0xE0 ? 2 : data[i] < 0xF0 ? 3 : 4;

			g_string_append_len (out, (const char *) data + i, (gssize) n);
			i += n;
		} else {
			g_string_append (out, R);
			i += (size_t) r;
		}
	}
	return out;
}

static void
test_utf8__cases (void **state)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		const Utf8Case *c = &cases[i];
		_MimeUtf8Scan scan;
		GString *out = decode ((const guint8 *) c->in, c->in_len);

		if (out->len != c->out_len || memcmp (out->str, c->out, c->out_len) != 0)
			fail_msg ("%s: the subparts are not the maximal ones", c->name);
		g_string_free (out, TRUE);
		_mimeutf8_utf8_scan ((const guint8 *) c->in, c->in_len, &scan);
		if (scan.multibyte != c->multibyte || scan.invalid != c->invalid)
			fail_msg ("%s: scan counts %zu multibyte, %zu invalid; want %zu, %zu",
				  c->name, scan.multibyte, scan.invalid, c->multibyte, c->invalid);
		assert_int_equal (scan.nul, c->nul);
	}
}

/* The same cases inside long ASCII, at every alignment, so the word-at-a-time paths meet them. */
static void
test_utf8__cases_in_ascii (void **state)
{
	size_t i, pad;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		const Utf8Case *c = &cases[i];

		for (pad = 0; pad < 40; pad++) {
			GString *s = g_string_new (NULL);
			_MimeUtf8Scan scan;

			g_string_append_len (s, "0123456789abcdefghijklmnopqrstuvwxyzABCD",
					     (gssize) pad);
			g_string_append_len (s, c->in, (gssize) c->in_len);
			_mimeutf8_utf8_scan ((const guint8 *) s->str, s->len, &scan);
			assert_int_equal (scan.multibyte, c->multibyte);
			assert_int_equal (scan.invalid, c->invalid);
			assert_int_equal (scan.nul, c->nul);
			g_string_append (s, "0123456789abcdefghijklmnopqrstuvwxyz0123456789");
			_mimeutf8_utf8_scan ((const guint8 *) s->str, s->len, &scan);
			assert_int_equal (scan.multibyte, c->multibyte);
			assert_int_equal (scan.nul, c->nul);
			/* A sequence cut at the end of the case is still one subpart when ASCII
			 * follows, so the count does not change. */
			assert_int_equal (scan.invalid, c->invalid);
			g_string_free (s, TRUE);
		}
	}
}

typedef struct {
	const char *in;
	size_t len;
	int expected;
} InvalidLenCase;

#define IL(in, expected)                                                                           \
	{                                                                                          \
		in, sizeof (in) - 1, expected                                                      \
	}

static void
test_utf8__invalid_len (void **state)
{
	static const InvalidLenCase il[] = {
		IL ("", -1),
		IL ("a", 0),
		IL ("\0", 0),
		IL ("\xC3\xA9", 0),
		IL ("\xC3\xA9z", 0),
		IL ("\xC3", -1),
		IL ("\xE2\x82", -1),
		IL ("\xF0\x9F\x98", -1),
		IL ("\xF1\x80\x80", -1),
		IL ("\xF4\x8F", -1),
		IL ("\xF0\x80", 1),
		IL ("\xE1\x80\x41", 2),
		IL ("\xE1\x80\xC2", 2),
		IL ("\xED\xA0", 1),
		IL ("\xED\x9F", -1),
		IL ("\xF4\x90", 1),
		IL ("\xF1\x80\x80\x41", 3),
		IL ("\xC0", 1),
		IL ("\xC1\xBF", 1),
		IL ("\xC2\x62", 1),
		IL ("\x80", 1),
		IL ("\xF5", 1),
		IL ("\xF8\x88\x80\x80\x80", 1),
		IL ("\xFF", 1),
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (il); i++) {
		int got = _mimeutf8_utf8_invalid_len ((const guint8 *) il[i].in, il[i].len);

		if (got != il[i].expected)
			fail_msg ("case %zu: %d, want %d", i, got, il[i].expected);
	}
}

/* Every code point, encoded by GLib: valid exactly when it is a scalar value. */
static void
test_utf8__every_code_point (void **state)
{
	gunichar c;

	for (c = 1; c < 0x110000; c++) {
		char buf[8];
		int n;
		_MimeUtf8Scan scan;

		if (c >= 0xD800 && c <= 0xDFFF)
			continue;
		n = g_unichar_to_utf8 (c, buf);
		_mimeutf8_utf8_scan ((const guint8 *) buf, (size_t) n, &scan);
		assert_int_equal (scan.invalid, 0);
		assert_int_equal (scan.multibyte, c >= 0x80);
		assert_int_equal (_mimeutf8_utf8_invalid_len ((const guint8 *) buf, (size_t) n), 0);
		if (n > 1)
			assert_int_equal (
				_mimeutf8_utf8_invalid_len ((const guint8 *) buf, (size_t) n - 1),
				-1);
	}
}

/* Every 2- and 3-byte string: our verdict agrees with GLib's validator, which also follows the
 * Unicode definition (and takes NUL as the end, hence the exclusion). */
static void
test_utf8__agrees_with_glib (void **state)
{
	guint32 v;

	for (v = 0; v < 0x1000000; v++) {
		guint8 buf[3] = { (guint8) (v >> 16), (guint8) (v >> 8), (guint8) v };
		_MimeUtf8Scan scan;
		gboolean ours, glib;

		if (buf[0] == 0 || buf[1] == 0 || buf[2] == 0)
			continue;
		_mimeutf8_utf8_scan (buf, 3, &scan);
		ours = scan.invalid == 0;
		glib = g_utf8_validate ((const char *) buf, 3, NULL);
		if (ours != glib)
			fail_msg ("%02X %02X %02X: ours %d, glib %d", buf[0], buf[1], buf[2], ours,
				  glib);
	}
}

static void
test_utf8__ascii_prefix (void **state)
{
	guint8 buf[200];
	size_t offset, len, k;

	memset (buf, 'a', sizeof buf);
	for (offset = 0; offset < 16; offset++) {
		for (len = 0; len <= 150; len++) {
			assert_int_equal (_mimeutf8_ascii_prefix (buf + offset, len), len);
			for (k = 0; k < len; k++) {
				buf[offset + k] = 0x80 + (guint8) (k % 0x80);
				assert_int_equal (_mimeutf8_ascii_prefix (buf + offset, len), k);
				buf[offset + k] = 0;
				/* NUL is ASCII. */
				assert_int_equal (_mimeutf8_ascii_prefix (buf + offset, len), len);
				buf[offset + k] = 'a';
			}
		}
	}
	/* A high byte just past the end is not looked at. */
	buf[100] = 0xFF;
	assert_int_equal (_mimeutf8_ascii_prefix (buf, 100), 100);
	assert_int_equal (_mimeutf8_ascii_prefix (buf, 101), 100);
}

/* NUL counting at every position of words and around them. */
static void
test_utf8__nul_everywhere (void **state)
{
	guint8 buf[80];
	size_t offset, k, len = 50;

	memset (buf, 'x', sizeof buf);
	for (offset = 0; offset < 8; offset++) {
		for (k = 0; k < len; k++) {
			_MimeUtf8Scan scan;

			buf[offset + k] = 0;
			_mimeutf8_utf8_scan (buf + offset, len, &scan);
			assert_int_equal (scan.nul, 1);
			assert_int_equal (scan.invalid, 0);
			buf[offset + k] = 'x';
		}
	}
}

static void
test_utf8__scan_long (void **state)
{
	GString *s = g_string_new (NULL);
	_MimeUtf8Scan scan;
	int i;

	for (i = 0; i < 10000; i++)
		g_string_append (s, "plain text, and some \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80.\n");
	_mimeutf8_utf8_scan ((const guint8 *) s->str, s->len, &scan);
	assert_int_equal (scan.multibyte, 30000);
	assert_int_equal (scan.invalid, 0);
	assert_int_equal (scan.nul, 0);
	g_string_free (s, TRUE);
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_utf8__cases),
		cmocka_unit_test (test_utf8__cases_in_ascii),
		cmocka_unit_test (test_utf8__invalid_len),
		cmocka_unit_test (test_utf8__every_code_point),
		cmocka_unit_test (test_utf8__agrees_with_glib),
		cmocka_unit_test (test_utf8__ascii_prefix),
		cmocka_unit_test (test_utf8__nul_everywhere),
		cmocka_unit_test (test_utf8__scan_long),
	};

	return cmocka_run_group_tests (tests, NULL, NULL);
}
