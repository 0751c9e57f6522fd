/* Processes do not share memory: the child changes its copy of a global. */
#include <multitask.h>
#include <stdio.h>

static int n = 100;

static int child(void *arg) {
  (void)arg;
  n = 0;
  printf("child: n = %d\n", n);
  return 0;
}

int main(void) {
  mt_process_t *p = mt_process_new(child, NULL, NULL);
  mt_process_start(p);
  mt_process_join(p, MT_FOREVER);
  mt_process_free(p);
  printf("parent: n = %d (unchanged)\n", n);
  return n == 100 ? 0 : 1;
}
