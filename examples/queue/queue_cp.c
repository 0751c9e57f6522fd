/* The notes' producer/consumer model: 001_a745250b55c36603.txt, section
 * 9.2.4 "生产者消费者模型", 4: cp(c_count, p_count) with cp(2, 3): a
 * Queue(10) between 2 consumer PROCESSES (both named alex) and 3 producer
 * PROCESSES (wusir, making 泔水 "swill" 0..9 each); main joins the
 * producers, then puts one None per consumer, and each consumer stops at
 * its None.  As in Python, the program's exit waits for the consumers.
 * Waits: a producer sleeps random() s before each item, divided by 10; a
 * consumer sleeps randint(1, 3) s per item, divided by 100 (else 30 items
 * take 3 s); both times MT_EXAMPLE_SCALE.  A None is an empty message
 * (Python: `if not food: break`).  Each consumer's exit code is how many it
 * ate, so main can say all 30 were eaten. */
#include <multitask.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "example.h"

static mt_mpqueue_t *q;

struct role {
  const char *name, *food;
};

static int producer(void *arg) {
  struct role *r = arg;
  unsigned seed = (unsigned)getpid();
  for (int i = 0; i < 10; i++) {
    ex_sleep(0.1 * rand_r(&seed) / RAND_MAX); /* time.sleep(random.random()) */
    char fd[32];
    int n = snprintf(fd, sizeof fd, "%s%d", r->food, i); /* '%s%s' % (food, i) */
    if (mt_mpqueue_put(q, fd, (size_t)n, MT_FOREVER) != 0) return 1;
    printf("%s produced a %s\n", r->name, r->food);
  }
  return 0;
}

static int consumer(void *arg) {
  struct role *r = arg;
  unsigned seed = (unsigned)getpid();
  int eaten = 0;
  for (;;) {
    char food[32];
    int n = mt_mpqueue_get(q, food, sizeof food, NULL, MT_FOREVER); /* q.get() */
    if (n <= 0) break; /* None (or an error): stop */
    ex_sleep(0.01 * (1 + rand_r(&seed) % 3)); /* time.sleep(random.randint(1, 3)) */
    printf("%s ate %.*s\n", r->name, n, food);
    eaten++;
  }
  return eaten;
}

static void cp(int c_count, int p_count) {
  q = mt_mpqueue_new(10, 32); /* Queue(10) */
  struct role alex = {"alex", NULL}, wusir = {"wusir", "swill"};
  mt_process_t *c[8], *p[8];
  for (int i = 0; i < c_count; i++) {
    c[i] = mt_process_new(consumer, &alex, NULL);
    mt_process_start(c[i]);
  }
  for (int i = 0; i < p_count; i++) {
    p[i] = mt_process_new(producer, &wusir, NULL);
    mt_process_start(p[i]);
  }
  for (int i = 0; i < p_count; i++) mt_process_join(p[i], MT_FOREVER); /* for p in p_l: p.join() */
  for (int i = 0; i < c_count; i++) mt_mpqueue_put(q, "", 0, MT_FOREVER); /* q.put(None) */
  int total = 0;
  for (int i = 0; i < c_count; i++) { /* (Python's exit waits for them) */
    int eaten = 0;
    mt_process_join(c[i], MT_FOREVER);
    mt_process_exitcode(c[i], &eaten);
    total += eaten;
    mt_process_free(c[i]);
  }
  for (int i = 0; i < p_count; i++) mt_process_free(p[i]);
  printf("%d consumers ate all %d of %d items\n", c_count, total, 10 * p_count);
  mt_mpqueue_free(q);
}

int main(void) {
  ex_init();
  cp(2, 3);
  return 0;
}
