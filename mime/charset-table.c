/* charset-table.c: the label table, which maps a charset label to the charset the library decodes
 * it as, and the allowlist of names that may reach iconv_open. */
#include <stdlib.h>
#include <string.h>

#include "mimeutf8-private.h"

/* A label longer than this, once trimmed, is unknown: the longest listed label has 19 bytes. */
#define LABEL_MAX 64

typedef enum {
	CS_UTF_8,
	CS_IBM866,
	CS_ISO_8859_2,
	CS_ISO_8859_3,
	CS_ISO_8859_4,
	CS_ISO_8859_5,
	CS_ISO_8859_6,
	CS_ISO_8859_7,
	CS_ISO_8859_8,
	CS_ISO_8859_8_I,
	CS_ISO_8859_10,
	CS_ISO_8859_13,
	CS_ISO_8859_14,
	CS_ISO_8859_15,
	CS_ISO_8859_16,
	CS_KOI8_R,
	CS_KOI8_U,
	CS_MACINTOSH,
	CS_WINDOWS_874,
	CS_WINDOWS_1250,
	CS_WINDOWS_1251,
	CS_WINDOWS_1252,
	CS_WINDOWS_1253,
	CS_WINDOWS_1254,
	CS_WINDOWS_1255,
	CS_WINDOWS_1256,
	CS_WINDOWS_1257,
	CS_WINDOWS_1258,
	CS_X_MAC_CYRILLIC,
	CS_GB18030,
	CS_BIG5,
	CS_EUC_JP,
	CS_ISO_2022_JP,
	CS_SHIFT_JIS,
	CS_EUC_KR,
	CS_ISO_2022_KR,
	CS_UTF_16BE,
	CS_UTF_16LE,
	CS_UTF_7,
	N_CHARSETS
} CharsetId;

#define SINGLE _MIMEUTF8_DECODER_SINGLE_BYTE
#define ICONV _MIMEUTF8_DECODER_ICONV
#define SB _MIMEUTF8_CS_SINGLE_BYTE
#define SB_C1 (_MIMEUTF8_CS_SINGLE_BYTE | _MIMEUTF8_CS_C1_CONTROLS)
#define STATEFUL _MIMEUTF8_CS_STATEFUL_7BIT
#define NOT_ASCII _MIMEUTF8_CS_NOT_ASCII

/* Each iconv name was checked with iconv_open on glibc 2.36 (the tests check it again), and each
 * single-byte one was compared, byte by byte, with the WHATWG index of the same name.  Where a
 * label names a subset of a code page that mail software really writes (latin1 for windows-1252,
 * shift_jis for CP932, euc-kr for CP949, gb2312 for GB18030, big5 for HKSCS), the label decodes as
 * the superset, as WHATWG and browsers do.
 *
 * Deliberately absent, so their labels are unknown:
 *   - ISO-2022-CN, ISO-2022-CN-EXT (CVE-2024-2961), ISO-2022-JP-3 (CVE-2021-3326), IBM930,
 *     933, 935, 937, 939, IBM1364, 1371, 1388, 1390, 1399 (CVE-2014-6040, CVE-2020-27618):
 *     they must never reach iconv_open;
 *   - hz-gb-2312: glibc 2.36 has no HZ converter (WHATWG decodes it as "replacement" anyway);
 *   - x-user-defined and WHATWG's "replacement": not charsets a mail part is written in;
 *   - ansi_x3.110-1983 (seen in mail): ANSI X3.110 (ISO-IR-99, a videotex set with
 *     non-spacing accents) is no charset mail clients write in; like any unknown label, it
 *     leaves the part to its own evidence (meta, detection);
 *   - the labels that mean "undeclared" ("unknown", "x-unknown", "unknown-8bit", "default",
 *     "none"...): the caller treats a NULL like a missing label. */
static const _MimeUtf8Charset charsets[N_CHARSETS] = {
	[CS_UTF_8] = { "utf-8", "UTF-8", _MIMEUTF8_DECODER_UTF8, 0, 1 },

	/* The single-byte encodings of WHATWG.  glibc agrees with the WHATWG index on every byte
	 * of each, except: windows-1255 0xCA (U+05BA, which glibc rejects); macintosh 0xC6, 0xF0
	 * (glibc: U+0394, U+E01E; WHATWG: U+2206, U+F8FF); x-mac-cyrillic 0xFF (glibc: U+00A4,
	 * WHATWG: U+20AC).  KOI8-U is nearer WHATWG's koi8-u (2 bytes differ) than glibc's KOI8-RU
	 * (9).  glibc's CP1255 and CP1258 hold a letter back to combine it with a following
	 * accent: read a 256-entry table from them with a flush after each byte. */
	[CS_IBM866] = { "ibm866", "IBM866", SINGLE, SB, 1 },
	[CS_ISO_8859_2] = { "iso-8859-2", "ISO-8859-2", SINGLE, SB, 1 },
	[CS_ISO_8859_3] = { "iso-8859-3", "ISO-8859-3", SINGLE, SB, 1 },
	[CS_ISO_8859_4] = { "iso-8859-4", "ISO-8859-4", SINGLE, SB, 1 },
	[CS_ISO_8859_5] = { "iso-8859-5", "ISO-8859-5", SINGLE, SB, 1 },
	[CS_ISO_8859_6] = { "iso-8859-6", "ISO-8859-6", SINGLE, SB, 1 },
	[CS_ISO_8859_7] = { "iso-8859-7", "ISO-8859-7", SINGLE, SB, 1 },
	[CS_ISO_8859_8] = { "iso-8859-8", "ISO-8859-8", SINGLE, SB, 1 },
	/* Logical-order Hebrew: the bytes of iso-8859-8, kept apart as WHATWG does so that the
	 * report names what was declared. */
	[CS_ISO_8859_8_I] = { "iso-8859-8-i", "ISO-8859-8", SINGLE, SB, 1 },
	[CS_ISO_8859_10] = { "iso-8859-10", "ISO-8859-10", SINGLE, SB, 1 },
	[CS_ISO_8859_13] = { "iso-8859-13", "ISO-8859-13", SINGLE, SB, 1 },
	[CS_ISO_8859_14] = { "iso-8859-14", "ISO-8859-14", SINGLE, SB, 1 },
	[CS_ISO_8859_15] = { "iso-8859-15", "ISO-8859-15", SINGLE, SB, 1 },
	[CS_ISO_8859_16] = { "iso-8859-16", "ISO-8859-16", SINGLE, SB, 1 },
	[CS_KOI8_R] = { "koi8-r", "KOI8-R", SINGLE, SB, 1 },
	[CS_KOI8_U] = { "koi8-u", "KOI8-U", SINGLE, SB, 1 },
	[CS_MACINTOSH] = { "macintosh", "MACINTOSH", SINGLE, SB, 1 },
	/* The bytes 0x80-0x9F that glibc's CP874 and CP125x reject are exactly those that WHATWG
	 * maps to the C1 control of the same value (windows-1256 has none, windows-1251 only
	 * 0x98).  windows-874 is also tis-620 and iso-8859-11, as WHATWG says. */
	[CS_WINDOWS_874] = { "windows-874", "CP874", SINGLE, SB_C1, 1 },
	[CS_WINDOWS_1250] = { "windows-1250", "CP1250", SINGLE, SB_C1, 1 },
	[CS_WINDOWS_1251] = { "windows-1251", "CP1251", SINGLE, SB_C1, 1 },
	/* Also iso-8859-1 and us-ascii, as WHATWG says: mail so labelled is full of CP1252. */
	[CS_WINDOWS_1252] = { "windows-1252", "CP1252", SINGLE, SB_C1, 1 },
	[CS_WINDOWS_1253] = { "windows-1253", "CP1253", SINGLE, SB_C1, 1 },
	/* Also iso-8859-9, as WHATWG says. */
	[CS_WINDOWS_1254] = { "windows-1254", "CP1254", SINGLE, SB_C1, 1 },
	[CS_WINDOWS_1255] = { "windows-1255", "CP1255", SINGLE, SB_C1, 1 },
	[CS_WINDOWS_1256] = { "windows-1256", "CP1256", SINGLE, SB_C1, 1 },
	[CS_WINDOWS_1257] = { "windows-1257", "CP1257", SINGLE, SB_C1, 1 },
	[CS_WINDOWS_1258] = { "windows-1258", "CP1258", SINGLE, SB_C1, 1 },
	/* WHATWG's x-mac-cyrillic is MacUkrainian; glibc's MAC-CYRILLIC and MAC-UK are the same. */
	[CS_X_MAC_CYRILLIC] = { "x-mac-cyrillic", "MAC-CYRILLIC", SINGLE, SB, 1 },

	/* Multi-byte.  The counts are of the codes the WHATWG index decodes (two bytes, and three
	 * for JIS X 0212), each run through glibc 2.36 on its own. */
	/* Also gb2312 and GBK, as WHATWG says.  GB18030 agrees on 23,933 of 23,940 two-byte codes
	 * (GBK rejects 2,149); the 7 others are codes Unicode later gave real characters, which
	 * glibc returns instead of WHATWG's private-use ones. */
	[CS_GB18030] = { "gb18030", "GB18030", ICONV, 0, 1 },
	/* BIG5-HKSCS agrees on 18,452 of 18,594 codes, rejects 131 and differs on 11; glibc's
	 * BIG5 and CP950 reject 4,726 and differ on 366. */
	[CS_BIG5] = { "big5", "BIG5-HKSCS", ICONV, 0, 1 },
	/* EUC-JP rather than EUC-JP-MS.  EUC-JP agrees on 13,003 of 13,466 codes: it rejects the
	 * 457 NEC and IBM extension codes (rows 13 and 89-92), which the translator reads through
	 * CP932 as WHATWG does (_MIMEUTF8_CS_JIS_EXTENSIONS; 13,460 agree then), and maps 6 symbols
	 * (0xA1C1 WAVE DASH ...) the JIS way, as glibc's ISO-2022-JP does.  EUC-JP-MS agrees on 13,091, but turns
	 * 375 IBM extension kanji (which WHATWG decodes) and 1,506 user-defined codes (which
	 * WHATWG rejects) into private-use characters, silently: a damaged part would look clean.
	 */
	[CS_EUC_JP] = { "euc-jp", "EUC-JP", ICONV, _MIMEUTF8_CS_JIS_EXTENSIONS, 1 },
	/* ISO-2022-JP-2 rather than ISO-2022-JP: it decodes JIS X 0208 identically, code for code,
	 * and also the half-width katakana of ESC ( I, which WHATWG's iso-2022-jp decodes and
	 * glibc's ISO-2022-JP passes through as raw escape bytes.  Never ISO-2022-JP-3.  Rows 13
	 * and 89-92 of JIS X 0208 (① №, IBM kanji), which glibc rejects, are read through CP932. */
	[CS_ISO_2022_JP] = { "iso-2022-jp", "ISO-2022-JP-2", ICONV,
			     STATEFUL | _MIMEUTF8_CS_JIS_EXTENSIONS, 1 },
	/* CP932 agrees with WHATWG's Shift_JIS on all 9,667 codes; SHIFT_JIS rejects 2,725. */
	[CS_SHIFT_JIS] = { "shift_jis", "CP932", ICONV, 0, 1 },
	/* CP949 agrees with WHATWG's euc-kr on all 17,048 codes; EUC-KR rejects or garbles 8,822.
	 */
	[CS_EUC_KR] = { "euc-kr", "CP949", ICONV, 0, 1 },
	/* RFC 1557 Korean mail.  WHATWG refuses it ("replacement") because a browser must not let
	 * an escape turn ASCII markup into other text; a mail part is converted whole. */
	[CS_ISO_2022_KR] = { "iso-2022-kr", "ISO-2022-KR", ICONV, STATEFUL, 1 },
	/* "utf-16" without a byte-order mark is little-endian, as WHATWG says; the caller looks
	 * for the byte-order mark. */
	[CS_UTF_16BE] = { "utf-16be", "UTF-16BE", ICONV, NOT_ASCII, 2 },
	[CS_UTF_16LE] = { "utf-16le", "UTF-16LE", ICONV, NOT_ASCII, 2 },
	/* Our own decoder: glibc's drops a bare '+' ("1 + 1", "C++") and accepts a run whose
	 * padding bits are not zero.  The iconv name stays for GMime's encoded-words. */
	[CS_UTF_7] = { "utf-7", "UTF-7", _MIMEUTF8_DECODER_UTF7, STATEFUL, 1 },
};

const _MimeUtf8Charset *const _mimeutf8_cs_utf8 = &charsets[CS_UTF_8];

/* Where a label comes from; the README lists them. */
enum {
	/* WHATWG Encoding Standard (../shared/reference/whatwg-encoding/encodings.json) */
	SRC_WHATWG = 1 << 0,
	/* mail: seen in ../shared/corpus/real (charset parameters, encoded-words, RFC 2231) */
	SRC_CORPUS = 1 << 1,
	/* ../shared/corpus/gen.py: its CHARSETS and ALIASES */
	SRC_GEN = 1 << 2,
	/* a registry or vendor alias that mail software writes: IANA names of US-ASCII, Microsoft
	 * code-page names, names from RFC 1554 (iso-2022-jp-2), 1557 (iso-2022-kr), 1642 and 2152
	 * (utf-7) */
	SRC_ALIAS = 1 << 3,
	/* a misspelling seen in mail */
	SRC_TYPO = 1 << 4,
	/* seen in real mail by the survey of issue 9 (about 8,000 messages read by mimeutf8,
	 * mailparser and postal-mime), outside ../shared/corpus/real */
	SRC_SURVEY = 1 << 5,
};

typedef struct {
	const char *label; /* lower case */
	guint8 charset;    /* a CharsetId */
	guint8 sources;
} LabelEntry;

/* Every label, sorted by its key: the label without '-', '_', '.' and ' ', in strcmp order.  A
 * search by that squeezed key finds "UTF8", "utf_8", "ISO8859_1" and "cp-1251" as "utf-8",
 * "iso-8859-1" and "cp1251" do, so punctuation typos need no entries; labels with the same key
 * always name the same charset, and are all listed when some source writes them.
 * tests/test-charset-table.c lists every label with its charset: a label added here out of
 * order, or not added there, fails the tests. */
static const LabelEntry labels[] = {
	{ "866", CS_IBM866, SRC_WHATWG },
	{ "ansi_x3.4-1968", CS_WINDOWS_1252, SRC_WHATWG },
	{ "ansi_x3.4-1986", CS_WINDOWS_1252, SRC_ALIAS },
	{ "arabic", CS_ISO_8859_6, SRC_WHATWG },
	{ "ascii", CS_WINDOWS_1252, SRC_WHATWG | SRC_CORPUS },
	{ "asmo-708", CS_ISO_8859_6, SRC_WHATWG },
	{ "big5", CS_BIG5, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "big5-hkscs", CS_BIG5, SRC_WHATWG },
	{ "chinese", CS_GB18030, SRC_WHATWG },
	/* Windows GDI's names for code pages, which some mailers write as labels:
	 * CHINESEBIG5_CHARSET is code page 950, GB2312_CHARSET 936. */
	{ "chinesebig5", CS_BIG5, SRC_SURVEY },
	{ "cn-big5", CS_BIG5, SRC_WHATWG },
	{ "cp1250", CS_WINDOWS_1250, SRC_WHATWG },
	{ "cp-1251", CS_WINDOWS_1251, SRC_GEN },
	{ "cp1251", CS_WINDOWS_1251, SRC_WHATWG },
	{ "cp1252", CS_WINDOWS_1252, SRC_WHATWG | SRC_GEN },
	{ "cp1253", CS_WINDOWS_1253, SRC_WHATWG },
	{ "cp1254", CS_WINDOWS_1254, SRC_WHATWG },
	{ "cp1255", CS_WINDOWS_1255, SRC_WHATWG },
	{ "cp1256", CS_WINDOWS_1256, SRC_WHATWG },
	{ "cp1257", CS_WINDOWS_1257, SRC_WHATWG },
	{ "cp1258", CS_WINDOWS_1258, SRC_WHATWG },
	{ "cp367", CS_WINDOWS_1252, SRC_ALIAS },
	{ "cp819", CS_WINDOWS_1252, SRC_WHATWG },
	{ "cp866", CS_IBM866, SRC_WHATWG },
	{ "cp932", CS_SHIFT_JIS, SRC_ALIAS },
	{ "cp936", CS_GB18030, SRC_ALIAS },
	{ "cp949", CS_EUC_KR, SRC_ALIAS },
	{ "cp950", CS_BIG5, SRC_ALIAS },
	{ "csascii", CS_WINDOWS_1252, SRC_ALIAS },
	{ "csbig5", CS_BIG5, SRC_WHATWG },
	{ "cseuckr", CS_EUC_KR, SRC_WHATWG },
	{ "cseucpkdfmtjapanese", CS_EUC_JP, SRC_WHATWG },
	{ "csgb2312", CS_GB18030, SRC_WHATWG },
	{ "csibm866", CS_IBM866, SRC_WHATWG },
	{ "csiso2022jp", CS_ISO_2022_JP, SRC_WHATWG },
	{ "csiso2022jp2", CS_ISO_2022_JP, SRC_ALIAS },
	{ "csiso2022kr", CS_ISO_2022_KR, SRC_ALIAS },
	{ "csiso58gb231280", CS_GB18030, SRC_WHATWG },
	{ "csiso88596e", CS_ISO_8859_6, SRC_WHATWG },
	{ "csiso88596i", CS_ISO_8859_6, SRC_WHATWG },
	{ "csiso88598e", CS_ISO_8859_8, SRC_WHATWG },
	{ "csiso88598i", CS_ISO_8859_8_I, SRC_WHATWG },
	{ "csisolatin1", CS_WINDOWS_1252, SRC_WHATWG },
	{ "csisolatin2", CS_ISO_8859_2, SRC_WHATWG },
	{ "csisolatin3", CS_ISO_8859_3, SRC_WHATWG },
	{ "csisolatin4", CS_ISO_8859_4, SRC_WHATWG },
	{ "csisolatin5", CS_WINDOWS_1254, SRC_WHATWG },
	{ "csisolatin6", CS_ISO_8859_10, SRC_WHATWG },
	{ "csisolatin9", CS_ISO_8859_15, SRC_WHATWG },
	{ "csisolatinarabic", CS_ISO_8859_6, SRC_WHATWG },
	{ "csisolatincyrillic", CS_ISO_8859_5, SRC_WHATWG },
	{ "csisolatingreek", CS_ISO_8859_7, SRC_WHATWG },
	{ "csisolatinhebrew", CS_ISO_8859_8, SRC_WHATWG },
	{ "cskoi8r", CS_KOI8_R, SRC_WHATWG },
	{ "csksc56011987", CS_EUC_KR, SRC_WHATWG },
	{ "csmacintosh", CS_MACINTOSH, SRC_WHATWG },
	{ "csshiftjis", CS_SHIFT_JIS, SRC_WHATWG },
	{ "csunicode", CS_UTF_16LE, SRC_WHATWG },
	{ "csunicode11utf7", CS_UTF_7, SRC_ALIAS },
	{ "cyrillic", CS_ISO_8859_5, SRC_WHATWG },
	{ "dos-874", CS_WINDOWS_874, SRC_WHATWG },
	{ "ecma-114", CS_ISO_8859_6, SRC_WHATWG },
	{ "ecma-118", CS_ISO_8859_7, SRC_WHATWG },
	{ "elot_928", CS_ISO_8859_7, SRC_WHATWG },
	{ "euc-cn", CS_GB18030, SRC_ALIAS },
	{ "euc-jp", CS_EUC_JP, SRC_WHATWG | SRC_GEN },
	{ "euc-kr", CS_EUC_KR, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "gb18030", CS_GB18030, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "gb2312", CS_GB18030, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "gb_2312", CS_GB18030, SRC_WHATWG },
	{ "gb_2312-80", CS_GB18030, SRC_WHATWG | SRC_GEN },
	{ "gb2312_charset", CS_GB18030, SRC_SURVEY },
	{ "gbk", CS_GB18030, SRC_WHATWG | SRC_GEN },
	{ "greek", CS_ISO_8859_7, SRC_WHATWG },
	{ "greek8", CS_ISO_8859_7, SRC_WHATWG },
	{ "hebrew", CS_ISO_8859_8, SRC_WHATWG },
	{ "ibm367", CS_WINDOWS_1252, SRC_ALIAS },
	{ "ibm819", CS_WINDOWS_1252, SRC_WHATWG },
	{ "ibm866", CS_IBM866, SRC_WHATWG },
	{ "iso-10646-ucs-2", CS_UTF_16LE, SRC_WHATWG },
	{ "iso-2022-jp", CS_ISO_2022_JP, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "iso-2022-jp-2", CS_ISO_2022_JP, SRC_ALIAS },
	{ "iso-2022-kr", CS_ISO_2022_KR, SRC_ALIAS },
	{ "iso_646.irv:1991", CS_WINDOWS_1252, SRC_ALIAS },
	{ "iso646-us", CS_WINDOWS_1252, SRC_ALIAS },
	{ "iso-8859-1", CS_WINDOWS_1252, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "iso8859-1", CS_WINDOWS_1252, SRC_WHATWG },
	{ "iso88591", CS_WINDOWS_1252, SRC_WHATWG },
	{ "iso_8859-1", CS_WINDOWS_1252, SRC_WHATWG },
	{ "iso-8859-10", CS_ISO_8859_10, SRC_WHATWG },
	{ "iso8859-10", CS_ISO_8859_10, SRC_WHATWG },
	{ "iso885910", CS_ISO_8859_10, SRC_WHATWG },
	{ "iso-8859-11", CS_WINDOWS_874, SRC_WHATWG },
	{ "iso8859-11", CS_WINDOWS_874, SRC_WHATWG },
	{ "iso885911", CS_WINDOWS_874, SRC_WHATWG },
	{ "iso-8859-13", CS_ISO_8859_13, SRC_WHATWG },
	{ "iso8859-13", CS_ISO_8859_13, SRC_WHATWG },
	{ "iso885913", CS_ISO_8859_13, SRC_WHATWG },
	{ "iso-8859-14", CS_ISO_8859_14, SRC_WHATWG },
	{ "iso8859-14", CS_ISO_8859_14, SRC_WHATWG },
	{ "iso885914", CS_ISO_8859_14, SRC_WHATWG },
	{ "iso-8859-15", CS_ISO_8859_15, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "iso8859-15", CS_ISO_8859_15, SRC_WHATWG },
	{ "iso885915", CS_ISO_8859_15, SRC_WHATWG },
	{ "iso_8859-15", CS_ISO_8859_15, SRC_WHATWG },
	{ "iso-8859-16", CS_ISO_8859_16, SRC_WHATWG },
	{ "iso_8859-1:1987", CS_WINDOWS_1252, SRC_WHATWG },
	{ "iso-8859-2", CS_ISO_8859_2, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "iso8859-2", CS_ISO_8859_2, SRC_WHATWG },
	{ "iso88592", CS_ISO_8859_2, SRC_WHATWG },
	{ "iso_8859-2", CS_ISO_8859_2, SRC_WHATWG },
	{ "iso_8859-2:1987", CS_ISO_8859_2, SRC_WHATWG },
	{ "iso-8859-3", CS_ISO_8859_3, SRC_WHATWG },
	{ "iso8859-3", CS_ISO_8859_3, SRC_WHATWG },
	{ "iso88593", CS_ISO_8859_3, SRC_WHATWG },
	{ "iso_8859-3", CS_ISO_8859_3, SRC_WHATWG },
	{ "iso_8859-3:1988", CS_ISO_8859_3, SRC_WHATWG },
	{ "iso-8859-4", CS_ISO_8859_4, SRC_WHATWG | SRC_CORPUS },
	{ "iso8859-4", CS_ISO_8859_4, SRC_WHATWG },
	{ "iso88594", CS_ISO_8859_4, SRC_WHATWG },
	{ "iso_8859-4", CS_ISO_8859_4, SRC_WHATWG },
	{ "iso_8859-4:1988", CS_ISO_8859_4, SRC_WHATWG },
	{ "iso-8859-5", CS_ISO_8859_5, SRC_WHATWG | SRC_GEN },
	{ "iso8859-5", CS_ISO_8859_5, SRC_WHATWG },
	{ "iso88595", CS_ISO_8859_5, SRC_WHATWG },
	{ "iso_8859-5", CS_ISO_8859_5, SRC_WHATWG },
	{ "iso_8859-5:1988", CS_ISO_8859_5, SRC_WHATWG },
	{ "iso-8859-6", CS_ISO_8859_6, SRC_WHATWG | SRC_CORPUS },
	{ "iso8859-6", CS_ISO_8859_6, SRC_WHATWG },
	{ "iso88596", CS_ISO_8859_6, SRC_WHATWG },
	{ "iso_8859-6", CS_ISO_8859_6, SRC_WHATWG },
	{ "iso_8859-6:1987", CS_ISO_8859_6, SRC_WHATWG },
	{ "iso-8859-6-e", CS_ISO_8859_6, SRC_WHATWG },
	{ "iso-8859-6-i", CS_ISO_8859_6, SRC_WHATWG },
	{ "iso-8859-7", CS_ISO_8859_7, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "iso8859-7", CS_ISO_8859_7, SRC_WHATWG },
	{ "iso88597", CS_ISO_8859_7, SRC_WHATWG },
	{ "iso_8859-7", CS_ISO_8859_7, SRC_WHATWG },
	{ "iso_8859-7:1987", CS_ISO_8859_7, SRC_WHATWG },
	{ "iso-8859-8", CS_ISO_8859_8, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "iso8859-8", CS_ISO_8859_8, SRC_WHATWG },
	{ "iso88598", CS_ISO_8859_8, SRC_WHATWG },
	{ "iso_8859-8", CS_ISO_8859_8, SRC_WHATWG },
	{ "iso_8859-8:1988", CS_ISO_8859_8, SRC_WHATWG },
	{ "iso-8859-8-e", CS_ISO_8859_8, SRC_WHATWG },
	{ "iso-8859-8-i", CS_ISO_8859_8_I, SRC_WHATWG | SRC_CORPUS },
	{ "iso-8859-9", CS_WINDOWS_1254, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "iso8859-9", CS_WINDOWS_1254, SRC_WHATWG },
	{ "iso88599", CS_WINDOWS_1254, SRC_WHATWG },
	{ "iso_8859-9", CS_WINDOWS_1254, SRC_WHATWG },
	{ "iso_8859-9:1989", CS_WINDOWS_1254, SRC_WHATWG },
	{ "iso-ir-100", CS_WINDOWS_1252, SRC_WHATWG },
	{ "iso-ir-101", CS_ISO_8859_2, SRC_WHATWG },
	{ "iso-ir-109", CS_ISO_8859_3, SRC_WHATWG },
	{ "iso-ir-110", CS_ISO_8859_4, SRC_WHATWG },
	{ "iso-ir-126", CS_ISO_8859_7, SRC_WHATWG },
	{ "iso-ir-127", CS_ISO_8859_6, SRC_WHATWG },
	{ "iso-ir-138", CS_ISO_8859_8, SRC_WHATWG },
	{ "iso-ir-144", CS_ISO_8859_5, SRC_WHATWG },
	{ "iso-ir-148", CS_WINDOWS_1254, SRC_WHATWG },
	{ "iso-ir-149", CS_EUC_KR, SRC_WHATWG },
	{ "iso-ir-157", CS_ISO_8859_10, SRC_WHATWG },
	{ "iso-ir-58", CS_GB18030, SRC_WHATWG },
	{ "iso-ir-6", CS_WINDOWS_1252, SRC_ALIAS },
	{ "koi", CS_KOI8_R, SRC_WHATWG },
	{ "koi8", CS_KOI8_R, SRC_WHATWG },
	{ "koi8-r", CS_KOI8_R, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "koi8_r", CS_KOI8_R, SRC_WHATWG | SRC_CORPUS },
	{ "koi8-ru", CS_KOI8_U, SRC_WHATWG },
	{ "koi8-u", CS_KOI8_U, SRC_WHATWG },
	{ "korean", CS_EUC_KR, SRC_WHATWG },
	{ "ksc5601", CS_EUC_KR, SRC_WHATWG },
	{ "ksc_5601", CS_EUC_KR, SRC_WHATWG },
	{ "ks_c_5601-1987", CS_EUC_KR, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "ks_c_5601-1989", CS_EUC_KR, SRC_WHATWG },
	{ "l1", CS_WINDOWS_1252, SRC_WHATWG },
	{ "l2", CS_ISO_8859_2, SRC_WHATWG },
	{ "l3", CS_ISO_8859_3, SRC_WHATWG },
	{ "l4", CS_ISO_8859_4, SRC_WHATWG },
	{ "l5", CS_WINDOWS_1254, SRC_WHATWG },
	{ "l6", CS_ISO_8859_10, SRC_WHATWG },
	{ "l9", CS_ISO_8859_15, SRC_WHATWG },
	{ "latin1", CS_WINDOWS_1252, SRC_WHATWG | SRC_GEN },
	{ "latin2", CS_ISO_8859_2, SRC_WHATWG },
	{ "latin3", CS_ISO_8859_3, SRC_WHATWG },
	{ "latin4", CS_ISO_8859_4, SRC_WHATWG },
	{ "latin5", CS_WINDOWS_1254, SRC_WHATWG },
	{ "latin6", CS_ISO_8859_10, SRC_WHATWG },
	{ "logical", CS_ISO_8859_8_I, SRC_WHATWG },
	{ "mac", CS_MACINTOSH, SRC_WHATWG },
	{ "macintosh", CS_MACINTOSH, SRC_WHATWG },
	{ "ms932", CS_SHIFT_JIS, SRC_WHATWG },
	{ "ms936", CS_GB18030, SRC_ALIAS },
	{ "ms_kanji", CS_SHIFT_JIS, SRC_WHATWG },
	{ "shift-jis", CS_SHIFT_JIS, SRC_WHATWG | SRC_CORPUS },
	{ "shift_jis", CS_SHIFT_JIS, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "sjis", CS_SHIFT_JIS, SRC_WHATWG },
	{ "sun_eu_greek", CS_ISO_8859_7, SRC_WHATWG },
	{ "tis-620", CS_WINDOWS_874, SRC_WHATWG | SRC_GEN },
	{ "ucs-2", CS_UTF_16LE, SRC_WHATWG },
	{ "uft-8", CS_UTF_8, SRC_CORPUS | SRC_TYPO },
	{ "uhc", CS_EUC_KR, SRC_ALIAS },
	{ "unicode", CS_UTF_16LE, SRC_WHATWG | SRC_CORPUS },
	{ "unicode-1-1-utf-7", CS_UTF_7, SRC_CORPUS | SRC_ALIAS },
	{ "unicode-1-1-utf-8", CS_UTF_8, SRC_WHATWG },
	{ "unicode11utf8", CS_UTF_8, SRC_WHATWG },
	{ "unicode20utf8", CS_UTF_8, SRC_WHATWG },
	{ "unicodefeff", CS_UTF_16LE, SRC_WHATWG },
	{ "unicodefffe", CS_UTF_16BE, SRC_WHATWG },
	{ "us-ascii", CS_WINDOWS_1252, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "utf-16", CS_UTF_16LE, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "utf-16be", CS_UTF_16BE, SRC_WHATWG | SRC_CORPUS },
	{ "utf-16le", CS_UTF_16LE, SRC_WHATWG | SRC_CORPUS },
	{ "utf-7", CS_UTF_7, SRC_ALIAS },
	{ "utf-8", CS_UTF_8, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "utf8", CS_UTF_8, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "visual", CS_ISO_8859_8, SRC_WHATWG },
	{ "win-1251", CS_WINDOWS_1251, SRC_ALIAS },
	{ "windows-1250", CS_WINDOWS_1250, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "windows-1251", CS_WINDOWS_1251, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "windows-1252", CS_WINDOWS_1252, SRC_WHATWG | SRC_CORPUS | SRC_GEN },
	{ "windows-1253", CS_WINDOWS_1253, SRC_WHATWG },
	{ "windows-1254", CS_WINDOWS_1254, SRC_WHATWG },
	{ "windows-1255", CS_WINDOWS_1255, SRC_WHATWG },
	{ "windows-1256", CS_WINDOWS_1256, SRC_WHATWG | SRC_GEN },
	{ "windows-1257", CS_WINDOWS_1257, SRC_WHATWG },
	{ "windows-1258", CS_WINDOWS_1258, SRC_WHATWG },
	{ "windows-31j", CS_SHIFT_JIS, SRC_WHATWG },
	{ "windows-874", CS_WINDOWS_874, SRC_WHATWG | SRC_CORPUS },
	{ "windows-936", CS_GB18030, SRC_ALIAS },
	{ "windows-949", CS_EUC_KR, SRC_WHATWG },
	{ "x-cp1250", CS_WINDOWS_1250, SRC_WHATWG },
	{ "x-cp1251", CS_WINDOWS_1251, SRC_WHATWG },
	{ "x-cp1252", CS_WINDOWS_1252, SRC_WHATWG },
	{ "x-cp1253", CS_WINDOWS_1253, SRC_WHATWG },
	{ "x-cp1254", CS_WINDOWS_1254, SRC_WHATWG },
	{ "x-cp1255", CS_WINDOWS_1255, SRC_WHATWG },
	{ "x-cp1256", CS_WINDOWS_1256, SRC_WHATWG },
	{ "x-cp1257", CS_WINDOWS_1257, SRC_WHATWG },
	{ "x-cp1258", CS_WINDOWS_1258, SRC_WHATWG },
	{ "x-euc-cn", CS_GB18030, SRC_ALIAS },
	{ "x-euc-jp", CS_EUC_JP, SRC_WHATWG },
	{ "x-gbk", CS_GB18030, SRC_WHATWG },
	{ "x-mac-cyrillic", CS_X_MAC_CYRILLIC, SRC_WHATWG | SRC_CORPUS },
	{ "x-mac-roman", CS_MACINTOSH, SRC_WHATWG },
	{ "x-mac-ukrainian", CS_X_MAC_CYRILLIC, SRC_WHATWG },
	{ "x-ms-cp932", CS_SHIFT_JIS, SRC_ALIAS },
	{ "x-sjis", CS_SHIFT_JIS, SRC_WHATWG | SRC_GEN },
	{ "x-unicode20utf8", CS_UTF_8, SRC_WHATWG },
	{ "x-windows-949", CS_EUC_KR, SRC_ALIAS },
	{ "x-x-big5", CS_BIG5, SRC_WHATWG },
};

static gboolean
is_separator (char c)
{
	return c == '-' || c == '_' || c == '.' || c == ' ';
}

static gboolean
is_blank_or_quote (char c)
{
	return g_ascii_isspace (c) || c == '"' || c == '\'';
}

/* bsearch order: `key` is already squeezed and lower case; the label is squeezed as it is read. */
static int
compare_key (const void *key, const void *element)
{
	const guchar *k = key;
	const guchar *l = (const guchar *) ((const LabelEntry *) element)->label;

	for (;;) {
		while (is_separator ((char) *l))
			l++;
		if (*k != *l || *k == '\0')
			return (int) *k - (int) *l;
		k++;
		l++;
	}
}

const _MimeUtf8Charset *
_mimeutf8_charset_lookup (const char *label, size_t len)
{
	char key[LABEL_MAX + 1];
	size_t start = 0, end = len, n = 0;
	const LabelEntry *found;

	if (label == NULL)
		return NULL;
	while (start < end && is_blank_or_quote (label[start]))
		start++;
	while (end > start && is_blank_or_quote (label[end - 1]))
		end--;
	if (end - start > LABEL_MAX)
		return NULL;

	for (size_t i = start; i < end; i++) {
		/* A NUL would end the key early and let "utf-8\0junk" pass as utf-8. */
		if (label[i] == '\0')
			return NULL;
		if (!is_separator (label[i]))
			key[n++] = g_ascii_tolower (label[i]);
	}
	if (n == 0)
		return NULL;
	key[n] = '\0';

	found = bsearch (key, labels, G_N_ELEMENTS (labels), sizeof labels[0], compare_key);
	return found != NULL ? &charsets[found->charset] : NULL;
}

const _MimeUtf8Charset *
_mimeutf8_charset_by_name (const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < N_CHARSETS; i++) {
		if (g_ascii_strcasecmp (charsets[i].name, name) == 0)
			return &charsets[i];
	}
	return NULL;
}

gboolean
_mimeutf8_charset_iconv_allowed (const char *iconv_name)
{
	if (iconv_name == NULL)
		return FALSE;
	for (size_t i = 0; i < N_CHARSETS; i++) {
		if (g_ascii_strcasecmp (charsets[i].iconv_name, iconv_name) == 0)
			return TRUE;
	}
	return FALSE;
}

const _MimeUtf8Charset *
_mimeutf8_charset_all (size_t *n_out)
{
	if (n_out != NULL)
		*n_out = N_CHARSETS;
	return charsets;
}

const char *
mimeutf8_charset_canonical (const char *label)
{
	const _MimeUtf8Charset *charset;

	if (label == NULL)
		return NULL;
	charset = _mimeutf8_charset_lookup (label, strlen (label));
	return charset != NULL ? charset->name : NULL;
}
