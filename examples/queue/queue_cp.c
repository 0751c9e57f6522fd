/* The notes' cp(2,3): 2 producers make 5 buns each into a Queue(10); 3
 * consumers eat until they get a None sentinel (one per consumer). */
#include <multitask.h>
#include <pthread.h>
#include <stdio.h>

static mt_queue_t *q;

static void *producer(void *name) {
  for (long i = 1; i <= 5; i++) {
    mt_queue_put(q, (void *)i, MT_FOREVER);
    printf("%s made bun %ld\n", (const char *)name, i);
  }
  return NULL;
}

static void *consumer(void *name) {
  long eaten = 0;
  for (;;) {
    void *bun;
    mt_queue_get(q, &bun, MT_FOREVER);
    if (bun == NULL) break; /* the sentinel: no more buns */
    eaten++;
  }
  printf("%s ate %ld buns and stops\n", (const char *)name, eaten);
  return (void *)eaten;
}

int main(void) {
  q = mt_queue_new(10);
  pthread_t p[2], c[3];
  const char *pn[2] = {"alex", "egon"}, *cn[3] = {"c1", "c2", "c3"};
  for (int i = 0; i < 3; i++) pthread_create(&c[i], NULL, consumer, (void *)cn[i]);
  for (int i = 0; i < 2; i++) pthread_create(&p[i], NULL, producer, (void *)pn[i]);
  for (int i = 0; i < 2; i++) pthread_join(p[i], NULL);
  for (int i = 0; i < 3; i++) mt_queue_put(q, NULL, MT_FOREVER); /* one None each */
  long total = 0;
  for (int i = 0; i < 3; i++) {
    void *n;
    pthread_join(c[i], &n);
    total += (long)n;
  }
  printf("all %ld buns eaten\n", total);
  mt_queue_free(q);
  return total == 10 ? 0 : 1;
}
