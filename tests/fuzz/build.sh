#!/bin/bash
# build.sh: builds the libFuzzer targets (fuzz-convert, fuzz-normalize, fuzz-headers, fuzz-view) into
# build-fuzz/ at the project root, with clang, -fsanitize=fuzzer,address,undefined.  The library's
# sources (mime/*.c) are compiled into each target directly, so every run tests the tree as it is.
#   tests/fuzz/build.sh            build every target that can be built
#   CC=clang-14 tests/fuzz/build.sh
# A target whose code is not in the library yet (fuzz-headers before mime/headers.c defines
# _mimeutf8_header_normalize) is skipped, saying so; the others are still built.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/build-fuzz"
CC="${CC:-clang}"
command -v "$CC" >/dev/null || { echo "build.sh: $CC not found (apt-get install clang)" >&2; exit 1; }

# pkg-config's flags are words to split
# shellcheck disable=SC2207
cflags=(-std=gnu11 -g -O1 -fno-omit-frame-pointer "-fsanitize=address,undefined"
        -fsanitize=fuzzer-no-link -I"$root/mime" $(pkg-config --cflags gmime-3.0 uchardet))
# shellcheck disable=SC2207
libs=($(pkg-config --libs gmime-3.0 uchardet) -ldl -lpthread)

mkdir -p "$out/obj"
rm -f "$out"/obj/*.o
pids=()
for src in "$root"/mime/*.c; do
  "$CC" "${cflags[@]}" -c "$src" -o "$out/obj/$(basename "${src%.c}").o" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

built=()
for target in convert normalize headers view; do
  if [[ $target == headers ]] &&
     ! nm "$out"/obj/*.o 2>/dev/null | grep ' T _mimeutf8_header_normalize$' >/dev/null; then
    echo "build.sh: fuzz-headers not built: mime/headers.c does not define _mimeutf8_header_normalize yet" >&2
    rm -f "$out/fuzz-headers"
    continue
  fi
  "$CC" "${cflags[@]/-fsanitize=fuzzer-no-link/-fsanitize=fuzzer}" \
    "$root/tests/fuzz/fuzz-$target.c" "$out"/obj/*.o "${libs[@]}" -o "$out/fuzz-$target"
  built+=("fuzz-$target")
done
echo "build.sh: built ${built[*]} in $out" >&2
