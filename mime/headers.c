/* headers.c: header text to UTF-8 (RFC 2047, RFC 2231, raw 8-bit); being written. */
#include "mimeutf8-private.h"
