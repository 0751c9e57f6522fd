/* A user's program: uses the installed headers and library. */
#include <multitask.h>
#include <stdio.h>

int main(void) {
  mt_lock_t *l = mt_lock_new(0);
  if (!l || mt_lock_acquire(l, 1.0) != 0 || mt_lock_release(l) != 0) return 1;
  mt_lock_free(l);
  printf("consumer ok: %s\n", mt_err_name(MT_ETIMEDOUT));
  return 0;
}
