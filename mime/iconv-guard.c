/* iconv-guard.c: the process's iconv_open, refusing every charset name that is not in the label
 * table.  GMime opens converters with names taken from the message (encoded-words, RFC 2231
 * parameters) while it parses; a check in our own code cannot reach those calls, but ELF symbol
 * interposition can: libmimeutf8 exports this iconv_open, so every library loaded after it
 * (GMime, GLib) calls this one instead of glibc's.  It affects every process that links
 * libmimeutf8 (see README, "Charset allowlist"). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <iconv.h>
#include <string.h>

#include "mimeutf8-private.h"

typedef iconv_t (*IconvOpenFunc) (const char *tocode, const char *fromcode);

/* Longer names are not labels of the table; refusing them early keeps lookups bounded. */
#define MAX_NAME 64

gboolean
_mimeutf8_iconv_name_allowed (const char *name)
{
	size_t len;

	if (name == NULL)
		return FALSE;
	len = strnlen (name, MAX_NAME + 1);
	/* "//TRANSLIT", "//IGNORE" and paths never come from the table */
	if (len == 0 || len > MAX_NAME || memchr (name, '/', len) != NULL)
		return FALSE;
	return _mimeutf8_charset_iconv_allowed (name) ||
	       _mimeutf8_charset_lookup (name, len) != NULL;
}

static IconvOpenFunc
real_iconv_open (void)
{
	static IconvOpenFunc real;
	IconvOpenFunc found = g_atomic_pointer_get (&real);

	if (found == NULL) {
		found = (IconvOpenFunc) dlsym (RTLD_NEXT, "iconv_open");
		g_atomic_pointer_set (&real, found);
	}
	return found;
}

/* glibc unloads a converter module when its last descriptor closes, and loads it again for the
 * next: GMime opens and closes one for every encoded-word it decodes, so a batch paid a module
 * load per message and charset.  The first open of each pair of names keeps one descriptor
 * open for good; the names are the table's, so there are few. */
static void
pin (IconvOpenFunc real, const char *tocode, const char *fromcode)
{
	static GMutex lock;
	static GHashTable *pinned;
	g_autofree char *to = g_ascii_strdown (tocode, -1);
	g_autofree char *from = g_ascii_strdown (fromcode, -1);
	char *key = g_strconcat (to, "\n", from, NULL);

	g_mutex_lock (&lock);
	if (pinned == NULL)
		pinned = g_hash_table_new (g_str_hash, g_str_equal);
	if (!g_hash_table_contains (pinned, key)) {
		iconv_t cd = real (tocode, fromcode);

		g_hash_table_insert (pinned, key, cd);
		key = NULL;
	}
	g_mutex_unlock (&lock);
	g_free (key);
}

iconv_t
iconv_open (const char *tocode, const char *fromcode)
{
	IconvOpenFunc real;
	iconv_t cd;

	if (!_mimeutf8_iconv_name_allowed (tocode) || !_mimeutf8_iconv_name_allowed (fromcode)) {
		errno = EINVAL;
		return (iconv_t) -1;
	}
	real = real_iconv_open ();
	if (real == NULL) {
		errno = EINVAL;
		return (iconv_t) -1;
	}
	cd = real (tocode, fromcode);
	if (cd != (iconv_t) -1)
		pin (real, tocode, fromcode);
	return cd;
}
