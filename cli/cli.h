/* cli.h - shared pieces of the q8 command-line tool: the subcommand table
 * entries (one cmd_<name>.c each) and the argument and error helpers in
 * main.c that they all use.
 *
 * Exit codes: 0 success, 1 failure (unreadable model, bad input file, ...),
 * 2 usage error.  Every message goes to stderr as "q8: ...".
 */
#ifndef Q8_CLI_H
#define Q8_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "q8.h"

enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAIL = 1,
  CLI_EXIT_USAGE = 2,
  CLI_CONTINUE = -1, /* returned by cli_parse_args: go on */
};

typedef struct {
  const char *name;                     /* "info" */
  int (*main) (int argc, char **argv);  /* argv[0] is the name */
  const char *summary;                  /* one line for `q8 --help` */
  const char *help;                     /* full text for `q8 help NAME` */
} cli_command;

extern const cli_command cli_cmd_info;
extern const cli_command cli_cmd_run;
extern const cli_command cli_cmd_bench;
extern const cli_command cli_cmd_convert, cli_cmd_compare; /* convert/ */
extern const cli_command cli_cmd_teach, cli_cmd_score;     /* convert/ */

/* A long option "--name" (or "--name=VALUE").  With value set, the option
 * takes an argument stored there; otherwise *flag is set to 1. */
typedef struct {
  const char *name;
  const char **value;
  int *flag;
} cli_option;

/* Parses argv[1..argc) of cmd: options from opts (terminated by a zeroed
 * entry) anywhere, "--" ends options, the rest are positional arguments
 * stored in pos (between min_pos and max_pos of them, *n_pos set).
 * -h / --help prints cmd's help.  Returns CLI_CONTINUE, or the exit code
 * the command should return (after a usage error or the help). */
int cli_parse_args (const cli_command *cmd, int argc, char **argv,
                    const cli_option *opts, char **pos, int min_pos,
                    int max_pos, int *n_pos);

/* "q8: " + the message + newline, on stderr. */
void cli_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* Strict number parsing for option values; on error print a usage message
 * naming the option and return -1. */
int cli_parse_int (const char *option, const char *s, long lo, long hi,
                   long *out);
int cli_parse_size (const char *option, const char *s, int *w, int *h);

/* Models compiled into the tool are named "builtin:NAME". */
#define CLI_BUILTIN_PREFIX "builtin:"

/* Loads a model file or a built-in model; on failure prints "q8: PATH: <status>: <detail>" and
 * returns NULL. */
q8_model *cli_load_model (const char *path);

/* Plans model at w x h; on failure prints the reason and returns NULL. */
q8_plan *cli_plan (const q8_model *model, const char *path, int w, int h,
                   int threads);

/* Limits the kernels to the ISA named (NULL: no change); prints an error
 * listing the supported names and returns -1 if it is unknown or
 * unsupported. */
int cli_select_isa (const char *name);

#endif /* Q8_CLI_H */
