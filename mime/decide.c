/* decide.c: which charset a text part's bytes are really in, from the evidence in order: byte-order
 * mark, ASCII, valid UTF-8, the label, then the HTML <meta>, the message's other labels, detection
 * and the fallback. */
#include <dlfcn.h>
#include <string.h>
#include <uchardet.h>

#include "mimeutf8-private.h"

/* Detection looks at this much of a part: enough for its statistics, bounded for huge parts. */
#define DETECT_SAMPLE (64 * 1024)
/* A detector's answer is trusted only with at least this many bytes >= 0x80 behind it, and below
 * DETECT_SURE_HIGH_BYTES only when it reads them as Latin letters: a line of Turkish, Polish or
 * Lithuanian has a few such bytes, and uchardet places most of them (measured on short texts in
 * 12 languages: 86% exact with 8, 99% with 2); a few bytes are too little to turn text into
 * another script. */
#define DETECT_MIN_HIGH_BYTES 2
#define DETECT_SURE_HIGH_BYTES 8
/* Browsers look for <meta charset> only in the first 1024 bytes (HTML prescan). */
#define META_PRESCAN 1024

/* TRUE when the bytes decode in `charset` without a single replacement. */
static gboolean
decodes_cleanly (const _MimeUtf8Charset *charset, const guint8 *data, size_t len)
{
	g_autoptr (MimeUtf8Translator) translator = _mimeutf8_translator_new_for (charset);
	g_autoptr (GByteArray) scratch = g_byte_array_sized_new (len + len / 2 + 16);
	MimeUtf8ConvertStats stats;

	mimeutf8_translator_convert (translator, data, len, scratch);
	mimeutf8_translator_end (translator, scratch);
	mimeutf8_translator_get_stats (translator, &stats);
	return stats.replacements == 0;
}

static int
ascii_ncasecmp (const guint8 *a, const char *b, size_t n)
{
	return g_ascii_strncasecmp ((const char *) a, b, n);
}

gboolean
_mimeutf8_html_meta_charset (const guint8 *data, size_t len, size_t *start_out, size_t *end_out)
{
	size_t limit = MIN (len, META_PRESCAN), i;

	for (i = 0; i + 5 < limit; i++) {
		size_t j, tag_end;

		if (data[i] != '<' || ascii_ncasecmp (data + i + 1, "meta", 4) != 0)
			continue;
		for (tag_end = i + 5; tag_end < len && data[tag_end] != '>'; tag_end++)
			;
		for (j = i + 5; j + 7 <= tag_end; j++) {
			size_t k;

			if (ascii_ncasecmp (data + j, "charset", 7) != 0)
				continue;
			k = j + 7;
			while (k < tag_end && (data[k] == ' ' || data[k] == '\t'))
				k++;
			if (k >= tag_end || data[k] != '=')
				continue;
			k++;
			while (k < tag_end && (data[k] == ' ' || data[k] == '\t' ||
					       data[k] == '"' || data[k] == '\''))
				k++;
			*start_out = k;
			while (k < tag_end &&
			       (g_ascii_isalnum (data[k]) || strchr ("_.:-", data[k])))
				k++;
			*end_out = k;
			if (*end_out > *start_out)
				return TRUE;
		}
		i = tag_end;
	}
	return FALSE;
}

/* ISO-2022-JP announces itself with escape sequences in otherwise 7-bit text. */
static gboolean
looks_like_iso2022jp (const guint8 *data, size_t len)
{
	const guint8 *p = data, *end = data + len;

	while ((p = memchr (p, 0x1b, end - p)) != NULL && end - p >= 3) {
		if ((p[1] == '$' && (p[2] == 'B' || p[2] == '@')) || (p[1] == '(' && p[2] == 'J'))
			return TRUE;
		p++;
	}
	return FALSE;
}

/* uchardet, loaded on first use: most messages never need it, and a process that links it pays
 * for loading its C++ runtime at start-up (a third of the instructions of a short mimeutf8 run,
 * measured with callgrind).  The soname has been libuchardet.so.0 since uchardet 0.0.1. */
static struct {
	void *handle;
	uchardet_t (*new_) (void);
	void (*delete_) (uchardet_t);
	void (*reset) (uchardet_t);
	int (*handle_data) (uchardet_t, const char *, size_t);
	void (*data_end) (uchardet_t);
	const char *(*get_charset) (uchardet_t);
} uchardet;

static gboolean
load_uchardet (void)
{
	void *handle = dlopen ("libuchardet.so.0", RTLD_NOW | RTLD_LOCAL);

	if (handle == NULL) {
		g_warning ("mimeutf8: charset detection is off: %s", dlerror ());
		return FALSE;
	}
	uchardet.new_ = (uchardet_t (*) (void)) dlsym (handle, "uchardet_new");
	uchardet.delete_ = (void (*) (uchardet_t)) dlsym (handle, "uchardet_delete");
	uchardet.reset = (void (*) (uchardet_t)) dlsym (handle, "uchardet_reset");
	uchardet.handle_data =
		(int (*) (uchardet_t, const char *, size_t)) dlsym (handle, "uchardet_handle_data");
	uchardet.data_end = (void (*) (uchardet_t)) dlsym (handle, "uchardet_data_end");
	uchardet.get_charset =
		(const char *(*) (uchardet_t)) dlsym (handle, "uchardet_get_charset");
	if (uchardet.new_ == NULL || uchardet.delete_ == NULL || uchardet.reset == NULL ||
	    uchardet.handle_data == NULL || uchardet.data_end == NULL ||
	    uchardet.get_charset == NULL) {
		g_warning ("mimeutf8: charset detection is off: libuchardet.so.0 lacks a function");
		dlclose (handle);
		return FALSE;
	}
	uchardet.handle = handle; /* kept for the life of the process */
	return TRUE;
}

/* TRUE once uchardet is loaded (the first call loads it).  The answer is published with an
 * atomic store made here, after the table is filled, and read with an atomic load: g_once's
 * own synchronization happens inside GLib, which ThreadSanitizer does not see, so the table's
 * readers would look racy to it. */
static gboolean
uchardet_ready (void)
{
	static gint state; /* 0: not tried yet, 1: not loaded, 2: loaded */
	static gsize once;

	if (g_atomic_int_get (&state) == 0 && g_once_init_enter (&once)) {
		g_atomic_int_set (&state, load_uchardet () ? 2 : 1);
		g_once_init_leave (&once, 1);
	}
	return g_atomic_int_get (&state) == 2;
}

static void
detector_free (gpointer detector)
{
	uchardet.delete_ (detector);
}

static GPrivate detector_key = G_PRIVATE_INIT (detector_free);

/* uchardet's answer for a bounded sample, or "" when it has none (or cannot be loaded). */
static void
detect (const guint8 *data, size_t len, char *answer, size_t answer_size)
{
	uchardet_t detector;
	const char *name;

	answer[0] = '\0';
	if (!uchardet_ready ())
		return;
	detector = g_private_get (&detector_key);
	if (detector == NULL) {
		detector = uchardet.new_ ();
		g_private_set (&detector_key, detector);
	}
	uchardet.reset (detector);
	uchardet.handle_data (detector, (const char *) data, MIN (len, DETECT_SAMPLE));
	uchardet.data_end (detector);
	name = uchardet.get_charset (detector);
	g_strlcpy (answer, name != NULL ? name : "", answer_size);
}

/* An ISO-8859-x charset and the Windows code page that extends it. */
static const struct {
	const char *iso, *windows;
} latin_pairs[] = {
	{ "iso-8859-2", "windows-1250" },
	{ "iso-8859-7", "windows-1253" },
	{ "iso-8859-13", "windows-1257" },
};

/* The character byte `c` is in a single-byte charset. */
static gunichar
byte_char (MimeUtf8Translator *translator, guint8 c)
{
	g_autoptr (GByteArray) utf8 = g_byte_array_new ();

	mimeutf8_translator_convert (translator, &c, 1, utf8);
	g_byte_array_append (utf8, (const guint8 *) "", 1);
	return g_utf8_get_char ((const char *) utf8->data);
}

/* TRUE when the bytes >= 0x80 that occur hold letters, all of them Latin ones, in `charset`:
 * signs alone ("Intel®") tell a detector nothing. */
static gboolean
latin_letters (const _MimeUtf8Charset *charset, const size_t count[256])
{
	g_autoptr (MimeUtf8Translator) translator = _mimeutf8_translator_new_for (charset);
	gboolean letters = FALSE;
	unsigned int c;

	for (c = 0x80; c < 0x100; c++) {
		gunichar u;

		if (count[c] == 0)
			continue;
		u = byte_char (translator, (guint8) c);
		if (!g_unichar_isalpha (u))
			continue;
		if (g_unichar_get_script (u) != G_UNICODE_SCRIPT_LATIN)
			return FALSE;
		letters = TRUE;
	}
	return letters;
}

/* Bytes >= 0xA0 that are a letter in `a` and not in `b`. */
static size_t
letters_only_in (const _MimeUtf8Charset *a, const _MimeUtf8Charset *b, const size_t count[256])
{
	g_autoptr (MimeUtf8Translator) ta = _mimeutf8_translator_new_for (a);
	g_autoptr (MimeUtf8Translator) tb = _mimeutf8_translator_new_for (b);
	size_t n = 0;
	unsigned int c;

	for (c = 0xA0; c < 0x100; c++) {
		if (count[c] > 0 && g_unichar_isalpha (byte_char (ta, (guint8) c)) &&
		    !g_unichar_isalpha (byte_char (tb, (guint8) c)))
			n += count[c];
	}
	return n;
}

/* uchardet tells an ISO-8859-x charset from its Windows code page, and ISO-8859-1 from
 * ISO-8859-15, poorly.  The bytes decide better: 0x80-0x9F are C1 controls in ISO-8859-x, never
 * text, but letters and punctuation in the Windows code pages; where the two differ above 0xA0,
 * text uses the one whose letters are there (ISO-8859-2's ą ś ź at 0xB1 0xB6 0xBC are ± ¶ Ľ in
 * windows-1250); and text in ISO-8859-15 uses its letters at 0xA4 0xA6 0xA8 0xBC 0xBD 0xBE
 * (€ Š š Œ œ Ÿ), where ISO-8859-1 has rare signs (¤ ¦ ¨ ¼ ½ ¾). */
static const _MimeUtf8Charset *
refine_latin (const _MimeUtf8Charset *detected, const size_t count[256])
{
	size_t c1 = 0, latin9, i;

	for (i = 0x80; i < 0xA0; i++)
		c1 += count[i];
	for (i = 0; i < G_N_ELEMENTS (latin_pairs); i++) {
		const _MimeUtf8Charset *iso = _mimeutf8_charset_by_name (latin_pairs[i].iso);
		const _MimeUtf8Charset *windows =
			_mimeutf8_charset_by_name (latin_pairs[i].windows);

		if (detected == iso && c1 > 0)
			return windows;
		if (detected == windows && c1 == 0 &&
		    letters_only_in (iso, windows, count) > letters_only_in (windows, iso, count))
			return iso;
	}
	if (strcmp (detected->name, "windows-1252") != 0)
		return detected;
	latin9 = count[0xA4] + count[0xA6] + count[0xA8] + count[0xBC] + count[0xBD] + count[0xBE];
	return c1 == 0 && latin9 > 0 ? _mimeutf8_charset_by_name ("iso-8859-15") : detected;
}

static void
decided (_MimeUtf8Decision *decision, const _MimeUtf8Charset *charset, MimeUtf8Rule rule)
{
	decision->charset = charset;
	decision->rule = rule;
}

/* Step 5: no usable label.  Evidence the part or its message gives, then the detector, then the
 * fallback. */
static void
decide_unlabelled (const MimeUtf8Options *options, const guint8 *data, size_t len,
		   const _MimeUtf8Evidence *evidence, _MimeUtf8Decision *decision)
{
	const _MimeUtf8Charset *detected = NULL, *meta = NULL;
	gboolean detected_clean = FALSE;
	size_t sample = MIN (len, DETECT_SAMPLE), high = 0, count[256] = { 0 }, i;
	size_t meta_start, meta_end;

	for (i = 0; i < sample; i++)
		count[data[i]]++;
	for (i = 0x80; i < 0x100; i++)
		high += count[i];

	if (evidence->html && _mimeutf8_html_meta_charset (data, len, &meta_start, &meta_end)) {
		meta = _mimeutf8_charset_lookup ((const char *) data + meta_start,
						 meta_end - meta_start);
		if (meta != NULL && (meta->flags & _MIMEUTF8_CS_NOT_ASCII))
			meta = NULL;
		if (meta != NULL && decodes_cleanly (meta, data, len)) {
			decided (decision, meta, MIMEUTF8_RULE_META);
			return;
		}
	}

	detect (data, len, decision->detected, sizeof decision->detected);
	if (decision->detected[0] != '\0')
		detected =
			_mimeutf8_charset_lookup (decision->detected, strlen (decision->detected));
	if (detected != NULL)
		detected = refine_latin (detected, count);
	if (detected != NULL && high >= DETECT_MIN_HIGH_BYTES &&
	    (high >= DETECT_SURE_HIGH_BYTES ||
	     ((detected->flags & _MIMEUTF8_CS_SINGLE_BYTE) && latin_letters (detected, count))))
		detected_clean = decodes_cleanly (detected, data, len);

	/* A multi-byte charset that decodes a long stretch cleanly is hard to get by chance. */
	if (detected_clean && !(detected->flags & _MIMEUTF8_CS_SINGLE_BYTE)) {
		decided (decision, detected, MIMEUTF8_RULE_DETECTED);
		return;
	}
	/* The part's own two pieces of evidence agree: that beats the message's other labels and
	 * the fallback, even with a few bytes that do not decode (Big5 text with a code its
	 * writer's table had). */
	if (meta != NULL && meta == detected) {
		decided (decision, meta, MIMEUTF8_RULE_META);
		return;
	}
	for (i = 0; i < evidence->n_message_charsets; i++) {
		const _MimeUtf8Charset *candidate = evidence->message_charsets[i];

		if (candidate == detected && detected_clean) {
			decided (decision, detected, MIMEUTF8_RULE_DETECTED);
			return;
		}
	}
	for (i = 0; i < evidence->n_message_charsets; i++) {
		const _MimeUtf8Charset *candidate = evidence->message_charsets[i];

		if (candidate != _mimeutf8_cs_utf8 &&
		    !(candidate->flags & _MIMEUTF8_CS_NOT_ASCII) &&
		    decodes_cleanly (candidate, data, len)) {
			decided (decision, candidate, MIMEUTF8_RULE_MESSAGE);
			return;
		}
	}
	if (detected_clean) {
		decided (decision, detected, MIMEUTF8_RULE_DETECTED);
		return;
	}
	decided (decision, _mimeutf8_fallback (options), MIMEUTF8_RULE_FALLBACK);
}

static size_t
bom_length (const guint8 *data, size_t len, const _MimeUtf8Charset **charset_out)
{
	if (len >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF) {
		*charset_out = _mimeutf8_cs_utf8;
		return 3;
	}
	if (len >= 2 && data[0] == 0xFF && data[1] == 0xFE) {
		*charset_out = _mimeutf8_charset_by_name ("utf-16le");
		return 2;
	}
	if (len >= 2 && data[0] == 0xFE && data[1] == 0xFF) {
		*charset_out = _mimeutf8_charset_by_name ("utf-16be");
		return 2;
	}
	return 0;
}

static void
decide_strict (const guint8 *data, size_t len, const _MimeUtf8Charset *label,
	       _MimeUtf8Decision *decision)
{
	gboolean ascii = _mimeutf8_ascii_prefix (data, len) == len;

	if (label == NULL && ascii) {
		decided (decision, _mimeutf8_cs_utf8, MIMEUTF8_RULE_ASCII);
		return;
	}
	if (label == NULL) {
		decision->leave_alone = TRUE;
		decision->reason = "strict: 8-bit text without a known charset label";
		return;
	}
	decided (decision, label, MIMEUTF8_RULE_LABEL);
	if (!decodes_cleanly (label, data, len)) {
		decision->leave_alone = TRUE;
		decision->reason = "strict: bytes invalid in the declared charset";
	}
}

/* The run of NUL bytes that ends a body, before its last line break if any (997 of them after
 * </html> in a real message), is padding that a writer left, not text: converted, it would be a
 * row of U+FFFD.  In UTF-16 (a label that says so, or its byte-order mark) only whole code units
 * of zero at the very end are padding. */
static void
nul_padding (const guint8 *data, size_t len, const _MimeUtf8Charset *label,
	     _MimeUtf8Decision *decision)
{
	size_t end = len, start;

	if ((label != NULL && (label->flags & _MIMEUTF8_CS_NOT_ASCII)) ||
	    (len >= 2 &&
	     ((data[0] == 0xFF && data[1] == 0xFE) || (data[0] == 0xFE && data[1] == 0xFF)))) {
		for (start = len; start >= 2 && data[start - 1] == 0 && data[start - 2] == 0;)
			start -= 2;
	} else {
		while (end > 0 && (data[end - 1] == '\n' || data[end - 1] == '\r'))
			end--;
		for (start = end; start > 0 && data[start - 1] == 0;)
			start--;
		if (start == end)
			start = end = len;
	}
	decision->pad_start = start;
	decision->pad_len = end - start;
}

void
_mimeutf8_decision_convert (const _MimeUtf8Decision *decision, MimeUtf8Translator *translator,
			    const guint8 *data, size_t len, GByteArray *out)
{
	size_t tail = decision->pad_start + decision->pad_len;

	mimeutf8_translator_convert (translator, data + decision->skip,
				     decision->pad_start - decision->skip, out);
	if (tail < len)
		mimeutf8_translator_convert (translator, data + tail, len - tail, out);
}

void
_mimeutf8_decide (const MimeUtf8Options *options, const guint8 *data, size_t len,
		  const _MimeUtf8Evidence *evidence, _MimeUtf8Decision *decision)
{
	const _MimeUtf8Charset *label = NULL, *bom = NULL;
	MimeUtf8Policy policy = options != NULL ? options->policy : MIMEUTF8_POLICY_LENIENT;
	_MimeUtf8Scan scan;
	size_t skip;

	memset (decision, 0, sizeof *decision);
	if (evidence->label != NULL)
		label = _mimeutf8_charset_lookup (evidence->label, strlen (evidence->label));
	/* Every rule below looks at the text without its padding (and the line breaks after it). */
	nul_padding (data, len, label, decision);
	len = decision->pad_start;

	if (policy == MIMEUTF8_POLICY_STRICT) {
		decide_strict (data, len, label, decision);
		return;
	}

	/* 1. A byte-order mark wins; under the declared policy only one that agrees with the label. */
	skip = bom_length (data, len, &bom);
	if (skip > 0 && (policy == MIMEUTF8_POLICY_LENIENT || bom == label ||
			 (label != NULL && (label->flags & bom->flags & _MIMEUTF8_CS_NOT_ASCII)))) {
		decision->skip = skip;
		decided (decision, bom, MIMEUTF8_RULE_BOM);
		return;
	}

	if (policy == MIMEUTF8_POLICY_DECLARED) {
		if (label != NULL)
			decided (decision, label, MIMEUTF8_RULE_LABEL);
		else if (_mimeutf8_ascii_prefix (data, len) == len)
			decided (decision, _mimeutf8_cs_utf8, MIMEUTF8_RULE_ASCII);
		else
			decided (decision, _mimeutf8_fallback (options), MIMEUTF8_RULE_FALLBACK);
		return;
	}

	/* 2. Pure ASCII needs nothing, unless the label is a 7-bit encoding that gives ASCII bytes
	 * another meaning. */
	if (_mimeutf8_ascii_prefix (data, len) == len) {
		if (label != NULL &&
		    (label->flags & (_MIMEUTF8_CS_STATEFUL_7BIT | _MIMEUTF8_CS_NOT_ASCII)))
			decided (decision, label, MIMEUTF8_RULE_LABEL);
		else if (label == NULL && looks_like_iso2022jp (data, len) &&
			 decodes_cleanly (_mimeutf8_charset_by_name ("iso-2022-jp"), data, len)) {
			g_strlcpy (decision->detected, "ISO-2022-JP", sizeof decision->detected);
			decided (decision, _mimeutf8_charset_by_name ("iso-2022-jp"),
				 MIMEUTF8_RULE_DETECTED);
		} else
			decided (decision, _mimeutf8_cs_utf8, MIMEUTF8_RULE_ASCII);
		return;
	}

	/* A 7-bit encoding (ISO-2022-x, UTF-7) never has a byte above 0x7F: over such bytes its
	 * label is evidence of nothing (UTF-8 or EUC-JP sent under an ISO-2022-JP label), and
	 * the part goes down the evidence order as an unlabelled one. */
	if (label != NULL && (label->flags & _MIMEUTF8_CS_STATEFUL_7BIT))
		label = NULL;

	/* 3. Valid UTF-8 with non-ASCII beats a legacy single-byte label or none: legacy text is
	 * almost never valid UTF-8 by chance.  So does UTF-8 with a few stray bytes, which become
	 * U+FFFD. */
	_mimeutf8_utf8_scan (data, len, &scan);
	if ((scan.invalid == 0 || _mimeutf8_utf8_mostly (&scan)) && scan.multibyte > 0 &&
	    (label == NULL || label == _mimeutf8_cs_utf8 ||
	     (label->flags & _MIMEUTF8_CS_SINGLE_BYTE))) {
		decided (decision, _mimeutf8_cs_utf8,
			 label == _mimeutf8_cs_utf8 ? MIMEUTF8_RULE_LABEL : MIMEUTF8_RULE_UTF8);
		return;
	}

	/* 4. The label, except a UTF-8 label on bytes that are mostly not UTF-8. */
	if (label != NULL && (label != _mimeutf8_cs_utf8 || scan.invalid <= scan.multibyte)) {
		decided (decision, label, MIMEUTF8_RULE_LABEL);
		return;
	}

	/* 5. */
	decide_unlabelled (options, data, len, evidence, decision);
}

MimeUtf8ConvertStatus
mimeutf8_convert_text (const MimeUtf8Options *options, const char *label, const void *data,
		       size_t len, GByteArray *out, MimeUtf8ConvertStats *stats_out,
		       const char **charset_out, GError **error)
{
	MimeUtf8Options defaults;
	_MimeUtf8Evidence evidence = { label, FALSE, NULL, 0 };
	_MimeUtf8Decision decision;
	g_autoptr (MimeUtf8Translator) translator = NULL;
	MimeUtf8ConvertStats stats;

	mimeutf8_init ();
	options = _mimeutf8_options_check (options, &defaults, error);
	if (options == NULL)
		return MIMEUTF8_CONVERT_ERROR;
	if (label != NULL && _mimeutf8_charset_lookup (label, strlen (label)) == NULL &&
	    options->policy != MIMEUTF8_POLICY_LENIENT) {
		g_set_error (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_UNKNOWN_CHARSET,
			     "unknown charset label \"%s\"", label);
		return MIMEUTF8_CONVERT_ERROR;
	}
	_mimeutf8_decide (options, data, len, &evidence, &decision);
	if (decision.leave_alone) {
		g_set_error (error, MIMEUTF8_ERROR, MIMEUTF8_ERROR_INVALID_INPUT, "%s",
			     decision.reason);
		return MIMEUTF8_CONVERT_ERROR;
	}
	translator = _mimeutf8_translator_new_for (decision.charset);
	_mimeutf8_decision_convert (&decision, translator, data, len, out);
	mimeutf8_translator_end (translator, out);
	mimeutf8_translator_get_stats (translator, &stats);
	if (charset_out != NULL)
		*charset_out = decision.charset->name;
	if (stats_out != NULL)
		*stats_out = stats;
	return stats.replacements > 0 ? MIMEUTF8_CONVERT_REPLACED : MIMEUTF8_CONVERT_OK;
}
