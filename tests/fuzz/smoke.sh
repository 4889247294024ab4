#!/bin/bash
# smoke.sh: builds the fuzz targets and runs each for a bounded number of inputs, as a check that
# nothing obvious crashes or hangs.
#   tests/fuzz/smoke.sh [SECONDS]        about SECONDS per target (default 60)
# The run is meant to be the same on every machine: a fresh seed corpus (build-fuzz/smoke/, apart
# from a long campaign's corpus-*), -seed=1 and a fixed number of executions per target (RUNS
# below, what takes about 60 s here under ASan, scaled by SECONDS/60), so that CI replays the run
# a developer saw pass; five times SECONDS bounds a slow machine.  What made runs part ways
# (measured; it once sent CI's fuzz-normalize onto a defect the run here had not met):
#   - libFuzzer runs seeds of one size in the order the directory lists them, which differs
#     between file systems: the seeds go in as a sorted list (-seed_inputs) into an empty corpus
#     that is never re-read (-reload=0);
#   - compared values, pointers among them, fed back into inputs (-use_cmp=0; the dictionary
#     gives the MIME tokens, a long campaign keeps it on), and randomized addresses (setarch -R,
#     where the system allows it);
#   - libFuzzer's leak check after an input, which runs it again when it counted more mallocs
#     than frees (-detect_leaks=0; LeakSanitizer still checks the whole run at exit).
# With these, each target's run is the same from one run to the next in one checkout, and
# fuzz-normalize's also in another checkout; the other three still part ways there after about
# 2,000 inputs (cause not found).  MIMEUTF8_FUZZ_SEED=N runs another sequence (to look further).
# Prints the executions each target reached.  On a crash, hang, leak or out-of-memory it copies
# the input into fixtures/crashers/ under a name that says which target and what happened (so it
# is committed and replayed by the crashers test) and exits non-zero.  See tests/fuzz/README.md
# for a long campaign.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/build-fuzz"
fuzz="$root/tests/fuzz"
seconds="${1:-60}"
seed="${MIMEUTF8_FUZZ_SEED:-1}"
shared="$root/../shared"
declare -A RUNS=([convert]=30000 [normalize]=2500 [headers]=100000 [view]=2500)

"$fuzz/build.sh" || exit 1
rm -rf "$out/smoke"
mkdir -p "$out/smoke"
python3 "$fuzz/seeds.py" "$out/smoke" "$root" "$shared" || exit 1

# Sanitizer findings are fatal.  Known library findings waiting for their fix are suppressed
# here (known-*.supp) so that the run looks for new ones; tests/sanitize.sh does not suppress them.
cat "$fuzz/lsan.supp" "$fuzz/known-lsan.supp" > "$out/lsan.supp"
# With leak checks, fast_unwind_on_malloc=0: GLib and libc have no frame pointers, and without it
# a leak's stack stops at vasprintf, where no suppression can match it (set per target below).
export ASAN_OPTIONS="halt_on_error=1:allocator_may_return_null=1"
export LSAN_OPTIONS="suppressions=$out/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$fuzz/known-ubsan.supp"
symbolizer="$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)"
[[ -n $symbolizer ]] && export ASAN_SYMBOLIZER_PATH="$symbolizer"

# What went wrong, in a few words fit for a file name.
describe () {
  local log="$1" what
  what="$(grep -a -m1 -oE 'harness: [^"]{1,50}' "$log" | sed 's/^harness: //; s/^headers: //')"
  [[ -z $what ]] && what="$(grep -a -m1 -oE 'runtime error: [a-z -]{1,40}' "$log" | sed 's/^runtime error: /ubsan /')"
  [[ -z $what ]] && what="$(grep -a -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer): [a-z-]+' "$log" | sed 's/.*: //')"
  [[ -z $what ]] && what="$(grep -a -m1 -oE 'ERROR: libFuzzer: [a-z -]+' "$log" | sed 's/.*: //')"
  local frame
  frame="$(grep -a -m1 -oE '#[0-9]+ 0x[0-9a-f]+ in [A-Za-z_][A-Za-z0-9_]* /[^ ]*/mime/' "$log" | awk '{print $4}')"
  [[ -n $frame ]] && what="$what $frame"
  echo "${what:-unknown}" | tr '[:upper:]' '[:lower:]' | tr -cs 'a-z0-9' '-' | sed 's/^-//; s/-$//' | cut -c1-60
}

# without address randomization, where the system allows it (see above)
norand=()
if setarch "$(uname -m)" -R true 2>/dev/null; then
  norand=(setarch "$(uname -m)" -R)
else
  echo "smoke.sh: setarch -R not allowed here: addresses are randomized, the run may differ" >&2
fi

status=0
summary=()
for target in convert normalize headers view; do
  bin="$out/fuzz-$target"
  if [[ ! -x $bin ]]; then
    summary+=("fuzz-$target: not built (see build.sh above): FAILED, a target that did not run proves nothing")
    status=1
    continue
  fi
  seeds="$out/smoke/corpus-$target"
  corpus="$out/smoke/found-$target"
  list="$out/smoke/seeds-$target.list"
  runs=$(( RUNS[$target] * seconds / 60 + 1 ))
  artifacts="$out/artifacts-$target"
  log="$out/fuzz-$target.log"
  rm -rf "$artifacts" "$corpus"
  mkdir -p "$corpus" "$artifacts"
  (cd "$seeds" && ls | LC_ALL=C sort | sed "s|^|$seeds/|" | paste -sd, -) > "$list"
  # While a known leak is waiting for its fix, fuzz-normalize runs without LeakSanitizer, twice
  # as fast (its exit check would report that leak).  tests/sanitize.sh still checks for leaks.
  leaks=1
  if [[ $target == normalize ]] && grep -q '^leak:' "$fuzz/known-lsan.supp"; then
    leaks=0
    echo "smoke.sh: fuzz-normalize without leak checks while known-lsan.supp lists a leak" >&2
  fi
  echo "smoke.sh: fuzz-$target, $runs executions, seed $seed (log: $log)" >&2
  started=$SECONDS
  ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=$leaks:fast_unwind_on_malloc=$((1 - leaks))" \
  "${norand[@]}" "$bin" "$corpus" -seed_inputs="@$list" -reload=0 -use_cmp=0 -detect_leaks=0 \
    -dict="$fuzz/mime.dict" -runs="$runs" -max_total_time=$((seconds * 5)) -seed="$seed" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" > "$log" 2>&1
  code=$?
  elapsed=$((SECONDS - started))
  execs="$(grep -m1 -oE 'stat::number_of_executed_units: [0-9]+' "$log" | awk '{print $2}')"
  if [[ -z $execs ]]; then
    execs="$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')"
  fi
  units="$(ls "$corpus" | wc -l)"
  line="fuzz-$target: ${execs:-0} executions in $elapsed s, $(ls "$seeds" | wc -l) seeds, $units new inputs"
  found=0
  for artifact in "$artifacts"/*; do
    [[ -f $artifact ]] || continue
    kind="$(basename "$artifact" | cut -d- -f1)" # crash, leak, timeout, oom, slow
    [[ $kind == slow ]] && continue
    found=1
    ext=txt
    [[ $target == normalize || $target == view ]] && ext=eml
    # an input already kept (a seed from fixtures/crashers whose bug is still open) is not copied
    known=""
    for kept in "$root"/fixtures/crashers/*; do
      if cmp -s "$artifact" "$kept"; then known="$kept"; break; fi
    done
    if [[ -n $known ]]; then
      line="$line; $kind: already fixtures/crashers/$(basename "$known")"
      continue
    fi
    name="$target-$kind-$(describe "$log")-$(sha1sum "$artifact" | cut -c1-8).$ext"
    cp "$artifact" "$root/fixtures/crashers/$name"
    line="$line; $kind: fixtures/crashers/$name"
  done
  if [[ $code -ne 0 || $found -ne 0 ]]; then
    status=1
    line="$line; FAILED (exit $code): $(grep -a -m1 -E 'harness:|ERROR:|runtime error' "$log" | cut -c1-160)"
    tail -40 "$log" >&2
  fi
  summary+=("$line")
done

echo
printf '%s\n' "${summary[@]}"
cat <<EOF

A long campaign (see tests/fuzz/README.md), e.g. fuzz-normalize on both cores for 8 hours:
  python3 $fuzz/seeds.py $out $root $shared
  ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=1:fast_unwind_on_malloc=0 LSAN_OPTIONS=$LSAN_OPTIONS \\
  UBSAN_OPTIONS=$UBSAN_OPTIONS \\
  $out/fuzz-normalize $out/corpus-normalize -dict=$fuzz/mime.dict -timeout=10 \\
    -rss_limit_mb=2048 -max_len=65536 -jobs=2 -workers=2 -max_total_time=28800 \\
    -artifact_prefix=$out/artifacts-normalize/
then copy what lands in $out/artifacts-normalize/ into fixtures/crashers/normalize-WHAT.eml.
EOF
exit $status
