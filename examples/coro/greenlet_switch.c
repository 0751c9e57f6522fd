/* greenlet switching (the notes' example): prints 12, 56, 34, 78.
 *
 *   from greenlet import greenlet
 *   def test1(): print(12); gr2.switch(); print(34); gr2.switch()
 *   def test2(): print(56); gr1.switch(); print(78)
 *   gr1 = greenlet(test1); gr2 = greenlet(test2); gr1.switch()
 *
 * gr2 finishes after 78 and returns to its parent (main), so main's
 * gr1.switch() returns; gr1 never gets its second turn, as in Python. */
#include <multitask.h>

#include <stdio.h>

static mt_greenlet_t *gr1, *gr2;

static void *test1(void *arg, void *value) {
  (void)arg, (void)value;
  printf("%d\n", 12);
  mt_greenlet_switch(gr2, NULL, NULL);
  printf("%d\n", 34);
  mt_greenlet_switch(gr2, NULL, NULL);
  return NULL;
}

static void *test2(void *arg, void *value) {
  (void)arg, (void)value;
  printf("%d\n", 56);
  mt_greenlet_switch(gr1, NULL, NULL);
  printf("%d\n", 78);
  return NULL;
}

int main(void) {
  gr1 = mt_greenlet_new(test1, NULL, NULL, NULL);
  gr2 = mt_greenlet_new(test2, NULL, NULL, NULL);
  if (!gr1 || !gr2) {
    perror("mt_greenlet_new");
    return 1;
  }
  int r = mt_greenlet_switch(gr1, NULL, NULL);
  printf("back in main: gr1 %s, gr2 %s\n", mt_greenlet_is_dead(gr1) ? "dead" : "suspended",
         mt_greenlet_is_dead(gr2) ? "dead" : "suspended");
  mt_greenlet_free(gr1); /* suspended: killed, it unwinds from its switch */
  mt_greenlet_free(gr2);
  return r == 0 ? 0 : 1;
}
