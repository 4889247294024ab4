#!/bin/bash
# milter-tsan.sh: mimeutf8-milter and libmimeutf8 built with ThreadSanitizer (build-tsan/), then 50
# SMTP sessions at once through a private Postfix (tests/milter.py parallel).  Fails on a race
# report whose top frame is in our code (mime/, plugin/).  GLib, GMime and libmilter are not
# instrumented: their internal locks are futexes TSan cannot see, so reports whose top frame is
# in them are listed, not counted.  G_SLICE=always-malloc: GLib 2.74's slice allocator recycles
# memory between threads behind such a lock, which would make every reuse look like a race.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-tsan
# configured as tests/tsan.sh does, which shares the build directory
[[ -f $build/build.ninja ]] ||
  CC=clang meson setup "$build" -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug >/dev/null
ninja -C "$build" plugin/mimeutf8-milter plugin/mimeutf8 >/dev/null
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
status=0
# tests/tsan.supp ignores what the uninstrumented GLib, GObject and GMime call (their locks are
# invisible to ThreadSanitizer).  libmilter's locks are pthread mutexes, which it does see.
G_SLICE=always-malloc \
TSAN_OPTIONS="log_path=$logs/tsan halt_on_error=0 suppressions=$PWD/tests/tsan.supp" \
  timeout 900 python3 tests/milter.py "$build/plugin/mimeutf8-milter" "$build/plugin/mimeutf8" ../shared \
  parallel --per-session 2 || status=$?
# a report is ours when its summary names a source line of mime/ or plugin/ (an interceptor's
# address inside the executable names the build directory, not a source line)
ours=$(cat "$logs"/tsan* 2>/dev/null | grep -E '^SUMMARY: ThreadSanitizer' | grep -E '/(mime|plugin)/[^ ]*\.[ch]:[0-9]+' || true)
others=$(cat "$logs"/tsan* 2>/dev/null | grep -E '^SUMMARY: ThreadSanitizer' | grep -vE '/(mime|plugin)/[^ ]*\.[ch]:[0-9]+' || true)
if [[ -n $others ]]; then
  echo "milter-tsan: reports in uninstrumented libraries (not counted):"
  sort <<<"$others" | uniq -c
fi
if [[ -n $ours ]]; then
  printf 'milter-tsan: FAIL: reports in our code:\n%s\n' "$ours"
  cat "$logs"/tsan*
  status=1
fi
((status == 0)) && echo "milter-tsan: 50 sessions, no ThreadSanitizer report in mime/ or plugin/"
exit $status
