#!/bin/bash
# tsan.sh: the thread-safety test (tests/test-threads.c: 8 threads normalizing at once) under
# ThreadSanitizer, in its own build directory (build-tsan/, git-ignored), with clang.  Any report
# is a failure.  GLib's and GMime's own synchronization is invisible to it; tests/tsan.supp says
# how that is handled.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root" || exit 1
build="build-tsan"

if [[ ! -f $build/build.ninja ]]; then
  CC=clang meson setup "$build" -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug >&2 || exit 1
fi
ninja -C "$build" tests/test-threads >&2 || exit 1

# G_SLICE=always-malloc: GLib's slice allocator recycles memory between threads in ways the
# sanitizer cannot follow; with malloc it can
export G_SLICE=always-malloc
export TSAN_OPTIONS="halt_on_error=1:exitcode=66:suppressions=$root/tests/tsan.supp:print_suppressions=0"
if "$build/tests/test-threads"; then
  echo "tsan.sh (ThreadSanitizer, $build): test-threads passed, no data race reported"
else
  status=$?
  echo "tsan.sh (ThreadSanitizer, $build): test-threads FAILED (exit $status; 66 is a data race report)"
  exit "$status"
fi
