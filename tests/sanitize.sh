#!/bin/bash
# sanitize.sh: the whole test suite again under AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer, in its own build directory (build-asan/, git-ignored).
#   tests/sanitize.sh                 configure (once), build, run every test
#   tests/sanitize.sh --suite unit    arguments go to meson test
# Any finding is fatal to the test that meets it.  Leaks GLib, GMime and the dynamic loader
# make once per process are suppressed (tests/fuzz/lsan.supp); the library's own known findings
# are not (they are listed in tests/fuzz/known-*.supp, which only the fuzz smoke run uses).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root" || exit 1
build="build-asan"

if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug >&2 || exit 1
fi
ninja -C "$build" >&2 || exit 1

# fast_unwind_on_malloc=0: GLib and libc have no frame pointers; without it a leak's stack stops
# in them and its suppression cannot match
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:detect_leaks=1:fast_unwind_on_malloc=0:detect_stack_use_after_return=1:strict_string_checks=1"
export LSAN_OPTIONS="suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
symbolizer="$(command -v llvm-symbolizer || command -v addr2line || true)"
[[ $symbolizer == *llvm-symbolizer ]] && export ASAN_SYMBOLIZER_PATH="$symbolizer"
# instrumented code is slower and bigger: hostile.py's time and memory bounds, and the crashers
# replay's time bound, are scaled for it
export MIMEUTF8_HOSTILE_SLOWDOWN="${MIMEUTF8_HOSTILE_SLOWDOWN:-8}"
export MIMEUTF8_CRASHERS_SECONDS="${MIMEUTF8_CRASHERS_SECONDS:-60}"

log="$build/meson-logs/sanitize-summary.txt"
meson test -C "$build" --print-errorlogs --timeout-multiplier 4 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# one plain closing line, from meson's own summary
count () { grep -a -m1 -E "^$1: +[0-9]+" "$log" | awk '{print $NF}' | grep . || echo 0; }
echo "sanitize.sh (ASan+UBSan, $build): $(count Ok) passed, $(( $(count Fail) + $(count Timeout) + $(count 'Unexpected Pass') )) failed, $(count Skipped) skipped"
grep -a -E '^ *[0-9]+/[0-9]+ .* (FAIL|TIMEOUT|UNEXPECTEDPASS|ERROR) ' "$log" | sort -u | sed 's/^/  /'
if [[ ${CI:-} == true && $(count Skipped) -ne 0 ]]; then
  echo "sanitize.sh: CI=true and a test skipped: a test that did not run proves nothing"
  status=1
fi
exit "$status"
