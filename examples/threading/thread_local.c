/* threading.local (the notes' example): main stores "main", a thread
 * stores "notmain"; each sees its own value.  Values with a destructor are
 * freed when their thread exits. */
#include <multitask.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mt_local_t *tname;  /* local.tname */
static mt_local_t *buffer; /* a per-thread buffer, freed at thread exit */

static void free_buffer(void *p) {
  printf("  freeing %s's buffer\n", (char *)p);
  free(p);
}

static void *func(void *arg) {
  (void)arg;
  mt_local_set(tname, "notmain");
  printf("%s\n", (char *)mt_local_get(tname));
  mt_local_set(buffer, strdup(mt_thread_name(mt_thread_current())));
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  tname = mt_local_new(NULL);
  buffer = mt_local_new(free_buffer);
  mt_local_set(tname, "main");
  mt_thread_opts_t o = MT_THREAD_OPTS_INIT;
  o.name = "t1";
  mt_thread_t *t1 = mt_thread_spawn(func, NULL, &o);
  mt_thread_join(t1, MT_FOREVER, NULL);
  mt_thread_free(t1);
  printf("%s\n", (char *)mt_local_get(tname));
  mt_local_set(buffer, strdup("MainThread"));
  mt_local_free(buffer); /* destroys the caller's value */
  mt_local_free(tname);
  return 0;
}
