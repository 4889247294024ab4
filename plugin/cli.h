/* cli.h: what the files of the command share: its exit codes, its state (Cli), the helpers every
 * mode uses (report lines, standard output, progress) and the modes themselves, which main
 * (mimeutf8.c) runs. */
#ifndef MIMEUTF8_CLI_H
#define MIMEUTF8_CLI_H

#include <stdio.h>

#include "mimeutf8.h"
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
	/* the batch modes' report lines not yet written (report_flush) */
	GString *report_block;
	/* progress */
	gboolean progress;
	guint64 done, total, unchanged, passthrough, bytes;
	guint64 total_bytes;
	gint64 started, shown;
	/* mbox output */
	GByteArray *mbox_out;
	/* --json: the parsed view of each message, one JSON line each, instead of the message */
	gboolean json;
} Cli;

/* ---- cli.c: report lines, standard output, progress -------------------------------------- */
void note_error (Cli *cli, int code);
int write_error_code (int saved_errno);
gboolean write_report_line (Cli *cli, const char *json);
gboolean report_add_line (Cli *cli, const char *json);
gboolean report_flush (Cli *cli, gboolean last);
void stdout_remember (void);
void stdout_discard (void);
gboolean stdout_write (const void *data, size_t len);
void show_progress (Cli *cli, gboolean last);
void count_result (Cli *cli, const Result *result, guint64 size);
gboolean read_upto (int fd, GByteArray *array, size_t limit);

/* ---- the modes: filter.c, text.c, batch.c (files, maildir, mbox), json-mode.c ------------- */
int run_filter (Cli *cli);
int run_text (Cli *cli, int argc, char **argv);
int run_files (Cli *cli, int argc, char **argv);
int run_maildir (Cli *cli, const char *src, const char *dst);
int run_mbox (Cli *cli, const char *path);
/* batch.c: a directory's regular files in name order (see there) */
GPtrArray *list_dir (Cli *cli, const char *dir, gboolean follow);

/* ---- json-mode.c: --json, the parsed view of each message ------------------------------------ */
int run_json (Cli *cli, int argc, char **argv);

#endif /* MIMEUTF8_CLI_H */
