/* text.c: the command's text mode (--text --from=CHARSET): plain text, not a message, converted
 * to UTF-8. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int
run_text (Cli *cli, int argc, char **argv)
{
	g_autoptr (GByteArray) input = g_byte_array_new ();
	g_autoptr (GByteArray) output = g_byte_array_new ();
	const char *name = argc > 0 ? argv[0] : "-";
	GError *error = NULL;
	int fd = STDIN_FILENO;

	if (argc > 0 && (fd = open (argv[0], O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf (stderr, "mimeutf8: %s: %s\n", argv[0], g_strerror (errno));
		return EXIT_NOINPUT;
	}
	if (!read_upto (fd, input, G_MAXUINT - 65536)) {
		fprintf (stderr, "mimeutf8: %s: %s\n", name, g_strerror (errno));
		return argc > 0 ? EXIT_IOERR : EXIT_TEMPFAIL;
	}
	if (fd != STDIN_FILENO)
		close (fd);
	if (mimeutf8_convert_text (&cli->options, cli->text_from, input->data, input->len, output,
				   NULL, NULL, &error) == MIMEUTF8_CONVERT_ERROR) {
		/* strict policy: exact output or none; the raw bytes would not be UTF-8 */
		fprintf (stderr, "mimeutf8: %s: %s (nothing was written)\n", name,
			 error ? error->message : "failed");
		g_clear_error (&error);
		return EXIT_DATAERR;
	}
	if (output->len > 0 && !stdout_write (output->data, output->len))
		return EXIT_TEMPFAIL;
	return EXIT_DONE;
}
