/* workers.h: a supervised pool of long-lived worker processes for the batch modes: a message that
 * crashes or hangs a worker costs that worker, never the message or the ones after it. */
#ifndef MIMEUTF8_WORKERS_H
#define MIMEUTF8_WORKERS_H

#include "mimeutf8.h"

/* One message to normalize: a file (in_path set) or bytes in memory (input set). */
typedef struct {
	char *name;          /* the report's name */
	char *in_path;       /* file job: the input */
	char *tmp_dir;       /* file job: where the output is written before it is renamed */
	char *out_path;      /* file job: the output */
	gboolean keep_mtime; /* file job: give the output the input's modification time */
	GByteArray *input;   /* bytes job: the message */
	gpointer data;       /* the caller's, given back with the result */
} Job;

typedef struct {
	MimeUtf8Status status;
	int exit_code;      /* 0, or the sysexits code of a failure */
	char *error;        /* why it failed, for stderr; NULL otherwise */
	char *json;         /* the report line */
	guint64 out_size;   /* file job: the size of the output written, 0 if none */
	GByteArray *output; /* bytes job: the normalized message (or the input) */
} Result;

/* Called for each job, in the order the jobs were submitted.  Both are freed after it returns.
 * FALSE stops the batch: the jobs no worker has started are dropped, never delivered. */
typedef gboolean (*ResultFunc) (Job *job, Result *result, gpointer data);

/* Called after each round of results delivered together (may be NULL): what was gathered for
 * them can be written at once.  FALSE stops the batch, as for ResultFunc. */
typedef gboolean (*RoundFunc) (gpointer data);

typedef struct _Pool Pool;

/* Starts `workers` worker processes.  A message that takes longer than `timeout_ms` is given up:
 * its worker is killed and replaced, and the message is written through unchanged. */
Pool *pool_new (const MimeUtf8Options *options, unsigned int workers, unsigned int timeout_ms,
		ResultFunc on_result, RoundFunc on_round, gpointer data);
/* Queues a job (transfer full).  Blocks, delivering results, while too many are in flight. */
void pool_submit (Pool *pool, Job *job);
/* Waits for every job and delivers the remaining results. */
void pool_finish (Pool *pool);
/* Stops the workers; NULL is a no-op. */
void pool_free (Pool *pool);

void job_free (Job *job);

/* Writes all of `data` to `fd`, retrying short writes; FALSE on an error.  It calls only
 * write(), so a signal handler may use it. */
gboolean write_full (int fd, const void *data, size_t len);

/* Copies what `from` has left to `to`; FALSE with errno set on an error. */
gboolean copy_all (int from, int to);

/* `json`, a report line, with another status and, unless NULL, another reason (transfer full):
 * for what the library did not decide itself, a message skipped or an output that failed. */
char *report_line_with_status (const char *json, const char *status, const char *reason);

/* The test hook: with MIMEUTF8_TEST_FAULT=crash:TEXT or hang:TEXT in the environment, a message
 * whose name contains TEXT crashes or hangs the process normalizing it, so that the tests can
 * see the supervisor and the filter's fail-open handler at work. */
void fault_injection (const char *name);

#endif /* MIMEUTF8_WORKERS_H */
