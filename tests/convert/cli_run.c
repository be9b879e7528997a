/* cli_run.c - see cli_run.h. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "cli_run.h"
#include "q8_test.h"

char cli_tmpdir[256];

void
cli_tmpdir_setup (void)
{
  snprintf (cli_tmpdir, sizeof cli_tmpdir, "/tmp/q8-test-cli-XXXXXX");
  ck_assert (mkdtemp (cli_tmpdir) != NULL);
}

void
cli_tmpdir_teardown (void)
{
  char cmd[512];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", cli_tmpdir);
  ck_assert (system (cmd) == 0);
}

int
cli_run (const char *exe, const char *args)
{
  char cmd[8192];
  snprintf (cmd, sizeof cmd, "'%s' %s > '%s/stdout' 2> '%s/stderr'", exe,
            args, cli_tmpdir, cli_tmpdir);
  int rc = system (cmd);
  return WIFEXITED (rc) ? WEXITSTATUS (rc) : -1;
}

char *
cli_slurp (const char *name)
{
  char path[512];
  snprintf (path, sizeof path, "%s/%s", cli_tmpdir, name);
  size_t size;
  char *p = q8_test_read_file (path, &size);
  if (p) {
    p = realloc (p, size + 1);
    p[size] = '\0';
  }
  return p;
}
