/* Condition: the notes' dialogue (Li Bai and Wu Zetian take turns: wait /
 * notify on one Condition), then a producer/consumer on a 5-slot buffer. */
#include <multitask.h>
#include <stdio.h>

static mt_cond_t *cond;
static int turn; /* whose line is next: 0..3 */

static bool my_turn(void *arg) { return turn == (int)(long)arg; }

static void say(int line, const char *text) {
  mt_cond_acquire(cond, MT_FOREVER);
  mt_cond_wait_for(cond, my_turn, (void *)(long)line, MT_FOREVER);
  puts(text);
  turn++;
  mt_cond_notify_all(cond);
  mt_cond_release(cond);
}

static void *li_bai(void *arg) {
  (void)arg;
  say(0, "Li Bai: gank mid, push the tower");
  say(2, "Li Bai: OK");
  return NULL;
}

static void *wu_zetian(void *arg) {
  (void)arg;
  say(1, "Wu Zetian: wait, my ultimate is cooling down");
  say(3, "Wu Zetian: my ultimate is ready, go go go");
  return NULL;
}

#define SLOTS 5
#define ITEMS 20
static int buf[SLOTS], count, head;
static mt_cond_t *not_full, *not_empty;
static mt_lock_t *lock;

static void *producer(void *arg) {
  (void)arg;
  for (int i = 1; i <= ITEMS; i++) {
    mt_lock_acquire(lock, MT_FOREVER);
    while (count == SLOTS) mt_cond_wait(not_full, MT_FOREVER);
    buf[(head + count++) % SLOTS] = i;
    printf("produced bun %d (%d in the basket)\n", i, count);
    mt_cond_notify(not_empty, 1);
    mt_lock_release(lock);
  }
  return NULL;
}

static void *consumer(void *arg) {
  long sum = 0;
  for (int i = 0; i < ITEMS; i++) {
    mt_lock_acquire(lock, MT_FOREVER);
    while (count == 0) mt_cond_wait(not_empty, MT_FOREVER);
    int v = buf[head];
    head = (head + 1) % SLOTS;
    count--;
    printf("  ate bun %d\n", v);
    sum += v;
    mt_cond_notify(not_full, 1);
    mt_lock_release(lock);
  }
  *(long *)arg = sum;
  return NULL;
}

int main(void) {
  cond = mt_cond_new(NULL, 0); /* its own RLock, as Python's Condition() */
  mt_thread_t *a = mt_thread_spawn(li_bai, NULL, NULL), *b = mt_thread_spawn(wu_zetian, NULL, NULL);
  mt_thread_join(a, MT_FOREVER, NULL), mt_thread_join(b, MT_FOREVER, NULL);
  mt_thread_free(a), mt_thread_free(b);
  mt_cond_free(cond);

  lock = mt_lock_new(0);
  not_full = mt_cond_new(lock, 0);
  not_empty = mt_cond_new(lock, 0);
  long sum = 0;
  mt_thread_t *p = mt_thread_spawn(producer, NULL, NULL), *c = mt_thread_spawn(consumer, &sum, NULL);
  mt_thread_join(p, MT_FOREVER, NULL), mt_thread_join(c, MT_FOREVER, NULL);
  mt_thread_free(p), mt_thread_free(c);
  printf("consumer ate %d buns, sum %ld (expected %d)\n", ITEMS, sum, ITEMS * (ITEMS + 1) / 2);
  mt_cond_free(not_full), mt_cond_free(not_empty), mt_lock_free(lock);
  return sum == ITEMS * (ITEMS + 1) / 2 ? 0 : 1;
}
