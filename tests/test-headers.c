/* test-headers.c: header values to UTF-8 through the policy of headers.c (which header gets what,
 * with rfc2047.c, rfc2231.c and addresses.c behind it), checked by exact output,
 * by an independent decoder of the output, by Python's email.header when it is there, and on
 * hostile input for time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include <glib/gstdio.h>

#include "mimeutf8-private.h"
#include "test-skip.h"

/* ---- helpers ------------------------------------------------------------------------------- */

#define ENC MIMEUTF8_HEADERS_ENCODED
#define UTF8 MIMEUTF8_HEADERS_UTF8
#define KEEP MIMEUTF8_HEADERS_KEEP

static const _MimeUtf8Charset *
charset (const char *label)
{
	const _MimeUtf8Charset *cs;

	if (label == NULL)
		return NULL;
	cs = _mimeutf8_charset_lookup (label, strlen (label));
	assert_non_null (cs);
	return cs;
}

static GString *
normalize_full (const char *name, const char *value, size_t len, MimeUtf8HeaderMode mode,
		const char *eight_bit, const char *newline, const MimeUtf8Options *options_in,
		_MimeUtf8HeaderChange *change_out)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;

	if (options_in != NULL)
		options = *options_in;
	options.headers = mode;
	return _mimeutf8_header_normalize (name, value, len, &options, charset (eight_bit),
					   charset ("windows-1252"), newline, change_out);
}

static GString *
normalize (const char *name, const char *value, MimeUtf8HeaderMode mode, const char *eight_bit,
	   _MimeUtf8HeaderChange *change_out)
{
	return normalize_full (name, value, strlen (value), mode, eight_bit, "\n", NULL,
			       change_out);
}

/* FALSE, saying why, when the bytes differ. */
static gboolean
same_bytes (const char *what, const char *got, size_t got_len, const char *want)
{
	if (got_len != strlen (want) || memcmp (got, want, got_len) != 0) {
		g_autofree char *g0 = g_strndup (got, got_len);
		g_autofree char *g = g_strescape (g0, NULL);
		g_autofree char *w = g_strescape (want, NULL);

		print_error ("%s:\n  got  \"%s\"\n  want \"%s\"\n", what, g, w);
		return FALSE;
	}
	return TRUE;
}

static void
assert_bytes (const char *what, const char *got, size_t got_len, const char *want)
{
	if (!same_bytes (what, got, got_len, want))
		fail ();
}

/* A small RFC 2047 decoder of our own output, written apart from headers.c: it knows UTF-8
 * encoded-words only, unfolds, and drops blanks between adjacent words. */
static char *
test_decode (const char *s, size_t n)
{
	GString *out = g_string_new (NULL), *pending = g_string_new (NULL);
	gboolean after_word = FALSE;
	size_t i = 0;

	while (i < n) {
		if (s[i] == '\r' || s[i] == '\n') {
			i++;
			continue;
		}
		if (s[i] == '=' && i + 10 <= n && g_ascii_strncasecmp (s + i, "=?utf-8?", 8) == 0 &&
		    s[i + 9] == '?') {
			char enc = g_ascii_toupper (s[i + 8]);
			const char *text = s + i + 10,
				   *end = g_strstr_len (text, (gssize) (s + n - text), "?=");

			if (end != NULL && (enc == 'B' || enc == 'Q')) {
				g_autofree char *t = g_strndup (text, (gsize) (end - text));

				if (!after_word)
					g_string_append_len (out, pending->str,
							     (gssize) pending->len);
				g_string_truncate (pending, 0);
				if (enc == 'B') {
					gsize len;
					g_autofree guchar *d = g_base64_decode (t, &len);

					g_string_append_len (out, (const char *) d, (gssize) len);
				} else {
					size_t k;

					for (k = 0; t[k] != '\0'; k++) {
						if (t[k] == '_') {
							g_string_append_c (out, ' ');
						} else if (t[k] == '=' &&
							   g_ascii_isxdigit (t[k + 1]) &&
							   g_ascii_isxdigit (t[k + 2])) {
							g_string_append_c (
								out, (char) (g_ascii_xdigit_value (
										     t[k + 1]) *
										     16 +
									     g_ascii_xdigit_value (
										     t[k + 2])));
							k += 2;
						} else {
							g_string_append_c (out, t[k]);
						}
					}
				}
				after_word = TRUE;
				i = (size_t) (end + 2 - s);
				continue;
			}
		}
		if (s[i] == ' ' || s[i] == '\t') {
			g_string_append_c (pending, s[i]);
		} else {
			g_string_append_len (out, pending->str, (gssize) pending->len);
			g_string_truncate (pending, 0);
			g_string_append_c (out, s[i]);
			after_word = FALSE;
		}
		i++;
	}
	g_string_append_len (out, pending->str, (gssize) pending->len);
	g_string_free (pending, TRUE);
	return g_string_free (out, FALSE);
}

/* The form every ENCODED output has: 7-bit, no NUL, CR or LF but in a fold (newline then a
 * blank), encoded-words of at most 75 characters, and lines of at most 78 characters unless
 * the line holds a single word that is longer. */
static void
assert_encoded_form (const char *name, const GString *out, const char *newline)
{
	size_t i, line_start = 0, first = strlen (name) + 1;
	const char *p = out->str;

	for (i = 0; i < out->len; i++) {
		guint8 c = (guint8) p[i];

		if (c >= 0x80 || c == 0)
			fail_msg ("byte 0x%02X at %zu in \"%s\"", c, i, p);
		if (c == '\r' || c == '\n') {
			size_t nl = strlen (newline);

			if (strncmp (p + i, newline, nl) != 0 || i + nl >= out->len ||
			    (p[i + nl] != ' ' && p[i + nl] != '\t'))
				fail_msg ("bare line break at %zu in \"%s\"", i, p);
			i += nl - 1;
		}
	}
	for (i = 0; i <= out->len; i++) {
		if (i == out->len || p[i] == '\n' || p[i] == '\r') {
			size_t len = i - line_start + (line_start == 0 ? first : 0);

			if (len > 78) {
				g_autofree char *line = g_strndup (p + line_start, i - line_start);

				g_strstrip (line);
				if (strchr (line, ' ') != NULL || strchr (line, '\t') != NULL)
					fail_msg ("line of %zu characters: \"%s\" in \"%s\"", len,
						  line, p);
			}
			if (i < out->len && p[i] == '\r')
				i++;
			line_start = i + 1;
		}
	}
	/* Our words; literal ones from the input are what they were. */
	for (i = 0; i + 10 < out->len; i++) {
		if (strncmp (p + i, "=?UTF-8?B?", 10) == 0 ||
		    strncmp (p + i, "=?UTF-8?Q?", 10) == 0) {
			const char *end = strstr (p + i + 10, "?=");

			assert_non_null (end);
			if (end + 2 - (p + i) > 75)
				fail_msg ("encoded-word of %d characters in \"%s\"",
					  (int) (end + 2 - (p + i)), p);
			i = (size_t) (end + 1 - p);
		}
	}
}

/* The rules every output follows, in either mode: no NUL (but in an addr-spec that had one), CR
 * or LF but in a fold, no line of blanks only, and normalizing it again changes nothing. */
static void
assert_stable (const char *what, const char *name, const char *value, size_t len,
	       MimeUtf8HeaderMode mode, const char *eight_bit)
{
	_MimeUtf8HeaderChange change;
	g_autoptr (GString) out =
		normalize_full (name, value, len, mode, eight_bit, "\n", NULL, &change);
	g_autoptr (GString) again = NULL;
	size_t i, nul_in = 0, nul_out = 0;

	if (out == NULL)
		return;
	for (i = 0; i < len; i++)
		nul_in += value[i] == 0;
	for (i = 0; i < out->len; i++) {
		/* Only an addr-spec keeps one, as it keeps every byte. */
		if (out->str[i] == 0 && ++nul_out > nul_in)
			fail_msg ("%s: NUL at %zu", what, i);
		if (out->str[i] == '\r' ||
		    (out->str[i] == '\n' && out->str[i + 1] != ' ' && out->str[i + 1] != '\t'))
			fail_msg ("%s: line break that is no fold at %zu", what, i);
		if (out->str[i] == '\n') {
			size_t j = i + 1;

			while (j < out->len && (out->str[j] == ' ' || out->str[j] == '\t'))
				j++;
			if (j == out->len || out->str[j] == '\n' || out->str[j] == '\r')
				fail_msg ("%s: a line of blanks only at %zu", what, i);
		}
	}
	again = normalize_full (name, out->str, out->len, mode, eight_bit, "\n", NULL, &change);
	if (again != NULL)
		assert_bytes (what, again->str, again->len, out->str);
}

/* ---- table of cases ------------------------------------------------------------------------ */

typedef struct {
	const char *name;
	const char *value;
	MimeUtf8HeaderMode mode;
	const char *eight_bit;
	/* The exact output, or NULL when the header must stay as it is. */
	const char *want;
	const char *rule;
	const char *charset;
	gboolean sanitized;
} Case;

static const Case cases[] = {
	/* Already normal, or not ours: NULL. */
	{ "Subject", " Hello world", ENC, NULL, NULL },
	{ "Subject", " =?UTF-8?Q?caf=C3=A9?= =?utf-8?B?w6k=?=", ENC, NULL, NULL },
	{ "Subject", " =?utf-8?Q?caf=C3=A9?=\n =?us-ascii?Q?and_more?=\n\t=?UTF-8*fr?Q?=C3=A9?=",
	  ENC, NULL, NULL },
	{ "Subject", " =?iso-8859-1?Q?caf=E9?=", KEEP, NULL, NULL },
	{ "Subject", " caf\xc3\xa9", UTF8, NULL, NULL },
	{ "Message-ID", " <=?iso-8859-1?Q?caf=E9?=@example.com>", ENC, NULL, NULL },
	{ "References", " <a@b> =?iso-8859-1?Q?caf=E9?=", ENC, NULL, NULL },
	{ "Received", " from caf\xc3\xa9 by x", ENC, NULL, NULL },
	{ "DKIM-Signature", " v=1; z=Subject:=?iso-8859-1?Q?x?=", ENC, NULL, NULL },
	{ "X-Google-DKIM-Signature", " z=Subject:=?iso-8859-1?Q?x?=", ENC, NULL, NULL },
	{ "X-Original-To", " j\xc3\xb6rg@example.com", ENC, NULL, NULL },
	{ "Delivered-To", " j\xc3\xb6rg@example.com", ENC, NULL, NULL },
	{ "List-Id", " =?iso-8859-1?Q?caf=E9?= <list.example.com>", ENC, NULL, NULL },

	/* A structured header with bytes that are not UTF-8 is read as text. */
	{ "Received", " from caf\xe9 by x", ENC, NULL, " from =?UTF-8?B?Y2Fmw6k=?= by x",
	  "8bit-fallback", "windows-1252" },
	{ "Received", " from caf\xe9 by x", UTF8, "koi8-r", " from caf\xd0\x98 by x", "8bit-message",
	  "koi8-r" },
	{ "DKIM-Signature", " v=1; b=caf\xe9", ENC, NULL, NULL },
	/* Identifier headers keep their bytes in every mode: an encoded-word is not allowed in a
	 * msg-id, and a rewritten one no longer matches the References of the replies. */
	{ "Message-ID", " <caf\xe9@x>", ENC, NULL, NULL },
	{ "Message-ID", " <caf\xe9@x>", UTF8, "koi8-r", NULL },
	{ "Message-Id", " <=?iso-8859-1?Q?caf=E9?=@x>", UTF8, NULL, NULL },
	{ "References", " <a@b>\n <caf\xe9@x>", ENC, NULL, NULL },
	{ "In-Reply-To", " <caf\xe9@x> (caf\xe9)", ENC, NULL, NULL },
	{ "Content-ID", " <caf\xe9@x>", ENC, NULL, NULL },
	{ "MIME-Version", " 1.0 (caf\xe9)", ENC, NULL, NULL },
	{ "Resent-Message-ID", " <caf\xe9@x>", UTF8, NULL, NULL },

	/* Encoded-words in legacy charsets. */
	{ "Subject", " =?iso-8859-1?Q?caf=E9_au_lait?=", ENC, NULL, " =?UTF-8?B?Y2Fmw6k=?= au lait",
	  "rfc2047", "windows-1252" },
	{ "Subject", " =?iso-8859-1?Q?caf=E9_au_lait?=", UTF8, NULL, " caf\xc3\xa9 au lait",
	  "rfc2047", "windows-1252" },
	{ "Subject", " =?utf8?Q?ol=C3=A1?=", ENC, NULL, " =?UTF-8?Q?ol=C3=A1?=", "rfc2047", NULL },
	{ "Subject", " =?utf-8?Q?caf=E9?=", ENC, NULL, " =?UTF-8?B?Y2Fm77+9?=", "rfc2047", NULL },
	{ "Subject", " =?us-ascii?Q?caf=E9?=", UTF8, NULL, " caf\xc3\xa9", "rfc2047",
	  "windows-1252" },
	{ "Subject", " =?ISO-8859-1*fr?Q?caf=E9?=", UTF8, NULL, " caf\xc3\xa9", "rfc2047",
	  "windows-1252" },
	/* Characters cut across words: Shift_JIS (B and Q), UTF-8 and GB18030 (a 4-byte one). */
	{ "Subject", " =?shift_jis?B?k/qW?= =?shift_jis?B?e4zq?=", UTF8, NULL,
	  " \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "rfc2047", "shift_jis" },
	{ "Subject", " =?shift_jis?Q?=93=FA=96?=\n =?SHIFT_JIS?Q?{=8C=EA?=", UTF8, NULL,
	  " \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "rfc2047", "shift_jis" },
	{ "Subject", " =?utf8?B?4oI=?= =?utf8?B?rA==?=", UTF8, NULL, " \xe2\x82\xac", "rfc2047",
	  NULL },
	{ "Subject", " =?utf-8?Q?=E2=82?= =?utf-8?Q?=AC?=", ENC, NULL, NULL },
	{ "Subject", " =?gb18030?B?1tDOxIE=?= =?gb18030?B?MIY4?=", UTF8, NULL,
	  " \xe4\xb8\xad\xe6\x96\x87\xc3\x80", "rfc2047", "gb18030" },
	{ "Subject", " =?gb2312?Q?=D6=D0=CE?= =?gb2312?Q?=C4=810=868?=", UTF8, NULL,
	  " \xe4\xb8\xad\xe6\x96\x87\xc3\x80", "rfc2047", "gb18030" },
	/* A cut character whose halves are in different charsets stays cut: U+FFFD. */
	{ "Subject", " =?utf-8?B?4oI=?= =?iso-8859-1?B?rA==?=", UTF8, NULL, " \xef\xbf\xbd\xc2\xac",
	  "rfc2047", "windows-1252" },
	/* Blanks between adjacent words go; between a word and plain text they stay. */
	{ "Subject", " =?iso-8859-1?Q?a?=  \n\t=?iso-8859-1?Q?b?= c =?iso-8859-1?Q?=E9?=\n d", UTF8,
	  NULL, " ab c \xc3\xa9 d", "rfc2047", "windows-1252" },
	{ "Subject", " x=?iso-8859-1?Q?=E9?=y", UTF8, NULL, " x\xc3\xa9y", "rfc2047",
	  "windows-1252" },
	/* Malformed words and unknown charsets stay literal, byte for byte. */
	{ "Subject", " =?iso-8859-1?B?@@@@?= =?iso-8859-1?Q?no_end =?x-unknown?Q?abc?=", ENC, NULL,
	  NULL },
	{ "Subject", " =?iso-8859-1?B?Y?= =?koi8-r?B?8NLJ18XU?=", UTF8, NULL,
	  " =?iso-8859-1?B?Y?= \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", "rfc2047",
	  "koi8-r" },
	{ "Subject", " =?x-unknown?Q?abc?= =?iso-8859-1?Q?=E9?= =?iso-8859-1?Q?no_end", ENC, NULL,
	  " =?x-unknown?Q?abc?= =?UTF-8?B?w6k=?= =?iso-8859-1?Q?no_end", "rfc2047",
	  "windows-1252" },
	{ "Subject", " =?ISO-2022-CN-EXT?B?GyQpQQ4=?= =?iso-8859-1?Q?=E9?=", ENC, NULL,
	  " =?ISO-2022-CN-EXT?B?GyQpQQ4=?= =?UTF-8?B?w6k=?=", "rfc2047", "windows-1252" },
	/* Decoded text that looks like an encoded-word is written encoded, so it stays text. */
	{ "Subject", " =?iso-8859-1?Q?=3D=3Fiso-8859-1=3FQ=3Fx=3F=3D?= =?iso-8859-1?Q?=E9?=", UTF8,
	  NULL, " =?UTF-8?B?PT9pc28tODg1OS0xP1E/eD89w6k=?=", "rfc2047", "windows-1252" },

	/* Raw 8-bit. */
	{ "Subject", " \xf0\xd2\xc9\xd7\xc5\xd4, \xcd\xc9\xd2!", ENC, "koi8-r",
	  " =?UTF-8?B?0J/RgNC40LLQtdGCLCDQvNC40YAh?=", "8bit-message", "koi8-r" },
	{ "Subject", " \xf0\xd2\xc9\xd7\xc5\xd4, \xcd\xc9\xd2!", UTF8, "koi8-r",
	  " \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, \xd0\xbc\xd0\xb8\xd1\x80!",
	  "8bit-message", "koi8-r" },
	{ "Subject", " caf\xe9", ENC, NULL, " =?UTF-8?B?Y2Fmw6k=?=", "8bit-fallback",
	  "windows-1252" },
	/* A UTF-8 message charset does not explain bytes that are not UTF-8 at all. */
	{ "Subject", " caf\xe9", ENC, "utf-8", " =?UTF-8?B?Y2Fmw6k=?=", "8bit-fallback",
	  "windows-1252" },
	{ "Subject", " caf\xc3\xa9 cr\xc3\xa8me", ENC, "koi8-r",
	  " =?UTF-8?B?Y2Fmw6kgY3LDqG1l?=", "8bit-utf8", NULL },
	/* Issue 9, item 5: UTF-8 but for one stray byte (mailformed-headers.eml) is UTF-8, with
	 * U+FFFD for the byte, whatever the message charset. */
	{ "From",
	  " \xd0\xae\xd0\xbd\xd0\xb8\xd0\xba\xd0\xbe\xd0\xb4 "
	  "\xd0\xb7\xd0\xb0\xd0\xbf\xd1\x80\xd0\xb5"
	  "\xd1\x89\xd0\xb5\xd0\xbd\xf1 <headers@gmail.com>",
	  ENC, NULL,
	  " =?UTF-8?B?0K7QvdC40LrQvtC0INC30LDQv9GA0LXRidC10L3vv70=?=\n <headers@gmail.com>",
	  "8bit-utf8", NULL },
	{ "Subject", " caf\xc3\xa9 cr\xc3\xa8me \xff", ENC, "koi8-r",
	  " =?UTF-8?B?Y2Fmw6kgY3LDqG1lIO+/vQ==?=", "8bit-utf8", NULL },
	/* One valid sequence for one invalid byte is not enough to call it UTF-8. */
	{ "Subject", " \xc3\xa9t\xe9", ENC, NULL, " =?UTF-8?B?w4PCqXTDqQ==?=", "8bit-fallback",
	  "windows-1252" },
	{ "X-Mailer", " Courrier \xc3\xa9lectronique 1.0", ENC, NULL,
	  " Courrier =?UTF-8?Q?=C3=A9lectronique?= 1.0", "8bit-utf8", NULL },
	{ "From", " \xf6\xcf\xd2\xc1 \xe9\xd7\xc1\xce\xcf\xd7 <zhora@example.com>", ENC, "koi8-r",
	  " =?UTF-8?B?0JbQvtGA0LAg0JjQstCw0L3QvtCy?= <zhora@example.com>", "8bit-message",
	  "koi8-r" },
	{ "From", " \"\xf6\xcf\xd2\xc1 \xe9\xd7\xc1\xce\xcf\xd7\" <zhora@example.com>", UTF8,
	  "koi8-r",
	  " \xd0\x96\xd0\xbe\xd1\x80\xd0\xb0 \xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\xd0\xbe\xd0\xb2 "
	  "<zhora@example.com>",
	  "8bit-message", "koi8-r" },

	/* Header injection and NUL. */
	{ "Subject", " =?utf-7?Q?+AA0ACg-Bcc:_evil@example.com?=", ENC, NULL,
	  "   Bcc: evil@example.com", "rfc2047", "utf-7", TRUE },
	{ "Subject", " =?utf-8?Q?a=0D=0Ab=00c?=", UTF8, NULL,
	  " a  b\xef\xbf\xbd"
	  "c",
	  "rfc2047", NULL, TRUE },
	{ "From", " =?utf-7?B?K0FBMEFDZy1CY2M6IGV2aWxAZXhhbXBsZS5jb20=?= <a@b>", ENC, NULL,
	  " \"  Bcc: evil@example.com\" <a@b>", "rfc2047", "utf-7", TRUE },
	/* Controls in raw text go too once the header is written again: kept, one written inside
	 * an encoded-word would be decoded text on the next run. */
	{ "Subject", " a\x0e\x1b$B =?iso-8859-1?Q?=E9?=", UTF8, NULL, " a  $B \xc3\xa9", "rfc2047",
	  "windows-1252", TRUE },
	{ "Subject",
	  " a\x0e"
	  "b",
	  ENC, NULL, NULL },

	/* Address lists: only display names and comments change. */
	{ "To", " undisclosed-recipients:;", ENC, NULL, NULL },
	{ "To", " \"Smith, \\\"JJ\\\" John\" <js@example.com>, j\xc3\xb6rg@ex\xc3\xa4mple.com", ENC,
	  NULL, NULL },
	{ "From", " =?iso-8859-1?Q?J=F6rg_M=FCller?= <j\xc3\xb6rg@ex\xc3\xa4mple.com>", ENC, NULL,
	  " =?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <j\xc3\xb6rg@ex\xc3\xa4mple.com>", "rfc2047",
	  "windows-1252" },
	{ "To",
	  " Friends: =?iso-8859-1?Q?J=F6rg?= <j@x.org>, b@y.org (=?iso-8859-1?Q?Bj=F6rn?=);,"
	  " \"Doe, \\\"J\\\"\" <d@z.org>",
	  ENC, NULL,
	  " Friends: =?UTF-8?B?SsO2cmc=?= <j@x.org>, b@y.org (=?UTF-8?B?QmrDtnJu?=);,\n"
	  " \"Doe, \\\"J\\\"\" <d@z.org>",
	  "rfc2047", "windows-1252" },
	{ "Cc", " =?iso-8859-1?Q?Smith=2C_John?= <js@x.org>", ENC, NULL,
	  " \"Smith, John\" <js@x.org>", "rfc2047", "windows-1252" },
	{ "Cc", " =?iso-8859-1?Q?M=FCller=2C_J=F6rg?= <jm@x.org>", ENC, NULL,
	  " =?UTF-8?B?TcO8bGxlciwgSsO2cmc=?= <jm@x.org>", "rfc2047", "windows-1252" },
	{ "Cc", " =?iso-8859-1?Q?M=FCller=2C_J=F6rg?= <jm@x.org>", UTF8, NULL,
	  " \"M\xc3\xbcller, J\xc3\xb6rg\" <jm@x.org>", "rfc2047", "windows-1252" },
	{ "Reply-To", " \"=?iso-8859-1?Q?J=F6rg?=\" (caf\xe9) <j@x.org>", ENC, NULL,
	  " =?UTF-8?B?SsO2cmc=?= (=?UTF-8?B?Y2Fmw6k=?=) <j@x.org>", "rfc2047", "windows-1252" },
	{ "Sender", " j@x.org (a \\(nested\\) =?iso-8859-1?Q?caf=E9?=)", UTF8, NULL,
	  " j@x.org (a \\(nested\\) caf\xc3\xa9)", "rfc2047", "windows-1252" },
	/* Raw 8-bit bytes are read per display name, never with an addr-spec's: a latin1 addr-spec
	 * next to a UTF-8 name leaves the name UTF-8 (and the output its own normal form). */
	{ "From", " =?iso-8859-1?Q?J=F6rg?= <j\xf6rg@example.com>", UTF8, "koi8-r",
	  " J\xc3\xb6rg <j\xf6rg@example.com>", "rfc2047", "windows-1252" },
	{ "From", " J\xc3\xb6rg (\xe9t\xe9) <j\xf6rg@example.com>", UTF8, "iso-8859-1",
	  " J\xc3\xb6rg (\xc3\xa9t\xc3\xa9) <j\xf6rg@example.com>", "8bit-message",
	  "windows-1252" },
	/* An address list that does not parse: words outside <...> still decode. */
	{ "To", " \"unterminated =?iso-8859-1?Q?J=F6rg?= <j@x.org>", ENC, NULL,
	  " \"unterminated =?UTF-8?B?SsO2cmc=?= <j@x.org>", "rfc2047", "windows-1252" },

	/* Parameters. */
	{ "Content-Type", " text/plain; charset=\"iso-8859-1\"; format=flowed", ENC, NULL, NULL },
	{ "Content-Type", " text/plain; name*=utf-8''r%C3%A9sum%C3%A9.txt", ENC, NULL, NULL },
	{ "Content-Type", " text/plain; name*0*=UTF-8'en'r%C3%A9sum; name*1*=%C3%A9.txt", ENC, NULL,
	  NULL },
	{ "Content-Type", " text/plain; name=\"r\xc3\xa9sum\xc3\xa9.txt\"", UTF8, NULL, NULL },
	{ "Content-Type", " multipart/mixed; boundary=\"=?iso-8859-1?Q?=E9?=\"", ENC, NULL, NULL },
	{ "Content-Type", " text/plain; charset*=iso-8859-1''x; name*=x-unknown''r%E9", ENC, NULL,
	  NULL },
	{ "Content-Type", " text/plain; name*0*=iso-8859-1''a%E9; name*0*=b", ENC, NULL, NULL },
	/* Text after a value: written again unquoted, the value would run into it. */
	{ "Content-Type", " text/plain; name=\"r\xe9\"=?x?Q?y?=\x01\"", ENC, NULL, NULL },
	{ "Content-Type",
	  " text/plain; charset=iso-8859-1; name=\"=?iso-8859-1?Q?r=E9sum=E9.txt?=\"", ENC, NULL,
	  " text/plain; charset=iso-8859-1;\n name*=utf-8''r%C3%A9sum%C3%A9.txt", "rfc2047",
	  "windows-1252" },
	{ "Content-Disposition", " attachment; filename=\"=?iso-8859-1?Q?r=E9sum=E9.txt?=\"", UTF8,
	  NULL, " attachment; filename=\"r\xc3\xa9sum\xc3\xa9.txt\"", "rfc2047", "windows-1252" },
	{ "Content-Disposition",
	  " attachment; filename*1*=%E9.txt; size=3;\n\tfilename*0*=iso-8859-1'fr'r%E9sum;"
	  " creation-date=\"x\"",
	  ENC, NULL,
	  " attachment; filename*=utf-8''r%C3%A9sum%C3%A9.txt;\n size=3; creation-date=\"x\"",
	  "rfc2231", "windows-1252" },
	{ "Content-Disposition",
	  " attachment; filename*2=\"name.txt\"; filename*0*=koi8-r''%F0%D2%C9%D7%C5%D4%20;"
	  " filename*1=\"long-\"",
	  UTF8, NULL,
	  " attachment; filename=\"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 "
	  "long-name.txt\"",
	  "rfc2231", "koi8-r" },
	{ "Content-Disposition",
	  " attachment;\n "
	  "filename*0*=koi8-r''%F0%D2%C9%D7%C5%D4%20%F0%D2%C9%D7%C5%D4%20%F0%D2%C9%D7;\n"
	  " filename*1=\"-long-name.txt\"; size=10",
	  ENC, NULL,
	  " attachment;\n "
	  "filename*0*=utf-8''%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82%20%D0%9F%D1%80%D0%B8;\n"
	  " filename*1*=%D0%B2%D0%B5%D1%82%20%D0%9F%D1%80%D0%B8%D0%B2-long-name.txt;\n size=10",
	  "rfc2231", "koi8-r" },
	{ "Content-Type", " application/octet-stream; name=\"r\xe9sum\xe9.txt\"", ENC, "iso-8859-1",
	  " application/octet-stream; name*=utf-8''r%C3%A9sum%C3%A9.txt", "8bit-message",
	  "windows-1252" },
	/* name= and name*= both present: each keeps a form of its own. */
	{ "Content-Disposition",
	  " attachment; filename=\"r\xe9sum\xe9.txt\"; filename*=iso-8859-1''r%E9sum%E9.txt", ENC,
	  NULL,
	  " attachment; filename=\"=?UTF-8?B?csOpc3Vtw6kudHh0?=\";\n"
	  " filename*=utf-8''r%C3%A9sum%C3%A9.txt",
	  "rfc2231", "windows-1252" },
	{ "Content-Disposition",
	  " attachment; filename=\"x.txt\"; filename*=iso-8859-1''r%E9sum%E9.txt", UTF8, NULL,
	  " attachment; filename=\"x.txt\";\n filename*=utf-8''r%C3%A9sum%C3%A9.txt", "rfc2231",
	  "windows-1252" },
	{ "Content-Type", " text/plain; name*=utf-8''caf%E9%0D%0Abcc", UTF8, NULL,
	  " text/plain; name=\"caf\xef\xbf\xbd  bcc\"", "rfc2231", NULL, TRUE },
};

static void
test_headers__cases (void **state)
{
	size_t i, failed = 0;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		const Case *c = &cases[i];
		_MimeUtf8HeaderChange change;
		g_autoptr (GString) out =
			normalize (c->name, c->value, c->mode, c->eight_bit, &change);
		g_autofree char *what = g_strdup_printf ("case %zu (%s:%s)", i, c->name, c->value);

		assert_stable (what, c->name, c->value, strlen (c->value), ENC, c->eight_bit);
		assert_stable (what, c->name, c->value, strlen (c->value), UTF8, c->eight_bit);

		if (c->want == NULL) {
			if (out != NULL && !same_bytes (what, out->str, out->len, "(NULL)"))
				failed++;
			assert_null (change.rule);
			assert_false (change.limit_hit);
			continue;
		}
		if (out == NULL)
			fail_msg ("%s: got NULL", what);
		if (!same_bytes (what, out->str, out->len, c->want)) {
			failed++;
			continue;
		}
		if (g_strcmp0 (change.rule, c->rule) != 0)
			fail_msg ("%s: rule %s, want %s", what, change.rule, c->rule);
		if (g_strcmp0 (change.charset != NULL ? change.charset->name : NULL, c->charset) !=
		    0)
			fail_msg ("%s: charset %s, want %s", what,
				  change.charset != NULL ? change.charset->name : "NULL",
				  c->charset);
		if (change.sanitized != c->sanitized)
			fail_msg ("%s: sanitized %d", what, change.sanitized);
		if (c->mode == ENC && strcmp (c->name, "From") != 0)
			assert_encoded_form (c->name, out, "\n");
		/* Normal form is a fixed point: running again changes nothing. */
		{
			_MimeUtf8HeaderChange again_change;
			g_autoptr (GString) again =
				normalize (c->name, out->str, c->mode, NULL, &again_change);

			if (again != NULL)
				assert_bytes ("second run", again->str, again->len, "(NULL)");
		}
	}
	assert_int_equal (failed, 0);
}

/* Bytes with NUL in them need explicit lengths. */
static void
test_headers__nul (void **state)
{
	static const char raw[] = " a\0b =?iso-8859-1?Q?=E9?=";
	static const char plain[] = " a\0b";
	_MimeUtf8HeaderChange change;
	g_autoptr (GString) out =
		normalize_full ("Subject", raw, sizeof raw - 1, UTF8, NULL, "\n", NULL, &change);
	g_autoptr (GString) out2 =
		normalize_full ("Subject", plain, sizeof plain - 1, ENC, NULL, "\n", NULL, &change);

	assert_non_null (out);
	assert_bytes ("nul", out->str, out->len,
		      " a\xef\xbf\xbd"
		      "b \xc3\xa9");
	assert_non_null (out2);
	assert_bytes ("nul alone", out2->str, out2->len, " =?UTF-8?B?Ye+/vWI=?=");
	assert_true (change.sanitized);
	assert_null (memchr (out->str, 0, out->len));
}

/* Inputs the fuzzer (tests/fuzz/fuzz-headers.c) found: each once broke a rule above. */
static void
test_headers__fuzzed (void **state)
{
	static const struct {
		const char *name;
		const char *value;
		size_t len;
	} inputs[] = {
#define INPUT(name, value) { name, value, sizeof value - 1 }
		/* a raw control in a word that must be encoded */
		INPUT ("Subject", " =?shi\x0et_jis?B?k/qW\xec= =?shift_jis?B?eCcec4zq?="),
		/* text after a quoted value, which an unquoted rewrite would run into */
		INPUT ("Content-Type",
		       " \x8c\x9a\x83\x8e/plaS\xf5ply-To: in; charset=iso-4429-1;"
		       " name=\"\xbc?iapnaapnamme=\"=?iappplkcation/pgp-signa:uret?=\x01\""
		       "\0\0\0"),
		/* an empty value */
		INPUT ("Content-Disposition",
		       " attachment; filename*1*=%E9.txt; sB/\x06\0\260`\0\0"
		       "filenasition: attachment; filename*1*=%E9.txt; size="),
		/* a list that does not parse, with a quote in a word to decode */
		INPUT ("From",
		       " \"=?iso-8859-1?Q?J\0G6rg\n ?=\"'(9>, \241{\366\366\366\366\366\366"
		       "\366\366\366\366ienc)a\351f <j\366om: \"=?iso-8859-1?Q?J\0G6r\0, cAd;"),
		/* a '(' inside brackets in a display name */
		INPUT ("Cc", " =?[c\377\377\377\377\377\377\377(]c=\0l\0"),
		/* a quote that, taken away, joins two pieces into an encoded-word */
		INPUT ("From", " o-\001\000?\0028859Q=?iso-8859-1?Q?1-?\"=?iso\001\000`"
			       "p\000\003lllllll:g?=\" "
			       "(Zaf\351Fr}m:"
			       "\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\^"
			       "n\344i\012 \\\\ o)l"),
		/* an empty word between two pieces that make one */
		INPUT ("Subject", "SDom=?=?utf-16?B?\?=utf-16?B?\?="),
		/* a fold before a display name that is one control, so a blank */
		INPUT ("To", "\0\0\0i\001;\001C;  \n \001"),
		/* an RFC 2231 value that holds an encoded-word, as text */
		INPUT ("Content-Disposition",
		       ";\n\te*0*=%E9.arc-txt%%%%,%%rraf=?utf-16?B?18XU?=\347\347\030\306?caf;"),
		/* a CR then a blank, which is no fold */
		INPUT ("From",
		       "\216\216\377\377\r\t\t\377\377\r\t\tmmmm\t\t\tiFn=tde ?\377\r\t\t"
		       "\377\r\t\t\tiFn=tde ?iso-4\0\0\0iso-4\0\0\0: r?= <j6rgTrg e@b, c@d;"),
		/* a bare CR in a list that does not parse */
		INPUT ("Cc", " =\0\0\0\0\0\0\0?ikoi8+rsCller=2C_\r=F6rg?= <jm@x.org\276"),
		/* text that decodes to nothing after a fold */
		INPUT ("Subject", "\n =?iso-8859-1?Q?\?="),
		INPUT ("From", " \"x\n =?iso-8859-1?Q?\?=\n <a@example.com>"),
		INPUT ("To", " a:\n =?iso-8859-1?Q?\?=\n :;, =?koi8-r?B?\?=\n\t"),
#undef INPUT
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (inputs); i++) {
		g_autofree char *what = g_strdup_printf ("fuzzed input %zu", i);

		assert_stable (what, inputs[i].name, inputs[i].value, inputs[i].len, ENC, NULL);
		assert_stable (what, inputs[i].name, inputs[i].value, inputs[i].len, UTF8,
			       "koi8-r");
	}
}

static void
test_headers__newline_and_folding (void **state)
{
	_MimeUtf8HeaderChange change;
	GString *words = g_string_new (" ");
	g_autoptr (GString) out = NULL;
	g_autofree char *decoded = NULL;
	int i;

	for (i = 0; i < 12; i++)
		g_string_append (words, "=?iso-8859-1?Q?caf=E9_cr=E8me_br=FBl=E9e?= et ");
	g_string_append (words, "fin");
	out = normalize_full ("Subject", words->str, words->len, ENC, NULL, "\r\n", NULL, &change);
	assert_non_null (out);
	assert_non_null (strstr (out->str, "\r\n "));
	assert_encoded_form ("Subject", out, "\r\n");
	decoded = test_decode (out->str, out->len);
	assert_non_null (strstr (decoded, "caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9"
					  "e et caf"));
	assert_true (g_str_has_suffix (decoded, " et fin"));
	g_string_free (words, TRUE);
}

/* A single long word without blanks cannot fold: the line may be long then, and only then. */
static void
test_headers__long_word (void **state)
{
	_MimeUtf8HeaderChange change;
	GString *value = g_string_new (" =?iso-8859-1?Q?");
	g_autoptr (GString) out = NULL;
	g_autofree char *decoded = NULL;
	int i;

	for (i = 0; i < 200; i++)
		g_string_append (value, i % 7 == 0 ? "=E9" : "x");
	g_string_append (value, "?= http://example.com/");
	for (i = 0; i < 100; i++)
		g_string_append (value, "long/");
	out = normalize_full ("Subject", value->str, value->len, ENC, NULL, "\n", NULL, &change);
	assert_non_null (out);
	assert_encoded_form ("Subject", out, "\n");
	decoded = test_decode (out->str, out->len);
	assert_int_equal (g_utf8_strlen (decoded, -1), 1 + 200 + 1 + 19 + 500);
	g_string_free (value, TRUE);
}

static void
test_headers__limits (void **state)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	_MimeUtf8HeaderChange change;
	GString *value = g_string_new (" ");
	g_autoptr (GString) out = NULL;
	int i;

	/* Encoded-words: the default is 1,000, even of words that need no change. */
	for (i = 0; i < 1001; i++)
		g_string_append (value, "=?utf-8?Q?a?= ");
	out = normalize_full ("Subject", value->str, value->len, ENC, NULL, "\n", NULL, &change);
	assert_null (out);
	assert_true (change.limit_hit);
	options.max_encoded_words = 2000;
	out = normalize_full ("Subject", value->str, value->len, ENC, NULL, "\n", &options,
			      &change);
	assert_null (out);
	assert_false (change.limit_hit);
	options.max_encoded_words = 3;
	g_string_assign (value, " =?x?Q?a?= =?x?Q?a?= =?x?Q?a?= =?x?Q?a?=");
	out = normalize_full ("Subject", value->str, value->len, ENC, NULL, "\n", &options,
			      &change);
	assert_null (out);
	assert_true (change.limit_hit);
	g_string_assign (value, " =?iso-8859-1?Q?a?= =?x?Q?a?= =?x?Q?a?= =?x?Q?a?= <a@b>");
	out = normalize_full ("To", value->str, value->len, ENC, NULL, "\n", &options, &change);
	assert_null (out);
	assert_true (change.limit_hit);

	/* Parameters: 128 by default, counted whatever they hold. */
	g_string_assign (value, " text/plain");
	for (i = 0; i < 129; i++)
		g_string_append_printf (value, "; p%d=v", i);
	out = normalize_full ("Content-Type", value->str, value->len, ENC, NULL, "\n", NULL,
			      &change);
	assert_null (out);
	assert_true (change.limit_hit);
	options.max_params = 200;
	g_string_append (value, "; name*=iso-8859-1''%E9");
	out = normalize_full ("Content-Type", value->str, value->len, ENC, NULL, "\n", &options,
			      &change);
	assert_non_null (out);
	assert_false (change.limit_hit);
	assert_true (g_str_has_suffix (out->str, ";\n name*=utf-8''%C3%A9"));
	g_string_free (value, TRUE);
}

/* ---- round trip ---------------------------------------------------------------------------- */

typedef struct {
	const char *label;
	const char *iconv_name;
	const char *alphabet; /* UTF-8 characters the charset has */
} Script;

static const Script scripts[] = {
	{ "iso-8859-1", "CP1252",
	  "abcdefghij\xc3\xa0\xc3\xa1\xc3\xa2\xc3\xa9\xc3\xa8\xc3\xaa\xc3\xab\xc3\xaf\xc3\xb1\xc3"
	  "\xb6\xc3\xbc\xc3\x9f\xc3\xa7\xc3\xb8\xe2\x82\xac" },
	{ "koi8-r", "KOI8-R",
	  "\xd0\xb0\xd0\xb1\xd0\xb2\xd0\xb3\xd0\xb4\xd0\xb5\xd0\xb6\xd0\xb7\xd0\xb8\xd0\x99\xd0\x9a"
	  "\xd0\x9b\xd1\x8f\xd1\x8e\xd1\x8d\xd1\x91xyz" },
	{ "windows-1251", "CP1251",
	  "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\xd1\x96\xd1\x97\xd1\x94\xd2\x91" },
	{ "iso-8859-7", "ISO-8859-7",
	  "\xce\xb1\xce\xb2\xce\xb3\xce\xb4\xce\xb5\xce\xb6\xce\xb7\xce\xb8\xce\xa9\xce\xa3\xce\xac"
	  "\xce\xad" },
	{ "shift_jis", "CP932",
	  "\xe3\x81\x82\xe3\x81\x84\xe3\x81\x86\xe3\x81\x88\xe3\x81\x8a\xe3\x82\xab\xe3\x82\xad\xe6"
	  "\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\xbc\xa2\xe5\xad\x97\xef\xbd\xb1"
	  "A1" },
	{ "euc-jp", "EUC-JP",
	  "\xe3\x81\x82\xe3\x81\x84\xe3\x81\x86\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x82\xab\xe3"
	  "\x82\xbf" },
	{ "iso-2022-jp", "ISO-2022-JP-2",
	  "\xe3\x81\x82\xe3\x81\x84\xe3\x81\x86\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x82\xab\xe3"
	  "\x82\xbf"
	  "ab" },
	{ "gb2312", "GB18030",
	  "\xe4\xb8\xad\xe6\x96\x87\xe6\xb1\x89\xe5\xad\x97\xe6\xb5\x8b\xe8\xaf\x95\xc3\x80\xe2\x82"
	  "\xac" },
	{ "big5", "BIG5-HKSCS",
	  "\xe4\xb8\xad\xe6\x96\x87\xe6\xbc\xa2\xe5\xad\x97\xe6\xb8\xac\xe8\xa9\xa6" },
	{ "euc-kr", "CP949",
	  "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4\xed\x85\x8c\xec\x8a\xa4\xed\x8a\xb8" },
	{ "utf-8", "UTF-8", "\xf0\x9f\x98\x80\xe2\x82\xac\xc3\xa9\xd0\x96\xe4\xb8\xad" },
};

/* A random string of the script's characters and some blanks, never at either end. */
static char *
random_text (GRand *rand, const Script *script)
{
	GString *s = g_string_new (NULL);
	glong n_chars = g_utf8_strlen (script->alphabet, -1);
	int len = g_rand_int_range (rand, 1, 60), i;

	for (i = 0; i < len; i++) {
		const char *c;

		if (i > 0 && i + 1 < len && g_rand_int_range (rand, 0, 6) == 0) {
			g_string_append_c (s, ' ');
			continue;
		}
		c = g_utf8_offset_to_pointer (script->alphabet,
					      g_rand_int_range (rand, 0, (gint32) n_chars));
		g_string_append_len (s, c, g_utf8_next_char (c) - c);
	}
	/* Two blanks in a row are text too, but folding may not keep them apart from a fold. */
	while (strstr (s->str, "  ") != NULL)
		g_string_erase (s, strstr (s->str, "  ") - s->str, 1);
	return g_string_free (s, FALSE);
}

/* Bytes as encoded-words in `label`, cut at random places (inside characters too), B or Q. */
static void
append_words (GRand *rand, GString *out, const char *label, const guint8 *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t k = (size_t) g_rand_int_range (rand, 1, 40), j;

		k = MIN (k, n - i);

		if (i > 0)
			g_string_append (out, g_rand_boolean (rand) ? " " : "\n ");
		g_string_append_printf (out, "=?%s?", label);
		if (g_rand_boolean (rand)) {
			g_autofree char *b = g_base64_encode (p + i, k);

			g_string_append_printf (out, "B?%s?=", b);
		} else {
			g_string_append (out, "Q?");
			for (j = 0; j < k; j++) {
				guint8 c = p[i + j];

				if (g_ascii_isalnum (c))
					g_string_append_c (out, (char) c);
				else if (c == ' ')
					g_string_append_c (out, '_');
				else
					g_string_append_printf (out, "=%02X", c);
			}
			g_string_append (out, "?=");
		}
		i += k;
	}
}

static void
test_headers__round_trip (void **state)
{
	GRand *rand = g_rand_new_with_seed (2047);
	int round;

	for (round = 0; round < 3000; round++) {
		const Script *script = &scripts[g_rand_int_range (rand, 0, G_N_ELEMENTS (scripts))];
		MimeUtf8HeaderMode mode = g_rand_boolean (rand) ? ENC : UTF8;
		/* A third of the rounds put the text in a display name. */
		gboolean from = g_rand_int_range (rand, 0, 3) == 0;
		g_autofree char *text = random_text (rand, script);
		g_autofree char *bytes = NULL;
		g_autofree char *want = NULL, *decoded = NULL;
		g_autoptr (GString) value = g_string_new (" ");
		g_autoptr (GString) out = NULL;
		gsize n;
		GError *error = NULL;
		_MimeUtf8HeaderChange change;
		gboolean prefix = !from && g_rand_boolean (rand);
		gboolean suffix = !from && g_rand_boolean (rand);

		bytes = g_convert (text, -1, script->iconv_name, "UTF-8", NULL, &n, &error);
		g_assert_no_error (error);
		if (prefix)
			g_string_append (value, "Re: [list]");
		if (prefix)
			g_string_append_c (value, ' ');
		append_words (rand, value, script->label, (const guint8 *) bytes, n);
		if (suffix)
			g_string_append (value, " (2/3) ok");
		if (from)
			g_string_append (value, " <a@example.com>");
		want = g_strdup_printf (" %s%s%s%s", prefix ? "Re: [list] " : "", text,
					suffix ? " (2/3) ok" : "", from ? " <a@example.com>" : "");
		out = normalize_full (from ? "From" : "Subject", value->str, value->len, mode, NULL,
				      "\n", NULL, &change);
		if (out == NULL) {
			/* Only UTF-8 words that make valid UTF-8 are normal. */
			assert_string_equal (script->label, "utf-8");
			continue;
		}
		assert_stable ("round trip", from ? "From" : "Subject", value->str, value->len,
			       mode, NULL);
		decoded = test_decode (out->str, out->len);
		if (strcmp (decoded, want) != 0)
			fail_msg ("round %d (%s, %s):\n  in   \"%s\"\n  out  \"%s\"\n  got  "
				  "\"%s\"\n  want \"%s\"",
				  round, script->label, mode == ENC ? "encoded" : "utf8",
				  value->str, out->str, decoded, want);
		assert_int_equal (change.replacements, 0);
		if (mode == ENC)
			assert_encoded_form (from ? "From" : "Subject", out, "\n");
	}
	g_rand_free (rand);
}

/* Python's email.header is what much mail software reads headers with: what it decodes from
 * our output must be the text.  Skipped when there is no python3. */
static void
test_headers__python (void **state)
{
	static const char *const inputs[][2] = {
		{ "Subject", " =?iso-8859-1?Q?caf=E9_au_lait?= and =?koi8-r?B?8NLJ18XU?= done" },
		{ "Subject", " =?shift_jis?B?k/qW?= =?shift_jis?B?e4zq?= (=?gb18030?B?1tDOxIE=?= "
			     "=?gb18030?B?MIY4?=)" },
		{ "Subject",
		  " \xf0\xd2\xc9\xd7\xc5\xd4, \xcd\xc9\xd2! \xf0\xd2\xc9\xd7\xc5\xd4 "
		  "\xf0\xd2\xc9\xd7\xc5\xd4 \xf0\xd2\xc9\xd7\xc5\xd4 \xf0\xd2\xc9\xd7\xc5\xd4 "
		  "\xf0\xd2\xc9\xd7\xc5\xd4 \xf0\xd2\xc9\xd7\xc5\xd4 end" },
		{ "Subject",
		  " =?iso-8859-1?Q?=3D=3Fiso-8859-1=3FQ=3Fx=3F=3D?= =?iso-8859-1?Q?_=E9?=" },
		{ "From", " =?iso-8859-1?Q?J=F6rg_M=FCller?= <jm@example.com>" },
		{ "To",
		  " =?iso-8859-1?Q?M=FCller=2C_J=F6rg?= <jm@x.org>, \"Doe, John\" <d@z.org>" },
		/* Parameters: Python's get_filename must find the name. */
		{ "Content-Disposition",
		  " attachment; filename*1*=%E9.txt;\n filename*0*=iso-8859-1''r%E9sum" },
		{ "Content-Disposition",
		  " attachment; filename=\"=?koi8-r?B?8NLJ18XU?= \xf0\xd2\xc9\xd7\xc5\xd4 "
		  "\xf0\xd2\xc9\xd7\xc5\xd4 \xf0\xd2\xc9\xd7\xc5\xd4 \xf0\xd2\xc9\xd7\xc5\xd4 "
		  "\xf0\xd2\xc9\xd7\xc5\xd4 \xf0\xd2\xc9\xd7\xc5\xd4 "
		  "\xf0\xd2\xc9\xd7\xc5\xd4.txt\"" },
	};
	g_autofree char *python = g_find_program_in_path ("python3");
	g_autofree char *path = NULL;
	GString *data = g_string_new (NULL);
	GError *error = NULL;
	size_t i;
	int fd, status;
	g_autofree char *err = NULL;

	if (python == NULL) {
		g_string_free (data, TRUE);
		TEST_SKIP ("no python3 on PATH\n");
	}
	for (i = 0; i < G_N_ELEMENTS (inputs); i++) {
		_MimeUtf8HeaderChange change;
		g_autoptr (GString) out =
			normalize (inputs[i][0], inputs[i][1], ENC, "koi8-r", &change);
		g_autoptr (GString) utf8 =
			normalize (inputs[i][0], inputs[i][1], UTF8, "koi8-r", &change);

		assert_non_null (out);
		assert_non_null (utf8);
		/* Unstructured text: what our own decoder reads from the UTF-8 form.  Address
		 * lists: what it reads from the encoded form (the UTF-8 form quotes display
		 * names that need it, where Python's flat view of the encoded form has no
		 * quotes). */
		g_autofree char *want = NULL;

		if (strcmp (inputs[i][0], "Subject") == 0) {
			want = test_decode (utf8->str, utf8->len);
		} else if (strcmp (inputs[i][0], "Content-Disposition") == 0) {
			/* The file name, as the UTF-8 form quotes it. */
			const char *q = strchr (utf8->str, '"');

			assert_non_null (q);
			want = g_strndup (q + 1, strlen (q + 1) - 1);
		} else {
			want = test_decode (out->str, out->len);
		}

		g_string_append (data, inputs[i][0]);
		g_string_append_c (data, '\0');
		g_string_append_len (data, out->str, (gssize) out->len);
		g_string_append_c (data, '\0');
		g_string_append (data, want);
		g_string_append_c (data, '\0');
	}
	/* And random text in legacy encoded-words, as in the round trip. */
	{
		GRand *rand = g_rand_new_with_seed (5322);
		int round;

		for (round = 0; round < 200; round++) {
			const Script *script =
				/* not the last, UTF-8: its words are often normal already */
				&scripts[g_rand_int_range (rand, 0, G_N_ELEMENTS (scripts) - 1)];
			g_autofree char *text = random_text (rand, script);
			g_autofree char *bytes = NULL;
			g_autoptr (GString) value = g_string_new (" Re:");
			g_autoptr (GString) out = NULL;
			_MimeUtf8HeaderChange change;
			gsize n;

			bytes = g_convert (text, -1, script->iconv_name, "UTF-8", NULL, &n, &error);
			g_assert_no_error (error);
			g_string_append_c (value, ' ');
			append_words (rand, value, script->label, (const guint8 *) bytes, n);
			g_string_append (value, " [2/3]");
			out = normalize ("Subject", value->str, ENC, NULL, &change);
			assert_non_null (out);
			g_string_append (data, "Subject");
			g_string_append_c (data, '\0');
			g_string_append_len (data, out->str, (gssize) out->len);
			g_string_append_c (data, '\0');
			g_string_append_printf (data, "Re: %s [2/3]", text);
			g_string_append_c (data, '\0');
		}
		g_rand_free (rand);
	}
	fd = g_file_open_tmp ("test-headers-XXXXXX", &path, &error);
	g_assert_no_error (error);
	close (fd);
	g_file_set_contents (path, data->str, (gssize) data->len, &error);
	g_assert_no_error (error);
	{
		const char *script =
			"import sys, re, email, email.header as h\n"
			"d = open(sys.argv[1], 'rb').read().split(b'\\0')[:-1]\n"
			"bad = 0\n"
			"for name, enc, want in zip(d[0::3], d[1::3], d[2::3]):\n"
			"    enc, want = enc.decode('ascii'), want.decode('utf-8')\n"
			"    if name == b'Content-Disposition':\n"
			"        m = email.message_from_string('Content-Disposition:' + enc + "
			"'\\n\\n')\n"
			"        got = m.get_filename()\n"
			"    else:\n"
			"        got = str(h.make_header(h.decode_header(enc)))\n"
			"    norm = lambda s: re.sub(r'\\s+', ' ', re.sub(r'\\r?\\n', '', "
			"s)).strip()\n"
			"    if norm(got) != norm(want):\n"
			"        print('MISMATCH', repr(enc), repr(got), repr(want)); bad = 1\n"
			"sys.exit(bad)\n";
		const char *argv[] = { python, "-c", script, path, NULL };
		g_autofree char *out = NULL;

		g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
			      &status, &error);
		g_assert_no_error (error);
		if (!g_spawn_check_wait_status (status, NULL))
			fail_msg ("python3 disagrees:\n%s%s", out, err);
	}
	g_unlink (path);
	g_string_free (data, TRUE);
}

/* ---- hostile input ------------------------------------------------------------------------- */

/* The time bound, in CPU seconds: about a second here (2 cores); tests/sanitize.sh says how much
 * slower instrumented code is. */
static double
time_bound (void)
{
	const char *slowdown = g_getenv ("MIMEUTF8_HOSTILE_SLOWDOWN");
	double factor = slowdown != NULL ? g_ascii_strtod (slowdown, NULL) : 1.0;

	return 3.0 * (factor >= 1.0 ? factor : 1.0);
}

/* CPU seconds of this process: wall time says more about the other tests running beside. */
static double
cpu_seconds (void)
{
	struct timespec ts;

	clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

typedef struct {
	const char *what;
	const char *name;
	const char *unit; /* repeated to 20 MB */
	gboolean limited; /* expect limit_hit */
} Hostile;

static const Hostile hostile[] = {
	{ "8-bit Subject", "Subject", "caf\xe9 cr\xe8me ", FALSE },
	{ "8-bit Subject, no blank", "Subject", "\xe9\xe8\xe0", FALSE },
	{ "garbage", "Subject", "=?=?\x01\xff?Q?=?B?", FALSE },
	{ "half words", "Subject", "=?iso-8859-1?Q?a ", FALSE },
	{ "encoded-words", "Subject", "=?iso-8859-1?Q?=E9?= ", TRUE },
	{ "addresses", "To", "J\xf6rg <j@x.org>, ", FALSE },
	{ "open comments", "From", "(((((((\xe9", FALSE },
	{ "quotes", "From", "\"\xe9\" ", FALSE },
	{ "angles", "Cc", "<<<<\xe9>>", FALSE },
	{ "parameters", "Content-Type", "; a*1*=%E9", TRUE },
	{ "one parameter", "Content-Type", "%E9%E8", FALSE },
};

static void
test_headers__hostile (void **state)
{
	/* Valgrind is some 50 times slower: a smaller value there still runs every path. */
	const size_t size = RUNNING_ON_VALGRIND ? 256 * 1024 : 20 * 1024 * 1024;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (hostile); i++) {
		const Hostile *h = &hostile[i];
		GString *value = g_string_sized_new (size + 64);
		_MimeUtf8HeaderChange change;
		g_autoptr (GString) out = NULL;
		double start, seconds;

		g_string_append (value, strcmp (h->name, "Content-Type") == 0
						? " text/plain; name*=iso-8859-1''"
						: " ");
		if (strcmp (h->what, "parameters") == 0)
			g_string_truncate (value, 11);
		while (value->len < size)
			g_string_append (value, h->unit);
		start = cpu_seconds ();
		out = normalize_full (h->name, value->str, value->len, ENC, NULL, "\n", NULL,
				      &change);
		seconds = cpu_seconds () - start;
		if (h->limited) {
			assert_null (out);
			assert_true (change.limit_hit);
		} else {
			assert_false (change.limit_hit);
		}
		if (out != NULL) {
			size_t k;

			for (k = 0; k < out->len; k++)
				if (out->str[k] == 0 ||
				    ((out->str[k] == '\n' || out->str[k] == '\r') &&
				     out->str[k + 1] != ' ' && out->str[k + 1] != '\n'))
					fail_msg ("%s: NUL or bare line break at %zu", h->what, k);
		}
		print_message ("%-24s %6.2f s\n", h->what, seconds);
		if (!RUNNING_ON_VALGRIND && seconds > time_bound ())
			fail_msg ("%s: %.2f s for 20 MB", h->what, seconds);
		g_string_free (value, TRUE);
	}
}

/* 100,000 RFC 2231 parameters under a raised limit: the grouping is linear too. */
static void
test_headers__many_parameters (void **state)
{
	MimeUtf8Options options = MIMEUTF8_OPTIONS_INIT;
	GString *value = g_string_new (" application/octet-stream");
	_MimeUtf8HeaderChange change;
	g_autoptr (GString) out = NULL;
	double start;
	int i;

	options.max_params = 200000;
	for (i = 0; i < 100000; i++)
		g_string_append_printf (value, "; p%d*%d*=%s%%E9", i % 1000, i / 1000,
					i < 1000 ? "iso-8859-1''" : "");
	start = cpu_seconds ();
	out = normalize_full ("Content-Type", value->str, value->len, ENC, NULL, "\n", &options,
			      &change);
	assert_non_null (out);
	assert_non_null (strstr (out->str, ";\n p0*0*=utf-8''%C3%A9%C3%A9"));
	assert_non_null (strstr (out->str, ";\n p0*1*=%C3%A9%C3%A9"));
	assert_null (strstr (out->str, "p0*100"));
	if (!RUNNING_ON_VALGRIND && cpu_seconds () - start > time_bound ())
		fail_msg ("100,000 parameters: too slow");
	g_string_free (value, TRUE);
}

/* The call with what a caller may leave out (no options: the defaults; no change record), the
 * names never rewritten whatever their bytes (signatures, ARC, Return-Path), an X- name that
 * is only the prefix, and line breaks that are no fold. */
static void
test_headers__edges (void **state)
{
	static const char *const kept[] = { "ARC-Seal", "X-Signature", "Return-Path",
					    "X-DKIM-Note" };
	static const char value[] = " caf\xe9 =?iso-8859-1?q?caf=E9?=";
	const _MimeUtf8Charset *latin1 = charset ("windows-1252");
	GString *out;
	size_t i;

	out = _mimeutf8_header_normalize ("Subject", " caf\xe9", 5, NULL, latin1, latin1, "\n",
					  NULL);
	assert_non_null (out);
	assert_string_equal (out->str, " =?UTF-8?B?Y2Fmw6k=?=");
	g_string_free (out, TRUE);
	for (i = 0; i < G_N_ELEMENTS (kept); i++) {
		_MimeUtf8HeaderChange change;

		print_message ("kept: %s\n", kept[i]);
		assert_null (_mimeutf8_header_normalize (kept[i], value, strlen (value), NULL,
							 latin1, latin1, "\n", &change));
		assert_int_equal (change.replacements, 0);
	}
	/* "X-" alone is no X- field name: not read as text */
	assert_null (_mimeutf8_header_normalize ("X-", " =?iso-8859-1?q?caf=E9?=", 24, NULL, latin1,
						 latin1, "\n", NULL));
	out = _mimeutf8_header_normalize ("X-Note", " =?iso-8859-1?q?caf=E9?=", 24, NULL, latin1,
					  latin1, "\n", NULL);
	assert_non_null (out);
	g_string_free (out, TRUE);
	/* a bare CR, or an LF not followed by a blank, is no fold: the value is rewritten without
	 * it, as a space */
	out = _mimeutf8_header_normalize ("Subject", " a\rb", 4, NULL, latin1, latin1, "\n", NULL);
	assert_non_null (out);
	assert_string_equal (out->str, " a b");
	g_string_free (out, TRUE);
	out = _mimeutf8_header_normalize ("Subject", " a\nb", 4, NULL, latin1, latin1, "\n", NULL);
	assert_non_null (out);
	assert_string_equal (out->str, " a b");
	g_string_free (out, TRUE);
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_headers__cases),
		cmocka_unit_test (test_headers__nul),
		cmocka_unit_test (test_headers__fuzzed),
		cmocka_unit_test (test_headers__newline_and_folding),
		cmocka_unit_test (test_headers__long_word),
		cmocka_unit_test (test_headers__limits),
		cmocka_unit_test (test_headers__round_trip),
		cmocka_unit_test (test_headers__python),
		cmocka_unit_test (test_headers__hostile),
		cmocka_unit_test (test_headers__many_parameters),
		cmocka_unit_test (test_headers__edges),
	};

	return TEST_STATUS (cmocka_run_group_tests (tests, NULL, NULL));
}
