/* An MT_SHARED RLock held by a greenlet, seen from another process: not
 * the owner there (from its root nor from its greenlets) until released;
 * and a greenlet of a process that dies holding one: the next acquirer (a
 * greenlet) gets MT_EOWNERDEAD and owns it, its thread's root does not. */
#include "mt_test.h"

#include <sys/wait.h>

typedef struct {
  mt_rlock_t *l;
  mt_greenlet_t *main;
  int r[3];
} arg_t;

static void *hold(void *p, void *value) {
  (void)value;
  arg_t *a = p;
  a->r[0] = mt_rlock_acquire(a->l, MT_FOREVER);
  a->r[1] = mt_rlock_acquire(a->l, 0); /* depth 2 */
  mt_greenlet_switch(a->main, NULL, NULL);
  a->r[2] = mt_rlock_release(a->l);
  a->r[2] |= mt_rlock_release(a->l);
  return NULL;
}

/* In a child: tries, then (after `released`) takes it in a greenlet. */
static void *try_once(void *p, void *value) {
  (void)value;
  arg_t *a = p;
  a->r[0] = mt_rlock_acquire(a->l, 0);
  a->r[1] = mt_rlock_release(a->l);
  return NULL;
}

static int child_checks(mt_rlock_t *l, mt_event_t *checked, mt_event_t *released) {
  arg_t a = {l, mt_greenlet_current(), {0}};
  if (mt_rlock_acquire(l, 0) != MT_ETIMEDOUT) return 10;
  if (mt_rlock_release(l) != MT_EPERM) return 11;
  if (mt_rlock_is_owned(l) != 0) return 12;
  mt_greenlet_t *g = mt_greenlet_new(try_once, &a, NULL, NULL);
  mt_greenlet_switch(g, NULL, NULL);
  mt_greenlet_free(g);
  if (a.r[0] != MT_ETIMEDOUT || a.r[1] != MT_EPERM) return 13;
  mt_event_set(checked);
  if (mt_event_wait(released, 30) != 0) return 14;
  /* free now: a greenlet here takes it; the root is not its owner */
  mt_greenlet_t *h = mt_greenlet_new(hold, &a, NULL, NULL);
  mt_greenlet_switch(h, NULL, NULL);
  if (a.r[0] != 0 || a.r[1] != 0) return 15;
  if (mt_rlock_release(l) != MT_EPERM) return 16;
  mt_greenlet_switch(h, NULL, NULL);
  if (a.r[2] != 0 || !mt_greenlet_is_dead(h)) return 17;
  mt_greenlet_free(h);
  return 0;
}

static void shared_rlock_other_process(void **state) {
  (void)state;
  mt_rlock_t *l = mt_rlock_new(MT_SHARED);
  mt_event_t *checked = mt_event_new(MT_SHARED), *released = mt_event_new(MT_SHARED);
  assert_non_null(l);
  assert_non_null(checked);
  assert_non_null(released);
  arg_t a = {l, mt_greenlet_current(), {0}};
  mt_greenlet_t *g = mt_greenlet_new(hold, &a, NULL, NULL);
  assert_code(mt_greenlet_switch(g, NULL, NULL), 0);
  assert_code(a.r[0], 0);
  assert_code(a.r[1], 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(child_checks(l, checked, released));
  assert_code(mt_event_wait(checked, 30), 0);
  assert_code(mt_greenlet_switch(g, NULL, NULL), 0); /* releases both levels */
  assert_code(a.r[2], 0);
  assert_code(mt_event_set(released), 0);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  assert_code(mt_rlock_acquire(l, 0), 0); /* the child let go */
  assert_code(mt_rlock_release(l), 0);
  mt_greenlet_free(g);
  mt_event_free(checked);
  mt_event_free(released);
  mt_rlock_free(l);
}

static void *take_over(void *p, void *value) {
  (void)value;
  arg_t *a = p;
  a->r[0] = mt_rlock_acquire(a->l, 30);
  a->r[1] = mt_rlock_is_owned(a->l);
  mt_greenlet_switch(a->main, NULL, NULL);
  a->r[2] = mt_rlock_consistent(a->l);
  a->r[2] |= mt_rlock_release(a->l);
  return NULL;
}

static void dead_process_greenlet_holder(void **state) {
  (void)state;
  mt_rlock_t *l = mt_rlock_new(MT_SHARED);
  assert_non_null(l);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) { /* dies holding it, taken in a greenlet */
    arg_t c = {l, mt_greenlet_current(), {0}};
    mt_greenlet_t *h = mt_greenlet_new(hold, &c, NULL, NULL);
    mt_greenlet_switch(h, NULL, NULL);
    _exit(c.r[0] == 0 && c.r[1] == 0 ? 0 : 20);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  arg_t a = {l, mt_greenlet_current(), {0}};
  mt_greenlet_t *g = mt_greenlet_new(take_over, &a, NULL, NULL);
  assert_code(mt_greenlet_switch(g, NULL, NULL), 0);
  assert_code(a.r[0], MT_EOWNERDEAD);
  assert_int_equal(a.r[1], 1);
  assert_int_equal(mt_rlock_is_owned(l), 0); /* the root: not the new owner */
  assert_code(mt_rlock_consistent(l), MT_EPERM);
  assert_code(mt_greenlet_switch(g, NULL, NULL), 0);
  assert_code(a.r[2], 0);
  assert_code(mt_rlock_acquire(l, 0), 0); /* consistent and free again */
  assert_code(mt_rlock_release(l), 0);
  mt_greenlet_free(g);
  mt_rlock_free(l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(shared_rlock_other_process),
      cmocka_unit_test(dead_process_greenlet_holder),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
