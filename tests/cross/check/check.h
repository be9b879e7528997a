/* check.h - a minimal stand-in for the Check unit test framework, used
 * only by cross builds whose sysroot has no libcheck (tests/meson.build
 * falls back to it; Debian's gcc-aarch64-linux-gnu comes without an arm64
 * Check).  It implements the subset of the Check 0.15 API the q8 tests
 * use, with the same meaning: a failed assertion prints file, line and
 * message, ends that test (longjmp, no fork) and counts one failure; loop
 * tests run once per _i.  Timeouts are ignored.
 */
#ifndef Q8_CHECK_SHIM_H
#define Q8_CHECK_SHIM_H

#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CK_NORMAL 0
#define CK_SHIM_MAX 256

typedef void (*ck_shim_fn) (int _i);

typedef struct {
  const char *name;
  ck_shim_fn fn;
  int lo, hi;
} ck_shim_test;

typedef struct TCase {
  const char *name;
  ck_shim_test tests[CK_SHIM_MAX];
  int n;
} TCase;

typedef struct Suite {
  const char *name;
  TCase *tcases[CK_SHIM_MAX];
  int n;
} Suite;

typedef struct SRunner {
  Suite *suite;
  int run, failed;
} SRunner;

/* One definition across the program's translation units. */
__attribute__ ((weak)) jmp_buf *ck_shim_env;

static inline void
ck_shim_fail (const char *file, int line, const char *fmt, ...)
{
  va_list ap;
  fprintf (stderr, "%s:%d: ", file, line);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  longjmp (*ck_shim_env, 1);
}

#define START_TEST(name)                                                    \
  static void name (int _i __attribute__ ((unused)))                        \
  {
#define END_TEST }

static inline Suite *
suite_create (const char *name)
{
  Suite *s = calloc (1, sizeof *s);
  if (s != NULL)
    s->name = name;
  return s;
}

static inline TCase *
tcase_create (const char *name)
{
  TCase *t = calloc (1, sizeof *t);
  if (t != NULL)
    t->name = name;
  return t;
}

static inline void
suite_add_tcase (Suite *s, TCase *t)
{
  if (s->n < CK_SHIM_MAX)
    s->tcases[s->n++] = t;
}

static inline void
tcase_set_timeout (TCase *t, double seconds)
{
  (void) t;
  (void) seconds;
}

static inline void
ck_shim_add (TCase *t, const char *name, ck_shim_fn fn, int lo, int hi)
{
  if (t->n < CK_SHIM_MAX)
    t->tests[t->n++] = (ck_shim_test) { name, fn, lo, hi };
}

#define tcase_add_test(t, fn) ck_shim_add ((t), #fn, (fn), 0, 1)
#define tcase_add_loop_test(t, fn, lo, hi) \
  ck_shim_add ((t), #fn, (fn), (lo), (hi))

static inline SRunner *
srunner_create (Suite *s)
{
  SRunner *r = calloc (1, sizeof *r);
  if (r != NULL)
    r->suite = s;
  return r;
}

/* Runs one test; non-zero if it failed. */
static __attribute__ ((noinline)) int
ck_shim_run_one (ck_shim_fn fn, int i)
{
  jmp_buf env;
  ck_shim_env = &env;
  if (setjmp (env) != 0)
    return 1;
  fn (i);
  return 0;
}

static inline void
srunner_run_all (SRunner *r, int mode)
{
  (void) mode;
  printf ("Running suite(s): %s\n", r->suite->name);
  for (int c = 0; c < r->suite->n; c++) {
    TCase *t = r->suite->tcases[c];
    for (int k = 0; k < t->n; k++)
      for (int i = t->tests[k].lo; i < t->tests[k].hi; i++) {
        r->run++;
        if (ck_shim_run_one (t->tests[k].fn, i) != 0) {
          r->failed++;
          fprintf (stderr, "  in %s:%s:%d\n", t->name, t->tests[k].name, i);
        }
      }
  }
  printf ("%d%%: Checks: %d, Failures: %d, Errors: 0\n",
          r->run ? 100 * (r->run - r->failed) / r->run : 100, r->run,
          r->failed);
}

static inline int
srunner_ntests_failed (SRunner *r)
{
  return r->failed;
}

static inline void
srunner_free (SRunner *r)
{
  for (int c = 0; c < r->suite->n; c++)
    free (r->suite->tcases[c]);
  free (r->suite);
  free (r);
}

#define mark_point() ((void) 0)

#define ck_abort_msg(...) ck_shim_fail (__FILE__, __LINE__, __VA_ARGS__)
#define ck_assert_msg(expr, ...)                                            \
  do {                                                                      \
    if (!(expr)) {                                                          \
      fprintf (stderr, "Assertion '%s' failed:\n", #expr);                 \
      ck_shim_fail (__FILE__, __LINE__, __VA_ARGS__);                       \
    }                                                                       \
  } while (0)
#define ck_assert(expr)                                                     \
  do {                                                                      \
    if (!(expr))                                                            \
      ck_shim_fail (__FILE__, __LINE__, "Assertion '%s' failed", #expr);    \
  } while (0)

#define CK_SHIM_CMP(T, FMT, X, OP, Y)                                       \
  do {                                                                      \
    T ck_x_ = (X), ck_y_ = (Y);                                             \
    if (!(ck_x_ OP ck_y_))                                                  \
      ck_shim_fail (__FILE__, __LINE__,                                     \
                    "Assertion '%s' failed: %s == %" FMT ", %s == %" FMT,   \
                    #X " " #OP " " #Y, #X, ck_x_, #Y, ck_y_);               \
  } while (0)

#define ck_assert_int_eq(X, Y) CK_SHIM_CMP (intmax_t, PRIdMAX, X, ==, Y)
#define ck_assert_int_ne(X, Y) CK_SHIM_CMP (intmax_t, PRIdMAX, X, !=, Y)
#define ck_assert_int_lt(X, Y) CK_SHIM_CMP (intmax_t, PRIdMAX, X, <, Y)
#define ck_assert_int_le(X, Y) CK_SHIM_CMP (intmax_t, PRIdMAX, X, <=, Y)
#define ck_assert_int_gt(X, Y) CK_SHIM_CMP (intmax_t, PRIdMAX, X, >, Y)
#define ck_assert_int_ge(X, Y) CK_SHIM_CMP (intmax_t, PRIdMAX, X, >=, Y)
#define ck_assert_uint_eq(X, Y) CK_SHIM_CMP (uintmax_t, PRIuMAX, X, ==, Y)
#define ck_assert_uint_ne(X, Y) CK_SHIM_CMP (uintmax_t, PRIuMAX, X, !=, Y)
#define ck_assert_uint_lt(X, Y) CK_SHIM_CMP (uintmax_t, PRIuMAX, X, <, Y)
#define ck_assert_uint_le(X, Y) CK_SHIM_CMP (uintmax_t, PRIuMAX, X, <=, Y)
#define ck_assert_uint_gt(X, Y) CK_SHIM_CMP (uintmax_t, PRIuMAX, X, >, Y)
#define ck_assert_uint_ge(X, Y) CK_SHIM_CMP (uintmax_t, PRIuMAX, X, >=, Y)
#define ck_assert_ptr_eq(X, Y) ck_assert ((const void *) (X) == (const void *) (Y))
#define ck_assert_ptr_ne(X, Y) ck_assert ((const void *) (X) != (const void *) (Y))
#define ck_assert_ptr_null(X) ck_assert ((const void *) (X) == NULL)
#define ck_assert_ptr_nonnull(X) ck_assert ((const void *) (X) != NULL)
#define ck_assert_str_eq(X, Y) ck_assert (strcmp ((X), (Y)) == 0)
#define ck_assert_str_ne(X, Y) ck_assert (strcmp ((X), (Y)) != 0)
#define ck_assert_mem_eq(X, Y, N) ck_assert (memcmp ((X), (Y), (N)) == 0)
#define ck_assert_float_eq_tol(X, Y, T) \
  ck_assert (fabs ((double) (X) - (double) (Y)) <= (double) (T))
#define ck_assert_double_eq_tol(X, Y, T) ck_assert_float_eq_tol (X, Y, T)

#endif /* Q8_CHECK_SHIM_H */
