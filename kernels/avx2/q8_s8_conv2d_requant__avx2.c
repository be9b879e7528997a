/* q8_s8_conv2d_requant__avx2.c - int8 convolution with AVX2 vpmaddwd.
 *
 * Any convolution with groups = 1 whose padded span (kw * in_c rounded up
 * to 2, see q8_conv_spans.h) is at most AVX2_SPAN_MAX bytes.  A tile is 6
 * output pixels x 16 output channels (2 ymm of 8 int32 accumulators per
 * pixel: 12 of the 16 ymm registers).
 *
 * vpmaddubsw, the byte multiply-add, sums two products into a saturating
 * int16, and (x + 128) * w pairs reach 2 * 255 * 127 > 32767: it would not
 * be exact.  So the spans of a tile are first widened to int16 (once per
 * pixel and kernel row, against 2 x 16 multiply-adds per pair of bytes for
 * the 16 channels) and vpmaddwd multiplies int16 pairs into exact int32
 * sums: |x * w| <= 128 * 127, two of them far below 2^31.  The input is used
 * as it is (no offset), so the packed bias is bias - in_zp * sum(w), and
 * padding read as in_zp contributes exactly 0; the accumulator bound of
 * ARITHMETIC.md keeps every partial sum in int32.
 *
 * The epilogue (rule R, clamp, table) is the scalar q8_requant_r per
 * output: AVX2 has no 64-bit arithmetic shift or min/max, and for the
 * 3x3 layers that matter it is a small part of the work.
 *
 * Packed layout (64-byte aligned), chunk after chunk of 2 blocks of 8
 * output channels (the last chunk may have 1):
 *   int16 w[kh][P][cb][8 lanes][2]    P = span_pad / 2, zero padded
 *   int32 bias'[cb * 8], padded to 64 bytes
 */
#include <immintrin.h>

#include "q8_conv_spans.h"
#include "q8_kernels_simd.h"

#define AVX2_SPAN_MAX 1024
#define TILE 6
#define CHUNK 2
/* The int16 copies of the spans of one tile (all rows prepared at once). */
#define SPAN16_BUF 16384

typedef struct {
  int32_t nb;         /* blocks of 8 output channels */
  int32_t pairs;      /* P: pairs of span bytes per kernel row */
  size_t w_bytes;     /* weight bytes of a full chunk */
  size_t chunk_bytes; /* bytes of a full chunk */
} layout;

static size_t
align64 (size_t n)
{
  return (n + 63) & ~(size_t) 63;
}

static layout
get_layout (const q8_conv_params *p)
{
  layout l;
  l.nb = (p->out_c + 7) / 8;
  l.pairs = q8_span_padded (p, 2) / 2;
  l.w_bytes = (size_t) p->kh * l.pairs * CHUNK * 8 * 2 * sizeof (int16_t);
  l.chunk_bytes = l.w_bytes + align64 (CHUNK * 8 * sizeof (int32_t));
  return l;
}

int
q8_s8_conv2d_accepts__avx2 (const q8_conv_params *p)
{
  return p->groups == 1 && q8_span_padded (p, 2) <= AVX2_SPAN_MAX;
}

size_t
q8_s8_conv2d_packed_size__avx2 (const q8_conv_params *p)
{
  layout l = get_layout (p);
  return (size_t) (l.nb + CHUNK - 1) / CHUNK * l.chunk_bytes;
}

void
q8_s8_conv2d_pack__avx2 (const q8_conv_params *p, const int8_t *w,
                         const int32_t *bias, void *packed)
{
  layout l = get_layout (p);
  int32_t span = p->kw * p->in_c;
  size_t per_oc = (size_t) p->kh * (size_t) span;

  memset (packed, 0, q8_s8_conv2d_packed_size__avx2 (p));
  for (int32_t bi = 0; bi < l.nb; bi++) {
    int32_t c = bi / CHUNK, b = bi % CHUNK;
    int32_t cb = l.nb - c * CHUNK < CHUNK ? l.nb - c * CHUNK : CHUNK;
    uint8_t *base = (uint8_t *) packed + (size_t) c * l.chunk_bytes;
    int16_t *wb = (int16_t *) base;
    int32_t *kb = (int32_t *) (base + l.w_bytes);
    for (int32_t lane = 0; lane < 8; lane++) {
      int32_t oc = bi * 8 + lane;
      if (oc >= p->out_c)
        continue;
      for (int32_t ky = 0; ky < p->kh; ky++)
        for (int32_t s = 0; s < span; s++) {
          size_t at = ((((size_t) ky * l.pairs + s / 2) * cb + b) * 8
                       + lane) * 2 + s % 2;
          wb[at] = w[(size_t) oc * per_oc + (size_t) ky * span + s];
        }
      kb[b * 8 + lane] = q8_span_packed_bias (p, w, bias, oc, 0);
    }
  }
}

/* Widens the spans of a prepared tile (rows x TILE pointers) to int16,
 * stride16 elements apart.  Reads up to 15 bytes past a span's padded end:
 * the input's Q8_EXTRA_BYTES tail, the next pixel, or the gather buffer's
 * slack. */
static Q8_NOINLINE void
widen (const int8_t **ptr, int nky, int32_t span_pad, int32_t stride16,
       int16_t *dst)
{
  for (int r = 0; r < nky; r++)
    for (int j = 0; j < TILE; j++) {
      const int8_t *s = ptr[r * Q8_SPAN_TILE + j];
      int16_t *d = dst + ((size_t) r * TILE + j) * stride16;
      for (int32_t k = 0; k < span_pad; k += 16)
        _mm256_storeu_si256 ((__m256i *) (d + k),
          _mm256_cvtepi8_epi16 (_mm_loadu_si128 ((const __m128i *) (s + k))));
    }
}

static Q8_ALWAYS_INLINE void
tile (const q8_span_ctx *sc, const uint8_t *chunk, size_t w_bytes,
      int32_t pairs, int32_t stride16, int32_t oc0, int64_t q, int nvalid,
      int8_t *out, int16_t *buf16, const int CB)
{
  const q8_conv_params *p = sc->p;
  const int8_t *ptr[Q8_SPAN_ROWS * Q8_SPAN_TILE];
  const int16_t *wc = (const int16_t *) chunk;
  const int32_t *bias = (const int32_t *) (chunk + w_bytes);
  __m256i acc[TILE][CHUNK];

  int32_t ky0 = 0;
  int nky = p->kh < sc->rows ? p->kh : sc->rows;
  q8_span_rows (sc, q, TILE, nvalid, 0, nky, ptr);
  widen (ptr, nky, sc->span_pad, stride16, buf16);
  for (int j = 0; j < TILE; j++)
    for (int b = 0; b < CB; b++)
      acc[j][b] = _mm256_load_si256 ((const __m256i *) (bias + b * 8));

  for (;;) {
    for (int r = 0; r < nky; r++) {
      const int16_t *x = buf16 + (size_t) r * TILE * stride16;
      const int16_t *wk = wc + (size_t) (ky0 + r) * pairs * CB * 16;
      for (int32_t g = 0; g < pairs; g++) {
        __m256i wv[CHUNK];
        for (int b = 0; b < CB; b++)
          wv[b] = _mm256_load_si256 ((const __m256i *) (wk + (g * CB + b)
                                                             * 16));
        for (int j = 0; j < TILE; j++) {
          int32_t x2;
          memcpy (&x2, x + (size_t) j * stride16 + 2 * g, 4);
          __m256i xv = _mm256_set1_epi32 (x2);
          for (int b = 0; b < CB; b++)
            acc[j][b] = _mm256_add_epi32 (acc[j][b],
                                          _mm256_madd_epi16 (xv, wv[b]));
        }
      }
    }
    ky0 += nky;
    if (ky0 >= p->kh)
      break;
    nky = p->kh - ky0 < sc->rows ? p->kh - ky0 : sc->rows;
    q8_span_rows (sc, q, TILE, nvalid, ky0, nky, ptr);
    widen (ptr, nky, sc->span_pad, stride16, buf16);
  }

  int32_t a[TILE][CHUNK * 8];
  for (int j = 0; j < TILE; j++)
    for (int b = 0; b < CB; b++)
      _mm256_storeu_si256 ((__m256i *) &a[j][b * 8], acc[j][b]);
  int32_t n_oc = p->out_c - oc0 < CB * 8 ? p->out_c - oc0 : CB * 8;
  for (int j = 0; j < nvalid; j++)
    q8_conv_requant_scalar (p, a[j], oc0, n_oc,
                            out + (size_t) (q + j) * (size_t) p->out_c + oc0);
}

static void
tile_1 (const q8_span_ctx *sc, const uint8_t *chunk, size_t w_bytes,
        int32_t pairs, int32_t stride16, int32_t oc0, int64_t q, int nvalid,
        int8_t *out, int16_t *buf16)
{
  tile (sc, chunk, w_bytes, pairs, stride16, oc0, q, nvalid, out, buf16, 1);
}

static void
tile_2 (const q8_span_ctx *sc, const uint8_t *chunk, size_t w_bytes,
        int32_t pairs, int32_t stride16, int32_t oc0, int64_t q, int nvalid,
        int8_t *out, int16_t *buf16)
{
  tile (sc, chunk, w_bytes, pairs, stride16, oc0, q, nvalid, out, buf16, 2);
}

void
q8_s8_conv2d_requant__avx2 (const q8_conv_params *p, const void *packed,
                            const int8_t *in, int8_t *out, int32_t y0,
                            int32_t y1)
{
  layout l = get_layout (p);
  /* 16 bytes of slack after the gather buffers for widen (). */
  int8_t zp_buf[AVX2_SPAN_MAX + 16] __attribute__ ((aligned (32)));
  int8_t edge_buf[Q8_SPAN_BUF + 16] __attribute__ ((aligned (32)));
  int16_t buf16[SPAN16_BUF / sizeof (int16_t)] __attribute__ ((aligned (32)));
  q8_span_ctx sc;
  q8_span_init (&sc, p, in, 2, TILE, zp_buf, edge_buf);
  memset (zp_buf + sc.span_pad, 0, 16);
  memset (edge_buf + Q8_SPAN_BUF, 0, 16);
  int32_t stride16 = (sc.span_pad + 15) / 16 * 16;
  int32_t rows16 = SPAN16_BUF / (int32_t) (TILE * stride16 * sizeof (int16_t));
  if (sc.rows > rows16)
    sc.rows = rows16; /* >= 1 for spans up to AVX2_SPAN_MAX */

  int64_t q_begin = (int64_t) y0 * p->out_w, q_end = (int64_t) y1 * p->out_w;
  for (int32_t c = 0; c * CHUNK < l.nb; c++) {
    int32_t cb = l.nb - c * CHUNK < CHUNK ? l.nb - c * CHUNK : CHUNK;
    const uint8_t *chunk = (const uint8_t *) packed + (size_t) c * l.chunk_bytes;
    /* A last chunk of one block has cb = 1 strides, its bias at the same
     * offset as in a full chunk. */
    size_t w_bytes = l.w_bytes;
    for (int64_t q = q_begin; q < q_end; q += TILE) {
      int nvalid = q_end - q < TILE ? (int) (q_end - q) : TILE;
      if (cb == 2)
        tile_2 (&sc, chunk, w_bytes, l.pairs, stride16, c * CHUNK * 8, q,
                nvalid, out, buf16);
      else
        tile_1 (&sc, chunk, w_bytes, l.pairs, stride16, c * CHUNK * 8, q,
                nvalid, out, buf16);
    }
  }
}
