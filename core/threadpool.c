/* threadpool.c - a small fixed pool that splits one op's output rows
 * across threads.
 *
 * Workers are created once with the plan and sleep on a condition variable
 * between runs.  A run publishes (fn, ctx, rows, chunk) under the lock and
 * bumps a generation counter; every thread, the caller included, then takes
 * chunks with an atomic counter until none are left, and the caller waits
 * until all workers have checked out of this generation.  Nothing is
 * allocated per run.
 */
#include <pthread.h>
#include <stdlib.h>

#include "q8_internal.h"

struct q8__pool {
  int n_threads;               /* workers + caller */
  pthread_t *workers;
  int n_started;
  pthread_mutex_t lock;
  pthread_cond_t wake;         /* workers wait for a new generation */
  pthread_cond_t done;         /* the caller waits for busy == 0 */
  uint64_t generation;
  int busy;                    /* workers still in the current generation */
  bool quit;
  /* The current job. */
  q8__task_fn fn;
  void *ctx;
  int32_t rows, chunk;
  int32_t next;                /* next row to hand out (atomic) */
};

static void
work (q8__pool *pool)
{
  for (;;) {
    int32_t y0 = __atomic_fetch_add (&pool->next, pool->chunk,
                                     __ATOMIC_RELAXED);
    if (y0 >= pool->rows)
      return;
    int32_t y1 = pool->rows - y0 < pool->chunk ? pool->rows : y0 + pool->chunk;
    pool->fn (pool->ctx, y0, y1);
  }
}

static void *
worker_main (void *arg)
{
  q8__pool *pool = arg;
  uint64_t seen = 0;
  pthread_mutex_lock (&pool->lock);
  for (;;) {
    while (!pool->quit && pool->generation == seen)
      pthread_cond_wait (&pool->wake, &pool->lock);
    if (pool->quit)
      break;
    seen = pool->generation;
    pthread_mutex_unlock (&pool->lock);
    work (pool);
    pthread_mutex_lock (&pool->lock);
    if (--pool->busy == 0)
      pthread_cond_signal (&pool->done);
  }
  pthread_mutex_unlock (&pool->lock);
  return NULL;
}

q8__pool *
q8__pool_create (int n_threads)
{
  if (n_threads < 2)
    return NULL;
  q8__pool *pool = calloc (1, sizeof *pool);
  if (pool == NULL)
    return NULL;
  pool->n_threads = n_threads;
  pool->workers = calloc ((size_t) n_threads - 1, sizeof *pool->workers);
  if (pool->workers == NULL) {
    free (pool);
    return NULL;
  }
  pthread_mutex_init (&pool->lock, NULL);
  pthread_cond_init (&pool->wake, NULL);
  pthread_cond_init (&pool->done, NULL);
  for (int i = 0; i < n_threads - 1; i++) {
    if (pthread_create (&pool->workers[i], NULL, worker_main, pool) != 0) {
      q8__pool_free (pool);
      return NULL;
    }
    pool->n_started++;
  }
  return pool;
}

void
q8__pool_free (q8__pool *pool)
{
  if (pool == NULL)
    return;
  pthread_mutex_lock (&pool->lock);
  pool->quit = true;
  pthread_cond_broadcast (&pool->wake);
  pthread_mutex_unlock (&pool->lock);
  for (int i = 0; i < pool->n_started; i++)
    pthread_join (pool->workers[i], NULL);
  pthread_cond_destroy (&pool->done);
  pthread_cond_destroy (&pool->wake);
  pthread_mutex_destroy (&pool->lock);
  free (pool->workers);
  free (pool);
}

int
q8__pool_threads (const q8__pool *pool)
{
  return pool != NULL ? pool->n_threads : 1;
}

void
q8__pool_run (q8__pool *pool, q8__task_fn fn, void *ctx, int32_t rows,
              int32_t chunk)
{
  if (chunk < 1)
    chunk = 1;
  pthread_mutex_lock (&pool->lock);
  pool->fn = fn;
  pool->ctx = ctx;
  pool->rows = rows;
  pool->chunk = chunk;
  __atomic_store_n (&pool->next, 0, __ATOMIC_RELAXED);
  pool->busy = pool->n_started;
  pool->generation++;
  pthread_cond_broadcast (&pool->wake);
  pthread_mutex_unlock (&pool->lock);

  work (pool);

  pthread_mutex_lock (&pool->lock);
  while (pool->busy > 0)
    pthread_cond_wait (&pool->done, &pool->lock);
  pthread_mutex_unlock (&pool->lock);
}
