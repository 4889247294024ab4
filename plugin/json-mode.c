/* json-mode.c: the command's --json mode: the parsed view of each message (mimeutf8_parse), one
 * JSON line each (json.c), in input order, in this process. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "mbox.h"

/* One message's view as a JSON line on standard output (and its report line). */
static void
json_one (Cli *cli, const guint8 *data, size_t len, const char *name)
{
	GError *error = NULL;
	MimeUtf8Message *message;
	g_autofree char *line = NULL, *report = NULL;

	if (cli->stopped)
		return;
	message = mimeutf8_parse (&cli->options, data, len, &error);
	if (message == NULL) {
		fprintf (stderr, "mimeutf8: %s: %s\n", name, error ? error->message : "failed");
		g_clear_error (&error);
		note_error (cli, EXIT_TEMPFAIL);
		return;
	}
	report = mimeutf8_report_to_json (mimeutf8_message_get_report (message), name);
	line = json_message (message, name);
	mimeutf8_message_free (message);
	if (!write_report_line (cli, report))
		return;
	if (!stdout_write (line, strlen (line)) || !stdout_write ("\n", 1)) {
		note_error (cli, EXIT_TEMPFAIL);
		cli->stopped = TRUE;
	}
}

static void
json_file (Cli *cli, const char *path)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	g_autoptr (GError) error = NULL;

	if (!g_file_get_contents (path, &data, &len, &error)) {
		fprintf (stderr, "mimeutf8: %s\n", error->message);
		note_error (cli, EXIT_NOINPUT);
		return;
	}
	json_one (cli, (const guint8 *) data, len, path);
}

/* --json [FILE|DIR...], --json --mbox [FILE], --json --maildir SRC: one line per message, in
 * input order (a directory's files in name order, a maildir's cur then new), in this process. */
int
run_json (Cli *cli, int argc, char **argv)
{
	guint i;
	int a;

	if (cli->mode == MODE_MBOX) {
		FILE *in = argc > 0 ? fopen (argv[0], "rb") : stdin;
		MboxReader *reader;
		GByteArray *from_line, *message;
		const char *separator;
		gboolean error = FALSE;
		guint64 n = 0;

		if (in == NULL) {
			fprintf (stderr, "mimeutf8: %s: %s\n", argv[0], g_strerror (errno));
			return EXIT_NOINPUT;
		}
		reader = mbox_reader_new (in, cli->options.max_message_size
						      ? cli->options.max_message_size
						      : 50 * 1024 * 1024);
		while (!cli->stopped &&
		       mbox_reader_next (reader, &from_line, &message, &separator, &error)) {
			g_autofree char *name = g_strdup_printf (
				"%s#%" G_GUINT64_FORMAT, argc > 0 ? argv[0] : "-", n++);

			json_one (cli, message->data, message->len, name);
			g_byte_array_unref (from_line);
			g_byte_array_unref (message);
		}
		mbox_reader_free (reader);
		if (error) {
			fprintf (stderr, "mimeutf8: %s: %s\n", argc > 0 ? argv[0] : "standard input",
				 ferror (in) ? g_strerror (errno)
					     : "not an mbox (no From_ line at the top)");
			note_error (cli, ferror (in) ? EXIT_IOERR : EXIT_USAGE);
		}
		if (in != stdin)
			fclose (in);
		return cli->first_error;
	}
	if (cli->mode == MODE_MAILDIR || argc == 0) {
		static const char *const subdirs[] = { "cur", "new" };
		g_autoptr (GByteArray) input = g_byte_array_new ();
		guint d;

		if (argc == 0) {
			if (!read_upto (STDIN_FILENO, input, G_MAXUINT)) {
				fprintf (stderr, "mimeutf8: reading standard input: %s\n",
					 g_strerror (errno));
				return EXIT_TEMPFAIL;
			}
			json_one (cli, input->data, input->len, "-");
			return cli->first_error;
		}
		for (d = 0; d < 2; d++) {
			g_autofree char *dir = g_build_filename (argv[0], subdirs[d], NULL);
			g_autoptr (GPtrArray) files = list_dir (cli, dir, FALSE);

			if (files == NULL) {
				fprintf (stderr, "mimeutf8: %s: %s\n", dir, g_strerror (errno));
				return EXIT_NOINPUT;
			}
			for (i = 0; i < files->len && !cli->stopped; i++)
				json_file (cli, files->pdata[i]);
		}
		return cli->first_error;
	}
	for (a = 0; a < argc && !cli->stopped; a++) {
		struct stat st;

		if (stat (argv[a], &st) == 0 && S_ISDIR (st.st_mode)) {
			g_autoptr (GPtrArray) files = list_dir (cli, argv[a], TRUE);

			if (files == NULL) {
				fprintf (stderr, "mimeutf8: %s: %s\n", argv[a], g_strerror (errno));
				note_error (cli, EXIT_NOINPUT);
				continue;
			}
			for (i = 0; i < files->len && !cli->stopped; i++)
				json_file (cli, files->pdata[i]);
		} else {
			json_file (cli, argv[a]);
		}
	}
	return cli->first_error;
}
