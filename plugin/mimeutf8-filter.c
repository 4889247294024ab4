/* mimeutf8-filter.c: the lenient translator as a GMimeFilter, so that GMime filter chains convert
 * to UTF-8 the way mimeutf8 does.  It knows only the public header. */
#include "mimeutf8-filter.h"
#include "mimeutf8.h"

struct _MimeUtf8Filter {
	GMimeFilter parent_instance;
	MimeUtf8Translator *translator;
	char *label;
	GByteArray *out; /* the last call's output; GMime reads it before the next call */
};

G_DEFINE_TYPE (MimeUtf8Filter, mimeutf8_filter, GMIME_TYPE_FILTER)

static void
give_output (MimeUtf8Filter *self, char **outbuf, size_t *outlen, size_t *outprespace)
{
	/* an array that never grew has no data; GMime wants a buffer even for 0 bytes */
	*outbuf = self->out->len > 0 ? (char *) self->out->data : (char *) "";
	*outlen = self->out->len;
	*outprespace = 0;
}

static void
filter_filter (GMimeFilter *filter, char *inbuf, size_t inlen, size_t prespace, char **outbuf,
	       size_t *outlen, size_t *outprespace)
{
	MimeUtf8Filter *self = MIMEUTF8_FILTER (filter);

	g_byte_array_set_size (self->out, 0);
	mimeutf8_translator_convert (self->translator, inbuf, inlen, self->out);
	give_output (self, outbuf, outlen, outprespace);
}

static void
filter_complete (GMimeFilter *filter, char *inbuf, size_t inlen, size_t prespace, char **outbuf,
		 size_t *outlen, size_t *outprespace)
{
	MimeUtf8Filter *self = MIMEUTF8_FILTER (filter);

	g_byte_array_set_size (self->out, 0);
	mimeutf8_translator_convert (self->translator, inbuf, inlen, self->out);
	mimeutf8_translator_end (self->translator, self->out);
	give_output (self, outbuf, outlen, outprespace);
}

static void
filter_reset (GMimeFilter *filter)
{
	mimeutf8_translator_reset (MIMEUTF8_FILTER (filter)->translator);
}

static GMimeFilter *
filter_copy (GMimeFilter *filter)
{
	return mimeutf8_filter_new (MIMEUTF8_FILTER (filter)->label, NULL);
}

static void
mimeutf8_filter_finalize (GObject *object)
{
	MimeUtf8Filter *self = MIMEUTF8_FILTER (object);

	mimeutf8_translator_free (self->translator);
	g_byte_array_unref (self->out);
	g_free (self->label);
	G_OBJECT_CLASS (mimeutf8_filter_parent_class)->finalize (object);
}

static void
mimeutf8_filter_class_init (MimeUtf8FilterClass *klass)
{
	GMimeFilterClass *filter_class = GMIME_FILTER_CLASS (klass);

	G_OBJECT_CLASS (klass)->finalize = mimeutf8_filter_finalize;
	filter_class->copy = filter_copy;
	filter_class->filter = filter_filter;
	filter_class->complete = filter_complete;
	filter_class->reset = filter_reset;
}

static void
mimeutf8_filter_init (MimeUtf8Filter *self)
{
	self->out = g_byte_array_new ();
}

GMimeFilter *
mimeutf8_filter_new (const char *label, GError **error)
{
	MimeUtf8Translator *translator = mimeutf8_translator_new (label, error);
	MimeUtf8Filter *self;

	if (translator == NULL)
		return NULL;
	self = g_object_new (MIMEUTF8_TYPE_FILTER, NULL);
	self->translator = translator;
	self->label = g_strdup (label);
	return GMIME_FILTER (self);
}

guint64
mimeutf8_filter_get_replacements (GMimeFilter *filter)
{
	MimeUtf8ConvertStats stats;

	g_return_val_if_fail (MIMEUTF8_IS_FILTER (filter), 0);
	mimeutf8_translator_get_stats (MIMEUTF8_FILTER (filter)->translator, &stats);
	return stats.replacements;
}
