#!/bin/bash
# build.sh: installs what is missing (Debian 12 packages), configures and builds mimeutf8, then
# runs what was asked:
#   ./build.sh          set-up and build only
#   ./build.sh demo     normalize the bundled sample fixtures/messages/latin1-qp.eml to stdout
#   ./build.sh test     the whole test suite (unit, CLI, corpus conformance, hostile input)
#   ./build.sh ci       the test suite, then again under ASan+UBSan (tests/sanitize.sh), the
#                       thread test and the milter under ThreadSanitizer (tests/tsan.sh,
#                       tests/milter-tsan.sh), then each fuzz target for 60 s
#                       (tests/fuzz/smoke.sh), then the mutation check
#                       (tests/mutants.py): what .ci/run does
set -euo pipefail
cd "$(dirname "$0")"

packages=(gcc libc6-dev meson ninja-build pkg-config python3
          libglib2.0-dev libgmime-3.0-dev libuchardet-dev libcmocka-dev
          valgrind groff-base libmilter-dev postfix
          python3-cffi python3-dev python3-pytest python3-distributed)
# the sanitizer run and the fuzz targets need clang with libFuzzer and its runtime
[[ ${1:-} == ci ]] && packages+=(clang libclang-rt-14-dev llvm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "build.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Postfix is for the milter tests' private instances only: the system instance gets no
  # configuration, so it neither starts nor listens
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

[[ -f build/build.ninja ]] || meson setup build >&2
ninja -C build >&2

case "${1:-}" in
  "") ;;
  demo)
    build/plugin/mimeutf8 < fixtures/messages/latin1-qp.eml ;;
  test)
    status=0
    meson test -C build --print-errorlogs "${@:2}" || status=$?
    # one plain closing line for any reader of the log
    python3 - build/meson-logs/testlog.json <<'EOF' || status=1
import json, os, sys
results = [json.loads(line)["result"] for line in open(sys.argv[1])]
passed = results.count("OK")
skipped = results.count("SKIP")
failed = len(results) - passed - skipped
print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
# under CI everything the suite needs is there (../shared too): a test that skipped did not run
if skipped and os.environ.get("CI") == "true":
    print("build.sh: CI=true and %d test(s) skipped: a test that did not run proves nothing"
          % skipped)
    sys.exit(1)
EOF
    exit $status ;;
  ci)
    status=0 fuzz=0 mutants=0 tsan=0
    "$0" test || status=$?
    tests/sanitize.sh || status=$?
    tests/tsan.sh || { status=$?; tsan=1; }
    # the milter's 50 parallel sessions under ThreadSanitizer (the library from many threads)
    tests/milter-tsan.sh || { status=$?; tsan=1; }
    tests/fuzz/smoke.sh "${MIMEUTF8_FUZZ_SECONDS:-60}" || { status=$?; fuzz=1; }
    python3 tests/mutants.py "$PWD" || { status=1; mutants=1; }
    # one closing line over the five: tests here, tests under the sanitizers, the thread test
    # under ThreadSanitizer (1), fuzz targets (3), the mutation check (1)
    python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json "$fuzz" "$mutants" "$tsan" <<'EOF'
import json, os, sys
results = [json.loads(line)["result"] for path in sys.argv[1:3] if os.path.exists(path)
           for line in open(path)]
passed = (results.count("OK") + (3 if sys.argv[3] == "0" else 0)
          + (1 if sys.argv[4] == "0" else 0) + (1 if sys.argv[5] == "0" else 0))
skipped = results.count("SKIP")
failed = len(results) + 5 - passed - skipped
print("ci: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
EOF
    exit $status ;;
  *)
    echo "usage: ./build.sh [demo|test|ci]" >&2; exit 64 ;;
esac
