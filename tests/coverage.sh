#!/bin/bash
# coverage.sh: the whole suite in a coverage build (build-cov/, git-ignored), then line and branch
# coverage of mime/ and plugin/ by gcovr, per file, against the goals: branches of mime/ >= 90%
# (every file >= 85%), of plugin/ >= 80%.  Exits non-zero when a goal is missed.
#   tests/coverage.sh [meson test arguments]
set -uo pipefail
# unoptimized, instrumented code is slower: the time bounds of the hostile tests are scaled
export MIMEUTF8_HOSTILE_SLOWDOWN="${MIMEUTF8_HOSTILE_SLOWDOWN:-8}"
export MIMEUTF8_CRASHERS_SECONDS="${MIMEUTF8_CRASHERS_SECONDS:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-cov"
cd "$root"
[[ -f $build/build.ninja ]] || meson setup "$build" -Db_coverage=true -Dbuildtype=debug >/dev/null
ninja -C "$build" >/dev/null || exit 1
find "$build" -name '*.gcda' -delete
meson test -C "$build" --timeout-multiplier 4 "$@" >/dev/null 2>&1 || echo "coverage.sh: the suite failed in the coverage build" >&2
summary="$build/coverage.json"
gcovr -r "$root" --object-directory "$build" -f 'mime/' -f 'plugin/' \
  --gcov-ignore-parse-errors --exclude-unreachable-branches --exclude-throw-branches \
  --json-summary "$summary" --branches --txt - | sed -n '/^File/,$p'
python3 - "$summary" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
status = 0
for area, goal, per_file in (("mime/", 90.0, 85.0), ("plugin/", 80.0, 0.0)):
    files = [f for f in data["files"] if f["filename"].startswith(area)]
    total = sum(f["branch_total"] for f in files)
    covered = sum(f["branch_covered"] for f in files)
    pct = 100.0 * covered / total if total else 0.0
    # from the counts, not gcovr's branch_percent, which is rounded (84.95% reads 85.0)
    def file_pct(f):
        return 100.0 * f["branch_covered"] / f["branch_total"] if f["branch_total"] else 100.0
    low = ["%s %.2f%%" % (f["filename"], file_pct(f)) for f in files
           if per_file and file_pct(f) < per_file]
    ok = pct >= goal and not low
    status |= not ok
    print("coverage: %s branches %.1f%% (%d of %d), goal %.0f%%%s%s: %s"
          % (area, pct, covered, total, goal,
             ", every file >= %.0f%%" % per_file if per_file else "",
             " (below: %s)" % ", ".join(low) if low else "", "met" if ok else "missed"))
sys.exit(status)
PY
