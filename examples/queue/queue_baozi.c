/* The notes' thread queues: 004_5c065b13d5e62cce.txt, section "queue模块"
 * "生产者--消费者":
 *  part 1: message = Queue(10); 12 producer threads put their number and 10
 *    consumer threads get, forever (no output in the notes).  Here each
 *    producer puts 1000 items and each consumer stops at its None: the
 *    total taken equals the total put.
 *  part 2: q = Queue(); Produce('alex') puts 20 baozi (buns), printing
 *    "Producer alex has made i baozi .."; Consumer('liu') gets 20, printing
 *    "Consumer liu has eaten i baozi ... chihuo..", resting randrange(4) s
 *    after each (the producer's randrange(1) is always 0).  The consumer's
 *    rest is divided by 100 here (times MT_EXAMPLE_SCALE); the notes' colour
 *    escapes are left out. */
#include <multitask.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "example.h"

static mt_queue_t *message, *q;
static long taken[10];

static void *producer(void *arg) {
  (void)arg;
  for (int k = 0; k < 1000; k++) mt_queue_put(message, (void *)(uintptr_t)1, MT_FOREVER);
  return NULL;
}

static void *consumer(void *arg) {
  long i = (long)arg;
  for (;;) {
    void *msg;
    mt_queue_get(message, &msg, MT_FOREVER); /* message.get() */
    if (msg == NULL) break;                  /* our sentinel: stop */
    taken[i] += (long)(uintptr_t)msg;
  }
  return NULL;
}

static void *produce(void *name) {
  for (long i = 0; i < 20; i++) {
    mt_queue_put(q, (void *)(i + 1), MT_FOREVER); /* q.put(i) (+1: NULL is not an item) */
    printf("Producer %s has made %ld baozi ..\n", (const char *)name, i);
  }
  return NULL;
}

static void *consume(void *name) {
  unsigned seed = 12345;
  for (int count = 0; count < 20; count++) {
    void *data;
    mt_queue_get(q, &data, MT_FOREVER); /* q.get() */
    printf("Consumer %s has eaten %ld baozi ... chihuo..\n", (const char *)name, (long)data - 1);
    ex_sleep(0.01 * (rand_r(&seed) % 4)); /* time.sleep(random.randrange(4)) */
  }
  return NULL;
}

int main(void) {
  ex_init();
  message = mt_queue_new(10); /* Queue.Queue(10) */
  mt_thread_t *p[12], *c[10];
  for (long i = 0; i < 12; i++) p[i] = mt_thread_spawn(producer, (void *)i, NULL);
  for (long i = 0; i < 10; i++) c[i] = mt_thread_spawn(consumer, (void *)i, NULL);
  for (int i = 0; i < 12; i++) mt_thread_join(p[i], MT_FOREVER, NULL), mt_thread_free(p[i]);
  for (int i = 0; i < 10; i++) mt_queue_put(message, NULL, MT_FOREVER);
  long total = 0;
  for (int i = 0; i < 10; i++) {
    mt_thread_join(c[i], MT_FOREVER, NULL), mt_thread_free(c[i]);
    total += taken[i];
  }
  printf("12 producers put %d items through Queue(10), 10 consumers took %ld\n", 12 * 1000, total);
  mt_queue_free(message);

  q = mt_queue_new(0); /* Queue.Queue() */
  mt_thread_t *pt = mt_thread_spawn(produce, "alex", NULL), *ct = mt_thread_spawn(consume, "liu", NULL);
  mt_thread_join(pt, MT_FOREVER, NULL), mt_thread_join(ct, MT_FOREVER, NULL);
  mt_thread_free(pt), mt_thread_free(ct);
  mt_queue_free(q);
  return total == 12 * 1000 ? 0 : 1;
}
