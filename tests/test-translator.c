/* test-translator.c: the streaming converter, with byte tables only: every charset of the table on
 * a sample fed whole, byte by byte and across buffer edges, single-byte tables against WHATWG's
 * indexes, damaged input, counts and offsets, and many threads at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mimeutf8-private.h"
#include "test-skip.h"
#include "test-criticals.h"

#define R "\xEF\xBF\xBD"

/* Chunk sizes around the translator's edges: its 16-byte hold, 4 KiB, and its 16 KiB window.
 * 0 stands for the whole input in one call. */
static const size_t chunk_sizes[] = { 0,  1,    2,    3,    7,     15,    16,   17,
				      64, 4095, 4096, 4097, 16383, 16384, 16385 };

/* ---- helpers ------------------------------------------------------------------------------- */

static void
assert_strict_utf8 (const GByteArray *out)
{
	_MimeUtf8Scan scan;

	_mimeutf8_utf8_scan (out->data, out->len, &scan);
	if (scan.invalid != 0 || scan.nul != 0)
		fail_msg ("output is not strictly valid UTF-8 without NUL (%zu invalid, %zu NUL)",
			  scan.invalid, scan.nul);
}

static GString *
hex (const guint8 *data, size_t len)
{
	GString *s = g_string_new (NULL);
	size_t i;

	for (i = 0; i < len && i < 64; i++)
		g_string_append_printf (s, "%02X ", data[i]);
	if (len > 64)
		g_string_append (s, "...");
	return s;
}

static void
assert_bytes (const char *what, const guint8 *got, size_t got_len, const guint8 *want,
	      size_t want_len)
{
	size_t i;

	if (got_len == want_len && (got_len == 0 || memcmp (got, want, got_len) == 0))
		return;
	for (i = 0; i < got_len && i < want_len && got[i] == want[i]; i++)
		;
	{
		g_autoptr (GString) g = hex (got + i, got_len - i);
		g_autoptr (GString) w = hex (want + i, want_len - i);

		fail_msg ("%s: output differs at byte %zu of %zu (want %zu):\n  got  %s\n  want %s",
			  what, i, got_len, want_len, g->str, w->str);
	}
}

/* Feeds `in` in chunks of `chunk` bytes (0: all at once), ends, and checks what every run must
 * satisfy whatever its input. */
static GByteArray *
run_chunked (MimeUtf8Translator *translator, const guint8 *in, size_t len, size_t chunk,
	     MimeUtf8ConvertStats *stats_out)
{
	GByteArray *out = g_byte_array_new ();
	size_t off = 0;

	mimeutf8_translator_reset (translator);
	if (chunk == 0)
		chunk = MAX (len, 1);
	do {
		size_t n = MIN (chunk, len - off);

		mimeutf8_translator_convert (translator, in + off, n, out);
		off += n;
		/* An empty chunk changes nothing (GMime's filters end with one). */
		mimeutf8_translator_convert (translator, in + off, 0, out);
	} while (off < len);
	mimeutf8_translator_end (translator, out);
	mimeutf8_translator_get_stats (translator, stats_out);
	assert_strict_utf8 (out);
	assert_int_equal (stats_out->bytes_in, len);
	assert_int_equal (stats_out->bytes_out, out->len);
	assert_true ((stats_out->replacements == 0) == (stats_out->first_replacement == -1));
	return out;
}

/* ---- every charset on a sample of its own characters --------------------------------------- */

/* Characters to pick samples from; each charset keeps those iconv encodes and decodes back. */
static const char candidates[] =
	"¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿ÀÁÂÃÄÅÆÇÈÉ"
	"ÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñ"
	"òóôõö÷øùúûüýþÿĀāĂăĄąĆćČčĎďĐđĒēĘęĚěĞğĢģĪī"
	"ĮįİıĶķĹĺĻļĽľŁłŃńŅņŇňŌōŐőŒœŔŕŖŗŘřŚśŞşŠšŢţ"
	"ŤťŪūŮůŰűŲųŸŹźŻżŽžƒȘșȚțĊċĠġĦħĴĵŜŝŬŭŴŵŶŷḂḃ"
	"ḊḋḞḟṀṁṖṗṠṡṪṫẀẁẂẃẄẅỲỳƠơƯư₫ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟ"
	"ΠΡΣΤΥΦΧΨΩαβγδεζηθικλμνξοπρστυφχψωάέήίόύώ"
	"ΆΈΉΊΌΎΏАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯа"
	"бвгдежзийклмнопрстуфхцчшщъыьэюяЁёЂђЃѓЄєЅ"
	"ѕІіЇїЈјЉљЊњЋћЌќЎўЏџҐґאבגדהוזחטיךכלםמןנסע"
	"ףפץצקרשתءآأؤإئابةتثجحخدذرزسشصضطظعغفقكلمن"
	"هوىي،؛؟กขฃคฅฆงจฉชซฌญฎฏฐฑฒณดตถทธนบปผฝพฟภม"
	"ยรฤลฦวศษสหฬอฮ฿€‚„…†‡ˆ‰‹‘’“”•–—˜™›№∙√■─│┌"
	"┐└┘├┤┬┴┼═║╔╗╚╝░▒▓█あいうえおかきくけこアイウエオカキクケコ日本"
	"語漢字東京ｱｲｳ①②③가나다라마바사아자차카타파하갂中文简体繁體汉字說話你好𠀋😀";

/* A text of the candidates the charset has, repeated to at least `min_len` bytes of UTF-8. */
static GString *
sample_text (const _MimeUtf8Charset *charset, size_t min_len, size_t *n_kept_out)
{
	const char *iconv_name = charset->iconv_name;
	GString *line = g_string_new ("Hello, world! ");
	GString *text = g_string_new (NULL);
	const char *c;
	size_t kept = 0;

	for (c = candidates; *c != '\0'; c = g_utf8_next_char (c)) {
		gsize clen = (gsize) (g_utf8_next_char (c) - c), enc_len = 0, back_len = 0;
		g_autofree char *enc =
			g_convert (c, (gssize) clen, iconv_name, "UTF-8", NULL, &enc_len, NULL);
		g_autofree char *back = NULL;

		/* One byte each in a single-byte charset: glibc's CP1258 would write U+1E80 as W
		 * and a combining accent, which a byte table rightly decodes as two characters. */
		if (enc == NULL ||
		    (charset->decoder == _MIMEUTF8_DECODER_SINGLE_BYTE && enc_len != 1))
			continue;
		back = g_convert (enc, (gssize) enc_len, "UTF-8", iconv_name, NULL, &back_len,
				  NULL);
		if (back == NULL || back_len != clen || memcmp (back, c, clen) != 0)
			continue;
		g_string_append_len (line, c, (gssize) clen);
		if (++kept % 7 == 0)
			g_string_append_c (line, kept % 21 == 0 ? '\n' : ' ');
	}
	g_string_append (line, "\r\n");
	do
		g_string_append_len (text, line->str, (gssize) line->len);
	while (text->len < min_len);
	g_string_free (line, TRUE);
	*n_kept_out = kept;
	return text;
}

static void
test_translator__every_charset_sample (void **state)
{
	size_t n, i, k;
	const _MimeUtf8Charset *all = _mimeutf8_charset_all (&n);

	assert_true (n > 0);
	for (i = 0; i < n; i++) {
		const _MimeUtf8Charset *charset = &all[i];
		g_autoptr (MimeUtf8Translator) translator = _mimeutf8_translator_new_for (charset);
		size_t kept;
		/* Longer than two windows, so that every chunk size crosses an edge. */
		g_autoptr (GString) text = sample_text (charset, 40000, &kept);
		gsize in_len = 0;
		g_autofree guint8 *in =
			(guint8 *) g_convert (text->str, (gssize) text->len, charset->iconv_name,
					      "UTF-8", NULL, &in_len, NULL);

		print_message ("%s (%s): %zu characters, %zu bytes\n", charset->name,
			       charset->iconv_name, kept, (size_t) in_len);
		assert_non_null (translator);
		assert_string_equal (mimeutf8_translator_get_charset (translator), charset->name);
		assert_non_null (in);
		assert_true (kept >= 20);
		for (k = 0; k < G_N_ELEMENTS (chunk_sizes); k++) {
			MimeUtf8ConvertStats stats;
			GByteArray *out =
				run_chunked (translator, in, in_len, chunk_sizes[k], &stats);
			g_autofree char *what = g_strdup_printf ("%s, chunks of %zu", charset->name,
								 chunk_sizes[k]);

			assert_bytes (what, out->data, out->len, (const guint8 *) text->str,
				      text->len);
			assert_int_equal (stats.replacements, 0);
			g_byte_array_unref (out);
		}
	}
}

/* ---- single-byte tables against WHATWG ----------------------------------------------------- */

/* Where glibc and the WHATWG index both define a byte, differently.  We keep glibc's character:
 * each is a defensible reading of the charset, and no text becomes U+FFFD either way.
 * - koi8-u 0xAE, 0xBE: glibc follows RFC 2319 (box drawing); WHATWG took KOI8-RU's Belarusian
 *   U+045E/U+040E, which web pages labelled koi8-u used.
 * - macintosh 0xC6: U+0394 GREEK CAPITAL DELTA (glibc) versus U+2206 INCREMENT (Apple's table):
 *   the same glyph.  0xF0, the Apple logo: private use either way, U+E01E versus U+F8FF.
 * - x-mac-cyrillic 0xFF: U+00A4 CURRENCY SIGN (glibc, Mac OS before 9) versus U+20AC EURO SIGN
 *   (WHATWG, Mac OS 9 and later).
 * Bytes glibc rejects and WHATWG defines are not here: the translator takes WHATWG's character
 * for those (the C1 controls of windows-125x, windows-1255 0xCA). */
static const struct {
	const char *charset;
	guint8 byte;
	gunichar ours, whatwg;
} known_differences[] = {
	{ "koi8-u", 0xAE, 0x255D, 0x045E },         { "koi8-u", 0xBE, 0x256C, 0x040E },
	{ "macintosh", 0xC6, 0x0394, 0x2206 },      { "macintosh", 0xF0, 0xE01E, 0xF8FF },
	{ "x-mac-cyrillic", 0xFF, 0x00A4, 0x20AC },
};

/* Reads an index file: code[pointer] for pointers 0-127, 0 where the index has none. */
static gboolean
read_whatwg_index (const char *name, gunichar code[128])
{
	g_autofree char *path =
		g_strdup_printf ("%s/reference/whatwg-encoding/index-%s.txt", SHARED_DIR, name);
	g_autofree char *contents = NULL;
	g_auto (GStrv) lines = NULL;
	size_t i;

	memset (code, 0, 128 * sizeof code[0]);
	if (!g_file_get_contents (path, &contents, NULL, NULL))
		return FALSE;
	lines = g_strsplit (contents, "\n", -1);
	for (i = 0; lines[i] != NULL; i++) {
		unsigned int pointer;
		unsigned long value;

		if (lines[i][0] == '#')
			continue;
		if (sscanf (lines[i], " %u 0x%lx", &pointer, &value) == 2 && pointer < 128)
			code[pointer] = (gunichar) value;
	}
	return TRUE;
}

/* What the translator makes of `len` bytes: one character, and whether it counted a
 * replacement. */
static gunichar
decode_one (const _MimeUtf8Charset *charset, const guint8 *in, size_t len, gboolean *replaced_out)
{
	g_autoptr (MimeUtf8Translator) translator = _mimeutf8_translator_new_for (charset);
	g_autoptr (GByteArray) out = g_byte_array_new ();
	MimeUtf8ConvertStats stats;
	gunichar c;

	mimeutf8_translator_convert (translator, in, len, out);
	mimeutf8_translator_end (translator, out);
	mimeutf8_translator_get_stats (translator, &stats);
	assert_strict_utf8 (out);
	c = g_utf8_get_char_validated ((const char *) out->data, (gssize) out->len);
	/* One character. */
	assert_int_equal (out->len, (size_t) g_unichar_to_utf8 (c, NULL));
	*replaced_out = stats.replacements > 0;
	return c;
}

static gunichar
decode_byte (const _MimeUtf8Charset *charset, guint8 b, gboolean *replaced_out)
{
	return decode_one (charset, &b, 1, replaced_out);
}

static void
test_translator__whatwg_single_byte (void **state)
{
	g_autofree char *dir = g_strdup_printf ("%s/reference/whatwg-encoding", SHARED_DIR);
	size_t n, i, d, compared = 0;
	const _MimeUtf8Charset *all = _mimeutf8_charset_all (&n);
	gboolean seen[G_N_ELEMENTS (known_differences)] = { FALSE };
	gboolean windows_1252 = FALSE;

	if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
		TEST_SKIP ("../shared is absent (%s)\n", SHARED_DIR);
	}
	for (i = 0; i < n; i++) {
		const _MimeUtf8Charset *charset = &all[i];
		gunichar code[128];
		unsigned int b;

		if (charset->decoder != _MIMEUTF8_DECODER_SINGLE_BYTE)
			continue;
		if (!read_whatwg_index (charset->name, code)) {
			print_message ("%s: no WHATWG index of that name\n", charset->name);
			continue;
		}
		compared++;
		windows_1252 |= strcmp (charset->name, "windows-1252") == 0;
		for (b = 0; b < 256; b++) {
			gboolean replaced;
			gunichar ours = decode_byte (charset, (guint8) b, &replaced);
			/* WHATWG decodes a byte the index lacks as an error: U+FFFD. */
			gunichar whatwg = b < 0x80              ? b
					  : code[b - 0x80] != 0 ? code[b - 0x80]
								: 0xFFFD;
			gboolean known = FALSE;

			/* NUL becomes U+FFFD by design: the output never holds NUL. */
			if (b == 0)
				whatwg = 0xFFFD;
			assert_int_equal (replaced, whatwg == 0xFFFD);
			if (ours == whatwg)
				continue;
			for (d = 0; d < G_N_ELEMENTS (known_differences); d++) {
				if (strcmp (known_differences[d].charset, charset->name) == 0 &&
				    known_differences[d].byte == b &&
				    known_differences[d].ours == ours &&
				    known_differences[d].whatwg == whatwg) {
					known = seen[d] = TRUE;
				}
			}
			if (!known)
				fail_msg ("%s: byte 0x%02X is U+%04X, WHATWG says U+%04X",
					  charset->name, b, ours, whatwg);
		}
	}
	assert_true (windows_1252);
	assert_true (compared >= 20);
	/* A difference that went away is good news, but the comment above must say so. */
	for (d = 0; d < G_N_ELEMENTS (known_differences); d++)
		if (!seen[d] && _mimeutf8_charset_by_name (known_differences[d].charset) != NULL)
			fail_msg ("%s 0x%02X now agrees with WHATWG: update known_differences",
				  known_differences[d].charset, known_differences[d].byte);
}

/* Where glibc's JIS X 0208 and WHATWG's jis0208 index differ on a code both decode: the JIS and
 * the Microsoft reading of six symbols (charset-table.c). */
static const struct {
	unsigned int pointer;
	gunichar ours, whatwg;
} jis0208_differences[] = {
	{ 32, 0x301C, 0xFF5E },  /* WAVE DASH, FULLWIDTH TILDE */
	{ 33, 0x2016, 0x2225 },  /* DOUBLE VERTICAL LINE, PARALLEL TO */
	{ 60, 0x2212, 0xFF0D },  /* MINUS SIGN, FULLWIDTH HYPHEN-MINUS */
	{ 80, 0x00A2, 0xFFE0 },  /* CENT SIGN */
	{ 81, 0x00A3, 0xFFE1 },  /* POUND SIGN */
	{ 137, 0x00AC, 0xFFE2 }, /* NOT SIGN */
};

/* Every code of rows 1-94 of WHATWG's jis0208 index, in ISO-2022-JP and in EUC-JP: the same
 * character, but for the six symbols above; NEC row 13 and IBM rows 89-92 included (issue 9,
 * item 4).  A code the index lacks is one U+FFFD. */
static void
test_translator__whatwg_jis0208 (void **state)
{
	g_autofree char *path =
		g_strdup_printf ("%s/reference/whatwg-encoding/index-jis0208.txt", SHARED_DIR);
	g_autofree char *contents = NULL;
	g_autofree gunichar *code = g_new0 (gunichar, 94 * 94);
	g_auto (GStrv) lines = NULL;
	const _MimeUtf8Charset *jp[2] = { _mimeutf8_charset_by_name ("iso-2022-jp"),
					  _mimeutf8_charset_by_name ("euc-jp") };
	size_t i, d, extensions = 0, wrong = 0;

	if (!g_file_get_contents (path, &contents, NULL, NULL)) {
		print_message ("SKIP: ../shared is absent\n");
		skip ();
	}
	lines = g_strsplit (contents, "\n", -1);
	for (i = 0; lines[i] != NULL; i++) {
		unsigned int pointer;
		unsigned long value;

		if (lines[i][0] != '#' && sscanf (lines[i], " %u 0x%lx", &pointer, &value) == 2 &&
		    pointer < 94 * 94)
			code[pointer] = (gunichar) value;
	}
	for (i = 0; i < 94 * 94; i++) {
		guint8 row = (guint8) (i / 94), cell = (guint8) (i % 94);
		const guint8 iso[] = { 0x1B, '$', 'B', row + 0x21, cell + 0x21, 0x1B, '(', 'B' };
		const guint8 euc[] = { row + 0xA1, cell + 0xA1 };
		gunichar want = code[i] != 0 ? code[i] : 0xFFFD;
		gboolean replaced[2];
		gunichar got[2] = { decode_one (jp[0], iso, sizeof iso, &replaced[0]),
				    decode_one (jp[1], euc, sizeof euc, &replaced[1]) };
		size_t k;

		extensions += code[i] != 0 && (row == 12 || (row >= 88 && row <= 91));
		for (k = 0; k < 2; k++) {
			gboolean known = FALSE;

			/* one U+FFFD, counted, for a code the index lacks */
			assert_int_equal (replaced[k], got[k] == 0xFFFD);

			for (d = 0; d < G_N_ELEMENTS (jis0208_differences); d++)
				known |= jis0208_differences[d].pointer == i &&
					 jis0208_differences[d].ours == got[k] &&
					 jis0208_differences[d].whatwg == want;
			if (got[k] != want && !known && ++wrong)
				print_message (
					"%s: JIS X 0208 row %u cell %u is U+%04X, WHATWG says "
					"U+%04X\n",
					k == 0 ? "iso-2022-jp" : "euc-jp", row + 1, cell + 1,
					got[k], want);
		}
	}
	assert_int_equal (wrong, 0);
	/* 83 in row 13, 374 in rows 89-92 */
	assert_int_equal (extensions, 457);
}

/* ---- byte tables of decoding cases --------------------------------------------------------- */

typedef struct {
	const char *label;
	const char *in;
	size_t in_len;
	const char *out;
	size_t out_len;
	uint64_t replacements;
	int64_t first; /* fed whole; in chunks, a stateful charset may place it elsewhere */
} DecodeCase;

#define DC(label, in, out, replacements, first)                                                    \
	{                                                                                          \
		label, in, sizeof (in) - 1, out, sizeof (out) - 1, replacements, first             \
	}

static const DecodeCase decode_cases[] = {
	/* UTF-8: one U+FFFD per maximal subpart, and NUL is one too. */
	DC ("utf-8", "F0 80 80: \xF0\x80\x80.", "F0 80 80: " R R R ".", 3, 10),
	DC ("utf-8", "\xE1\x80\x41", R "A", 1, 0),
	DC ("utf-8", "\xED\xA0\x80", R R R, 3, 0),
	DC ("utf-8", "\xF4\x90\x80\x80", R R R R, 4, 0),
	DC ("utf-8", "\xC0\xAF", R R, 2, 0),
	DC ("utf-8", "\xF1\x80\x80", R, 1, 0),
	DC ("utf-8", "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
	    "a" R R R "b" R "c" R R "d", 6, 1),
	DC ("utf-8", "\xF8\x88\x80\x80\x80", R R R R R, 5, 0),
	DC ("utf-8", "\xFC\x84\x80\x80\x80\x80", R R R R R R, 6, 0),
	DC ("utf-8", "a\0b", "a" R "b", 1, 1),
	DC ("utf-8", "\xE2\x82\0", R R, 2, 0),
	DC ("utf-8", "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80",
	    0, -1),
	DC ("utf-8", "ab\xF0\x9F\x98", "ab" R, 1, 2),
	DC ("utf8", "\xEF\xBB\xBFx", "\xEF\xBB\xBFx", 0, -1), /* no BOM sniffing here */
	/* UTF-16: odd lengths, lone surrogates, NUL. */
	DC ("utf-16le", "a\0", "a", 0, -1),
	DC ("utf-16le", "a\0b", "a" R, 1, 2),
	DC ("utf-16le", "\x3D\xD8\x00\xDE", "\xF0\x9F\x98\x80", 0, -1),
	DC ("utf-16le",
	    "\x00\xD8"
	    "a\0",
	    R "a", 1, 0),
	DC ("utf-16le",
	    "\x00\xDC"
	    "a\0",
	    R "a", 1, 0),
	DC ("utf-16le", "a\0\x00\xD8", "a" R, 1, 2),
	DC ("utf-16le", "a\0\0\0b\0", "a" R "b", 1, 2),
	DC ("utf-16le",
	    "\xFF\xFE"
	    "a\0",
	    "\xEF\xBB\xBF"
	    "a",
	    0, -1),
	DC ("utf-16be", "\xD8\x3D\xDE\x00", "\xF0\x9F\x98\x80", 0, -1),
	DC ("utf-16be", "\xD8\x3D\xD8\x3D\xDE\x00", R "\xF0\x9F\x98\x80", 1, 0),
	DC ("utf-16be", "\xDE\x00\0a", R "a", 1, 0),
	DC ("utf-16be", "\0\0\0a\0", R "a" R, 2, 0),
	/* UTF-7: CR LF is fine; NUL is not. */
	DC ("utf-7", "+AA0ACg-", "\r\n", 0, -1),
	DC ("utf-7", "+AAA-", R, 1, 0),
	DC ("utf-7", "Hi +ZeVnLIqe-!", "Hi \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E!", 0, -1),
	DC ("utf-7", "+2D3eAA-", "\xF0\x9F\x98\x80", 0, -1),
	/* UTF-7, leniently (issue 9, item 3): a '+' that starts no well-formed run is ASCII. */
	DC ("utf-7", "1 + 1 = 2", "1 + 1 = 2", 0, -1),
	DC ("utf-7", "C++", "C++", 0, -1),
	DC ("utf-7", "a+b.", "a+b.", 0, -1),
	DC ("utf-7", "Hi Mom -+Jjo--!", "Hi Mom -\xE2\x98\xBA-!", 0, -1),
	DC ("utf-7", "x+-y+", "x+y+", 0, -1),
	DC ("utf-7", "+AGE", "a", 0, -1),
	/* 8 bits left over, or bits that are not zero: not what an encoder writes */
	DC ("utf-7", "+AGEA-", "+AGEA-", 0, -1),
	DC ("utf-7", "+AGF-", "+AGF-", 0, -1),
	/* a lone surrogate, a private-use character */
	DC ("utf-7", "+2D0-", "+2D0-", 0, -1),
	DC ("utf-7", "+4AA-", "+4AA-", 0, -1),
	DC ("utf-7", "caf\xE9 +AOk-", "caf" R " \xC3\xA9", 1, 3),
	/* A bare '+' shows the text is not all UTF-7: then only runs closed by '-' decode, and
	 * base64 that ends a line (a PGP signature) stays as written. */
	DC ("utf-7", "1 + 1 +ZeVnLIqe\n", "1 + 1 +ZeVnLIqe\n", 0, -1),
	DC ("utf-7", "1 + 1 +ZeVnLIqe-\n", "1 + 1 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\n", 0, -1),
	DC ("utf-7", "+ZeVnLIqe\n", "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\n", 0, -1),
	/* ISO-2022-JP: escapes, and a bad byte inside JIS X 0208. */
	DC ("iso-2022-jp", "\x1B$B$\"\x1B(B", "\xE3\x81\x82", 0, -1),
	DC ("iso-2022-jp", "a\x1B$B$\"$$\x1B(Bb",
	    "a\xE3\x81\x82\xE3\x81\x84"
	    "b",
	    0, -1),
	DC ("iso-2022-jp", "\x1B$B\xFF$\"\x1B(B", R "\xE3\x81\x82", 1, 3),
	DC ("iso-2022-jp", "a\x1B$", "a" R, 1, 1),
	/* NEC row 13 and the NEC-selected IBM rows 89-92, in ISO-2022-JP and EUC-JP (item 4). */
	DC ("iso-2022-jp", "\x1B$B-!-b\x1B(B-!", "\xE2\x91\xA0\xE2\x84\x96-!", 0, -1),
	DC ("iso-2022-jp", "\x1B$By!|n\x1B(B", "\xE7\xBA\x8A\xE9\xBB\x91", 0, -1),
	DC ("iso-2022-jp", "\x1B$B)!\x1B(B", R, 1, 3),
	DC ("euc-jp", "\xAD\xA1\xF9\xA1x", "\xE2\x91\xA0\xE7\xBA\x8Ax", 0, -1),
	/* Shift_JIS is CP932: NEC row 13. */
	DC ("shift_jis", "\x87\x40", "\xE2\x91\xA0", 0, -1),
	DC ("shift_jis", "\x82\xA0\xFF\x82\xA0", "\xE3\x81\x82" R "\xE3\x81\x82", 1, 2),
	DC ("shift_jis", "\x82\xFF\x82\xA0", R R "\xE3\x81\x82", 2, 0),
	DC ("shift_jis", "\xB1\xB2", "\xEF\xBD\xB1\xEF\xBD\xB2", 0, -1),
	DC ("shift_jis", "a\x82", "a" R, 1, 1),
	DC ("sjis", "\x81\x40", "\xE3\x80\x80", 0, -1),
	/* EUC-KR is CP949: UHC. */
	DC ("euc-kr", "\x81\x41", "\xEA\xB0\x82", 0, -1),
	DC ("euc-kr", "\xB0\xA1\xFF\xB0\xA1", "\xEA\xB0\x80" R "\xEA\xB0\x80", 1, 2),
	/* an unassigned code (A2 E8), which glibc's CP949 steps over before it says EILSEQ: one
	 * U+FFFD, and the characters after it whole (not U+FFFD U+201C U+FFFD) */
	DC ("euc-kr", "\xA2\xE8\xB0\xA1\xB0\xA1", R "\xEA\xB0\x80\xEA\xB0\x80", 1, 0),
	DC ("euc-kr", "\xB0\xA1\xA2\xE8\xBF\n", "\xEA\xB0\x80" R R "\n", 2, 2),
	/* GB18030: two and four bytes. */
	DC ("gb18030", "\xC4\xE3\xFF\xC4\xE3", "\xE4\xBD\xA0" R "\xE4\xBD\xA0", 1, 2),
	DC ("gb18030", "\x90\x30\x81\x30", "\xF0\x90\x80\x80", 0, -1),
	DC ("gb18030", "x\x81\x30\x81", "x" R, 1, 1),
	/* Big5 is BIG5-HKSCS: one byte pair can be two code points. */
	DC ("big5", "\xA4\xA4\xFF\xA4\xA4", "\xE4\xB8\xAD" R "\xE4\xB8\xAD", 1, 2),
	DC ("big5", "\x88\x62", "\xC3\x8A\xCC\x84", 0, -1),
	DC ("euc-jp", "\xA4\xA2\xFF\xA4\xA2", "\xE3\x81\x82" R "\xE3\x81\x82", 1, 2),
	/* Single-byte tables: C1 controls where WHATWG has them, NUL replaced. */
	DC ("latin1", "caf\xE9", "caf\xC3\xA9", 0, -1),
	DC ("windows-1252", "\x80\x81\x8D\x8F\x90\x9D\x9F",
	    "\xE2\x82\xAC\xC2\x81\xC2\x8D\xC2\x8F\xC2\x90\xC2\x9D\xC5\xB8", 0, -1),
	DC ("us-ascii", "a\0b\0", "a" R "b" R, 2, 1),
	DC ("koi8-r", "\xF0\xD2\xC9\xD7\xC5\xD4",
	    "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82", 0, -1),
	DC ("windows-1255", "\xCA", "\xD6\xBA", 0, -1),
};

static gboolean
is_stateful (const char *label)
{
	const _MimeUtf8Charset *charset = _mimeutf8_charset_lookup (label, strlen (label));

	return (charset->flags & _MIMEUTF8_CS_STATEFUL_7BIT) != 0;
}

static void
test_translator__decode_cases (void **state)
{
	size_t i, k;

	for (i = 0; i < G_N_ELEMENTS (decode_cases); i++) {
		const DecodeCase *c = &decode_cases[i];
		g_autoptr (GError) error = NULL;
		g_autoptr (MimeUtf8Translator) translator =
			mimeutf8_translator_new (c->label, &error);

		assert_null (error);
		assert_non_null (translator);
		for (k = 0; k < G_N_ELEMENTS (chunk_sizes) && chunk_sizes[k] <= 17; k++) {
			MimeUtf8ConvertStats stats;
			GByteArray *out = run_chunked (translator, (const guint8 *) c->in,
						       c->in_len, chunk_sizes[k], &stats);
			g_autofree char *what = g_strdup_printf ("case %zu (%s), chunks of %zu", i,
								 c->label, chunk_sizes[k]);

			assert_bytes (what, out->data, out->len, (const guint8 *) c->out,
				      c->out_len);
			if (stats.replacements != c->replacements)
				fail_msg ("%s: %" G_GUINT64_FORMAT
					  " replacements, want %" G_GUINT64_FORMAT,
					  what, stats.replacements, c->replacements);
			if (stats.first_replacement != c->first &&
			    (chunk_sizes[k] == 0 || !is_stateful (c->label)))
				fail_msg ("%s: first replacement at %" G_GINT64_FORMAT
					  ", want %" G_GINT64_FORMAT,
					  what, stats.first_replacement, c->first);
			g_byte_array_unref (out);
		}
	}
}

/* The one-shot call agrees with the translator, and says what happened. */
static void
test_translator__convert (void **state)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (decode_cases); i++) {
		const DecodeCase *c = &decode_cases[i];
		g_autoptr (GByteArray) out = g_byte_array_new ();
		g_autoptr (GError) error = NULL;
		MimeUtf8ConvertStats stats;
		MimeUtf8ConvertStatus status;

		g_byte_array_append (out, (const guint8 *) "prefix:", 7);
		status = mimeutf8_convert (c->label, c->in, c->in_len, out, &stats, &error);
		assert_null (error);
		assert_int_equal (status, c->replacements > 0 ? MIMEUTF8_CONVERT_REPLACED
							      : MIMEUTF8_CONVERT_OK);
		assert_bytes (c->label, out->data + 7, out->len - 7, (const guint8 *) c->out,
			      c->out_len);
		assert_int_equal (stats.replacements, c->replacements);
		assert_int_equal (stats.first_replacement, c->first);
		assert_int_equal (stats.bytes_in, c->in_len);
		assert_int_equal (stats.bytes_out, c->out_len);
	}
	/* Empty input, and stats_out may be NULL. */
	{
		g_autoptr (GByteArray) out = g_byte_array_new ();

		assert_int_equal (mimeutf8_convert ("utf-16le", NULL, 0, out, NULL, NULL),
				  MIMEUTF8_CONVERT_OK);
		assert_int_equal (out->len, 0);
	}
}

static void
test_translator__unknown_label (void **state)
{
	static const char *const labels[] = { "x-no-such-charset", "", "iso-2022-cn-ext", "ibm1364",
					      "bogus\x01\xFF" };
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (labels); i++) {
		g_autoptr (GByteArray) out = g_byte_array_new ();
		g_autoptr (GError) error = NULL;
		MimeUtf8ConvertStats stats;

		assert_null (mimeutf8_translator_new (labels[i], &error));
		assert_true (
			g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_UNKNOWN_CHARSET));
		assert_true (g_utf8_validate (error->message, -1, NULL));
		g_clear_error (&error);
		assert_int_equal (mimeutf8_convert (labels[i], "abc", 3, out, &stats, &error),
				  MIMEUTF8_CONVERT_ERROR);
		assert_true (
			g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_UNKNOWN_CHARSET));
		assert_int_equal (out->len, 0);
		assert_int_equal (stats.bytes_in, 0);
		assert_int_equal (stats.first_replacement, -1);
	}
	{
		g_autoptr (GError) error = NULL;

		assert_null (mimeutf8_translator_new ("x-no-such-charset", &error));
		assert_non_null (strstr (error->message, "x-no-such-charset"));
	}
	/* A long label is cut in the message. */
	{
		g_autoptr (GError) error = NULL;
		g_autofree char *label = g_strnfill (10000, 'x');

		assert_null (mimeutf8_translator_new (label, &error));
		assert_true (strlen (error->message) < 200);
	}
	assert_null (mimeutf8_translator_new ("x-no-such-charset", NULL));
	assert_string_equal (g_quark_to_string (MIMEUTF8_ERROR), "mimeutf8-error-quark");
}

/* ---- counts and offsets -------------------------------------------------------------------- */

static void
test_translator__stats_across_chunks (void **state)
{
	static const struct {
		const char *label;
		const char *bad; /* one invalid sequence, put at offset 10000 of ASCII */
		size_t bad_len;
	} cases[] = {
		{ "utf-8", "\xFF", 1 },         { "utf-8", "\xE2\x82", 2 },
		{ "windows-1252", "\0", 1 },    { "shift_jis", "\xFF", 1 },
		{ "euc-kr", "\xFF", 1 },        { "gb18030", "\xFF", 1 },
		{ "big5", "\xFF", 1 },          { "euc-jp", "\xFF", 1 },
		{ "utf-8", "\0", 1 },           { "shift_jis", "\0", 1 },
		{ "utf-8", "\xF0\x9F\x98", 3 },
	};
	size_t i, k;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (MimeUtf8Translator) translator =
			mimeutf8_translator_new (cases[i].label, NULL);
		g_autoptr (GByteArray) in = g_byte_array_new ();
		size_t j;

		for (j = 0; j < 10000; j++)
			g_byte_array_append (in, (const guint8 *) (j % 61 == 60 ? "\n" : "a"), 1);
		g_byte_array_append (in, (const guint8 *) cases[i].bad, (guint) cases[i].bad_len);
		for (j = 0; j < 30000; j++)
			g_byte_array_append (in, (const guint8 *) "z", 1);
		for (k = 0; k < G_N_ELEMENTS (chunk_sizes); k++) {
			MimeUtf8ConvertStats stats;
			GByteArray *out =
				run_chunked (translator, in->data, in->len, chunk_sizes[k], &stats);

			print_message ("%s, chunks of %zu\n", cases[i].label, chunk_sizes[k]);
			assert_int_equal (stats.replacements, 1);
			assert_int_equal (stats.first_replacement, 10000);
			assert_int_equal (out->len, in->len - cases[i].bad_len + 3);
			g_byte_array_unref (out);
		}
	}
}

/* NUL in UTF-16 is found in iconv's output; its offset is still exact. */
static void
test_translator__utf16_nul_offset (void **state)
{
	g_autoptr (MimeUtf8Translator) translator = mimeutf8_translator_new ("utf-16le", NULL);
	g_autoptr (GByteArray) in = g_byte_array_new ();
	size_t j, k;

	for (j = 0; j < 30000; j++)
		g_byte_array_append (in, (const guint8 *) (j == 12345 ? "\0\0" : "\xE9\x00"), 2);
	for (k = 0; k < G_N_ELEMENTS (chunk_sizes); k++) {
		MimeUtf8ConvertStats stats;
		GByteArray *out =
			run_chunked (translator, in->data, in->len, chunk_sizes[k], &stats);

		assert_int_equal (stats.replacements, 1);
		assert_int_equal (stats.first_replacement, 2 * 12345);
		assert_int_equal (out->len, 2 * 29999 + 3);
		g_byte_array_unref (out);
	}
}

/* Valid and broken UTF-8 where the translator's windows meet. */
static void
test_translator__utf8_window_edges (void **state)
{
	static const char *const seqs[] = { "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80" };
	g_autoptr (MimeUtf8Translator) translator = mimeutf8_translator_new ("utf-8", NULL);
	size_t s, at, k;

	for (s = 0; s < G_N_ELEMENTS (seqs); s++) {
		for (at = 16380; at < 16388; at++) {
			g_autoptr (GByteArray) in = g_byte_array_new ();
			size_t j;

			for (j = 0; j < at; j++)
				g_byte_array_append (in, (const guint8 *) "a", 1);
			g_byte_array_append (in, (const guint8 *) seqs[s],
					     (guint) strlen (seqs[s]));
			for (j = 0; j < 100; j++)
				g_byte_array_append (in, (const guint8 *) "b", 1);
			for (k = 0; k < G_N_ELEMENTS (chunk_sizes); k++) {
				MimeUtf8ConvertStats stats;
				GByteArray *out = run_chunked (translator, in->data, in->len,
							       chunk_sizes[k], &stats);

				assert_int_equal (stats.replacements, 0);
				assert_bytes ("valid", out->data, out->len, in->data, in->len);
				g_byte_array_unref (out);
			}
			/* Cut the sequence short: one subpart, however it is fed. */
			g_byte_array_remove_index (in, (guint) (at + strlen (seqs[s]) - 1));
			for (k = 0; k < G_N_ELEMENTS (chunk_sizes); k++) {
				MimeUtf8ConvertStats stats;
				GByteArray *out = run_chunked (translator, in->data, in->len,
							       chunk_sizes[k], &stats);

				assert_int_equal (stats.replacements, 1);
				assert_int_equal (stats.first_replacement, at);
				assert_int_equal (out->len, at + 3 + 100);
				g_byte_array_unref (out);
			}
		}
	}
}

/* Invalid UTF-8 of every kind spread through long text: the windowed fast path and the byte by
 * byte path agree. */
static void
test_translator__utf8_mixed_long (void **state)
{
	static const char *const pieces[] = {
		"plain ascii ",
		"\xC3\xA9t\xC3\xA9 ",
		"\xE2\x82\xAC",
		"\xF0\x9F\x98\x80",
		"\xFF",
		"\xC0\xAF",
		"\xED\xA0\x80",
		"\xF4\x90\x80\x80",
		"\xE1\x80",
		"\0",
		"\xF8\x88\x80\x80\x80",
		"\n",
	};
	g_autoptr (MimeUtf8Translator) translator = mimeutf8_translator_new ("utf-8", NULL);
	g_autoptr (GByteArray) in = g_byte_array_new ();
	GByteArray *whole;
	MimeUtf8ConvertStats whole_stats;
	guint32 seed = 1;
	size_t j, k;

	for (j = 0; j < 20000; j++) {
		const char *p;

		seed = seed * 1103515245 + 12345;
		p = pieces[(seed >> 16) % G_N_ELEMENTS (pieces)];
		g_byte_array_append (in, (const guint8 *) p, (guint) MAX (strlen (p), 1));
	}
	whole = run_chunked (translator, in->data, in->len, 0, &whole_stats);
	assert_true (whole_stats.replacements > 1000);
	for (k = 1; k < G_N_ELEMENTS (chunk_sizes); k++) {
		MimeUtf8ConvertStats stats;
		GByteArray *out =
			run_chunked (translator, in->data, in->len, chunk_sizes[k], &stats);

		assert_bytes ("chunked", out->data, out->len, whole->data, whole->len);
		assert_int_equal (stats.replacements, whole_stats.replacements);
		assert_int_equal (stats.first_replacement, whole_stats.first_replacement);
		g_byte_array_unref (out);
	}
	g_byte_array_unref (whole);
}

/* Random bytes through every charset, fed whole and in odd chunks: same output, always valid. */
static void
test_translator__random_bytes (void **state)
{
	static const size_t sizes[] = { 1, 3, 5, 17, 4097 };
	size_t n, i, k;
	const _MimeUtf8Charset *all = _mimeutf8_charset_all (&n);
	/* Mostly these, for escapes and shifts of the stateful charsets (and a NUL), else random. */
	static const char common[] = "a+-\x1B$B(J\x0E\x0F";
	g_autoptr (GByteArray) in = g_byte_array_new ();
	guint32 seed = 7;

	for (i = 0; i < 50000; i++) {
		guint8 b;

		seed = seed * 1103515245 + 12345;
		b = (guint8) (seed >> 16);
		if ((seed >> 8) % 4 != 0)
			b = (guint8) common[(seed >> 24) % sizeof common];
		g_byte_array_append (in, &b, 1);
	}
	for (i = 0; i < n; i++) {
		g_autoptr (MimeUtf8Translator) translator = _mimeutf8_translator_new_for (&all[i]);
		MimeUtf8ConvertStats whole_stats;
		GByteArray *whole = run_chunked (translator, in->data, in->len, 0, &whole_stats);

		print_message ("%s: %" G_GUINT64_FORMAT " replacements\n", all[i].name,
			       whole_stats.replacements);
		for (k = 0; k < G_N_ELEMENTS (sizes); k++) {
			MimeUtf8ConvertStats stats;
			GByteArray *out =
				run_chunked (translator, in->data, in->len, sizes[k], &stats);
			g_autofree char *what =
				g_strdup_printf ("%s, chunks of %zu", all[i].name, sizes[k]);

			assert_bytes (what, out->data, out->len, whole->data, whole->len);
			assert_int_equal (stats.replacements, whole_stats.replacements);
			g_byte_array_unref (out);
		}
		g_byte_array_unref (whole);
	}
}

/* ---- end, reset, life cycle ---------------------------------------------------------------- */

static void
test_translator__end_and_reset (void **state)
{
	g_autoptr (MimeUtf8Translator) translator = mimeutf8_translator_new ("utf-8", NULL);
	g_autoptr (GByteArray) out = g_byte_array_new ();
	MimeUtf8ConvertStats stats;

	/* A held sequence becomes U+FFFD at the end, and counting goes on after it. */
	mimeutf8_translator_convert (translator, "ab\xE2\x82", 4, out);
	assert_int_equal (out->len, 2);
	mimeutf8_translator_end (translator, out);
	assert_bytes ("end", out->data, out->len, (const guint8 *) "ab" R, 5);
	mimeutf8_translator_convert (translator, "\xAC", 1, out);
	mimeutf8_translator_end (translator, out);
	mimeutf8_translator_get_stats (translator, &stats);
	assert_int_equal (stats.replacements, 2);
	assert_int_equal (stats.first_replacement, 2);
	assert_int_equal (stats.bytes_in, 5);
	assert_int_equal (stats.bytes_out, out->len);
	/* Reset forgets held bytes and counts. */
	g_byte_array_set_size (out, 0);
	mimeutf8_translator_convert (translator, "\xE2\x82", 2, out);
	mimeutf8_translator_reset (translator);
	mimeutf8_translator_convert (translator, "ok", 2, out);
	mimeutf8_translator_end (translator, out);
	mimeutf8_translator_get_stats (translator, &stats);
	assert_bytes ("reset", out->data, out->len, (const guint8 *) "ok", 2);
	assert_int_equal (stats.replacements, 0);
	assert_int_equal (stats.first_replacement, -1);
	assert_int_equal (stats.bytes_in, 2);
	assert_int_equal (stats.bytes_out, 2);
	/* Stateful: input is converted whole at the end, so reset forgets it and returns to
	 * ASCII; end returns to ASCII too. */
	{
		g_autoptr (MimeUtf8Translator) jis = mimeutf8_translator_new ("iso-2022-jp", NULL);

		g_byte_array_set_size (out, 0);
		mimeutf8_translator_convert (jis, "\x1B$B$\"", 5, out);
		assert_int_equal (out->len, 0);
		mimeutf8_translator_reset (jis);
		mimeutf8_translator_convert (jis, "$\"", 2, out);
		mimeutf8_translator_end (jis, out);
		assert_bytes ("jis reset", out->data, out->len, (const guint8 *) "$\"", 2);
		g_byte_array_set_size (out, 0);
		mimeutf8_translator_convert (jis, "\x1B$B$\"", 5, out);
		mimeutf8_translator_end (jis, out);
		mimeutf8_translator_convert (jis, "$\"", 2, out);
		mimeutf8_translator_end (jis, out);
		assert_bytes ("jis end", out->data, out->len, (const guint8 *) "\xE3\x81\x82$\"",
			      5);
		/* reset, then end at once: nothing */
		g_byte_array_set_size (out, 0);
		mimeutf8_translator_convert (jis, "\x1B$B$\"", 5, out);
		mimeutf8_translator_reset (jis);
		mimeutf8_translator_end (jis, out);
		assert_int_equal (out->len, 0);
		/* freed with input still held: nothing was written for it */
		mimeutf8_translator_convert (jis, "\x1B$B$\"", 5, out);
		assert_int_equal (out->len, 0);
	}
	/* Empty chunks change nothing. */
	g_byte_array_set_size (out, 0);
	mimeutf8_translator_reset (translator);
	mimeutf8_translator_convert (translator, "\xE2", 1, out);
	mimeutf8_translator_convert (translator, NULL, 0, out);
	mimeutf8_translator_convert (translator, "\x82\xAC", 2, out);
	mimeutf8_translator_end (translator, out);
	assert_bytes ("empty chunk", out->data, out->len, (const guint8 *) "\xE2\x82\xAC", 3);
	mimeutf8_translator_free (NULL);
}

/* A charset outside the table (a programming error) never reaches iconv_open: it decodes as
 * ASCII with U+FFFD for the rest, and GLib logs a critical. */
static void
test_translator__not_allowed (void **state)
{
	static const _MimeUtf8Charset rogue[] = {
		{ "x-rogue-sb", "ISO-2022-CN-EXT", _MIMEUTF8_DECODER_SINGLE_BYTE, 0, 1 },
		{ "x-rogue-mb", "IBM1364", _MIMEUTF8_DECODER_ICONV, 0, 1 },
	};
	GLogFunc old = g_log_set_default_handler (count_criticals, NULL);
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (rogue); i++) {
		g_autoptr (MimeUtf8Translator) translator;
		g_autoptr (GByteArray) out = g_byte_array_new ();
		MimeUtf8ConvertStats stats;

		criticals = 0;
		translator = _mimeutf8_translator_new_for (&rogue[i]);
		assert_non_null (translator);
		assert_true (criticals > 0);
		mimeutf8_translator_convert (translator, "ok\x1B$)A\x0E\xA1\xA1", 9, out);
		mimeutf8_translator_end (translator, out);
		mimeutf8_translator_get_stats (translator, &stats);
		assert_strict_utf8 (out);
		assert_int_equal (stats.replacements, 2);
		assert_bytes (rogue[i].name, out->data, out->len,
			      (const guint8 *) "ok\x1B$)A\x0E" R R, 13);
	}
	g_log_set_default_handler (old, NULL);
}

/* A programming error (a NULL translator or output, NULL data with a length) logs a GLib
 * critical and does nothing: no crash, nothing written, no count moved.  A NULL label is an
 * unknown label, with an error that says so. */
static void
test_translator__bad_arguments (void **state)
{
	g_autoptr (MimeUtf8Translator) translator = mimeutf8_translator_new ("koi8-r", NULL);
	g_autoptr (GByteArray) out = g_byte_array_new ();
	g_autoptr (GError) error = NULL;
	GLogFunc old = g_log_set_default_handler (count_criticals, NULL);
	MimeUtf8ConvertStats stats = { 0 };

	criticals = 0;
	mimeutf8_translator_convert (NULL, "a", 1, out);
	mimeutf8_translator_convert (translator, "a", 1, NULL);
	mimeutf8_translator_convert (translator, NULL, 1, out);
	mimeutf8_translator_end (NULL, out);
	mimeutf8_translator_end (translator, NULL);
	mimeutf8_translator_reset (NULL);
	mimeutf8_translator_get_stats (NULL, &stats);
	mimeutf8_translator_get_stats (translator, NULL);
	assert_null (mimeutf8_translator_get_charset (NULL));
	assert_int_equal (mimeutf8_convert ("koi8-r", "a", 1, NULL, &stats, NULL),
			  MIMEUTF8_CONVERT_ERROR);
	assert_int_equal (mimeutf8_convert ("koi8-r", NULL, 1, out, &stats, NULL),
			  MIMEUTF8_CONVERT_ERROR);
	g_log_set_default_handler (old, NULL);
	assert_int_equal (criticals, 11);
	assert_int_equal (out->len, 0);
	mimeutf8_translator_get_stats (translator, &stats);
	assert_int_equal (stats.bytes_in, 0);
	/* the translator still works */
	mimeutf8_translator_convert (translator, "\xf0", 1, out);
	mimeutf8_translator_end (translator, out);
	assert_bytes ("after the bad calls", out->data, out->len, (const guint8 *) "\xd0\x9f", 2);
	/* empty input given as NULL is fine */
	g_byte_array_set_size (out, 0);
	assert_int_equal (mimeutf8_convert ("koi8-r", NULL, 0, out, &stats, NULL),
			  MIMEUTF8_CONVERT_OK);
	assert_int_equal (out->len, 0);

	assert_null (mimeutf8_translator_new (NULL, &error));
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_UNKNOWN_CHARSET));
	assert_non_null (strstr (error->message, "(null)"));
}

/* More charsets open at once than a thread's cache holds. */
static void
test_translator__many_open (void **state)
{
	static const char *const labels[] = { "shift_jis", "euc-kr", "gb18030",
					      "big5",      "euc-jp", "utf-16le",
					      "utf-16be",  "utf-7",  "iso-2022-jp" };
	MimeUtf8Translator *open[3 * G_N_ELEMENTS (labels)];
	size_t round, i;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < G_N_ELEMENTS (open); i++)
			open[i] = mimeutf8_translator_new (labels[i % G_N_ELEMENTS (labels)], NULL);
		for (i = 0; i < G_N_ELEMENTS (open); i++) {
			g_autoptr (GByteArray) out = g_byte_array_new ();

			assert_non_null (open[i]);
			mimeutf8_translator_convert (open[i], "A", 1, out);
			mimeutf8_translator_convert (open[i], "\0", 1, out);
			mimeutf8_translator_end (open[i], out);
			assert_strict_utf8 (out);
			mimeutf8_translator_free (open[i]);
		}
	}
}

/* ---- threads ------------------------------------------------------------------------------- */

typedef struct {
	const char *label;
	GByteArray *in;
	GString *want;
} ThreadSample;

typedef struct {
	ThreadSample *samples;
	size_t n_samples;
	MimeUtf8Translator *handed[4]; /* made by the main thread, used and freed here */
	unsigned int seed;
	gboolean ok;
} ThreadJob;

static gpointer
thread_main (gpointer data)
{
	ThreadJob *job = data;
	unsigned int i;
	size_t h;

	job->ok = TRUE;
	for (h = 0; h < G_N_ELEMENTS (job->handed); h++) {
		g_autoptr (GByteArray) out = g_byte_array_new ();

		mimeutf8_translator_convert (job->handed[h], "x", 1, out);
		mimeutf8_translator_end (job->handed[h], out);
		job->ok &= out->len == 1 && out->data[0] == 'x';
		mimeutf8_translator_free (job->handed[h]);
	}
	for (i = 0; i < 300; i++) {
		ThreadSample *s = &job->samples[(job->seed + i * 7) % job->n_samples];
		MimeUtf8Translator *translator = mimeutf8_translator_new (s->label, NULL);
		GByteArray *out = g_byte_array_new ();
		size_t off, chunk = 1 + (i * 131) % 1000;

		for (off = 0; off < s->in->len; off += chunk)
			mimeutf8_translator_convert (translator, s->in->data + off,
						     MIN (chunk, s->in->len - off), out);
		mimeutf8_translator_end (translator, out);
		job->ok &=
			out->len == s->want->len && memcmp (out->data, s->want->str, out->len) == 0;
		g_byte_array_unref (out);
		mimeutf8_translator_free (translator);
	}
	return NULL;
}

static void
test_translator__threads (void **state)
{
	static const char *const labels[] = { "shift_jis", "euc-kr",       "gb18030",
					      "big5",      "iso-2022-jp",  "utf-7",
					      "utf-16le",  "windows-1251", "koi8-r",
					      "utf-8",     "windows-1252", "euc-jp" };
	/* Charsets in which "x" is x. */
	static const char *const handed[] = { "shift_jis",   "euc-kr", "gb18030", "big5",
					      "iso-2022-jp", "utf-7",  "koi8-r",  "windows-1251" };
	ThreadSample samples[G_N_ELEMENTS (labels)];
	ThreadJob jobs[4];
	GThread *threads[G_N_ELEMENTS (jobs)];
	size_t i, h;

	for (i = 0; i < G_N_ELEMENTS (labels); i++) {
		const _MimeUtf8Charset *charset =
			_mimeutf8_charset_lookup (labels[i], strlen (labels[i]));
		size_t kept;
		gsize len = 0;
		char *in;

		assert_non_null (charset);
		samples[i].label = labels[i];
		samples[i].want = sample_text (charset, 3000, &kept);
		in = g_convert (samples[i].want->str, (gssize) samples[i].want->len,
				charset->iconv_name, "UTF-8", NULL, &len, NULL);
		assert_non_null (in);
		samples[i].in = g_byte_array_new_take ((guint8 *) in, len);
	}
	for (i = 0; i < G_N_ELEMENTS (jobs); i++) {
		jobs[i].samples = samples;
		jobs[i].n_samples = G_N_ELEMENTS (samples);
		jobs[i].seed = (unsigned int) i;
		for (h = 0; h < G_N_ELEMENTS (jobs[i].handed); h++)
			jobs[i].handed[h] = mimeutf8_translator_new (handed[(i + h) % 8], NULL);
	}
	for (i = 0; i < G_N_ELEMENTS (jobs); i++)
		threads[i] = g_thread_new ("translator", thread_main, &jobs[i]);
	for (i = 0; i < G_N_ELEMENTS (jobs); i++) {
		g_thread_join (threads[i]);
		assert_true (jobs[i].ok);
	}
	for (i = 0; i < G_N_ELEMENTS (samples); i++) {
		g_byte_array_unref (samples[i].in);
		g_string_free (samples[i].want, TRUE);
	}
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_translator__every_charset_sample),
		cmocka_unit_test (test_translator__whatwg_single_byte),
		cmocka_unit_test (test_translator__whatwg_jis0208),
		cmocka_unit_test (test_translator__decode_cases),
		cmocka_unit_test (test_translator__convert),
		cmocka_unit_test (test_translator__unknown_label),
		cmocka_unit_test (test_translator__stats_across_chunks),
		cmocka_unit_test (test_translator__utf16_nul_offset),
		cmocka_unit_test (test_translator__utf8_window_edges),
		cmocka_unit_test (test_translator__utf8_mixed_long),
		cmocka_unit_test (test_translator__random_bytes),
		cmocka_unit_test (test_translator__end_and_reset),
		cmocka_unit_test (test_translator__not_allowed),
		cmocka_unit_test (test_translator__bad_arguments),
		cmocka_unit_test (test_translator__many_open),
		cmocka_unit_test (test_translator__threads),
	};

	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
