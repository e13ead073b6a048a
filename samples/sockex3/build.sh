#!/bin/sh
# Rebuilds the committed sockex3 objects from their C sources with clang's BPF target (the same flags as
# test/progs/build.sh: deterministic output, independent of where the repository lives).
# Usage: samples/sockex3/build.sh [CLANG]   (default: clang-19, else clang)
set -eu
cd "$(dirname "$0")"
CLANG="${1:-}"
if [ -z "$CLANG" ]; then
	if command -v clang-19 >/dev/null 2>&1; then CLANG=clang-19; else CLANG=clang; fi
fi
OUT="${OUT_DIR:-.}"
for src in sockex3_kern.c sockex3_xdp.c; do
	"$CLANG" -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
		-fdebug-compilation-dir=. -fno-ident \
		-c "$src" -o "$OUT/${src%.c}.o"
done
