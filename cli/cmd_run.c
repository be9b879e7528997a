/* cmd_run.c - `q8 run MODEL.q8 IN.npy OUT.npy`: runs a model once on an
 * array from NumPy and writes the output as one.
 *
 * The input is float32 NCHW in the model input's real units (for the
 * shipped models, pixels / 255), shaped (1, C, H, W), (C, H, W) or, for one
 * channel, (H, W); it is quantized with the input's scale and zero point
 * (q8_plan_set_input_f32).  A uint8 array of the same shapes is taken as
 * 8-bit pixels (q8_plan_set_input_u8).  Each output is written as float32
 * (1, C, H, W), dequantized (q8_plan_get_output_f32).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npy.h"

#define MAX_OUTPUTS 8

static const char run_help[] =
    "usage: q8 run MODEL.q8 IN.npy OUT.npy [OUT2.npy ...] [--threads N]\n"
    "              [--isa NAME]\n"
    "\n"
    "Runs the model once on IN.npy and writes its output(s).\n"
    "\n"
    "IN.npy is float32 NCHW, shaped (1, C, H, W), (C, H, W) or (H, W) for\n"
    "one channel, in the input's real units (for the shipped models\n"
    "pixel / 255, i.e. 0..1); C must be the model input's channel count, and\n"
    "the model is planned for W x H.  A uint8 array of those shapes is taken\n"
    "as 8-bit pixels instead.  Each OUT.npy is float32 (1, C, H, W): the\n"
    "model's outputs in order, dequantized to real values.\n"
    "\n"
    "  --threads N   worker threads (0 = one per CPU, the default)\n"
    "  --isa NAME    use kernels up to this ISA (scalar, avx2, avxvnni, ...)\n";

/* Reads IN.npy and finds its channels, height and width; prints the reason
 * and returns -1 if its shape or type does not fit. */
static int
read_input (const char *path, npy_array *a, int *c, int *h, int *w)
{
  char err[256];
  if (npy_read_file (path, a, err, sizeof err) < 0) {
    cli_error ("%s: %s", path, err);
    return -1;
  }
  size_t dims[3] = { 1, 0, 0 }; /* C, H, W */
  if (a->ndim == 4 && a->shape[0] == 1)
    memcpy (dims, a->shape + 1, sizeof dims);
  else if (a->ndim == 3)
    memcpy (dims, a->shape, sizeof dims);
  else if (a->ndim == 2)
    memcpy (dims + 1, a->shape, 2 * sizeof dims[0]);
  else {
    cli_error ("%s: a %d-dimensional array%s is not (1, C, H, W), (C, H, W) "
               "or (H, W)", path, a->ndim,
               a->ndim == 4 ? " with a batch other than 1" : "");
    goto fail;
  }
  if (dims[0] < 1 || dims[0] > 65536 || dims[1] < 1 || dims[1] > Q8_MAX_DIM
      || dims[2] < 1 || dims[2] > Q8_MAX_DIM) {
    cli_error ("%s: %zu channels of %zux%zu pixels: each side must be in "
               "1..%d", path, dims[0], dims[2], dims[1], Q8_MAX_DIM);
    goto fail;
  }
  *c = (int) dims[0];
  *h = (int) dims[1];
  *w = (int) dims[2];
  return 0;
fail:
  npy_free (a);
  return -1;
}

/* Hands the array to the plan's input 0. */
static int
set_input (q8_plan *p, const npy_array *a, int c, int h, int w)
{
  q8_status st;
  if (a->dtype == NPY_F32) {
    st = q8_plan_set_input_f32 (p, 0, a->data);
  } else {
    /* Pixels: planar NCHW to the interleaved rows set_input_u8 takes. */
    size_t hw = (size_t) h * w;
    uint8_t *hwc = malloc (hw * c);
    if (hwc == NULL) {
      cli_error ("out of memory");
      return -1;
    }
    const uint8_t *src = a->data;
    for (size_t k = 0; k < (size_t) c; k++)
      for (size_t i = 0; i < hw; i++)
        hwc[i * c + k] = src[k * hw + i];
    st = q8_plan_set_input_u8 (p, 0, hwc, (size_t) w * c);
    free (hwc);
  }
  if (st != Q8_OK) {
    cli_error ("cannot set the input: %s", q8_status_str (st));
    return -1;
  }
  return 0;
}

static int
write_output (const q8_plan *p, size_t index, const char *path)
{
  q8_tensor_info t;
  if (q8_plan_output_info (p, index, &t) != Q8_OK) {
    cli_error ("no output %zu", index);
    return -1;
  }
  size_t n = (size_t) t.c * t.h * t.w;
  float *out = malloc (n * sizeof *out);
  if (out == NULL) {
    cli_error ("out of memory");
    return -1;
  }
  int rc = -1;
  char err[256];
  size_t shape[4] = { 1, (size_t) t.c, (size_t) t.h, (size_t) t.w };
  if (q8_plan_get_output_f32 (p, index, out) != Q8_OK)
    cli_error ("cannot read output %zu", index);
  else if (npy_write_file (path, NPY_F32, 4, shape, out, err, sizeof err) < 0)
    cli_error ("%s: %s", path, err);
  else
    rc = 0;
  free (out);
  return rc;
}

static int
run_main (int argc, char **argv)
{
  const char *threads_s = NULL, *isa = NULL;
  const cli_option opts[] = { { "threads", &threads_s, NULL },
                              { "isa", &isa, NULL },
                              { NULL, NULL, NULL } };
  char *pos[2 + MAX_OUTPUTS];
  int n_pos;
  int rc = cli_parse_args (&cli_cmd_run, argc, argv, opts, pos, 3,
                           2 + MAX_OUTPUTS, &n_pos);
  if (rc != CLI_CONTINUE)
    return rc;
  long threads = 0;
  if (threads_s != NULL
      && cli_parse_int ("--threads", threads_s, 0, 256, &threads) < 0)
    return CLI_EXIT_USAGE;
  if (cli_select_isa (isa) < 0)
    return CLI_EXIT_USAGE;

  const char *model_path = pos[0], *in_path = pos[1];
  size_t n_paths = (size_t) n_pos - 2;
  q8_model *m = cli_load_model (model_path);
  if (m == NULL)
    return CLI_EXIT_FAIL;
  npy_array in = { 0 };
  q8_plan *p = NULL;
  rc = CLI_EXIT_FAIL;

  size_t n_in = q8_model_num_inputs (m), n_out = q8_model_num_outputs (m);
  q8_tensor_info ti;
  if (n_in != 1 || q8_model_input_info (m, 0, &ti) != Q8_OK) {
    cli_error ("%s: the model has %zu inputs; q8 run feeds models with one",
               model_path, n_in);
    goto out;
  }
  if (n_paths > n_out) {
    cli_error ("%zu output files given, but the model has %zu output%s",
               n_paths, n_out, n_out == 1 ? "" : "s");
    rc = CLI_EXIT_USAGE;
    goto out;
  }
  int c, h, w;
  if (read_input (in_path, &in, &c, &h, &w) < 0)
    goto out;
  if (c != ti.c) {
    cli_error ("%s has %d channel%s, but the model input '%s' takes %d",
               in_path, c, c == 1 ? "" : "s", ti.name, ti.c);
    goto out;
  }
  p = cli_plan (m, model_path, w, h, (int) threads);
  if (p == NULL || set_input (p, &in, c, h, w) < 0)
    goto out;
  q8_status st = q8_run (p);
  if (st != Q8_OK) {
    cli_error ("run failed: %s", q8_status_str (st));
    goto out;
  }
  for (size_t i = 0; i < n_paths; i++)
    if (write_output (p, i, pos[2 + i]) < 0)
      goto out;
  if (n_paths < n_out)
    fprintf (stderr, "q8: note: the model has %zu outputs; wrote the first "
                     "%zu\n", n_out, n_paths);
  rc = CLI_EXIT_OK;
out:
  npy_free (&in);
  q8_plan_free (p);
  q8_model_free (m);
  return rc;
}

const cli_command cli_cmd_run = {
  "run",
  run_main,
  "run a model on a NumPy array (.npy) and write the output(s)",
  run_help,
};
