/* The notes' mmap example with a named segment: a writer process fills it,
 * a reader process (attaching by name, as an unrelated program would) reads
 * it.  Only the creator unlinks the name. */
#include <multitask.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char name[64];

static int writer(void *arg) {
  (void)arg;
  mt_shm_t *s = mt_shm_new(name, false, 0);
  if (!s) return 1;
  snprintf(mt_shm_buf(s), mt_shm_size(s), "hello from writer %d", (int)getpid());
  mt_shm_free(s);
  return 0;
}

static int reader(void *arg) {
  (void)arg;
  mt_shm_t *s = mt_shm_new(name, false, 0);
  if (!s) return 1;
  printf("reader %d read: \"%s\" (its unlink says %s)\n", (int)getpid(),
         (char *)mt_shm_buf(s), mt_err_name(mt_shm_unlink(s)));
  mt_shm_free(s);
  return 0;
}

int main(void) {
  snprintf(name, sizeof name, "mt_demo_%d", (int)getpid());
  mt_shm_t *seg = mt_shm_new(name, true, 4096);
  if (!seg) return 1;
  mt_process_t *w = mt_process_new(writer, NULL, NULL);
  mt_process_start(w);
  mt_process_join(w, MT_FOREVER);
  mt_process_t *r = mt_process_new(reader, NULL, NULL);
  mt_process_start(r);
  mt_process_join(r, MT_FOREVER);
  int first = mt_shm_unlink(seg), second = mt_shm_unlink(seg);
  printf("creator unlinks /dev/shm/%s: %s, twice: %s\n", mt_shm_name(seg),
         mt_err_name(first), mt_err_name(second));
  mt_shm_free(seg);
  mt_process_free(w);
  mt_process_free(r);
  return 0;
}
