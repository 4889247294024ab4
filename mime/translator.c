/* translator.c: the streaming, lenient converter from a charset of the table to strictly valid
 * UTF-8, one U+FFFD for each invalid sequence, over our own UTF-8 decoder, byte tables built once,
 * or cached iconv descriptors. */
#include <errno.h>
#include <iconv.h>
#include <string.h>

#include "mimeutf8-private.h"

/* The public header promises that no more than this is held back between chunks. */
#define HOLD_MAX 16
/* Input is converted this much at a time, so that the room reserved in the caller's array for the
 * worst case (3 bytes out for 1 in) stays a small overshoot, whatever the chunk size. */
#define WINDOW (16 * 1024)
/* A label quoted in an error message is cut here: labels come from mail. */
#define LABEL_QUOTE_MAX 64


static const guint8 replacement_char[3] = { 0xEF, 0xBF, 0xBD };

typedef enum {
	MODE_UTF8,
	MODE_TABLE,
	MODE_ICONV,
	MODE_UTF7,
} Mode;

struct _MimeUtf8Translator {
	const _MimeUtf8Charset *charset;
	Mode mode;
	const _MimeUtf8ByteTable *table; /* MODE_TABLE */
	_MimeUtf8ByteTable *own_table;   /* for a charset that is not in the table: freed with us */
	iconv_t cd;             /* MODE_ICONV */
	gboolean unavailable;   /* iconv cannot convert this charset here: ASCII only */
	guint8 held[HOLD_MAX];  /* an incomplete sequence at the end of the last chunk */
	size_t n_held;
	/* A stateful 7-bit charset (ISO-2022-*, UTF-7) is converted whole at the end: after an
	 * invalid sequence, glibc resynchronizes at a place that depends on where the chunks were
	 * cut, and the output must not. */
	GByteArray *whole;
	MimeUtf8ConvertStats stats;
};

/* ---- counting ------------------------------------------------------------------------------ */

static void
count_replacement (MimeUtf8Translator *translator, uint64_t offset)
{
	translator->stats.replacements++;
	if (translator->stats.first_replacement < 0)
		translator->stats.first_replacement = (int64_t) offset;
}

static void
append_replacement (MimeUtf8Translator *translator, GByteArray *out, uint64_t offset)
{
	g_byte_array_append (out, replacement_char, sizeof replacement_char);
	count_replacement (translator, offset);
}

/* Makes room for `extra` more bytes at the end of `out` and returns where they start.  A GByteArray
 * cannot pass 4 GiB; GLib aborts rather than wrap, and so do we, before a length is cut short. */
static guint8 *
out_grow (GByteArray *out, size_t extra)
{
	size_t old = out->len;

	if (extra > G_MAXUINT - old)
		g_error ("mimeutf8: output of more than %u bytes", G_MAXUINT);
	g_byte_array_set_size (out, (guint) (old + extra));
	return out->data + old;
}

static inline guint64
load64 (const guint8 *p)
{
	guint64 v;

	memcpy (&v, p, sizeof v);
	return v;
}

/* TRUE when all 8 bytes are 0x01-0x7F (see utf8.c for the zero-byte test). */
static inline gboolean
ascii_word (guint64 v)
{
	return ((v | (v - LOW_BITS)) & HIGH_BITS) == 0;
}


/* ---- UTF-8 --------------------------------------------------------------------------------- */

/* Where the window after `p` ends: WINDOW bytes on, moved back to the start of a sequence the
 * window would cut, so that the validator sees whole sequences and clean text is one copy. */
static const guint8 *
utf8_window_end (const guint8 *p, const guint8 *end)
{
	const guint8 *q = p + MIN ((size_t) (end - p), (size_t) WINDOW);
	size_t i;

	for (i = 1; i <= 3 && q - i >= p; i++) {
		guint8 c = *(q - i);

		if (c < 0x80)
			break;
		if (c >= 0xC0) {
			if (_mimeutf8_utf8_need (c) > i)
				q -= i;
			break;
		}
	}
	return q;
}

/* Decodes [p, stop) byte by byte, the slow path for windows with NUL or invalid bytes; may read
 * on to `end` for a sequence that crosses `stop`.  Returns where it stopped: at or after `stop`,
 * or `end` when it held back an incomplete sequence.  data[0] is at stream offset `base`. */
static const guint8 *
utf8_repair (MimeUtf8Translator *translator, const guint8 *data, uint64_t base, const guint8 *p,
	     const guint8 *stop, const guint8 *end, GByteArray *out)
{
	const guint8 *run = p; /* start of valid bytes not yet copied */

	while (p < stop) {
		int r;

		if (*p != 0 && *p < 0x80) {
			size_t n = _mimeutf8_ascii_prefix (p, (size_t) (stop - p));
			const guint8 *nul = memchr (p, 0, n);

			p = nul != NULL ? nul : p + n;
			continue;
		}
		if (*p == 0) {
			g_byte_array_append (out, run, (guint) (p - run));
			append_replacement (translator, out, base + (uint64_t) (p - data));
			run = ++p;
			continue;
		}
		r = _mimeutf8_utf8_invalid_len (p, (size_t) (end - p));
		if (r == 0) {
			p += _mimeutf8_utf8_need (*p);
			continue;
		}
		g_byte_array_append (out, run, (guint) (p - run));
		if (r < 0) {
			memcpy (translator->held, p, (size_t) (end - p));
			translator->n_held = (size_t) (end - p);
			return end;
		}
		append_replacement (translator, out, base + (uint64_t) (p - data));
		p += r;
		run = p;
	}
	g_byte_array_append (out, run, (guint) (p - run));
	return p;
}

static void
utf8_convert (MimeUtf8Translator *translator, const guint8 *data, size_t len, GByteArray *out)
{
	uint64_t base = translator->stats.bytes_in;
	const guint8 *p = data, *end = data + len;

	if (translator->n_held > 0 && len > 0) {
		/* Complete or refute the held sequence with as few new bytes as it needs. */
		guint8 seq[4];
		size_t n = translator->n_held, take = MIN (len, sizeof seq - n);
		int r;

		memcpy (seq, translator->held, n);
		memcpy (seq + n, data, take);
		r = _mimeutf8_utf8_invalid_len (seq, n + take);
		if (r < 0) {
			memcpy (translator->held, seq, n + take);
			translator->n_held = n + take;
			return;
		}
		if (r == 0) {
			g_byte_array_append (out, seq, (guint) _mimeutf8_utf8_need (seq[0]));
			p += _mimeutf8_utf8_need (seq[0]) - n;
		} else {
			/* The held bytes are a valid prefix: the invalid subpart has them all. */
			append_replacement (translator, out, base - n);
			p += (size_t) r - n;
		}
		translator->n_held = 0;
	}
	while (p < end) {
		const guint8 *stop = utf8_window_end (p, end);
		_MimeUtf8Scan scan;

		if (stop > p) {
			_mimeutf8_utf8_scan (p, (size_t) (stop - p), &scan);
			if (scan.invalid == 0 && scan.nul == 0) {
				g_byte_array_append (out, p, (guint) (stop - p));
				p = stop;
				continue;
			}
		} else {
			stop = end; /* only the start of a sequence is left */
		}
		p = utf8_repair (translator, data, base, p, stop, end, out);
	}
}

/* ---- single-byte charsets ------------------------------------------------------------------ */

static void
table_convert (MimeUtf8Translator *translator, const guint8 *data, size_t len, GByteArray *out)
{
	const _MimeUtf8ByteTable *table = translator->table;
	uint64_t base = translator->stats.bytes_in;
	const guint8 *p = data, *end = data + len;

	while (p < end) {
		const guint8 *wend = p + MIN ((size_t) (end - p), (size_t) WINDOW);
		guint8 *o;

		/* 3 bytes out per byte in at most, plus 1 for the padded 4-byte entry copy. */
		o = out_grow (out, 3 * (size_t) (wend - p) + 1);
		while (p < wend) {
			const _MimeUtf8ByteEntry *entry;

			if (table->ascii && (guint8) (*p - 1) < 0x7F) {
				while (wend - p >= 8 && ascii_word (load64 (p))) {
					memcpy (o, p, 8);
					o += 8;
					p += 8;
				}
				while (p < wend && (guint8) (*p - 1) < 0x7F)
					*o++ = *p++;
				continue;
			}
			entry = &table->entry[*p];
			memcpy (o, entry->utf8, 4);
			o += entry->len;
			if (G_UNLIKELY (entry->replaced))
				count_replacement (translator, base + (uint64_t) (p - data));
			p++;
		}
		g_byte_array_set_size (out, (guint) (o - out->data));
	}
}

/* ---- iconv --------------------------------------------------------------------------------- */

/* The offset in `in` of the character whose output holds byte `k` of what converting all `len`
 * bytes gives.  Only for converters without state: each trial starts from the initial state.
 * Output grows with the input converted, so bisect for the shortest input whose output passes
 * byte k; converting one byte less stops (EINVAL) at the start of that character. */
static size_t
iconv_locate (iconv_t cd, const guint8 *in, size_t len, size_t k)
{
	size_t room = 3 * len + 16, lo = 1, hi = len;
	g_autofree guint8 *scratch = g_malloc (room);
	size_t start;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		char *inp = (char *) in, *outp = (char *) scratch;
		size_t inleft = mid, outleft = room;

		iconv (cd, NULL, NULL, NULL, NULL);
		iconv (cd, &inp, &inleft, &outp, &outleft);
		if ((size_t) (outp - (char *) scratch) > k)
			hi = mid;
		else
			lo = mid + 1;
	}
	{
		char *inp = (char *) in, *outp = (char *) scratch;
		size_t inleft = lo - 1, outleft = room;

		iconv (cd, NULL, NULL, NULL, NULL);
		iconv (cd, &inp, &inleft, &outp, &outleft);
		start = (size_t) (inp - (char *) in);
	}
	iconv (cd, NULL, NULL, NULL, NULL);
	return start;
}

/* iconv's output is trusted to be UTF-8 but not to be ours: a NUL, or a surrogate or worse from a
 * converter's corner case, would break the promise of strictly valid UTF-8 without NUL.  Checks
 * what one iconv call appended at `old`, and replaces what is wrong.  [in, in_end) is what the
 * call consumed, from stream offset `offset`.  Cheap: one scan of bytes still in cache. */
static void
iconv_check_output (MimeUtf8Translator *translator, GByteArray *out, size_t old, const guint8 *in,
		    const guint8 *in_end, uint64_t offset)
{
	_MimeUtf8Scan scan;
	g_autofree guint8 *produced = NULL;
	size_t n = out->len - old, i = 0;

	_mimeutf8_utf8_scan (out->data + old, n, &scan);
	if (scan.invalid == 0 && scan.nul == 0)
		return;
	produced = g_memdup2 (out->data + old, n);
	g_byte_array_set_size (out, (guint) old);
	while (i < n) {
		int r = produced[i] == 0 ? 1 : _mimeutf8_utf8_invalid_len (produced + i, n - i);
		uint64_t at = offset;

		if (r == 0) {
			size_t seq = _mimeutf8_utf8_need (produced[i]);

			g_byte_array_append (out, produced + i, (guint) seq);
			i += seq;
			continue;
		}
		/* A surrogate is one code point, however it was encoded: one U+FFFD. */
		if (n - i >= 3 && produced[i] == 0xED && produced[i + 1] >= 0xA0 &&
		    produced[i + 1] <= 0xBF && produced[i + 2] >= 0x80 && produced[i + 2] <= 0xBF)
			r = 3;
		else if (r < 0)
			r = (int) (n - i);
		/* Exact offsets cost a bisection, so only the first replacement of a stream gets
		 * one, and only when the converter has no state to replay; otherwise the offset is
		 * where this call's input began. */
		if (translator->stats.first_replacement < 0 && in_end > in &&
		    (translator->charset->flags & _MIMEUTF8_CS_STATEFUL_7BIT) == 0)
			at = offset + iconv_locate (translator->cd, in, (size_t) (in_end - in), i);
		append_replacement (translator, out, at);
		i += (size_t) r;
	}
}

/* ---- JIS X 0208 extensions ----------------------------------------------------------------- */

/* Whether G0 holds JIS X 0208 after the escape sequences in [p, end), starting from `kanji`. */
static gboolean
iso2022jp_kanji_after (const guint8 *p, const guint8 *end, gboolean kanji)
{
	while ((p = memchr (p, 0x1B, (size_t) (end - p))) != NULL && end - p >= 3) {
		if (p[1] == '$' && (p[2] == '@' || p[2] == 'B'))
			kanji = TRUE;
		else if (p[1] == '(' || (p[1] == '$' && (p[2] == 'A' || p[2] == '(')))
			kanji = FALSE;
		p++;
	}
	return kanji;
}

/* Appends the character of the JIS X 0208 code (j1, j2), both 0x21-0x7E, that glibc's EUC-JP and
 * ISO-2022-JP reject: NEC row 13 (① № ㍻) and the NEC-selected IBM rows 89-92.  WHATWG's jis0208
 * index has them, and so has CP932, whose Shift_JIS bytes for a JIS code follow from it by
 * arithmetic; CP932 agrees with that index on every code (charset-table.c).  FALSE when CP932 has
 * no character there either. */
static gboolean
jis_extension_append (guint8 j1, guint8 j2, GByteArray *out)
{
	const char *cp932 = _mimeutf8_charset_by_name ("shift_jis")->iconv_name;
	guint8 sjis[2], buf[8];
	char *inp = (char *) sjis, *outp = (char *) buf;
	size_t inleft = 2, outleft = sizeof buf, n;
	gboolean ok;
	iconv_t cd;

	sjis[0] = (guint8) (((j1 + 1) >> 1) + (j1 <= 0x5E ? 0x70 : 0xB0));
	sjis[1] = (guint8) (j2 + ((j1 & 1) ? (j2 >= 0x60 ? 0x20 : 0x1F) : 0x7E));
	cd = _mimeutf8_cd_take (cp932);
	if (cd == (iconv_t) -1)
		return FALSE;
	ok = iconv (cd, &inp, &inleft, &outp, &outleft) != (size_t) -1 && inleft == 0;
	_mimeutf8_cd_give (cp932, cd);
	n = (size_t) (outp - (char *) buf);
	/* One character, not a private-use one (CP932 has those only past row 94). */
	if (!ok || n < 2 || _mimeutf8_utf8_invalid_len (buf, n) != 0 || _mimeutf8_utf8_need (buf[0]) != n ||
	    (buf[0] == 0xEE || (buf[0] == 0xEF && buf[1] < 0xA4)))
		return FALSE;
	g_byte_array_append (out, buf, (guint) n);
	return TRUE;
}

/* At an invalid sequence at `p`, stream offset `offset`: when it is a two-byte JIS X 0208 code,
 * appends its character, or one U+FFFD for both bytes (as WHATWG does: resynchronizing after one
 * byte would read the second as the first of another code), and returns TRUE.  For ISO-2022-JP,
 * `*scanned` and `*kanji` follow the escape sequences up to `p` (the whole input is converted in
 * one call). */
static gboolean
jis_extension (MimeUtf8Translator *translator, const guint8 **scanned, gboolean *kanji,
	       const guint8 *p, const guint8 *end, uint64_t offset, GByteArray *out)
{
	guint8 j1, j2;

	if (end - p < 2 || (translator->charset->flags & _MIMEUTF8_CS_JIS_EXTENSIONS) == 0)
		return FALSE;
	if (translator->charset->flags & _MIMEUTF8_CS_STATEFUL_7BIT) {
		*kanji = iso2022jp_kanji_after (*scanned, p, *kanji);
		*scanned = p;
		if (!*kanji)
			return FALSE;
		j1 = p[0];
		j2 = p[1];
	} else {
		/* EUC-JP: JIS X 0208 with the high bits set. */
		j1 = (guint8) (p[0] - 0x80);
		j2 = (guint8) (p[1] - 0x80);
	}
	if (j1 < 0x21 || j1 > 0x7E || j2 < 0x21 || j2 > 0x7E)
		return FALSE;
	if (!jis_extension_append (j1, j2, out))
		append_replacement (translator, out, offset);
	return TRUE;
}

/* Where the invalid sequence glibc stepped over ends at `p` starts, or NULL when it did not step
 * over one.  glibc's CP949 (and converters like it) answer an unassigned two-byte code (A2 E8) with
 * EILSEQ *after* it, having written nothing for it; replacing at `p` and skipping a byte more
 * would take the first byte of the next character with it and misread all that follows ("A2 E8
 * B0 A1 B0 A1" read as U+FFFD, U+201C, U+FFFD instead of U+FFFD and two HANGUL GA).  Converting
 * [start, p) again, alone, tells: it fails only if the invalid code is inside.  Only after an
 * error, and over what this call converted: cheap.  On a descriptor of its own, so that the
 * translator's keeps its state (BIG5-HKSCS holds a character that may combine with the next). */
static const guint8 *
iconv_stepped_over (const char *iconv_name, const guint8 *start, const guint8 *p)
{
	guint8 scratch[64];
	const guint8 *bad = p - 1;
	iconv_t cd;
	size_t k;

	if (p == start || (cd = _mimeutf8_cd_take (iconv_name)) == (iconv_t) -1)
		return NULL;
	for (k = 0; k <= HOLD_MAX && k < (size_t) (p - start); k++) {
		const guint8 *at = start;
		int err = 0;

		/* [start, p - k) converts whole, or up to a cut character, once the invalid code is
		 * cut off */
		iconv (cd, NULL, NULL, NULL, NULL);
		while (at < p - k) {
			char *inp = (char *) at, *outp = (char *) scratch;
			size_t inleft = (size_t) (p - k - at), outleft = sizeof scratch;
			size_t r = iconv (cd, &inp, &inleft, &outp, &outleft);

			err = r == (size_t) -1 ? errno : 0;
			at = (const guint8 *) inp;
			if (err != E2BIG)
				break;
		}
		if (k == 0 && err != EILSEQ) {
			bad = NULL; /* [start, p) is fine: the error is at p */
			break;
		}
		if (k > 0 && err != EILSEQ) {
			bad = err == EINVAL ? at : p - k; /* EINVAL: cut inside it, at its start */
			break;
		}
	}
	_mimeutf8_cd_give (iconv_name, cd);
	return bad;
}

/* Converts [in, in + len), from stream offset `offset`, replacing invalid sequences.  Returns the
 * bytes consumed: all, or all but an incomplete sequence of at most HOLD_MAX bytes at the end. */
static size_t
iconv_run (MimeUtf8Translator *translator, const guint8 *in, size_t len, uint64_t offset,
	   GByteArray *out)
{
	const guint8 *p = in, *end = in + len;
	unsigned int unit = MAX (translator->charset->error_unit, 1);
	const guint8 *scanned = in;
	gboolean kanji = FALSE;

	while (p < end) {
		size_t chunk = MIN ((size_t) (end - p), (size_t) WINDOW);
		size_t old = out->len, room = 3 * chunk + 16, inleft = chunk, outleft = room, r;
		char *inp = (char *) p, *outp;
		const guint8 *start = p;
		int err;

		outp = (char *) out_grow (out, room);
		r = iconv (translator->cd, &inp, &inleft, &outp, &outleft);
		err = errno;
		g_byte_array_set_size (out, (guint) (outp - (char *) out->data));
		p = (const guint8 *) inp;
		iconv_check_output (translator, out, old, start, p,
				    offset + (uint64_t) (start - in));
		if (r != (size_t) -1 || err == E2BIG)
			continue;
		if (err == EINVAL) {
			/* Cut by the window: the next round has the rest of the character. */
			if (start + chunk < end && p > start)
				continue;
			if ((size_t) (end - p) <= HOLD_MAX)
				return (size_t) (p - in);
			/* No real character is that long: the bytes are invalid. */
		}
		if (err == EILSEQ && unit == 1 &&
		    (translator->charset->flags & _MIMEUTF8_CS_STATEFUL_7BIT) == 0) {
			/* (ISO-2022, whose state is in the text, is not converted again from
			 * the initial state; UTF-16 skips whole units anyway) */
			const guint8 *bad =
				iconv_stepped_over (translator->charset->iconv_name, start, p);

			if (bad != NULL) {
				/* the output of [start, bad) is in `out` already: glibc wrote
				 * nothing for the code it stepped over */
				append_replacement (translator, out,
						    offset + (uint64_t) (bad - in));
				continue;
			}
		}
		if (err == EILSEQ && jis_extension (translator, &scanned, &kanji, p, end,
						    offset + (uint64_t) (p - in), out)) {
			p += 2;
			continue;
		}
		append_replacement (translator, out, offset + (uint64_t) (p - in));
		p += MIN ((size_t) unit, (size_t) (end - p));
	}
	return len;
}

static void
iconv_convert (MimeUtf8Translator *translator, const guint8 *data, size_t len, GByteArray *out)
{
	uint64_t base = translator->stats.bytes_in;
	size_t used;

	/* Nothing new: what is held stays held (GMime filters end with an empty chunk). */
	if (len == 0)
		return;
	if (translator->charset->flags & _MIMEUTF8_CS_STATEFUL_7BIT) {
		if (translator->whole == NULL)
			translator->whole = g_byte_array_new ();
		g_byte_array_append (translator->whole, data, (guint) len);
		return;
	}
	if (translator->n_held > 0) {
		/* The held bytes plus enough new ones to finish any character: a character cut by
		 * `take` is found incomplete again and converted from `data` below. */
		guint8 tmp[2 * HOLD_MAX];
		size_t n = translator->n_held, take = MIN (len, (size_t) HOLD_MAX);

		memcpy (tmp, translator->held, n);
		memcpy (tmp + n, data, take);
		translator->n_held = 0;
		used = iconv_run (translator, tmp, n + take, base - n, out);
		if (used < n) {
			/* A tail longer than `take` means take == len: keep it all. */
			memcpy (translator->held, tmp + used, n + take - used);
			translator->n_held = n + take - used;
			return;
		}
		data += used - n;
		len -= used - n;
		base += used - n;
	}
	used = iconv_run (translator, data, len, base, out);
	if (used < len)
		memcpy (translator->held, data + used, len - used);
	translator->n_held = len - used;
}

/* Ends a stateful input: what a converter kept back, and its return to the initial state. */
static void
iconv_flush (MimeUtf8Translator *translator, GByteArray *out)
{
	size_t old = out->len, room = 64, outleft = room;
	char *outp;

	outp = (char *) out_grow (out, room);
	iconv (translator->cd, NULL, NULL, &outp, &outleft);
	g_byte_array_set_size (out, (guint) (outp - (char *) out->data));
	iconv_check_output (translator, out, old, NULL, NULL, translator->stats.bytes_in);
	iconv (translator->cd, NULL, NULL, NULL, NULL);
}

/* ---- UTF-7 --------------------------------------------------------------------------------- */

/* RFC 2152, leniently: a '+' that does not start a well-formed base64 run is the ASCII '+' it
 * looks like, and the bytes after it are read as ASCII too ("1 + 1 = 2", "C++", "a+b." stay as
 * written); "+-" is '+'; a '-' after a run is absorbed.  A UTF-7 encoder writes every '+' as "+-",
 * so one such '+' shows that the text was not (all) written by one: then only runs closed by '-'
 * are decoded, and base64 that is not UTF-7 (a PGP signature, whose lines end without '-') stays
 * as written.  A byte above 0x7F, which UTF-7 never has, and a NUL become U+FFFD.
 * [data, data + len) is at stream offset `base`. */
static void
utf7_decode (MimeUtf8Translator *translator, const guint8 *data, size_t len, uint64_t base,
	     GByteArray *out)
{
	const guint8 *p, *end = data + len;
	g_autofree gunichar *chars = g_new (gunichar, len / 2 + 1);
	gboolean foreign = FALSE;

	for (p = data; !foreign && (p = memchr (p, '+', (size_t) (end - p))) != NULL;) {
		const guint8 *run_end;
		size_t n;

		foreign = !_mimeutf8_utf7_at (p, end, &run_end, chars, &n);
		p = run_end;
	}
	p = data;
	while (p < end) {
		const guint8 *run_end;
		size_t n, i;

		if (*p != '+') {
			if (*p >= 0x80 || *p == 0)
				append_replacement (translator, out, base + (uint64_t) (p - data));
			else
				g_byte_array_append (out, p, 1);
			p++;
			continue;
		}
		if (!_mimeutf8_utf7_at (p, end, &run_end, chars, &n) ||
		    (foreign && (run_end == end || *run_end != '-'))) {
			g_byte_array_append (out, p, 1);
			p++;
			continue;
		}
		if (n == 0)
			g_byte_array_append (out, p, 1);
		for (i = 0; i < n; i++) {
			guint8 buf[6];

			if (chars[i] == 0)
				append_replacement (translator, out, base + (uint64_t) (p - data));
			else
				g_byte_array_append (
					out, buf,
					(guint) g_unichar_to_utf8 (chars[i], (char *) buf));
		}
		p = run_end < end && *run_end == '-' ? run_end + 1 : run_end;
	}
}

/* ---- the public face ----------------------------------------------------------------------- */

static void
stats_clear (MimeUtf8ConvertStats *stats)
{
	stats->bytes_in = 0;
	stats->bytes_out = 0;
	stats->replacements = 0;
	stats->first_replacement = -1;
}

MimeUtf8Translator *
_mimeutf8_translator_new_for (const _MimeUtf8Charset *charset)
{
	MimeUtf8Translator *translator;

	g_return_val_if_fail (charset != NULL, NULL);
	translator = g_new0 (MimeUtf8Translator, 1);
	translator->charset = charset;
	translator->cd = (iconv_t) -1;
	stats_clear (&translator->stats);
	switch (charset->decoder) {
	case _MIMEUTF8_DECODER_UTF8:
		translator->mode = MODE_UTF8;
		break;
	case _MIMEUTF8_DECODER_SINGLE_BYTE:
		translator->mode = MODE_TABLE;
		translator->table = _mimeutf8_table_shared (charset, &translator->unavailable);
		if (translator->table == NULL) {
			translator->own_table = _mimeutf8_table_build_for (charset);
			translator->table = translator->own_table;
		}
		if (translator->table == NULL) {
			translator->table = _mimeutf8_table_ascii_only ();
			translator->unavailable = TRUE;
		}
		break;
	case _MIMEUTF8_DECODER_UTF7:
		translator->mode = MODE_UTF7;
		break;
	case _MIMEUTF8_DECODER_ICONV:
	default:
		translator->mode = MODE_ICONV;
		translator->cd = _mimeutf8_cd_take (charset->iconv_name);
		if (translator->cd == (iconv_t) -1) {
			translator->mode = MODE_TABLE;
			translator->table = _mimeutf8_table_ascii_only ();
			translator->unavailable = TRUE;
		}
		break;
	}
	return translator;
}

/* The label, shortened and escaped: it comes from mail and goes into a UTF-8 message. */
static char *
label_quote (const char *label)
{
	g_autofree char *cut = g_strndup (label, LABEL_QUOTE_MAX);
	g_autofree char *escaped = g_strescape (cut, NULL);

	return g_strdup_printf ("\"%s\"%s", escaped, strlen (label) > LABEL_QUOTE_MAX ? "..." : "");
}

MimeUtf8Translator *
mimeutf8_translator_new (const char *label, GError **error)
{
	const _MimeUtf8Charset *charset;
	MimeUtf8Translator *translator;

	mimeutf8_init ();
	charset = label != NULL ? _mimeutf8_charset_lookup (label, strlen (label)) : NULL;
	if (charset == NULL) {
		g_autofree char *quoted = label_quote (label != NULL ? label : "(null)");

		g_set_error (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_UNKNOWN_CHARSET,
			     "unknown charset label %s", quoted);
		return NULL;
	}
	translator = _mimeutf8_translator_new_for (charset);
	if (translator->unavailable) {
		/* Callers of the public API can do better than ASCII and U+FFFD: tell them. */
		g_set_error (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_UNKNOWN_CHARSET,
			     "iconv cannot convert from %s (%s) on this system", charset->name,
			     charset->iconv_name);
		mimeutf8_translator_free (translator);
		return NULL;
	}
	return translator;
}

void
mimeutf8_translator_convert (MimeUtf8Translator *translator, const void *data, size_t len,
			     GByteArray *out)
{
	size_t old;

	g_return_if_fail (translator != NULL);
	g_return_if_fail (out != NULL);
	g_return_if_fail (data != NULL || len == 0);
	old = out->len;
	switch (translator->mode) {
	case MODE_UTF8:
		utf8_convert (translator, data, len, out);
		break;
	case MODE_TABLE:
		table_convert (translator, data, len, out);
		break;
	case MODE_ICONV:
		iconv_convert (translator, data, len, out);
		break;
	case MODE_UTF7:
		/* Whole at the end: whether a '+' starts a run depends on how the run ends. */
		if (translator->whole == NULL)
			translator->whole = g_byte_array_new ();
		g_byte_array_append (translator->whole, data, (guint) len);
		break;
	}
	translator->stats.bytes_in += len;
	translator->stats.bytes_out += out->len - old;
}

void
mimeutf8_translator_end (MimeUtf8Translator *translator, GByteArray *out)
{
	size_t old;

	g_return_if_fail (translator != NULL);
	g_return_if_fail (out != NULL);
	old = out->len;
	if (translator->whole != NULL && translator->whole->len > 0) {
		GByteArray *whole = translator->whole;
		uint64_t base = translator->stats.bytes_in - whole->len;
		size_t used;

		translator->whole = NULL;
		if (translator->mode == MODE_UTF7) {
			utf7_decode (translator, whole->data, whole->len, base, out);
		} else {
			used = iconv_run (translator, whole->data, whole->len, base, out);
			if (used < whole->len)
				append_replacement (translator, out, base + used);
		}
		g_byte_array_unref (whole);
	}
	if (translator->n_held > 0) {
		append_replacement (translator, out,
				    translator->stats.bytes_in - translator->n_held);
		translator->n_held = 0;
	}
	if (translator->mode == MODE_ICONV)
		iconv_flush (translator, out);
	translator->stats.bytes_out += out->len - old;
}

void
mimeutf8_translator_reset (MimeUtf8Translator *translator)
{
	g_return_if_fail (translator != NULL);
	translator->n_held = 0;
	if (translator->whole != NULL)
		g_byte_array_set_size (translator->whole, 0);
	stats_clear (&translator->stats);
	if (translator->mode == MODE_ICONV)
		iconv (translator->cd, NULL, NULL, NULL, NULL);
}

void
mimeutf8_translator_get_stats (const MimeUtf8Translator *translator,
			       MimeUtf8ConvertStats *stats_out)
{
	g_return_if_fail (translator != NULL);
	g_return_if_fail (stats_out != NULL);
	*stats_out = translator->stats;
}

const char *
mimeutf8_translator_get_charset (const MimeUtf8Translator *translator)
{
	g_return_val_if_fail (translator != NULL, NULL);
	return translator->charset->name;
}

void
mimeutf8_translator_free (MimeUtf8Translator *translator)
{
	if (translator == NULL)
		return;
	if (translator->cd != (iconv_t) -1)
		_mimeutf8_cd_give (translator->charset->iconv_name, translator->cd);
	if (translator->whole != NULL)
		g_byte_array_unref (translator->whole);
	g_free (translator->own_table);
	g_free (translator);
}

MimeUtf8ConvertStatus
mimeutf8_convert (const char *label, const void *data, size_t len, GByteArray *out,
		  MimeUtf8ConvertStats *stats_out, GError **error)
{
	g_autoptr (MimeUtf8Translator) translator = NULL;
	MimeUtf8ConvertStats stats;

	stats_clear (&stats);
	if (stats_out != NULL)
		*stats_out = stats;
	g_return_val_if_fail (out != NULL, MIMEUTF8_CONVERT_ERROR);
	g_return_val_if_fail (data != NULL || len == 0, MIMEUTF8_CONVERT_ERROR);
	translator = mimeutf8_translator_new (label, error);
	if (translator == NULL)
		return MIMEUTF8_CONVERT_ERROR;
	mimeutf8_translator_convert (translator, data, len, out);
	mimeutf8_translator_end (translator, out);
	mimeutf8_translator_get_stats (translator, &stats);
	if (stats_out != NULL)
		*stats_out = stats;
	return stats.replacements > 0 ? MIMEUTF8_CONVERT_REPLACED : MIMEUTF8_CONVERT_OK;
}
