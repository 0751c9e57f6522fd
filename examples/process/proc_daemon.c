/* The notes' daemon processes (times divided by 10 unless said otherwise,
 * times MT_EXAMPLE_SCALE):
 *   proc_daemon 1   000_d8a1bcc7e9496ef7.txt, section 10 "孤儿进程、僵尸进程、
 *                   守护进程": class MyProcess(Process) printing its pid,
 *                   its parent's pid and its name; p1 (张三, Zhang San) and
 *                   the daemon p2 (李四, Li Si); main sleeps 2 s and prints
 *                   "main process ends" (主进程结束) last.
 *   proc_daemon 2   001_a745250b55c36603.txt, section 9.2.3 "守护进程": the
 *                   daemon son1 prints "is alive" every 0.5 s forever, the
 *                   non-daemon son2 prints "in son2" 5 times a second apart,
 *                   main sleeps 2 s and ends.  When main's code ends the
 *                   daemon is terminated at once; the process still waits for
 *                   son2, which prints all 5 lines.  (Python's exit does the
 *                   same: terminate the daemon children, join the others.)
 * main's "main's code ends" line in part 2 is ours, to show where it ends. */
#include <multitask.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "example.h"

/* ---- 1: class MyProcess(Process) -------------------------------------- */
struct my_process {
  mt_process_run_t base; /* Process */
  const char *name;
};

static mt_shvalue_t *printed; /* children that printed their lines (shared memory) */

static int my_process_run(mt_process_run_t *self) {
  struct my_process *p = (struct my_process *)self;
  printf("process %d, parent %d\n", (int)getpid(), (int)getppid());
  printf("my name is %s\n", p->name);
  mt_shvalue_add(printed, 1, NULL);
  return 0;
}

static int variant1(void) {
  struct my_process zhang = {{my_process_run}, "Zhang San"}, li = {{my_process_run}, "Li Si"};
  mt_process_opts_t o1 = MT_PROCESS_OPTS_INIT, o2 = MT_PROCESS_OPTS_INIT;
  o1.name = zhang.name;
  o2.name = li.name;
  o2.daemon = true; /* p2.daemon = True, before start() */
  printed = mt_shvalue_new('i', 0, true); /* Value('i', 0), before the forks */
  mt_process_t *p1 = mt_process_new_run(&zhang.base, &o1), *p2 = mt_process_new_run(&li.base, &o2);
  mt_process_start(p1);
  mt_process_start(p2);
  ex_sleep(0.5); /* time.sleep(2), divided by 4 */
  /* the notes' sleep lets both children print; on a starved machine a
   * child may not have run yet (the daemon is terminated as soon as main
   * ends, its lines lost): wait up to 30 s more until both printed */
  int64_t n = 0;
  for (double give_up = ex_now() + 30; mt_shvalue_get_i64(printed, &n) == 0 && n < 2 &&
                                       ex_now() < give_up;)
    ex_sleep(0.01);
  printf("main process ends\n");
  mt_process_free(p1); /* running or not: the library reaps them at exit */
  mt_process_free(p2);
  return 0;
}

/* ---- 2: daemon son1, non-daemon son2 ------------------------------------ */
static mt_shvalue_t *beats; /* lines son1 printed (shared memory) */

static int son1(void *arg) {
  (void)arg;
  for (;;) { /* while True: until terminated */
    printf("is alive\n");
    mt_shvalue_add(beats, 1, NULL);
    ex_sleep(0.05); /* time.sleep(0.5) */
  }
  return 0;
}

static int son2(void *arg) {
  (void)arg;
  for (int i = 0; i < 5; i++) {
    printf("in son2\n");
    ex_sleep(0.1); /* time.sleep(1) */
  }
  return 0;
}

static int variant2(void) {
  beats = mt_shvalue_new('i', 0, true); /* Value('i', 0) */
  mt_process_opts_t o = MT_PROCESS_OPTS_INIT;
  o.daemon = true; /* p.daemon = True */
  mt_process_t *p = mt_process_new(son1, NULL, &o);
  mt_process_start(p);
  mt_process_t *p2 = mt_process_new(son2, NULL, NULL);
  mt_process_start(p2);
  ex_sleep(0.2); /* time.sleep(2) */
  /* the notes' sleep lets the daemon print 4 times; on a starved machine
   * wait up to 5 s more until it printed twice */
  int64_t n = 0;
  for (double give_up = ex_now() + 5; mt_shvalue_get_i64(beats, &n) == 0 && n < 2 &&
                                      ex_now() < give_up;)
    ex_sleep(0.01);
  printf("main's code ends\n");
  mt_process_free(p);
  mt_process_free(p2);
  return 0; /* exit: SIGTERM to the daemon, then wait for son2 */
}

int main(int argc, char **argv) {
  ex_init();
  return (argc > 1 && atoi(argv[1]) == 2) ? variant2() : variant1();
}
