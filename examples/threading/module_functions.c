/* current_thread, enumerate, active_count, ident (the notes' 9.3.4):
 * a thread prints its own ident; main prints the list of live threads. */
#include <multitask.h>

#include <pthread.h>
#include <stdio.h>
#include <time.h>

static void *func(void *arg) {
  mt_thread_t *t = mt_thread_current();
  printf("start son thread %d ident %llu\n", (int)(intptr_t)arg,
         (unsigned long long)mt_thread_ident(t));
  struct timespec ts = {0, 200 * 1000 * 1000};
  nanosleep(&ts, NULL);
  printf("end son thread %d\n", (int)(intptr_t)arg);
  return NULL;
}

static void *foreign(void *arg) { /* a thread the library did not start */
  (void)arg;
  printf("a pthread sees itself as %s\n", mt_thread_name(mt_thread_current()));
  return NULL;
}

int main(void) {
  mt_thread_t *t = mt_thread_spawn(func, (void *)1, NULL);
  printf("t.ident            %llu\n", (unsigned long long)mt_thread_ident(t));
  printf("current().ident    %llu  (%s)\n",
         (unsigned long long)mt_thread_ident(mt_thread_current()),
         mt_thread_name(mt_thread_current()));
  printf("main_thread()      %s\n", mt_thread_name(mt_thread_main()));
  mt_thread_t *all[16];
  int n = mt_thread_enumerate(all, 16);
  printf("enumerate():");
  for (int i = 0; i < n && i < 16; i++)
    printf(" <%s%s, started %llu>", mt_thread_name(all[i]),
           mt_thread_is_daemon(all[i]) ? " daemon" : "",
           (unsigned long long)mt_thread_ident(all[i]));
  for (int i = 0; i < n && i < 16; i++) mt_thread_free(all[i]); /* references */
  printf("\nactive_count()     %d  (= len(enumerate()))\n", mt_thread_active_count());
  pthread_t p;
  pthread_create(&p, NULL, foreign, NULL);
  pthread_join(p, NULL);
  mt_thread_join(t, MT_FOREVER, NULL);
  mt_thread_free(t);
  printf("after join: active_count() %d\n", mt_thread_active_count());
  return 0;
}
