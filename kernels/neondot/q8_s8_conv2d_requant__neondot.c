/* q8_s8_conv2d_requant__neondot.c - int8 convolution with the ARMv8.2
 * dot product (sdot), for Cortex-A76/A55 (Raspberry Pi 5, most phones).
 *
 * Any convolution with groups = 1 whose span (kw * in_c, see
 * q8_conv_spans.h) rounded up to 4 fits Q8_SPAN_MAX.  A tile is 4 output
 * pixels x 16 output channels (4 blocks of 4): 16 int32x4 accumulators.
 * Per 16 span bytes, each pixel's 16 bytes are loaded once and each of
 * their four 4-byte groups is multiplied by element (sdot v.4s, w.16b,
 * x.4b[lane]) with the 4 x 4 weights of every block:
 *
 *   4 loads of x + 16 loads of w + 64 sdot for 1024 multiply-accumulates
 *
 * (85 instructions with the loop's own: 12.0 per instruction; 16 is
 * sdot's own.  5 pixels would need 20 accumulators, and GCC then spills or
 * copies registers and does worse).  sdot is signed x signed, so
 * the input is used as it is: the packed bias is bias - in_zp * sum(w),
 * padding read as in_zp contributes 0, and every partial sum is bounded by
 * |bias| + 256 * sum|w| < 2^31 (ARITHMETIC.md).
 *
 * Epilogue: scalar rule R (q8_requant_r), clamp, table.
 *
 * Packed layout, chunk after chunk of up to 4 blocks (cb):
 *   int8  w[kh][G][cb][4 lanes][4]    G = span rounded up to 4, / 4
 *   int32 bias'[cb * 4], padded to 64 bytes
 */
#include <arm_neon.h>

#include "q8_conv_spans.h"
#include "q8_kernels_simd.h"

#define TILE 4
#define CHUNK 4

typedef struct {
  int32_t nb;          /* blocks of 4 output channels */
  int32_t groups;      /* G */
  size_t w_bytes;      /* weight bytes of a full chunk */
  size_t chunk_bytes;
} layout;

static layout
get_layout (const q8_conv_params *p)
{
  layout l;
  l.nb = (p->out_c + 3) / 4;
  l.groups = q8_span_padded (p, 4) / 4;
  l.w_bytes = (size_t) p->kh * l.groups * CHUNK * 16;
  l.chunk_bytes = l.w_bytes + 64;
  return l;
}

int
q8_s8_conv2d_accepts__neondot (const q8_conv_params *p)
{
  return p->groups == 1 && q8_span_padded (p, 4) <= Q8_SPAN_MAX;
}

size_t
q8_s8_conv2d_packed_size__neondot (const q8_conv_params *p)
{
  layout l = get_layout (p);
  return (size_t) (l.nb + CHUNK - 1) / CHUNK * l.chunk_bytes;
}

void
q8_s8_conv2d_pack__neondot (const q8_conv_params *p, const int8_t *w,
                            const int32_t *bias, void *packed)
{
  layout l = get_layout (p);
  int32_t span = p->kw * p->in_c;
  size_t per_oc = (size_t) p->kh * (size_t) span;

  memset (packed, 0, q8_s8_conv2d_packed_size__neondot (p));
  for (int32_t oc = 0; oc < p->out_c; oc++) {
    int32_t bi = oc / 4, c = bi / CHUNK, b = bi % CHUNK, lane = oc % 4;
    int32_t cb = l.nb - c * CHUNK < CHUNK ? l.nb - c * CHUNK : CHUNK;
    int8_t *base = (int8_t *) packed + (size_t) c * l.chunk_bytes;
    for (int32_t ky = 0; ky < p->kh; ky++)
      for (int32_t s = 0; s < span; s++)
        base[(((size_t) ky * l.groups + s / 4) * cb + b) * 16 + lane * 4
             + s % 4] = w[(size_t) oc * per_oc + (size_t) ky * span + s];
    int32_t *kb = (int32_t *) (base + l.w_bytes);
    kb[b * 4 + lane] = (int32_t) ((bias != NULL ? bias[oc] : 0)
                                  - (int64_t) p->in_zp
                                    * q8_span_weight_sum (p, w, oc));
  }
}

static inline __attribute__ ((always_inline)) void
tile (const q8_span_ctx *sc, const int8_t *chunk, size_t w_bytes,
      int32_t groups, int32_t oc0, int64_t q, int nvalid, int8_t *out,
      const int CB)
{
  const q8_conv_params *p = sc->p;
  const int8_t *ptr[Q8_SPAN_ROWS * Q8_SPAN_TILE];
  const int32_t *bias = (const int32_t *) (chunk + w_bytes);
  int32x4_t acc[TILE][CHUNK];

  int32_t ky0 = 0;
  int nky = p->kh < sc->rows ? p->kh : sc->rows;
  q8_span_rows (sc, q, TILE, nvalid, 0, nky, ptr);
  for (int j = 0; j < TILE; j++)
    for (int b = 0; b < CB; b++)
      acc[j][b] = vld1q_s32 (bias + b * 4);

  for (;;) {
    for (int r = 0; r < nky; r++) {
      const int8_t *const *pr = ptr + r * Q8_SPAN_TILE;
      const int8_t *wk = chunk + (size_t) (ky0 + r) * groups * CB * 16;
      int32_t g = 0;
      for (; g + 4 <= groups; g += 4) {
        int8x16_t x[TILE];
        for (int j = 0; j < TILE; j++)
          x[j] = vld1q_s8 (pr[j] + 4 * g);
#define LANE(L)                                                            \
        for (int b = 0; b < CB; b++) {                                     \
          int8x16_t wv = vld1q_s8 (wk + ((size_t) (g + L) * CB + b) * 16); \
          for (int j = 0; j < TILE; j++)                                   \
            acc[j][b] = vdotq_laneq_s32 (acc[j][b], wv, x[j], L);          \
        }
        LANE (0)
        LANE (1)
        LANE (2)
        LANE (3)
#undef LANE
      }
      for (; g < groups; g++) {
        int8x16_t x[TILE];
        for (int j = 0; j < TILE; j++) {
          int32_t x4;
          memcpy (&x4, pr[j] + 4 * g, 4);
          x[j] = vreinterpretq_s8_s32 (vdupq_n_s32 (x4));
        }
        for (int b = 0; b < CB; b++) {
          int8x16_t wv = vld1q_s8 (wk + ((size_t) g * CB + b) * 16);
          for (int j = 0; j < TILE; j++)
            acc[j][b] = vdotq_laneq_s32 (acc[j][b], wv, x[j], 0);
        }
      }
    }
    ky0 += nky;
    if (ky0 >= p->kh)
      break;
    nky = p->kh - ky0 < sc->rows ? p->kh - ky0 : sc->rows;
    q8_span_rows (sc, q, TILE, nvalid, ky0, nky, ptr);
  }

  int32_t n_oc = p->out_c - oc0 < CB * 4 ? p->out_c - oc0 : CB * 4;
  for (int j = 0; j < nvalid; j++) {
    int32_t a[CHUNK * 4];
    for (int b = 0; b < CB; b++)
      vst1q_s32 (a + b * 4, acc[j][b]);
    int8_t *o = out + (size_t) (q + j) * (size_t) p->out_c + oc0;
    for (int32_t k = 0; k < n_oc; k++) {
      int32_t v = q8_requant_r (a[k], p->mult[oc0 + k], p->shift[oc0 + k],
                                p->out_zp, p->act_min, p->act_max);
      o[k] = (int8_t) (p->lut != NULL ? p->lut[v + 128] : v);
    }
  }
}

typedef void (*tile_fn) (const q8_span_ctx *sc, const int8_t *chunk,
                         size_t w_bytes, int32_t groups, int32_t oc0,
                         int64_t q, int nvalid, int8_t *out);

#define DEFINE_TILE(CB)                                                     \
  static void                                                               \
  tile_##CB (const q8_span_ctx *sc, const int8_t *chunk, size_t w_bytes,    \
             int32_t groups, int32_t oc0, int64_t q, int nvalid,           \
             int8_t *out)                                                   \
  {                                                                         \
    tile (sc, chunk, w_bytes, groups, oc0, q, nvalid, out, CB);             \
  }

DEFINE_TILE (1)
DEFINE_TILE (2)
DEFINE_TILE (3)
DEFINE_TILE (4)

static const tile_fn tiles[CHUNK + 1] = { NULL, tile_1, tile_2, tile_3,
                                          tile_4 };

void
q8_s8_conv2d_requant__neondot (const q8_conv_params *p, const void *packed,
                               const int8_t *in, int8_t *out, int32_t y0,
                               int32_t y1)
{
  layout l = get_layout (p);
  int8_t zp_buf[Q8_SPAN_MAX + 16] __attribute__ ((aligned (16)));
  int8_t edge_buf[Q8_SPAN_BUF] __attribute__ ((aligned (16)));
  q8_span_ctx sc;
  q8_span_init (&sc, p, in, 4, Q8_SPAN_TILE, zp_buf, edge_buf);

  int64_t q_begin = (int64_t) y0 * p->out_w, q_end = (int64_t) y1 * p->out_w;
  for (int32_t c = 0; c * CHUNK < l.nb; c++) {
    int32_t cb = l.nb - c * CHUNK < CHUNK ? l.nb - c * CHUNK : CHUNK;
    const int8_t *chunk = (const int8_t *) packed + (size_t) c * l.chunk_bytes;
    for (int64_t q = q_begin; q < q_end; q += TILE) {
      int nvalid = q_end - q < TILE ? (int) (q_end - q) : TILE;
      tiles[cb] (&sc, chunk, l.w_bytes, l.groups, c * CHUNK * 4, q, nvalid,
                 out);
    }
  }
}
