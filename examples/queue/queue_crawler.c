/* The notes' crawler: one thread produces list pages' detail URLs, three
 * threads fetch the details (simulated), a sentinel per worker ends them. */
#include <multitask.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static mt_queue_t *urls;

static void *list_producer(void *arg) {
  (void)arg;
  for (int page = 1; page <= 3; page++)
    for (int item = 1; item <= 4; item++) {
      char *url = malloc(64);
      snprintf(url, 64, "https://example.org/list/%d/detail/%d", page, item);
      mt_queue_put(urls, url, MT_FOREVER);
    }
  for (int i = 0; i < 3; i++) mt_queue_put(urls, NULL, MT_FOREVER);
  return NULL;
}

static void *detail_consumer(void *arg) {
  long id = (long)arg, done = 0;
  for (;;) {
    void *url;
    mt_queue_get(urls, &url, MT_FOREVER);
    if (!url) break;
    printf("worker %ld parsed %s\n", id, (char *)url);
    free(url);
    done++;
  }
  return (void *)done;
}

int main(void) {
  urls = mt_queue_new(5);
  mt_queue_set_item_free(urls, free);
  pthread_t p, c[3];
  for (long i = 0; i < 3; i++) pthread_create(&c[i], NULL, detail_consumer, (void *)(i + 1));
  pthread_create(&p, NULL, list_producer, NULL);
  pthread_join(p, NULL);
  long total = 0;
  for (int i = 0; i < 3; i++) {
    void *n;
    pthread_join(c[i], &n);
    total += (long)n;
  }
  printf("%ld detail pages parsed by 3 workers\n", total);
  mt_queue_free(urls);
  return total == 12 ? 0 : 1;
}
