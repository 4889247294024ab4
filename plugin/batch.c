/* batch.c: the command's batch modes, each message in a supervised worker process (workers.c):
 * files and directories to an output directory (-o), a maildir to another (--maildir), and an
 * mbox (--mbox). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "mbox.h"

static gboolean
on_file_result (Job *job, Result *result, gpointer data)
{
	Cli *cli = data;

	if (result->error != NULL)
		fprintf (stderr, "%smimeutf8: %s\n", cli->progress ? "\n" : "", result->error);
	if (result->exit_code != 0)
		note_error (cli, result->exit_code);
	report_add_line (cli, result->json);
	count_result (cli, result, result->out_size);
	return !cli->stopped;
}

/* A directory entry left out of a walk: said on stderr and in the report (status "skipped"). */
static void
skipped (Cli *cli, const char *path, const char *why)
{
	MimeUtf8Report *report = mimeutf8_report_new_passthrough (why, 0);
	g_autofree char *json = mimeutf8_report_to_json (report, path);
	/* the library has no status for what it never read: the same line, another status */
	g_autofree char *line = report_line_with_status (json, "skipped", NULL);

	mimeutf8_report_free (report);
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
GPtrArray *
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

		gboolean regular;

		if (entry->d_name[0] == '.')
			continue;
		/* the entry's type, where the file system gives it, saves a stat per message (the
		 * worker checks what it opens all the same) */
		if (entry->d_type != DT_UNKNOWN)
			regular = entry->d_type == DT_REG;
		else if (fstatat (fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			regular = S_ISREG (st.st_mode);
		else
			continue;
		g_ptr_array_add (regular ? files : others,
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

/* The report lines of the results delivered together, in one write. */
static gboolean
on_round (gpointer data)
{
	return report_flush (data, FALSE);
}

static Pool *
start_pool (Cli *cli, ResultFunc on_result)
{
	cli->started = g_get_monotonic_time ();
	return pool_new (&cli->options, cli->jobs,
			 cli->options.timeout_ms ? cli->options.timeout_ms : 10000, on_result,
			 on_round, cli);
}

/* Stops the pool, its results delivered and their report lines written. */
static void
stop_pool (Cli *cli, Pool *pool)
{
	pool_free (pool);
	report_flush (cli, TRUE);
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

int
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
	stop_pool (cli, pool);
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

int
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
	stop_pool (cli, pool);
	show_progress (cli, TRUE);
	return cli->first_error;
}

typedef struct {
	GByteArray *from_line;
	const char *separator;
} MboxEntry;

/* Writes the mbox output gathered so far; on a failure stops the batch. */
static void
mbox_flush (Cli *cli)
{
	/* the report lines first: a message is written only after its line */
	report_flush (cli, FALSE);
	if (!cli->stopped && cli->mbox_out->len > 0 &&
	    !stdout_write (cli->mbox_out->data, cli->mbox_out->len)) {
		note_error (cli, EXIT_TEMPFAIL);
		cli->stopped = TRUE;
	}
	g_byte_array_set_size (cli->mbox_out, 0);
}

static gboolean
on_mbox_result (Job *job, Result *result, gpointer data)
{
	Cli *cli = data;
	MboxEntry *entry = job->data;

	if (report_add_line (cli, result->json))
		mbox_append (cli->mbox_out, entry->from_line, result->output->data,
			     result->output->len, entry->separator);
	count_result (cli, result, result->output->len);
	g_byte_array_unref (entry->from_line);
	g_free (entry);
	/* flush in large writes; what is written is finished messages, in order */
	if (cli->mbox_out->len >= 1024 * 1024)
		mbox_flush (cli);
	return !cli->stopped;
}

int
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
	stop_pool (cli, pool);
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
