/* Coroutines with yield/send (the notes' producer-consumer): the producer
 * sends each item to the consumer generator, which answers "200 OK".
 *
 *   def consumer():
 *       r = ''
 *       while True:
 *           n = yield r
 *           if not n: return
 *           print(f"[CONSUMER] Consuming {n} ...")
 *           r = '200 OK'
 *   def producer(c):
 *       c.send(None)
 *       n = 0
 *       while n < 5:
 *           n += 1
 *           print(f'[PRODUCER] Producing {n} ...')
 *           r = c.send(n)
 *           print(f'[PRODUCER] Consumer return: {r}')
 *       c.close()
 */
#include <multitask.h>

#include <stdint.h>
#include <stdio.h>

static void *consumer(mt_generator_t *self, void *arg) {
  (void)arg;
  const char *r = "";
  for (;;) {
    void *n;
    if (mt_generator_yield(self, (void *)r, &n) != 0) return NULL; /* close(): GeneratorExit */
    if (!n) return NULL;
    printf("[CONSUMER] Consuming %ld ...\n", (long)(intptr_t)n);
    r = "200 OK";
  }
}

static int producer(mt_generator_t *c) {
  if (mt_generator_send(c, NULL, NULL) != 0) return 1; /* start it */
  long n = 0;
  while (n < 5) {
    n += 1;
    printf("[PRODUCER] Producing %ld ...\n", n);
    void *r;
    if (mt_generator_send(c, (void *)(intptr_t)n, &r) != 0) return 1;
    printf("[PRODUCER] Consumer return: %s\n", (const char *)r);
  }
  return mt_generator_close(c) == 0 ? 0 : 1;
}

int main(void) {
  mt_generator_t *c = mt_generator_new(consumer, NULL, NULL);
  if (!c) {
    perror("mt_generator_new");
    return 1;
  }
  int r = producer(c);
  mt_generator_free(c);
  return r;
}
