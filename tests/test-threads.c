/* test-threads.c: the library called from 8 threads at once gives, for every message, the bytes and
 * the report it gives called from one.  The threads start before anything is initialized, so that
 * the things built once (GMime, the byte tables, the descriptors kept open, the detector) are
 * built under contention; the single-threaded results are computed afterwards.  tests/tsan.sh
 * runs this under ThreadSanitizer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "mimeutf8.h"

#define N_THREADS 8
#define ROUNDS 3

typedef struct {
	char *name;
	GBytes *input;
} Input;

/* What one call gave: output bytes and the report as JSON. */
typedef struct {
	GByteArray *output;
	char *report;
} Result;

static GPtrArray *inputs; /* of Input */
/* Labels converted from every thread too, with bytes that use their tables. */
static const char *const labels[] = { "latin1",      "koi8-r",    "windows-1250", "iso-8859-7",
				      "shift_jis",   "euc-kr",    "gb2312",       "big5",
				      "iso-2022-jp", "utf-7",     "utf-16le",     "windows-1255",
				      "ibm866",      "macintosh", "windows-874",  "euc-jp" };

static void
add_inputs (const char *dir, const char *suffix)
{
	GDir *d = g_dir_open (dir, 0, NULL);
	const char *name;

	assert_non_null (d);
	while ((name = g_dir_read_name (d)) != NULL) {
		g_autofree char *path = g_build_filename (dir, name, NULL);
		Input *input;
		char *data;
		gsize len;

		if (!g_str_has_suffix (name, suffix) ||
		    !g_file_get_contents (path, &data, &len, NULL))
			continue;
		input = g_new0 (Input, 1);
		input->name = g_strdup (name);
		input->input = g_bytes_new_take (data, len);
		g_ptr_array_add (inputs, input);
	}
	g_dir_close (d);
}

static void
result_clear (Result *result)
{
	g_byte_array_unref (result->output);
	g_free (result->report);
}

/* Everything one thread does with input `i`: the buffer call, the in-place call (its serialized
 * message), and a conversion of the input's bytes from one label. */
static void
run_one (guint i, Result results[3])
{
	Input *input = g_ptr_array_index (inputs, i);
	gsize len;
	const guint8 *data = g_bytes_get_data (input->input, &len);
	MimeUtf8Report *report = NULL;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *message;
	MimeUtf8ConvertStats stats;

	results[0].output = g_byte_array_new ();
	mimeutf8_normalize_buffer (NULL, data, len, results[0].output, &report, NULL);
	results[0].report = mimeutf8_report_to_json (report, input->name);
	mimeutf8_report_free (report);

	results[1].output = g_byte_array_new ();
	stream = g_mime_stream_mem_new_with_buffer ((const char *) data, len);
	parser = g_mime_parser_new_with_stream (stream);
	message = g_mime_parser_construct_message (parser, NULL);
	results[1].report = NULL;
	if (message != NULL) {
		GMimeStream *out = g_mime_stream_mem_new_with_byte_array (results[1].output);

		g_mime_stream_mem_set_owner ((GMimeStreamMem *) out, FALSE);
		mimeutf8_normalize_message (NULL, message, &report, NULL);
		results[1].report = mimeutf8_report_to_json (report, input->name);
		mimeutf8_report_free (report);
		g_mime_object_write_to_stream (GMIME_OBJECT (message), NULL, out);
		g_object_unref (out);
		g_object_unref (message);
	}
	g_object_unref (parser);
	g_object_unref (stream);

	results[2].output = g_byte_array_new ();
	mimeutf8_convert (labels[i % G_N_ELEMENTS (labels)], data, len, results[2].output, &stats,
			  NULL);
	results[2].report = g_strdup_printf ("%" G_GUINT64_FORMAT " %" G_GINT64_FORMAT,
					     stats.replacements, stats.first_replacement);
}

typedef struct {
	guint first;     /* each thread starts at its own input, so that threads differ */
	Result *results; /* [ROUNDS][n_inputs][3] */
} Job;

static gpointer
thread_main (gpointer data)
{
	Job *job = data;
	guint round, k, n = inputs->len;

	for (round = 0; round < ROUNDS; round++)
		for (k = 0; k < n; k++) {
			/* forwards, then backwards, from the thread's own first input */
			guint i = round % 2 == 0 ? (job->first + k) % n : (job->first + n - k) % n;

			run_one (i, &job->results[(round * n + i) * 3]);
		}
	return NULL;
}

static void
assert_same (const Result *got, const Result *want, const char *what, const char *name)
{
	/* an empty GByteArray has no data at all */
	if (got->output->len != want->output->len ||
	    (got->output->len > 0 &&
	     memcmp (got->output->data, want->output->data, got->output->len) != 0))
		fail_msg ("%s of %s: bytes differ from the single-threaded call", what, name);
	if (g_strcmp0 (got->report, want->report) != 0)
		fail_msg ("%s of %s: report %s, single-threaded %s", what, name, got->report,
			  want->report);
}

static void
test_threads__same_results (void **state)
{
	static const char *const what[] = { "normalize_buffer", "normalize_message", "convert" };
	GThread *threads[N_THREADS];
	Job jobs[N_THREADS];
	guint n = inputs->len, t, round, i, c;
	Result *single = g_new0 (Result, n * 3);

	assert_true (n >= 20);
	for (t = 0; t < N_THREADS; t++) {
		jobs[t].first = t * n / N_THREADS;
		jobs[t].results = g_new0 (Result, ROUNDS * n * 3);
		threads[t] = g_thread_new ("normalize", thread_main, &jobs[t]);
	}
	for (t = 0; t < N_THREADS; t++)
		g_thread_join (threads[t]);

	for (i = 0; i < n; i++)
		run_one (i, &single[i * 3]);
	for (t = 0; t < N_THREADS; t++) {
		for (round = 0; round < ROUNDS; round++)
			for (i = 0; i < n; i++)
				for (c = 0; c < 3; c++) {
					Result *r = &jobs[t].results[(round * n + i) * 3 + c];

					assert_same (
						r, &single[i * 3 + c], what[c],
						((Input *) g_ptr_array_index (inputs, i))->name);
					result_clear (r);
				}
		g_free (jobs[t].results);
	}
	for (i = 0; i < n * 3; i++)
		result_clear (&single[i]);
	g_free (single);
	print_message ("%u threads x %d rounds x %u inputs: the same bytes and reports\n",
		       N_THREADS, ROUNDS, n);
}

int
main (void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test (test_threads__same_results),
	};
	int status;

	/* no mimeutf8_init here: the threads are the first callers */
	inputs = g_ptr_array_new ();
	add_inputs (FIXTURES_DIR "/messages", ".eml");
	add_inputs (FIXTURES_DIR "/expected", ".eml");
	add_inputs (FIXTURES_DIR "/crashers", "");
	status = cmocka_run_group_tests (tests, NULL, NULL);
	return status;
}
