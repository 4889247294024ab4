/* walk.h: the state of one walk over a parsed message, shared by the files that do its steps: the
 * walk (normalize.c), the plan for a text part (plan.c), the splice (splice.c), the in-place
 * rewrite (in-place.c), DKIM (dkim.c) and the entry points (entry.c).  Nobody else includes it. */
#ifndef MIMEUTF8_WALK_H
#define MIMEUTF8_WALK_H

#include "mimeutf8-private.h"

G_BEGIN_DECLS

/* One range of the input replaced by new bytes; an insertion has start == end. */
typedef struct {
	size_t start;
	size_t end;
	GByteArray *bytes;
} Edit;

/* The headers of one object, to rewrite once its message's first text part is decided. */
typedef struct {
	GMimeObject *object;
	GMimeObject *outer;
	char *path;
} HeaderJob;

typedef struct {
	const MimeUtf8Options *options;
	MimeUtf8Report *report;
	/* The message's bytes, when it was parsed from memory (splice mode); NULL in place. */
	const guint8 *raw;
	size_t raw_len;
	GByteArray *raw_array;
	/* The bytes GMime parsed: `raw`, or a copy of the same length in which charset names that must
	 * not reach iconv are made unusable (iconv-guard.c).  Its header values are compared with
	 * these; the output is spliced from `raw`.  Valid only during _mimeutf8_walk_raw. */
	const guint8 *parsed;
	/* A large message is a mapped file, parsed through a GMimeStreamFs on `fd` so that GMime
	 * reads it with read() and keeps attachments on disk; its pages are released once used. */
	int fd;
	gboolean mapped;
	GArray *edits; /* of Edit */
	/* Charsets the message declares (part labels, encoded-words): evidence for unlabelled text. */
	GPtrArray *message_charsets;
	const char *newline;
	/* Messages around this one: 0 for the top, 1 inside an encoded message/rfc822... */
	int depth;
	/* Header fields already rewritten (their offsets): a part's Content-* headers are in its
	 * message's list too. */
	GHashTable *headers_done;
	/* The charset decided for the current message's first text part: raw 8-bit header bytes
	 * are read in it.  Its headers are rewritten once its parts are walked. */
	const _MimeUtf8Charset *eight_bit;
	gboolean text_seen;
	GPtrArray *header_jobs; /* of HeaderJob, for the current message */
	/* Boundaries of the multiparts around the object being walked, innermost last: a part's
	 * content ends at a line of one of them (NULL for a multipart without one). */
	GPtrArray *boundaries;
	/* Messages embedded in the one walked (message/rfc822 parts) around the object. */
	unsigned int embedded;
	/* MIME nesting of the object being walked, parts seen, and when time is up. */
	unsigned int level;
	unsigned int parts;
	gint64 deadline;
	/* Set when a part cannot be rewritten where it stands: the message is then passed through. */
	char *failure;
	/* mimeutf8_parse: the view that records each part and its text; NULL when normalizing. */
	MimeUtf8Message *view;
} Walk;

typedef struct {
	GByteArray *decoded_copy; /* decoded body when it had to be copied */
	const guint8 *decoded;    /* decoded body bytes */
	size_t decoded_len;
	GByteArray *converted; /* new decoded body, NULL if the body stays */
	GMimeContentEncoding encoding_in;
	GMimeContentEncoding encoding_out;
	gboolean relabel; /* charset parameter becomes utf-8 */
	/* Set when the body cannot be read as the parser reads it: the part is left alone. */
	const char *leave_reason;
	/* The body is rewritten even if its text stays: it is not clean base64 (a footer after
	 * it, a last group without padding) or quoted-printable (a stray '='), and a strict reader
	 * would not read it. */
	gboolean reencode;
	/* Plain text followed the base64 run, and is part of the decoded body. */
	gboolean trailer;
	gboolean ascii_normal; /* pure ASCII that stays: only its header block is checked */
} TextPlan;

/* Where the result goes: a byte array, a GMimeStream, or a file descriptor (fd >= 0). */
typedef struct {
	GByteArray *array;
	GMimeStream *stream;
	int fd;
	gboolean failed;
	int saved_errno;
} Sink;

/* ---- normalize.c: the walk --------------------------------------------------------------------- */

void _mimeutf8_walk_message (Walk *walk, GMimeMessage *message, const char *prefix,
			     gboolean sealed);
void _mimeutf8_walk_init (Walk *walk, const MimeUtf8Options *options, MimeUtf8Report *report,
			  int depth);
void _mimeutf8_walk_collect_charsets (Walk *walk, GMimeMessage *message);
void _mimeutf8_walk_clear (Walk *walk);
/* fastpath.c: TRUE when the message at the top of `walk` (no view, `prefix` "") is proven to need
 * nothing without GMime: its one text part is then in the report, and the walk has no edits. */
gboolean _mimeutf8_fast_unchanged (Walk *walk, const guint8 *raw, size_t len, const char *prefix);
void _mimeutf8_walk_raw (Walk *walk, const guint8 *raw, size_t len, int fd, const char *prefix);

/* ---- plan.c: the plan for one text part -------------------------------------------------------- */

void _mimeutf8_decode_body (Walk *walk, GMimePart *part, TextPlan *plan);
const char *_mimeutf8_part_label (Walk *walk, GMimeObject *object);
gboolean _mimeutf8_plan_text_part (Walk *walk, GMimePart *part, MimeUtf8PartReport *record,
				   TextPlan *plan);

/* ---- in-place.c: rewriting a parsed message in place ------------------------------------------- */

void _mimeutf8_rewrite_header_in_place (Walk *walk, GMimeObject *object, GMimeHeader *header,
					const char *path);
void _mimeutf8_apply_in_place (Walk *walk, GMimePart *part, TextPlan *plan,
			       MimeUtf8PartReport *record);

/* ---- splice.c: edits of the input and the output they make ------------------------------------- */

void _mimeutf8_walk_fail (Walk *walk, const char *why);
void _mimeutf8_release_pages (const Walk *walk, size_t start, size_t end);
void _mimeutf8_add_edit (Walk *walk, size_t start, size_t end, GByteArray *bytes);
const char *_mimeutf8_encoding_name (GMimeContentEncoding encoding);
GString *_mimeutf8_rewrite_content_type (Walk *walk, const char *path, const char *value,
					 size_t len, const char *newline, const char *unused);
const char *_mimeutf8_newline_before (const Walk *walk, size_t at);
gboolean _mimeutf8_header_block_is_clean (const Walk *walk, GMimeObject *object, GMimeObject *outer,
					  size_t body_start, size_t upto);
gboolean _mimeutf8_header_kept_as_is (GMimeObject *object, const char *name, const char *value,
				      size_t len);
GString *_mimeutf8_header_text (Walk *walk, const char *path, const char *name, const char *value,
				size_t len, const char *newline);
/* The object's Content-Type value, as written in the input, passes `check`; TRUE when it has no
 * such header in the input, FALSE when it cannot be located there. */
gboolean _mimeutf8_content_type_value_passes (const Walk *walk, GMimeObject *object,
					      gboolean (*check) (const char *value, size_t len));
gboolean _mimeutf8_source_bounds (const Walk *walk, GMimeStream *stream, size_t *start_out,
				  size_t *end_out, const char **why);
gboolean _mimeutf8_plan_edits_a_repeated_header (const TextPlan *plan, GMimeObject *object);
void _mimeutf8_apply_splice (Walk *walk, GMimePart *part, GMimeObject *outer, TextPlan *plan,
			     MimeUtf8PartReport *record);
void _mimeutf8_sink_copy (const Walk *walk, Sink *sink, size_t start, size_t end);
int _mimeutf8_compare_edits (gconstpointer a, gconstpointer b);
size_t _mimeutf8_splice_out (const Walk *walk, Sink *sink);
gboolean _mimeutf8_write_all (int fd, const guint8 *data, size_t len);

/* ---- dkim.c: DKIM signatures the edits break --------------------------------------------------- */

gboolean _mimeutf8_dkim_invalidated (const Walk *walk);
gboolean _mimeutf8_dkim_invalidated_in_place (GMimeMessage *message, const MimeUtf8Report *report,
					      gboolean body_changed);

G_END_DECLS

#endif /* MIMEUTF8_WALK_H */
