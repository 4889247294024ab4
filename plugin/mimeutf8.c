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
#include "options.h"
#include "workers.h"

/* sysexits.h values, spelled out so that their meaning is next to the code */
enum {
	EXIT_DONE = 0,
	EXIT_USAGE = 64,    /* EX_USAGE */
	EXIT_DATAERR = 65,  /* EX_DATAERR */
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

typedef enum { MODE_FILTER, MODE_FILES, MODE_MBOX, MODE_MAILDIR, MODE_TEXT } Mode;

typedef struct {
	MimeUtf8Options options;
	Mode mode;
	const char *output_dir;
	const char *report_path;
	gboolean report_append;
	const char *text_from;
	unsigned int jobs;
	gboolean jobs_given;
	const char *message_option; /* an option given that only messages take, for --text */
	gboolean quiet;
	FILE *report;
	int first_error;
	/* set when the report could not be written: no further message is started */
	gboolean stopped;
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
	options_usage_error ("mimeutf8", format, value);
}

static void
note_error (Cli *cli, int code)
{
	if (cli->first_error == EXIT_DONE)
		cli->first_error = code;
}

/* The exit code of a failed write: a full disk is a transient fault, others are I/O errors. */
static int
write_error_code (int saved_errno)
{
	return saved_errno == ENOSPC || saved_errno == EDQUOT ? EXIT_TEMPFAIL : EXIT_IOERR;
}

/* Writes one report line and flushes it, before the message's output is written: a message
 * whose report line could not be written is not written either, and no further message is
 * started (cli->stopped).  FALSE then, with the error said and noted. */
static gboolean
write_report_line (Cli *cli, const char *json)
{
	g_autofree char *line = NULL;

	if (cli->report == NULL || json == NULL)
		return !cli->stopped;
	if (cli->stopped)
		return FALSE;
	line = g_strconcat (json, "\n", NULL);
	/* one write, so that processes appending to one report (--report-append) never interleave
	 * their lines */
	if (!write_full (fileno (cli->report), line, strlen (line))) {
		int saved = errno;

		fprintf (stderr, "%smimeutf8: %s: %s\n", cli->progress ? "\n" : "",
			 cli->report_path, g_strerror (saved));
		note_error (cli, write_error_code (saved));
		cli->stopped = TRUE;
		return FALSE;
	}
	return TRUE;
}

/* ---- standard output -------------------------------------------------------------------------- */

/* Where standard output stood when the command started, when it is a regular file: after a
 * failure it is cut back there, so that a partial result never stays behind.  (A pipe cannot be
 * taken back: the filter and the text mode write to it only once the whole result is there.) */
static struct {
	gboolean regular;
	off_t start;
} stdout_origin;

static void
stdout_remember (void)
{
	struct stat st;
	off_t pos;

	if (fstat (STDOUT_FILENO, &st) != 0 || !S_ISREG (st.st_mode))
		return;
	pos = (fcntl (STDOUT_FILENO, F_GETFL) & O_APPEND) ? st.st_size
							  : lseek (STDOUT_FILENO, 0, SEEK_CUR);
	if (pos < 0)
		return;
	stdout_origin.regular = TRUE;
	stdout_origin.start = pos;
}

static void
stdout_discard (void)
{
	if (stdout_origin.regular && ftruncate (STDOUT_FILENO, stdout_origin.start) == 0)
		lseek (STDOUT_FILENO, stdout_origin.start, SEEK_SET);
}

/* Writes to standard output; on a failure says so and discards what was written.  FALSE then. */
static gboolean
stdout_write (const void *data, size_t len)
{
	if (write_full (STDOUT_FILENO, data, len))
		return TRUE;
	fprintf (stderr, "mimeutf8: writing standard output: %s\n", g_strerror (errno));
	stdout_discard ();
	return FALSE;
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

/* A large message: normalized from its file (standard input itself when it is a whole regular
 * file, else a spool of `head` and the rest of standard input) into a spool file, which is
 * copied to standard output only once it is complete.  A full spool, like any failure, writes
 * nothing to standard output. */
static int
run_filter_large (Cli *cli, GByteArray *head)
{
	MimeUtf8Report *report = NULL;
	GError *error = NULL;
	int in = STDIN_FILENO, out;
	struct stat st;
	void *map = MAP_FAILED;
	char *json;
	MimeUtf8Status status;
	gboolean reported;

	if (head != NULL) {
		gboolean spooled = (in = anonymous_file ()) >= 0 &&
				   write_full (in, head->data, head->len) &&
				   copy_all (STDIN_FILENO, in);

		g_byte_array_unref (head);
		if (!spooled) {
			fprintf (stderr, "mimeutf8: spooling standard input: %s\n",
				 g_strerror (errno));
			return EXIT_TEMPFAIL;
		}
	}
	/* mapped for the fail-open handler, which writes the input if normalization crashes */
	if (fstat (in, &st) != 0 || lseek (in, 0, SEEK_SET) != 0 ||
	    (map = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, in, 0)) == MAP_FAILED ||
	    (out = anonymous_file ()) < 0) {
		fprintf (stderr, "mimeutf8: spooling standard input: %s\n", g_strerror (errno));
		return EXIT_TEMPFAIL;
	}
	arm_failopen (cli, map, (size_t) st.st_size);
	fault_injection ("-");
	status = mimeutf8_normalize_fd (&cli->options, in, out, &report, &error);
	disarm_failopen ();
	json = mimeutf8_report_to_json (report, "-");
	mimeutf8_report_free (report);
	reported = write_report_line (cli, json);
	g_free (json);
	munmap (map, (size_t) st.st_size);
	if (status == MIMEUTF8_STATUS_FAILED) {
		fprintf (stderr, "mimeutf8: spooling the output: %s\n",
			 error ? error->message : g_strerror (errno));
		g_clear_error (&error);
		return EXIT_TEMPFAIL;
	}
	g_clear_error (&error);
	if (!reported)
		return cli->first_error;
	if (lseek (out, 0, SEEK_SET) != 0 || !copy_all (out, STDOUT_FILENO)) {
		fprintf (stderr, "mimeutf8: writing standard output: %s\n", g_strerror (errno));
		stdout_discard ();
		return EXIT_TEMPFAIL;
	}
	if (in != STDIN_FILENO)
		close (in);
	close (out);
	return EXIT_DONE;
}

static int
run_filter (Cli *cli)
{
	g_autoptr (GByteArray) input = g_byte_array_new ();
	g_autoptr (GByteArray) output = NULL;
	MimeUtf8Report *report = NULL;
	GError *error = NULL;
	struct stat st;
	char *json;
	MimeUtf8Status status;
	gboolean reported;

	/* a whole large file on standard input is read in place, not copied */
	if (fstat (STDIN_FILENO, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > LARGE_MESSAGE &&
	    lseek (STDIN_FILENO, 0, SEEK_CUR) == 0)
		return run_filter_large (cli, NULL);
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
					    &error);
	disarm_failopen ();
	json = mimeutf8_report_to_json (report, "-");
	mimeutf8_report_free (report);
	reported = write_report_line (cli, json);
	g_free (json);
	if (status == MIMEUTF8_STATUS_FAILED) {
		/* a buffer cannot fail to be written to: memory or the options failed */
		fprintf (stderr, "mimeutf8: %s\n", error ? error->message : "failed");
		g_clear_error (&error);
		return EXIT_TEMPFAIL;
	}
	g_clear_error (&error);
	if (!reported)
		return cli->first_error;
	if (output->len > 0 && !stdout_write (output->data, output->len))
		return EXIT_TEMPFAIL;
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

/* A directory entry left out of a walk: said on stderr and in the report (status "skipped"). */
static void
skipped (Cli *cli, const char *path, const char *why)
{
	MimeUtf8Report *report = mimeutf8_report_new_passthrough (why, 0);
	g_autofree char *json = mimeutf8_report_to_json (report, path);
	g_autofree char *line = NULL;
	char *status;

	mimeutf8_report_free (report);
	/* the library has no status for what it never read: the same line, another status.  The
	 * name before it is JSON-escaped, so this is the status field. */
	status = strstr (json, ",\"status\":\"passthrough\",");
	if (status != NULL)
		line = g_strdup_printf ("%.*s,\"status\":\"skipped\",%s", (int) (status - json),
					json, status + strlen (",\"status\":\"passthrough\","));
	fprintf (stderr, "%smimeutf8: %s: skipped: %s\n", cli->progress ? "\n" : "", path, why);
	write_report_line (cli, line);
}

static int
compare_names (const void *a, const void *b)
{
	return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Every regular file of `dir` not starting with a dot, in name order; NULL (errno set) if it
 * cannot be read.  Symbolic links and whatever is not a regular file are skipped and reported:
 * a batch run as root over users' directories must not read what their links point to.  With
 * `follow` FALSE, `dir` itself is not opened through a link either. */
static GPtrArray *
list_dir (Cli *cli, const char *dir, gboolean follow)
{
	GPtrArray *files, *others;
	guint i;
	int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
	struct dirent *entry;

	if (d == NULL) {
		int saved = errno == ELOOP || errno == ENOTDIR ? ENOTDIR : errno;

		if (fd >= 0)
			close (fd);
		errno = saved;
		return NULL;
	}
	files = g_ptr_array_new_with_free_func (g_free);
	others = g_ptr_array_new_with_free_func (g_free);
	while ((entry = readdir (d)) != NULL) {
		struct stat st;

		if (entry->d_name[0] == '.' ||
		    fstatat (fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		g_ptr_array_add (S_ISREG (st.st_mode) ? files : others,
				 g_build_filename (dir, entry->d_name, NULL));
	}
	closedir (d);
	/* an empty GPtrArray has no pdata at all, which qsort may not be given */
	g_ptr_array_sort (files, compare_names);
	g_ptr_array_sort (others, compare_names);
	for (i = 0; i < others->len; i++) {
		struct stat st;

		skipped (cli, others->pdata[i],
			 lstat (others->pdata[i], &st) == 0 && S_ISLNK (st.st_mode)
				 ? "a symbolic link, not followed"
				 : "not a regular file");
	}
	g_ptr_array_unref (others);
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

/* Two inputs with one base name would be written to one output, the second over the first. */
static gboolean
outputs_collide (Cli *cli, GPtrArray *inputs)
{
	g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	gboolean collide = FALSE;
	guint i;

	for (i = 0; i < inputs->len; i++) {
		char *base = g_path_get_basename (inputs->pdata[i]);
		const char *first = g_hash_table_lookup (seen, base);

		if (first != NULL) {
			g_autofree char *out = g_build_filename (cli->output_dir, base, NULL);

			fprintf (stderr, "mimeutf8: %s and %s would both be written to %s\n", first,
				 (char *) inputs->pdata[i], out);
			collide = TRUE;
			g_free (base);
		} else {
			g_hash_table_insert (seen, base, inputs->pdata[i]);
		}
	}
	return collide;
}

static int
run_files (Cli *cli, int argc, char **argv)
{
	g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func (g_free);
	Pool *pool;
	guint i;
	int a;

	for (a = 0; a < argc; a++) {
		struct stat st;

		/* a directory named on the command line is the caller's choice, even through a
		 * link; what is inside it is not followed */
		if (stat (argv[a], &st) == 0 && S_ISDIR (st.st_mode)) {
			GPtrArray *files = list_dir (cli, argv[a], TRUE);

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
	if (outputs_collide (cli, inputs)) {
		fprintf (stderr, "mimeutf8: nothing was written; give such inputs separate runs "
				 "(or separate OUTDIRs)\n");
		return EXIT_USAGE;
	}
	if (g_mkdir_with_parents (cli->output_dir, 0755) != 0) {
		fprintf (stderr, "mimeutf8: %s: %s\n", cli->output_dir, g_strerror (errno));
		return EXIT_IOERR;
	}
	cli->total = inputs->len;
	pool = start_pool (cli, on_file_result);
	for (i = 0; i < inputs->len && !cli->stopped; i++)
		pool_submit (pool,
			     file_job (inputs->pdata[i], cli->output_dir, cli->output_dir, FALSE));
	pool_free (pool);
	show_progress (cli, TRUE);
	return cli->first_error;
}

/* `path` made if missing (0700), and a directory of its own, not a link to one: the outputs are
 * renamed into it, and a link (in a maildir its user controls) would send them elsewhere.  FALSE
 * with errno set otherwise. */
static gboolean
real_directory (const char *path)
{
	struct stat st;

	if (g_mkdir_with_parents (path, 0700) != 0 || lstat (path, &st) != 0)
		return FALSE;
	if (!S_ISDIR (st.st_mode)) {
		errno = ENOTDIR;
		return FALSE;
	}
	return TRUE;
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

		/* SRC/cur and SRC/new are not read through a link either */
		lists[d] = list_dir (cli, in, FALSE);
		if (lists[d] == NULL) {
			fprintf (stderr, "mimeutf8: %s: %s\n", in,
				 errno == ENOTDIR ? "not a directory (a link is not followed)"
						  : g_strerror (errno));
			if (d == 1)
				g_ptr_array_unref (lists[0]);
			return EXIT_NOINPUT;
		}
		if (!real_directory (out)) {
			fprintf (stderr, "mimeutf8: %s: %s\n", out, g_strerror (errno));
			g_ptr_array_unref (lists[d]);
			if (d == 1)
				g_ptr_array_unref (lists[0]);
			return EXIT_IOERR;
		}
		cli->total += lists[d]->len;
	}
	if (!real_directory (tmp)) {
		fprintf (stderr, "mimeutf8: %s: %s\n", tmp, g_strerror (errno));
		g_ptr_array_unref (lists[0]);
		g_ptr_array_unref (lists[1]);
		return EXIT_IOERR;
	}
	pool = start_pool (cli, on_file_result);
	for (d = 0; d < 2; d++) {
		g_autofree char *out = g_build_filename (dst, subdirs[d], NULL);

		for (i = 0; i < lists[d]->len && !cli->stopped; i++)
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

/* Writes the mbox output gathered so far; on a failure stops the batch. */
static void
mbox_flush (Cli *cli)
{
	if (!cli->stopped && cli->mbox_out->len > 0 &&
	    !stdout_write (cli->mbox_out->data, cli->mbox_out->len)) {
		note_error (cli, EXIT_TEMPFAIL);
		cli->stopped = TRUE;
	}
	g_byte_array_set_size (cli->mbox_out, 0);
}

static void
on_mbox_result (Job *job, Result *result, gpointer data)
{
	Cli *cli = data;
	MboxEntry *entry = job->data;

	if (write_report_line (cli, result->json))
		mbox_append (cli->mbox_out, entry->from_line, result->output->data,
			     result->output->len, entry->separator);
	count_result (cli, result, result->output->len);
	g_byte_array_unref (entry->from_line);
	g_free (entry);
	/* flush in large writes; what is written is finished messages, in order */
	if (cli->mbox_out->len >= 1024 * 1024)
		mbox_flush (cli);
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
	/* a Content-Length past the message size limit is not trusted: such a message is passed
	 * through anyway (0 is the library's default, 50 MiB) */
	reader = mbox_reader_new (in, cli->options.max_message_size ? cli->options.max_message_size
								    : 50 * 1024 * 1024);
	pool = start_pool (cli, on_mbox_result);
	while (!cli->stopped &&
	       mbox_reader_next (reader, &from_line, &message, &separator, &error)) {
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
	mbox_flush (cli);
	g_byte_array_unref (cli->mbox_out);
	/* an mbox cut short is no result: a file on standard output is cut back (a pipe has what
	 * was flushed, and the exit status says it is incomplete) */
	if (cli->first_error != EXIT_DONE)
		stdout_discard ();
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

/* ---- options ---------------------------------------------------------------------------------- */

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
	if (cli.mode == MODE_FILTER && argc > 0)
		usage_error ("unexpected argument '%s' (batch mode needs -o OUTDIR)", argv[0]);
	if (cli.mode == MODE_FILES && argc == 0)
		usage_error ("%s", "-o needs at least one FILE or DIR");
	if (cli.mode == MODE_MAILDIR && argc != 2)
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
		code = write_error_code (errno);
	}
	return code;
}
