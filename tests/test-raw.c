/* test-raw.c: the raw-bytes layer on byte strings, without GMime: fields and their values,
 * parameters, CFWS and quotes, and the forms every reader reads the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "mimeutf8-private.h"
#include "test-skip.h"

#define RAW(s) ((const guint8 *) (s))

static void
test_raw__field_end (void **state)
{
	static const struct {
		const char *raw;
		size_t start, end;
	} cases[] = {
		{ "A: b\nC: d\n", 0, 5 },
		{ "A: b\n c\nD: e\n", 0, 8 }, /* a folded line belongs to the field */
		{ "A: b\r\n\tc\r\nD: e\r\n", 0, 10 },
		{ "A: b\nC: d\n", 5, 10 },
		{ "A: b", 0, 4 },   /* no newline: the end of the bytes */
		{ "A: b\n", 0, 5 }, /* the last line */
		{ "A: b\n\nbody\n", 0, 5 },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++)
		assert_int_equal (_mimeutf8_raw_field_end (RAW (cases[i].raw),
							   strlen (cases[i].raw), cases[i].start),
				  cases[i].end);
}

static void
test_raw__field_value (void **state)
{
	static const struct {
		const char *raw;
		const char *name;
		gboolean found;
		const char *value; /* the bytes between the bounds */
	} cases[] = {
		{ "Content-Type: text/plain\n", "Content-Type", TRUE, " text/plain" },
		{ "content-type: text/plain\r\n", "Content-Type", TRUE, " text/plain" },
		{ "Content-Type : x\n", "Content-Type", TRUE, " x" }, /* blanks before the colon */
		{ "Content-Type: a;\n b\nX: y\n", "Content-Type", TRUE, " a;\n b" },
		{ "Content-Typo: x\n", "Content-Type", FALSE, NULL },
		{ "Content-Type-X: x\n", "Content-Type", FALSE, NULL },
		{ "Content-Type", "Content-Type", FALSE, NULL },
		{ "Content-Type:", "Content-Type", TRUE, "" },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		size_t start = 0, end = 0;
		gboolean found = _mimeutf8_raw_field_value (
			RAW (cases[i].raw), strlen (cases[i].raw), 0, cases[i].name, &start, &end);

		assert_int_equal (found, cases[i].found);
		if (found) {
			assert_int_equal (end - start, strlen (cases[i].value));
			assert_memory_equal (cases[i].raw + start, cases[i].value, end - start);
		}
	}
}

static void
test_raw__same_value (void **state)
{
	static const struct {
		const char *raw, *parsed;
		gboolean same;
	} cases[] = {
		{ " text/plain", "text/plain", TRUE },
		{ " a;\r\n b ", "a;\n b", TRUE }, /* carriage returns and outer blanks aside */
		{ "text/plain", "text/html", FALSE },
		{ "text/plain", "text/plai", FALSE },
		{ "", "", TRUE },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++)
		assert_int_equal (_mimeutf8_raw_same_value (RAW (cases[i].raw),
							    strlen (cases[i].raw), cases[i].parsed),
				  cases[i].same);
}

static void
test_raw__skip_cfws (void **state)
{
	static const struct {
		const char *v;
		size_t from, to;
	} cases[] = {
		{ "  x", 0, 2 },
		{ " (a comment) x", 0, 13 },
		{ " (nested (one)) x", 0, 16 },
		{ "(\\) still) x", 0, 11 }, /* a quoted-pair in a comment */
		{ "\r\n\tx", 0, 3 },
		{ "x ", 0, 0 },
		{ " (open", 0, 6 }, /* an open comment runs to the end */
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++)
		assert_int_equal (
			_mimeutf8_raw_skip_cfws (cases[i].v, cases[i].from, strlen (cases[i].v)),
			cases[i].to);
}

static void
test_raw__param_value_end (void **state)
{
	static const struct {
		const char *v;
		size_t end;
	} cases[] = {
		{ "utf-8; x=y", 5 }, { "utf-8 (c)", 5 },  { "utf-8(c)", 5 },
		{ "\"a;b\" x", 5 },  { "\"a\\\"b\"", 6 }, /* an escaped quote */
		{ "\"open", 5 },                          /* an open quote runs to the end */
		{ "iso\r1 x", 5 },                        /* a lone CR belongs to the token */
		{ "iso\r\n x", 3 },                       /* a fold ends it */
		{ "a=b=c;", 5 },     { "", 0 },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++)
		assert_int_equal (
			_mimeutf8_raw_param_value_end (cases[i].v, 0, strlen (cases[i].v)),
			cases[i].end);
}

/* Every parameter next_param finds, as "name=value|". */
static char *
params_of (const char *value)
{
	GString *out = g_string_new (NULL);
	size_t pos = 0, n0, n1, v0, v1, len = strlen (value);

	while (_mimeutf8_raw_next_param (value, len, &pos, &n0, &n1, &v0, &v1))
		g_string_append_printf (out, "%.*s=%.*s|", (int) (n1 - n0), value + n0,
					(int) (v1 - v0), value + v0);
	assert_int_equal (pos, len);
	return g_string_free (out, FALSE);
}

static void
test_raw__next_param (void **state)
{
	static const struct {
		const char *value, *params;
	} cases[] = {
		{ "text/plain; charset=utf-8", "charset=utf-8|" },
		{ "text/plain;charset=\"a;b\"; name=x", "charset=\"a;b\"|name=x|" },
		{ "text/plain; (c; d=e) charset = koi8-r", "charset=koi8-r|" },
		{ "text/plain; x=\"; y=z\"", "x=\"; y=z\"|" },
		{ "text/plain; title*0*=us-ascii'en'a; title*1=b",
		  "title*0*=us-ascii'en'a|title*1=b|" },
		{ "text/plain; novalue; a=b", "a=b|" },
		{ "text/plain;; =x", "" },
		{ "text/plain", "" },
		{ "", "" },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree char *params = params_of (cases[i].value);

		assert_string_equal (params, cases[i].params);
	}
}

static void
test_raw__value_is_balanced (void **state)
{
	static const struct {
		const char *v;
		gboolean balanced;
	} cases[] = {
		{ "text/plain; a=\"b\" (c)", TRUE },
		{ "text/plain; a=\"b", FALSE },
		{ "text/plain (c", FALSE },
		{ "text/plain; a=\"(\"", TRUE },    /* a parenthesis in quotes */
		{ "text/plain (\")", TRUE },        /* a quote in a comment */
		{ "text/plain; a=\"\\\"\"", TRUE }, /* an escaped quote */
		{ "text/plain )", TRUE },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++)
		assert_int_equal (_mimeutf8_raw_value_is_balanced (cases[i].v, strlen (cases[i].v)),
				  cases[i].balanced);
}

/* The charset value starts after "charset=" in each case. */
static void
test_raw__charset_value_end (void **state)
{
	static const struct {
		const char *value;
		gboolean agreed;
		const char *taken; /* what every reader takes as the value */
	} cases[] = {
		{ "charset=utf-8", TRUE, "utf-8" },
		{ "charset=utf-8 ; x=y", TRUE, "utf-8" },
		{ "charset=\"utf-8\"", TRUE, "\"utf-8\"" },
		{ "charset=\"utf-8\" (c); x=y", TRUE, "\"utf-8\" (c)" },
		{ "charset=us-asciiX: y 7bit", TRUE, "us-asciiX: y 7bit" },
		{ "charset=iso-8859-1 name=\"x.txt\"", TRUE, "iso-8859-1 name=\"x.txt\"" },
		{ "charset=\"utf-8\" junk; x=y", FALSE, NULL }, /* text after a quoted string */
		{ "charset=x \"a;b\"", FALSE, NULL }, /* a ';' in quotes, unquoted start */
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		const char *v = cases[i].value;
		size_t end = 0;
		gboolean agreed = _mimeutf8_raw_charset_value_end (v, strlen (v), 8, &end);

		assert_int_equal (agreed, cases[i].agreed);
		if (agreed) {
			assert_int_equal (end - 8, strlen (cases[i].taken));
			assert_memory_equal (v + 8, cases[i].taken, end - 8);
		}
	}
}

static void
test_raw__charset_is_unambiguous (void **state)
{
	static const struct {
		const char *value;
		gboolean unambiguous;
	} cases[] = {
		{ "text/plain; charset=koi8-r", TRUE },
		{ "text/plain", TRUE },
		{ "text/plain; charset=\"koi8-r\" junk", FALSE },
		{ "text/plain; charset=x \"a;b\"", FALSE },
		{ "text/plain; name=\"x\" junk", TRUE }, /* only the charset counts */
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++)
		assert_int_equal (_mimeutf8_raw_value_charset_is_unambiguous (
					  cases[i].value, strlen (cases[i].value)),
				  cases[i].unambiguous);
}

static void
test_raw__find_charset_param (void **state)
{
	static const struct {
		const char *value;
		const char *found; /* NULL when there is none */
	} cases[] = {
		{ "text/plain; charset=koi8-r", "koi8-r" },
		{ "text/plain; CHARSET=\"koi8-r\"; x=y", "\"koi8-r\"" },
		{ "text/plain; x=\"; charset=no\"; charset=yes", "yes" },
		{ "text/plain; charset*=utf-8''x", NULL },
		{ "text/plain; charsets=x", NULL },
		{ "text/plain", NULL },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		size_t start = 0, end = 0;
		gboolean found = _mimeutf8_raw_find_charset_param (
			cases[i].value, strlen (cases[i].value), &start, &end);

		assert_int_equal (found, cases[i].found != NULL);
		if (found) {
			assert_int_equal (end - start, strlen (cases[i].found));
			assert_memory_equal (cases[i].value + start, cases[i].found, end - start);
		}
	}
}

static void
test_raw__content_type_with_utf8 (void **state)
{
	static const struct {
		const char *value, *newline, *out;
	} cases[] = {
		{ " text/plain; charset=koi8-r", "\n", " text/plain; charset=utf-8" },
		/* what readers take as the value goes whole, a comment after the quotes too */
		{ " text/plain; charset=\"koi8-r\" (c); x=y", "\n",
		  " text/plain; charset=\"utf-8\"; x=y" },
		{ " text/plain; charset=iso-8859-1 name=\"x.txt\"", "\n",
		  " text/plain; charset=utf-8" },
		{ " text/plain", "\n", " text/plain; charset=utf-8" },
		{ " text/plain;", "\n", " text/plain; charset=utf-8" },
		{ " text/plain ", "\n",
		  " text/plain; charset=utf-8 " }, /* before trailing blanks */
		{ " text/plain; charset*=koi8-r''x", "\n", " text/plain; charset=utf-8" },
		{ " text/plain; charset=a; charset*=koi8-r''x", "\n",
		  " text/plain; charset=utf-8; x-mimeutf8-old-charset=utf-8" },
		/* a line that would grow past 78 is folded, with the message's newline */
		{ " text/plain; name=\"a-rather-long-file-name-that-fills-the-line.txt\"", "\r\n",
		  " text/plain; name=\"a-rather-long-file-name-that-fills-the-line.txt\";\r\n"
		  "\tcharset=utf-8" },
		/* ... without a second ";" when the value ends in one */
		{ " text/plain; name=\"a-rather-long-file-name-that-fills-the-line.txt\";", "\n",
		  " text/plain; name=\"a-rather-long-file-name-that-fills-the-line.txt\";\n"
		  "\tcharset=utf-8" },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		GString *out = _mimeutf8_raw_content_type_with_utf8 (
			cases[i].value, strlen (cases[i].value), cases[i].newline, NULL);

		assert_string_equal (out->str, cases[i].out);
		g_string_free (out, TRUE);
	}
}

static void
test_raw__value_is_rfc2045 (void **state)
{
	static const struct {
		const char *v;
		gboolean ok;
	} cases[] = {
		{ "text/plain", TRUE },
		{ " text/plain; charset=koi8-r", TRUE },
		{ "text/plain;", TRUE },
		{ "text / plain (c) ; charset = \"a b\" ;", TRUE },
		{ "multipart/mixed; boundary=----=_Part_1", TRUE },
		{ "text/plain;\r\n\tcharset=utf-8", TRUE },
		{ "text", FALSE },
		{ "text/", FALSE },
		{ "text/plain; charsetAkoi8-r", FALSE }, /* a parameter without a value */
		{ "text/plain;; charset=x", FALSE },     /* an empty parameter */
		{ "text/plain; charset=", FALSE },
		{ "text/plain; charset=x y", FALSE },  /* text where a ';' belongs */
		{ "text/plain; charset=\"x", FALSE },  /* an open quote */
		{ "text/plain (c", FALSE },            /* an open comment */
		{ "text/plain; ch\xe4rset=x", FALSE }, /* an 8-bit byte outside quotes */
		{ "text/plain; name=\"\xe4\"", TRUE }, /* and inside them */
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++)
		assert_int_equal (_mimeutf8_raw_value_is_rfc2045 (cases[i].v, strlen (cases[i].v)),
				  cases[i].ok);
}

static void
test_raw__field_name_char (void **state)
{
	assert_true (_mimeutf8_raw_is_field_name_char ('A'));
	assert_true (_mimeutf8_raw_is_field_name_char ('-'));
	assert_true (_mimeutf8_raw_is_field_name_char ('~'));
	assert_false (_mimeutf8_raw_is_field_name_char (':'));
	assert_false (_mimeutf8_raw_is_field_name_char (' '));
	assert_false (_mimeutf8_raw_is_field_name_char (0x7F));
	assert_false (_mimeutf8_raw_is_field_name_char (0xE4));
}

static void
test_raw__top_block_is_clean (void **state)
{
	static const struct {
		const char *raw;
		gboolean clean;
	} cases[] = {
		{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n", TRUE },
		{ "From x\nContent-Type: multipart/mixed; boundary=b\n\n", TRUE },
		{ "Content-Type: multipart/mixed;\n boundary=b\n\n", TRUE },
		{ "garbage\nContent-Type: multipart/mixed; boundary=b\n\n", FALSE },
		{ "Content-Type: multipart/mixed; boundary=b\nX: a\rb\n\n", FALSE }, /* a bare CR */
		{ "Content-Type: multipart/mixed; boundary=b\r\nX: a\r\n\r\n", TRUE },
		{ "Content-Type: multipart/mixed; boundary=b\nX : a\n\n", FALSE },
		/* MIME types are case-insensitive */
		{ "garbage\nContent-Type: MULTIPART/MIXED; boundary=b\n\n", FALSE },
		/* not a multipart: its block is checked where it is rewritten */
		{ "garbage\nContent-Type: text/plain\n\n", TRUE },
		/* after the blank line, the body */
		{ "Content-Type: multipart/mixed; boundary=b\n\ngarbage\n", TRUE },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++)
		assert_int_equal (_mimeutf8_raw_top_block_is_clean (RAW (cases[i].raw),
								    strlen (cases[i].raw)),
				  cases[i].clean);
	/* a NUL in a field */
	assert_false (_mimeutf8_raw_top_block_is_clean (
		RAW ("Content-Type: multipart/mixed; boundary=b\nX: a\0b\n\n"), 52));
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_raw__field_end),
		cmocka_unit_test (test_raw__field_value),
		cmocka_unit_test (test_raw__same_value),
		cmocka_unit_test (test_raw__skip_cfws),
		cmocka_unit_test (test_raw__param_value_end),
		cmocka_unit_test (test_raw__next_param),
		cmocka_unit_test (test_raw__value_is_balanced),
		cmocka_unit_test (test_raw__charset_value_end),
		cmocka_unit_test (test_raw__charset_is_unambiguous),
		cmocka_unit_test (test_raw__find_charset_param),
		cmocka_unit_test (test_raw__content_type_with_utf8),
		cmocka_unit_test (test_raw__value_is_rfc2045),
		cmocka_unit_test (test_raw__field_name_char),
		cmocka_unit_test (test_raw__top_block_is_clean),
	};

	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
