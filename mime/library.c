/* library.c: what every file of the library may use and that uses no other file but the charset
 * table: initialization, the version, the error domain and the check of an options struct. */
#include <pthread.h>
#include <string.h>

#include "mimeutf8-private.h"

/* The macro turns its first argument into the string; clang-format would space out the dashes. */
/* clang-format off */
G_DEFINE_QUARK (mimeutf8-error-quark, mimeutf8_error)
/* clang-format on */

static void
init_once (void)
{
	/* The environment is the host's: GCONV_PATH is left alone (the command clears it), and
	 * nothing is interposed on its iconv_open (iconv-guard.c). */
	g_mime_init ();
	/* G_DEFINE_QUARK sets its variable without a lock: set once here, it is only read */
	(void) mimeutf8_error_quark ();
}

void
mimeutf8_init (void)
{
	/* pthread_once rather than g_once: ThreadSanitizer sees its ordering (tests/tsan.sh) */
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once (&once, init_once);
}

const char *
mimeutf8_version (void)
{
	return MIMEUTF8_VERSION_STRING;
}

const MimeUtf8Options *
_mimeutf8_options_check (const MimeUtf8Options *options, MimeUtf8Options *storage, GError **error)
{
	static const MimeUtf8Options defaults = MIMEUTF8_OPTIONS_INIT;

	if (options == NULL) {
		*storage = defaults;
		return storage;
	}
	if (options->version < 1 || options->version > MIMEUTF8_OPTIONS_VERSION) {
		g_set_error (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_OPTIONS,
			     "options version %u is not supported (this library knows 1 to %d)",
			     options->version, MIMEUTF8_OPTIONS_VERSION);
		return NULL;
	}
	if (options->version < 2) {
		/* a caller built for version 1 has no room for the fields after timeout_ms */
		memcpy (storage, options, G_STRUCT_OFFSET (MimeUtf8Options, cancellable));
		storage->cancellable = NULL;
		options = storage;
	}
	if ((unsigned int) options->policy > MIMEUTF8_POLICY_STRICT) {
		g_set_error (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_OPTIONS, "unknown policy %d",
			     (int) options->policy);
		return NULL;
	}
	if (options->fallback_charset != NULL &&
	    _mimeutf8_charset_lookup (options->fallback_charset,
				      strlen (options->fallback_charset)) == NULL) {
		g_set_error (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_OPTIONS,
			     "unknown fallback charset \"%s\"", options->fallback_charset);
		return NULL;
	}
	return options;
}

const _MimeUtf8Charset *
_mimeutf8_fallback (const MimeUtf8Options *options)
{
	const _MimeUtf8Charset *charset = NULL;

	if (options != NULL && options->fallback_charset != NULL)
		charset = _mimeutf8_charset_lookup (options->fallback_charset,
						    strlen (options->fallback_charset));
	if (charset == NULL) {
		/* looked up once: the header decoder asks for it for every encoded-word */
		static gsize windows_1252;

		if (g_once_init_enter (&windows_1252))
			g_once_init_leave (&windows_1252,
					   (gsize) _mimeutf8_charset_by_name ("windows-1252"));
		charset = (const _MimeUtf8Charset *) windows_1252;
	}
	return charset;
}
