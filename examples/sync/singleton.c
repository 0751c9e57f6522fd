/* Module-level singletons: a lock-guarded lazy instance (double-checked, as
 * the notes' Python singleton with a Lock) and the same with mt_once_call. */
#include <multitask.h>
#include <stdio.h>
#include <stdlib.h>

struct config { int id; };

static struct config *instance;
static mt_lock_t *instance_lock;
static int constructed;

static struct config *get_instance(void) {
  struct config *c = __atomic_load_n(&instance, __ATOMIC_ACQUIRE);
  if (c) return c;
  MT_WITH_LOCK(instance_lock) {
    if (!instance) {
      c = malloc(sizeof *c);
      c->id = ++constructed;
      __atomic_store_n(&instance, c, __ATOMIC_RELEASE);
    }
  }
  return instance;
}

static mt_once_t once = MT_ONCE_INIT;
static struct config *once_instance;
static void make_once(void *arg) {
  (void)arg;
  once_instance = malloc(sizeof *once_instance);
  once_instance->id = ++constructed;
}

static void *user(void *arg) {
  struct config **seen = arg;
  seen[0] = get_instance();
  mt_once_call(&once, make_once, NULL);
  seen[1] = once_instance;
  return NULL;
}

int main(void) {
  instance_lock = mt_lock_new(0);
  struct config *seen[8][2];
  mt_thread_t *t[8];
  for (int i = 0; i < 8; i++) t[i] = mt_thread_spawn(user, seen[i], NULL);
  int same = 1;
  for (int i = 0; i < 8; i++) {
    mt_thread_join(t[i], MT_FOREVER, NULL);
    mt_thread_free(t[i]);
    same &= seen[i][0] == seen[0][0] && seen[i][1] == seen[0][1];
  }
  printf("8 threads asked for the singleton: %s instance (lock), %s instance (once); %d constructions\n",
         same ? "one" : "SEVERAL", same ? "one" : "SEVERAL", constructed);
  free(instance), free(once_instance);
  mt_lock_free(instance_lock);
  return same && constructed == 2 ? 0 : 1;
}
