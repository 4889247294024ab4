/* mimeutf8.c: the command-line front-end: its manual, its options, and main, which checks them and
 * runs one mode (filter.c, text.c, batch.c).  It knows only the public header. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "options.h"

static const char help_text[] =
	"NAME\n"
	"       mimeutf8 - normalize email so that every text part is UTF-8\n"
	"\n"
	"SYNOPSIS\n"
	"       mimeutf8 [OPTIONS] < in.eml > out.eml\n"
	"       mimeutf8 [OPTIONS] -o OUTDIR FILE|DIR...\n"
	"       mimeutf8 [OPTIONS] --mbox [FILE] > out.mbox\n"
	"       mimeutf8 [OPTIONS] --maildir SRC DST\n"
	"       mimeutf8 --text --from CHARSET [OPTIONS] [FILE]\n"
	"       mimeutf8 --json [OPTIONS] [FILE|DIR...], or with --mbox [FILE], --maildir SRC\n"
	"\n"
	"DESCRIPTION\n"
	"       mimeutf8 reads RFC 822 messages, decides the real charset of each text part from\n"
	"       the evidence (byte-order mark, ASCII, valid UTF-8, the declared label, "
	"detection),\n"
	"       converts it to UTF-8, relabels it charset=utf-8, and writes the message.  Every\n"
	"       byte it does not need to change is copied unchanged; a message that needs nothing\n"
	"       is written byte for byte, and running mimeutf8 on its own output changes nothing.\n"
	"\n"
	"       A message that cannot be normalized (it does not parse, it passes a limit, it\n"
	"       crashes or hangs the converter) is written unchanged and the report says why: "
	"that\n"
	"       is never an error exit.\n"
	"\n"
	"       With no mode option, mimeutf8 is a filter: one message from standard input to\n"
	"       standard output.  Nothing is written to standard output on a failure (exit 74 or\n"
	"       75).\n"
	"\n"
	"       The batch modes keep one process for many messages, with -j worker processes that\n"
	"       a supervisor replaces when one dies or passes the time limit.  Their output, and "
	"the\n"
	"       report, are the same whatever -j is.\n"
	"\n"
	"       -o OUTDIR: each FILE is normalized into OUTDIR under its own base name; a DIR "
	"stands\n"
	"       for every regular file in it, in name order.  OUTDIR is created if missing.  Each\n"
	"       output is written to a temporary file and renamed, so it is never partial.  Two\n"
	"       inputs with one base name are refused.  Outputs keep their input's mode (and, as\n"
	"       root, owner); links and what is not a regular file are skipped, never followed.\n"
	"\n"
	"       --mbox: an mbox (FILE, or standard input) is written to standard output as an "
	"mbox,\n"
	"       message after message, From_ lines kept, >From quoting as in mboxrd (mboxo input\n"
	"       comes out the same when nothing changes).  A From_ line is known by its syntax\n"
	"       (From SENDER DATE); Content-Length is honoured where it is right.\n"
	"\n"
	"       --maildir SRC DST: every message in SRC/cur and SRC/new is written to the same\n"
	"       place under DST through DST/tmp, keeping its file name (and so its flags) and its\n"
	"       modification time.\n"
	"\n"
	"       --text: FILE (or standard input) is plain text, not a message: it is converted "
	"from\n"
	"       CHARSET to UTF-8 on standard output under the same rules as a text part.\n"
	"       It takes --policy and --fallback-charset, none of the options for messages.\n"
	"\n"
	"OPTIONS\n"
	"       -o, --output-dir=OUTDIR   batch mode over files (above)\n"
	"       --mbox                    mbox mode (above)\n"
	"       --maildir                 maildir mode (above)\n"
	"       -j, --jobs=N              worker processes for the batch modes only (default:\n"
	"                                 the number of cores)\n"
	"       --report=FILE             write a report to FILE as JSON Lines, one object per\n"
	"                                 message, in input order (its format: mimeutf8(1))\n"
	"       --report-append=FILE      the same, appended to FILE\n"
	"       --policy=lenient|declared|strict\n"
	"              lenient (default): evidence first, then the label, then detection.\n"
	"              declared: trust the label; invalid bytes become U+FFFD; no sniffing.\n"
	"              strict: a part that does not decode exactly as labelled is left unchanged.\n"
	"       --fallback-charset=CHARSET\n"
	"              charset for 8-bit text with no usable label that detection cannot place\n"
	"              (default windows-1252)\n"
	"       --headers=encoded|utf8|keep\n"
	"              encoded (default): headers that needed a change become RFC 2047 UTF-8\n"
	"              encoded-words, so headers stay 7-bit.  utf8: raw UTF-8 (RFC 6532).\n"
	"              keep: headers are not touched.\n"
	"       --7bit    make every converted body 7-bit clean: quoted-printable, or base64 when\n"
	"                 that is smaller\n"
	"       --convert-signed\n"
	"                 convert text inside multipart/signed, multipart/encrypted and\n"
	"                 application/pkcs7-mime too (this breaks the signature)\n"
	"       --text, --from=CHARSET    text mode (above)\n"
	"       --json                    the parsed view of each message as JSON Lines, not the\n"
	"                                 message (man mimeutf8, PARSED VIEW)\n"
	"       -q, --quiet               no progress line (it is shown on a terminal only)\n"
	"       -h, --help                this summary of mimeutf8(1)\n"
	"       -V, --version             the version\n"
	"\n"
	"LIMITS\n"
	"       A message over a limit is written through unchanged and reported (passthrough).\n"
	"       --max-message-size=BYTES      default 52428800 (50 MiB)\n"
	"       --max-depth=N                 MIME nesting, default 64\n"
	"       --max-parts=N                 default 10000\n"
	"       --max-header-block=BYTES      one header block, default 1048576 (1 MiB)\n"
	"       --max-params=N                parameters in one header, default 128\n"
	"       --max-encoded-words=N         RFC 2047 encoded-words in one header, default 1000\n"
	"       --timeout=SECONDS             per message, default 10\n"
	"\n"
	"EXIT STATUS\n"
	"       0   done (including messages written unchanged; the report says which)\n"
	"       64  usage error: unknown option, bad value, unknown charset label, an option the\n"
	"           mode does not take, two -o inputs with one base name\n"
	"       65  --text --policy=strict: the text does not decode exactly (nothing written)\n"
	"       66  an input does not exist, cannot be opened, is a link or not a regular file\n"
	"       74  an I/O error on a named file: an output or report file cannot be written\n"
	"       75  a local, transient fault: reading standard input or writing standard output\n"
	"           failed, the disk or the spool is full, memory ran out.  A mail system may\n"
	"           retry.\n"
	"\n"
	"       On a failure nothing incomplete is left on standard output (a file is cut back).\n"
	"       A message's report line is written before its output; if the report cannot be\n"
	"       written, nothing more is (exit 74, or 75 for a full disk).  In the batch modes\n"
	"       every message is tried; the exit status is the first error.\n"
	"\n"
	"SEE ALSO\n"
	"       mimeutf8(1): the full manual, with the report format (man mimeutf8).\n";

static G_NORETURN void
usage_error (const char *format, const char *value)
{
	options_usage_error ("mimeutf8", format, value);
}

static void
set_mode (Cli *cli, Mode mode)
{
	if (cli->mode != MODE_FILTER && cli->mode != mode)
		usage_error ("%s", "-o, --mbox, --maildir and --text exclude one another");
	cli->mode = mode;
}

int
main (int argc, char **argv)
{
	static const MimeUtf8Options defaults = MIMEUTF8_OPTIONS_INIT;
	enum {
		OPT_REPORT = 256,
		OPT_REPORT_APPEND,
		OPT_TEXT,
		OPT_FROM,
		OPT_MBOX,
		OPT_MAILDIR,
		OPT_JSON,
	};
	static const struct option long_options[] = {
		{ "output-dir", required_argument, NULL, 'o' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "report-append", required_argument, NULL, OPT_REPORT_APPEND },
		{ "text", no_argument, NULL, OPT_TEXT },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "mbox", no_argument, NULL, OPT_MBOX },
		{ "maildir", no_argument, NULL, OPT_MAILDIR },
		{ "json", no_argument, NULL, OPT_JSON },
		ENGINE_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	Cli cli = { .options = defaults };
	long cores = sysconf (_SC_NPROCESSORS_ONLN);
	int c, code;

	/* glibc would load converter modules from GCONV_PATH: never from a place the caller picks */
	unsetenv ("GCONV_PATH");
	cli.jobs = cores > 0 ? (unsigned int) cores : 1;

	while ((c = getopt_long (argc, argv, "o:j:qhV", long_options, NULL)) != -1) {
		switch (c) {
		case 'o':
			set_mode (&cli, MODE_FILES);
			cli.output_dir = optarg;
			break;
		case 'j':
			cli.jobs = (unsigned int) options_number ("mimeutf8", "-j", optarg, 256);
			cli.jobs_given = TRUE;
			break;
		case 'q':
			cli.quiet = TRUE;
			break;
		case OPT_REPORT:
		case OPT_REPORT_APPEND:
			if (cli.report_path != NULL)
				usage_error ("%s", "--report and --report-append name one report");
			cli.report_path = optarg;
			cli.report_append = c == OPT_REPORT_APPEND;
			break;
		case OPT_TEXT:
			set_mode (&cli, MODE_TEXT);
			break;
		case OPT_FROM:
			if (mimeutf8_charset_canonical (optarg) == NULL)
				usage_error ("unknown charset '%s'", optarg);
			cli.text_from = optarg;
			break;
		case OPT_MBOX:
			set_mode (&cli, MODE_MBOX);
			break;
		case OPT_MAILDIR:
			set_mode (&cli, MODE_MAILDIR);
			break;
		case OPT_JSON:
			cli.json = TRUE;
			break;
		case 'h':
			fputs (help_text, stdout);
			return EXIT_DONE;
		case 'V':
			printf ("mimeutf8 %s\n", mimeutf8_version ());
			return EXIT_DONE;
		default:
			if (options_apply ("mimeutf8", c, optarg, &cli.options,
					   &cli.message_option))
				break;
			fprintf (stderr, "Try 'mimeutf8 --help' for more information.\n");
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;

	if (cli.json && (cli.mode == MODE_TEXT || cli.mode == MODE_FILES))
		usage_error ("%s", "--json prints to standard output: not with -o or --text");
	if (cli.json && cli.mode == MODE_MAILDIR && argc != 1)
		usage_error ("%s", "--json --maildir needs SRC only");
	if (cli.mode == MODE_TEXT && cli.text_from == NULL)
		usage_error ("%s", "--text needs --from=CHARSET");
	if (cli.mode != MODE_TEXT && cli.text_from != NULL)
		usage_error ("%s", "--from is only for --text");
	if (cli.mode == MODE_TEXT && cli.report_path != NULL)
		usage_error ("%s", "--report is for messages, not --text");
	if (cli.mode == MODE_TEXT && cli.message_option != NULL)
		usage_error ("%s is for messages, not --text", cli.message_option);
	if ((cli.mode == MODE_TEXT || cli.mode == MODE_FILTER) && cli.jobs_given)
		usage_error ("%s", "-j is for the batch modes (-o, --mbox, --maildir)");
	if ((cli.mode == MODE_TEXT || cli.mode == MODE_MBOX) && argc > 1)
		usage_error ("%s", "this mode takes at most one FILE");
	if (cli.mode == MODE_FILTER && argc > 0 && !cli.json)
		usage_error ("unexpected argument '%s' (batch mode needs -o OUTDIR)", argv[0]);
	if (cli.mode == MODE_FILES && argc == 0)
		usage_error ("%s", "-o needs at least one FILE or DIR");
	if (cli.mode == MODE_MAILDIR && argc != 2 && !cli.json)
		usage_error ("%s", "--maildir needs SRC and DST");

	mimeutf8_init ();
	if (cli.report_path != NULL) {
		cli.report = fopen (cli.report_path, cli.report_append ? "a" : "w");
		if (cli.report == NULL) {
			fprintf (stderr, "mimeutf8: %s: %s\n", cli.report_path, g_strerror (errno));
			return EXIT_IOERR;
		}
	}
	cli.progress = !cli.quiet && isatty (STDERR_FILENO);
	stdout_remember ();
	/* --json takes over every mode it is given with */
	switch (cli.json ? MODE_TEXT + 1 : cli.mode) {
	case MODE_TEXT + 1:
		code = run_json (&cli, argc, argv);
		break;
	case MODE_TEXT:
		code = run_text (&cli, argc, argv);
		break;
	case MODE_FILES:
		code = run_files (&cli, argc, argv);
		break;
	case MODE_MBOX:
		code = run_mbox (&cli, argc > 0 ? argv[0] : NULL);
		break;
	case MODE_MAILDIR:
		code = run_maildir (&cli, argv[0], argv[1]);
		break;
	default:
		code = run_filter (&cli);
		break;
	}
	if (cli.report != NULL && fclose (cli.report) != 0 && code == EXIT_DONE) {
		fprintf (stderr, "mimeutf8: %s: %s\n", cli.report_path, g_strerror (errno));
		code = write_error_code (errno);
	}
	return code;
}
