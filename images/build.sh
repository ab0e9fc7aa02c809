#!/usr/bin/env bash
# Builds pxelab's boot programs from source into OUTDIR:
#   wdsnbp.com    BIOS first stage (nasm; flat binary loaded at 0000:7C00 by the PXE ROM)
#   bootx64.efi   UEFI x64, bootia32.efi UEFI IA32, bootaa64.efi UEFI ARM64
#                 (clang + lld-link: PE/COFF EFI applications from uefi/bootprog.c)
# Needs Debian's nasm, clang and lld.
set -euo pipefail
out=${1:?usage: build.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
need() { command -v "$1" >/dev/null || { echo "build.sh: $1 not found (Debian package $2)" >&2; exit 1; }; }
need nasm nasm; need clang clang; need lld-link lld

nasm -f bin -w+all -o "$out/wdsnbp.com" "$here/bios/wdsnbp.asm"

cflags=(-ffreestanding -fno-stack-protector -fno-stack-check -fshort-wchar -fno-builtin
        -mno-stack-arg-probe -nostdlib -O2 -Wall -Wextra -Werror -I "$here/uefi")
efi() { # target class output extra-cflags...
  local target=$1 class=$2 output=$3; shift 3
  local obj="$out/${output%.efi}.o"
  clang --target="$target" "${cflags[@]}" "$@" -DPXELAB_CLASS="\"$class\"" \
    -c "$here/uefi/bootprog.c" -o "$obj"
  lld-link /nologo /subsystem:efi_application /entry:efi_main /nodefaultlib \
    /out:"$out/$output" "$obj"
  rm -f "$obj"
}
efi x86_64-unknown-windows uefi-x64 bootx64.efi -mno-red-zone
efi i686-unknown-windows uefi-ia32 bootia32.efi
efi aarch64-unknown-windows uefi-arm64 bootaa64.efi -mgeneral-regs-only
