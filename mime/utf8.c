/* utf8.c: what a strict UTF-8 decoder (Unicode Table 3-7, U+FFFD per maximal subpart) meets in a
 * byte string, fast on the ASCII that most mail is made of. */
#include <string.h>

#include "mimeutf8-private.h"


typedef enum {
	SEQ_VALID,
	SEQ_INVALID,
	SEQ_INCOMPLETE,
} SeqKind;

/* memcpy is how C spells an unaligned load; compilers turn it into one instruction. */
static inline guint64
load64 (const guint8 *p)
{
	guint64 v;

	memcpy (&v, p, sizeof v);
	return v;
}

/* Index of the lowest-addressed byte whose high bit is set in `high` (never 0). */
static inline size_t
first_high_byte (guint64 high)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
	return (size_t) __builtin_ctzll (high) / 8;
#else
	return (size_t) __builtin_clzll (high) / 8;
#endif
}

size_t
_mimeutf8_ascii_prefix (const guint8 *data, size_t len)
{
	const guint8 *p = data, *end = data + len;

	/* Four words per round keeps the loop branch off the critical path on long ASCII bodies. */
	while (end - p >= 32) {
		guint64 any = load64 (p) | load64 (p + 8) | load64 (p + 16) | load64 (p + 24);

		if ((any & HIGH_BITS) != 0)
			break;
		p += 32;
	}
	while (end - p >= 8) {
		guint64 high = load64 (p) & HIGH_BITS;

		if (high != 0)
			return (size_t) (p - data) + first_high_byte (high);
		p += 8;
	}
	while (p < end && *p < 0x80)
		p++;
	return (size_t) (p - data);
}

/* Classifies the sequence at `p` (avail >= 1 bytes), by Table 3-7 of the Unicode Standard: the
 * second byte's range depends on the lead, which is what excludes overlongs (E0, F0), surrogates
 * (ED) and code points above U+10FFFF (F4).  For SEQ_INVALID, *len_out is the length of the
 * maximal subpart: the longest prefix of a valid sequence, or 1 for a byte that cannot lead. */
static inline SeqKind
check_seq (const guint8 *p, size_t avail, size_t *len_out)
{
	guint8 lead = p[0], lo = 0x80, hi = 0xBF;
	size_t need, i;

	if (lead < 0x80) {
		*len_out = 1;
		return SEQ_VALID;
	}
	if (lead < 0xC2 || lead > 0xF4) {
		*len_out = 1;
		return SEQ_INVALID;
	}
	if (lead < 0xE0) {
		need = 2;
	} else if (lead < 0xF0) {
		need = 3;
		if (lead == 0xE0)
			lo = 0xA0;
		else if (lead == 0xED)
			hi = 0x9F;
	} else {
		need = 4;
		if (lead == 0xF0)
			lo = 0x90;
		else if (lead == 0xF4)
			hi = 0x8F;
	}
	for (i = 1; i < need; i++) {
		if (i == avail) {
			*len_out = i;
			return SEQ_INCOMPLETE;
		}
		if (p[i] < lo || p[i] > hi) {
			*len_out = i;
			return SEQ_INVALID;
		}
		lo = 0x80;
		hi = 0xBF;
	}
	*len_out = need;
	return SEQ_VALID;
}

void
_mimeutf8_utf8_scan (const guint8 *data, size_t len, _MimeUtf8Scan *scan_out)
{
	const guint8 *p = data, *end = data + len;
	_MimeUtf8Scan scan = { 0, 0, 0 };

	while (p < end) {
		size_t n;

		if (*p < 0x80) {
			/* A word with no high bit and no zero byte is plain ASCII.  v - 0x01..01
			 * sets a high bit exactly when a byte of a high-bit-free word is zero. */
			while (end - p >= 8) {
				guint64 v = load64 (p);

				if (((v | (v - LOW_BITS)) & HIGH_BITS) != 0)
					break;
				p += 8;
			}
			if (p == end)
				break;
			if (*p < 0x80) {
				scan.nul += *p == 0;
				p++;
				continue;
			}
		}
		/* Most non-ASCII text is 2- and 3-byte sequences in a row: test those with a few
		 * comparisons before the general check. */
		if (end - p >= 3) {
			guint8 c0 = p[0], c1 = p[1], c2 = p[2];

			if (c0 >= 0xC2 && c0 <= 0xDF && (c1 & 0xC0) == 0x80) {
				scan.multibyte++;
				p += 2;
				continue;
			}
			if (c0 >= 0xE1 && c0 <= 0xEF && c0 != 0xED && (c1 & 0xC0) == 0x80 &&
			    (c2 & 0xC0) == 0x80) {
				scan.multibyte++;
				p += 3;
				continue;
			}
		}
		switch (check_seq (p, (size_t) (end - p), &n)) {
		case SEQ_VALID:
			scan.multibyte++;
			break;
		case SEQ_INVALID:
		case SEQ_INCOMPLETE: /* cut off at the end: a decoder would replace it too */
			scan.invalid++;
			break;
		}
		p += n;
	}
	*scan_out = scan;
}

int
_mimeutf8_utf8_invalid_len (const guint8 *data, size_t len)
{
	size_t n;

	/* Nothing at all is the shortest incomplete prefix: the caller needs more bytes. */
	if (len == 0)
		return -1;
	switch (check_seq (data, len, &n)) {
	case SEQ_VALID:
		return 0;
	case SEQ_INCOMPLETE:
		return -1;
	case SEQ_INVALID:
	default:
		return (int) n;
	}
}

gboolean
_mimeutf8_utf8_mostly (const _MimeUtf8Scan *scan)
{
	/* Legacy text forms a valid multi-byte sequence only where a lead-range letter happens to
	 * precede a continuation-range one, which is rare; stray bytes in UTF-8 text are rarer
	 * still, so two valid sequences for each invalid one is UTF-8 with damage. */
	return scan->multibyte > 0 && scan->invalid <= scan->multibyte / 2;
}

size_t
_mimeutf8_count_high (const guint8 *data, size_t len)
{
	size_t n = 0, i;

	for (i = 0; i < len; i++)
		n += data[i] >> 7;
	return n;
}
