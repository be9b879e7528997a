/* q8_s8_conv2d_requant__neoni8mm.c - int8 convolution with the ARMv8.6
 * int8 matrix multiply (smmla), for Cortex-A78/X1 and later, Neoverse
 * V1/N2 (Graviton 3) and Armv9 phones.
 *
 * smmla v.4s, a.16b, b.16b multiplies the 2x8 int8 matrix a (rows: its
 * two 8-byte halves) by the transpose of the 2x8 matrix b and adds the
 * 2x2 int32 result to v, row-major: 32 multiply-accumulates, twice sdot's
 * 16.  Here a's rows are 8 span bytes of two output pixels and b's rows
 * the same 8 bytes of two output channels' weights, so v holds
 *
 *   [ pixel 0 · channel 0, pixel 0 · channel 1,
 *     pixel 1 · channel 0, pixel 1 · channel 1 ].
 *
 * Any convolution with groups = 1 whose span (kw * in_c, see
 * q8_conv_spans.h) rounded up to 8 fits Q8_SPAN_MAX.  A tile is 6 output
 * pixels (3 pairs) x 16 output channels (8 pairs): 24 accumulators.  The
 * two pixels of a pair have their spans anywhere, so a tile's spans are
 * first staged (interleaved 8 bytes at a time into pair order, 5
 * instructions per 8 bytes of the 6 pixels), once for every 16-channel
 * chunk.  Per 8 span bytes the inner loop then loads the 3 pairs by one
 * ld1 and the 8 channel pairs' weights by two ld1 of 4 registers:
 *
 *   1 load of x + 2 loads of w + 24 smmla for 768 multiply-accumulates
 *
 * (110 instructions with the loop's own, unrolled four times: 27.9 per
 * instruction; 32 is smmla's own).  Registers: 24 accumulators, 3 pixel
 * pairs, 4 weights.  Six pixels rather than eight: a fourth pair would
 * need 8 more accumulators.  The last chunk of a layer whose out_c is not
 * a multiple of 16 runs 2, 4 or 6 channel pairs (4-channel steps).
 *
 * smmla is signed x signed, so the input is used as it is, exactly as in
 * the neondot kernel: the packed bias is bias - in_zp * sum(w), padding
 * read as in_zp contributes 0, and every partial sum is bounded by
 * |bias| + 256 * sum|w| < 2^31 (ARITHMETIC.md).  The span's step padding
 * (up to 7 bytes) multiplies zero weights.
 *
 * Epilogue: zip1/zip2 of the 64-bit halves of two channel pairs give one
 * pixel's 4 consecutive channels, then vector rule R (its 32-bit form,
 * sqdmulh + srshl, when every shift of the chunk is in [32, 62], as for
 * realistic multipliers), clamp and table (q8_requant_neon.h), one store
 * of 16 bytes per pixel.
 *
 * Packed layout, chunk after chunk of 16 channels (the last one with cp
 * = 2, 4, 6 or 8 channel pairs, in a full chunk's room):
 *   int8  w[kh][G][cp][2 channels][8]    G = span rounded up to 8, / 8
 *   requant: int32 bias'[3][8][4]  the accumulators' start, per pixel
 *                                  pair and channel pair [b0 b1 b0 b1]
 *            int32 mult[16], int64 -shift[16], int32 31 - shift[16],
 *            int32 short_form (every shift of the chunk >= 32)
 * (the multipliers and shifts are in p at packing time, q8_kernels.h).
 */
#include <arm_neon.h>

#include "q8_conv_spans.h"
#include "q8_kernels_simd.h"
#include "q8_requant_neon.h"

#define PAIRS 3              /* pixel pairs per tile */
#define TILE (2 * PAIRS)     /* pixels per tile */
#define CPAIRS 8             /* channel pairs per chunk */
#define CHUNK (2 * CPAIRS)   /* channels per chunk */

typedef struct {
  int32_t bias[PAIRS][CPAIRS][4];
  int32_t mult[CHUNK];
  int64_t nshift[CHUNK];       /* -r */
  int32_t nshift31[CHUNK];     /* 31 - r, for the 32-bit form */
  int32_t short_form;          /* every r of the chunk in [32, 62] */
  int32_t pad[15];             /* 704 bytes: whole cache lines */
} requant;

typedef struct {
  int32_t groups;      /* G */
  size_t w_bytes;      /* weight bytes of a full chunk (a multiple of 128) */
  size_t chunk_bytes;
} layout;

static layout
get_layout (const q8_conv_params *p)
{
  layout l;
  l.groups = q8_span_padded (p, 8) / 8;
  l.w_bytes = (size_t) p->kh * (size_t) l.groups * CPAIRS * 16;
  l.chunk_bytes = l.w_bytes + sizeof (requant);
  return l;
}

/* Channel pairs of the chunk that starts at channel oc0: 8, or the
 * remaining channels rounded up to 4, halved. */
static int32_t
chunk_pairs (const q8_conv_params *p, int32_t oc0)
{
  int32_t n = p->out_c - oc0;
  return n >= CHUNK ? CPAIRS : (n + 3) / 4 * 2;
}

int
q8_s8_conv2d_accepts__neoni8mm (const q8_conv_params *p)
{
  return p->groups == 1 && q8_span_padded (p, 8) <= Q8_SPAN_MAX;
}

size_t
q8_s8_conv2d_packed_size__neoni8mm (const q8_conv_params *p)
{
  layout l = get_layout (p);
  return (size_t) (p->out_c + CHUNK - 1) / CHUNK * l.chunk_bytes;
}

void
q8_s8_conv2d_pack__neoni8mm (const q8_conv_params *p, const int8_t *w,
                             const int32_t *bias, void *packed)
{
  layout l = get_layout (p);
  int32_t span = p->kw * p->in_c;
  size_t per_oc = (size_t) p->kh * (size_t) span;

  memset (packed, 0, q8_s8_conv2d_packed_size__neoni8mm (p));
  for (int32_t oc = 0; oc < p->out_c; oc++) {
    int32_t c = oc / CHUNK, k = oc % CHUNK, cp = k / 2, half = k % 2;
    int32_t cpn = chunk_pairs (p, c * CHUNK);
    int8_t *base = (int8_t *) packed + (size_t) c * l.chunk_bytes;
    const int8_t *wo = w + (size_t) oc * per_oc;
    for (int32_t ky = 0; ky < p->kh; ky++, wo += span) {
      int8_t *d = base + ((size_t) ky * l.groups * cpn + cp) * 16 + half * 8;
      int32_t s = 0;
      for (; s + 8 <= span; s += 8, d += cpn * 16)
        memcpy (d, wo + s, 8);
      for (int32_t i = 0; s + i < span; i++)
        d[i] = wo[s + i];
    }
    int32_t sum = q8_span_weight_sum (p, w, oc);
    int32_t b = (int32_t) ((bias != NULL ? bias[oc] : 0)
                           - (int64_t) p->in_zp * sum);
    requant *rq = (requant *) (base + l.w_bytes);
    for (int pp = 0; pp < PAIRS; pp++) {
      rq->bias[pp][cp][half] = b;
      rq->bias[pp][cp][2 + half] = b;
    }
    rq->mult[k] = p->mult[oc];
    rq->nshift[k] = -p->shift[oc];
    rq->nshift31[k] = 31 - p->shift[oc];
  }
  /* The 32-bit rule R form where a chunk's shifts allow it (realistic
   * multipliers m < 1/2 have r >= 32); padding channels do not count. */
  for (int32_t c = 0; c * CHUNK < p->out_c; c++) {
    requant *rq = (requant *) ((int8_t *) packed + (size_t) c * l.chunk_bytes
                               + l.w_bytes);
    rq->short_form = 1;
    for (int32_t oc = c * CHUNK; oc < p->out_c && oc < (c + 1) * CHUNK; oc++)
      if (p->shift[oc] < 32)
        rq->short_form = 0;
  }
}

/* One 8-byte step of the 3 pixel pairs from 16-byte registers of the 6
 * pixels va..vf (lo: their first halves, hi: their second), stored in
 * step order. */
#define STAGE_ZIP(va, vb, vc, vd, ve, vf)                                  \
    "zip1 v24.2d, v" #va ".2d, v" #vb ".2d\n"                            \
    "zip1 v25.2d, v" #vc ".2d, v" #vd ".2d\n"                            \
    "zip1 v26.2d, v" #ve ".2d, v" #vf ".2d\n"                            \
    "zip2 v27.2d, v" #va ".2d, v" #vb ".2d\n"                            \
    "zip2 v28.2d, v" #vc ".2d, v" #vd ".2d\n"                            \
    "zip2 v29.2d, v" #ve ".2d, v" #vf ".2d\n"                            \
    "st1 {v24.16b-v26.16b}, [%[st]], #48\n"                              \
    "st1 {v27.16b-v29.16b}, [%[st]], #48\n"

/* Stages n >= 1 blocks of 64 span bytes of the 6 pixels at x[0..6) into
 * st (8 steps of 48 bytes each); returns st advanced.  Written out: GCC
 * loads each ld1 of 4 registers into v0-v3 and moves them away. */
static inline __attribute__ ((always_inline)) int8_t *
stage_64 (const int8_t *const *x, int8_t *st, int32_t n)
{
  const int8_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3], *x4 = x[4];
  const int8_t *x5 = x[5];
  __asm__ volatile (
    "1:\n"
    "ld1 {v0.16b-v3.16b}, [%[x0]], #64\n"
    "ld1 {v4.16b-v7.16b}, [%[x1]], #64\n"
    "ld1 {v8.16b-v11.16b}, [%[x2]], #64\n"
    "ld1 {v12.16b-v15.16b}, [%[x3]], #64\n"
    "ld1 {v16.16b-v19.16b}, [%[x4]], #64\n"
    "ld1 {v20.16b-v23.16b}, [%[x5]], #64\n"
    STAGE_ZIP (0, 4, 8, 12, 16, 20)
    STAGE_ZIP (1, 5, 9, 13, 17, 21)
    STAGE_ZIP (2, 6, 10, 14, 18, 22)
    STAGE_ZIP (3, 7, 11, 15, 19, 23)
    "subs %w[n], %w[n], #1\n"
    "b.ne 1b\n"
    : [st] "+r" (st), [x0] "+r" (x0), [x1] "+r" (x1), [x2] "+r" (x2),
      [x3] "+r" (x3), [x4] "+r" (x4), [x5] "+r" (x5), [n] "+r" (n)
    :
    : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8",
      "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18",
      "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28",
      "v29");
  return st;
}

/* Interleaves the spans of the TILE pixels ptr[r * Q8_SPAN_TILE + j],
 * rows r < nky (span_pad bytes each), into st in the order the inner loop
 * reads them: for each row and 8-byte step, the 3 pixel pairs' 16 bytes
 * [x_2i[8 bytes], x_2i+1[8 bytes]].  Reading a pair in the loop would cost
 * ldr d + ld1 {.d}[1] per chunk; staged, one ld1 of 3 registers brings
 * all three, and 64 span bytes of the 6 pixels are staged by 6 ld1, 24
 * zips and 8 st1, once for all chunks. */
static Q8_NOINLINE void
stage (const int8_t *const *ptr, int nky, int32_t span_pad, int8_t *st)
{
  for (int r = 0; r < nky; r++) {
    const int8_t *const *x = ptr + r * Q8_SPAN_TILE;
    int32_t k = span_pad / 64 * 64;
    if (k > 0)
      st = stage_64 (x, st, span_pad / 64);
    for (; k + 16 <= span_pad; k += 16) {
      int8x16x3_t lo, hi;
      for (int pp = 0; pp < PAIRS; pp++) {
        int64x2_t e = vreinterpretq_s64_s8 (vld1q_s8 (x[2 * pp] + k));
        int64x2_t o = vreinterpretq_s64_s8 (vld1q_s8 (x[2 * pp + 1] + k));
        lo.val[pp] = vreinterpretq_s8_s64 (vzip1q_s64 (e, o));
        hi.val[pp] = vreinterpretq_s8_s64 (vzip2q_s64 (e, o));
      }
      vst1q_s8_x3 (st, lo);
      vst1q_s8_x3 (st + 48, hi);
      st += 96;
    }
    if (k < span_pad) {
      int8x16x3_t lo;
      for (int pp = 0; pp < PAIRS; pp++)
        lo.val[pp] = vcombine_s8 (vld1_s8 (x[2 * pp] + k),
                                  vld1_s8 (x[2 * pp + 1] + k));
      vst1q_s8_x3 (st, lo);
      st += 48;
    }
  }
}

/* The inner loop, written out because GCC keeps neither 24 accumulators
 * nor the weight loads in registers in the same loop in intrinsics (see
 * the neondot kernel).  Registers: v0-v23 acc[pp][cp] = v(8 pp + cp),
 * v24-v26 the staged 16 bytes of pixel pairs 0-2, v28-v31 four channel
 * pairs' weights. */
#define I8MM_X "ld1 {v24.16b-v26.16b}, [%[x]], #48\n"

/* Channel pair of acc a0 (pixel pair 0), a1, a2, weights in v<wr>. */
#define I8MM_MM(a0, a1, a2, wr)                                            \
    "smmla v" #a0 ".4s, v24.16b, v" #wr ".16b\n"                         \
    "smmla v" #a1 ".4s, v25.16b, v" #wr ".16b\n"                         \
    "smmla v" #a2 ".4s, v26.16b, v" #wr ".16b\n"

#define I8MM_W4_0                                                          \
    "ld1 {v28.16b-v31.16b}, [%[w]], #64\n"                               \
    I8MM_MM (0, 8, 16, 28) I8MM_MM (1, 9, 17, 29)                          \
    I8MM_MM (2, 10, 18, 30) I8MM_MM (3, 11, 19, 31)
#define I8MM_W4_4                                                          \
    "ld1 {v28.16b-v31.16b}, [%[w]], #64\n"                               \
    I8MM_MM (4, 12, 20, 28) I8MM_MM (5, 13, 21, 29)                        \
    I8MM_MM (6, 14, 22, 30) I8MM_MM (7, 15, 23, 31)
#define I8MM_W2_0                                                          \
    "ld1 {v28.16b-v29.16b}, [%[w]], #32\n"                               \
    I8MM_MM (0, 8, 16, 28) I8MM_MM (1, 9, 17, 29)
#define I8MM_W2_4                                                          \
    "ld1 {v28.16b-v29.16b}, [%[w]], #32\n"                               \
    I8MM_MM (4, 12, 20, 28) I8MM_MM (5, 13, 21, 29)

/* acc = init, then n >= 1 steps of 8 bytes of the staged input x, four
 * per iteration (1, 2 or 3 first); acc stored to a.  STEP is one step for
 * the chunk's channel pairs. */
#define I8MM_LOOP(STEP)                                                    \
  __asm__ volatile (                                                       \
    "ld1 {v0.4s-v3.4s}, [%[init]], #64\n"                                \
    "ld1 {v4.4s-v7.4s}, [%[init]], #64\n"                                \
    "ld1 {v8.4s-v11.4s}, [%[init]], #64\n"                               \
    "ld1 {v12.4s-v15.4s}, [%[init]], #64\n"                              \
    "ld1 {v16.4s-v19.4s}, [%[init]], #64\n"                              \
    "ld1 {v20.4s-v23.4s}, [%[init]]\n"                                   \
    "tbz %w[n], #0, 8f\n"                                                \
    STEP                                                                   \
    "8:\n"                                                                \
    "tbz %w[n], #1, 9f\n"                                                \
    STEP                                                                   \
    STEP                                                                   \
    "9:\n"                                                                \
    "lsr %w[n], %w[n], #2\n"                                             \
    "cbz %w[n], 7f\n"                                                     \
    "1:\n"                                                                \
    STEP                                                                   \
    STEP                                                                   \
    STEP                                                                   \
    STEP                                                                   \
    "subs %w[n], %w[n], #1\n"                                            \
    "b.ne 1b\n"                                                           \
    "7:\n"                                                                \
    "st1 {v0.4s-v3.4s}, [%[a]], #64\n"                                   \
    "st1 {v4.4s-v7.4s}, [%[a]], #64\n"                                   \
    "st1 {v8.4s-v11.4s}, [%[a]], #64\n"                                  \
    "st1 {v12.4s-v15.4s}, [%[a]], #64\n"                                 \
    "st1 {v16.4s-v19.4s}, [%[a]], #64\n"                                 \
    "st1 {v20.4s-v23.4s}, [%[a]]\n"                                      \
    : [a] "+r" (a), [init] "+r" (init), [x] "+r" (x), [w] "+r" (w),      \
      [n] "+r" (n)                                                        \
    :                                                                     \
    : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7",     \
      "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17", \
      "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26",      \
      "v28", "v29", "v30", "v31")

/* acc = init + the products of n >= 1 staged steps at x with the weights
 * at w, for CP channel pairs; returns w advanced past them.  init and acc
 * may be the same array. */
static inline __attribute__ ((always_inline)) const int8_t *
mm (int32x4_t acc[PAIRS][CPAIRS], const int32_t *init, const int8_t *x,
    const int8_t *w, int32_t n, const int CP)
{
  int32_t *a = (int32_t *) acc;
  switch (CP) {
  case 2: I8MM_LOOP (I8MM_X I8MM_W2_0); break;
  case 4: I8MM_LOOP (I8MM_X I8MM_W4_0); break;
  case 6: I8MM_LOOP (I8MM_X I8MM_W4_0 I8MM_W2_4); break;
  default: I8MM_LOOP (I8MM_X I8MM_W4_0 I8MM_W4_4); break;
  }
  return w;
}

/* The accumulators of one pixel pair, acc[cp] = [p0 c0, p0 c1, p1 c0,
 * p1 c1], as each pixel's 4-channel blocks: t[pixel][block] (zip1/zip2
 * of the 64-bit halves of two channel pairs); blocks past CP / 2 are 0. */
static inline __attribute__ ((always_inline)) void
unzip_pair (const int32x4_t acc[CPAIRS], int32x4_t t[2][4], const int CP)
{
  for (int b = 0; b < 4; b++) {
    if (b < CP / 2) {
      int64x2_t lo = vreinterpretq_s64_s32 (acc[2 * b]);
      int64x2_t hi = vreinterpretq_s64_s32 (acc[2 * b + 1]);
      t[0][b] = vreinterpretq_s32_s64 (vzip1q_s64 (lo, hi));
      t[1][b] = vreinterpretq_s32_s64 (vzip2q_s64 (lo, hi));
    } else {
      t[0][b] = t[1][b] = vdupq_n_s32 (0);
    }
  }
}

/* One chunk of CP channel pairs for the TILE pixels from q: their spans
 * staged in st (all kh rows, when all_rows), else gathered to ptr and
 * staged here sc->rows at a time. */
static inline __attribute__ ((always_inline)) void
tile (const q8_span_ctx *sc, const int8_t *chunk, size_t w_bytes,
      int32_t groups, int32_t oc0, int64_t q, int nvalid, int8_t *out,
      const int8_t **ptr, int8_t *st, int all_rows, const int CP)
{
  const q8_conv_params *p = sc->p;
  const requant *rq = (const requant *) (chunk + w_bytes);
  int32x4_t acc[PAIRS][CPAIRS] __attribute__ ((aligned (16)));

  if (all_rows) {
    mm (acc, &rq->bias[0][0][0], st, chunk, p->kh * groups, CP);
  } else {
    const int8_t *wk = chunk;
    const int32_t *init = &rq->bias[0][0][0];
    for (int32_t ky0 = 0; ky0 < p->kh; ky0 += sc->rows) {
      int nky = p->kh - ky0 < sc->rows ? p->kh - ky0 : sc->rows;
      q8_span_rows (sc, q, TILE, nvalid, ky0, nky, ptr);
      stage (ptr, nky, sc->span_pad, st);
      wk = mm (acc, init, st, wk, nky * groups, CP);
      init = (const int32_t *) acc;
    }
  }

  /* Epilogue, per pixel pair: its two pixels' 4-channel blocks from two
   * channel pairs each, rule R (the 32-bit form when the chunk's shifts
   * allow it) with the chunk's parameters held in registers, clamp; then
   * table and store.  (Small per-pair arrays: GCC keeps them in
   * registers, a whole tile's it spills.) */
  int32_t n_oc = p->out_c - oc0 < CHUNK ? p->out_c - oc0 : CHUNK;
  int8_t *o = out + (size_t) q * (size_t) p->out_c + oc0;
  int8x16_t v[TILE];
  int32x4x4_t m = vld1q_s32_x4 (rq->mult);
  int16x8_t zp = vdupq_n_s16 ((int16_t) p->out_zp);
  int8x16_t qmin = vdupq_n_s8 ((int8_t) p->act_min);
  int8x16_t qmax = vdupq_n_s8 ((int8_t) p->act_max);
  if (rq->short_form) {
    int32x4x4_t sh = vld1q_s32_x4 (rq->nshift31);
    for (int pp = 0; pp < PAIRS; pp++) {
      int32x4_t t[2][4];
      unzip_pair (acc[pp], t, CP);
      for (int j = 0; j < 2; j++) {
        for (int b = 0; b < CP / 2; b++)
          t[j][b] = q8_requant_r_short_s32x4 (t[j][b], m.val[b], sh.val[b]);
        v[2 * pp + j] = q8_requant_finish_s8x16 (t[j][0], t[j][1], t[j][2],
                                                 t[j][3], zp, qmin, qmax);
      }
    }
  } else {
    int64x2x4_t s0 = vld1q_s64_x4 (rq->nshift);
    int64x2x4_t s1 = vld1q_s64_x4 (rq->nshift + 8);
    const int64x2_t sh[8] = { s0.val[0], s0.val[1], s0.val[2], s0.val[3],
                              s1.val[0], s1.val[1], s1.val[2], s1.val[3] };
    for (int pp = 0; pp < PAIRS; pp++) {
      int32x4_t t[2][4];
      unzip_pair (acc[pp], t, CP);
      for (int j = 0; j < 2; j++) {
        for (int b = 0; b < CP / 2; b++)
          t[j][b] = q8_requant_r_s32x4 (t[j][b], m.val[b], sh[2 * b],
                                        sh[2 * b + 1]);
        v[2 * pp + j] = q8_requant_finish_s8x16 (t[j][0], t[j][1], t[j][2],
                                                 t[j][3], zp, qmin, qmax);
      }
    }
  }
  q8_lut_store_s8x16 (v, TILE, nvalid, p->lut, o, (size_t) p->out_c, n_oc);
}

typedef void (*tile_fn) (const q8_span_ctx *sc, const int8_t *chunk,
                         size_t w_bytes, int32_t groups, int32_t oc0,
                         int64_t q, int nvalid, int8_t *out,
                         const int8_t **ptr, int8_t *st, int all_rows);

#define DEFINE_TILE(CP)                                                     \
  static void                                                               \
  tile_##CP (const q8_span_ctx *sc, const int8_t *chunk, size_t w_bytes,    \
             int32_t groups, int32_t oc0, int64_t q, int nvalid,           \
             int8_t *out, const int8_t **ptr, int8_t *st, int all_rows)    \
  {                                                                         \
    tile (sc, chunk, w_bytes, groups, oc0, q, nvalid, out, ptr, st,         \
          all_rows, CP);                                                    \
  }

DEFINE_TILE (2)
DEFINE_TILE (4)
DEFINE_TILE (6)
DEFINE_TILE (8)

static const tile_fn tiles[CPAIRS + 1] = { NULL, NULL, tile_2, NULL, tile_4,
                                           NULL, tile_6, NULL, tile_8 };

void
q8_s8_conv2d_requant__neoni8mm (const q8_conv_params *p, const void *packed,
                                const int8_t *in, int8_t *out, int32_t y0,
                                int32_t y1)
{
  layout l = get_layout (p);
  int8_t zp_buf[Q8_SPAN_MAX + 16] __attribute__ ((aligned (16)));
  int8_t edge_buf[Q8_SPAN_BUF] __attribute__ ((aligned (16)));
  /* The rows staged at once (sc.rows) hold at most Q8_SPAN_BUF /
   * Q8_SPAN_TILE bytes per pixel (q8_span_init). */
  int8_t st[TILE * (Q8_SPAN_BUF / Q8_SPAN_TILE)] __attribute__ ((aligned (16)));
  const int8_t *ptr[Q8_SPAN_ROWS * Q8_SPAN_TILE];
  q8_span_ctx sc;
  q8_span_init (&sc, p, in, 8, Q8_SPAN_TILE, zp_buf, edge_buf);

  /* When every kernel row's spans fit the gather buffers at once (all
   * layers but the widest), they are gathered once for 2 tiles (12 of the
   * Q8_SPAN_TILE slots), and each tile's are staged once for every
   * 16-channel chunk. */
  int all_rows = sc.rows >= p->kh;
  const int span_px = all_rows ? Q8_SPAN_TILE / TILE * TILE : TILE;
  int64_t q_begin = (int64_t) y0 * p->out_w, q_end = (int64_t) y1 * p->out_w;
  for (int64_t q0 = q_begin; q0 < q_end; q0 += span_px) {
    int n0 = q_end - q0 < span_px ? (int) (q_end - q0) : span_px;
    if (all_rows)
      q8_span_rows (&sc, q0, span_px, n0, 0, p->kh, ptr);
    for (int t = 0; t * TILE < n0; t++) {
      int64_t q = q0 + t * TILE;
      int nvalid = n0 - t * TILE < TILE ? n0 - t * TILE : TILE;
      if (all_rows)
        stage (ptr + t * TILE, p->kh, sc.span_pad, st);
      for (int32_t oc0 = 0; oc0 < p->out_c; oc0 += CHUNK) {
        const int8_t *chunk = (const int8_t *) packed
                              + (size_t) (oc0 / CHUNK) * l.chunk_bytes;
        tiles[chunk_pairs (p, oc0)] (&sc, chunk, l.w_bytes, l.groups, oc0,
                                     q, nvalid, out, ptr, st, all_rows);
      }
    }
  }
}
