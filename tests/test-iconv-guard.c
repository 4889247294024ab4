/* test-iconv-guard.c: GMime, parsing a message for the library, never opens a converter outside
 * the label table.  This program defines its own iconv_open, which logs every call (GMime's
 * included: the executable comes first in symbol lookup) and passes it to glibc's, so that what
 * really opened can be seen.  Each hostile message is first parsed by GMime directly, which must
 * open the forbidden converter (else the case proves nothing), then normalized by the library,
 * which must not. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <iconv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "mimeutf8-private.h"

typedef iconv_t (*IconvOpenFunc) (const char *tocode, const char *fromcode);

static GMutex log_lock;
static GPtrArray *opened; /* "to\tfrom" of every open that succeeded */

iconv_t iconv_open (const char *tocode, const char *fromcode);

iconv_t
iconv_open (const char *tocode, const char *fromcode)
{
	static IconvOpenFunc next;
	iconv_t cd;

	if (next == NULL)
		next = (IconvOpenFunc) dlsym (RTLD_NEXT, "iconv_open");
	cd = next (tocode, fromcode);
	if (cd != (iconv_t) -1) {
		g_mutex_lock (&log_lock);
		if (opened != NULL)
			g_ptr_array_add (opened, g_strdup_printf ("%s\t%s", tocode, fromcode));
		g_mutex_unlock (&log_lock);
	}
	return cd;
}

static void
log_start (void)
{
	g_mutex_lock (&log_lock);
	g_clear_pointer (&opened, g_ptr_array_unref);
	opened = g_ptr_array_new_with_free_func (g_free);
	g_mutex_unlock (&log_lock);
}

/* The open that used a converter glibc finds under `forbidden` (names compared as glibc does:
 * letters and digits, case ignored), or NULL. */
static const char *
log_find (const char *forbidden)
{
	g_autofree char *want = g_ascii_strup (forbidden, -1);
	const char *found = NULL;
	guint i;

	g_mutex_lock (&log_lock);
	for (i = 0; i < opened->len && found == NULL; i++) {
		g_auto (GStrv) sides = g_strsplit (opened->pdata[i], "\t", 2);
		guint s;

		for (s = 0; s < 2; s++) {
			GString *key = g_string_new (NULL);
			const char *c;

			for (c = sides[s]; *c; c++)
				if (g_ascii_isalnum (*c) || strchr ("-_.,:", *c))
					g_string_append_c (key, g_ascii_toupper (*c));
			if (strcmp (key->str, want) == 0)
				found = opened->pdata[i];
			g_string_free (key, TRUE);
		}
	}
	g_mutex_unlock (&log_lock);
	return found;
}

/* Every open logged since log_start used names of the table on both sides. */
static void
assert_only_table_names (const char *what)
{
	guint i;

	g_mutex_lock (&log_lock);
	for (i = 0; i < opened->len; i++) {
		g_auto (GStrv) sides = g_strsplit (opened->pdata[i], "\t", 2);

		if (!_mimeutf8_iconv_name_allowed (sides[0]) ||
		    !_mimeutf8_iconv_name_allowed (sides[1])) {
			g_mutex_unlock (&log_lock);
			fail_msg ("%s: iconv_open (\"%s\", \"%s\") succeeded", what, sides[0],
				  sides[1]);
		}
	}
	g_mutex_unlock (&log_lock);
}

typedef struct {
	const char *name;
	const char *converter; /* what GMime opens when it parses the message itself */
	const char *message;
} Hostile;

static const Hostile hostile[] = {
	{ "encoded-word in Subject", "IBM037", "Subject: =?IBM037?Q?=C8=85=93=93=96?=\n\nhi\n" },
	{ "encoded-word in a display name", "ISO-2022-CN-EXT",
	  "From: \"=?iso-2022-cn-ext?B?GyQpQQ5KfA8=?=\" <a@example.com>\nSubject: x\n\nhi\n" },
	{ "escaped encoded-word in a quoted display name", "IBM037",
	  "From: \"=\\?IBM037?Q?=C8=85?=\" <a@example.com>\nSubject: x\n\nhi\n" },
	{ "folded charset name", "ISO-2022-JP-3",
	  "Subject: =?iso-2022-jp\n -3?B?GyRPJCIbKEI=?=\n\nhi\n" },
	{ "encoded-word with a language", "IBM037", "Subject: =?IBM037*en?Q?=C8=85?=\n\nhi\n" },
	{ "RFC 2231 parameter", "ISO-2022-CN-EXT",
	  "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8;\n"
	  " name*=iso-2022-cn-ext''%1B%24%29A%0EJ%7C%0F\n\nhi\n" },
	{ "RFC 2231 continuation", "IBM1364",
	  "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8;\n"
	  " name*0*=ibm1364''%C1%C2; name*1*=%C3\n\nhi\n" },
	{ "RFC 2231 with a comment", "IBM037",
	  "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8; name* (c) =IBM037''%C8%85\n"
	  "\nhi\n" },
	{ "RFC 2231 quoted", "IBM037",
	  "MIME-Version: 1.0\nContent-Disposition: attachment; filename*=\"IBM037''%C8%85\"\n"
	  "Content-Type: text/plain; charset=utf-8\n\nhi\n" },
	{ "RFC 2231 made by decoding an encoded-word", "IBM037",
	  "MIME-Version: 1.0\n"
	  "Content-Type: text/plain; charset=utf-8; name=\"=?utf-8?Q?a=22;_b*=3DIBM037''=25C8?=\"\n"
	  "\nhi\n" },
	{ "field name with a blank before the colon", "IBM037",
	  "MIME-Version: 1.0\nContent-Type : text/plain; charset=utf-8; "
	  "name*=IBM037''%C8\n\nhi\n" },
	{ "inside a message/rfc822 part", "IBM037",
	  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
	  "Content-Type: message/rfc822\n\nSubject: =?IBM037?Q?=C8=85?=\n\ninner\n--b--\n" },
	{ "a text part needing conversion", "IBM037",
	  "MIME-Version: 1.0\nSubject: =?IBM037?Q?=C8=85?= =?iso-8859-1?Q?caf=E9?=\n"
	  "Content-Type: text/plain; charset=iso-8859-1; name*=IBM037''%C8\n\ncaf\xe9\n" },
};

/* What a plain GMime parse of `message` opens, reading what the walk reads of it. */
static void
parse_with_gmime (const char *message)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer (message, strlen (message));
	GMimeParser *parser = g_mime_parser_new_with_stream (stream);
	GMimeParserOptions *options = g_mime_parser_options_new ();
	GMimeMessage *parsed;
	InternetAddressList *from;

	g_mime_parser_options_set_rfc2047_compliance_mode (options, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode (options, GMIME_RFC_COMPLIANCE_LOOSE);
	parsed = g_mime_parser_construct_message (parser, options);
	assert_non_null (parsed);
	/* the subject and the sender are decoded while parsing; asked for, they say so */
	from = g_mime_message_get_from (parsed);
	if (from != NULL)
		g_free (internet_address_list_to_string (from, NULL, FALSE));
	g_mime_parser_options_free (options);
	g_object_unref (parsed);
	g_object_unref (parser);
	g_object_unref (stream);
}

static void
test_iconv_guard__gmime_never_opens_them (void **state)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (hostile); i++) {
		GByteArray *out = g_byte_array_new ();
		MimeUtf8Report *report = NULL;
		MimeUtf8Status status;

		print_message ("%s\n", hostile[i].name);
		/* the case is real: GMime alone opens the converter */
		log_start ();
		parse_with_gmime (hostile[i].message);
		if (log_find (hostile[i].converter) == NULL)
			fail_msg ("%s: GMime did not open %s by itself", hostile[i].name,
				  hostile[i].converter);
		/* the library's own parse does not */
		log_start ();
		status = mimeutf8_normalize_buffer (
			NULL, hostile[i].message, strlen (hostile[i].message), out, &report, NULL);
		assert_true (status == MIMEUTF8_STATUS_NORMALIZED ||
			     status == MIMEUTF8_STATUS_UNCHANGED);
		if (log_find (hostile[i].converter) != NULL)
			fail_msg ("%s: the library let GMime open %s", hostile[i].name,
				  log_find (hostile[i].converter));
		assert_only_table_names (hostile[i].name);
		mimeutf8_report_free (report);
		g_byte_array_unref (out);
	}
}

/* The bytes GMime parses are a neutralized copy, but the output is spliced from the input: a
 * message whose only oddity is a forbidden name comes out byte-identical, and a rewritten
 * header keeps the forbidden word as it was written. */
static void
test_iconv_guard__output_keeps_the_original_bytes (void **state)
{
	static const char unchanged[] =
		"MIME-Version: 1.0\nSubject: =?IBM037?Q?=C8=85?=\n"
		"Content-Type: text/plain; charset=utf-8; name*=IBM037''%C8\n\nhi\n";
	static const char converted[] =
		"MIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=iso-8859-1; name*=IBM037''%C8\n\ncaf\xe9\n";
	GByteArray *out = g_byte_array_new ();
	MimeUtf8Status status;

	status = mimeutf8_normalize_buffer (NULL, unchanged, strlen (unchanged), out, NULL, NULL);
	assert_int_equal (status, MIMEUTF8_STATUS_UNCHANGED);
	assert_int_equal (out->len, strlen (unchanged));
	assert_memory_equal (out->data, unchanged, out->len);

	g_byte_array_set_size (out, 0);
	status = mimeutf8_normalize_buffer (NULL, converted, strlen (converted), out, NULL, NULL);
	assert_int_equal (status, MIMEUTF8_STATUS_NORMALIZED);
	g_byte_array_append (out, (const guint8 *) "", 1);
	assert_non_null (strstr ((const char *) out->data, "name*=IBM037''%C8"));
	assert_non_null (strstr ((const char *) out->data, "charset=utf-8"));
	assert_non_null (strstr ((const char *) out->data, "caf\xc3\xa9"));
	g_byte_array_unref (out);
}

static void
test_iconv_guard__names (void **state)
{
	static const char *const refused[] = {
		"ISO-2022-CN",
		"ISO-2022-CN-EXT",
		"iso-2022-cn-ext",
		"ISO-2022-JP-3",
		"IBM930",
		"IBM933",
		"IBM935",
		"IBM937",
		"IBM939",
		"IBM1364",
		"IBM1371",
		"IBM1388",
		"IBM1390",
		"IBM1399",
		"UTF-8//TRANSLIT",
		"UTF-8//IGNORE",
		"../../x",
		"/tmp/x",
		"",
		"x-unknown",
		"EBCDIC-US",
		"IBM037",
	};
	g_autofree char *huge = g_strnfill (100000, 'a');
	const _MimeUtf8Charset *all;
	size_t n, i;

	all = _mimeutf8_charset_all (&n);
	for (i = 0; i < n; i++) {
		assert_true (_mimeutf8_iconv_name_allowed (all[i].iconv_name));
		assert_true (_mimeutf8_iconv_name_allowed (all[i].name));
	}
	assert_true (_mimeutf8_iconv_name_allowed ("latin1"));
	for (i = 0; i < G_N_ELEMENTS (refused); i++)
		assert_false (_mimeutf8_iconv_name_allowed (refused[i]));
	assert_false (_mimeutf8_iconv_name_allowed (huge));
	assert_false (_mimeutf8_iconv_name_allowed (NULL));
}

/* The scan finds nothing in ordinary mail, so that GMime parses the bytes themselves. */
static void
test_iconv_guard__ordinary_mail_is_not_copied (void **state)
{
	static const char *const ordinary[] = {
		"Subject: =?utf-8?B?w6k=?= =?iso-8859-1?Q?caf=E9?=\n\nhi =?x\n",
		"Content-Type: text/plain; charset=\"iso-8859-1\"; "
		"name*=utf-8''r%C3%A9sum%C3%A9\n\n",
		"Content-Type: multipart/mixed; "
		"boundary=\"a'b*=c'd\"\n\n--a'b*=c'd\n\n--a'b*=c'd--\n",
		"Content-Disposition: attachment; filename*0*=iso-8859-1''a; filename*1*=b'c\n\n",
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS (ordinary); i++) {
		g_autoptr (GArray) spans = g_array_new (FALSE, FALSE, sizeof (_MimeUtf8Span));

		print_message ("%s", ordinary[i]);
		assert_false (_mimeutf8_guard_scan ((const guint8 *) ordinary[i],
						    strlen (ordinary[i]), FALSE, spans));
	}
}

/* In place, the engine's parse opened what it opened; what the library then sets (a relabelled
 * Content-Type, a rewritten Subject) makes GMime parse the value again, so a value naming a
 * forbidden converter is not set: the part is left alone, and GMime opens nothing more. */
static void
test_iconv_guard__in_place (void **state)
{
	static const char message[] =
		"MIME-Version: 1.0\nSubject: =?IBM037?Q?=C8=85?= =?iso-8859-1?Q?caf=E9?=\n"
		"Content-Type: text/plain; charset=iso-8859-1; name*=IBM037''%C8\n\ncaf\xe9\n";
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer (message, strlen (message));
	GMimeParser *parser = g_mime_parser_new_with_stream (stream);
	GMimeMessage *parsed = g_mime_parser_construct_message (parser, NULL);
	MimeUtf8Report *report = NULL;
	const MimeUtf8PartReport *part;

	assert_non_null (parsed);
	log_start ();
	mimeutf8_normalize_message (NULL, parsed, &report, NULL);
	assert_null (log_find ("IBM037"));
	assert_only_table_names ("in place");
	part = mimeutf8_report_get_part (report, 0);
	assert_int_equal (part->action, MIMEUTF8_ACTION_LEFT_ALONE);
	assert_string_equal (part->reason, "a charset name outside the label table");
	mimeutf8_report_free (report);
	g_object_unref (parsed);
	g_object_unref (parser);
	g_object_unref (stream);
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_iconv_guard__names),
		cmocka_unit_test (test_iconv_guard__gmime_never_opens_them),
		cmocka_unit_test (test_iconv_guard__output_keeps_the_original_bytes),
		cmocka_unit_test (test_iconv_guard__ordinary_mail_is_not_copied),
		cmocka_unit_test (test_iconv_guard__in_place),
	};

	mimeutf8_init ();
	return cmocka_run_group_tests (tests, NULL, NULL);
}
