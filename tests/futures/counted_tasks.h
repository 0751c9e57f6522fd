/* Counted tasks for the thread pool's race tests: each task counts its run,
 * its value counts its free, and a done callback counts itself, so a test
 * checks exact totals (every task ran once, every value freed once). */
#ifndef MT_TEST_COUNTED_TASKS_H
#define MT_TEST_COUNTED_TASKS_H
#include "multitask.h"

static long g_freed; /* values freed (each future's, once) */
static long g_ran;   /* tasks run */

static void count_free(void *p) {
  (void)p;
  __atomic_fetch_add(&g_freed, 1, __ATOMIC_RELAXED);
}

/* A task whose value is its argument, freed by count_free. */
static int counted(void *arg, mt_value_t *out) {
  __atomic_fetch_add(&g_ran, 1, __ATOMIC_RELAXED);
  *out = (mt_value_t){arg, 0, count_free};
  return 0;
}

/* A done callback that adds one to the long at arg. */
static void count_cb(mt_future_t *f, void *arg) {
  (void)f;
  __atomic_fetch_add((long *)arg, 1, __ATOMIC_RELAXED);
}

#endif
