/* fuzz-view.c: libFuzzer target on a message: mimeutf8_parse, the parsed view, against the
 * normalization of the same input.  The checks are in harness.h, shared with tests/crashers.c. */
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
	harness_view_input (data, size);
	return 0;
}
