/* test-decide.c: the evidence order for a text part's charset, case by case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "mimeutf8-private.h"

typedef struct {
	const char *what;
	const char *bytes;
	size_t len; /* 0: strlen (bytes) */
	const char *label;
	gboolean html;
	MimeUtf8Policy policy;
	const char *charset; /* expected canonical name; NULL: left alone */
	MimeUtf8Rule rule;
	size_t skip;
} Case;

/* Russian, French and Japanese text in their legacy encodings, long enough for detection. */
#define KOI8R_TEXT                                                                                 \
	"\xf0\xd2\xc9\xd7\xc5\xd4, \xcb\xc1\xcb \xc4\xc5\xcc\xc1? \xf7\xd3\xd4\xd2\xc5\xde\xc1 "   \
	"\xda\xc1\xd7\xd4\xd2\xc1 \xd7 \xc4\xc5\xd3\xd1\xd4\xd8 \xde\xc1\xd3\xcf\xd7. "            \
	"\xf3\xd0\xc1\xd3\xc9\xc2\xcf \xda\xc1 \xd0\xc9\xd3\xd8\xcd\xcf \xc9 \xc4\xcf\xcb\xd5"     \
	"\xcd\xc5\xce\xd4\xd9.\n"
#define SJIS_TEXT                                                                                  \
	"\x89\xef\x8b\x63\x82\xcc\x8e\x91\x97\xbf\x82\xf0\x93\x59\x95\x74\x82\xb5\x82\xdc\x82\xb7" \
	"\x81\x42\x97\x5c\x92\xe8\x82\xf0\x8a\x6d\x94\x46\x82\xb5\x82\xc4\x82\xad\x82\xbe\x82\xb3" \
	"\x82\xa2\x81\x42\n"

#define EUCJP_TEXT                                                                                 \
	"\xb2\xf1\xb5\xc4\xa4\xce\xbb\xf1\xce\xc1\xa4\xf2\xc5\xba\xc9\xd5\xa4\xb7\xa4\xde\xa4\xb9" \
	"\xa1\xa3\xcd\xbd\xc4\xea\xa4\xf2\xb3\xce\xc7\xa7\xa4\xb7\xa4\xc6\xa4\xaf\xa4\xc0\xa4\xb5" \
	"\xa4\xa4\xa1\xa3\x0a"

static const Case cases[] = {
	{ "utf-8 bom beats a latin1 label",
	  "\xef\xbb\xbf"
	  "caf\xc3\xa9",
	  0, "iso-8859-1", FALSE, MIMEUTF8_POLICY_LENIENT, "utf-8", MIMEUTF8_RULE_BOM, 3 },
	{ "utf-16le bom", "\xff\xfeh\0i\0", 6, NULL, FALSE, MIMEUTF8_POLICY_LENIENT, "utf-16le",
	  MIMEUTF8_RULE_BOM, 2 },
	{ "utf-16be bom", "\xfe\xff\0h\0i", 6, "utf-16", FALSE, MIMEUTF8_POLICY_LENIENT, "utf-16be",
	  MIMEUTF8_RULE_BOM, 2 },
	{ "ascii under a latin1 label", "plain text\n", 0, "iso-8859-1", FALSE,
	  MIMEUTF8_POLICY_LENIENT, "utf-8", MIMEUTF8_RULE_ASCII, 0 },
	{ "ascii without label", "plain text\n", 0, NULL, FALSE, MIMEUTF8_POLICY_LENIENT, "utf-8",
	  MIMEUTF8_RULE_ASCII, 0 },
	{ "ascii bytes under iso-2022-jp are decoded with it", "\x1b$B$3$s\x1b(B\n", 0,
	  "iso-2022-jp", FALSE, MIMEUTF8_POLICY_LENIENT, "iso-2022-jp", MIMEUTF8_RULE_LABEL, 0 },
	{ "ascii bytes under utf-7 are decoded with it", "Hi +AOk-\n", 0, "unicode-1-1-utf-7",
	  FALSE, MIMEUTF8_POLICY_LENIENT, "utf-7", MIMEUTF8_RULE_LABEL, 0 },
	{ "unlabelled iso-2022-jp is recognized", "\x1b$B$3$s$K$A$O\x1b(B\n", 0, NULL, FALSE,
	  MIMEUTF8_POLICY_LENIENT, "iso-2022-jp", MIMEUTF8_RULE_DETECTED, 0 },
	{ "valid utf-8 beats a latin1 label", "caf\xc3\xa9 cr\xc3\xa8me\n", 0, "iso-8859-1", FALSE,
	  MIMEUTF8_POLICY_LENIENT, "utf-8", MIMEUTF8_RULE_UTF8, 0 },
	{ "utf-8 with a stray byte under a latin1 label is utf-8",
	  "caf\xc3\xa9 cr\xc3\xa8me \xff br\xc3\xbbl\xc3\xa9"
	  "e\n",
	  0, "iso-8859-1", FALSE, MIMEUTF8_POLICY_LENIENT, "utf-8", MIMEUTF8_RULE_UTF8, 0 },
	{ "one utf-8 sequence for one stray byte is not utf-8", "\xc3\xa9t\xe9\n", 0, "iso-8859-1",
	  FALSE, MIMEUTF8_POLICY_LENIENT, "windows-1252", MIMEUTF8_RULE_LABEL, 0 },
	{ "valid utf-8 without label", "caf\xc3\xa9\n", 0, NULL, FALSE, MIMEUTF8_POLICY_LENIENT,
	  "utf-8", MIMEUTF8_RULE_UTF8, 0 },
	{ "a multi-byte label is kept over utf-8 sniffing", SJIS_TEXT, 0, "shift_jis", FALSE,
	  MIMEUTF8_POLICY_LENIENT, "shift_jis", MIMEUTF8_RULE_LABEL, 0 },
	{ "latin1 label means windows-1252", "caf\xe9 \x93quoted\x94\n", 0, "latin1", FALSE,
	  MIMEUTF8_POLICY_LENIENT, "windows-1252", MIMEUTF8_RULE_LABEL, 0 },
	{ "alias label", KOI8R_TEXT, 0, "KOI8_R", FALSE, MIMEUTF8_POLICY_LENIENT, "koi8-r",
	  MIMEUTF8_RULE_LABEL, 0 },
	{ "utf-8 label with one bad byte keeps utf-8", "caf\xc3\xa9 cr\xc3\xa8me \xff ok\n", 0,
	  "utf-8", FALSE, MIMEUTF8_POLICY_LENIENT, "utf-8", MIMEUTF8_RULE_LABEL, 0 },
	{ "utf-8 label on koi8-r text goes to detection", KOI8R_TEXT, 0, "utf-8", FALSE,
	  MIMEUTF8_POLICY_LENIENT, "koi8-r", MIMEUTF8_RULE_DETECTED, 0 },
	{ "unlabelled shift_jis is detected", SJIS_TEXT SJIS_TEXT, 0, NULL, FALSE,
	  MIMEUTF8_POLICY_LENIENT, "shift_jis", MIMEUTF8_RULE_DETECTED, 0 },
	{ "little 8-bit evidence falls back", "caf\xe9\n", 0, NULL, FALSE, MIMEUTF8_POLICY_LENIENT,
	  "windows-1252", MIMEUTF8_RULE_FALLBACK, 0 },
	{ "unknown label counts as none", "caf\xe9\n", 0, "x-unknown", FALSE,
	  MIMEUTF8_POLICY_LENIENT, "windows-1252", MIMEUTF8_RULE_FALLBACK, 0 },
	{ "html meta is evidence", "<meta charset=\"koi8-r\">" KOI8R_TEXT, 0, NULL, TRUE,
	  MIMEUTF8_POLICY_LENIENT, "koi8-r", MIMEUTF8_RULE_META, 0 },
	/* Issue 9, item 2: a 7-bit label over 8-bit bytes is evidence of nothing. */
	{ "utf-8 under an iso-2022-jp label is utf-8",
	  "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf\n", 0, "iso-2022-jp", FALSE,
	  MIMEUTF8_POLICY_LENIENT, "utf-8", MIMEUTF8_RULE_UTF8, 0 },
	{ "utf-8 under a utf-7 label is utf-8", "caf\xc3\xa9 cr\xc3\xa8me\n", 0, "utf-7", FALSE,
	  MIMEUTF8_POLICY_LENIENT, "utf-8", MIMEUTF8_RULE_UTF8, 0 },
	{ "utf-8 under an iso-2022-kr label is utf-8", "caf\xc3\xa9\n", 0, "iso-2022-kr", FALSE,
	  MIMEUTF8_POLICY_LENIENT, "utf-8", MIMEUTF8_RULE_UTF8, 0 },
	{ "euc-jp under an iso-2022-jp label is detected", EUCJP_TEXT EUCJP_TEXT, 0, "iso-2022-jp",
	  FALSE, MIMEUTF8_POLICY_LENIENT, "euc-jp", MIMEUTF8_RULE_DETECTED, 0 },
	{ "declared: an iso-2022-jp label is trusted even on 8-bit bytes", "caf\xc3\xa9\n", 0,
	  "iso-2022-jp", FALSE, MIMEUTF8_POLICY_DECLARED, "iso-2022-jp", MIMEUTF8_RULE_LABEL, 0 },
	/* An unknown label, and the part's <meta> and detection agree: that charset, even though
	 * one byte does not decode (issue 9, labels). */
	{ "meta and detection agree under an unknown label",
	  "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=big5\"></head"
	  "><body>\263o\254O\244@\253\312\264\372\270\325\266l\245\363\241A\275\320\254d\246\254"
	  "\252\376\245\363\244\244\252\272\267|\304\263\270\352\256\306\241C\247\332\255\314\244U"
	  "\266g\244G\244U\244\310\244T\302I\377\246b\245x\245_\277\354\244\275\253\307\266}\267|"
	  "\241A\260Q\275\327\251\372\246~\252\272\271w\272\342\273P\255p\265e\241C\301\302\301\302"
	  "\261z\252\272\250\363\247U\241I</body></html>\012",
	  0, "x-chinese-big5-custom", TRUE, MIMEUTF8_POLICY_LENIENT, "big5", MIMEUTF8_RULE_META,
	  0 },
	/* Detection on a few 8-bit bytes, and the letters where an ISO-8859-x charset and its
	 * Windows code page differ (issue 9, detection). */
	{ "a line of Turkish is windows-1254, not the fallback",
	  "Art\375k bu konuda konu\376mak istemiyorum, l\374tfen beni anlay\375n.\012", 0, NULL,
	  FALSE, MIMEUTF8_POLICY_LENIENT, "windows-1254", MIMEUTF8_RULE_DETECTED, 0 },
	{ "a line of Lithuanian is iso-8859-13",
	  "Labai a\350i\373 u\376 j\373s\370 lai\360k\340, atsakysiu rytoj.\012", 0, NULL, FALSE,
	  MIMEUTF8_POLICY_LENIENT, "iso-8859-13", MIMEUTF8_RULE_DETECTED, 0 },
	{ "a line of Polish is windows-1250",
	  "Dzi\352kuj\352 za wiadomo\234\346, odpowiem jutro.\012", 0, NULL, FALSE,
	  MIMEUTF8_POLICY_LENIENT, "windows-1250", MIMEUTF8_RULE_DETECTED, 0 },
	{ "czech without c1 bytes is iso-8859-2",
	  "D\354kuji za va\271i zpr\341vu, odpov\355m z\355tra. Pros\355m vypl\362te tento form"
	  "ul\341\370 a vra\273te jej do p\341tku. \256lu\273ou\350k\375 k\371\362 \372p\354l "
	  "\357\341belsk\351 \363dy.\012",
	  0, NULL, FALSE, MIMEUTF8_POLICY_LENIENT, "iso-8859-2", MIMEUTF8_RULE_DETECTED, 0 },
	{ "greek with windows quotes is windows-1253",
	  "\270\367\357\365\354\345 \363\364\345\337\353\345\351 \364\341 \223\335\343\343\361"
	  "\341\366\341\224 \363\364\357 \343\361\341\366\345\337\357 \363\341\362 \226 \345"
	  "\365\367\341\361\351\363\364\376 \343\351\341 \364\357 \354\336\355\365\354\334 \363"
	  "\341\362\205\012",
	  0, NULL, FALSE, MIMEUTF8_POLICY_LENIENT, "windows-1253", MIMEUTF8_RULE_DETECTED, 0 },
	{ "two umlauts stay windows-1252", "Vielen Dank f\374r Ihre Nachricht, Gr\374\337e.\012", 0,
	  NULL, FALSE, MIMEUTF8_POLICY_LENIENT, "windows-1252", MIMEUTF8_RULE_DETECTED, 0 },
	{ "declared: the label even on utf-8 bytes", "caf\xc3\xa9\n", 0, "iso-8859-1", FALSE,
	  MIMEUTF8_POLICY_DECLARED, "windows-1252", MIMEUTF8_RULE_LABEL, 0 },
	{ "declared: no label is the fallback", "caf\xe9\n", 0, NULL, FALSE,
	  MIMEUTF8_POLICY_DECLARED, "windows-1252", MIMEUTF8_RULE_FALLBACK, 0 },
	{ "strict: clean bytes convert", KOI8R_TEXT, 0, "koi8-r", FALSE, MIMEUTF8_POLICY_STRICT,
	  "koi8-r", MIMEUTF8_RULE_LABEL, 0 },
	{ "strict: invalid bytes are left alone", "caf\xc3\xa9 \xff\n", 0, "utf-8", FALSE,
	  MIMEUTF8_POLICY_STRICT, NULL, MIMEUTF8_RULE_LABEL, 0 },
	{ "strict: 8-bit without label is left alone", "caf\xe9\n", 0, NULL, FALSE,
	  MIMEUTF8_POLICY_STRICT, NULL, MIMEUTF8_RULE_NONE, 0 },
	/* Under the declared policy a byte-order mark counts only when it agrees with the label:
	 * a UTF-16 mark agrees with the other UTF-16 label, a UTF-8 one not with a latin1 label */
	{ "declared: a utf-16le bom under a utf-16be label", "\xff\xfeh\0i\0", 6, "utf-16be", FALSE,
	  MIMEUTF8_POLICY_DECLARED, "utf-16le", MIMEUTF8_RULE_BOM, 2 },
	{ "declared: a utf-8 bom under a latin1 label is latin1",
	  "\xef\xbb\xbf"
	  "caf\xe9\n",
	  0, "iso-8859-1", FALSE, MIMEUTF8_POLICY_DECLARED, "windows-1252", MIMEUTF8_RULE_LABEL,
	  0 },
	/* <meta> as browsers read it: blanks around "=", single quotes, an attribute merely named
	 * charset before the real one, a tag without its ">" at the end */
	{ "html meta with blanks and single quotes", "<meta charset = 'koi8-r'>" KOI8R_TEXT, 0,
	  NULL, TRUE, MIMEUTF8_POLICY_LENIENT, "koi8-r", MIMEUTF8_RULE_META, 0 },
	{ "html meta after one whose charset has no value",
	  "<meta name=charset><meta charset=koi8-r>" KOI8R_TEXT, 0, NULL, TRUE,
	  MIMEUTF8_POLICY_LENIENT, "koi8-r", MIMEUTF8_RULE_META, 0 },
	/* a <meta> naming UTF-16 (whose bytes would not be ASCII-compatible) is no evidence */
	{ "html meta naming utf-16 is ignored", "<meta charset=utf-16>" KOI8R_TEXT, 0, "koi8-r",
	  TRUE, MIMEUTF8_POLICY_LENIENT, "koi8-r", MIMEUTF8_RULE_LABEL, 0 },
	{ "unlabelled iso-2022-jp with only a JIS Roman escape is recognized",
	  "abc \x1b(Jxyz\x1b(B\n", 0, NULL, FALSE, MIMEUTF8_POLICY_LENIENT, "iso-2022-jp",
	  MIMEUTF8_RULE_DETECTED, 0 },
	{ "an escape that is no iso-2022-jp designation is plain ascii", "abc \x1b[0m xyz\n", 0,
	  NULL, FALSE, MIMEUTF8_POLICY_LENIENT, "utf-8", MIMEUTF8_RULE_ASCII, 0 },
};

static void
test_decide__cases (void **state)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		const Case *c = &cases[i];
		MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
		_MimeUtf8Evidence evidence = { c->label, c->html, NULL, 0 };
		_MimeUtf8Decision decision;
		size_t len = c->len ? c->len : strlen (c->bytes);

		options.policy = c->policy;
		_mimeutf8_decide (&options, (const guint8 *) c->bytes, len, &evidence, &decision);
		print_message ("case: %s\n", c->what);
		if (c->charset == NULL) {
			assert_true (decision.leave_alone);
			assert_non_null (decision.reason);
			continue;
		}
		assert_false (decision.leave_alone);
		assert_non_null (decision.charset);
		assert_string_equal (decision.charset->name, c->charset);
		assert_int_equal (decision.rule, c->rule);
		assert_int_equal (decision.skip, c->skip);
	}
}

static void
test_decide__message_evidence (void **state)
{
	/* an unlabelled part of a message that declares windows-1251 elsewhere */
	static const char text[] = "\xcf\xf0\xe8\xe2\xe5\xf2 \xec\xe8\xf0\n";
	const _MimeUtf8Charset *message[] = { _mimeutf8_charset_by_name ("windows-1251") };
	_MimeUtf8Evidence evidence = { NULL, FALSE, message, 1 };
	_MimeUtf8Decision decision;

	_mimeutf8_decide (NULL, (const guint8 *) text, strlen (text), &evidence, &decision);
	assert_string_equal (decision.charset->name, "windows-1251");
	/* DETECTED, not MESSAGE: the detector is sure of these nine high bytes on its own
	 * (DETECT_SURE_HIGH_BYTES) and they decode cleanly; the message's label only agrees with it.
	 * The report names the evidence that decided, the part's own bytes; MESSAGE is for a part
	 * whose bytes alone decide nothing */
	assert_int_equal (decision.rule, MIMEUTF8_RULE_DETECTED);

	/* one high byte is below DETECT_MIN_HIGH_BYTES: the message's other label decides */
	_mimeutf8_decide (NULL, (const guint8 *) "\xe0\n", 2, &evidence, &decision);
	assert_string_equal (decision.charset->name, "windows-1251");
	assert_int_equal (decision.rule, MIMEUTF8_RULE_MESSAGE);
}

static void
test_decide__fallback_option (void **state)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	_MimeUtf8Evidence evidence = { NULL, FALSE, NULL, 0 };
	_MimeUtf8Decision decision;

	options.fallback_charset = "koi8-r";
	_mimeutf8_decide (&options, (const guint8 *) "\xf0\n", 2, &evidence, &decision);
	assert_string_equal (decision.charset->name, "koi8-r");
	assert_int_equal (decision.rule, MIMEUTF8_RULE_FALLBACK);
}

static void
test_decide__html_meta_prescan (void **state)
{
	static const char html[] = "<html><head><META http-equiv=\"Content-Type\" "
				   "content=\"text/html; charset=ISO-8859-2\"></head>";
	GString *late = g_string_new (NULL);
	size_t start, end;

	assert_true (
		_mimeutf8_html_meta_charset ((const guint8 *) html, strlen (html), &start, &end));
	assert_int_equal (end - start, strlen ("ISO-8859-2"));
	assert_memory_equal (html + start, "ISO-8859-2", end - start);
	/* past the 1024-byte prescan window a <meta> is not looked at, as browsers do */
	g_string_append_printf (late, "%*s<meta charset=koi8-r>", 1100, "");
	assert_false (
		_mimeutf8_html_meta_charset ((const guint8 *) late->str, late->len, &start, &end));
	g_string_free (late, TRUE);
	/* a tag cut off at the end of the text is read up to there */
	assert_true (_mimeutf8_html_meta_charset ((const guint8 *) "<meta charset=koi8-r", 20,
						  &start, &end));
	assert_int_equal (start, 14);
	assert_int_equal (end, 20);
	/* "charset" without "=", or "=" without a value, names nothing */
	assert_false (_mimeutf8_html_meta_charset ((const guint8 *) "<meta charset><p>", 17, &start,
						   &end));
	assert_false (_mimeutf8_html_meta_charset ((const guint8 *) "<meta charset=\"\">", 17,
						   &start, &end));
}

static void
test_decide__convert_text (void **state)
{
	g_autoptr (GByteArray) out = g_byte_array_new ();
	MimeUtf8ConvertStats stats;
	const char *charset = NULL;
	GError *error = NULL;

	assert_int_equal (mimeutf8_convert_text (NULL, "latin1", "caf\xe9\x80", 5, out, &stats,
						 &charset, &error),
			  MIMEUTF8_CONVERT_OK);
	assert_string_equal (charset, "windows-1252");
	assert_int_equal (out->len, strlen ("caf\xc3\xa9\xe2\x82\xac"));
	assert_memory_equal (out->data, "caf\xc3\xa9\xe2\x82\xac", out->len);
	assert_int_equal (stats.replacements, 0);
}

/* A run of NUL bytes at the end of a body is padding, dropped rather than replaced; a NUL inside
 * the text is still one U+FFFD (issue 9). */
static void
test_decide__nul_padding (void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *label;
		const char *charset;
		MimeUtf8Rule rule;
		size_t pad_start, pad_len;
	} padded[] = {
		{ "abc\0\0\0", 6, NULL, "utf-8", MIMEUTF8_RULE_ASCII, 3, 3 },
		{ "abc\0\0\0\r\n", 8, NULL, "utf-8", MIMEUTF8_RULE_ASCII, 3, 3 },
		{ "abc\r\n", 5, NULL, "utf-8", MIMEUTF8_RULE_ASCII, 5, 0 },
		{ "a\0b", 3, NULL, "utf-8", MIMEUTF8_RULE_ASCII, 3, 0 },
		{ "a\0\nb\n", 5, NULL, "utf-8", MIMEUTF8_RULE_ASCII, 5, 0 },
		{ "caf\xc3\xa9\0\n", 7, "iso-8859-1", "utf-8", MIMEUTF8_RULE_UTF8, 5, 1 },
		{ "\0\0", 2, "utf-8", "utf-8", MIMEUTF8_RULE_ASCII, 0, 2 },
		/* UTF-16: whole code units only, at the very end */
		{ "a\0\0\0\0", 5, "utf-16le", "utf-16le", MIMEUTF8_RULE_LABEL, 1, 4 },
		{ "\xff\xfe"
		  "a\0\0\0\0",
		  7, NULL, "utf-16le", MIMEUTF8_RULE_BOM, 3, 4 },
	};
	g_autoptr (GByteArray) out = g_byte_array_new ();
	MimeUtf8ConvertStats stats;
	const char *charset = NULL;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (padded); i++) {
		_MimeUtf8Evidence evidence = { padded[i].label, FALSE, NULL, 0 };
		_MimeUtf8Decision decision;

		print_message ("case %zu\n", i);
		_mimeutf8_decide (NULL, (const guint8 *) padded[i].bytes, padded[i].len, &evidence,
				  &decision);
		assert_string_equal (decision.charset->name, padded[i].charset);
		assert_int_equal (decision.rule, padded[i].rule);
		assert_int_equal (decision.pad_start, padded[i].pad_start);
		assert_int_equal (decision.pad_len, padded[i].pad_len);
	}
	assert_int_equal (mimeutf8_convert_text (NULL, "latin1", "caf\xe9\0b\0\0\n", 9, out, &stats,
						 &charset, NULL),
			  MIMEUTF8_CONVERT_REPLACED);
	assert_int_equal (out->len, strlen ("caf\xc3\xa9\xef\xbf\xbd"
					    "b\n"));
	assert_memory_equal (out->data,
			     "caf\xc3\xa9\xef\xbf\xbd"
			     "b\n",
			     out->len);
	assert_int_equal (stats.replacements, 1);
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_decide__cases),
		cmocka_unit_test (test_decide__message_evidence),
		cmocka_unit_test (test_decide__fallback_option),
		cmocka_unit_test (test_decide__html_meta_prescan),
		cmocka_unit_test (test_decide__convert_text),
		cmocka_unit_test (test_decide__nul_padding),
	};

	mimeutf8_init ();
	return cmocka_run_group_tests (tests, NULL, NULL);
}
