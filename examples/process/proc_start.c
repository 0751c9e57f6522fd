/* The notes' first processes: 001_a745250b55c36603.txt, section 9.2.2
 * "进程模块", 1 "开启进程" (面向函数方式): p1 = Process(target=eat),
 * p2 = Process(target=sleep), both started, then main prints "main : pid".
 * start() is asynchronous: it asks the system for the process and returns
 * without waiting for the child to run, so main's line comes before the
 * children's "end" lines, and in the notes before their "start" lines too.
 * A fork is much quicker than Python's child start, so here a child may
 * print "start ..." before main does; its "end ..." always comes after.
 * Then, as the notes go on (3 "主进程和子进程之间的关系"), main's code ends and
 * the program waits for its children before it exits.
 * The children sleep the notes' 1 s divided by 10 (times MT_EXAMPLE_SCALE).
 * Their "end" line then waits for main's line (an MT_SHARED event main sets
 * once it printed): the notes' order rests on the sleep, and on a starved
 * machine main could be held off the CPU for longer than a child's sleep
 * (tests/scenarios saw main's line after an "end" line under load).  The
 * wait is what shows start() is asynchronous: main prints while both
 * children are alive and waiting; had start() waited for a child to end,
 * main's line would come only after the wait's 30 s bound ran out, after
 * the "end" lines. */
#include <multitask.h>
#include <stdio.h>
#include <unistd.h>

#include "example.h"

static mt_event_t *main_printed; /* MT_SHARED: main's line is out */

static int eat(void *arg) {
  (void)arg;
  printf("start eating %d\n", (int)getpid());
  ex_sleep(0.1); /* time.sleep(1) */
  mt_event_wait(main_printed, 30);
  printf("end eating %d\n", (int)getpid());
  return 0;
}

static int sleep_(void *arg) {
  (void)arg;
  printf("start sleeping %d\n", (int)getpid());
  ex_sleep(0.1);
  mt_event_wait(main_printed, 30);
  printf("end sleeping %d\n", (int)getpid());
  return 0;
}

int main(void) {
  ex_init();
  main_printed = mt_event_new(MT_SHARED); /* before the forks: the children share it */
  mt_process_t *p1 = mt_process_new(eat, NULL, NULL); /* Process(target=eat) */
  mt_process_start(p1); /* asynchronous: does not wait for the child to run */
  mt_process_t *p2 = mt_process_new(sleep_, NULL, NULL);
  mt_process_start(p2);
  printf("main : %d\n", (int)getpid());
  mt_event_set(main_printed);
  mt_process_free(p1); /* main's code ends here: the exit waits for both */
  mt_process_free(p2);
  return 0; /* main_printed stays: the children may still be inside their wait */
}
