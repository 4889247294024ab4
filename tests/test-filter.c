/* test-filter.c: the GMime stream filter gives the same bytes and counts as the library's
 * converter, however the stream is chunked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "mimeutf8-filter.h"
#include "mimeutf8.h"
#include "test-criticals.h"

typedef struct {
	const char *label;
	const char *bytes;
	size_t len;
} Sample;

/* the length of a string literal, NULs inside included */
#define S(label, bytes) { label, bytes, sizeof (bytes) - 1 }

static const Sample samples[] = {
	S ("koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4, \xcd\xc9\xd2!\n"),
	S ("latin1", "caf\xe9 \x93quoted\x94 \x81\n"),
	S ("shift_jis", "\x89\xef\x8b\x63\x82\xcc\x8e\x91\x97\xbf\x87\x40 \xff\x82"),
	S ("utf-8", "ok \xc3\xa9 bad \xed\xa0\x80 \xf0\x9f\x98 cut"),
	S ("utf-16le", "h\0i\0\x3d\xd8\x00\xde!"),
	S ("iso-2022-jp", "\x1b$B$3$s$K$A$O\x1b(B ok\n"),
	S ("gb18030", "\xc4\xe3\xba\xc3\x81\x30\x81\x30 \xff"),
};

/* The bytes a filter chain makes when `sample` is written `chunk` bytes at a time. */
static GByteArray *
through_filter (const Sample *sample, size_t chunk, guint64 *replacements_out)
{
	GByteArray *out = g_byte_array_new ();
	GMimeStream *sink = g_mime_stream_mem_new_with_byte_array (out);
	GMimeStream *filtered = g_mime_stream_filter_new (sink);
	GMimeFilter *filter = mimeutf8_filter_new (sample->label, NULL);
	size_t i;

	assert_non_null (filter);
	g_mime_stream_mem_set_owner ((GMimeStreamMem *) sink, FALSE);
	g_mime_stream_filter_add ((GMimeStreamFilter *) filtered, filter);
	for (i = 0; i < sample->len; i += chunk)
		g_mime_stream_write (filtered, sample->bytes + i, MIN (chunk, sample->len - i));
	g_mime_stream_flush (filtered);
	*replacements_out = mimeutf8_filter_get_replacements (filter);
	g_object_unref (filter);
	g_object_unref (filtered);
	g_object_unref (sink);
	return out;
}

static void
test_filter__same_as_library (void **state)
{
	static const size_t chunks[] = { 1, 2, 3, 5, 4096 };
	size_t i, c;

	for (i = 0; i < G_N_ELEMENTS (samples); i++) {
		GByteArray *want = g_byte_array_new ();
		MimeUtf8ConvertStats stats;

		assert_int_not_equal (mimeutf8_convert (samples[i].label, samples[i].bytes,
							samples[i].len, want, &stats, NULL),
				      MIMEUTF8_CONVERT_ERROR);
		for (c = 0; c < G_N_ELEMENTS (chunks); c++) {
			guint64 replacements;
			GByteArray *got = through_filter (&samples[i], chunks[c], &replacements);

			print_message ("%s, chunks of %zu\n", samples[i].label, chunks[c]);
			assert_int_equal (got->len, want->len);
			assert_memory_equal (got->data, want->data, want->len);
			assert_int_equal (replacements, stats.replacements);
			g_byte_array_unref (got);
		}
		g_byte_array_unref (want);
	}
}

static void
test_filter__unknown_label (void **state)
{
	GError *error = NULL;

	assert_null (mimeutf8_filter_new ("x-no-such-charset", &error));
	assert_true (g_error_matches (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_UNKNOWN_CHARSET));
	g_clear_error (&error);
}

/* What mimeutf8_filter_new returns goes to the other calls as it is (this file is compiled with
 * incompatible pointer types as errors), and to GMime's. */
static void
test_filter__one_type (void **state)
{
	GMimeFilter *filter = mimeutf8_filter_new ("utf-8", NULL);
	GMimeStream *null = g_mime_stream_null_new ();
	GMimeStream *filtered = g_mime_stream_filter_new (null);

	assert_true (MIMEUTF8_IS_FILTER (filter));
	g_mime_stream_filter_add ((GMimeStreamFilter *) filtered, filter);
	g_mime_stream_write (filtered, "a\xff", 2);
	g_mime_stream_flush (filtered);
	assert_int_equal (mimeutf8_filter_get_replacements (filter), 1);
	g_object_unref (filtered);
	g_object_unref (null);
	g_object_unref (filter);
}

/* Another filter, or NULL, is a programming error: no count, and GLib logs a critical. */
static void
test_filter__not_ours (void **state)
{
	GMimeFilter *other = g_mime_filter_dos2unix_new (FALSE);
	GLogFunc old = g_log_set_default_handler (count_criticals, NULL);

	criticals = 0;
	assert_int_equal (mimeutf8_filter_get_replacements (other), 0);
	assert_int_equal (mimeutf8_filter_get_replacements (NULL), 0);
	g_log_set_default_handler (old, NULL);
	assert_int_equal (criticals, 2);
	g_object_unref (other);
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_filter__same_as_library),
		cmocka_unit_test (test_filter__unknown_label),
		cmocka_unit_test (test_filter__one_type),
		cmocka_unit_test (test_filter__not_ours),
	};

	mimeutf8_init ();
	return cmocka_run_group_tests (tests, NULL, NULL);
}
