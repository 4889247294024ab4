/* workers.c: the batch modes' worker processes and their supervisor.  Workers are forked once and
 * kept for the whole batch (a process per message is what mimeutf8 exists to avoid); jobs and
 * results travel over a socket pair as frames, each sent in one write and read, many at a time,
 * into a buffer.  The supervisor never blocks on a worker: it writes without blocking and keeps
 * what did not fit for the next round, so a worker sending back a large result while the
 * supervisor sends it the next large message never deadlocks.  Results are delivered in
 * submission order, so every mode's output is the same whatever the number of workers. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workers.h"

/* Jobs submitted and not yet delivered, per worker: the supervisor's reorder window, so that a
 * slow message holds up neither the other workers nor the submission of the next jobs. */
#define WINDOW_PER_WORKER 64
/* Messages in memory (bytes jobs) beyond one per worker: bounds what an mbox of large messages
 * takes in the supervisor. */
#define WINDOW_BYTES (64 * 1024 * 1024)
/* How long past the library's own deadline a worker may take before it is killed: the library
 * passes a slow message through by itself when it can. */
#define GRACE_MS 1000

/* Jobs sent to a worker ahead of the one it runs, so that it never waits for the supervisor.  A
 * worker is refilled once it is down to half of them, so that jobs travel several to a write. */
#define QUEUE_PER_WORKER 8

/* The longest the supervisor sleeps before it looks at the workers again (nap). */
#define MAX_NAP_US 5000

/* What a read asks for at least: many small frames at once. */
#define READ_CHUNK 65536

/* The library reads a message up to this size whole, and writes its result only once it is
 * complete (mimeutf8_normalize_fd); a worker does the same with one read and one write. */
#define SMALL_INPUT (8 * 1024 * 1024)

/* Bytes read from a socket and not yet taken as frames. */
typedef struct {
	GByteArray *bytes;
} Inbox;

/* A frame to send: its head (length, fields), then an optional large last field by reference. */
typedef struct {
	GByteArray *head;
	GByteArray *tail;
	gsize sent;
} Outgoing;

typedef struct {
	pid_t pid;
	int fd;
	guint64 seqs[QUEUE_PER_WORKER]; /* jobs sent, oldest (running) first */
	unsigned int queued;
	gboolean filling; /* being given jobs up to QUEUE_PER_WORKER */
	gint64 started;   /* when the oldest job started running */
	gint64 job_us;    /* how long its jobs take, on average of the last few */
	Inbox in;
	GQueue out; /* Outgoing frames not yet written */
} Worker;

typedef struct {
	Job *job;
	Result *result; /* NULL until it is done */
} Slot;

struct _Pool {
	const MimeUtf8Options *options;
	unsigned int timeout_ms;
	ResultFunc on_result;
	RoundFunc on_round;
	gpointer data;
	Worker *workers;
	unsigned int n_workers;
	GHashTable *slots; /* seq -> Slot */
	GQueue waiting;    /* seqs not yet given to a worker */
	guint64 next_seq;
	guint64 next_delivery;
	guint64 bytes;     /* input of the bytes jobs not yet delivered */
	gboolean stopped; /* a result said to stop: jobs submitted now are dropped */
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

/* A frame is its length (64 bits, what follows it), a count of fields (32 bits), then each field
 * as a 64-bit length and its bytes.  The last field may be sent from its own memory (`tail`): a
 * message is never copied into a frame. */
#define MAX_FIELDS 8

static GByteArray *
frame_new (guint32 n)
{
	GByteArray *head = g_byte_array_sized_new (512);
	guint64 len = 0;

	g_byte_array_append (head, (const guint8 *) &len, sizeof len);
	g_byte_array_append (head, (const guint8 *) &n, sizeof n);
	return head;
}

static void
frame_add (GByteArray *head, const void *data, guint64 len)
{
	g_byte_array_append (head, (const guint8 *) &len, sizeof len);
	if (len > 0)
		g_byte_array_append (head, data, (guint) len);
}

static void
frame_add_string (GByteArray *head, const char *text)
{
	frame_add (head, text, text != NULL ? strlen (text) : 0);
}

static void
frame_add_number (GByteArray *head, guint64 value)
{
	frame_add (head, &value, sizeof value);
}

/* Ends the frame with its last field, `tail` (NULL: empty), and sets its length. */
static void
frame_end (GByteArray *head, const GByteArray *tail)
{
	guint64 tail_len = tail != NULL ? tail->len : 0, len;

	g_byte_array_append (head, (const guint8 *) &tail_len, sizeof tail_len);
	len = head->len - sizeof len + tail_len;
	memcpy (head->data, &len, sizeof len);
}

static void
outgoing_free (Outgoing *out)
{
	g_byte_array_unref (out->head);
	if (out->tail != NULL)
		g_byte_array_unref (out->tail);
	g_free (out);
}

/* Adds what is left to send of `out` to `iov`; the number of entries added. */
static int
outgoing_iov (const Outgoing *out, struct iovec *iov)
{
	int n = 0;

	if (out->sent < out->head->len) {
		iov[n].iov_base = out->head->data + out->sent;
		iov[n++].iov_len = out->head->len - out->sent;
	}
	if (out->tail != NULL && out->tail->len > 0) {
		gsize done = out->sent > out->head->len ? out->sent - out->head->len : 0;

		iov[n].iov_base = out->tail->data + done;
		iov[n++].iov_len = out->tail->len - done;
	}
	return n;
}

static gsize
outgoing_left (const Outgoing *out)
{
	return out->head->len + (out->tail != NULL ? out->tail->len : 0) - out->sent;
}

/* Writes the frames of `queue` in as few writes as the socket allows, freeing those sent.  TRUE
 * when all are sent or the socket is full (EAGAIN), FALSE on an error. */
static gboolean
send_queue (int fd, GQueue *queue)
{
	while (!g_queue_is_empty (queue)) {
		struct iovec iov[32];
		int n = 0;
		ssize_t written;
		GList *l;

		for (l = queue->head; l != NULL && n + 2 <= (int) G_N_ELEMENTS (iov); l = l->next)
			n += outgoing_iov (l->data, iov + n);
		do
			written = writev (fd, iov, n);
		while (written < 0 && errno == EINTR);
		if (written < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK;
		while (written > 0) {
			Outgoing *out = g_queue_peek_head (queue);
			gsize step = MIN ((gsize) written, outgoing_left (out));

			out->sent += step;
			written -= (ssize_t) step;
			if (outgoing_left (out) == 0)
				outgoing_free (g_queue_pop_head (queue));
		}
	}
	return TRUE;
}

/* Reads once what `fd` has: at least what the frame begun needs to be whole.  The read's result. */
static ssize_t
inbox_fill (int fd, Inbox *in)
{
	guint have = in->bytes->len;
	gsize want = READ_CHUNK;
	ssize_t n;

	if (have >= sizeof (guint64)) {
		guint64 len;

		memcpy (&len, in->bytes->data, sizeof len);
		if (len <= G_MAXUINT - sizeof len && len + sizeof len > have + want)
			want = len + sizeof len - have;
	}
	g_byte_array_set_size (in->bytes, (guint) (have + want));
	do
		n = read (fd, in->bytes->data + have, want);
	while (n < 0 && errno == EINTR);
	g_byte_array_set_size (in->bytes, have + (n > 0 ? (guint) n : 0));
	return n;
}

typedef struct {
	GByteArray *bytes; /* the frame, its length first */
	guint32 n;
	gsize offset[MAX_FIELDS], len[MAX_FIELDS];
} Frame;

/* Takes the next whole frame out of `in`.  FALSE when there is none yet, or with `broken` set
 * when the bytes are no frame. */
static gboolean
inbox_take (Inbox *in, Frame *frame, gboolean *broken)
{
	gsize have = in->bytes->len, pos = sizeof (guint64), end;
	guint64 len;
	guint32 i;

	if (have < sizeof len)
		return FALSE;
	memcpy (&len, in->bytes->data, sizeof len);
	if (len > G_MAXUINT - sizeof len || len < sizeof (guint32)) {
		*broken = TRUE;
		return FALSE;
	}
	end = sizeof len + len;
	if (have < end)
		return FALSE;
	if (end > READ_CHUNK) {
		/* a large frame keeps its memory; what follows it moves */
		frame->bytes = in->bytes;
		in->bytes = g_byte_array_new ();
		g_byte_array_append (in->bytes, frame->bytes->data + end, (guint) (have - end));
		g_byte_array_set_size (frame->bytes, (guint) end);
	} else {
		frame->bytes = g_byte_array_sized_new ((guint) end);
		g_byte_array_append (frame->bytes, in->bytes->data, (guint) end);
		g_byte_array_remove_range (in->bytes, 0, (guint) end);
	}
	memcpy (&frame->n, frame->bytes->data + pos, sizeof frame->n);
	pos += sizeof frame->n;
	for (i = 0; i < frame->n && i < MAX_FIELDS; i++) {
		guint64 field;

		if (end - pos < sizeof field)
			break;
		memcpy (&field, frame->bytes->data + pos, sizeof field);
		pos += sizeof field;
		if (field > end - pos)
			break;
		frame->offset[i] = pos;
		frame->len[i] = (gsize) field;
		pos += (gsize) field;
	}
	if (i < frame->n || pos != end) {
		g_byte_array_unref (frame->bytes);
		frame->bytes = NULL;
		*broken = TRUE;
		return FALSE;
	}
	return TRUE;
}

/* A field as a string; NULL for an empty field. */
static char *
frame_string (const Frame *frame, guint i)
{
	if (frame->len[i] == 0)
		return NULL;
	return g_strndup ((const char *) frame->bytes->data + frame->offset[i], frame->len[i]);
}

static guint64
frame_number (const Frame *frame, guint i)
{
	guint64 value = 0;

	if (frame->len[i] == sizeof value)
		memcpy (&value, frame->bytes->data + frame->offset[i], sizeof value);
	return value;
}

/* The frame's last field, taking over its memory; the frame is spent. */
static GByteArray *
frame_take_last (Frame *frame)
{
	GByteArray *field = frame->bytes;
	guint last = frame->n - 1;

	memmove (field->data, field->data + frame->offset[last], frame->len[last]);
	g_byte_array_set_size (field, (guint) frame->len[last]);
	frame->bytes = NULL;
	return field;
}

static void
frame_clear (Frame *frame)
{
	if (frame->bytes != NULL)
		g_byte_array_unref (frame->bytes);
	frame->bytes = NULL;
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

char *
report_line_with_status (const char *json, const char *status, const char *reason)
{
	/* the name before these fields is JSON-escaped (a quote in it is \"), and so is a reason:
	 * these strings are the fields themselves */
	const char *at = strstr (json, ",\"status\":\"");
	const char *rest = at != NULL ? strstr (at, ",\"bytes_in\":") : NULL;
	g_autofree char *own = NULL;
	const char *from;

	if (rest == NULL)
		return g_strdup (json);
	from = strstr (at, ",\"reason\":");
	if (reason != NULL) {
		/* escaped as the library escapes it: the reason of a line of its own */
		MimeUtf8Report *report = mimeutf8_report_new_passthrough (reason, 0);

		own = mimeutf8_report_to_json (report, "");
		mimeutf8_report_free (report);
		from = strstr (own, ",\"reason\":");
		return g_strdup_printf ("%.*s,\"status\":\"%s\"%.*s%s", (int) (at - json), json,
					status, (int) (strstr (from, ",\"bytes_in\":") - from),
					from, rest);
	}
	return g_strdup_printf ("%.*s,\"status\":\"%s\"%.*s%s", (int) (at - json), json, status,
				(int) (rest - from), from, rest);
}

/* ---- the worker side ---------------------------------------------------------------------------- */

/* The exit code of a failed write: a full disk is transient. */
static int
write_error_code (int saved_errno)
{
	return saved_errno == ENOSPC || saved_errno == EDQUOT ? 75 : 74;
}

/* `result` failed with exit `code`: `error` said on stderr, and a report line of its own that
 * gives `why` (the library made none, or one that does not know of the failure). */
static void
job_failed (Result *result, const char *name, int code, char *error, const char *why)
{
	MimeUtf8Report *report = mimeutf8_report_new_passthrough (why, 0);
	g_autofree char *json = mimeutf8_report_to_json (report, name);

	mimeutf8_report_free (report);
	result->status = MIMEUTF8_STATUS_FAILED;
	result->exit_code = code;
	result->error = error;
	g_free (result->json);
	result->json = report_line_with_status (json, "failed", NULL);
}

/* Opens a batch input: never through a symbolic link (a batch run as root over users' maildirs
 * must not read what a link points to), and only a regular file (a FIFO or a device would block
 * or never end).  -1 with the reason in `result` otherwise. */
static int
open_input (Job *job, struct stat *st, Result *result)
{
	int fd = open (job->in_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
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
	job_failed (result, job->name, 66, g_strdup_printf ("%s: %s", job->in_path, why), why);
	return -1;
}

/* Reads a regular file of `size` bytes whole: in one read, unless it changed meanwhile (once
 * `size` bytes are in, a read returning less than asked is its end).  FALSE with errno set. */
static gboolean
read_whole (int fd, gsize size, GByteArray *input)
{
	gsize want = size + 1;

	for (;;) {
		guint have = input->len;
		ssize_t n;

		g_byte_array_set_size (input, (guint) want);
		do
			n = read (fd, input->data + have, want - have);
		while (n < 0 && errno == EINTR);
		g_byte_array_set_size (input, have + (n > 0 ? (guint) n : 0));
		if (n < 0)
			return FALSE;
		if (n == 0 || (input->len >= size && input->len < want))
			return TRUE;
		if (input->len == want)
			want *= 2;
	}
}

/* A temporary output file in `dir`, readable by its owner only until keep_access. */
static int
temp_output (const char *dir, const char *out_path, char **temp_out)
{
	g_autofree char *base = g_path_get_basename (out_path);

	*temp_out = g_strdup_printf ("%s/.%s.mimeutf8-XXXXXX", dir, base);
	return g_mkstemp_full (*temp_out, O_WRONLY | O_CLOEXEC, 0600);
}

/* Whether a file this process creates in `dir` already has owner `uid` and group `gid`: then
 * there is nothing to change.  The directory's group and set-group-ID bit are looked up once. */
static gboolean
created_as (const char *dir, uid_t uid, gid_t gid)
{
	static char *known_dir;
	static struct stat known;
	static uid_t euid = (uid_t) -1;
	static gid_t egid;

	if (euid == (uid_t) -1) {
		euid = geteuid ();
		egid = getegid ();
	}
	if (uid != euid)
		return FALSE;
	if (g_strcmp0 (dir, known_dir) != 0) {
		g_free (known_dir);
		known_dir = NULL;
		if (stat (dir, &known) != 0)
			return FALSE;
		known_dir = g_strdup (dir);
	}
	/* a new file takes the directory's group when it is set-group-ID (or the file system is
	 * mounted so), else the process's: sure only where both agree or the bit is set */
	return (gid == egid && known.st_gid == gid) ||
	       ((known.st_mode & S_ISGID) && known.st_gid == gid);
}

/* Gives an output its input's owner and group, where the process may (as root), and its
 * permission bits.  Group bits are kept only with the group: under another group they would
 * widen access. */
static void
keep_access (int fd, const char *dir, const struct stat *st)
{
	mode_t mode = st->st_mode & 0777;

	if (!created_as (dir, st->st_uid, st->st_gid) && fchown (fd, st->st_uid, st->st_gid) != 0 &&
	    fchown (fd, (uid_t) -1, st->st_gid) != 0)
		mode &= ~(mode_t) 0070;
	fchmod (fd, mode);
}

/* The exit code for what the library could not do: a failed read or write by its errno. */
static int
library_error_code (const GError *error, int saved_errno)
{
	if (error == NULL || error->code == MIMEUTF8_ERROR_IO)
		return write_error_code (saved_errno);
	return error->code == MIMEUTF8_ERROR_NO_MEMORY ? 75 : 74;
}

/* The output of a job could not be written or put in place (`what`, `saved` its errno): the
 * report line the job has says so, and the exit code is by errno. */
static void
output_failed (Result *result, const Job *job, const char *what, int saved)
{
	g_autofree char *why = g_strdup_printf ("%s: %s", what, g_strerror (saved));
	char *line = report_line_with_status (result->json, "failed", why);

	g_free (result->json);
	result->json = line;
	result->status = MIMEUTF8_STATUS_FAILED;
	result->exit_code = write_error_code (saved);
	result->error = g_strdup_printf ("%s: %s", job->in_path, g_strerror (saved));
	result->out_size = 0;
}

static void
run_file_job (const MimeUtf8Options *options, Job *job, Result *result)
{
	g_autofree char *temp = NULL;
	g_autoptr (GByteArray) input = NULL;
	g_autoptr (GByteArray) output = NULL;
	MimeUtf8Report *report = NULL;
	GError *error = NULL;
	const char *failed = NULL; /* what failed once the library was done */
	struct stat st;
	int in_fd, out_fd, error_errno = 0;

	in_fd = open_input (job, &st, result);
	if (in_fd < 0)
		return;
	/* a message the library would read whole anyway: one read */
	if (st.st_size <= SMALL_INPUT) {
		input = g_byte_array_sized_new ((guint) st.st_size + 1);
		if (!read_whole (in_fd, (gsize) st.st_size, input)) {
			int saved = errno;
			g_autofree char *why = g_strdup_printf ("read failed: %s", g_strerror (saved));

			close (in_fd);
			job_failed (result, job->name, write_error_code (saved),
				    g_strdup_printf ("%s: %s", job->in_path, why), why);
			return;
		}
		close (in_fd);
		in_fd = -1;
	}
	out_fd = temp_output (job->tmp_dir, job->out_path, &temp);
	if (out_fd < 0) {
		int saved = errno;

		if (in_fd >= 0)
			close (in_fd);
		job_failed (result, job->name, write_error_code (saved),
			    g_strdup_printf ("%s: %s", temp, g_strerror (saved)), g_strerror (saved));
		return;
	}
	if (input != NULL) {
		/* the result written whole in one write, as mimeutf8_normalize_fd does */
		output = g_byte_array_sized_new (input->len + input->len / 8 + 64);
		result->status = mimeutf8_normalize_buffer (options, input->data, input->len, output,
							    &report, &error);
		error_errno = result->status == MIMEUTF8_STATUS_FAILED ? errno : 0;
		if (result->status != MIMEUTF8_STATUS_FAILED &&
		    !write_full (out_fd, output->data, output->len)) {
			error_errno = errno;
			failed = "write failed";
		}
		result->out_size = output->len;
	} else {
		struct stat out_st;

		result->status = mimeutf8_normalize_fd (options, in_fd, out_fd, &report, &error);
		error_errno = result->status == MIMEUTF8_STATUS_FAILED ? errno : 0;
		close (in_fd);
		result->out_size = fstat (out_fd, &out_st) == 0 ? (guint64) out_st.st_size : 0;
	}
	if (result->status != MIMEUTF8_STATUS_FAILED && failed == NULL) {
		keep_access (out_fd, job->tmp_dir, &st);
		if (job->keep_mtime) {
			struct timespec times[2] = { st.st_atim, st.st_mtim };

			futimens (out_fd, times);
		}
	}
	/* closed whatever happened: an unlinked file still open would keep its space */
	if (close (out_fd) != 0 && result->status != MIMEUTF8_STATUS_FAILED && failed == NULL) {
		error_errno = errno;
		failed = "write failed";
	}
	if (result->status != MIMEUTF8_STATUS_FAILED && failed == NULL &&
	    rename (temp, job->out_path) != 0) {
		error_errno = errno;
		failed = "rename failed";
	}
	result->json = mimeutf8_report_to_json (report, job->name);
	if (result->status == MIMEUTF8_STATUS_FAILED) {
		result->exit_code = library_error_code (error, error_errno);
		result->error = g_strdup_printf ("%s: %s", job->in_path,
						 error ? error->message : g_strerror (error_errno));
	} else if (failed != NULL) {
		output_failed (result, job, failed, error_errno);
	}
	if (result->status == MIMEUTF8_STATUS_FAILED) {
		result->out_size = 0;
		unlink (temp);
	}
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

/* Sends a frame, blocking until it is all written (the supervisor always reads). */
static gboolean
send_frame (int fd, GByteArray *head, GByteArray *tail)
{
	GQueue queue = G_QUEUE_INIT;
	Outgoing *out = g_new0 (Outgoing, 1);

	out->head = head;
	out->tail = tail != NULL ? g_byte_array_ref (tail) : NULL;
	g_queue_push_tail (&queue, out);
	if (!send_queue (fd, &queue)) {
		g_queue_clear_full (&queue, (GDestroyNotify) outgoing_free);
		return FALSE;
	}
	return TRUE;
}

/* Jobs come as frames of six fields: name, in_path, tmp_dir, out_path, keep_mtime, input;
 * results go back as six: status, exit code, output size, error, report line, output. */
static G_NORETURN void
worker_main (const MimeUtf8Options *options, int fd)
{
	Inbox in = { g_byte_array_new () };

	for (;;) {
		Frame frame = { 0 };
		Job job = { 0 };
		Result result = { 0 };
		gboolean broken = FALSE;
		GByteArray *head;

		while (!inbox_take (&in, &frame, &broken))
			if (broken || inbox_fill (fd, &in) <= 0)
				worker_exit ();
		if (frame.n != 6)
			worker_exit ();
		job.name = frame_string (&frame, 0);
		job.in_path = frame_string (&frame, 1);
		job.tmp_dir = frame_string (&frame, 2);
		job.out_path = frame_string (&frame, 3);
		job.keep_mtime = frame.len[4] > 0;
		if (job.in_path == NULL)
			job.input = frame_take_last (&frame);
		frame_clear (&frame);
		fault_injection (job.name);
		if (job.in_path != NULL)
			run_file_job (options, &job, &result);
		else
			run_bytes_job (options, &job, &result);
		head = frame_new (6);
		frame_add_number (head, (guint64) result.status);
		frame_add_number (head, (guint64) result.exit_code);
		frame_add_number (head, result.out_size);
		frame_add_string (head, result.error);
		frame_add_string (head, result.json);
		frame_end (head, result.output);
		if (!send_frame (fd, head, result.output))
			worker_exit ();
		g_free (job.name);
		g_free (job.in_path);
		g_free (job.tmp_dir);
		g_free (job.out_path);
		if (job.input != NULL)
			g_byte_array_unref (job.input);
		g_free (result.error);
		g_free (result.json);
		if (result.output)
			g_byte_array_unref (result.output);
	}
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
	/* the supervisor never waits on a worker's socket but in poll() */
	fcntl (pair[0], F_SETFL, fcntl (pair[0], F_GETFL) | O_NONBLOCK);
	worker->pid = pid;
	worker->fd = pair[0];
	worker->queued = 0;
	worker->filling = FALSE;
	worker->in.bytes = g_byte_array_new ();
	g_queue_init (&worker->out);
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
	g_byte_array_unref (worker->in.bytes);
	worker->in.bytes = NULL;
	g_queue_clear_full (&worker->out, (GDestroyNotify) outgoing_free);
}

Pool *
pool_new (const MimeUtf8Options *options, unsigned int workers, unsigned int timeout_ms,
	  ResultFunc on_result, RoundFunc on_round, gpointer data)
{
	Pool *pool = g_new0 (Pool, 1);
	unsigned int i;

	signal (SIGPIPE, SIG_IGN);
	pool->options = options;
	pool->timeout_ms = timeout_ms;
	pool->on_result = on_result;
	pool->on_round = on_round;
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
	g_autofree char *temp = NULL;
	struct stat st;
	gboolean ok;
	int in, out = -1;

	result->status = MIMEUTF8_STATUS_PASSTHROUGH;
	if (job->input != NULL) {
		result->output = g_byte_array_ref (job->input);
		report = mimeutf8_report_new_passthrough (reason, job->input->len);
		result->json = mimeutf8_report_to_json (report, job->name);
		mimeutf8_report_free (report);
		return result;
	}
	in = open_input (job, &st, result);
	if (in < 0)
		return result;
	ok = (out = temp_output (job->tmp_dir, job->out_path, &temp)) >= 0 && copy_all (in, out);
	if (ok)
		keep_access (out, job->tmp_dir, &st);
	if (out >= 0 && close (out) != 0)
		ok = FALSE;
	close (in);
	report = mimeutf8_report_new_passthrough (reason, (guint64) st.st_size);
	result->json = mimeutf8_report_to_json (report, job->name);
	mimeutf8_report_free (report);
	result->out_size = (guint64) st.st_size;
	if (!ok || rename (temp, job->out_path) != 0) {
		output_failed (result, job, reason, errno);
		if (out >= 0)
			unlink (temp);
	}
	return result;
}

/* Drops the jobs no worker has: the batch stops. */
static void
drop_waiting (Pool *pool)
{
	guint64 *seq;

	while ((seq = g_queue_pop_head (&pool->waiting)) != NULL) {
		Slot *slot = slot_of (pool, *seq);

		if (slot->job->input != NULL)
			pool->bytes -= slot->job->input->len;
		job_free (slot->job);
		g_free (slot);
		g_hash_table_remove (pool->slots, seq);
		g_free (seq);
	}
	pool->stopped = TRUE;
}

static void
deliver (Pool *pool)
{
	guint64 first = pool->next_delivery;

	while (pool->next_delivery < pool->next_seq) {
		guint64 seq = pool->next_delivery;
		Slot *slot = slot_of (pool, seq);

		if (slot == NULL) {
			/* dropped */
			pool->next_delivery++;
			continue;
		}
		if (slot->result == NULL)
			break;
		if (!pool->on_result (slot->job, slot->result, pool->data))
			drop_waiting (pool);
		if (slot->job->input != NULL)
			pool->bytes -= slot->job->input->len;
		g_hash_table_remove (pool->slots, &seq);
		job_free (slot->job);
		result_free (slot->result);
		g_free (slot);
		pool->next_delivery++;
	}
	if (pool->next_delivery != first && pool->on_round != NULL && !pool->on_round (pool->data))
		drop_waiting (pool);
}

/* The worker to give the next job: the least busy of those down to half their queue or being
 * refilled, so that jobs go several to a write; NULL when all have enough. */
static Worker *
next_worker (Pool *pool)
{
	Worker *best = NULL;
	unsigned int i;

	for (i = 0; i < pool->n_workers; i++) {
		Worker *worker = &pool->workers[i];

		if (worker->queued >= QUEUE_PER_WORKER ||
		    (!worker->filling && worker->queued > QUEUE_PER_WORKER / 2))
			continue;
		if (best == NULL || worker->queued < best->queued)
			best = worker;
	}
	return best;
}

/* Gives waiting jobs to the workers and starts sending them; what the sockets do not take now is
 * sent as they drain (service). */
static void
dispatch (Pool *pool)
{
	Worker *worker;
	unsigned int i;

	while (!g_queue_is_empty (&pool->waiting) && (worker = next_worker (pool)) != NULL) {
		guint64 *seq = g_queue_pop_head (&pool->waiting);
		Job *job = slot_of (pool, *seq)->job;
		Outgoing *out = g_new0 (Outgoing, 1);

		out->head = frame_new (6);
		frame_add_string (out->head, job->name);
		frame_add_string (out->head, job->in_path);
		frame_add_string (out->head, job->tmp_dir);
		frame_add_string (out->head, job->out_path);
		frame_add_string (out->head, job->keep_mtime ? "1" : NULL);
		out->tail = job->input != NULL ? g_byte_array_ref (job->input) : NULL;
		frame_end (out->head, out->tail);
		g_queue_push_tail (&worker->out, out);
		if (worker->queued == 0)
			worker->started = g_get_monotonic_time ();
		worker->seqs[worker->queued++] = *seq;
		worker->filling = worker->queued < QUEUE_PER_WORKER;
		g_free (seq);
	}
	/* a worker that died is seen by its socket's end of file, after its last results */
	for (i = 0; i < pool->n_workers; i++)
		if (!send_queue (pool->workers[i].fd, &pool->workers[i].out))
			g_queue_clear_full (&pool->workers[i].out, (GDestroyNotify) outgoing_free);
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
	Slot *slot = worker->queued > 0 ? slot_of (pool, worker->seqs[0]) : NULL;

	requeue (pool, worker);
	worker_stop (worker, TRUE);
	worker->queued = 0;
	if (slot != NULL)
		slot->result = passthrough_result (slot->job, reason);
	worker_start (pool, worker);
}

/* The result of a worker's running job; FALSE when the frame is none. */
static gboolean
collect (Pool *pool, Worker *worker, Frame *frame)
{
	Slot *slot = slot_of (pool, worker->seqs[0]);
	Result *result;
	gint64 now;

	if (frame->n != 6)
		return FALSE;
	result = g_new0 (Result, 1);
	result->status = (MimeUtf8Status) frame_number (frame, 0);
	result->exit_code = (int) frame_number (frame, 1);
	result->out_size = frame_number (frame, 2);
	result->error = frame_string (frame, 3);
	result->json = frame_string (frame, 4);
	if (slot->job->input != NULL)
		result->output = frame_take_last (frame);
	slot->result = result;
	memmove (worker->seqs, worker->seqs + 1, (QUEUE_PER_WORKER - 1) * sizeof (guint64));
	worker->queued--;
	now = g_get_monotonic_time ();
	worker->job_us = (worker->job_us * 7 + (now - worker->started)) / 8;
	worker->started = now;
	return TRUE;
}

/* Reads what a worker sent: every whole result in it is collected; its end, or bytes that are no
 * result, mean it died. */
static void
receive (Pool *pool, Worker *worker)
{
	ssize_t n = inbox_fill (worker->fd, &worker->in);
	gboolean broken = FALSE;
	Frame frame = { 0 };

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	while (!broken && worker->queued > 0 && inbox_take (&worker->in, &frame, &broken)) {
		broken = !collect (pool, worker, &frame);
		frame_clear (&frame);
	}
	if (n <= 0 || broken || (worker->queued == 0 && worker->in.bytes->len > 0))
		worker_lost (pool, worker, "worker died");
}

/* While every busy worker has more jobs queued than it needs not to run dry, sleeps for about as
 * long as the spare ones take: then one wake collects several results, instead of one per
 * message (at a fraction of a millisecond a message, wakes cost as much as the hand-offs). */
static void
nap (Pool *pool)
{
	gint64 nap_us = -1;
	unsigned int i;

	for (i = 0; i < pool->n_workers; i++) {
		Worker *worker = &pool->workers[i];
		gint64 spare;

		if (worker->queued == 0)
			continue;
		if (worker->queued <= QUEUE_PER_WORKER / 2 || !g_queue_is_empty (&worker->out))
			return;
		spare = (worker->queued - QUEUE_PER_WORKER / 2) * worker->job_us;
		if (nap_us < 0 || spare < nap_us)
			nap_us = spare;
	}
	if (nap_us > 50)
		g_usleep ((gulong) MIN (nap_us, MAX_NAP_US));
}

/* Waits for at least one worker to finish, die or run out of time, or for a socket to take more
 * jobs. */
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
		fds[n].events = POLLIN | (g_queue_is_empty (&worker->out) ? 0 : POLLOUT);
		map[n++] = i;
	}
	if (n == 0)
		return;
	nap (pool);
	if (poll (fds, n, (int) MIN (wait_ms + 1, G_MAXINT)) < 0)
		return;
	for (i = 0; i < n; i++) {
		Worker *worker = &pool->workers[map[i]];

		if ((fds[i].revents & POLLOUT) && !send_queue (worker->fd, &worker->out))
			g_queue_clear_full (&worker->out, (GDestroyNotify) outgoing_free);
		if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
			receive (pool, worker);
	}
}

static guint
in_flight (Pool *pool)
{
	return g_hash_table_size (pool->slots);
}

/* Too much submitted and not delivered: the reorder window, and for messages in memory their
 * size (but always a job per worker). */
static gboolean
window_full (Pool *pool)
{
	return in_flight (pool) >= pool->n_workers * WINDOW_PER_WORKER ||
	       (pool->bytes > WINDOW_BYTES && in_flight (pool) > pool->n_workers);
}

void
pool_submit (Pool *pool, Job *job)
{
	Slot *slot = g_new0 (Slot, 1);
	guint64 *key = g_new (guint64, 1), *seq = g_new (guint64, 1);
	unsigned int i;

	if (pool->stopped) {
		job_free (job);
		g_free (slot);
		g_free (key);
		g_free (seq);
		return;
	}
	slot->job = job;
	*key = *seq = pool->next_seq++;
	g_hash_table_insert (pool->slots, key, slot);
	g_queue_push_tail (&pool->waiting, seq);
	if (job->input != NULL)
		pool->bytes += job->input->len;
	/* an idle worker gets it now; otherwise jobs gather, to be sent several at a time */
	for (i = 0; i < pool->n_workers; i++)
		if (pool->workers[i].queued == 0) {
			dispatch (pool);
			break;
		}
	while (window_full (pool)) {
		dispatch (pool);
		service (pool);
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
