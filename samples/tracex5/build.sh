#!/bin/sh
# Rebuilds the committed tracex5 object from its C source with clang's BPF target (the same flags as
# test/progs/build.sh, plus the x86-64 target for bpf_tracing.h's register names).
# Usage: samples/tracex5/build.sh [CLANG]   (default: clang-19, else clang)
set -eu
cd "$(dirname "$0")"
CLANG="${1:-}"
if [ -z "$CLANG" ]; then
	if command -v clang-19 >/dev/null 2>&1; then CLANG=clang-19; else CLANG=clang; fi
fi
OUT="${OUT_DIR:-.}"
"$CLANG" -O2 -g -target bpf -D__TARGET_ARCH_x86 -I/usr/include/x86_64-linux-gnu \
	-fdebug-compilation-dir=. -fno-ident \
	-c tracex5_kern.c -o "$OUT/tracex5_kern.o"
