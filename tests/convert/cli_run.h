/* cli_run.h - running a command-line tool from a Check test: a fresh
 * temporary directory per test (the checked fixture), the tool's exit
 * status, and its stdout / stderr read back from that directory.  Shared
 * by test_cli.c (q8-convert) and test_teach.c (q8 teach / score). */
#ifndef Q8_TEST_CLI_RUN_H
#define Q8_TEST_CLI_RUN_H

/* The current test's directory, made by cli_tmpdir_setup (). */
extern char cli_tmpdir[256];

/* tcase_add_checked_fixture (tc, cli_tmpdir_setup, cli_tmpdir_teardown) */
void cli_tmpdir_setup (void);
void cli_tmpdir_teardown (void);

/* Runs exe with args (a shell-quoted argument string); its output goes to
 * cli_tmpdir/stdout and cli_tmpdir/stderr.  Returns the exit status, or -1
 * if it did not exit. */
int cli_run (const char *exe, const char *args);

/* The file cli_tmpdir/name as a NUL-terminated malloc'ed string, or
 * NULL. */
char *cli_slurp (const char *name);

#endif /* Q8_TEST_CLI_RUN_H */
