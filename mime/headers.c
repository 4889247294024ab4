/* headers.c: the policy of which header gets what: each header's kind by its name (text,
 * address list, parameters, identifiers never touched), the header mode, the limits, and the
 * entry point that rewrites one header value to UTF-8 (rfc2047.c, rfc2231.c and addresses.c do
 * the decoding and encoding). */
#include <string.h>

#include "header-text.h"

#define DEFAULT_MAX_ENCODED_WORDS 1000
#define DEFAULT_MAX_PARAMS 128

typedef enum {
	KIND_NONE,
	KIND_UNSTRUCTURED,
	KIND_ADDRESSES,
	KIND_PARAMS,
} HeaderKind;

static const char *const rule_names[] = {
	NULL, "8bit-fallback", "8bit-message", "8bit-utf8", "rfc2047", "rfc2231",
};

static const char *const unstructured_names[] = {
	"subject", "comments", "keywords", "content-description", "thread-topic", "organization",
};

static const char *const address_names[] = {
	"from",
	"to",
	"cc",
	"bcc",
	"reply-to",
	"sender",
	"resent-from",
	"resent-to",
	"resent-cc",
	"resent-bcc",
	"resent-sender",
	"disposition-notification-to",
};

/* X- headers named like these carry addresses, identifiers, trace or signatures, not text. */
static const char *const x_structured_suffixes[] = {
	"-to",        "-cc",         "-bcc",      "-from",       "-sender",
	"-for",       "-path",       "-id",       "-signature",  "-results",
	"-recipient", "-recipients", "-received", "-references", "-reply-to",
};

static gboolean
name_in (const char *name, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (g_ascii_strcasecmp (name, list[i]) == 0)
			return TRUE;
	return FALSE;
}

static gboolean
ends_with_ci (const char *s, size_t n, const char *suffix)
{
	size_t k = strlen (suffix);

	return n >= k && g_ascii_strcasecmp (s + n - k, suffix) == 0;
}

static HeaderKind
header_kind (const char *name)
{
	size_t n = strlen (name), i;

	if (name_in (name, unstructured_names, G_N_ELEMENTS (unstructured_names)))
		return KIND_UNSTRUCTURED;
	if (name_in (name, address_names, G_N_ELEMENTS (address_names)))
		return KIND_ADDRESSES;
	if (g_ascii_strcasecmp (name, "content-type") == 0 ||
	    g_ascii_strcasecmp (name, "content-disposition") == 0)
		return KIND_PARAMS;
	if (n > 2 && g_ascii_strncasecmp (name, "x-", 2) == 0) {
		g_autofree char *lower = g_ascii_strdown (name, (gssize) n);

		for (i = 0; i < G_N_ELEMENTS (x_structured_suffixes); i++)
			if (ends_with_ci (name, n, x_structured_suffixes[i]))
				return KIND_NONE;
		if (strstr (lower, "dkim") != NULL || strstr (lower, "arc-") != NULL ||
		    strstr (lower, "received") != NULL)
			return KIND_NONE;
		return KIND_UNSTRUCTURED;
	}
	return KIND_NONE;
}

/* Raw 8-bit bytes that are not UTF-8 make a structured header (Received, Date, Message-ID...)
 * invalid already; read as text and rewritten, it at least becomes UTF-8 (7-bit under
 * MIMEUTF8_HEADERS_ENCODED).  Valid UTF-8 stays: it may be an RFC 6531 address, and RFC 6532
 * allows it. */
static gboolean
raw_8bit_text (const guint8 *p, size_t n)
{
	_MimeUtf8Scan scan;

	if (_mimeutf8_ascii_prefix (p, n) == n)
		return FALSE;
	_mimeutf8_utf8_scan (p, n, &scan);
	return scan.invalid > 0;
}

/* Headers that a signature covers or that carry one, and Return-Path (an addr-spec only): never
 * rewritten, whatever their bytes. */
static gboolean
signs (const char *name)
{
	g_autofree char *lower = g_ascii_strdown (name, -1);

	return strstr (lower, "dkim") != NULL || g_str_has_prefix (lower, "arc-") ||
	       strstr (lower, "signature") != NULL || strcmp (lower, "return-path") == 0;
}

/* Identifier headers: never rewritten, whatever their bytes.  A msg-id allows no encoded-word,
 * and one rewritten no longer matches the References and In-Reply-To of the replies, which
 * breaks threading; Content-ID is matched by cid: URLs, MIME-Version by its exact value. */
static const char *const identifier_names[] = {
	"message-id", "references", "in-reply-to", "content-id", "mime-version", "resent-message-id",
};

/* A CR or LF that is not part of a fold (CR LF or LF, then a blank). */
static gboolean
has_bare_break (const guint8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' && !(i + 1 < n && p[i + 1] == '\n'))
			return TRUE;
		if (p[i] == '\n' && !(i + 1 < n && is_wsp (p[i + 1])))
			return TRUE;
	}
	return FALSE;
}

/* Nothing a rewrite could change: 7-bit, no encoded-word marker, no NUL, no bare line break. */
static gboolean
plainly_normal (const guint8 *p, size_t n)
{
	return !has_8bit (p, n) && find_marker (p, n) == NULL && memchr (p, 0, n) == NULL &&
	       !has_bare_break (p, n);
}

GString *
_mimeutf8_header_normalize (const char *name, const char *value, size_t len,
			    const MimeUtf8Options *options, const _MimeUtf8Charset *eight_bit,
			    const _MimeUtf8Charset *fallback, const char *newline,
			    _MimeUtf8HeaderChange *change_out)
{
	const guint8 *p = (const guint8 *) value;
	_MimeUtf8HeaderChange ignored;
	MimeUtf8HeaderMode mode = options != NULL ? options->headers : MIMEUTF8_HEADERS_ENCODED;
	size_t max_words = options != NULL && options->max_encoded_words != 0
				   ? options->max_encoded_words
				   : DEFAULT_MAX_ENCODED_WORDS;
	size_t max_params = options != NULL && options->max_params != 0 ? options->max_params
									: DEFAULT_MAX_PARAMS;
	HeaderKind kind;
	GString *result = NULL;
	Ctx ctx;

	if (change_out == NULL)
		change_out = &ignored;
	memset (change_out, 0, sizeof *change_out);
	g_return_val_if_fail (name != NULL, NULL);
	g_return_val_if_fail (value != NULL || len == 0, NULL);
	if (len == 0 || (mode != MIMEUTF8_HEADERS_ENCODED && mode != MIMEUTF8_HEADERS_UTF8))
		return NULL;
	kind = header_kind (name);
	if (kind == KIND_NONE && raw_8bit_text ((const guint8 *) value, len) && !signs (name) &&
	    !name_in (name, identifier_names, G_N_ELEMENTS (identifier_names)))
		kind = KIND_UNSTRUCTURED;
	/* A line break inside a list that is no fold leaves its structure in doubt: such a list
	 * is not rewritten.  (Unstructured text turns one into a blank.) */
	if (kind == KIND_NONE ||
	    (kind != KIND_UNSTRUCTURED && has_bare_break ((const guint8 *) value, len)))
		return NULL;
	if (kind != KIND_PARAMS) {
		if (plainly_normal (p, len))
			return NULL;
		if (_mimeutf8_count_words (p, len, max_words) > max_words) {
			change_out->limit_hit = TRUE;
			return NULL;
		}
	}

	/* Most Content-Type and Content-Disposition values need nothing: asked before a context
	 * (nine buffers) is made for them. */
	if (kind == KIND_PARAMS && !_mimeutf8_params_need_rewrite (p, len, max_params, change_out))
		return NULL;

	_mimeutf8_ctx_init (&ctx, mode, name, newline, eight_bit, fallback, len);

	if (kind == KIND_PARAMS) {
		result = _mimeutf8_normalize_params (&ctx, p, len, max_params, max_words,
						     change_out);
	} else {
		Out o;
		size_t lead = 0;

		while (lead < len && is_blank (p[lead]))
			lead++;
		_mimeutf8_out_init (&o, name, ctx.newline, len);
		if (kind == KIND_UNSTRUCTURED) {
			_mimeutf8_decode_text (&ctx, p + lead, len - lead, TEXT_RAW);
			/* Text that decodes to nothing leaves no fold behind. */
			if (_mimeutf8_text_is_blank (&ctx))
				_mimeutf8_out_hold (&o, value, lead);
			else
				_mimeutf8_out_put (&o, value, lead);
			if (ctx.rec.changed)
				_mimeutf8_emit_words (&ctx, &o, "", 0, CTX_UNSTRUCTURED);
		} else {
			_mimeutf8_out_put (&o, value, lead);
			if (!_mimeutf8_addresses_walk (&ctx, &o, p + lead, len - lead)) {
				/* Start again from the leading blanks, forgetting what the walk
				 * met. */
				memset (&ctx.rec, 0, sizeof ctx.rec);
				g_string_free (_mimeutf8_out_finish (&o), TRUE);
				_mimeutf8_out_init (&o, name, ctx.newline, len);
				_mimeutf8_out_put (&o, value, lead);
				_mimeutf8_addresses_fallback (&ctx, &o, p + lead, len - lead);
			}
		}
		result = _mimeutf8_out_finish (&o);
		if (!ctx.rec.changed) {
			g_string_free (result, TRUE);
			result = NULL;
		}
	}
	if (result != NULL && result->len == len && memcmp (result->str, value, len) == 0) {
		g_string_free (result, TRUE);
		result = NULL;
	}
	if (result != NULL) {
		change_out->rule = rule_names[ctx.rec.rule];
		change_out->charset = ctx.rec.charset;
		change_out->replacements = ctx.rec.replacements;
		change_out->sanitized = ctx.rec.sanitized;
	}
	_mimeutf8_ctx_clear (&ctx);
	return result;
}

/* ---- decoded values, for the parsed view (view.c) ------------------------------------------ */

/* A control character other than the CR and LF of folds (which plainly_normal checks). */
static gboolean
has_unsafe_but_folds (const guint8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (is_unsafe (p[i]) && p[i] != '\r' && p[i] != '\n')
			return TRUE;
	return FALSE;
}

char *
_mimeutf8_header_decode_text (const char *value, size_t len, const _MimeUtf8Charset *eight_bit,
			      const _MimeUtf8Charset *fallback)
{
	const guint8 *p = (const guint8 *) value;
	Ctx ctx;
	char *text;
	size_t i;

	if (plainly_normal (p, len) && !has_unsafe_but_folds (p, len)) {
		/* nothing to decode (most headers): unfolded, as decode_text would */
		GString *out = g_string_sized_new (len);

		for (i = 0; i < len; i++)
			if (p[i] != '\r' && p[i] != '\n')
				g_string_append_c (out, (char) p[i]);
		return g_strstrip (g_string_free (out, FALSE));
	}
	_mimeutf8_ctx_init (&ctx, MIMEUTF8_HEADERS_UTF8, "", "\n", eight_bit, fallback, 0);
	_mimeutf8_decode_text (&ctx, (const guint8 *) value, len, TEXT_RAW);
	text = g_strstrip (g_strndup (ctx.text->str, ctx.text->len));
	_mimeutf8_ctx_clear (&ctx);
	return text;
}
