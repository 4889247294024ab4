/* utf7.c: reading one base64 run of UTF-7 (RFC 2152), strictly, so that base64 that is not UTF-7
 * (a PGP signature, "C++") is told apart; the translator decides what to do with the rest. */
#include "mimeutf8-private.h"

/* What a UTF-7 encoder writes in base64: not C0 or C1 controls (but tab, line ends and NUL, which
 * the caller replaces), not private-use characters, not unassigned code points or noncharacters.  Base64 that is not UTF-7
 * (a PGP signature, "C++") decodes to such code points often. */
static gboolean
utf7_plausible (gunichar c)
{
	if (c < 0x20)
		return c == 0 || c == '\t' || c == '\n' || c == '\r';
	return !(c >= 0x7F && c <= 0x9F) && !(c >= 0xE000 && c <= 0xF8FF) &&
	       g_unichar_type (c) != G_UNICODE_UNASSIGNED;
}

/* Decodes the base64 run [p, end) after a '+' into `chars` (room for end - p): TRUE when it is
 * well-formed UTF-7 (RFC 2152): whole UTF-16 units, fewer than 6 bits left over and those zero,
 * surrogates in pairs, and only characters an encoder writes. */
static gboolean
utf7_run (const guint8 *p, const guint8 *end, gunichar *chars, size_t *n_out)
{
	guint32 bits = 0, high = 0;
	unsigned int nbits = 0;
	size_t n = 0;

	for (; p < end; p++) {
		guint32 unit;
		gunichar c;

		bits = (bits << 6) | (guint32) _mimeutf8_base64_value (*p);
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		unit = (bits >> nbits) & 0xFFFF;
		bits &= (1u << nbits) - 1;
		if (unit >= 0xD800 && unit <= 0xDBFF) {
			if (high != 0)
				return FALSE;
			high = unit;
			continue;
		}
		if (unit >= 0xDC00 && unit <= 0xDFFF) {
			if (high == 0)
				return FALSE;
			c = 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00);
			high = 0;
		} else {
			if (high != 0)
				return FALSE;
			c = unit;
		}
		if (!utf7_plausible (c))
			return FALSE;
		chars[n++] = c;
	}
	*n_out = n;
	return n > 0 && high == 0 && nbits < 6 && bits == 0;
}

/* The run of base64 characters after the '+' at `p`, and whether it is well-formed UTF-7 (an empty
 * run only before '-': "+-" is '+'). */
gboolean
_mimeutf8_utf7_at (const guint8 *p, const guint8 *end, const guint8 **run_end_out, gunichar *chars,
		   size_t *n_out)
{
	const guint8 *run = p + 1, *run_end = run;

	while (run_end < end && _mimeutf8_base64_value (*run_end) >= 0)
		run_end++;
	*run_end_out = run_end;
	*n_out = 0;
	if (run_end == run)
		return run_end < end && *run_end == '-';
	return utf7_run (run, run_end, chars, n_out);
}
