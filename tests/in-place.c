/* in-place.c: an engine that holds parsed messages, for in_place.py.  Each FILE is parsed with GMime,
 * normalized in place by mimeutf8_normalize_message, and written by GMime to OUT_DIR under its
 * base name, with the input's newline (CRLF when its first line ends so, through
 * GMimeFilterUnix2Dos).  One report line per
 * message goes to standard output.
 *
 *   in-place [-r] OUT_DIR FILE...
 *
 * With -r, the messages are only parsed and written: GMime's round trip, without the library. */
#include <stdio.h>
#include <string.h>

#include "mimeutf8.h"

static gboolean round_trip_only;

static int
one (const char *out_dir, const char *path)
{
	g_autofree char *data = NULL, *name = g_path_get_basename (path), *json = NULL;
	g_autofree char *out_path = g_build_filename (out_dir, name, NULL);
	GMimeStream *stream, *out;
	GMimeParser *parser;
	GMimeMessage *message;
	GMimeFormatOptions *format;
	MimeUtf8Report *report = NULL;
	GError *error = NULL;
	const char *nl;
	gsize len;
	FILE *file;

	if (!g_file_get_contents (path, &data, &len, &error)) {
		fprintf (stderr, "in-place: %s\n", error->message);
		return 1;
	}
	stream = g_mime_stream_mem_new_with_buffer (data, len);
	parser = g_mime_parser_new_with_stream (stream);
	message = g_mime_parser_construct_message (parser, NULL);
	if (message == NULL) {
		/* not a message to GMime: an engine would have nothing to hand over */
		printf ("%s\tnot parsed\n", name);
		g_object_unref (parser);
		g_object_unref (stream);
		return 0;
	}
	if (!round_trip_only) {
		mimeutf8_normalize_message (NULL, message, &report, &error);
		json = mimeutf8_report_to_json (report, name);
		printf ("%s\n", json);
		g_clear_error (&error);
		mimeutf8_report_free (report);
	}

	format = g_mime_format_options_new ();
	nl = memchr (data, '\n', len);
	if (nl != NULL && nl > data && nl[-1] == '\r')
		g_mime_format_options_set_newline_format (format, GMIME_NEWLINE_FORMAT_DOS);
	file = fopen (out_path, "wb");
	if (file == NULL) {
		perror (out_path);
		return 1;
	}
	out = g_mime_stream_filter_new (g_mime_stream_file_new (file));
	g_object_unref (((GMimeStreamFilter *) out)->source); /* the filter holds it */
	/* GMime writes a multipart's preamble with a bare LF even in DOS format: an engine that
	 * wants CRLF throughout filters the whole output */
	if (g_mime_format_options_get_newline_format (format) == GMIME_NEWLINE_FORMAT_DOS) {
		GMimeFilter *unix2dos = g_mime_filter_unix2dos_new (FALSE);

		g_mime_stream_filter_add ((GMimeStreamFilter *) out, unix2dos);
		g_object_unref (unix2dos);
	}
	g_mime_object_write_to_stream (GMIME_OBJECT (message), format, out);
	g_mime_stream_flush (out);
	g_object_unref (out);
	g_mime_format_options_free (format);
	g_object_unref (message);
	g_object_unref (parser);
	g_object_unref (stream);
	return 0;
}

int
main (int argc, char **argv)
{
	int i, status = 0;

	if (argc > 1 && strcmp (argv[1], "-r") == 0) {
		round_trip_only = TRUE;
		argv++;
		argc--;
	}
	if (argc < 2) {
		fprintf (stderr, "usage: in-place [-r] OUT_DIR FILE...\n");
		return 64;
	}
	mimeutf8_init ();
	g_mkdir_with_parents (argv[1], 0755);
	for (i = 2; i < argc; i++)
		status |= one (argv[1], argv[i]);
	return status;
}
