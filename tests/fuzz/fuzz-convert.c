/* fuzz-convert.c: libFuzzer target on a charset label line and bytes: mimeutf8_convert, the streaming
 * translator in random chunks, and mimeutf8_convert_text.
 * The checks are in harness.h, shared with tests/crashers.c. */
#include "harness.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
	mimeutf8_init ();
	harness_warm_up ();
	return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
	harness_convert (data, size);
	return 0;
}
