/* mimeutf8.c: the command-line front-end: parses options, calls libmimeutf8, maps its errors to
 * sysexits codes.  It knows only the public header. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mimeutf8.h"

/* sysexits.h values, spelled out so that their meaning is next to the code */
enum {
	EXIT_DONE = 0,
	EXIT_USAGE = 64,    /* EX_USAGE */
	EXIT_NOINPUT = 66,  /* EX_NOINPUT */
	EXIT_IOERR = 74,    /* EX_IOERR */
	EXIT_TEMPFAIL = 75, /* EX_TEMPFAIL */
};

static const char help_text[] =
	"NAME\n"
	"       mimeutf8 - normalize email so that every text part is UTF-8\n"
	"\n"
	"SYNOPSIS\n"
	"       mimeutf8 [OPTIONS] < in.eml > out.eml\n"
	"       mimeutf8 [OPTIONS] -o OUTDIR FILE|DIR...\n"
	"       mimeutf8 --text --from CHARSET [OPTIONS] [FILE]\n"
	"\n"
	"DESCRIPTION\n"
	"       mimeutf8 reads RFC 822 messages, decides the real charset of each text part from\n"
	"       the evidence (byte-order mark, ASCII, valid UTF-8, the declared label, "
	"detection),\n"
	"       converts it to UTF-8, relabels it charset=utf-8, and writes the message.  Every\n"
	"       byte it does not need to change is copied unchanged; a message that needs nothing\n"
	"       is written byte for byte, and running mimeutf8 on its own output changes nothing.\n"
	"\n"
	"       A message that cannot be normalized (it does not parse, a part cannot be located)\n"
	"       is written unchanged and the report says why: that is never an error exit.\n"
	"\n"
	"       With no -o, mimeutf8 is a filter: one message from standard input to standard\n"
	"       output.  Nothing is written to standard output on a failure (exit 74 or 75).\n"
	"\n"
	"       With -o OUTDIR, each FILE is normalized into OUTDIR under its own base name, in "
	"one\n"
	"       process; a DIR stands for every regular file in it, in name order.  OUTDIR is\n"
	"       created if missing.  Each output is written to a temporary file and renamed, so "
	"an\n"
	"       output file is never partial.\n"
	"\n"
	"       With --text, FILE (or standard input) is plain text, not a message: it is "
	"converted\n"
	"       from CHARSET to UTF-8 on standard output under the same rules as a text part.\n"
	"\n"
	"OPTIONS\n"
	"       -o, --output-dir=OUTDIR\n"
	"              Batch mode: write the normalized FILEs into OUTDIR.\n"
	"\n"
	"       --report=FILE\n"
	"              Write a report to FILE as JSON Lines, one object per message (see README,\n"
	"              \"Report\").\n"
	"\n"
	"       --policy=lenient|declared|strict\n"
	"              lenient (default): evidence first, then the label, then detection.\n"
	"              declared: trust the label; invalid bytes become U+FFFD; no sniffing.\n"
	"              strict: a part that does not decode exactly as labelled is left unchanged.\n"
	"\n"
	"       --fallback-charset=CHARSET\n"
	"              Charset for 8-bit text with no usable label that detection cannot place\n"
	"              (default windows-1252).\n"
	"\n"
	"       --7bit\n"
	"              Make every converted body 7-bit clean: quoted-printable, or base64 when\n"
	"              that is smaller.\n"
	"\n"
	"       --convert-signed\n"
	"              Convert text inside multipart/signed, multipart/encrypted and\n"
	"              application/pkcs7-mime too.  This breaks the signature.\n"
	"\n"
	"       --text\n"
	"              Convert plain text instead of a message; needs --from.\n"
	"\n"
	"       --from=CHARSET\n"
	"              The charset label of --text input.\n"
	"\n"
	"       -h, --help\n"
	"              Show this help.\n"
	"\n"
	"       -V, --version\n"
	"              Show the version.\n"
	"\n"
	"EXIT STATUS\n"
	"       0   done (including messages written unchanged; the report says which)\n"
	"       64  usage error: unknown option, bad value, unknown charset label\n"
	"       66  an input file does not exist or cannot be opened\n"
	"       74  an I/O error on a named file: an output or report file cannot be written\n"
	"       75  a local, transient fault: reading standard input or writing standard output\n"
	"           failed, the disk is full, memory ran out.  A mail system may retry.\n"
	"\n"
	"       In batch mode every file is tried; the exit status is the first error met.\n";

typedef struct {
	MimeUtf8Options options;
	const char *output_dir;
	const char *report_path;
	const char *text_from;
	gboolean text;
	FILE *report;
} Cli;

static void
usage_error (const char *format, const char *value)
{
	fprintf (stderr, "mimeutf8: ");
	fprintf (stderr, format, value);
	fprintf (stderr, "\nTry 'mimeutf8 --help' for more information.\n");
	exit (EXIT_USAGE);
}

/* A transient fault when it could go away on a retry; otherwise an I/O error. */
static int
exit_for_errno (int code, int saved_errno)
{
	if (saved_errno == ENOSPC || saved_errno == ENOMEM || saved_errno == EAGAIN ||
	    saved_errno == EDQUOT)
		return EXIT_TEMPFAIL;
	return code;
}

static void
write_report (Cli *cli, MimeUtf8Report *report, const char *name)
{
	char *json;

	if (cli->report == NULL || report == NULL)
		return;
	json = mimeutf8_report_to_json (report, name);
	fputs (json, cli->report);
	fputc ('\n', cli->report);
	g_free (json);
}

static int
run_filter (Cli *cli)
{
	MimeUtf8Report *report = NULL;
	GError *error = NULL;
	MimeUtf8Status status;

	status =
		mimeutf8_normalize_fd (&cli->options, STDIN_FILENO, STDOUT_FILENO, &report, &error);
	write_report (cli, report, "-");
	mimeutf8_report_free (report);
	if (status == MIMEUTF8_STATUS_FAILED) {
		fprintf (stderr, "mimeutf8: %s\n", error ? error->message : "failed");
		g_clear_error (&error);
		return EXIT_TEMPFAIL;
	}
	g_clear_error (&error);
	return EXIT_DONE;
}

static int
compare_names (const void *a, const void *b)
{
	return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Every regular file of `dir`, in name order. */
static GPtrArray *
list_dir (const char *dir)
{
	GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
	DIR *d = opendir (dir);
	struct dirent *entry;

	if (d == NULL)
		return files;
	while ((entry = readdir (d)) != NULL) {
		char *path = g_build_filename (dir, entry->d_name, NULL);
		struct stat st;

		if (entry->d_name[0] != '.' && stat (path, &st) == 0 && S_ISREG (st.st_mode))
			g_ptr_array_add (files, path);
		else
			g_free (path);
	}
	closedir (d);
	qsort (files->pdata, files->len, sizeof (char *), compare_names);
	return files;
}

static int
convert_file (Cli *cli, const char *path)
{
	g_autofree char *base = g_path_get_basename (path);
	g_autofree char *target = g_build_filename (cli->output_dir, base, NULL);
	g_autofree char *temp = g_strdup_printf ("%s/.%s.mimeutf8-XXXXXX", cli->output_dir, base);
	MimeUtf8Report *report = NULL;
	GError *error = NULL;
	MimeUtf8Status status;
	int in_fd, out_fd, code = EXIT_DONE;

	in_fd = open (path, O_RDONLY | O_CLOEXEC);
	if (in_fd < 0) {
		fprintf (stderr, "mimeutf8: %s: %s\n", path, g_strerror (errno));
		return errno == ENOENT || errno == EACCES || errno == ENOTDIR ? EXIT_NOINPUT
									      : EXIT_IOERR;
	}
	out_fd = g_mkstemp_full (temp, O_WRONLY | O_CLOEXEC, 0644);
	if (out_fd < 0) {
		int saved = errno;

		fprintf (stderr, "mimeutf8: %s: %s\n", temp, g_strerror (saved));
		close (in_fd);
		return exit_for_errno (EXIT_IOERR, saved);
	}
	status = mimeutf8_normalize_fd (&cli->options, in_fd, out_fd, &report, &error);
	close (in_fd);
	if (status == MIMEUTF8_STATUS_FAILED || close (out_fd) != 0 || rename (temp, target) != 0) {
		int saved = errno;

		fprintf (stderr, "mimeutf8: %s: %s\n", path,
			 error ? error->message : g_strerror (saved));
		unlink (temp);
		code = exit_for_errno (EXIT_IOERR, saved);
	}
	write_report (cli, report, path);
	mimeutf8_report_free (report);
	g_clear_error (&error);
	return code;
}

static int
run_batch (Cli *cli, int argc, char **argv)
{
	int first_error = EXIT_DONE, i;
	guint j;

	if (g_mkdir_with_parents (cli->output_dir, 0755) != 0) {
		fprintf (stderr, "mimeutf8: %s: %s\n", cli->output_dir, g_strerror (errno));
		return EXIT_IOERR;
	}
	for (i = 0; i < argc; i++) {
		struct stat st;
		int code;

		if (stat (argv[i], &st) == 0 && S_ISDIR (st.st_mode)) {
			g_autoptr (GPtrArray) files = list_dir (argv[i]);

			for (j = 0; j < files->len; j++) {
				code = convert_file (cli, g_ptr_array_index (files, j));
				if (first_error == EXIT_DONE)
					first_error = code;
			}
			continue;
		}
		code = convert_file (cli, argv[i]);
		if (first_error == EXIT_DONE)
			first_error = code;
	}
	return first_error;
}

static gboolean
read_stream (FILE *in, GByteArray *data)
{
	char buffer[65536];
	size_t n;

	while ((n = fread (buffer, 1, sizeof buffer, in)) > 0)
		g_byte_array_append (data, (const guint8 *) buffer, (guint) n);
	return !ferror (in);
}

static int
run_text (Cli *cli, int argc, char **argv)
{
	g_autoptr (GByteArray) input = g_byte_array_new ();
	g_autoptr (GByteArray) output = g_byte_array_new ();
	const char *name = argc > 0 ? argv[0] : "-";
	MimeUtf8ConvertStats stats;
	GError *error = NULL;
	FILE *in = stdin;

	if (argc > 0) {
		in = fopen (argv[0], "rb");
		if (in == NULL) {
			fprintf (stderr, "mimeutf8: %s: %s\n", argv[0], g_strerror (errno));
			return EXIT_NOINPUT;
		}
	}
	if (!read_stream (in, input)) {
		fprintf (stderr, "mimeutf8: %s: read failed\n", name);
		return argc > 0 ? EXIT_IOERR : EXIT_TEMPFAIL;
	}
	if (in != stdin)
		fclose (in);
	if (mimeutf8_convert_text (&cli->options, cli->text_from, input->data, input->len, output,
				   &stats, NULL, &error) == MIMEUTF8_CONVERT_ERROR) {
		/* strict policy: the text is written unchanged, as a message would be */
		fprintf (stderr, "mimeutf8: %s: %s\n", name, error->message);
		g_clear_error (&error);
		g_byte_array_set_size (output, 0);
		g_byte_array_append (output, input->data, input->len);
	}
	if (fwrite (output->data, 1, output->len, stdout) != output->len || fflush (stdout) != 0) {
		fprintf (stderr, "mimeutf8: write failed: %s\n", g_strerror (errno));
		return EXIT_TEMPFAIL;
	}
	return EXIT_DONE;
}

int
main (int argc, char **argv)
{
	static const MimeUtf8Options defaults = MIMEUTF8_OPTIONS_INIT;
	enum {
		OPT_REPORT = 256,
		OPT_POLICY,
		OPT_FALLBACK,
		OPT_7BIT,
		OPT_SIGNED,
		OPT_TEXT,
		OPT_FROM
	};
	static const struct option long_options[] = {
		{ "output-dir", required_argument, NULL, 'o' },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "fallback-charset", required_argument, NULL, OPT_FALLBACK },
		{ "7bit", no_argument, NULL, OPT_7BIT },
		{ "convert-signed", no_argument, NULL, OPT_SIGNED },
		{ "text", no_argument, NULL, OPT_TEXT },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	Cli cli = { .options = defaults };
	int c, code;

	/* glibc would load converter modules from GCONV_PATH: never from a place the caller picks */
	unsetenv ("GCONV_PATH");

	while ((c = getopt_long (argc, argv, "o:hV", long_options, NULL)) != -1) {
		switch (c) {
		case 'o':
			cli.output_dir = optarg;
			break;
		case OPT_REPORT:
			cli.report_path = optarg;
			break;
		case OPT_POLICY:
			if (strcmp (optarg, "lenient") == 0)
				cli.options.policy = MIMEUTF8_POLICY_LENIENT;
			else if (strcmp (optarg, "declared") == 0)
				cli.options.policy = MIMEUTF8_POLICY_DECLARED;
			else if (strcmp (optarg, "strict") == 0)
				cli.options.policy = MIMEUTF8_POLICY_STRICT;
			else
				usage_error ("unknown policy '%s' (lenient, declared or strict)",
					     optarg);
			break;
		case OPT_FALLBACK:
			if (mimeutf8_charset_canonical (optarg) == NULL)
				usage_error ("unknown charset '%s'", optarg);
			cli.options.fallback_charset = optarg;
			break;
		case OPT_7BIT:
			cli.options.force_7bit = TRUE;
			break;
		case OPT_SIGNED:
			cli.options.convert_signed = TRUE;
			break;
		case OPT_TEXT:
			cli.text = TRUE;
			break;
		case OPT_FROM:
			if (mimeutf8_charset_canonical (optarg) == NULL)
				usage_error ("unknown charset '%s'", optarg);
			cli.text_from = optarg;
			break;
		case 'h':
			fputs (help_text, stdout);
			return EXIT_DONE;
		case 'V':
			printf ("mimeutf8 %s\n", mimeutf8_version ());
			return EXIT_DONE;
		default:
			fprintf (stderr, "Try 'mimeutf8 --help' for more information.\n");
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;

	if (cli.text && cli.text_from == NULL)
		usage_error ("%s", "--text needs --from=CHARSET");
	if (!cli.text && cli.text_from != NULL)
		usage_error ("%s", "--from is only for --text");
	if (cli.text && cli.output_dir != NULL)
		usage_error ("%s", "--text and -o cannot be combined");
	if (cli.text && cli.report_path != NULL)
		usage_error ("%s", "--report is for messages, not --text");
	if (cli.text && argc > 1)
		usage_error ("%s", "--text takes at most one FILE");
	if (!cli.text && cli.output_dir == NULL && argc > 0)
		usage_error ("unexpected argument '%s' (batch mode needs -o OUTDIR)", argv[0]);
	if (cli.output_dir != NULL && argc == 0)
		usage_error ("%s", "-o needs at least one FILE or DIR");

	mimeutf8_init ();
	if (cli.report_path != NULL) {
		cli.report = fopen (cli.report_path, "w");
		if (cli.report == NULL) {
			fprintf (stderr, "mimeutf8: %s: %s\n", cli.report_path, g_strerror (errno));
			return EXIT_IOERR;
		}
	}
	if (cli.text)
		code = run_text (&cli, argc, argv);
	else if (cli.output_dir != NULL)
		code = run_batch (&cli, argc, argv);
	else
		code = run_filter (&cli);

	if (cli.report != NULL && (fclose (cli.report) != 0) && code == EXIT_DONE) {
		fprintf (stderr, "mimeutf8: %s: %s\n", cli.report_path, g_strerror (errno));
		code = EXIT_IOERR;
	}
	return code;
}
