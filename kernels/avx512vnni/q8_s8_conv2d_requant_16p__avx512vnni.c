/* q8_s8_conv2d_requant_16p__avx512vnni.c - convolutions with few output
 * channels (1..15: the last layer of ESPCN, r^2 = 4, 9), pixels in lanes.
 *
 * The generic kernel puts output channels in the 16 lanes, so a layer with
 * 9 output channels leaves 7 lanes idle.  Here a zmm accumulator holds one
 * output channel of 16 neighbouring output pixels of a row, and a tile
 * computes NT x 16 pixels (NT = 2 for out_c <= 12, else 1) of all out_c
 * channels: at most 24 accumulators.
 *
 * The input is staged once per input row (not per tile): a strip of
 * columns of each input row needed is copied into a stack ring of kh row
 * slots in group-major order, T[g][col] = the 4 bytes of channels
 * 4g..4g+3 of that column (a last group past in_c takes bytes that
 * multiply zero weights), XORed with 0x80, and with the zero point in
 * place of columns outside the input and of rows above or below it.  The
 * 16 pixels of a tile at kernel column kx are then one unaligned load,
 * T[g] + x + kx.  (vpgatherdd straight from the NHWC input was 3x slower:
 * gathers are slow on CPUs with the gather-data-sampling mitigation.)
 * The weights of (ky, kx, g, oc) are one dword, broadcast into vpdpbusd.
 * vpdpbusd multiplies unsigned by signed bytes, so activations enter as
 * x + 128 and the packed bias is
 *   bias' = bias - (in_zp + 128) * sum(w),
 * which with padding read as in_zp gives bias + sum (x - in_zp) * w; the
 * partial sums stay in int32 by ARITHMETIC.md's bound, and vpdpbusd adds
 * modulo 2^32 anyway.
 *
 * Accepts groups = 1, out_c <= 15, in_c <= 64, kh, kw <= 8, stride_w = 1
 * and dilation_w = 1 (stride_h and dilation_h are free).  Tiles stay in
 * one output row and one strip of columns (as wide as the ring allows).
 *
 * Requantization is rule R with each channel's constants broadcast: the
 * short form when every shift is in 33..54 (see
 * q8_s8_conv2d_requant__avx512vnni.c for the proof), else the exact 64-bit
 * form; then vpmovsdb / vpmovsqb saturate to int8, which equals the clamp
 * of the exact value.  The 16 x out_c output bytes of a tile, held
 * channel-major in up to 4 zmm, go to NHWC order with vpermi2b (VBMI),
 * then the activation clamp and the fused table on 64 bytes at a time.
 *
 * Packed layout (64-byte aligned):
 *   int32 w[kh][kw][G][out_c]    4 weight bytes of channels 4g..4g+3,
 *                                G = ceil (in_c / 4), zero padded
 *   then out_c x oc_consts, padded to 64 bytes.
 */
#include <immintrin.h>
#include <stdint.h>

#include "q8_conv_avx512vnni.h"
#include "q8_kernels_simd.h"

#define OC_MAX 15
#define IC_MAX 64
#define K_MAX 8
#define NT_MAX 2
/* The staging ring: kh slots of G x cols dwords. */
#define RING_DWORDS 8192

typedef struct {
  int32_t bias;       /* bias - (in_zp + 128) * sum(w) */
  int32_t mult;
  int32_t fast_add;   /* short form: 2^(s-1) + out_zp * 2^s */
  int32_t fast_shift; /* short form: s = shift - 32 */
  int64_t shift;
  int64_t round;      /* 2^(shift - 1) */
} oc_consts;

static int32_t
groups_of (const q8_conv_params *p)
{
  return (p->in_c + 3) / 4;
}

static size_t
weight_bytes (const q8_conv_params *p)
{
  size_t n = (size_t) p->kh * (size_t) p->kw * (size_t) groups_of (p)
             * (size_t) p->out_c * 4;
  return (n + 63) / 64 * 64;
}

int
q8_s8_conv2d_accepts_16p__avx512vnni (const q8_conv_params *p)
{
  return p->groups == 1 && p->out_c <= OC_MAX && p->in_c <= IC_MAX
         && p->kh <= K_MAX && p->kw <= K_MAX && p->stride_w == 1
         && p->dilation_w == 1;
}

size_t
q8_s8_conv2d_packed_size_16p__avx512vnni (const q8_conv_params *p)
{
  size_t c = (size_t) p->out_c * sizeof (oc_consts);
  return weight_bytes (p) + (c + 63) / 64 * 64;
}

void
q8_s8_conv2d_pack_16p__avx512vnni (const q8_conv_params *p, const int8_t *w,
                                   const int32_t *bias, void *packed)
{
  const int32_t G = groups_of (p), ic = p->in_c;
  int8_t *wp = packed;
  memset (packed, 0, q8_s8_conv2d_packed_size_16p__avx512vnni (p));
  for (int32_t ky = 0; ky < p->kh; ky++)
    for (int32_t kx = 0; kx < p->kw; kx++)
      for (int32_t g = 0; g < G; g++)
        for (int32_t oc = 0; oc < p->out_c; oc++)
          for (int32_t i = 0; i < 4; i++) {
            int32_t c = g * 4 + i;
            size_t d = ((((size_t) ky * p->kw + kx) * G + g) * p->out_c + oc)
                       * 4 + i;
            wp[d] = c < ic ? w[(((size_t) oc * p->kh + ky) * p->kw + kx) * ic
                               + c]
                           : 0;
          }

  oc_consts *k = (oc_consts *) (wp + weight_bytes (p));
  for (int32_t oc = 0; oc < p->out_c; oc++) {
    int32_t r = p->shift[oc];
    int64_t b = (bias != NULL ? bias[oc] : 0)
                - (int64_t) (p->in_zp + 128) * q8_span_weight_sum (p, w, oc);
    k[oc].bias = (int32_t) b; /* in int32 by the accumulator bound */
    k[oc].mult = p->mult[oc];
    /* Only used when every channel has r in 33..54. */
    int32_t fs = r >= 33 && r <= 54 ? r - 32 : 1;
    k[oc].fast_shift = fs;
    k[oc].fast_add = (int32_t) (((int64_t) 1 << (fs - 1))
                                + (int64_t) p->out_zp * ((int64_t) 1 << fs));
    k[oc].shift = r;
    k[oc].round = (int64_t) 1 << (r - 1);
  }
}

/* Per-run constants. */
typedef struct {
  const q8_conv_params *p;
  const int32_t *w;            /* packed weights */
  const oc_consts *k;
  int32_t G;
  int32_t cols;                /* dwords per group in a ring slot */
  __m512i idx_out[4];          /* NHWC byte order of a tile (vpermi2b) */
  __m512i tr_idx[16];          /* staging: lane j = (j * G + g) % 32 */
  __mmask16 tr_mask[16][8];    /* lanes with (j * G + g) / 32 = m */
  __m512i act_min, act_max;
  q8_lut64 lut;                /* the fused table */
  int has_lut;
} ctx;

/* Rule R, short form, for 16 pixels of channel k: int8, saturated. */
static Q8_ALWAYS_INLINE __m128i
requant_fast (__m512i acc, const oc_consts *k)
{
  __m512i m = _mm512_set1_epi32 (k->mult);
  __m512i even = _mm512_mul_epi32 (acc, m);
  __m512i odd = _mm512_mul_epi32 (_mm512_srli_epi64 (acc, 32), m);
  /* Lane 2i: high half of even product i; lane 2i + 1: of odd one. */
  __m512i hi = _mm512_mask_shuffle_epi32 (odd, 0x5555, even, _MM_PERM_DDBB);
  hi = _mm512_add_epi32 (hi, _mm512_set1_epi32 (k->fast_add));
  hi = _mm512_sra_epi32 (hi, _mm_cvtsi32_si128 (k->fast_shift));
  return _mm512_cvtsepi32_epi8 (hi);
}

/* Rule R in 64 bits, plus out_zp, for 16 pixels of channel k. */
static Q8_ALWAYS_INLINE __m128i
requant_exact (__m512i acc, const oc_consts *k, __m512i zp64)
{
  __m512i m = _mm512_set1_epi32 (k->mult);
  __m512i rnd = _mm512_set1_epi64 (k->round);
  __m128i sh = _mm_cvtsi64_si128 (k->shift);
  __m512i even = _mm512_add_epi64 (_mm512_mul_epi32 (acc, m), rnd);
  __m512i odd = _mm512_add_epi64 (
    _mm512_mul_epi32 (_mm512_srli_epi64 (acc, 32), m), rnd);
  even = _mm512_add_epi64 (_mm512_sra_epi64 (even, sh), zp64);
  odd = _mm512_add_epi64 (_mm512_sra_epi64 (odd, sh), zp64);
  return _mm_unpacklo_epi8 (_mm512_cvtsepi64_epi8 (even),
                            _mm512_cvtsepi64_epi8 (odd));
}

/* NT x 16 output pixels of row oy from column ox0 (nvalid of them exist),
 * all OC channels; rows[ky] is kernel row ky's ring slot, whose column 0
 * is input column ox0 - pad_left.  OC, NT and FAST are constants after
 * inlining, so the accumulators live in registers. */
static Q8_ALWAYS_INLINE void
tile (const ctx *x, const int32_t *const *rows, int32_t oy, int32_t ox0,
      int nvalid, int8_t *out, const int OC, const int NT, const int FAST)
{
  const q8_conv_params *p = x->p;
  const int32_t kh = p->kh, kw = p->kw, G = x->G, cols = x->cols;
  __m512i acc[NT_MAX][OC_MAX];
#pragma GCC unroll 2
  for (int t = 0; t < NT; t++)
#pragma GCC unroll 15
    for (int c = 0; c < OC; c++)
      acc[t][c] = _mm512_set1_epi32 (x->k[c].bias);

  const int32_t *wx = x->w;
  for (int32_t ky = 0; ky < kh; ky++)
    for (int32_t kx = 0; kx < kw; kx++) {
      const int32_t *tg = rows[ky] + kx;
      for (int32_t g = 0; g < G; g++, tg += cols, wx += OC) {
        __m512i s[NT_MAX];
#pragma GCC unroll 2
        for (int t = 0; t < NT; t++)
          s[t] = _mm512_loadu_si512 (tg + 16 * t);
#pragma GCC unroll 15
        for (int c = 0; c < OC; c++) {
          __m512i wv = _mm512_set1_epi32 (wx[c]);
#pragma GCC unroll 2
          for (int t = 0; t < NT; t++)
            acc[t][c] = _mm512_dpbusd_epi32 (acc[t][c], s[t], wv);
        }
      }
    }

  const __m512i zp64 = _mm512_set1_epi64 (p->out_zp);
#pragma GCC unroll 2
  for (int t = 0; t < NT; t++) {
    int n = nvalid - 16 * t;
    if (n <= 0)
      break;
    if (n > 16)
      n = 16;
    /* Channel-major: byte c * 16 + j of z is channel c of pixel j. */
    __m512i z[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
      z[q] = _mm512_setzero_si512 ();
#pragma GCC unroll 15
    for (int c = 0; c < OC; c++) {
      __m128i b = FAST ? requant_fast (acc[t][c], &x->k[c])
                       : requant_exact (acc[t][c], &x->k[c], zp64);
      switch (c % 4) {
      case 0: z[c / 4] = _mm512_inserti32x4 (z[c / 4], b, 0); break;
      case 1: z[c / 4] = _mm512_inserti32x4 (z[c / 4], b, 1); break;
      case 2: z[c / 4] = _mm512_inserti32x4 (z[c / 4], b, 2); break;
      default: z[c / 4] = _mm512_inserti32x4 (z[c / 4], b, 3); break;
      }
    }
    int32_t nbytes = n * OC;
    int8_t *o = out + ((size_t) oy * p->out_w + (size_t) ox0 + 16 * t) * OC;
#pragma GCC unroll 4
    for (int i = 0; i < (16 * OC + 63) / 64; i++) {
      int32_t left = nbytes - 64 * i;
      if (left <= 0)
        break;
      __m512i idx = x->idx_out[i];
      __m512i v = _mm512_permutex2var_epi8 (z[0], idx, z[1]);
      if (OC > 8)
        v = _mm512_mask_blend_epi8 (_mm512_movepi8_mask (idx), v,
                                    _mm512_permutex2var_epi8 (z[2], idx,
                                                              z[3]));
      v = _mm512_min_epi8 (_mm512_max_epi8 (v, x->act_min), x->act_max);
      if (x->has_lut)
        v = q8_lut64_apply (v, &x->lut);
      __mmask64 m = left >= 64 ? ~(__mmask64) 0
                               : ((__mmask64) 1 << left) - 1;
      _mm512_mask_storeu_epi8 (o + 64 * i, m, v);
    }
  }
}

typedef void (*tile_fn) (const ctx *x, const int32_t *const *rows,
                         int32_t oy, int32_t ox0, int nvalid, int8_t *out);

#define NT_OF(OC) ((OC) <= 12 ? 2 : 1)
#define DEFINE_TILE(OC, FAST)                                               \
  static void                                                               \
  tile_##OC##_##FAST (const ctx *x, const int32_t *const *rows,            \
                      int32_t oy, int32_t ox0, int nvalid, int8_t *out)    \
  {                                                                         \
    tile (x, rows, oy, ox0, nvalid, out, OC, NT_OF (OC), FAST);             \
  }
#define DEFINE_TILES(FAST)                                                  \
  DEFINE_TILE (1, FAST) DEFINE_TILE (2, FAST) DEFINE_TILE (3, FAST)         \
  DEFINE_TILE (4, FAST) DEFINE_TILE (5, FAST) DEFINE_TILE (6, FAST)         \
  DEFINE_TILE (7, FAST) DEFINE_TILE (8, FAST) DEFINE_TILE (9, FAST)         \
  DEFINE_TILE (10, FAST) DEFINE_TILE (11, FAST) DEFINE_TILE (12, FAST)      \
  DEFINE_TILE (13, FAST) DEFINE_TILE (14, FAST) DEFINE_TILE (15, FAST)

DEFINE_TILES (0)
DEFINE_TILES (1)

#define TILES(F)                                                            \
  { tile_1_##F, tile_2_##F, tile_3_##F, tile_4_##F, tile_5_##F,             \
    tile_6_##F, tile_7_##F, tile_8_##F, tile_9_##F, tile_10_##F,            \
    tile_11_##F, tile_12_##F, tile_13_##F, tile_14_##F, tile_15_##F }
/* tiles[fast][out_c - 1] */
static const tile_fn tiles[2][OC_MAX] = { TILES (0), TILES (1) };

/* Stages input row iy, columns ix0 .. ix0 + cols - 1, into slot s
 * (T[g][col], x + 128; the zero point outside the input).  With in_c a
 * multiple of 4, 16 columns inside the input are G zmm of NHWC dwords,
 * [col][g], transposed with vpermt2d: T[g] lane j is dword j * G + g,
 * taken from the pair of zmm (2m, 2m + 1) that holds it. */
static void
stage_row (const ctx *x, const int8_t *in, int32_t iy, int32_t ix0,
           int32_t *s)
{
  const q8_conv_params *p = x->p;
  const int32_t G = x->G, cols = x->cols;
  const size_t ic = (size_t) p->in_c;
  const uint32_t zp4 = 0x01010101u * (uint8_t) (p->in_zp ^ 0x80);
  const __m512i x80 = _mm512_set1_epi8 ((char) 0x80);
  const int vec = p->in_c % 4 == 0;
  int32_t c = 0;
  while (c < cols) {
    int32_t ix = ix0 + c;
    if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
      for (int32_t g = 0; g < G; g++)
        s[(size_t) g * cols + c] = (int32_t) zp4;
      c++;
      continue;
    }
    const int8_t *src = in + ((size_t) iy * p->in_w + (size_t) ix) * ic;
    if (vec && ix + 16 <= p->in_w && c + 16 <= cols) {
      for (int32_t g = 0; g < G; g++) {
        __m512i t = _mm512_permutex2var_epi32 (
          _mm512_loadu_si512 (src), x->tr_idx[g], _mm512_loadu_si512 (src + 64));
        for (int32_t m = 1; 2 * m < G; m++)
          t = _mm512_mask_mov_epi32 (
            t, x->tr_mask[g][m],
            _mm512_permutex2var_epi32 (_mm512_loadu_si512 (src + 128 * m),
                                       x->tr_idx[g],
                                       _mm512_loadu_si512 (src + 128 * m
                                                           + 64)));
        _mm512_storeu_si512 (s + (size_t) g * cols + c,
                             _mm512_xor_si512 (t, x80));
      }
      c += 16;
      continue;
    }
    /* The last group may read up to 3 bytes past the pixel: the next
     * pixel or the input's Q8_EXTRA_BYTES tail. */
    for (int32_t g = 0; g < G; g++) {
      uint32_t v;
      memcpy (&v, src + 4 * g, 4);
      s[(size_t) g * cols + c] = (int32_t) (v ^ 0x80808080u);
    }
    c++;
  }
}

void
q8_s8_conv2d_requant_16p__avx512vnni (const q8_conv_params *p,
                                      const void *packed, const int8_t *in,
                                      int8_t *out, int32_t y0, int32_t y1)
{
  int32_t ring[RING_DWORDS] __attribute__ ((aligned (64)));
  ctx x;
  x.p = p;
  x.w = packed;
  x.k = (const oc_consts *) ((const int8_t *) packed + weight_bytes (p));
  x.G = groups_of (p);
  const int32_t kh = p->kh, step = NT_OF (p->out_c) * 16;
  /* The widest strip of whole tiles whose kh slots fit the ring:
   * kh * G * cols <= RING_DWORDS, with kh * G <= 128 leaving at least
   * 64 - 7 columns, so one tile of 32 always fits. */
  int32_t width = RING_DWORDS / (kh * x.G) - (p->kw - 1);
  width = width / step * step;
  if (width > (p->out_w + step - 1) / step * step)
    width = (p->out_w + step - 1) / step * step;
  x.cols = width + p->kw - 1;

  /* Output byte b = j * out_c + c of a tile comes from byte c * 16 + j of
   * the channel-major z registers. */
  uint8_t idx[4 * 64];
  for (int b = 0; b < 4 * 64; b++)
    idx[b] = b < 16 * p->out_c
             ? (uint8_t) (b % p->out_c * 16 + b / p->out_c) : 0;
  for (int i = 0; i < 4; i++)
    x.idx_out[i] = _mm512_loadu_si512 (idx + 64 * i);
  for (int32_t g = 0; g < x.G; g++) {
    int32_t ti[16];
    for (int32_t m = 0; m < 8; m++)
      x.tr_mask[g][m] = 0;
    for (int32_t j = 0; j < 16; j++) {
      ti[j] = (j * x.G + g) % 32;
      x.tr_mask[g][(j * x.G + g) / 32] |= (__mmask16) (1u << j);
    }
    x.tr_idx[g] = _mm512_loadu_si512 (ti);
  }
  x.act_min = _mm512_set1_epi8 ((char) p->act_min);
  x.act_max = _mm512_set1_epi8 ((char) p->act_max);
  x.has_lut = p->lut != NULL;
  q8_lut64_load (&x.lut, p->lut);

  tile_fn fn = tiles[q8_conv_short_requant (p)][p->out_c - 1];
  const size_t slot_dwords = (size_t) x.G * (size_t) x.cols;
  for (int32_t sx0 = 0; sx0 < p->out_w; sx0 += width) {
    /* Which input row each slot holds (INT32_MIN: none). */
    int32_t tag[K_MAX];
    for (int32_t s = 0; s < kh; s++)
      tag[s] = INT32_MIN;
    const int32_t ix0 = sx0 - p->pad_left;
    for (int32_t oy = y0; oy < y1; oy++) {
      const int32_t *rows[K_MAX];
      int32_t slot_of[K_MAX], used = 0; /* used: bit s = slot s taken */
      for (int32_t ky = 0; ky < kh; ky++) {
        int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        slot_of[ky] = -1;
        for (int32_t s = 0; s < kh; s++)
          if (tag[s] == iy && !(used & (1 << s))) {
            slot_of[ky] = s;
            used |= 1 << s;
            break;
          }
      }
      for (int32_t ky = 0; ky < kh; ky++) {
        if (slot_of[ky] >= 0)
          continue;
        int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        int32_t s = 0;
        while (used & (1 << s))
          s++; /* kh slots for kh rows: a free one exists */
        used |= 1 << s;
        slot_of[ky] = s;
        tag[s] = iy;
        stage_row (&x, in, iy, ix0, ring + (size_t) s * slot_dwords);
      }
      for (int32_t ky = 0; ky < kh; ky++)
        rows[ky] = ring + (size_t) slot_of[ky] * slot_dwords;
      int32_t sx1 = sx0 + width < p->out_w ? sx0 + width : p->out_w;
      for (int32_t ox0 = sx0; ox0 < sx1; ox0 += step) {
        int nvalid = sx1 - ox0 < step ? sx1 - ox0 : step;
        const int32_t *r[K_MAX];
        for (int32_t ky = 0; ky < kh; ky++)
          r[ky] = rows[ky] + (ox0 - sx0);
        fn (&x, r, oy, ox0, nvalid, out);
      }
    }
  }
}
