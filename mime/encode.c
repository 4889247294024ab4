/* encode.c: base64 and quoted-printable (RFC 2045) for the bodies we rewrite, with the message's
 * own newline. */
#include <string.h>

#include "mimeutf8-private.h"

/* RFC 2045 section 6.7 and 6.8: encoded lines are at most 76 characters. */
#define LINE_MAX_CHARS 76
/* 57 bytes are 76 base64 characters. */
#define BASE64_LINE_BYTES (LINE_MAX_CHARS / 4 * 3)

static const char base64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char hex_upper[] = "0123456789ABCDEF";

void
_mimeutf8_base64_encode (const guint8 *data, size_t len, const char *newline, GByteArray *out)
{
	size_t nl = strlen (newline), lines = (len + BASE64_LINE_BYTES - 1) / BASE64_LINE_BYTES;
	size_t old = out->len, i = 0, extra = (len + 2) / 3 * 4 + lines * nl;
	guint8 *o;

	/* GLib aborts rather than let a GByteArray pass 4 GiB; so do we, before the cast below. */
	if (len > G_MAXUINT || extra > G_MAXUINT - old)
		g_error ("mimeutf8: base64 output of more than %u bytes", G_MAXUINT);
	g_byte_array_set_size (out, (guint) (old + extra));
	o = out->data + old;
	while (i < len) {
		size_t line_end = i + MIN (len - i, (size_t) BASE64_LINE_BYTES);

		for (; i + 3 <= line_end; i += 3) {
			guint32 v =
				(guint32) data[i] << 16 | (guint32) data[i + 1] << 8 | data[i + 2];

			*o++ = base64_alphabet[v >> 18];
			*o++ = base64_alphabet[(v >> 12) & 0x3F];
			*o++ = base64_alphabet[(v >> 6) & 0x3F];
			*o++ = base64_alphabet[v & 0x3F];
		}
		if (i < line_end) {
			/* Only the last line can end with 1 or 2 bytes: 57 is a multiple of 3. */
			guint32 v = (guint32) data[i] << 16;

			if (line_end - i == 2)
				v |= (guint32) data[i + 1] << 8;
			*o++ = base64_alphabet[v >> 18];
			*o++ = base64_alphabet[(v >> 12) & 0x3F];
			*o++ = line_end - i == 2 ? base64_alphabet[(v >> 6) & 0x3F] : '=';
			*o++ = '=';
			i = line_end;
		}
		memcpy (o, newline, nl);
		o += nl;
	}
	g_assert ((size_t) (o - out->data) == out->len);
}

/* A byte that quoted-printable text may carry as itself anywhere on a line. */
static inline gboolean
qp_literal (guint8 c)
{
	return (c >= 0x20 && c < 0x7F && c != '=') || c == '\t';
}

/* Length of the line break at `p`, 0 for none.  Only the message's own newline is a line break:
 * any other CR or LF in the text is encoded, so that the body decodes to exactly its bytes
 * (text with CR LF in an LF message decodes to CR LF, not LF). */
static inline size_t
line_break_len (const guint8 *p, const guint8 *end, const char *newline, size_t nl)
{
	if (*p != (guint8) newline[0])
		return 0;
	if (nl == 1)
		return 1;
	return end - p >= 2 && p[1] == (guint8) newline[1] ? 2 : 0;
}

/* Output goes through a small buffer: one append per few kilobytes instead of one per byte, and no
 * reservation for the 3-to-1 worst case. */
typedef struct {
	GByteArray *out;
	guint8 buf[4096];
	size_t n;
} QpWriter;

#define QP_EQUALS G_GUINT64_CONSTANT (0x3D3D3D3D3D3D3D3D)

/* Each hex digit's value plus one; 0 for every other byte. */
static const guint8 hex_values_plus1[256] = {
	['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
	['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12,
	['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16, ['a'] = 11, ['b'] = 12,
	['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16
};

size_t
_mimeutf8_qp_decode (const guint8 *p, size_t len, guint8 *out, gboolean *exact_out)
{
	const guint8 *end = p + len;
	guint8 *o = out;
	gboolean exact = TRUE;

	while (p < end) {
		guint8 hi, lo;

		if (*p != '=') {
			/* A run without '=' is itself: eight bytes at a time while a word holds
			 * none (v ^ "========" has a zero byte exactly where v has an '='). */
			while (end - p >= 8) {
				guint64 v, x;

				memcpy (&v, p, sizeof v);
				x = v ^ QP_EQUALS;
				if (((x - LOW_BITS) & ~x & HIGH_BITS) != 0)
					break;
				memcpy (o, &v, sizeof v);
				o += 8;
				p += 8;
			}
			while (p < end && *p != '=')
				*o++ = *p++;
			continue;
		}
		/* most escapes are whole: "=XX" with two hex digits */
		if (end - p >= 3) {
			hi = hex_values_plus1[p[1]];
			lo = hex_values_plus1[p[2]];
			if (hi != 0 && lo != 0) {
				*o++ = (guint8) ((hi - 1) << 4 | (lo - 1));
				p += 3;
				continue;
			}
		}
		p++;
		if (p == end)
			break; /* a soft break at the very end (GMime drops a last "=") */
		if (*p == '\n') {
			p++; /* a soft break */
			continue;
		}
		if (end - p < 2) {
			exact = FALSE;
			break; /* "=x" at the very end is dropped, as GMime drops it */
		}
		hi = hex_values_plus1[p[0]];
		lo = hex_values_plus1[p[1]];
		if (hi != 0 && lo != 0) {
			*o++ = (guint8) ((hi - 1) << 4 | (lo - 1));
		} else if (!(p[0] == '\r' && p[1] == '\n')) {
			/* not an escape: kept as it is */
			exact = FALSE;
			*o++ = '=';
			*o++ = p[0];
			*o++ = p[1];
		}
		p += 2;
	}
	if (exact_out != NULL)
		*exact_out = exact;
	return (size_t) (o - out);
}

/* The start of the first line break at or after `p`, or `end`. */
static const guint8 *
next_break (const guint8 *p, const guint8 *end, const char *newline, size_t nl)
{
	while (p < end) {
		const guint8 *c = memchr (p, (guint8) newline[0], (size_t) (end - p));

		if (c == NULL)
			return end;
		if (line_break_len (c, end, newline, nl) > 0)
			return c;
		p = c + 1;
	}
	return end;
}

/* Room for the most one byte of input can write: a soft break, then "=XX". */
#define QP_MOST_PER_BYTE 6

static inline void
qp_room (QpWriter *w)
{
	if (w->n + QP_MOST_PER_BYTE > sizeof w->buf) {
		g_byte_array_append (w->out, w->buf, (guint) w->n);
		w->n = 0;
	}
}

/* The message's newline. */
static inline void
qp_newline (QpWriter *w, const char *newline, size_t nl)
{
	w->buf[w->n++] = (guint8) newline[0];
	if (nl == 2)
		w->buf[w->n++] = (guint8) newline[1];
}

void
_mimeutf8_qp_encode (const guint8 *data, size_t len, const char *newline, GByteArray *out)
{
	const guint8 *p = data, *end = data + len;
	size_t nl = strlen (newline);
	QpWriter w;

	g_return_if_fail (nl >= 1 && nl <= 2);
	w.out = out;
	w.n = 0;
	/* A line at a time: only its last byte can be a blank to encode or take the 76th column. */
	while (p < end) {
		const guint8 *line_end = next_break (p, end, newline, nl);
		size_t col = 0;

		for (; p < line_end; p++) {
			gboolean last_on_line = p + 1 == line_end;
			guint8 c = *p;
			/* Transports strip blanks at the end of a line, so those are encoded. */
			gboolean literal = qp_literal (c) && !(last_on_line && (c == ' ' || c == '\t'));
			size_t width = literal ? 1 : 3;

			qp_room (&w);
			/* A soft break takes one column for its '='; the last token of a line does
			 * not need one, and an =XX is never split. */
			if (col + width > (last_on_line ? LINE_MAX_CHARS : LINE_MAX_CHARS - 1)) {
				w.buf[w.n++] = '=';
				qp_newline (&w, newline, nl);
				col = 0;
			}
			if (literal) {
				w.buf[w.n++] = c;
			} else {
				w.buf[w.n++] = '=';
				w.buf[w.n++] = (guint8) hex_upper[c >> 4];
				w.buf[w.n++] = (guint8) hex_upper[c & 0x0F];
			}
			col += width;
		}
		if (p < end) {
			qp_room (&w);
			qp_newline (&w, newline, nl);
			p += nl;
		}
	}
	g_byte_array_append (out, w.buf, (guint) w.n);
}

size_t
_mimeutf8_longest_line (const guint8 *data, size_t len)
{
	const guint8 *p = data, *end = data + len;
	size_t longest = 0;

	while (p < end) {
		const guint8 *lf = memchr (p, '\n', (size_t) (end - p));
		const guint8 *line_end = lf != NULL ? lf : end;
		size_t n = (size_t) (line_end - p);

		if (lf != NULL && n > 0 && line_end[-1] == '\r')
			n--;
		longest = MAX (longest, n);
		if (lf == NULL)
			break;
		p = lf + 1;
	}
	return longest;
}

/* Each base64 alphabet character's value plus one; 0 for every other byte. */
static const guint8 base64_values_plus1[256] = {
	['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,
	['H'] = 8,  ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
	['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
	['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28,
	['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35,
	['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49,
	['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
	['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63,
	['/'] = 64
};

int
_mimeutf8_base64_value (guint8 c)
{
	return (int) base64_values_plus1[c] - 1;
}

gboolean
_mimeutf8_base64_decode (const guint8 *p, size_t n, GByteArray *out)
{
	guint32 acc = 0;
	size_t i, bits = 0, data = n, start = out != NULL ? out->len : 0, written = 0;

	while (data > 0 && p[data - 1] == '=')
		data--;
	if (n - data > 2 || data % 4 == 1)
		return FALSE;
	/* room for every byte at once (6 bits a character, whole bytes): one append per byte
	 * cost a call each */
	if (out != NULL)
		g_byte_array_set_size (out, (guint) (start + data / 4 * 3 + (data % 4) * 3 / 4));
	/* Four characters are three bytes: whole groups first, while all four are alphabet
	 * characters (an invalid one gives (guint32) -1, which has bits above the six) */
	for (i = 0; i + 4 <= data; i += 4) {
		guint32 a = (guint32) base64_values_plus1[p[i]] - 1,
			b = (guint32) base64_values_plus1[p[i + 1]] - 1,
			c = (guint32) base64_values_plus1[p[i + 2]] - 1,
			d = (guint32) base64_values_plus1[p[i + 3]] - 1, v;

		if (((a | b | c | d) & ~(guint32) 0x3F) != 0)
			break;
		v = a << 18 | b << 12 | c << 6 | d;
		if (out != NULL) {
			guint8 *o = out->data + start + written;

			o[0] = (guint8) (v >> 16);
			o[1] = (guint8) (v >> 8);
			o[2] = (guint8) v;
		}
		written += 3;
	}
	/* the rest, and a group with a bad character, one character at a time (a group ends on a
	 * byte boundary: nothing is carried over) */
	for (; i < data; i++) {
		guint8 v = base64_values_plus1[p[i]];

		if (v == 0) {
			/* what was decoded before the bad character stays, as it always has */
			if (out != NULL)
				g_byte_array_set_size (out, (guint) (start + written));
			return FALSE;
		}
		acc = (acc << 6) | (guint32) (v - 1);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (out != NULL)
				out->data[start + written] = (guint8) (acc >> bits);
			written++;
		}
	}
	return TRUE;
}

/* TRUE when a line of a base64 body (without its line break and trailing blanks) is base64:
 * alphabet characters, then at most two '=' (`*pad_out` of them). */
static gboolean
base64_line (const guint8 *line, size_t len, size_t *pad_out)
{
	size_t i = 0, pad = 0;

	while (i < len && base64_values_plus1[line[i]] != 0)
		i++;
	while (i + pad < len && line[i + pad] == '=')
		pad++;
	*pad_out = pad;
	return len > 0 && i + pad == len && pad <= 2;
}

size_t
_mimeutf8_base64_decode_body (const guint8 *data, size_t len, GByteArray *out, gboolean *clean_out,
			      const char **why)
{
	g_autoptr (GByteArray) run = g_byte_array_new ();
	size_t pos = 0, trailer = len, gap = len, run_at_gap = 0;
	gboolean started = FALSE, padded = FALSE;

	while (pos < len) {
		const guint8 *nl = memchr (data + pos, '\n', len - pos);
		size_t next = nl ? (size_t) (nl - data) + 1 : len, end = next, pad;

		while (end > pos && (data[end - 1] == '\n' || data[end - 1] == '\r' ||
				     data[end - 1] == ' ' || data[end - 1] == '\t'))
			end--;
		if (end == pos) {
			/* a blank line: the run may go on after it, or a trailer start */
			if (started && gap == len) {
				gap = pos;
				run_at_gap = run->len;
			}
			pos = next;
			continue;
		}
		if (!base64_line (data + pos, end - pos, &pad) || padded) {
			if (!started) {
				*why = "not base64: plain text under a base64 label";
				return (size_t) -1;
			}
			/* the text after the run starts here, or at the first blank line in the
			 * run: "Thanks" after one is a word, not base64 */
			trailer = gap < pos ? gap : pos;
			if (gap < pos)
				g_byte_array_set_size (run, (guint) run_at_gap);
			break;
		}
		started = TRUE;
		g_byte_array_append (run, data + pos, (guint) (end - pos));
		padded = pad > 0;
		pos = next;
	}
	/* a last group of 2 or 3 characters holds 1 or 2 bytes, with or without its padding; a
	 * single character holds none, and is no base64 */
	if (!_mimeutf8_base64_decode (run->data, run->len, out)) {
		*why = "not base64: a run of 4n+1 characters";
		return (size_t) -1;
	}
	*clean_out = trailer == len && run->len % 4 == 0;
	return trailer;
}
