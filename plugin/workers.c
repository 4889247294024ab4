/* workers.c: the batch modes' worker processes and their supervisor.  Workers are forked once and
 * kept for the whole batch (a process per message is what mimeutf8 exists to avoid); jobs and
 * results travel over a socket pair as length-prefixed fields.  The supervisor delivers results
 * in submission order, so every mode's output is the same whatever the number of workers. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workers.h"

/* Jobs queued or running beyond those delivered: bounds the memory an mbox of large messages
 * can take in the supervisor. */
#define WINDOW_PER_WORKER 4
/* How long past the library's own deadline a worker may take before it is killed: the library
 * passes a slow message through by itself when it can. */
#define GRACE_MS 1000

/* Jobs sent to a worker ahead of the one it runs, so that it never waits for the supervisor. */
#define QUEUE_PER_WORKER 2

typedef struct {
	pid_t pid;
	int fd;
	guint64 seqs[QUEUE_PER_WORKER]; /* jobs sent, oldest (running) first */
	unsigned int queued;
	gint64 started; /* when the oldest job started running */
} Worker;

typedef struct {
	Job *job;
	Result *result; /* NULL until it is done */
} Slot;

struct _Pool {
	const MimeUtf8Options *options;
	unsigned int timeout_ms;
	ResultFunc on_result;
	gpointer data;
	Worker *workers;
	unsigned int n_workers;
	GHashTable *slots; /* seq -> Slot */
	GQueue waiting;    /* seqs not yet given to a worker */
	guint64 next_seq;
	guint64 next_delivery;
};

void
job_free (Job *job)
{
	if (job == NULL)
		return;
	g_free (job->name);
	g_free (job->in_path);
	g_free (job->tmp_dir);
	g_free (job->out_path);
	if (job->input != NULL)
		g_byte_array_unref (job->input);
	g_free (job);
}

static void
result_free (Result *result)
{
	if (result == NULL)
		return;
	g_free (result->error);
	g_free (result->json);
	if (result->output != NULL)
		g_byte_array_unref (result->output);
	g_free (result);
}

/* ---- framing ---------------------------------------------------------------------------------- */

gboolean
write_full (int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write (fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		p += n;
		len -= (size_t) n;
	}
	return TRUE;
}

static gboolean
read_full (int fd, void *data, size_t len)
{
	char *p = data;

	while (len > 0) {
		ssize_t n = read (fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		p += n;
		len -= (size_t) n;
	}
	return TRUE;
}

gboolean
copy_all (int from, int to)
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

/* A frame is a count of fields, then each field as a 64-bit length and its bytes. */
static gboolean
send_fields (int fd, const GByteArray *const *fields, guint32 n)
{
	guint32 i;

	if (!write_full (fd, &n, sizeof n))
		return FALSE;
	for (i = 0; i < n; i++) {
		guint64 len = fields[i] ? fields[i]->len : 0;

		if (!write_full (fd, &len, sizeof len) ||
		    (len > 0 && !write_full (fd, fields[i]->data, len)))
			return FALSE;
	}
	return TRUE;
}

static GPtrArray *
recv_fields (int fd)
{
	GPtrArray *fields;
	guint32 n, i;

	if (!read_full (fd, &n, sizeof n) || n > 16)
		return NULL;
	fields = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
	for (i = 0; i < n; i++) {
		GByteArray *field = g_byte_array_new ();
		guint64 len;

		g_ptr_array_add (fields, field);
		if (!read_full (fd, &len, sizeof len) || len > G_MAXUINT) {
			g_ptr_array_unref (fields);
			return NULL;
		}
		g_byte_array_set_size (field, (guint) len);
		if (len > 0 && !read_full (fd, field->data, len)) {
			g_ptr_array_unref (fields);
			return NULL;
		}
	}
	return fields;
}

static GByteArray *
field_of (const char *text)
{
	GByteArray *field = g_byte_array_new ();

	if (text != NULL)
		g_byte_array_append (field, (const guint8 *) text, strlen (text) + 1);
	return field;
}

/* A field as a string; NULL for an empty field. */
static char *
string_of (GByteArray *field)
{
	if (field->len == 0)
		return NULL;
	return g_strndup ((const char *) field->data, field->len);
}

void
fault_injection (const char *name)
{
	const char *fault = g_getenv ("MIMEUTF8_TEST_FAULT");

	if (fault == NULL || name == NULL)
		return;
	if (g_str_has_prefix (fault, "crash:") && strstr (name, fault + 6) != NULL)
		raise (SIGSEGV);
	if (g_str_has_prefix (fault, "hang:") && strstr (name, fault + 5) != NULL)
		for (;;)
			pause ();
}

/* ---- the worker side ---------------------------------------------------------------------------- */

/* The exit code of a failed write: a full disk is transient. */
static int
write_error_code (int saved_errno)
{
	return saved_errno == ENOSPC || saved_errno == EDQUOT ? 75 : 74;
}

/* Opens a batch input: never through a symbolic link (a batch run as root over users' maildirs
 * must not read what a link points to), and only a regular file (a FIFO or a device would block
 * or never end).  -1 with the reason in `result` otherwise. */
static int
open_input (const char *path, struct stat *st, Result *result)
{
	int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	const char *why = NULL;

	if (fd < 0)
		why = errno == ELOOP ? "a symbolic link, not followed" : g_strerror (errno);
	else if (fstat (fd, st) != 0)
		why = g_strerror (errno);
	else if (!S_ISREG (st->st_mode))
		why = "not a regular file";
	if (why == NULL)
		return fd;
	if (fd >= 0)
		close (fd);
	result->status = MIMEUTF8_STATUS_FAILED;
	result->exit_code = 66;
	result->error = g_strdup_printf ("%s: %s", path, why);
	return -1;
}

/* A temporary output file in `dir`, readable by its owner only until keep_access. */
static int
temp_output (const char *dir, const char *out_path, char **temp_out)
{
	g_autofree char *base = g_path_get_basename (out_path);

	*temp_out = g_strdup_printf ("%s/.%s.mimeutf8-XXXXXX", dir, base);
	return g_mkstemp_full (*temp_out, O_WRONLY | O_CLOEXEC, 0600);
}

/* Gives an output its input's owner and group, where the process may (as root), and its
 * permission bits.  Group bits are kept only with the group: under another group they would
 * widen access. */
static void
keep_access (int fd, const struct stat *st)
{
	mode_t mode = st->st_mode & 0777;

	if (fchown (fd, st->st_uid, st->st_gid) != 0 && fchown (fd, (uid_t) -1, st->st_gid) != 0)
		mode &= ~(mode_t) 0070;
	fchmod (fd, mode);
}

static void
run_file_job (const MimeUtf8Options *options, Job *job, Result *result)
{
	g_autofree char *temp = NULL;
	MimeUtf8Report *report = NULL;
	GError *error = NULL;
	struct stat st;
	int in_fd, out_fd, error_errno;

	in_fd = open_input (job->in_path, &st, result);
	if (in_fd < 0)
		return;
	out_fd = temp_output (job->tmp_dir, job->out_path, &temp);
	if (out_fd < 0) {
		result->status = MIMEUTF8_STATUS_FAILED;
		result->exit_code = write_error_code (errno);
		result->error = g_strdup_printf ("%s: %s", temp, g_strerror (errno));
		close (in_fd);
		return;
	}
	result->status = mimeutf8_normalize_fd (options, in_fd, out_fd, &report, &error);
	error_errno = result->status == MIMEUTF8_STATUS_FAILED ? errno : 0;
	if (result->status != MIMEUTF8_STATUS_FAILED) {
		keep_access (out_fd, &st);
		if (job->keep_mtime) {
			struct timespec times[2] = { st.st_atim, st.st_mtim };

			futimens (out_fd, times);
		}
	}
	close (in_fd);
	/* closed whatever happened: an unlinked file still open would keep its space */
	if (close (out_fd) != 0 && result->status != MIMEUTF8_STATUS_FAILED) {
		result->status = MIMEUTF8_STATUS_FAILED;
		error_errno = errno;
	}
	if (result->status == MIMEUTF8_STATUS_FAILED || rename (temp, job->out_path) != 0) {
		int saved = error_errno ? error_errno : errno;

		result->status = MIMEUTF8_STATUS_FAILED;
		result->exit_code = !error || error->code == MIMEUTF8_ERROR_IO
					    ? write_error_code (saved)
				    : error->code == MIMEUTF8_ERROR_NO_MEMORY ? 75
									      : 74;
		result->error = g_strdup_printf ("%s: %s", job->in_path,
						 error ? error->message : g_strerror (saved));
		unlink (temp);
	}
	result->json = mimeutf8_report_to_json (report, job->name);
	mimeutf8_report_free (report);
	g_clear_error (&error);
}

static void
run_bytes_job (const MimeUtf8Options *options, Job *job, Result *result)
{
	MimeUtf8Report *report = NULL;

	result->output = g_byte_array_sized_new (job->input->len + job->input->len / 8);
	result->status = mimeutf8_normalize_buffer (options, job->input->data, job->input->len,
						    result->output, &report, NULL);
	if (result->status == MIMEUTF8_STATUS_FAILED) {
		/* a buffer cannot fail to be written; keep the message all the same */
		g_byte_array_set_size (result->output, 0);
		g_byte_array_append (result->output, job->input->data, job->input->len);
	}
	result->json = mimeutf8_report_to_json (report, job->name);
	mimeutf8_report_free (report);
}

#ifdef MIMEUTF8_COVERAGE
void __gcov_dump (void);
#endif

/* A worker ends with _exit, never running atexit handlers; a coverage build writes its counts
 * first, so that what the workers ran is measured (tests/coverage.sh). */
static G_NORETURN void
worker_exit (void)
{
#ifdef MIMEUTF8_COVERAGE
	__gcov_dump ();
#endif
	_exit (0);
}

static G_NORETURN void
worker_main (const MimeUtf8Options *options, int fd)
{
	GPtrArray *fields;

	while ((fields = recv_fields (fd)) != NULL && fields->len == 7) {
		Job job = { 0 };
		Result result = { 0 };
		g_autofree char *status = NULL, *code = NULL;
		GByteArray *out[5];
		guint i;

		job.name = string_of (fields->pdata[0]);
		job.in_path = string_of (fields->pdata[1]);
		job.tmp_dir = string_of (fields->pdata[2]);
		job.out_path = string_of (fields->pdata[3]);
		job.keep_mtime = ((GByteArray *) fields->pdata[4])->len > 0;
		job.input = g_byte_array_ref (fields->pdata[5]);
		fault_injection (job.name);
		if (job.in_path != NULL)
			run_file_job (options, &job, &result);
		else
			run_bytes_job (options, &job, &result);
		status = g_strdup_printf ("%d", (int) result.status);
		code = g_strdup_printf ("%d", result.exit_code);
		out[0] = field_of (status);
		out[1] = field_of (code);
		out[2] = field_of (result.error);
		out[3] = field_of (result.json);
		out[4] = result.output ? g_byte_array_ref (result.output) : g_byte_array_new ();
		if (!send_fields (fd, (const GByteArray *const *) out, 5))
			worker_exit ();
		for (i = 0; i < 5; i++)
			g_byte_array_unref (out[i]);
		g_free (job.name);
		g_free (job.in_path);
		g_free (job.tmp_dir);
		g_free (job.out_path);
		g_byte_array_unref (job.input);
		g_free (result.error);
		g_free (result.json);
		if (result.output)
			g_byte_array_unref (result.output);
		g_ptr_array_unref (fields);
	}
	worker_exit ();
}

/* ---- the supervisor side ------------------------------------------------------------------------ */

static void
worker_start (Pool *pool, Worker *worker)
{
	int pair[2];
	pid_t pid;

	if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
		perror ("mimeutf8: socketpair");
		exit (75);
	}
	fflush (NULL);
	pid = fork ();
	if (pid < 0) {
		perror ("mimeutf8: fork");
		exit (75);
	}
	if (pid == 0) {
		unsigned int i;

		close (pair[0]);
		/* a worker holds no other worker's socket, so each one's death is seen */
		for (i = 0; i < pool->n_workers; i++)
			if (pool->workers[i].fd >= 0)
				close (pool->workers[i].fd);
		worker_main (pool->options, pair[1]);
	}
	close (pair[1]);
	worker->pid = pid;
	worker->fd = pair[0];
	worker->queued = 0;
}

static void
worker_stop (Worker *worker, gboolean kill_it)
{
	if (worker->fd >= 0)
		close (worker->fd);
	worker->fd = -1;
	if (kill_it)
		kill (worker->pid, SIGKILL);
	while (waitpid (worker->pid, NULL, 0) < 0 && errno == EINTR)
		;
}

Pool *
pool_new (const MimeUtf8Options *options, unsigned int workers, unsigned int timeout_ms,
	  ResultFunc on_result, gpointer data)
{
	Pool *pool = g_new0 (Pool, 1);
	unsigned int i;

	signal (SIGPIPE, SIG_IGN);
	pool->options = options;
	pool->timeout_ms = timeout_ms;
	pool->on_result = on_result;
	pool->data = data;
	pool->n_workers = MAX (workers, 1);
	pool->workers = g_new0 (Worker, pool->n_workers);
	for (i = 0; i < pool->n_workers; i++)
		pool->workers[i].fd = -1;
	for (i = 0; i < pool->n_workers; i++)
		worker_start (pool, &pool->workers[i]);
	pool->slots = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
	return pool;
}

static Slot *
slot_of (Pool *pool, guint64 seq)
{
	return g_hash_table_lookup (pool->slots, &seq);
}

/* The message written through unchanged, when its worker died or ran out of time. */
static Result *
passthrough_result (Job *job, const char *reason)
{
	Result *result = g_new0 (Result, 1);
	MimeUtf8Report *report;
	guint64 size = 0;

	result->status = MIMEUTF8_STATUS_PASSTHROUGH;
	if (job->input != NULL) {
		result->output = g_byte_array_ref (job->input);
		size = job->input->len;
	} else {
		g_autofree char *temp = NULL;
		struct stat st;
		int in = open_input (job->in_path, &st, result), out = -1;

		if (in >= 0) {
			gboolean ok =
				(out = temp_output (job->tmp_dir, job->out_path, &temp)) >= 0 &&
				copy_all (in, out);

			if (ok)
				keep_access (out, &st);
			if (out >= 0 && close (out) != 0)
				ok = FALSE;
			if (!ok || rename (temp, job->out_path) != 0) {
				int saved = errno;

				result->status = MIMEUTF8_STATUS_FAILED;
				result->exit_code = write_error_code (saved);
				result->error = g_strdup_printf ("%s: %s", job->in_path,
								 g_strerror (saved));
				if (out >= 0)
					unlink (temp);
			}
		}
		if (in >= 0) {
			size = (guint64) st.st_size;
			close (in);
		}
	}
	report = mimeutf8_report_new_passthrough (reason, size);
	result->json = mimeutf8_report_to_json (report, job->name);
	mimeutf8_report_free (report);
	return result;
}

static void
deliver (Pool *pool)
{
	Slot *slot;

	while ((slot = slot_of (pool, pool->next_delivery)) != NULL && slot->result != NULL) {
		guint64 seq = pool->next_delivery;

		pool->on_result (slot->job, slot->result, pool->data);
		g_hash_table_remove (pool->slots, &seq);
		job_free (slot->job);
		result_free (slot->result);
		g_free (slot);
		pool->next_delivery++;
	}
}

static void
dispatch (Pool *pool)
{
	unsigned int i;

	for (i = 0; i < pool->n_workers && !g_queue_is_empty (&pool->waiting); i++) {
		Worker *worker = &pool->workers[i];

		while (worker->queued < QUEUE_PER_WORKER && !g_queue_is_empty (&pool->waiting)) {
			guint64 *seq = g_queue_pop_head (&pool->waiting);
			Job *job = slot_of (pool, *seq)->job;
			GByteArray *fields[7];
			gboolean sent;
			int f;

			fields[0] = field_of (job->name);
			fields[1] = field_of (job->in_path);
			fields[2] = field_of (job->tmp_dir);
			fields[3] = field_of (job->out_path);
			fields[4] = field_of (job->keep_mtime ? "1" : NULL);
			fields[5] =
				job->input ? g_byte_array_ref (job->input) : g_byte_array_new ();
			fields[6] = g_byte_array_new ();
			sent = send_fields (worker->fd, (const GByteArray *const *) fields, 7);
			for (f = 0; f < 7; f++)
				g_byte_array_unref (fields[f]);
			if (!sent) {
				/* it died: this job waits for the next worker */
				g_queue_push_head (&pool->waiting, seq);
				break;
			}
			if (worker->queued == 0)
				worker->started = g_get_monotonic_time ();
			worker->seqs[worker->queued++] = *seq;
			g_free (seq);
		}
	}
}

/* Gives the jobs a worker had queued behind its running one back to the waiting queue. */
static void
requeue (Pool *pool, Worker *worker)
{
	while (worker->queued > 1) {
		guint64 *seq = g_new (guint64, 1);

		*seq = worker->seqs[--worker->queued];
		g_queue_push_head (&pool->waiting, seq);
	}
}

/* The worker died or ran out of time on its running job: that message is written through; the
 * jobs behind it go to the replacement. */
static void
worker_lost (Pool *pool, Worker *worker, const char *reason)
{
	Slot *slot = slot_of (pool, worker->seqs[0]);

	requeue (pool, worker);
	worker_stop (worker, TRUE);
	worker->queued = 0;
	slot->result = passthrough_result (slot->job, reason);
	worker_start (pool, worker);
}

static void
collect (Pool *pool, Worker *worker)
{
	GPtrArray *fields = recv_fields (worker->fd);
	Slot *slot = slot_of (pool, worker->seqs[0]);
	Result *result;

	if (fields == NULL || fields->len != 5) {
		if (fields != NULL)
			g_ptr_array_unref (fields);
		worker_lost (pool, worker, "worker died");
		return;
	}
	result = g_new0 (Result, 1);
	result->status =
		(MimeUtf8Status) atoi ((const char *) ((GByteArray *) fields->pdata[0])->data);
	result->exit_code = atoi ((const char *) ((GByteArray *) fields->pdata[1])->data);
	result->error = string_of (fields->pdata[2]);
	result->json = string_of (fields->pdata[3]);
	if (slot->job->input != NULL)
		result->output = g_byte_array_ref (fields->pdata[4]);
	slot->result = result;
	memmove (worker->seqs, worker->seqs + 1, (QUEUE_PER_WORKER - 1) * sizeof (guint64));
	worker->queued--;
	worker->started = g_get_monotonic_time ();
	g_ptr_array_unref (fields);
}

/* Waits for at least one worker to finish, die or run out of time. */
static void
service (Pool *pool)
{
	struct pollfd fds[pool->n_workers];
	unsigned int map[pool->n_workers], n = 0, i;
	gint64 now = g_get_monotonic_time (), wait_ms = -1;
	gint64 limit = ((gint64) pool->timeout_ms + GRACE_MS) * 1000;

	for (i = 0; i < pool->n_workers; i++) {
		Worker *worker = &pool->workers[i];
		gint64 left;

		if (worker->queued == 0)
			continue;
		left = (worker->started + limit - now) / 1000;
		if (left <= 0) {
			worker_lost (pool, worker, "limit: time (the worker was stopped)");
			return;
		}
		if (wait_ms < 0 || left < wait_ms)
			wait_ms = left;
		fds[n].fd = worker->fd;
		fds[n].events = POLLIN;
		map[n++] = i;
	}
	if (n == 0)
		return;
	if (poll (fds, n, (int) MIN (wait_ms + 1, G_MAXINT)) < 0)
		return;
	for (i = 0; i < n; i++)
		if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
			collect (pool, &pool->workers[map[i]]);
}

static guint
in_flight (Pool *pool)
{
	return g_hash_table_size (pool->slots);
}

void
pool_submit (Pool *pool, Job *job)
{
	Slot *slot = g_new0 (Slot, 1);
	guint64 *key = g_new (guint64, 1), *seq = g_new (guint64, 1);

	slot->job = job;
	*key = *seq = pool->next_seq++;
	g_hash_table_insert (pool->slots, key, slot);
	g_queue_push_tail (&pool->waiting, seq);
	dispatch (pool);
	while (in_flight (pool) > pool->n_workers * WINDOW_PER_WORKER) {
		service (pool);
		dispatch (pool);
		deliver (pool);
	}
}

void
pool_finish (Pool *pool)
{
	while (in_flight (pool) > 0) {
		dispatch (pool);
		service (pool);
		deliver (pool);
	}
}

void
pool_free (Pool *pool)
{
	unsigned int i;

	if (pool == NULL)
		return;
	pool_finish (pool);
	for (i = 0; i < pool->n_workers; i++)
		worker_stop (&pool->workers[i], FALSE);
	g_hash_table_destroy (pool->slots);
	g_free (pool->workers);
	g_free (pool);
}
