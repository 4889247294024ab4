#!/bin/bash
# build.sh: installs what is missing (Debian 12 packages), configures and builds mimeutf8, then
# runs what was asked:
#   ./build.sh          set-up and build only
#   ./build.sh demo     normalize the bundled sample fixtures/messages/latin1-qp.eml to stdout
#   ./build.sh test     the whole test suite (unit, CLI, corpus conformance)
set -euo pipefail
cd "$(dirname "$0")"

packages=(gcc libc6-dev meson ninja-build pkg-config python3
          libglib2.0-dev libgmime-3.0-dev libuchardet-dev libcmocka-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "build.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
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
    python3 - build/meson-logs/testlog.json <<'EOF'
import json, sys
results = [json.loads(line)["result"] for line in open(sys.argv[1])]
passed = results.count("OK")
skipped = results.count("SKIP")
failed = len(results) - passed - skipped
print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
EOF
    exit $status ;;
  *)
    echo "usage: ./build.sh [demo|test]" >&2; exit 64 ;;
esac
