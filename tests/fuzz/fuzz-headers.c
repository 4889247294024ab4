/* fuzz-headers.c: libFuzzer target on one header field: _mimeutf8_header_normalize in the three header
 * modes.
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
	harness_headers (data, size);
	return 0;
}
