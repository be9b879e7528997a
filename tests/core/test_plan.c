/* test_plan.c - the planner: sizes, resizes, arena reuse, fusion, threads,
 * boundary conversions, and that q8_run allocates nothing.
 *
 * The models are built with q8_builder.  Expected values come from
 * properties that hold independently of the planner's internals: a pixel
 * round trip through equal scales is the identity; a fused and an unfused
 * plan of the same network give the same bytes; any thread count gives
 * the same bytes as one thread; a plan resized to a size equals a fresh plan
 * at that size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "q8_test.h"
#include "q8_alloc_count.h"

/* q8_run must not allocate: the test program links with the allocation
 * counter of q8_alloc_count.h. */

/* A small super-resolution-shaped network:
 * u8 -> QUANTIZE -> conv3x3 1->8 -> TANH -> conv3x3 8->4 -> D2S x2 (CRD)
 * -> DEQUANTIZE -> u8.  Flags: SR_EXPOSE_H1 makes the first convolution's
 * output also a graph output, which forbids fusing the TANH into it;
 * SR_EXPOSE_S does the same for the D2S output, which forbids writing it
 * straight into its reader; SR_RESIDUAL adds a bilinear x2 upscale of the
 * quantized input to the D2S output (ESPCN's tail) before DEQUANTIZE. */
enum { SR_EXPOSE_H1 = 1, SR_EXPOSE_S = 2, SR_RESIDUAL = 4 };

static q8_model *
build_sr_model (int flags)
{
  q8_rng rng;
  q8_rng_seed (&rng, 7);
  q8_builder *b = q8_builder_new ();
  ck_assert_ptr_nonnull (b);
  int64_t px = q8_builder_add_activation (b, "pixels", Q8_DTYPE_U8, 1,
                                          1.0f / 255, 0);
  int64_t x = q8_builder_add_activation (b, "x", Q8_DTYPE_S8, 1, 1.0f / 255,
                                         -128);
  int64_t h1 = q8_builder_add_activation (b, "h1", Q8_DTYPE_S8, 8, 0.02f, 3);
  int64_t t1 = q8_builder_add_activation (b, "t1", Q8_DTYPE_S8, 8,
                                          1.0f / 127, 0);
  int64_t h2 = q8_builder_add_activation (b, "h2", Q8_DTYPE_S8, 4, 0.01f,
                                          -100);
  int64_t s = q8_builder_add_activation (b, "s", Q8_DTYPE_S8, 1, 0.01f, -100);
  int64_t out = q8_builder_add_activation (b, "out", Q8_DTYPE_U8, 1,
                                           1.0f / 255, 0);
  int64_t up = q8_builder_add_activation (b, "up", Q8_DTYPE_S8, 1,
                                          1.0f / 255, -128);
  int64_t sum = q8_builder_add_activation (b, "sum", Q8_DTYPE_S8, 1, 0.012f,
                                           -90);
  ck_assert (up >= 0 && sum >= 0);

  int8_t w1[8 * 9], w2[4 * 9 * 8];
  int32_t b1[8], b2[4];
  float s1[8], s2[4];
  q8_rng_fill_s8 (&rng, w1, sizeof w1, -127, 127);
  q8_rng_fill_s8 (&rng, w2, sizeof w2, -127, 127);
  for (int i = 0; i < 8; i++) {
    b1[i] = q8_rng_int (&rng, -20000, 20000);
    s1[i] = 0.002f + 0.001f * i;
  }
  for (int i = 0; i < 4; i++) {
    b2[i] = q8_rng_int (&rng, -2000, 2000);
    s2[i] = 0.003f + 0.0005f * i;
  }
  int64_t cw1 = q8_builder_add_const (b, "w1", Q8_DTYPE_S8, 4,
                                      (const int32_t[]) { 8, 3, 3, 1 }, w1, 0,
                                      0, s1);
  int64_t cb1 = q8_builder_add_const (b, "b1", Q8_DTYPE_S32, 1,
                                      (const int32_t[]) { 8 }, b1, 0, 0, NULL);
  int64_t cw2 = q8_builder_add_const (b, "w2", Q8_DTYPE_S8, 4,
                                      (const int32_t[]) { 4, 3, 3, 8 }, w2, 0,
                                      0, s2);
  int64_t cb2 = q8_builder_add_const (b, "b2", Q8_DTYPE_S32, 1,
                                      (const int32_t[]) { 4 }, b2, 0, 0, NULL);
  ck_assert (px >= 0 && x >= 0 && h1 >= 0 && t1 >= 0 && h2 >= 0 && s >= 0
             && out >= 0 && cw1 >= 0 && cb1 >= 0 && cw2 >= 0 && cb2 >= 0);

  int32_t conv[Q8_MAX_OP_PARAMS] = { 0 };
  conv[Q8_CONV_KH] = conv[Q8_CONV_KW] = 3;
  conv[Q8_CONV_STRIDE_H] = conv[Q8_CONV_STRIDE_W] = 1;
  conv[Q8_CONV_DILATION_H] = conv[Q8_CONV_DILATION_W] = 1;
  conv[Q8_CONV_PAD_TOP] = conv[Q8_CONV_PAD_LEFT] = 1;
  conv[Q8_CONV_PAD_BOTTOM] = conv[Q8_CONV_PAD_RIGHT] = 1;
  conv[Q8_CONV_GROUPS] = 1;
  conv[Q8_CONV_ACT_MIN] = -128;
  conv[Q8_CONV_ACT_MAX] = 127;
  int32_t tanh_p[Q8_MAX_OP_PARAMS] = { 0 };
  tanh_p[Q8_UNARY_KIND] = Q8_UNARY_TANH;
  int32_t d2s[Q8_MAX_OP_PARAMS] = { 0 };
  d2s[Q8_D2S_BLOCK] = 2;
  d2s[Q8_D2S_MODE] = Q8_D2S_CRD;

  ck_assert_int_ge (q8_builder_add_op (b, Q8_OP_QUANTIZE, 1,
                                       (uint32_t[]) { px }, 1,
                                       (uint32_t[]) { x }, NULL, 0), 0);
  ck_assert_int_ge (q8_builder_add_op (b, Q8_OP_CONV2D, 3,
                                       (uint32_t[]) { x, cw1, cb1 }, 1,
                                       (uint32_t[]) { h1 }, conv,
                                       Q8_MAX_OP_PARAMS), 0);
  ck_assert_int_ge (q8_builder_add_op (b, Q8_OP_UNARY, 1,
                                       (uint32_t[]) { h1 }, 1,
                                       (uint32_t[]) { t1 }, tanh_p,
                                       Q8_MAX_OP_PARAMS), 0);
  ck_assert_int_ge (q8_builder_add_op (b, Q8_OP_CONV2D, 3,
                                       (uint32_t[]) { t1, cw2, cb2 }, 1,
                                       (uint32_t[]) { h2 }, conv,
                                       Q8_MAX_OP_PARAMS), 0);
  ck_assert_int_ge (q8_builder_add_op (b, Q8_OP_DEPTH_TO_SPACE, 1,
                                       (uint32_t[]) { h2 }, 1,
                                       (uint32_t[]) { s }, d2s,
                                       Q8_MAX_OP_PARAMS), 0);
  if (flags & SR_RESIDUAL) {
    int32_t rs[Q8_MAX_OP_PARAMS] = { 0 };
    rs[Q8_RESIZE_FACTOR_H] = rs[Q8_RESIZE_FACTOR_W] = 2;
    rs[Q8_RESIZE_MODE] = Q8_RESIZE_BILINEAR;
    rs[Q8_RESIZE_COORD] = Q8_RESIZE_HALF_PIXEL;
    int32_t add[Q8_MAX_OP_PARAMS] = { 0 };
    add[Q8_ADD_ACT_MIN] = -128;
    add[Q8_ADD_ACT_MAX] = 127;
    ck_assert_int_ge (q8_builder_add_op (b, Q8_OP_RESIZE, 1,
                                         (uint32_t[]) { x }, 1,
                                         (uint32_t[]) { up }, rs,
                                         Q8_MAX_OP_PARAMS), 0);
    ck_assert_int_ge (q8_builder_add_op (b, Q8_OP_ADD, 2,
                                         (uint32_t[]) { s, up }, 1,
                                         (uint32_t[]) { sum }, add,
                                         Q8_MAX_OP_PARAMS), 0);
  }
  ck_assert_int_ge (q8_builder_add_op (b, Q8_OP_DEQUANTIZE, 1,
                                       (uint32_t[]) {
                                           flags & SR_RESIDUAL ? sum : s },
                                       1, (uint32_t[]) { out }, NULL, 0), 0);
  ck_assert_int_eq (q8_builder_add_input (b, (uint32_t) px), Q8_OK);
  ck_assert_int_eq (q8_builder_add_output (b, (uint32_t) out), Q8_OK);
  if (flags & SR_EXPOSE_H1)
    ck_assert_int_eq (q8_builder_add_output (b, (uint32_t) h1), Q8_OK);
  if (flags & SR_EXPOSE_S)
    ck_assert_int_eq (q8_builder_add_output (b, (uint32_t) s), Q8_OK);

  void *data;
  size_t size;
  char err[256] = "";
  q8_status st = q8_builder_write (b, &data, &size, err, sizeof err);
  ck_assert_msg (st == Q8_OK, "write: %s: %s", q8_status_str (st), err);
  q8_builder_free (b);
  q8_model *m = NULL;
  st = q8_model_load_buffer (data, size, &m, err, sizeof err);
  ck_assert_msg (st == Q8_OK, "load: %s: %s", q8_status_str (st), err);
  free (data);
  return m;
}

/* The deterministic input image of run_sr and test_bind_output. */
static void
fill_input (uint8_t *in, int w, int h)
{
  for (int i = 0; i < w * h; i++)
    in[i] = (uint8_t) (i * 37 + (i / w) * 11);
}

/* Runs m at w x h on a deterministic image; returns the malloc'ed u8 output. */
static uint8_t *
run_sr (q8_model *m, int w, int h, int threads)
{
  q8_plan *p = NULL;
  char err[256] = "";
  q8_status st = q8_plan_create (m, w, h, threads, &p, err, sizeof err);
  ck_assert_msg (st == Q8_OK, "plan %dx%d: %s", w, h, err);
  uint8_t *in = malloc ((size_t) w * h);
  uint8_t *out = malloc ((size_t) 4 * w * h);
  fill_input (in, w, h);
  ck_assert_int_eq (q8_plan_set_input_u8 (p, 0, in, (size_t) w), Q8_OK);
  ck_assert_int_eq (q8_run (p), Q8_OK);
  ck_assert_int_eq (q8_plan_get_output_u8 (p, 0, out, (size_t) 2 * w), Q8_OK);
  q8_plan_free (p);
  free (in);
  return out;
}

START_TEST (test_shapes_and_sizes)
{
  q8_model *m = build_sr_model (0);
  static const int sizes[][2] = { { 1, 1 }, { 1, 7 }, { 7, 1 }, { 13, 9 },
                                  { 64, 36 } };
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    q8_plan *p = NULL;
    char err[256];
    ck_assert_int_eq (q8_plan_create (m, sizes[i][0], sizes[i][1], 1, &p, err,
                                      sizeof err), Q8_OK);
    q8_tensor_info in, out;
    ck_assert_int_eq (q8_plan_input_info (p, 0, &in), Q8_OK);
    ck_assert_int_eq (q8_plan_output_info (p, 0, &out), Q8_OK);
    ck_assert_int_eq (in.w, sizes[i][0]);
    ck_assert_int_eq (in.h, sizes[i][1]);
    ck_assert_int_eq (out.w, 2 * sizes[i][0]);
    ck_assert_int_eq (out.h, 2 * sizes[i][1]);
    ck_assert_int_eq (out.c, 1);
    /* MACs by hand: 9*1*8 + 9*8*4 = 360 per input pixel. */
    ck_assert_uint_eq (q8_plan_macs (p),
                       (uint64_t) 360 * sizes[i][0] * sizes[i][1]);
    q8_plan_free (p);
  }
  q8_model_free (m);
}
END_TEST

START_TEST (test_bad_sizes)
{
  q8_model *m = build_sr_model (0);
  q8_plan *p = (q8_plan *) 1;
  char err[256] = "";
  ck_assert_int_eq (q8_plan_create (m, 0, 10, 1, &p, err, sizeof err),
                    Q8_ESHAPE);
  ck_assert_ptr_null (p);
  ck_assert (strstr (err, "0x10") != NULL);
  ck_assert_int_eq (q8_plan_create (m, 10, Q8_MAX_DIM + 1, 1, &p, err,
                                    sizeof err), Q8_ESHAPE);
  /* 0x0 and 65536x65536 (whose pixel count, 2^32, would wrap a 32-bit
   * size): refused before anything is sized, also by resize. */
  static const int bad[][2] = { { 0, 0 }, { 65536, 65536 }, { -1, 10 },
                                { 10, -2147483647 - 1 }, { 2147483647, 1 } };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    p = (q8_plan *) 1;
    ck_assert_int_eq (q8_plan_create (m, bad[i][0], bad[i][1], 1, &p, err,
                                      sizeof err), Q8_ESHAPE);
    ck_assert_ptr_null (p);
    ck_assert_msg (strstr (err, "outside 1x1..32768x32768") != NULL, "%s",
                   err);
  }
  ck_assert_int_eq (q8_plan_create (m, 4, 4, 1, &p, err, sizeof err), Q8_OK);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_int_eq (q8_plan_resize (p, bad[i][0], bad[i][1], err,
                                      sizeof err), Q8_ESHAPE);
    /* The plan keeps its old size and still runs. */
    q8_tensor_info info;
    ck_assert_int_eq (q8_plan_input_info (p, 0, &info), Q8_OK);
    ck_assert_int_eq (info.w, 4);
    ck_assert_int_eq (info.h, 4);
    ck_assert_int_eq (q8_run (p), Q8_OK);
  }
  q8_plan_free (p);
  p = NULL;
  ck_assert_int_eq (q8_plan_create (m, 10, 10, -1, &p, err, sizeof err),
                    Q8_EINVAL);
  ck_assert_int_eq (q8_plan_create (NULL, 10, 10, 1, &p, err, sizeof err),
                    Q8_EINVAL);
  ck_assert_int_eq (q8_run (NULL), Q8_EINVAL);
  q8_model_free (m);
}
END_TEST

START_TEST (test_resize)
{
  q8_model *m = build_sr_model (0);
  uint8_t *a = run_sr (m, 17, 11, 1);
  uint8_t *b = run_sr (m, 8, 30, 1);

  q8_plan *p = NULL;
  char err[256];
  ck_assert_int_eq (q8_plan_create (m, 8, 30, 1, &p, err, sizeof err), Q8_OK);
  ck_assert_int_eq (q8_plan_resize (p, 17, 11, err, sizeof err), Q8_OK);
  /* A failed resize keeps the previous size and a usable plan. */
  ck_assert_int_eq (q8_plan_resize (p, 0, 11, err, sizeof err), Q8_ESHAPE);
  q8_tensor_info info;
  q8_plan_input_info (p, 0, &info);
  ck_assert_int_eq (info.w, 17);
  ck_assert_int_eq (info.h, 11);

  uint8_t in[17 * 11], out[34 * 22];
  for (int i = 0; i < 17 * 11; i++)
    in[i] = (uint8_t) (i * 37 + (i / 17) * 11);
  ck_assert_int_eq (q8_plan_set_input_u8 (p, 0, in, 17), Q8_OK);
  ck_assert_int_eq (q8_run (p), Q8_OK);
  ck_assert_int_eq (q8_plan_get_output_u8 (p, 0, out, 34), Q8_OK);
  ck_assert_mem_eq (out, a, sizeof out);

  ck_assert_int_eq (q8_plan_resize (p, 8, 30, err, sizeof err), Q8_OK);
  uint8_t in2[8 * 30], out2[16 * 60];
  for (int i = 0; i < 8 * 30; i++)
    in2[i] = (uint8_t) (i * 37 + (i / 8) * 11);
  q8_plan_set_input_u8 (p, 0, in2, 8);
  q8_run (p);
  q8_plan_get_output_u8 (p, 0, out2, 16);
  ck_assert_mem_eq (out2, b, sizeof out2);
  q8_plan_free (p);
  free (a);
  free (b);
  q8_model_free (m);
}
END_TEST

START_TEST (test_fusion_is_exact)
{
  /* Fused (TANH folded into the convolution) and unfused plans agree. */
  q8_model *fused = build_sr_model (0);
  q8_model *plain = build_sr_model (SR_EXPOSE_H1);
  uint8_t *a = run_sr (fused, 23, 19, 1);
  uint8_t *b = run_sr (plain, 23, 19, 1);
  ck_assert_mem_eq (a, b, (size_t) 4 * 23 * 19);
  free (a);
  free (b);
  q8_model_free (fused);
  q8_model_free (plain);
}
END_TEST

/* Op index of the DEPTH_TO_SPACE and of its reader in build_sr_model. */
enum { SR_OP_D2S = 4 };

START_TEST (test_d2s_written_into_reader)
{
  /* The D2S runs inside its reader (DEQUANTIZE, or the residual ADD) and
   * gives the bytes of a plan where it is materialized (its output is a
   * graph output there), at sizes whose rows split into several strips
   * and threads. */
  static const int sizes[][2] = { { 1, 1 }, { 5, 3 }, { 23, 19 },
                                  { 1500, 9 }, { 37, 130 } };
  for (int residual = 0; residual <= SR_RESIDUAL; residual += SR_RESIDUAL) {
    q8_model *fused = build_sr_model (residual);
    q8_model *plain = build_sr_model (residual | SR_EXPOSE_S);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
      for (int t = 1; t <= 3; t += 2) {
        int w = sizes[i][0], h = sizes[i][1];
        uint8_t *a = run_sr (fused, w, h, t);
        uint8_t *b = run_sr (plain, w, h, t);
        ck_assert_msg (memcmp (a, b, (size_t) 4 * w * h) == 0,
                       "residual %d, %dx%d, %d threads", residual, w, h, t);
        free (a);
        free (b);
      }
    q8_plan *pf = NULL, *pp = NULL;
    char err[256];
    ck_assert_int_eq (q8_plan_create (fused, 8, 8, 1, &pf, err, sizeof err),
                      Q8_OK);
    ck_assert_int_eq (q8_plan_create (plain, 8, 8, 1, &pp, err, sizeof err),
                      Q8_OK);
    /* The reader is the op after the D2S, or after the RESIZE. */
    ck_assert_int_eq (q8_plan_op_host (pf, SR_OP_D2S),
                      residual ? SR_OP_D2S + 2 : SR_OP_D2S + 1);
    ck_assert_int_eq (q8_plan_op_host (pp, SR_OP_D2S), SR_OP_D2S);
    /* The TANH runs inside the first convolution in both. */
    ck_assert_int_eq (q8_plan_op_host (pf, 2), 1);
    ck_assert_int_eq (q8_plan_op_host (pf, 1), 1);
    ck_assert_int_eq (q8_plan_op_host (pf, 99), -1);
    q8_plan_free (pf);
    q8_plan_free (pp);
    q8_model_free (fused);
    q8_model_free (plain);
  }
}
END_TEST

START_TEST (test_bind_output)
{
  /* An output bound to a caller's buffer (a video frame) gets exactly the
   * bytes q8_plan_get_output_u8 () would have copied, at the caller's
   * stride, and nothing between its rows changes; unbinding and resizing
   * return the output to the arena.  Models: the D2S runs inside the
   * DEQUANTIZE that writes the output (dense rows only), inside the
   * residual ADD, or on its own. */
  static const int models[] = { 0, SR_RESIDUAL, SR_EXPOSE_S };
  static const int strided_ok[] = { 0, 1, 1 };
  for (size_t mi = 0; mi < 3; mi++) {
    q8_model *m = build_sr_model (models[mi]);
    const int w = 29, h = 17, ow = 2 * w, oh = 2 * h;
    uint8_t *want = run_sr (m, w, h, 2);
    q8_plan *p = NULL;
    char err[256];
    ck_assert_int_eq (q8_plan_create (m, w, h, 2, &p, err, sizeof err), Q8_OK);
    uint8_t *in = malloc ((size_t) w * h);
    fill_input (in, w, h);
    ck_assert_int_eq (q8_plan_set_input_u8 (p, 0, in, (size_t) w), Q8_OK);
    ck_assert_int_eq (q8_run (p), Q8_OK); /* warm-up: the pool's first run */
    const size_t strides[] = { (size_t) ow, (size_t) ow + 13 };
    for (int si = 0; si < 2; si++) {
      size_t st = strides[si];
      uint8_t *frame = malloc (st * oh);
      memset (frame, 0xAA, st * oh);
      /* Check's assertions allocate: none inside the counted calls. */
      /* (The arena may reuse an input's bytes once it is read: every run
       * takes its input anew, as a video element's frames do.) */
      q8_alloc_count_start ();
      q8_status bs = q8_plan_bind_output_u8 (p, 0, frame, st);
      q8_status rs = q8_plan_set_input_u8 (p, 0, in, (size_t) w);
      if (bs == Q8_OK && rs == Q8_OK)
        rs = q8_run (p);
      long allocs = q8_alloc_count_stop ();
      ck_assert_int_eq (allocs, 0);
      ck_assert_int_eq (rs, Q8_OK);
      if (si == 1 && !strided_ok[mi]) {
        ck_assert_int_eq (bs, Q8_EUNSUPPORTED);
        free (frame);
        continue;
      }
      ck_assert_msg (bs == Q8_OK, "model %zu stride %zu: %s", mi, st,
                     q8_status_str (bs));
      ck_assert_ptr_eq (q8_plan_output (p, 0), frame);
      for (int y = 0; y < oh; y++) {
        ck_assert_mem_eq (frame + y * st, want + (size_t) y * ow,
                          (size_t) ow);
        for (size_t x = (size_t) ow; x < st; x++)
          ck_assert_uint_eq (frame[y * st + x], 0xAA);
      }
      /* The _get_ functions read the bound buffer. */
      uint8_t *copy = malloc ((size_t) ow * oh);
      ck_assert_int_eq (q8_plan_get_output_u8 (p, 0, copy, (size_t) ow),
                        Q8_OK);
      ck_assert_mem_eq (copy, want, (size_t) ow * oh);
      /* Unbound: the run leaves the frame alone. */
      memset (frame, 0xAA, st * oh);
      ck_assert_int_eq (q8_plan_bind_output_u8 (p, 0, NULL, 0), Q8_OK);
      ck_assert_int_eq (q8_plan_set_input_u8 (p, 0, in, (size_t) w), Q8_OK);
      ck_assert_int_eq (q8_run (p), Q8_OK);
      for (size_t i = 0; i < st * oh; i++)
        ck_assert_uint_eq (frame[i], 0xAA);
      memset (copy, 0, (size_t) ow * oh);
      ck_assert_int_eq (q8_plan_get_output_u8 (p, 0, copy, (size_t) ow),
                        Q8_OK);
      ck_assert_mem_eq (copy, want, (size_t) ow * oh);
      free (copy);
      free (frame);
    }
    /* A resize drops the binding. */
    uint8_t *frame = malloc ((size_t) ow * oh);
    memset (frame, 0xAA, (size_t) ow * oh);
    ck_assert_int_eq (q8_plan_bind_output_u8 (p, 0, frame, (size_t) ow),
                      Q8_OK);
    ck_assert_int_eq (q8_plan_resize (p, 7, 5, err, sizeof err), Q8_OK);
    ck_assert_int_eq (q8_run (p), Q8_OK);
    for (size_t i = 0; i < (size_t) ow * oh; i++)
      ck_assert_uint_eq (frame[i], 0xAA);
    ck_assert_ptr_ne (q8_plan_output (p, 0), frame);
    /* Refusals: a stride shorter than a row; an S8 output. */
    ck_assert_int_eq (q8_plan_bind_output_u8 (p, 0, frame, 13), Q8_EINVAL);
    ck_assert_int_eq (q8_plan_bind_output_u8 (p, 1, frame, 100),
                      mi == 2 ? Q8_EUNSUPPORTED : Q8_EINVAL);
    free (frame);
    free (in);
    free (want);
    q8_plan_free (p);
    q8_model_free (m);
  }
}
END_TEST

START_TEST (test_threads_agree)
{
  q8_model *m = build_sr_model (0);
  uint8_t *one = run_sr (m, 31, 45, 1);
  for (int t = 2; t <= 5; t++) {
    uint8_t *many = run_sr (m, 31, 45, t);
    ck_assert_mem_eq (one, many, (size_t) 4 * 31 * 45);
    free (many);
  }
  uint8_t *all = run_sr (m, 31, 45, 0);
  ck_assert_mem_eq (one, all, (size_t) 4 * 31 * 45);
  free (all);
  free (one);
  q8_model_free (m);
}
END_TEST

START_TEST (test_arena_reuse)
{
  /* At W x H the activations are 1 (u8 in) + 1 (x) + 8 (h1/t1) + 4 (h2) +
   * 4 (s) + 4 (out) bytes per input pixel = 22 W H if nothing were shared
   * and h1 materialized; the most that is alive at once is t1 + h2 =
   * 12 W H (h1 is fused away).  The arena must reuse memory. */
  q8_model *m = build_sr_model (0);
  q8_plan *p = NULL;
  char err[256];
  ck_assert_int_eq (q8_plan_create (m, 64, 64, 1, &p, err, sizeof err),
                    Q8_OK);
  size_t arena = q8_plan_arena_size (p);
  ck_assert_uint_ge (arena, (size_t) 12 * 64 * 64);
  ck_assert_uint_lt (arena, (size_t) 22 * 64 * 64);
  q8_plan_free (p);
  q8_model_free (m);
}
END_TEST

START_TEST (test_run_allocates_nothing)
{
  q8_model *m = build_sr_model (0);
  for (int threads = 1; threads <= 2; threads++) {
    q8_plan *p = NULL;
    char err[256];
    ck_assert_int_eq (q8_plan_create (m, 40, 30, threads, &p, err, sizeof err),
                      Q8_OK);
    uint8_t in[40 * 30], out[80 * 60];
    memset (in, 100, sizeof in);
    float fin[40 * 30], fout[80 * 60];
    memset (fin, 0, sizeof fin);
    q8_run (p); /* warm-up */
    q8_alloc_count_start ();
    for (int i = 0; i < 5; i++) {
      q8_plan_set_input_u8 (p, 0, in, 40);
      q8_run (p);
      q8_plan_get_output_u8 (p, 0, out, 80);
      q8_plan_set_input_f32 (p, 0, fin);
      q8_plan_get_output_f32 (p, 0, fout);
    }
    ck_assert_int_eq (q8_alloc_count_stop (), 0);
    q8_plan_free (p);
  }
  q8_model_free (m);
}
END_TEST

/* u8 -> QUANTIZE (scale 1/255, zp -128) -> DEQUANTIZE -> u8: equal scales,
 * so rule S is the identity and pixels come back unchanged. */
static q8_model *
build_identity_model (void)
{
  q8_builder *b = q8_builder_new ();
  int64_t px = q8_builder_add_activation (b, "px", Q8_DTYPE_U8, 3,
                                          1.0f / 255, 0);
  int64_t x = q8_builder_add_activation (b, "x", Q8_DTYPE_S8, 3, 1.0f / 255,
                                         -128);
  int64_t y = q8_builder_add_activation (b, "y", Q8_DTYPE_U8, 3, 1.0f / 255,
                                         0);
  q8_builder_add_op (b, Q8_OP_QUANTIZE, 1, (uint32_t[]) { px }, 1,
                     (uint32_t[]) { x }, NULL, 0);
  q8_builder_add_op (b, Q8_OP_DEQUANTIZE, 1, (uint32_t[]) { x }, 1,
                     (uint32_t[]) { y }, NULL, 0);
  q8_builder_add_input (b, (uint32_t) px);
  q8_builder_add_output (b, (uint32_t) y);
  void *data;
  size_t size;
  char err[256] = "";
  q8_status st = q8_builder_write (b, &data, &size, err, sizeof err);
  ck_assert_msg (st == Q8_OK, "%s", err);
  q8_builder_free (b);
  q8_model *m = NULL;
  ck_assert_int_eq (q8_model_load_buffer (data, size, &m, err, sizeof err),
                    Q8_OK);
  free (data);
  return m;
}

START_TEST (test_boundary)
{
  q8_model *m = build_identity_model ();
  q8_plan *p = NULL;
  char err[256];
  ck_assert_int_eq (q8_plan_create (m, 5, 3, 1, &p, err, sizeof err), Q8_OK);

  /* u8 with a row stride larger than the row. */
  uint8_t in[3 * 20], out[3 * 16];
  for (int i = 0; i < 3 * 20; i++)
    in[i] = (uint8_t) (i * 29);
  ck_assert_int_eq (q8_plan_set_input_u8 (p, 0, in, 4), Q8_EINVAL);
  ck_assert_int_eq (q8_plan_set_input_u8 (p, 0, in, 20), Q8_OK);
  ck_assert_int_eq (q8_run (p), Q8_OK);
  memset (out, 0xAA, sizeof out);
  ck_assert_int_eq (q8_plan_get_output_u8 (p, 0, out, 16), Q8_OK);
  for (int y = 0; y < 3; y++) {
    ck_assert_mem_eq (out + y * 16, in + y * 20, 15);
    ck_assert_uint_eq (out[y * 16 + 15], 0xAA); /* stride gap untouched */
  }

  /* f32 NCHW in and out: quantization rounds half away from zero and
   * saturates; NaN gives the zero point (real 0). */
  float f[3 * 15], g[3 * 15];
  for (int i = 0; i < 45; i++)
    f[i] = (float) i / 255.0f;
  f[0] = 0.5f / 255;      /* half -> 1 */
  f[1] = 2.0f;            /* saturates to 255 */
  f[2] = -1.0f;           /* saturates to 0 */
  f[3] = NAN;             /* zero point: 0 */
  f[4] = 1.49f / 255;     /* 1 */
  ck_assert_int_eq (q8_plan_set_input_f32 (p, 0, f), Q8_OK);
  /* NCHW -> NHWC: channel k of pixel i is at [i * 3 + k]. */
  const uint8_t *px = q8_plan_input (p, 0);
  ck_assert_uint_eq (px[0 * 3 + 0], 1);
  ck_assert_uint_eq (px[1 * 3 + 0], 255);
  ck_assert_uint_eq (px[2 * 3 + 0], 0);
  ck_assert_uint_eq (px[3 * 3 + 0], 0);
  ck_assert_uint_eq (px[4 * 3 + 0], 1);
  ck_assert_uint_eq (px[0 * 3 + 1], 15); /* f[15] = 15/255 */
  ck_assert_uint_eq (px[2 * 3 + 2], 32); /* f[32] = 32/255 */
  ck_assert_int_eq (q8_run (p), Q8_OK);
  ck_assert_int_eq (q8_plan_get_output_f32 (p, 0, g), Q8_OK);
  for (int i = 5; i < 45; i++)
    ck_assert_float_eq_tol (g[i], f[i], 1e-6);
  q8_plan_free (p);
  q8_model_free (m);
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("plan");
  TCase *tc = tcase_create ("plan");
  tcase_add_test (tc, test_shapes_and_sizes);
  tcase_add_test (tc, test_bad_sizes);
  tcase_add_test (tc, test_resize);
  tcase_add_test (tc, test_fusion_is_exact);
  tcase_add_test (tc, test_d2s_written_into_reader);
  tcase_add_test (tc, test_bind_output);
  tcase_add_test (tc, test_threads_agree);
  tcase_add_test (tc, test_arena_reuse);
  tcase_add_test (tc, test_run_allocates_nothing);
  tcase_add_test (tc, test_boundary);
  suite_add_tcase (s, tc);
  return s;
}
