/* main.c - the q8 command-line tool: subcommand dispatch, `q8 --help`,
 * `q8 --version`, `q8 help CMD`, and the argument and error helpers the
 * subcommands share (cli.h).  Each subcommand lives in cli/cmd_<name>.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "q8_builtin_models.h"

static const cli_command *const commands[] = {
  &cli_cmd_info,
  &cli_cmd_run,
  &cli_cmd_bench,
#ifdef Q8_HAVE_CONVERT
  &cli_cmd_convert, &cli_cmd_compare, /* convert/cmd_convert.c */
  &cli_cmd_teach, &cli_cmd_score,     /* convert/cmd_teach.c */
#endif
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void
print_usage (FILE *f)
{
  fprintf (f, "usage: q8 COMMAND [ARGS...]\n"
              "       q8 help COMMAND | q8 --help | q8 --version\n\n"
              "int8 inference of convolutional networks in .q8 files.\n\n"
              "commands:\n");
  for (size_t i = 0; i < N_COMMANDS; i++)
    fprintf (f, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
  fprintf (f, "\nMODEL is a .q8 file or builtin:NAME, one of the models "
              "compiled in:\n ");
  for (const q8_builtin_model *m = q8_builtin_models; m->name; m++)
    fprintf (f, " builtin:%s", m->name);
  fprintf (f, "\n\nEnvironment: Q8_ISA=NAME limits the kernels to an ISA "
              "(scalar, avx2, ...).\n");
}

static void
print_version (void)
{
  printf ("q8 %s\nkernels: %s (active)", Q8_VERSION_STRING,
          q8_isa_name (q8_isa_active ()));
  for (int i = 0; i < Q8_ISA_COUNT; i++)
    if (q8_isa_supported ((q8_isa) i) && (q8_isa) i != q8_isa_active ())
      printf (", %s", q8_isa_name ((q8_isa) i));
  printf ("\n");
}

static const cli_command *
find_command (const char *name)
{
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (strcmp (commands[i]->name, name) == 0)
      return commands[i];
  return NULL;
}

int
main (int argc, char **argv)
{
  if (argc < 2) {
    print_usage (stderr);
    return CLI_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (strcmp (name, "--help") == 0 || strcmp (name, "-h") == 0) {
    print_usage (stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp (name, "--version") == 0 || strcmp (name, "version") == 0) {
    print_version ();
    return CLI_EXIT_OK;
  }
  if (strcmp (name, "help") == 0) {
    if (argc < 3) {
      print_usage (stdout);
      return CLI_EXIT_OK;
    }
    const cli_command *cmd = find_command (argv[2]);
    if (cmd == NULL) {
      cli_error ("no command '%s' (try q8 --help)", argv[2]);
      return CLI_EXIT_USAGE;
    }
    fputs (cmd->help, stdout);
    return CLI_EXIT_OK;
  }
  const cli_command *cmd = find_command (name);
  if (cmd == NULL) {
    cli_error ("no command '%s' (try q8 --help)", name);
    return CLI_EXIT_USAGE;
  }
  return cmd->main (argc - 1, argv + 1);
}

/* ---- helpers shared by the subcommands (cli.h) -------------------------- */

void
cli_error (const char *fmt, ...)
{
  /* Messages may quote names from a model file: control bytes are escaped
   * so a hostile file cannot drive the terminal. */
  char msg[1024];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  fputs ("q8: ", stderr);
  for (const unsigned char *p = (const unsigned char *) msg; *p != '\0'; p++)
    if (*p < 0x20 || *p == 0x7f)
      fprintf (stderr, "\\x%02x", *p);
    else
      fputc (*p, stderr);
  fputc ('\n', stderr);
}

static int
usage_error (const cli_command *cmd, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
usage_error (const cli_command *cmd, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fprintf (stderr, "q8 %s: ", cmd->name);
  vfprintf (stderr, fmt, ap);
  fprintf (stderr, " (see q8 help %s)\n", cmd->name);
  va_end (ap);
  return CLI_EXIT_USAGE;
}

int
cli_parse_args (const cli_command *cmd, int argc, char **argv,
                const cli_option *opts, char **pos, int min_pos, int max_pos,
                int *n_pos)
{
  int n = 0;
  int only_positional = 0;
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    if (only_positional || a[0] != '-' || a[1] == '\0') {
      if (n == max_pos)
        return usage_error (cmd, "unexpected argument '%s'", a);
      pos[n++] = a;
      continue;
    }
    if (strcmp (a, "--") == 0) {
      only_positional = 1;
      continue;
    }
    if (strcmp (a, "-h") == 0 || strcmp (a, "--help") == 0) {
      fputs (cmd->help, stdout);
      return CLI_EXIT_OK;
    }
    if (a[1] != '-')
      return usage_error (cmd, "unknown option '%s'", a);
    const char *name = a + 2;
    const char *eq = strchr (name, '=');
    size_t len = eq != NULL ? (size_t) (eq - name) : strlen (name);
    const cli_option *o = opts;
    while (o->name != NULL
           && !(strlen (o->name) == len && memcmp (o->name, name, len) == 0))
      o++;
    if (o->name == NULL)
      return usage_error (cmd, "unknown option '--%.*s'", (int) len, name);
    if (o->value == NULL) {
      if (eq != NULL)
        return usage_error (cmd, "option '--%s' takes no value", o->name);
      *o->flag = 1;
    } else if (eq != NULL) {
      *o->value = eq + 1;
    } else if (i + 1 < argc) {
      *o->value = argv[++i];
    } else {
      return usage_error (cmd, "option '--%s' needs a value", o->name);
    }
  }
  if (n < min_pos)
    return usage_error (cmd, "missing arguments");
  *n_pos = n;
  return CLI_CONTINUE;
}

int
cli_parse_int (const char *option, const char *s, long lo, long hi, long *out)
{
  char *end;
  errno = 0;
  long v = strtol (s, &end, 10);
  if (end == s || *end != '\0' || errno != 0 || v < lo || v > hi) {
    cli_error ("%s must be an integer in %ld..%ld, not '%s'", option, lo, hi,
               s);
    return -1;
  }
  *out = v;
  return 0;
}

int
cli_parse_size (const char *option, const char *s, int *w, int *h)
{
  char *end;
  errno = 0;
  long lw = strtol (s, &end, 10);
  if (end == s || (*end != 'x' && *end != 'X') || errno != 0)
    goto bad;
  const char *hs = end + 1;
  long lh = strtol (hs, &end, 10);
  if (end == hs || *end != '\0' || errno != 0)
    goto bad;
  if (lw < 1 || lh < 1 || lw > Q8_MAX_DIM || lh > Q8_MAX_DIM)
    goto bad;
  *w = (int) lw;
  *h = (int) lh;
  return 0;
bad:
  cli_error ("%s must be WIDTHxHEIGHT with each in 1..%d, not '%s'", option,
             Q8_MAX_DIM, s);
  return -1;
}

q8_model *
cli_load_model (const char *path)
{
  q8_model *m = NULL;
  char err[512] = "";
  q8_status st;
  if (strncmp (path, CLI_BUILTIN_PREFIX, strlen (CLI_BUILTIN_PREFIX)) == 0) {
    const char *name = path + strlen (CLI_BUILTIN_PREFIX);
    const q8_builtin_model *b = q8_builtin_model_by_name (name);
    if (b == NULL) {
      cli_error ("%s: no such built-in model (q8 --help lists them)", path);
      return NULL;
    }
    st = q8_model_load_buffer (b->data, b->size, &m, err, sizeof err);
  } else {
    st = q8_model_load_file (path, &m, err, sizeof err);
  }
  if (st != Q8_OK) {
    if (err[0] != '\0')
      cli_error ("%s: %s: %s", path, q8_status_str (st), err);
    else
      cli_error ("%s: %s", path, q8_status_str (st));
    return NULL;
  }
  return m;
}

q8_plan *
cli_plan (const q8_model *model, const char *path, int w, int h, int threads)
{
  q8_plan *p = NULL;
  char err[512] = "";
  q8_status st = q8_plan_create (model, w, h, threads, &p, err, sizeof err);
  if (st != Q8_OK) {
    cli_error ("%s: cannot run at %dx%d: %s%s%s", path, w, h,
               q8_status_str (st), err[0] != '\0' ? ": " : "", err);
    return NULL;
  }
  return p;
}

int
cli_select_isa (const char *name)
{
  if (name == NULL)
    return 0;
  for (int i = 0; i < Q8_ISA_COUNT; i++)
    if (strcmp (name, q8_isa_name ((q8_isa) i)) == 0) {
      if (q8_set_isa_limit ((q8_isa) i) == Q8_OK)
        return 0;
      break;
    }
  char list[256] = "";
  size_t n = 0;
  for (int i = 0; i < Q8_ISA_COUNT && n < sizeof list; i++)
    if (q8_isa_supported ((q8_isa) i))
      n += (size_t) snprintf (list + n, sizeof list - n, "%s%s",
                              n > 0 ? ", " : "", q8_isa_name ((q8_isa) i));
  cli_error ("ISA '%s' is unknown or not supported here (available: %s)",
             name, list);
  return -1;
}
