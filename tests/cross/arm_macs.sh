#!/bin/sh
# arm_macs.sh - multiply-accumulates per executed instruction of the
# aarch64 convolution kernels (default the ESPCN 64->32 3x3 layer), counted
# under qemu-user, which this x86 machine can run but not time.
#
#   tests/cross/arm_macs.sh [BUILDDIR] [IC-OC-K | dwC-K] [HxW]
#                                  (default: build-aarch64 64-32-3 4x320)
#
# A "dwC-K" shape (depthwise, C channels) counts the depthwise kernel,
# which all three paths share: it runs once, as a Cortex-A72.
#
# Method: Debian's qemu-user ships no TCG plugins, so the count comes from
# QEMU's own logs: `-d in_asm,exec,nochain` writes every translated block
# with its instructions (in_asm) and every execution of a block (exec;
# nochain makes QEMU leave the translated code after each block so that
# every execution is logged).  The script sums, over executed blocks, the
# instructions of the blocks that lie in the kernel library's .text (the
# ISA's object file: its tiles, span setup and epilogue, everything but
# memcpy/memset of border gathers, which libc runs), and divides the
# layer's MACs (out pixels x OC x K x K x IC, padding taps included, as
# q8 bench counts them) by it.  bench_conv2d runs the layer 3 times (2
# warm-ups + 1); the count covers all three.  The neon path runs as a
# Cortex-A72 (-cpu cortex-a72), neondot and neoni8mm as QEMU's max CPU.
#
# The inner loop is the kernel's block that executed the most
# instructions; its MACs per instruction are the multiply-accumulates its
# instructions do (sdot 16, smmla 32, smull/smlal on 8 lanes 8, recognized
# by their encodings: QEMU 7's disassembler prints smmla as .byte) over
# its length.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-$src/build-aarch64}
shape=${2:-64-32-3}
size=${3:-4x320}
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$src" --cross-file "$src/tests/cross/aarch64-linux-gnu.ini" \
    -Dgst=disabled -Dsanitize_tests=false
fi
meson compile -C "$dir" tests/bench/bench_conv2d >/dev/null
bin=$dir/tests/bench/bench_conv2d
log=$(mktemp)
trap 'rm -f "$log"' EXIT
op=conv2d
isas="neon neondot neoni8mm"
case $shape in dw*) op=dwconv2d; isas=neon ;; esac
for isa in $isas; do
  cpu=max
  [ "$isa" = neon ] && cpu=cortex-a72
  obj=$(find "$dir/kernels" -name "${isa}_q8_s8_${op}_requant__${isa}.c.o")
  qemu-aarch64 -cpu "$cpu" -L /usr/aarch64-linux-gnu \
    -d in_asm,exec,nochain -D "$log" "$bin" -i "$isa" -s "$size" -r 1 \
    "$shape" >/dev/null
  python3 - "$log" "$bin" "$obj" "$isa" "$cpu" "$shape" "$size" "$op" <<'PY'
import re, subprocess, sys
log, binary, obj, isa, cpu, shape, size, op = sys.argv[1:]
def syms(path):
    out = subprocess.run(["aarch64-linux-gnu-nm", "-S", "--defined-only", path],
                         capture_output=True, text=True, check=True).stdout
    r = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in "Tt":
            r[f[3]] = int(f[0], 16)
    return r
name = "q8_s8_" + op + "_requant__" + isa
in_obj, in_bin = syms(obj), syms(binary)
text = subprocess.run(["aarch64-linux-gnu-size", "-A", obj], capture_output=True,
                      text=True, check=True).stdout
tsize = int(re.search(r"^\.text\s+(\d+)", text, re.M).group(1))
# qemu-user maps a PIE at 0x5500000000.
lo = 0x5500000000 + in_bin[name] - in_obj[name]
hi = lo + tsize
# (mask, value, MACs) of the multiply-accumulate instructions.
macs_of = [(0xffe0fc00, 0x4e80a400, 32),   # smmla v.4s, v.16b, v.16b
           (0xbfe0fc00, 0x0e809400, 16),   # sdot (vector), .4s on .16b
           (0xffc0f400, 0x4f80e000, 16),   # sdot v.4s, v.16b, v.4b[i]
           (0xbfe0fc00, 0x0e20c000, 8),    # smull(2) v.8h
           (0xbfe0fc00, 0x0e208000, 8)]    # smlal(2) v.8h
def insn_macs(word):
    return next((n for mask, val, n in macs_of if word & mask == val), 0)
blocks, bmacs, runs, cur, execd = {}, {}, {}, None, 0
trace = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
insn = re.compile(r"^0x([0-9a-f]+):\s+([0-9a-f]{8})\s")
with open(log) as f:
    for line in f:
        if line.startswith("IN:"):
            cur = None
            continue
        m = insn.match(line)
        if m:
            pc = int(m.group(1), 16)
            if cur is None:
                cur = pc
                blocks[cur], bmacs[cur] = 0, 0
            blocks[cur] += 1
            bmacs[cur] += insn_macs(int(m.group(2), 16))
            continue
        m = trace.match(line)
        if m:
            pc = int(m.group(1), 16)
            if lo <= pc < hi:
                execd += blocks.get(pc, 0)
                runs[pc] = runs.get(pc, 0) + 1
if shape.startswith("dw"):
    c, k = map(int, shape[2:].split("-"))
    ic, oc, groups = c, c, c
else:
    ic, oc, k = map(int, shape.split("-"))
    groups = 1
h, w = map(int, size.split("x"))
macs = 3 * h * w * oc * k * k * ic // groups
hot = max(runs, key=lambda pc: runs[pc] * blocks[pc])
print(f"{isa:8s} -cpu {cpu:10s} {shape} on {w}x{h}: {macs} MACs, "
      f"{execd} kernel instructions executed, "
      f"{macs / execd:.2f} MACs per instruction; inner loop "
      f"{bmacs[hot]} MACs in {blocks[hot]} instructions "
      f"({bmacs[hot] / blocks[hot]:.2f}), "
      f"{100 * runs[hot] * blocks[hot] / execd:.0f} % of those executed")
PY
done
