/* Thread "subclass" with run, and start+join inside a loop running serially.
 *
 * Seeds (/work/shared/seeds):
 *   004_5c065b13d5e62cce.txt, "join 代码": three threads, each started and
 *     joined in turn (t.start(); t.join()), each running f2 = sleep(3) then
 *     print(4+5), the elapsed time printed after each: 3, 6, 9 s, because
 *     "join makes the threads run one after another (串行)".  Scaled here:
 *     one unit = 0.1 s, so 0.3 s per thread; the elapsed time is printed in
 *     whole units so the output is stable.  Then the same three threads
 *     started first and joined after: about 3 units in all.
 *   004_5c065b13d5e62cce.txt, "创建线程的两种方式" / "Thread是线程类,有两种使用方法"
 *     方法二, and 001_a745250b55c36603.txt "9.3.2 线程模块" 面向对象方式:
 *     class MyThread(Thread) with __init__(self, arg) and run(self) that
 *     sleeps 1 s and prints 'the arg is:%s'; four of them started with
 *     t.start() and never joined; 'main thread end!' prints first, and the
 *     process waits for the (non-daemon) threads at exit.
 *
 * C: the subclass is a struct whose FIRST member is mt_thread_run_t
 * (mt_thread_new_run); a started-and-forgotten thread is
 * mt_thread_start_detached (no handle to free).  The four threads sleep at
 * the same time; a chain of events only orders their printing (thread i
 * prints after thread i-1, the first after main's last line), so the demo's
 * output is the same every run; Python's order would vary. */
#include <multitask.h>

#include <stdio.h>
#include <time.h>

#define UNIT 0.1 /* seconds per "second" of the notes */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_units(double units) {
  double s = units * UNIT;
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

static int units_since(double t0) { return (int)((now() - t0) / UNIT + 0.5); }

/* ---- start + join in the loop: serial ----------------------------------- */

static void *f2(void *arg) {
  (void)arg;
  sleep_units(3); /* time.sleep(3) */
  printf("%d\n", 4 + 5);
  return NULL;
}

static void join_in_the_loop(void) {
  printf("start+join in the loop (the notes' join code):\n");
  double a = now();
  for (int i = 0; i < 3; i++) {
    mt_thread_t *t = mt_thread_new(f2, NULL, NULL);
    mt_thread_start(t);
    mt_thread_join(t, MT_FOREVER, NULL); /* waits before the next starts */
    mt_thread_free(t);
    printf("elapsed %d units\n", units_since(a));
  }
  printf("start all three, then join them:\n");
  a = now();
  mt_thread_t *ts[3];
  for (int i = 0; i < 3; i++) ts[i] = mt_thread_spawn(f2, NULL, NULL);
  for (int i = 0; i < 3; i++) {
    mt_thread_join(ts[i], MT_FOREVER, NULL);
    mt_thread_free(ts[i]);
  }
  printf("elapsed %d units (they slept at the same time)\n", units_since(a));
}

/* ---- class MyThread(Thread) ----------------------------------------------- */

enum { N = 4 };
static mt_event_t *turn[N + 1]; /* turn[i]: thread i may print */

struct my_thread {
  mt_thread_run_t base; /* first member: the "Thread" part */
  int arg;              /* self.arg */
};

static void *my_thread_run(mt_thread_run_t *self) {
  struct my_thread *me = (struct my_thread *)self;
  sleep_units(1); /* time.sleep(1) */
  mt_event_wait(turn[me->arg], MT_FOREVER);
  printf("the arg is:%d (%s)\n", me->arg, mt_thread_name(mt_thread_current()));
  mt_event_set(turn[me->arg + 1]);
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  join_in_the_loop();

  printf("class MyThread(Thread) with run(self), started and forgotten:\n");
  static struct my_thread objs[N]; /* live until the threads end (exit) */
  for (int i = 0; i <= N; i++) turn[i] = mt_event_new(0);
  for (int i = 0; i < N; i++) {
    objs[i] = (struct my_thread){{my_thread_run}, i}; /* t = MyThread(i) */
    char name[16];
    snprintf(name, sizeof name, "MyThread-%d", i);
    mt_thread_opts_t o = MT_THREAD_OPTS_INIT;
    o.name = name;
    /* t.start(), the object dropped: it frees itself when it ends */
    if (mt_thread_start_detached(mt_thread_new_run(&objs[i].base, &o)) != 0) return 1;
  }
  printf("main thread end!\n");
  mt_event_set(turn[0]);
  /* main returns: exit waits for the four non-daemon threads, as Python */
  return 0;
}
