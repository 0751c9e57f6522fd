/* Queue(3): put_nowait on a full queue raises Full (MT_EFULL), get_nowait
 * on an empty one Empty (MT_EEMPTY); a timed put/get waits, then raises
 * the same Full / Empty, as Python does. */
#include <multitask.h>
#include <stdio.h>

int main(void) {
  mt_queue_t *q = mt_queue_new(3);
  for (long i = 1; i <= 4; i++) {
    int r = mt_queue_put_nowait(q, (void *)i);
    printf("put_nowait(%ld) -> %s   qsize=%d full=%d\n", i, mt_err_name(r),
           mt_queue_qsize(q), mt_queue_is_full(q));
  }
  printf("put(5, timeout=0.1) -> %s\n", mt_err_name(mt_queue_put(q, (void *)5, 0.1)));
  void *it;
  for (int i = 0; i < 4; i++) {
    int r = mt_queue_get_nowait(q, &it);
    printf("get_nowait() -> %s", mt_err_name(r));
    if (r == 0) printf(" item %ld", (long)it);
    printf("   empty=%d\n", mt_queue_is_empty(q));
  }
  printf("get(timeout=0.1) -> %s\n", mt_err_name(mt_queue_get(q, &it, 0.1)));
  mt_queue_free(q);
  return 0;
}
