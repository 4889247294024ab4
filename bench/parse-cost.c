/* parse-cost: the per-message cost, in one process, of what a sync engine may call on a message
 * already in memory: GMime's own parse, GMime's parse plus g_mime_text_part_get_text on every
 * text part (GMime's way to every part as text), mimeutf8_normalize_buffer, and mimeutf8_parse.
 * Every FILE is read first; after a round to warm up, each of ROUNDS rounds runs the four over all
 * of them in turn.  Prints one JSON object: the median over the rounds of the microseconds of CPU
 * per message.
 *
 *   parse-cost ROUNDS FILE... */
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mimeutf8.h"

#define N_KINDS 4
static const char *const kinds[N_KINDS] = { "gmime_parse", "gmime_parse_text",
					    "mimeutf8_normalize_buffer", "mimeutf8_parse" };

static double
cpu_now (void)
{
	struct timespec ts;

	clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
text_of (GMimeObject *parent, GMimeObject *part, gpointer data)
{
	guint64 *chars = data;

	(void) parent;
	if (GMIME_IS_TEXT_PART (part)) {
		g_autofree char *text = g_mime_text_part_get_text (GMIME_TEXT_PART (part));

		*chars += text != NULL ? strlen (text) : 0;
	}
}

static void
gmime_parse (GBytes *bytes, gboolean text)
{
	gsize len;
	const guint8 *data = g_bytes_get_data (bytes, &len);
	GByteArray *array = g_byte_array_new_take (g_memdup2 (data, len), len);
	GMimeStream *stream = g_mime_stream_mem_new_with_byte_array (array);
	GMimeParser *parser = g_mime_parser_new_with_stream (stream);
	GMimeMessage *message;
	guint64 chars = 0;

	g_mime_parser_set_persist_stream (parser, TRUE);
	message = g_mime_parser_construct_message (parser, NULL);
	if (message != NULL && text)
		g_mime_message_foreach (message, text_of, &chars);
	g_clear_object (&message);
	g_object_unref (parser);
	g_object_unref (stream);
}

static int
compare_doubles (const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
	int rounds = argc > 1 ? atoi (argv[1]) : 0, r, k, i, n = argc - 2;
	GBytes **messages;
	double *cpu[N_KINDS];
	GByteArray *out = g_byte_array_new ();

	if (rounds < 1 || n < 1) {
		fprintf (stderr, "usage: parse-cost ROUNDS FILE...\n");
		return 64;
	}
	mimeutf8_init ();
	messages = g_new0 (GBytes *, n);
	for (i = 0; i < n; i++) {
		char *data;
		gsize len;

		if (!g_file_get_contents (argv[i + 2], &data, &len, NULL)) {
			fprintf (stderr, "parse-cost: cannot read %s\n", argv[i + 2]);
			return 66;
		}
		messages[i] = g_bytes_new_take (data, len);
	}
	for (k = 0; k < N_KINDS; k++)
		cpu[k] = g_new0 (double, rounds);
	/* round -1 warms up (converter modules loaded, caches filled) and is not counted */
	for (r = -1; r < rounds; r++) {
		for (k = 0; k < N_KINDS; k++) {
			double t0 = cpu_now ();

			for (i = 0; i < n; i++) {
				gsize len;
				const void *data = g_bytes_get_data (messages[i], &len);

				if (k == 0 || k == 1) {
					gmime_parse (messages[i], k == 1);
				} else if (k == 2) {
					g_byte_array_set_size (out, 0);
					mimeutf8_normalize_buffer (NULL, data, len, out, NULL, NULL);
				} else {
					mimeutf8_message_free (mimeutf8_parse (NULL, data, len, NULL));
				}
			}
			if (r >= 0)
				cpu[k][r] = (cpu_now () - t0) / n * 1e6;
		}
	}
	printf ("{\"messages\": %d, \"rounds\": %d", n, rounds);
	for (k = 0; k < N_KINDS; k++) {
		qsort (cpu[k], rounds, sizeof (double), compare_doubles);
		printf (", \"%s\": %.1f", kinds[k], cpu[k][rounds / 2]);
	}
	printf ("}\n");
	return 0;
}
