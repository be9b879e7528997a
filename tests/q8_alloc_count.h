/* q8_alloc_count.h - counts heap allocations in a test program linked
 * with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc
 * (tests/meson.build: core_test_link_args), so a test can prove that a
 * per-frame call allocates nothing:
 *
 *   q8_alloc_count_start ();
 *   q8_run (plan);
 *   ck_assert_int_eq (q8_alloc_count_stop (), 0);
 */
#ifndef Q8_ALLOC_COUNT_H
#define Q8_ALLOC_COUNT_H

void q8_alloc_count_start (void);
/* Stops counting; returns the allocations since q8_alloc_count_start (). */
long q8_alloc_count_stop (void);

#endif /* Q8_ALLOC_COUNT_H */
