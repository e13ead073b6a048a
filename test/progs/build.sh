#!/bin/sh
# Rebuilds the committed test objects test/progs/*.o from their C sources with clang's BPF target.
# Output is deterministic: we compile from this directory with relative paths and pin the debug
# compilation directory, so the DWARF/BTF strings do not depend on where the repository lives.
# Usage: test/progs/build.sh [CLANG]   (default: clang-19, else clang)
set -eu
cd "$(dirname "$0")"
CLANG="${1:-}"
if [ -z "$CLANG" ]; then
	if command -v clang-19 >/dev/null 2>&1; then CLANG=clang-19; else CLANG=clang; fi
fi
OUT="${OUT_DIR:-.}"
for src in *.c; do
	obj="$OUT/${src%.c}.o"
	"$CLANG" -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
		-fdebug-compilation-dir=. -fno-ident \
		-c "$src" -o "$obj"
done
# Objects every loader must refuse (kept apart: the tests that load every test/progs/*.o skip this folder).
mkdir -p "$OUT/reject"
for src in reject/*.c; do
	[ -e "$src" ] || continue
	"$CLANG" -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
		-fdebug-compilation-dir=. -fno-ident \
		-c "$src" -o "$OUT/${src%.c}.o"
done
