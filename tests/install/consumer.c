/* A user's program: uses the installed headers and the SHARED library, and
 * every public macro (MT_FOREVER, MT_ERROR_LIST, MT_ONCE_INIT, MT_WITH_LOCK,
 * MT_WITH_EXECUTOR, MT_SHDICT_*, MT_CONN_MAX_MSG, MT_MPQUEUE_*), so a macro
 * that expands to an unexported function fails to link here.
 * Each failed check exits with its own code. */
#include <multitask.h>
#include <stdio.h>
#include <string.h>

static int once_runs;
static void once_fn(void *arg) { (void)arg; once_runs++; }

static int task_ran;
static int task(void *arg, mt_value_t *result) {
  (void)result;
  __atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE);
  return 0;
}

/* MT_WITH_LOCK: held inside the block, released however it is left. */
static int with_lock_return(mt_lock_t *l) {
  MT_WITH_LOCK(l) {
    if (mt_lock_is_locked(l) != 1) return -1;
    return 1; /* leaves through return: cleanup releases */
  }
  return 0;
}

int main(void) {
  mt_lock_t *l = mt_lock_new(0);
  if (!l || mt_lock_acquire(l, MT_FOREVER) != 0 || mt_lock_release(l) != 0) return 1;

  /* MT_ERROR_LIST: every code has its own name "MT_<name>". */
  int codes = 0;
#define CHECK_CODE(name, value, msg)                                      \
  if (MT_##name != (value)) return 2;                                     \
  if (strcmp(mt_err_name(MT_##name), "MT_" #name) != 0) return 2;         \
  if (strcmp(mt_strerror(MT_##name), msg) != 0) return 2;                 \
  codes++;
  MT_ERROR_LIST(CHECK_CODE)
#undef CHECK_CODE
  if (codes < 10) return 2;

  static mt_once_t once = MT_ONCE_INIT;
  if (mt_once_call(&once, once_fn, NULL) != 0 || mt_once_call(&once, once_fn, NULL) != 0 ||
      once_runs != 1)
    return 3;

  int inside = 0;
  MT_WITH_LOCK(l) { inside = mt_lock_is_locked(l); }
  if (inside != 1 || mt_lock_is_locked(l) != 0) return 4;
  if (with_lock_return(l) != 1 || mt_lock_is_locked(l) != 0) return 4;
  mt_lock_free(l);

  mt_future_t *f = NULL;
  { /* MT_WITH_EXECUTOR: leaving the scope waits for the work. */
    mt_executor_t *ex MT_WITH_EXECUTOR = mt_executor_new_thread_pool(NULL);
    if (!ex || mt_executor_submit(ex, task, &task_ran, &f) != 0) return 5;
  }
  if (__atomic_load_n(&task_ran, __ATOMIC_ACQUIRE) != 1 ||
      mt_future_state(f) != MT_FUTURE_FINISHED)
    return 5;
  mt_future_free(f);

  /* Size constants: an mpqueue with the defaults carries a default-size
   * message; the limits are ordered as documented. */
  mt_mpqueue_t *q = mt_mpqueue_new(MT_MPQUEUE_DEFAULT_SLOTS, MT_MPQUEUE_DEFAULT_MSG);
  static char msg[MT_MPQUEUE_DEFAULT_MSG], back[MT_MPQUEUE_DEFAULT_MSG];
  memset(msg, 'x', sizeof msg);
  if (!q || mt_mpqueue_max_msg(q) != MT_MPQUEUE_DEFAULT_MSG ||
      mt_mpqueue_put(q, msg, sizeof msg, 1.0) != 0 ||
      mt_mpqueue_get(q, back, sizeof back, NULL, 1.0) != (int)sizeof back ||
      memcmp(msg, back, sizeof msg) != 0)
    return 6;
  mt_mpqueue_free(q);
  if (MT_MPQUEUE_DEFAULT_MSG > MT_MPQUEUE_MAX_MSG || MT_CONN_MAX_MSG < MT_MPQUEUE_MAX_MSG)
    return 6;

  mt_shdict_t *d = mt_shdict_new(MT_SHDICT_DEFAULT_CAPACITY / 1024, MT_SHDICT_DEFAULT_ARENA / 1024);
  if (!d || mt_shdict_len(d) != 0 || MT_SHDICT_KEY_MAX < 1) return 7;
  mt_shdict_free(d);

  printf("consumer ok: %d error codes, %s\n", codes, mt_err_name(MT_ETIMEDOUT));
  return 0;
}
