/* byte-tables.c: what translator.c converts with besides its own decoders: the iconv descriptors
 * each thread keeps, and the 256-entry tables of single-byte charsets, built once from iconv. */
#include <iconv.h>
#include <string.h>

#include "mimeutf8-private.h"

/* iconv descriptors each thread keeps for reuse: iconv_open costs far more than converting a
 * typical part, and a message rarely uses more than two or three charsets. */
#define CD_CACHE_SIZE 8

/* ---- the iconv descriptor cache ------------------------------------------------------------ */

/* A thread's idle descriptors, oldest first.  Names point into the charset table. */
typedef struct {
	const char *name[CD_CACHE_SIZE];
	iconv_t cd[CD_CACHE_SIZE];
	size_t n;
} CdCache;

static void
cd_cache_free (gpointer data)
{
	CdCache *cache = data;
	size_t i;

	for (i = 0; i < cache->n; i++)
		iconv_close (cache->cd[i]);
	g_free (cache);
}

/* Per thread, so that taking and giving back needs no lock; a translator may still be freed on
 * another thread than the one that made it: its descriptor then joins that thread's cache. */
static GPrivate cd_cache_key = G_PRIVATE_INIT (cd_cache_free);

/* A descriptor from `iconv_name` to UTF-8 in its initial state, or (iconv_t) -1. */
iconv_t
_mimeutf8_cd_take (const char *iconv_name)
{
	CdCache *cache = g_private_get (&cd_cache_key);
	size_t i;

	if (cache != NULL) {
		for (i = cache->n; i-- > 0;) {
			iconv_t cd = cache->cd[i];

			if (strcmp (cache->name[i], iconv_name) != 0)
				continue;
			memmove (&cache->name[i], &cache->name[i + 1],
				 (cache->n - i - 1) * sizeof cache->name[0]);
			memmove (&cache->cd[i], &cache->cd[i + 1],
				 (cache->n - i - 1) * sizeof cache->cd[0]);
			cache->n--;
			iconv (cd, NULL, NULL, NULL, NULL);
			return cd;
		}
	}
	/* The allowlist keeps converters with known CVEs closed even if a bad table entry asks. */
	g_return_val_if_fail (_mimeutf8_charset_iconv_allowed (iconv_name), (iconv_t) -1);
	return iconv_open ("UTF-8", iconv_name);
}

void
_mimeutf8_cd_give (const char *iconv_name, iconv_t cd)
{
	CdCache *cache = g_private_get (&cd_cache_key);

	if (cache == NULL) {
		cache = g_new0 (CdCache, 1);
		g_private_set (&cd_cache_key, cache);
	}
	if (cache->n == CD_CACHE_SIZE) {
		iconv_close (cache->cd[0]);
		memmove (&cache->name[0], &cache->name[1],
			 (CD_CACHE_SIZE - 1) * sizeof cache->name[0]);
		memmove (&cache->cd[0], &cache->cd[1], (CD_CACHE_SIZE - 1) * sizeof cache->cd[0]);
		cache->n--;
	}
	cache->name[cache->n] = iconv_name;
	cache->cd[cache->n] = cd;
	cache->n++;
}

/* ---- single-byte tables -------------------------------------------------------------------- */

static void
entry_set_replacement (_MimeUtf8ByteEntry *entry)
{
	memcpy (entry->utf8, "\xEF\xBF\xBD", 3); /* U+FFFD */
	entry->len = 3;
	entry->replaced = TRUE;
}

/* Bytes glibc leaves undefined that WHATWG (what browsers and most mail readers decode with) maps
 * to a character: without these the character would become U+FFFD.  Where the two define a byte
 * differently, glibc's mapping stays (test-translator.c lists those differences). */
static const struct {
	const char *charset;
	guint8 byte;
	gunichar code;
} whatwg_defined[] = {
	{ "windows-1255", 0xCA, 0x05BA }, /* HEBREW POINT HOLAM HASER FOR VAV */
};

/* The WHATWG character of a byte iconv rejects, or 0. */
static gunichar
whatwg_fallback (const _MimeUtf8Charset *charset, unsigned int b)
{
	size_t i;

	if (b >= 0x80 && b <= 0x9F && (charset->flags & _MIMEUTF8_CS_C1_CONTROLS) != 0)
		return b;
	for (i = 0; i < G_N_ELEMENTS (whatwg_defined); i++)
		if (whatwg_defined[i].byte == b &&
		    strcmp (whatwg_defined[i].charset, charset->name) == 0)
			return whatwg_defined[i].code;
	return 0;
}

/* Every byte through iconv once.  A byte counts as defined when it gives exactly one code point of
 * the BMP, as in every single-byte charset (table_convert counts on 3 bytes at most).  The flush
 * collects what converters that compose (CP1255, CP1258) keep back, which gives the plain
 * one-byte-one-character mapping WHATWG has too.  Bytes iconv rejects get WHATWG's character
 * when there is one (the C1 controls of windows-125x, above), else U+FFFD. */
static _MimeUtf8ByteTable *
table_build (const _MimeUtf8Charset *charset, iconv_t cd)
{
	_MimeUtf8ByteTable *table = g_new0 (_MimeUtf8ByteTable, 1);
	unsigned int b;

	for (b = 0; b < 256; b++) {
		_MimeUtf8ByteEntry *entry = &table->entry[b];
		guint8 in = (guint8) b, buf[16];
		char *inp = (char *) &in, *outp = (char *) buf;
		size_t inleft = 1, outleft = sizeof buf, n;
		gboolean ok = FALSE;

		if (cd != (iconv_t) -1) {
			iconv (cd, NULL, NULL, NULL, NULL);
			ok = iconv (cd, &inp, &inleft, &outp, &outleft) != (size_t) -1 &&
			     inleft == 0 && iconv (cd, NULL, NULL, &outp, &outleft) != (size_t) -1;
		}
		n = (size_t) (outp - (char *) buf);
		if (b == 0) {
			entry_set_replacement (entry);
		} else if (ok && n >= 1 && n <= 3 && _mimeutf8_utf8_invalid_len (buf, n) == 0 &&
			   _mimeutf8_utf8_need (buf[0]) == n) {
			memcpy (entry->utf8, buf, n);
			entry->len = (guint8) n;
		} else if (whatwg_fallback (charset, b) != 0) {
			entry->len = (guint8) g_unichar_to_utf8 (whatwg_fallback (charset, b),
								 (char *) entry->utf8);
		} else {
			entry_set_replacement (entry);
		}
	}
	table->ascii = TRUE;
	for (b = 1; b < 0x80; b++)
		if (table->entry[b].len != 1 || table->entry[b].utf8[0] != b)
			table->ascii = FALSE;
	return table;
}

/* The table of a charset, or NULL when iconv cannot open it. */
_MimeUtf8ByteTable *
_mimeutf8_table_build_for (const _MimeUtf8Charset *charset)
{
	iconv_t cd = _mimeutf8_cd_take (charset->iconv_name);
	_MimeUtf8ByteTable *table;

	if (cd == (iconv_t) -1)
		return NULL;
	table = table_build (charset, cd);
	_mimeutf8_cd_give (charset->iconv_name, cd);
	return table;
}

/* Stores `fresh` at `location` unless another thread stored something first, in which case
 * `fresh` is freed; returns what is stored.  The atomics are in our own code, where
 * ThreadSanitizer sees them (g_once_init_leave's are inside GLib, where it cannot). */
static gpointer
publish_once (gpointer *location, gpointer fresh)
{
	if (!g_atomic_pointer_compare_and_exchange (location, NULL, fresh))
		g_free (fresh);
	return g_atomic_pointer_get (location);
}

/* What a charset iconv cannot open decodes as: ASCII, and U+FFFD for every other byte, so that
 * the loss shows in the counts instead of a crash or an empty part. */
const _MimeUtf8ByteTable *
_mimeutf8_table_ascii_only (void)
{
	static gpointer table;
	static const _MimeUtf8Charset none = { "", "", _MIMEUTF8_DECODER_SINGLE_BYTE, 0, 1 };
	_MimeUtf8ByteTable *built;
	unsigned int b;

	if (g_atomic_pointer_get (&table) != NULL)
		return g_atomic_pointer_get (&table);
	built = table_build (&none, (iconv_t) -1);
	for (b = 1; b < 0x80; b++) {
		built->entry[b].utf8[0] = (guint8) b;
		built->entry[b].len = 1;
		built->entry[b].replaced = FALSE;
	}
	built->ascii = TRUE;
	return publish_once (&table, built);
}

/* The table of a charset, built on first use and kept for the life of the process: 256 iconv calls
 * are cheap once, not per part.  NULL when the charset is not one of the table's. */
const _MimeUtf8ByteTable *
_mimeutf8_table_shared (const _MimeUtf8Charset *charset, gboolean *unavailable_out)
{
	static gpointer shared_slots; /* one per charset of the table */
	size_t n, index;
	const _MimeUtf8Charset *all = _mimeutf8_charset_all (&n);
	gpointer *slots = g_atomic_pointer_get (&shared_slots);
	_MimeUtf8ByteTable *built;
	gpointer *slot;

	if (slots == NULL)
		slots = publish_once (&shared_slots, g_new0 (gpointer, n));
	if (charset < all || charset >= all + n)
		return NULL;
	index = (size_t) (charset - all);
	slot = &slots[index];
	*unavailable_out = FALSE;
	if (g_atomic_pointer_get (slot) != NULL)
		return g_atomic_pointer_get (slot);
	built = _mimeutf8_table_build_for (charset);
	if (built == NULL) {
		/* Not cached: a later call may find the converter. */
		*unavailable_out = TRUE;
		return _mimeutf8_table_ascii_only ();
	}
	/* Two threads may build at once; the first one in wins and the other drops its copy. */
	return publish_once (slot, built);
}
