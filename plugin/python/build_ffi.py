#!/usr/bin/python3
"""build_ffi.py: writes the C source of mimeutf8._mimeutf8, the CFFI extension module (API mode,
out of line) over the public header mime/mimeutf8.h; meson compiles and links it.

  build_ffi.py OUTPUT.c

Only what the Python package calls is declared here; cffi checks every declaration against the
real header when the generated source is compiled, so a mismatch is a build error, not a crash.
"""
import sys

import cffi

CDEF = r"""
typedef int gboolean;
typedef unsigned int guint;
typedef unsigned char guint8;
typedef uint32_t GQuark;

typedef struct { guint8 *data; guint len; ...; } GByteArray;
GByteArray *g_byte_array_sized_new (guint reserved_size);
guint8 *g_byte_array_free (GByteArray *array, gboolean free_segment);

typedef struct { GQuark domain; int code; char *message; } GError;
void g_error_free (GError *error);
void g_free (void *mem);

const char *mimeutf8_version (void);
void mimeutf8_init (void);
GQuark mimeutf8_error_quark (void);

typedef enum {
	MIMEUTF8_ERROR_PARSE = 1,
	MIMEUTF8_ERROR_UNKNOWN_CHARSET = 2,
	MIMEUTF8_ERROR_IO = 3,
	MIMEUTF8_ERROR_OPTIONS = 4,
	MIMEUTF8_ERROR_LIMIT = 5,
	MIMEUTF8_ERROR_NO_MEMORY = 6,
	MIMEUTF8_ERROR_INVALID_INPUT = 7,
	...
} MimeUtf8Error;

typedef enum {
	MIMEUTF8_POLICY_LENIENT = 0,
	MIMEUTF8_POLICY_DECLARED = 1,
	MIMEUTF8_POLICY_STRICT = 2,
	...
} MimeUtf8Policy;

typedef enum {
	MIMEUTF8_HEADERS_ENCODED = 0,
	MIMEUTF8_HEADERS_UTF8 = 1,
	MIMEUTF8_HEADERS_KEEP = 2,
	...
} MimeUtf8HeaderMode;

#define MIMEUTF8_OPTIONS_VERSION ...

/* "...;": fields appended to the header after these are laid out by the compiler, and zero
 * (ffi.new) is their documented default */
typedef struct {
	unsigned int version;
	MimeUtf8Policy policy;
	const char *fallback_charset;
	gboolean force_7bit;
	gboolean convert_signed;
	MimeUtf8HeaderMode headers;
	uint64_t max_message_size;
	unsigned int max_depth;
	unsigned int max_parts;
	uint64_t max_header_block;
	unsigned int max_params;
	unsigned int max_encoded_words;
	unsigned int timeout_ms;
	...;
} MimeUtf8Options;

typedef enum {
	MIMEUTF8_STATUS_NORMALIZED = 0,
	MIMEUTF8_STATUS_UNCHANGED = 1,
	MIMEUTF8_STATUS_PASSTHROUGH = 2,
	MIMEUTF8_STATUS_FAILED = 3,
	...
} MimeUtf8Status;

typedef struct _MimeUtf8Report MimeUtf8Report;
void mimeutf8_report_free (MimeUtf8Report *report);
MimeUtf8Report *mimeutf8_report_new_passthrough (const char *reason, uint64_t size);
MimeUtf8Status mimeutf8_report_get_status (const MimeUtf8Report *report);
const char *mimeutf8_report_get_reason (const MimeUtf8Report *report);
char *mimeutf8_report_to_json (const MimeUtf8Report *report, const char *name);
const char *mimeutf8_status_name (MimeUtf8Status status);

MimeUtf8Status mimeutf8_normalize_buffer (const MimeUtf8Options *options, const void *data,
					  size_t len, GByteArray *out, MimeUtf8Report **report_out,
					  GError **error);

const char *mimeutf8_charset_canonical (const char *label);

typedef struct {
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t replacements;
	int64_t first_replacement;
	...;
} MimeUtf8ConvertStats;

typedef enum {
	MIMEUTF8_CONVERT_OK = 0,
	MIMEUTF8_CONVERT_REPLACED = 1,
	MIMEUTF8_CONVERT_ERROR = 2,
	...
} MimeUtf8ConvertStatus;

MimeUtf8ConvertStatus mimeutf8_convert (const char *label, const void *data, size_t len,
					GByteArray *out, MimeUtf8ConvertStats *stats_out,
					GError **error);
MimeUtf8ConvertStatus mimeutf8_convert_text (const MimeUtf8Options *options, const char *label,
					     const void *data, size_t len, GByteArray *out,
					     MimeUtf8ConvertStats *stats_out,
					     const char **charset_out, GError **error);

typedef struct _MimeUtf8Translator MimeUtf8Translator;
MimeUtf8Translator *mimeutf8_translator_new (const char *label, GError **error);
void mimeutf8_translator_convert (MimeUtf8Translator *translator, const void *data, size_t len,
				  GByteArray *out);
void mimeutf8_translator_end (MimeUtf8Translator *translator, GByteArray *out);
void mimeutf8_translator_reset (MimeUtf8Translator *translator);
void mimeutf8_translator_get_stats (const MimeUtf8Translator *translator,
				    MimeUtf8ConvertStats *stats_out);
const char *mimeutf8_translator_get_charset (const MimeUtf8Translator *translator);
void mimeutf8_translator_free (MimeUtf8Translator *translator);

/* the command's mbox reader (plugin/mbox.c, compiled into the module), so that mimeutf8.dask
 * splits an mbox exactly as `mimeutf8 --mbox` does */
void g_byte_array_unref (GByteArray *array);
FILE *fopen (const char *path, const char *mode);
int fclose (FILE *stream);
int ferror (FILE *stream);
typedef struct _MboxReader MboxReader;
MboxReader *mbox_reader_new (FILE *in, uint64_t max_content_length);
gboolean mbox_reader_next (MboxReader *reader, GByteArray **from_line_out,
			   GByteArray **message_out, const char **separator_out,
			   gboolean *error_out);
void mbox_reader_free (MboxReader *reader);
"""

ffibuilder = cffi.FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source("mimeutf8._mimeutf8", "#include <mimeutf8.h>\n#include \"mbox.h\"\n")

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: build_ffi.py OUTPUT.c")
    ffibuilder.emit_c_code(sys.argv[1])
