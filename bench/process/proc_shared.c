/* Shared state, alternating run by run with fair C peers (Python's
 * Manager().dict() and Value as references only):
 *   shared dict get+set on 1024 keys vs a GHashTable under a process-shared
 *   pthread mutex (in one process, like ours: both read memory in place);
 *   Value += 1 under its lock vs an int64 in shared memory under a
 *   process-shared pthread mutex;
 *   shared dict contended: PROCS processes forked for the run each do
 *   n/PROCS atomic increments (mt_shdict_incr) on 1024 keys, vs the
 *   GHashTable built before the fork (keys fixed, so the table is only read
 *   after it) whose int64 slots live in MAP_SHARED memory, each increment
 *   under the process-shared robust mutex.  Children are reaped inside the
 *   timed part (their CPU counts); the check is the total of all slots.
 * Every run starts from zeros and checks the total of the increments. */
#include <glib.h>
#include <multitask.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static long n_ops;

static void dict_ours(void *arg, mtb_run_t *r) {
  mt_shdict_t *d = arg;
  char key[16];
  for (int i = 0; i < 1024; i++) snprintf(key, sizeof key, "k%d", i), mt_shdict_set_int(d, key, 0);
  mtb_start(r);
  for (long i = 0; i < n_ops; i++) {
    snprintf(key, sizeof key, "k%ld", i & 1023);
    int64_t v = 0;
    mt_shdict_get_int(d, key, &v);
    mt_shdict_set_int(d, key, v + 1);
  }
  mtb_stop(r);
  uint64_t sum = 0;
  for (int i = 0; i < 1024; i++) {
    int64_t v = 0;
    snprintf(key, sizeof key, "k%d", i);
    mt_shdict_get_int(d, key, &v);
    sum += (uint64_t)v;
  }
  r->ops = 2 * n_ops, r->sum = sum;
}

typedef struct {
  pthread_mutex_t m;
  int64_t value;
} shared_t;

static shared_t *shared_new(void) {
  shared_t *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST); /* like ours: a dead holder is survivable */
  pthread_mutex_init(&s->m, &a);
  return s;
}

/* GHashTable of "k<i>" -> int64 slot, every get and set under the shared
 * mutex; a set of an existing key finds its slot and overwrites it in place
 * (no allocation, as ours does for an int of the same size). */
static void dict_glib(void *arg, mtb_run_t *r) {
  shared_t *s = arg;
  GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  static int64_t slot[1024];
  char key[16];
  for (int i = 0; i < 1024; i++)
    snprintf(key, sizeof key, "k%d", i), slot[i] = 0, g_hash_table_insert(h, g_strdup(key), &slot[i]);
  mtb_start(r);
  for (long i = 0; i < n_ops; i++) {
    snprintf(key, sizeof key, "k%ld", i & 1023);
    pthread_mutex_lock(&s->m);
    int64_t v = *(int64_t *)g_hash_table_lookup(h, key);
    pthread_mutex_unlock(&s->m);
    pthread_mutex_lock(&s->m);
    *(int64_t *)g_hash_table_lookup(h, key) = v + 1;
    pthread_mutex_unlock(&s->m);
  }
  mtb_stop(r);
  uint64_t sum = 0;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, h);
  while (g_hash_table_iter_next(&it, &k, &v)) sum += (uint64_t) * (int64_t *)v;
  g_hash_table_destroy(h);
  r->ops = 2 * n_ops, r->sum = sum;
}

static void value_ours(void *arg, mtb_run_t *r) {
  mt_shvalue_t *v = arg;
  mt_lock_t *lock = mt_shvalue_get_lock(v);
  mt_shvalue_set_i64(v, 0);
  mtb_start(r);
  for (long i = 0; i < n_ops; i++) {
    mt_lock_acquire(lock, MT_FOREVER);
    int64_t x;
    mt_shvalue_get_i64(v, &x);
    mt_shvalue_set_i64(v, x + 1);
    mt_lock_release(lock);
  }
  mtb_stop(r);
  int64_t x = 0;
  mt_shvalue_get_i64(v, &x);
  r->ops = n_ops, r->sum = (uint64_t)x;
}

static void value_pthread(void *arg, mtb_run_t *r) {
  shared_t *s = arg;
  s->value = 0;
  mtb_start(r);
  for (long i = 0; i < n_ops; i++) {
    pthread_mutex_lock(&s->m);
    s->value++;
    pthread_mutex_unlock(&s->m);
  }
  mtb_stop(r);
  r->ops = n_ops, r->sum = (uint64_t)s->value;
}

enum { PROCS = 4 };

static void dict_ours_procs(void *arg, mtb_run_t *r) {
  mt_shdict_t *d = arg;
  char key[16];
  for (int i = 0; i < 1024; i++) snprintf(key, sizeof key, "k%d", i), mt_shdict_set_int(d, key, 0);
  pid_t pid[PROCS];
  mtb_start(r);
  for (int p = 0; p < PROCS; p++)
    if ((pid[p] = fork()) == 0) {
      for (long i = p; i < n_ops; i += PROCS) {
        snprintf(key, sizeof key, "k%ld", i & 1023);
        if (mt_shdict_incr(d, key, 1, NULL) != 0) _exit(1);
      }
      _exit(0);
    }
  for (int p = 0; p < PROCS; p++) waitpid(pid[p], NULL, 0);
  mtb_stop(r);
  uint64_t sum = 0;
  for (int i = 0; i < 1024; i++) {
    int64_t v = 0;
    snprintf(key, sizeof key, "k%d", i);
    mt_shdict_get_int(d, key, &v);
    sum += (uint64_t)v;
  }
  r->ops = n_ops, r->sum = sum;
}

static void dict_glib_procs(void *arg, mtb_run_t *r) {
  shared_t *s = arg;
  int64_t *slot = mmap(NULL, 1024 * sizeof *slot, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  char key[16];
  for (int i = 0; i < 1024; i++)
    snprintf(key, sizeof key, "k%d", i), slot[i] = 0, g_hash_table_insert(h, g_strdup(key), &slot[i]);
  pid_t pid[PROCS];
  mtb_start(r);
  for (int p = 0; p < PROCS; p++)
    if ((pid[p] = fork()) == 0) {
      for (long i = p; i < n_ops; i += PROCS) {
        snprintf(key, sizeof key, "k%ld", i & 1023);
        pthread_mutex_lock(&s->m);
        ++*(int64_t *)g_hash_table_lookup(h, key);
        pthread_mutex_unlock(&s->m);
      }
      _exit(0);
    }
  for (int p = 0; p < PROCS; p++) waitpid(pid[p], NULL, 0);
  mtb_stop(r);
  uint64_t sum = 0;
  for (int i = 0; i < 1024; i++) sum += (uint64_t)slot[i];
  g_hash_table_destroy(h);
  munmap(slot, 1024 * sizeof *slot);
  r->ops = n_ops, r->sum = sum;
}

int main(void) {
  n_ops = (long)(1000000 * mtb_scale());
  mt_shdict_t *d = mt_shdict_new(4096, 1 << 20);
  shared_t *s = shared_new();
  mtb_row_t row = {"shared dict get/set", "ops/s", true, 0, (uint64_t)n_ops};
  mtb_side_t ds[] = {{"ours", dict_ours, d},
                     {"GHashTable + process-shared mutex", dict_glib, s}};
  mtb_compare(&row, ds, 2);
  /* Python's sizes follow the scale too (QUICK: 1/100), so the QUICK run
   * does not spend its time in the references. */
  char py[32];
  snprintf(py, sizeof py, "%ld", n_ops / 50 > 100 ? n_ops / 50 : 100);
  mtb_python_row(row.bench, row.unit, true, mtb_last_ours(), "Python Manager dict",
                 "proc_manager_dict.py", py);
  row = (mtb_row_t){"shared dict incr, 4 processes contending", "ops/s", true, 0,
                    (uint64_t)n_ops};
  mtb_side_t dp[] = {{"ours", dict_ours_procs, d},
                     {"GHashTable + process-shared mutex", dict_glib_procs, s}};
  mtb_compare(&row, dp, 2);
  mt_shdict_free(d);

  mt_shvalue_t *v = mt_shvalue_new('i', 0, true);
  row = (mtb_row_t){"Value += 1 under its lock", "ops/s", true, 0, (uint64_t)n_ops};
  mtb_side_t vs[] = {{"ours", value_ours, v}, {"int64 + process-shared mutex", value_pthread, s}};
  mtb_compare(&row, vs, 2);
  snprintf(py, sizeof py, "%ld", n_ops / 5 > 1000 ? n_ops / 5 : 1000);
  mtb_python_row(row.bench, row.unit, true, mtb_last_ours(), "Python Value", "proc_value.py", py);
  mt_shvalue_free(v);
  return 0;
}
