/* filter.c: the command's filter mode: one message from standard input to standard output, in
 * this process, failing open (a crash or a hang writes the input unchanged), a large message
 * spooled to a file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli.h"

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

int
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
