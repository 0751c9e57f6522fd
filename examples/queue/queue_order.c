/* LifoQueue gives back the last item first; PriorityQueue the lowest key
 * first, and equal keys in insertion order (Python needs a counter for
 * that). */
#include <multitask.h>
#include <stdio.h>

int main(void) {
  mt_queue_t *lifo = mt_queue_new_lifo(0);
  const char *words[] = {"one", "two", "three"};
  for (int i = 0; i < 3; i++) mt_queue_put(lifo, (void *)words[i], 0);
  printf("LifoQueue:");
  void *it;
  while (mt_queue_get_nowait(lifo, &it) == 0) printf(" %s", (char *)it);
  printf("\n");

  mt_queue_t *pq = mt_queue_new_priority(0);
  struct { int64_t prio; const char *what; } jobs[] = {
      {3, "write docs"}, {1, "fix bug"}, {2, "review"}, {1, "fix test"}, {3, "lunch"}};
  for (int i = 0; i < 5; i++) mt_queue_put_prio(pq, jobs[i].prio, (void *)jobs[i].what, 0);
  printf("PriorityQueue:\n");
  int64_t prio;
  while (mt_queue_get_prio(pq, &prio, &it, 0) == 0)
    printf("  (%lld, %s)\n", (long long)prio, (char *)it);
  mt_queue_free(lifo);
  mt_queue_free(pq);
  return 0;
}
