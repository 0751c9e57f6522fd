/* Fork safety: fork while other threads hold library locks and use the
 * process registry; the child still works.  Parent-only objects used in
 * the child fail with MT_EFORKED instead of hanging. */
#include "mt_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sync/mutex.h"
#include "wait/wait.h"

#include "gate.h"

static int ret0(void *arg) {
  (void)arg;
  return 0;
}

/* ---- a thread holds an internal mutex at fork time ----------------------- */

static mt__mutex_t held;
static mt_lock_t *user_lock;
static _Atomic int holder_ready;
static gate_t release_holder;

static void *holder(void *arg) {
  (void)arg;
  mt__mutex_lock(&held, false, MT__NO_DEADLINE);
  mt_lock_acquire(user_lock, MT_FOREVER);
  atomic_store(&holder_ready, 1);
  char c;
  while (read(release_holder.r, &c, 1) > 0) {}
  mt_lock_release(user_lock);
  mt__mutex_unlock(&held, false);
  return NULL;
}

static int child_uses_library(void *arg) {
  (void)arg;
  /* The holder thread does not exist here: the lock is taken over with
   * MT_EOWNERDEAD after the dead-owner check, never a hang. */
  int64_t dl;
  mt__deadline(10, &dl);
  if (mt__mutex_lock(&held, false, dl) != MT_EOWNERDEAD) return 1;
  mt__mutex_unlock(&held, false);
  /* The same for a user's private Lock (docs/processes.md, rule 4). */
  if (mt_lock_acquire(user_lock, 10) != MT_EOWNERDEAD) return 5;
  if (mt_lock_consistent(user_lock) != 0) return 6;
  if (mt_lock_release(user_lock) != 0) return 7;
  /* The process registry works: start and join a grandchild. */
  mt_process_t *g = mt_process_new(ret0, NULL, NULL);
  if (!g || mt_process_start(g) != 0) return 2;
  if (mt_process_join(g, 10) != 0) return 3;
  int code = -1;
  if (mt_process_exitcode(g, &code) != 0 || code != 0) return 4;
  mt_process_free(g);
  return 0;
}

static void test_fork_with_held_lock(void **state) {
  (void)state;
  mt__mutex_init(&held);
  user_lock = mt_lock_new(0);
  gate_init(&release_holder);
  pthread_t t;
  pthread_create(&t, NULL, holder, NULL);
  while (!atomic_load(&holder_ready)) sched_yield();
  mt_process_t *p = mt_process_new(child_uses_library, NULL, NULL);
  assert_code(mt_process_start(p), 0);
  assert_code(mt_process_join(p, MT_FOREVER), 0);
  int code;
  assert_code(mt_process_exitcode(p, &code), 0);
  assert_int_equal(code, 0);
  mt_process_free(p);
  close(release_holder.w);
  pthread_join(t, NULL);
  close(release_holder.r);
  mt_lock_free(user_lock);
}

/* ---- the registry is hammered by another thread while we fork ------------ */

static _Atomic int stop;

static void *hammer(void *arg) {
  (void)arg;
  mt_process_t *out[4];
  while (!atomic_load(&stop)) mt_process_active_children(out, 4);
  return NULL;
}

static int child_with_grandchild(void *arg) {
  (void)arg;
  mt_process_t *g = mt_process_new(ret0, NULL, NULL);
  if (!g || mt_process_start(g) != 0) return 2;
  if (mt_process_join(g, 10) != 0) return 3;
  mt_process_free(g);
  return 0;
}

static void test_fork_under_registry_traffic(void **state) {
  (void)state;
  atomic_store(&stop, 0);
  pthread_t t;
  pthread_create(&t, NULL, hammer, NULL);
  int n = (int)mt_test_scaled(50, 5);
  for (int i = 0; i < n; i++) {
    mt_process_t *p = mt_process_new(child_with_grandchild, NULL, NULL);
    assert_code(mt_process_start(p), 0);
    assert_code(mt_process_join(p, MT_FOREVER), 0);
    int code;
    assert_code(mt_process_exitcode(p, &code), 0);
    assert_int_equal(code, 0);
    mt_process_free(p);
  }
  atomic_store(&stop, 1);
  pthread_join(t, NULL);
}

/* ---- parent-only objects in the child -------------------------------------- */

static mt_process_t *sibling;

static int wait_gate(void *arg) {
  gate_wait(arg);
  return 0;
}

static int child_touches_sibling(void *arg) {
  (void)arg;
  int code;
  if (mt_process_join(sibling, 1) != MT_EFORKED) return 1;
  if (mt_process_kill(sibling) != MT_EFORKED) return 2;
  if (mt_process_exitcode(sibling, &code) != MT_EFORKED) return 3;
  if (mt_process_is_alive(sibling) != MT_EFORKED) return 4;
  if (mt_process_active_children(NULL, 0) != 0) return 5; /* not our children */
  return 0;
}

static void test_parent_objects_fail_in_child(void **state) {
  (void)state;
  gate_t g;
  gate_init(&g);
  sibling = mt_process_new(wait_gate, &g, NULL);
  assert_code(mt_process_start(sibling), 0);
  mt_process_t *p = mt_process_new(child_touches_sibling, NULL, NULL);
  assert_code(mt_process_start(p), 0);
  assert_code(mt_process_join(p, MT_FOREVER), 0);
  int code;
  assert_code(mt_process_exitcode(p, &code), 0);
  assert_int_equal(code, 0);
  gate_open(&g);
  assert_code(mt_process_join(sibling, MT_FOREVER), 0);
  mt_process_free(p);
  mt_process_free(sibling);
}

/* A plain fork() (not the library's) also leaves a usable library. */
static void test_plain_fork(void **state) {
  (void)state;
  pid_t pid = fork();
  if (pid == 0) _exit(child_with_grandchild(NULL));
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fork_with_held_lock),
      cmocka_unit_test(test_fork_under_registry_traffic),
      cmocka_unit_test(test_parent_objects_fail_in_child),
      cmocka_unit_test(test_plain_fork),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
