/* q8_peak.c - loops that measure a core's int8 multiply-accumulate peak:
 * the widest multiply-accumulate instruction each x86 kernel path is built
 * on, issued back to back on independent accumulators (enough of them to
 * cover its latency), with no loads.  A kernel can at best match it, so
 * benchmarks report their speed as a percentage of it.
 *
 * The instructions are inline assembly, which the compiler does not check
 * against its -m flags: dispatch.c calls a loop only for a path that the
 * CPU supports.
 */
#include "q8_kernels.h"

/* Runs iters iterations of 16 instructions; returns the MACs done. */
uint64_t
q8__peak_loop (q8_isa isa, uint64_t iters, const char **what)
{
#if defined(__x86_64__)
  uint64_t it = iters;
  switch (isa) {
    case Q8_ISA_AVX512VNNI:
      __asm__ volatile (
        "1:\n"
        "vpdpbusd %%zmm1, %%zmm2, %%zmm4\n vpdpbusd %%zmm1, %%zmm2, %%zmm5\n"
        "vpdpbusd %%zmm1, %%zmm2, %%zmm6\n vpdpbusd %%zmm1, %%zmm2, %%zmm7\n"
        "vpdpbusd %%zmm1, %%zmm2, %%zmm8\n vpdpbusd %%zmm1, %%zmm2, %%zmm9\n"
        "vpdpbusd %%zmm1, %%zmm2, %%zmm10\n vpdpbusd %%zmm1, %%zmm2, %%zmm11\n"
        "vpdpbusd %%zmm1, %%zmm2, %%zmm12\n vpdpbusd %%zmm1, %%zmm2, %%zmm13\n"
        "vpdpbusd %%zmm1, %%zmm2, %%zmm14\n vpdpbusd %%zmm1, %%zmm2, %%zmm15\n"
        "vpdpbusd %%zmm1, %%zmm2, %%zmm4\n vpdpbusd %%zmm1, %%zmm2, %%zmm5\n"
        "vpdpbusd %%zmm1, %%zmm2, %%zmm6\n vpdpbusd %%zmm1, %%zmm2, %%zmm7\n"
        "dec %0\n jnz 1b\n"
        : "+r"(it) : : "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
          "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory");
      *what = "512-bit vpdpbusd loop, 64 MAC/instr";
      return iters * 16 * 64;
    case Q8_ISA_AVXVNNI:
      __asm__ volatile (
        "1:\n"
        "%{vex%} vpdpbusd %%ymm1, %%ymm2, %%ymm4\n"
        "%{vex%} vpdpbusd %%ymm1, %%ymm2, %%ymm5\n"
        "%{vex%} vpdpbusd %%ymm1, %%ymm2, %%ymm6\n"
        "%{vex%} vpdpbusd %%ymm1, %%ymm2, %%ymm7\n"
        "%{vex%} vpdpbusd %%ymm1, %%ymm2, %%ymm8\n"
        "%{vex%} vpdpbusd %%ymm1, %%ymm2, %%ymm9\n"
        "%{vex%} vpdpbusd %%ymm1, %%ymm2, %%ymm10\n"
        "%{vex%} vpdpbusd %%ymm1, %%ymm2, %%ymm11\n"
        "%{vex%} vpdpbusd %%ymm1, %%ymm2, %%ymm12\n"
        "%{vex%} vpdpbusd %%ymm1, %%ymm2, %%ymm13\n"
        "%{vex%} vpdpbusd %%ymm1, %%ymm2, %%ymm14\n"
        "%{vex%} vpdpbusd %%ymm1, %%ymm2, %%ymm15\n"
        "%{vex%} vpdpbusd %%ymm1, %%ymm2, %%ymm4\n"
        "%{vex%} vpdpbusd %%ymm1, %%ymm2, %%ymm5\n"
        "%{vex%} vpdpbusd %%ymm1, %%ymm2, %%ymm6\n"
        "%{vex%} vpdpbusd %%ymm1, %%ymm2, %%ymm7\n"
        "dec %0\n jnz 1b\n"
        : "+r"(it) : : "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
          "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory");
      *what = "256-bit vpdpbusd loop, 32 MAC/instr";
      return iters * 16 * 32;
    case Q8_ISA_AVX2:
      /* The AVX2 kernels widen to int16 and use vpmaddwd (vpmaddubsw's
       * int16 sums could saturate). */
      __asm__ volatile (
        "1:\n"
        "vpmaddwd %%ymm1, %%ymm2, %%ymm4\n vpmaddwd %%ymm1, %%ymm2, %%ymm5\n"
        "vpmaddwd %%ymm1, %%ymm2, %%ymm6\n vpmaddwd %%ymm1, %%ymm2, %%ymm7\n"
        "vpmaddwd %%ymm1, %%ymm2, %%ymm8\n vpmaddwd %%ymm1, %%ymm2, %%ymm9\n"
        "vpmaddwd %%ymm1, %%ymm2, %%ymm10\n vpmaddwd %%ymm1, %%ymm2, %%ymm11\n"
        "vpmaddwd %%ymm1, %%ymm2, %%ymm12\n vpmaddwd %%ymm1, %%ymm2, %%ymm13\n"
        "vpmaddwd %%ymm1, %%ymm2, %%ymm14\n vpmaddwd %%ymm1, %%ymm2, %%ymm15\n"
        "vpmaddwd %%ymm1, %%ymm2, %%ymm4\n vpmaddwd %%ymm1, %%ymm2, %%ymm5\n"
        "vpmaddwd %%ymm1, %%ymm2, %%ymm6\n vpmaddwd %%ymm1, %%ymm2, %%ymm7\n"
        "dec %0\n jnz 1b\n"
        : "+r"(it) : : "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
          "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory");
      *what = "256-bit vpmaddwd loop, 16 MAC/instr";
      return iters * 16 * 16;
    default:
      break;
  }
#endif
  (void) isa;
  (void) iters;
  *what = "no measuring loop for this path";
  return 0;
}
