/* mimeutf8-filter.h: a GMime stream filter that converts to UTF-8 with libmimeutf8's lenient
 * translator, for any GMimeStreamFilter chain. */
#ifndef MIMEUTF8_FILTER_H
#define MIMEUTF8_FILTER_H

#include <gmime/gmime.h>

G_BEGIN_DECLS

#define MIMEUTF8_TYPE_FILTER (mimeutf8_filter_get_type ())
#define MIMEUTF8_FILTER(obj)                                                                       \
	(G_TYPE_CHECK_INSTANCE_CAST ((obj), MIMEUTF8_TYPE_FILTER, MimeUtf8Filter))
#define MIMEUTF8_IS_FILTER(obj) (G_TYPE_CHECK_INSTANCE_TYPE ((obj), MIMEUTF8_TYPE_FILTER))

/* Declared by hand rather than with G_DECLARE_FINAL_TYPE, which needs an autoptr cleanup for
 * GMimeFilter that GMime does not declare. */
typedef struct _MimeUtf8Filter MimeUtf8Filter;
typedef struct {
	GMimeFilterClass parent_class;
} MimeUtf8FilterClass;

GType mimeutf8_filter_get_type (void);

/* Every call takes and returns the filter as a GMimeFilter *, the type GMime's stream filters
 * take (g_mime_stream_filter_add), so that no cast is needed either way. */

/* A filter from charset `label` to UTF-8 (transfer full), or NULL with the error set when the
 * label is unknown.  Invalid input becomes U+FFFD, counted like mimeutf8_translator_*; unlike
 * GMimeFilterCharset, nothing is dropped silently. */
GMimeFilter *mimeutf8_filter_new (const char *label, GError **error);

/* Replacements made since the filter was created or last reset; 0 (and a critical warning) for
 * a filter that is not one of these. */
guint64 mimeutf8_filter_get_replacements (GMimeFilter *filter);

G_END_DECLS

#endif /* MIMEUTF8_FILTER_H */
