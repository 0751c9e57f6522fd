/* The notes' Condition examples:
 *  part 1: 000_d8a1bcc7e9496ef7.txt, section 9 (3) "条件变量": the dialogue
 *    of Li Bai and Wu Zetian taking turns with wait / notify (4 lines).
 *  part 2: 004_5c065b13d5e62cce.txt, section "Condition类" 例子一: one
 *    producer and one consumer alternate strictly, "produce..." /
 *    "consume..." (the notes loop forever; here 5 rounds).
 *  part 3: the same section, 例子二: 2 Producers and 3 Consumers share
 *    `products` under one Condition; a producer delivers while products <
 *    10, else says "already 10" and waits; a consumer consumes while
 *    products > 1, else says "only 1" and waits.  Each thread does 4 rounds
 *    (the notes loop forever) with the notes' sleep(2) divided by 10; a wait
 *    has a timeout so that the last threads are not left waiting for a
 *    notify that no longer comes.
 * Python's Condition() makes its own RLock: mt_cond_new(NULL, 0) does too. */
#include <multitask.h>
#include <stdio.h>

#include "example.h"

static mt_cond_t *cond;

/* ---- part 1: the dialogue ---------------------------------------------- */
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

/* ---- part 2: strict alternation ----------------------------------------- */
static const char *product; /* None or 'anything' */
static bool is_none(void *arg) { return (void)arg, product == NULL; }
static bool is_some(void *arg) { return (void)arg, product != NULL; }

static void *produce(void *arg) {
  (void)arg;
  mt_cond_acquire(cond, MT_FOREVER);
  for (int i = 0; i < 5; i++) {
    mt_cond_wait_for(cond, is_none, NULL, MT_FOREVER);
    puts("produce...");
    product = "anything";
    mt_cond_notify(cond, 1); /* tell the consumer */
  }
  mt_cond_release(cond);
  return NULL;
}

static void *consume(void *arg) {
  (void)arg;
  mt_cond_acquire(cond, MT_FOREVER);
  for (int i = 0; i < 5; i++) {
    mt_cond_wait_for(cond, is_some, NULL, MT_FOREVER);
    puts("consume...");
    product = NULL;
    mt_cond_notify(cond, 1); /* tell the producer */
  }
  mt_cond_release(cond);
  return NULL;
}

/* ---- part 3: 2 producers, 3 consumers, limit 10 ------------------------- */
static int products, max_products, min_products = 1 << 30;

static void seen(void) {
  if (products > max_products) max_products = products;
  if (products < min_products) min_products = products;
}

static void *producer(void *arg) {
  (void)arg;
  const char *name = mt_thread_name(mt_thread_current());
  for (int round = 0; round < 4; round++) {
    mt_cond_acquire(cond, MT_FOREVER);
    if (products < 10) {
      products++;
      seen();
      printf("Producer(%s):deliver one, now products:%d\n", name, products);
      mt_cond_notify(cond, 1);
    } else {
      printf("Producer(%s):already 10, stop deliver, now products:%d\n", name, products);
      mt_cond_wait(cond, 0.4 * ex_scale()); /* releases the lock while waiting */
    }
    mt_cond_release(cond);
    ex_sleep(0.2); /* time.sleep(2) */
  }
  return NULL;
}

static void *consumer(void *arg) {
  (void)arg;
  const char *name = mt_thread_name(mt_thread_current());
  for (int round = 0; round < 4; round++) {
    mt_cond_acquire(cond, MT_FOREVER);
    if (products > 1) {
      products--;
      seen();
      printf("Consumer(%s):consume one, now products:%d\n", name, products);
      mt_cond_notify(cond, 1);
    } else {
      printf("Consumer(%s):only 1, stop consume, products:%d\n", name, products);
      mt_cond_wait(cond, 0.4 * ex_scale());
    }
    mt_cond_release(cond);
    ex_sleep(0.2);
  }
  return NULL;
}

static void pair(void *(*first)(void *), void *(*second)(void *)) {
  mt_thread_t *a = mt_thread_spawn(first, NULL, NULL), *b = mt_thread_spawn(second, NULL, NULL);
  mt_thread_join(a, MT_FOREVER, NULL), mt_thread_join(b, MT_FOREVER, NULL);
  mt_thread_free(a), mt_thread_free(b);
}

int main(void) {
  ex_init();
  cond = mt_cond_new(NULL, 0); /* threading.Condition(): its own RLock */
  pair(li_bai, wu_zetian);
  pair(consume, produce); /* the notes start the consumer first */

  mt_thread_t *t[5];
  for (int p = 0; p < 2; p++) t[p] = mt_thread_spawn(producer, NULL, NULL);
  for (int c = 0; c < 3; c++) t[2 + c] = mt_thread_spawn(consumer, NULL, NULL);
  for (int i = 0; i < 5; i++) mt_thread_join(t[i], MT_FOREVER, NULL), mt_thread_free(t[i]);
  printf("2 producers, 3 consumers: products stayed within %d..%d (limit 10), now %d\n",
         min_products, max_products, products);
  mt_cond_free(cond);
  return max_products <= 10 && min_products >= 1 ? 0 : 1;
}
