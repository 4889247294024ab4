/* mimeutf8.c: the command-line front-end: parses options, calls libmimeutf8 (in this process for
 * the filter, in supervised worker processes for the batch modes), maps errors to sysexits codes.
 * It knows only the public header. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "mbox.h"
#include "mimeutf8.h"
#include "workers.h"

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
	"       mimeutf8 [OPTIONS] --mbox [FILE] > out.mbox\n"
	"       mimeutf8 [OPTIONS] --maildir SRC DST\n"
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
	"       output is written to a temporary file and renamed, so it is never partial.\n"
	"\n"
	"       --mbox: an mbox (FILE, or standard input) is written to standard output as an "
	"mbox,\n"
	"       message after message, From_ lines kept, >From quoting as in mboxrd (mboxo input\n"
	"       comes out the same when nothing changes).\n"
	"\n"
	"       --maildir SRC DST: every message in SRC/cur and SRC/new is written to the same\n"
	"       place under DST through DST/tmp, keeping its file name (and so its flags) and its\n"
	"       modification time.\n"
	"\n"
	"       --text: FILE (or standard input) is plain text, not a message: it is converted "
	"from\n"
	"       CHARSET to UTF-8 on standard output under the same rules as a text part.\n"
	"\n"
	"OPTIONS\n"
	"       -o, --output-dir=OUTDIR   batch mode over files (above)\n"
	"       --mbox                    mbox mode (above)\n"
	"       --maildir                 maildir mode (above)\n"
	"       -j, --jobs=N              worker processes for the batch modes (default: the\n"
	"                                 number of cores)\n"
	"       --report=FILE             write a report to FILE as JSON Lines, one object per\n"
	"                                 message, in input order (see README, \"Report\")\n"
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
	"       -q, --quiet               no progress line (it is shown on a terminal only)\n"
	"       -h, --help                this help\n"
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
	"       64  usage error: unknown option, bad value, unknown charset label\n"
	"       66  an input file does not exist or cannot be opened\n"
	"       74  an I/O error on a named file: an output or report file cannot be written\n"
	"       75  a local, transient fault: reading standard input or writing standard output\n"
	"           failed, the disk is full, memory ran out.  A mail system may retry.\n"
	"\n"
	"       In the batch modes every message is tried; the exit status is the first error.\n";

typedef enum { MODE_FILTER, MODE_FILES, MODE_MBOX, MODE_MAILDIR, MODE_TEXT } Mode;

typedef struct {
	MimeUtf8Options options;
	Mode mode;
	const char *output_dir;
	const char *report_path;
	const char *text_from;
	unsigned int jobs;
	gboolean quiet;
	FILE *report;
	int first_error;
	/* progress */
	gboolean progress;
	guint64 done, total, unchanged, passthrough, bytes;
	guint64 total_bytes;
	gint64 started, shown;
	/* mbox output */
	GByteArray *mbox_out;
} Cli;

static G_NORETURN void
usage_error (const char *format, const char *value)
{
	fprintf (stderr, "mimeutf8: ");
	fprintf (stderr, format, value);
	fprintf (stderr, "\nTry 'mimeutf8 --help' for more information.\n");
	exit (EXIT_USAGE);
}

static void
note_error (Cli *cli, int code)
{
	if (cli->first_error == EXIT_DONE)
		cli->first_error = code;
}

static void
write_report_line (Cli *cli, const char *json)
{
	if (cli->report != NULL && json != NULL) {
		fputs (json, cli->report);
		fputc ('\n', cli->report);
	}
}

/* ---- progress --------------------------------------------------------------------------------- */

static void
show_progress (Cli *cli, gboolean last)
{
	gint64 now = g_get_monotonic_time ();
	double seconds = (now - cli->started) / 1e6, rate, eta = 0;

	if (!cli->progress || (!last && now - cli->shown < 200000))
		return;
	cli->shown = now;
	rate = seconds > 0 ? cli->bytes / 1e6 / seconds : 0;
	if (cli->total > 0 && cli->done > 0)
		eta = seconds * (cli->total - cli->done) / cli->done;
	else if (cli->total_bytes > 0 && cli->bytes > 0)
		eta = seconds * (cli->total_bytes - MIN (cli->bytes, cli->total_bytes)) /
		      cli->bytes;
	if (cli->total > 0)
		fprintf (stderr, "\r%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " messages",
			 cli->done, cli->total);
	else
		fprintf (stderr, "\r%" G_GUINT64_FORMAT " messages", cli->done);
	fprintf (stderr,
		 ", %.1f MB/s, %" G_GUINT64_FORMAT " unchanged, %" G_GUINT64_FORMAT
		 " passed through, ETA %.0f s   %s",
		 rate, cli->unchanged, cli->passthrough, eta, last ? "\n" : "");
	fflush (stderr);
}

static void
count_result (Cli *cli, const Result *result, guint64 size)
{
	cli->done++;
	cli->bytes += size;
	cli->unchanged += result->status == MIMEUTF8_STATUS_UNCHANGED;
	cli->passthrough += result->status == MIMEUTF8_STATUS_PASSTHROUGH;
	show_progress (cli, FALSE);
}

/* ---- the filter, in this process ---------------------------------------------------------------- */

/* What the fail-open handler writes if normalization crashes or hangs: the input, which nothing
 * has touched, then a report line saying so. */
static struct {
	const guint8 *input;
	size_t len;
	int report_fd;
	char *crash_line;
	char *timeout_line;
	volatile sig_atomic_t writing;
} failopen;

static void
failopen_handler (int sig)
{
	const char *line = sig == SIGALRM ? failopen.timeout_line : failopen.crash_line;

	/* once the output has started, the original cannot follow it */
	if (failopen.writing)
		_exit (EXIT_TEMPFAIL);
	write_full (STDOUT_FILENO, failopen.input, failopen.len);
	if (failopen.report_fd >= 0 && line != NULL)
		write_full (failopen.report_fd, line, strlen (line));
	_exit (EXIT_DONE);
}

static char *
passthrough_line (const char *reason, size_t size)
{
	MimeUtf8Report *report = mimeutf8_report_new_passthrough (reason, size);
	char *json = mimeutf8_report_to_json (report, "-");
	char *line = g_strconcat (json, "\n", NULL);

	g_free (json);
	mimeutf8_report_free (report);
	return line;
}

static void
arm_failopen (Cli *cli, const guint8 *input, size_t len)
{
	static char altstack[64 * 1024];
	stack_t stack = { .ss_sp = altstack, .ss_size = sizeof altstack };
	static const int signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGALRM };
	struct sigaction action = { 0 };
	struct itimerval timer = { 0 };
	unsigned int timeout_ms = cli->options.timeout_ms ? cli->options.timeout_ms : 10000;
	size_t i;

	failopen.input = input;
	failopen.len = len;
	failopen.report_fd = cli->report ? fileno (cli->report) : -1;
	failopen.crash_line = passthrough_line ("crashed (the input was written unchanged)", len);
	failopen.timeout_line =
		passthrough_line ("limit: time (the input was written unchanged)", len);
	/* a stack overflow needs a stack of its own to run the handler on */
	sigaltstack (&stack, NULL);
	action.sa_handler = failopen_handler;
	action.sa_flags = SA_ONSTACK | SA_RESETHAND;
	sigemptyset (&action.sa_mask);
	for (i = 0; i < G_N_ELEMENTS (signals); i++)
		sigaction (signals[i], &action, NULL);
	/* the library passes a slow message through by itself; this catches a hang inside GMime */
	timer.it_value.tv_sec = (timeout_ms + 1000) / 1000;
	timer.it_value.tv_usec = (timeout_ms + 1000) % 1000 * 1000;
	setitimer (ITIMER_REAL, &timer, NULL);
}

static void
disarm_failopen (void)
{
	struct itimerval timer = { 0 };

	setitimer (ITIMER_REAL, &timer, NULL);
	failopen.writing = 1;
}

/* Reads `fd` to its end into `array`, but stops once it holds more than `limit` bytes. */
static gboolean
read_upto (int fd, GByteArray *array, size_t limit)
{
	while (array->len <= limit) {
		guint old = array->len;
		ssize_t n;

		g_byte_array_set_size (array, old + 65536);
		do
			n = read (fd, array->data + old, 65536);
		while (n < 0 && errno == EINTR);
		g_byte_array_set_size (array, old + (n > 0 ? (guint) n : 0));
		if (n <= 0)
			return n == 0;
	}
	return TRUE;
}

/* Past this size a message from standard input is spooled to a file, so that memory does not
 * grow with attachments (the library then parses the file in place). */
#define LARGE_MESSAGE (2 * 1024 * 1024)

/* A file that is gone from the file system already. */
static int
anonymous_file (void)
{
	const char *dir = g_get_tmp_dir ();
	g_autofree char *path = NULL;
	int fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0)
		return fd;
	path = g_build_filename (dir, "mimeutf8-XXXXXX", NULL);
	fd = g_mkstemp_full (path, O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		unlink (path);
	return fd;
}

static gboolean
copy_fd (int from, int to)
{
	char buffer[65536];
	ssize_t n;

	for (;;) {
		do
			n = read (from, buffer, sizeof buffer);
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			return n == 0;
		if (!write_full (to, buffer, (size_t) n))
			return FALSE;
	}
}

/* A large message: standard input spooled to a file, normalized into another, which is copied
 * to standard output only once it is complete. */
static int
run_filter_large (Cli *cli, GByteArray *head)
{
	MimeUtf8Report *report = NULL;
	int in = anonymous_file (), out = anonymous_file ();
	struct stat st;
	void *map = MAP_FAILED;
	char *json;
	MimeUtf8Status status;

	gboolean spooled = in >= 0 && out >= 0 && write_full (in, head->data, head->len);

	g_byte_array_unref (head);
	if (!spooled || !copy_fd (STDIN_FILENO, in) || fstat (in, &st) != 0 ||
	    (map = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, in, 0)) == MAP_FAILED) {
		fprintf (stderr, "mimeutf8: spooling standard input: %s\n", g_strerror (errno));
		return EXIT_TEMPFAIL;
	}
	lseek (in, 0, SEEK_SET);
	arm_failopen (cli, map, (size_t) st.st_size);
	fault_injection ("-");
	status = mimeutf8_normalize_fd (&cli->options, in, out, &report, NULL);
	disarm_failopen ();
	json = mimeutf8_report_to_json (report, "-");
	mimeutf8_report_free (report);
	if (status == MIMEUTF8_STATUS_FAILED) {
		/* the spool file could not be written: keep the message as it came */
		ftruncate (out, 0);
		lseek (out, 0, SEEK_SET);
		write_full (out, map, (size_t) st.st_size);
	}
	lseek (out, 0, SEEK_SET);
	if (!copy_fd (out, STDOUT_FILENO)) {
		fprintf (stderr, "mimeutf8: writing standard output: %s\n", g_strerror (errno));
		g_free (json);
		return EXIT_TEMPFAIL;
	}
	munmap (map, (size_t) st.st_size);
	close (in);
	close (out);
	write_report_line (cli, json);
	g_free (json);
	return EXIT_DONE;
}

static int
run_filter (Cli *cli)
{
	g_autoptr (GByteArray) input = g_byte_array_new ();
	g_autoptr (GByteArray) output = NULL;
	MimeUtf8Report *report = NULL;
	char *json;
	MimeUtf8Status status;

	if (!read_upto (STDIN_FILENO, input, LARGE_MESSAGE)) {
		fprintf (stderr, "mimeutf8: reading standard input: %s\n", g_strerror (errno));
		return EXIT_TEMPFAIL;
	}
	if (input->len > LARGE_MESSAGE)
		return run_filter_large (cli, g_steal_pointer (&input));
	output = g_byte_array_sized_new (input->len + input->len / 8 + 64);
	arm_failopen (cli, input->data, input->len);
	fault_injection ("-");
	status = mimeutf8_normalize_buffer (&cli->options, input->data, input->len, output, &report,
					    NULL);
	disarm_failopen ();
	json = mimeutf8_report_to_json (report, "-");
	mimeutf8_report_free (report);
	if (status == MIMEUTF8_STATUS_FAILED) {
		/* a buffer cannot fail to be written to; should it, the message is kept */
		g_byte_array_set_size (output, 0);
		g_byte_array_append (output, input->data, input->len);
	}
	if (fwrite (output->data, 1, output->len, stdout) != output->len || fflush (stdout) != 0) {
		fprintf (stderr, "mimeutf8: writing standard output: %s\n", g_strerror (errno));
		g_free (json);
		return EXIT_TEMPFAIL;
	}
	write_report_line (cli, json);
	g_free (json);
	return EXIT_DONE;
}

/* ---- batch over files and maildirs ------------------------------------------------------------- */

static void
on_file_result (Job *job, Result *result, gpointer data)
{
	Cli *cli = data;
	struct stat st;

	if (result->error != NULL)
		fprintf (stderr, "%smimeutf8: %s\n", cli->progress ? "\n" : "", result->error);
	if (result->exit_code != 0)
		note_error (cli, result->exit_code);
	write_report_line (cli, result->json);
	count_result (cli, result, stat (job->out_path, &st) == 0 ? (guint64) st.st_size : 0);
}

static int
compare_names (const void *a, const void *b)
{
	return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Every regular file of `dir` not starting with a dot, in name order; NULL if it cannot be read. */
static GPtrArray *
list_dir (const char *dir)
{
	GPtrArray *files;
	DIR *d = opendir (dir);
	struct dirent *entry;

	if (d == NULL)
		return NULL;
	files = g_ptr_array_new_with_free_func (g_free);
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

static Job *
file_job (const char *in_path, const char *out_dir, const char *tmp_dir, gboolean keep_mtime)
{
	Job *job = g_new0 (Job, 1);
	g_autofree char *base = g_path_get_basename (in_path);

	job->name = g_strdup (in_path);
	job->in_path = g_strdup (in_path);
	job->tmp_dir = g_strdup (tmp_dir);
	job->out_path = g_build_filename (out_dir, base, NULL);
	job->keep_mtime = keep_mtime;
	return job;
}

static Pool *
start_pool (Cli *cli, ResultFunc on_result)
{
	cli->started = g_get_monotonic_time ();
	return pool_new (&cli->options, cli->jobs,
			 cli->options.timeout_ms ? cli->options.timeout_ms : 10000, on_result, cli);
}

static int
run_files (Cli *cli, int argc, char **argv)
{
	g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func (g_free);
	Pool *pool;
	guint i;
	int a;

	if (g_mkdir_with_parents (cli->output_dir, 0755) != 0) {
		fprintf (stderr, "mimeutf8: %s: %s\n", cli->output_dir, g_strerror (errno));
		return EXIT_IOERR;
	}
	for (a = 0; a < argc; a++) {
		struct stat st;

		if (stat (argv[a], &st) == 0 && S_ISDIR (st.st_mode)) {
			GPtrArray *files = list_dir (argv[a]);

			if (files == NULL) {
				fprintf (stderr, "mimeutf8: %s: %s\n", argv[a], g_strerror (errno));
				note_error (cli, EXIT_NOINPUT);
				continue;
			}
			for (i = 0; i < files->len; i++)
				g_ptr_array_add (inputs, g_strdup (files->pdata[i]));
			g_ptr_array_unref (files);
		} else {
			g_ptr_array_add (inputs, g_strdup (argv[a]));
		}
	}
	cli->total = inputs->len;
	pool = start_pool (cli, on_file_result);
	for (i = 0; i < inputs->len; i++)
		pool_submit (pool,
			     file_job (inputs->pdata[i], cli->output_dir, cli->output_dir, FALSE));
	pool_free (pool);
	show_progress (cli, TRUE);
	return cli->first_error;
}

static int
run_maildir (Cli *cli, const char *src, const char *dst)
{
	static const char *const subdirs[] = { "cur", "new" };
	g_autofree char *tmp = g_build_filename (dst, "tmp", NULL);
	GPtrArray *lists[2];
	Pool *pool;
	guint i, d;

	for (d = 0; d < 2; d++) {
		g_autofree char *in = g_build_filename (src, subdirs[d], NULL);
		g_autofree char *out = g_build_filename (dst, subdirs[d], NULL);

		lists[d] = list_dir (in);
		if (lists[d] == NULL) {
			fprintf (stderr, "mimeutf8: %s: %s\n", in, g_strerror (errno));
			if (d == 1)
				g_ptr_array_unref (lists[0]);
			return EXIT_NOINPUT;
		}
		if (g_mkdir_with_parents (out, 0700) != 0) {
			fprintf (stderr, "mimeutf8: %s: %s\n", out, g_strerror (errno));
			return EXIT_IOERR;
		}
		cli->total += lists[d]->len;
	}
	if (g_mkdir_with_parents (tmp, 0700) != 0) {
		fprintf (stderr, "mimeutf8: %s: %s\n", tmp, g_strerror (errno));
		return EXIT_IOERR;
	}
	pool = start_pool (cli, on_file_result);
	for (d = 0; d < 2; d++) {
		g_autofree char *out = g_build_filename (dst, subdirs[d], NULL);

		for (i = 0; i < lists[d]->len; i++)
			pool_submit (pool, file_job (lists[d]->pdata[i], out, tmp, TRUE));
		g_ptr_array_unref (lists[d]);
	}
	pool_free (pool);
	show_progress (cli, TRUE);
	return cli->first_error;
}

/* ---- mbox ------------------------------------------------------------------------------------- */

typedef struct {
	GByteArray *from_line;
	const char *separator;
} MboxEntry;

static void
on_mbox_result (Job *job, Result *result, gpointer data)
{
	Cli *cli = data;
	MboxEntry *entry = job->data;

	mbox_append (cli->mbox_out, entry->from_line, result->output->data, result->output->len,
		     entry->separator);
	write_report_line (cli, result->json);
	count_result (cli, result, result->output->len);
	g_byte_array_unref (entry->from_line);
	g_free (entry);
	/* flush in large writes; what is written is finished messages, in order */
	if (cli->mbox_out->len >= 1024 * 1024) {
		if (fwrite (cli->mbox_out->data, 1, cli->mbox_out->len, stdout) !=
		    cli->mbox_out->len) {
			fprintf (stderr, "mimeutf8: writing standard output: %s\n",
				 g_strerror (errno));
			exit (EXIT_TEMPFAIL);
		}
		g_byte_array_set_size (cli->mbox_out, 0);
	}
}

static int
run_mbox (Cli *cli, const char *path)
{
	FILE *in = stdin;
	MboxReader *reader;
	GByteArray *from_line, *message;
	const char *separator;
	gboolean error = FALSE;
	Pool *pool;
	guint64 n = 0;
	struct stat st;

	if (path != NULL && (in = fopen (path, "rb")) == NULL) {
		fprintf (stderr, "mimeutf8: %s: %s\n", path, g_strerror (errno));
		return EXIT_NOINPUT;
	}
	if (fstat (fileno (in), &st) == 0 && S_ISREG (st.st_mode))
		cli->total_bytes = (guint64) st.st_size;
	cli->mbox_out = g_byte_array_new ();
	reader = mbox_reader_new (in);
	pool = start_pool (cli, on_mbox_result);
	while (mbox_reader_next (reader, &from_line, &message, &separator, &error)) {
		Job *job = g_new0 (Job, 1);
		MboxEntry *entry = g_new0 (MboxEntry, 1);

		entry->from_line = from_line;
		entry->separator = separator;
		job->name = g_strdup_printf ("%s#%" G_GUINT64_FORMAT, path ? path : "-", n++);
		job->input = message;
		job->data = entry;
		pool_submit (pool, job);
	}
	pool_free (pool);
	show_progress (cli, TRUE);
	mbox_reader_free (reader);
	if (error) {
		fprintf (stderr, "mimeutf8: %s: %s\n", path ? path : "standard input",
			 ferror (in) ? g_strerror (errno)
				     : "not an mbox (no From_ line at the top)");
		note_error (cli, ferror (in) ? (path ? EXIT_IOERR : EXIT_TEMPFAIL) : EXIT_USAGE);
	}
	if (in != stdin)
		fclose (in);
	if ((cli->mbox_out->len > 0 &&
	     fwrite (cli->mbox_out->data, 1, cli->mbox_out->len, stdout) != cli->mbox_out->len) ||
	    fflush (stdout) != 0) {
		fprintf (stderr, "mimeutf8: writing standard output: %s\n", g_strerror (errno));
		return EXIT_TEMPFAIL;
	}
	g_byte_array_unref (cli->mbox_out);
	return cli->first_error;
}

/* ---- text ------------------------------------------------------------------------------------- */

static int
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
		/* strict policy: the text is written unchanged, as a message would be */
		fprintf (stderr, "mimeutf8: %s: %s\n", name, error->message);
		g_clear_error (&error);
		g_byte_array_set_size (output, 0);
		g_byte_array_append (output, input->data, input->len);
	}
	/* an empty array has no data pointer at all, which fwrite may not be given */
	if ((output->len > 0 && fwrite (output->data, 1, output->len, stdout) != output->len) ||
	    fflush (stdout) != 0) {
		fprintf (stderr, "mimeutf8: writing standard output: %s\n", g_strerror (errno));
		return EXIT_TEMPFAIL;
	}
	return EXIT_DONE;
}

/* ---- options ---------------------------------------------------------------------------------- */

static guint64
number_arg (const char *option, const char *value, guint64 max)
{
	guint64 n;

	if (!g_ascii_string_to_unsigned (value, 10, 1, max, &n, NULL))
		usage_error ("bad value for %s", option);
	return n;
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
		OPT_POLICY,
		OPT_FALLBACK,
		OPT_7BIT,
		OPT_SIGNED,
		OPT_TEXT,
		OPT_FROM,
		OPT_HEADERS,
		OPT_MBOX,
		OPT_MAILDIR,
		OPT_MAX_SIZE,
		OPT_MAX_DEPTH,
		OPT_MAX_PARTS,
		OPT_MAX_HEADER,
		OPT_MAX_PARAMS,
		OPT_MAX_WORDS,
		OPT_TIMEOUT,
	};
	static const struct option long_options[] = {
		{ "output-dir", required_argument, NULL, 'o' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "fallback-charset", required_argument, NULL, OPT_FALLBACK },
		{ "headers", required_argument, NULL, OPT_HEADERS },
		{ "7bit", no_argument, NULL, OPT_7BIT },
		{ "convert-signed", no_argument, NULL, OPT_SIGNED },
		{ "text", no_argument, NULL, OPT_TEXT },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "mbox", no_argument, NULL, OPT_MBOX },
		{ "maildir", no_argument, NULL, OPT_MAILDIR },
		{ "max-message-size", required_argument, NULL, OPT_MAX_SIZE },
		{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
		{ "max-parts", required_argument, NULL, OPT_MAX_PARTS },
		{ "max-header-block", required_argument, NULL, OPT_MAX_HEADER },
		{ "max-params", required_argument, NULL, OPT_MAX_PARAMS },
		{ "max-encoded-words", required_argument, NULL, OPT_MAX_WORDS },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
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
			cli.jobs = (unsigned int) number_arg ("-j", optarg, 256);
			break;
		case 'q':
			cli.quiet = TRUE;
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
		case OPT_HEADERS:
			if (strcmp (optarg, "encoded") == 0)
				cli.options.headers = MIMEUTF8_HEADERS_ENCODED;
			else if (strcmp (optarg, "utf8") == 0)
				cli.options.headers = MIMEUTF8_HEADERS_UTF8;
			else if (strcmp (optarg, "keep") == 0)
				cli.options.headers = MIMEUTF8_HEADERS_KEEP;
			else
				usage_error ("unknown header mode '%s' (encoded, utf8 or keep)",
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
		case OPT_MAX_SIZE:
			cli.options.max_message_size =
				number_arg ("--max-message-size", optarg, G_MAXUINT);
			break;
		case OPT_MAX_DEPTH:
			cli.options.max_depth =
				(unsigned int) number_arg ("--max-depth", optarg, 1000);
			break;
		case OPT_MAX_PARTS:
			cli.options.max_parts =
				(unsigned int) number_arg ("--max-parts", optarg, G_MAXINT);
			break;
		case OPT_MAX_HEADER:
			cli.options.max_header_block =
				number_arg ("--max-header-block", optarg, G_MAXUINT);
			break;
		case OPT_MAX_PARAMS:
			cli.options.max_params =
				(unsigned int) number_arg ("--max-params", optarg, G_MAXINT);
			break;
		case OPT_MAX_WORDS:
			cli.options.max_encoded_words =
				(unsigned int) number_arg ("--max-encoded-words", optarg, G_MAXINT);
			break;
		case OPT_TIMEOUT:
			cli.options.timeout_ms =
				(unsigned int) number_arg ("--timeout", optarg, 24 * 3600) * 1000;
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

	if (cli.mode == MODE_TEXT && cli.text_from == NULL)
		usage_error ("%s", "--text needs --from=CHARSET");
	if (cli.mode != MODE_TEXT && cli.text_from != NULL)
		usage_error ("%s", "--from is only for --text");
	if (cli.mode == MODE_TEXT && cli.report_path != NULL)
		usage_error ("%s", "--report is for messages, not --text");
	if ((cli.mode == MODE_TEXT || cli.mode == MODE_MBOX) && argc > 1)
		usage_error ("%s", "this mode takes at most one FILE");
	if (cli.mode == MODE_FILTER && argc > 0)
		usage_error ("unexpected argument '%s' (batch mode needs -o OUTDIR)", argv[0]);
	if (cli.mode == MODE_FILES && argc == 0)
		usage_error ("%s", "-o needs at least one FILE or DIR");
	if (cli.mode == MODE_MAILDIR && argc != 2)
		usage_error ("%s", "--maildir needs SRC and DST");

	mimeutf8_init ();
	if (cli.report_path != NULL) {
		cli.report = fopen (cli.report_path, "w");
		if (cli.report == NULL) {
			fprintf (stderr, "mimeutf8: %s: %s\n", cli.report_path, g_strerror (errno));
			return EXIT_IOERR;
		}
	}
	cli.progress = !cli.quiet && isatty (STDERR_FILENO);
	switch (cli.mode) {
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
		code = EXIT_IOERR;
	}
	return code;
}
