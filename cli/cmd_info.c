/* cmd_info.c - `q8 info MODEL.q8 [--size WxH]`: what a model file holds
 * (format version, metadata, graph inputs and outputs, every op) and what
 * it costs at one input size (shapes, MACs per op and per frame, arena).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char info_help[] =
    "usage: q8 info MODEL.q8 [--size WxH]\n"
    "\n"
    "Shows a model: file size, format version, every metadata key with its\n"
    "type, the graph inputs and outputs (type, channels, scale, zero point)\n"
    "and every op; then, planned at an input of WxH pixels (default\n"
    "640x360), the input and output shapes, the multiply-accumulates per\n"
    "frame (total and per op) and the activation arena size.\n"
    "\n"
    "  --size WxH   input size to plan for (default 640x360)\n"
    "\n"
    "Exit status: 0, or 1 if the model cannot be read or cannot be planned\n"
    "at the --size given.\n";

/* Prints s with anything outside printable ASCII escaped (and, in quoted
 * strings, quotes and backslashes): strings come from the model file and
 * must not reach a terminal raw. */
static void
print_escaped (const char *s, int quoted)
{
  for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++) {
    if (*p < 0x20 || *p > 0x7e || (quoted && (*p == '\\' || *p == '"')))
      printf ("\\x%02x", *p);
    else
      putchar (*p);
  }
}

/* The shortest %g form of v that reads back exactly. */
static void
print_double (double v)
{
  char buf[64];
  for (int prec = 6; prec <= 17; prec++) {
    snprintf (buf, sizeof buf, "%.*g", prec, v);
    double back;
    if (sscanf (buf, "%lf", &back) == 1 && back == v)
      break;
  }
  fputs (buf, stdout);
}

/* A scale: the shortest form that reads back as the same float, with
 * "(1/N)" when it is the float nearest to 1/N. */
static void
print_scale (float scale)
{
  char buf[32];
  for (int prec = 6; prec <= 9; prec++) {
    snprintf (buf, sizeof buf, "%.*g", prec, (double) scale);
    float back;
    if (sscanf (buf, "%f", &back) == 1 && back == scale)
      break;
  }
  fputs (buf, stdout);
  if (scale > 0 && scale <= 1) {
    double n = round (1.0 / scale);
    if (n >= 1 && n <= 65536 && (float) (1.0 / n) == scale)
      printf (" (1/%.0f)", n);
  }
}

/* "4,880,640,000". */
static void
print_count (uint64_t v)
{
  char digits[32];
  int n = snprintf (digits, sizeof digits, "%llu", (unsigned long long) v);
  for (int i = 0; i < n; i++) {
    if (i > 0 && (n - i) % 3 == 0)
      putchar (',');
    putchar (digits[i]);
  }
}

static void
print_tensor (size_t index, const q8_tensor_info *t)
{
  printf ("  %zu  '", index);
  print_escaped (t->name, 1);
  printf ("'  %s  %d channel%s  scale ", q8_dtype_name (t->dtype), t->c,
          t->c == 1 ? "" : "s");
  print_scale (t->scale);
  printf ("  zero point %d\n", t->zero_point);
}

/* Reads the format version from the header (FORMAT.md: u16 major at 8, u16
 * minor at 10); the loader has already validated the file. */
static int
read_version (const char *path, unsigned *major, unsigned *minor)
{
  unsigned char h[12];
  FILE *f = fopen (path, "rb");
  if (f == NULL)
    return -1;
  size_t n = fread (h, 1, sizeof h, f);
  fclose (f);
  if (n != sizeof h)
    return -1;
  *major = (unsigned) h[8] | (unsigned) h[9] << 8;
  *minor = (unsigned) h[10] | (unsigned) h[11] << 8;
  return 0;
}

static void
print_model (const char *path, const q8_model *m)
{
  struct stat st;
  unsigned major, minor;
  printf ("file      %s\n", path);
  if (stat (path, &st) == 0) {
    printf ("size      ");
    print_count ((uint64_t) st.st_size);
    printf (" bytes\n");
  }
  if (read_version (path, &major, &minor) == 0)
    printf ("format    q8 %u.%u\n", major, minor);

  size_t n_meta = q8_model_meta_count (m);
  printf ("metadata  %zu key%s\n", n_meta, n_meta == 1 ? "" : "s");
  for (size_t i = 0; i < n_meta; i++) {
    q8_meta_entry e;
    if (q8_model_meta_get (m, i, &e) != Q8_OK)
      continue;
    printf ("  ");
    print_escaped (e.key, 0);
    printf ("%*s", (int) (strlen (e.key) < 20 ? 20 - strlen (e.key) : 1), "");
    switch (e.type) {
      case Q8_META_INT:
        printf ("int     %lld\n", (long long) e.i);
        break;
      case Q8_META_FLOAT:
        printf ("float   ");
        print_double (e.f);
        printf ("\n");
        break;
      case Q8_META_STRING:
        printf ("string  \"");
        print_escaped (e.s, 1);
        printf ("\"\n");
        break;
      default:
        printf ("type %d\n", (int) e.type);
        break;
    }
  }

  size_t n_in = q8_model_num_inputs (m), n_out = q8_model_num_outputs (m);
  printf ("inputs    %zu\n", n_in);
  for (size_t i = 0; i < n_in; i++) {
    q8_tensor_info t;
    if (q8_model_input_info (m, i, &t) == Q8_OK)
      print_tensor (i, &t);
  }
  printf ("outputs   %zu\n", n_out);
  for (size_t i = 0; i < n_out; i++) {
    q8_tensor_info t;
    if (q8_model_output_info (m, i, &t) == Q8_OK)
      print_tensor (i, &t);
  }

  size_t n_ops = q8_model_num_ops (m);
  printf ("ops       %zu\n", n_ops);
  for (size_t i = 0; i < n_ops; i++) {
    char desc[512] = "";
    const char *type = q8_model_op_type (m, i);
    if (q8_model_op_describe (m, i, desc, sizeof desc) != Q8_OK)
      desc[0] = '\0';
    printf ("  %2zu  %-15s ", i, type != NULL ? type : "?");
    print_escaped (desc, 0);
    printf ("\n");
  }
}

static void
print_plan (const q8_model *m, const q8_plan *p, int w, int h)
{
  printf ("at %dx%d\n", w, h);
  for (size_t i = 0; i < q8_model_num_inputs (m); i++) {
    q8_tensor_info t;
    if (q8_plan_input_info (p, i, &t) == Q8_OK)
      printf ("  input %zu   %dx%d, %d channel%s\n", i, t.w, t.h, t.c,
              t.c == 1 ? "" : "s");
  }
  for (size_t i = 0; i < q8_model_num_outputs (m); i++) {
    q8_tensor_info t;
    if (q8_plan_output_info (p, i, &t) == Q8_OK)
      printf ("  output %zu  %dx%d, %d channel%s\n", i, t.w, t.h, t.c,
              t.c == 1 ? "" : "s");
  }
  uint64_t total = q8_plan_macs (p);
  printf ("  MACs      ");
  print_count (total);
  printf (" per frame (%.3f G)\n", (double) total * 1e-9);
  for (size_t i = 0; i < q8_model_num_ops (m); i++) {
    uint64_t macs = q8_plan_op_macs (p, i);
    if (macs == 0)
      continue;
    const char *type = q8_model_op_type (m, i);
    printf ("    op %-3zu %-15s ", i, type != NULL ? type : "?");
    print_count (macs);
    printf ("  (%.1f%%)\n", total > 0 ? 100.0 * (double) macs / total : 0.0);
  }
  size_t arena = q8_plan_arena_size (p);
  printf ("  arena     ");
  print_count (arena);
  printf (" bytes (%.2f MiB)\n", (double) arena / (1024.0 * 1024.0));
}

static int
info_main (int argc, char **argv)
{
  const char *size = NULL;
  const cli_option opts[] = { { "size", &size, NULL }, { NULL, NULL, NULL } };
  char *pos[1];
  int n_pos;
  int rc = cli_parse_args (&cli_cmd_info, argc, argv, opts, pos, 1, 1, &n_pos);
  if (rc != CLI_CONTINUE)
    return rc;
  int w = 640, h = 360;
  if (size != NULL && cli_parse_size ("--size", size, &w, &h) < 0)
    return CLI_EXIT_USAGE;

  const char *path = pos[0];
  q8_model *m = cli_load_model (path);
  if (m == NULL)
    return CLI_EXIT_FAIL;
  print_model (path, m);
  fflush (stdout);

  /* A size the user asked for must work; the default size is only a
   * sample, and a model that cannot take it (say, one that needs multiples
   * of 32) is still a valid model. */
  rc = CLI_EXIT_OK;
  q8_plan *p = NULL;
  if (size != NULL) {
    p = cli_plan (m, path, w, h, 1);
    if (p == NULL)
      rc = CLI_EXIT_FAIL;
  } else {
    char err[512] = "";
    q8_status st = q8_plan_create (m, w, h, 1, &p, err, sizeof err);
    if (st != Q8_OK)
      printf ("at %dx%d: cannot plan: %s%s%s\n", w, h, q8_status_str (st),
              err[0] != '\0' ? ": " : "", err);
  }
  if (p != NULL)
    print_plan (m, p, w, h);
  q8_plan_free (p);
  q8_model_free (m);
  return rc;
}

const cli_command cli_cmd_info = {
  "info",
  info_main,
  "show a model's metadata, inputs, outputs, ops and cost",
  info_help,
};
