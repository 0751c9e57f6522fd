/* gate.h - a one-shot pipe gate: children block until the parent opens it.
 * No sleeps: the child waits on the pipe itself. */
#ifndef MT_TEST_GATE_H
#define MT_TEST_GATE_H
#include <unistd.h>

typedef struct gate { int r, w; } gate_t;

static inline void gate_init(gate_t *g) {
  int fds[2];
  if (pipe(fds) != 0) abort();
  g->r = fds[0];
  g->w = fds[1];
}
/* In the child: wait until the parent opened the gate (EOF). */
static inline void gate_wait(gate_t *g) {
  char c;
  close(g->w);
  while (read(g->r, &c, 1) > 0) {}
}
/* In the parent: open it (close the only write end left). */
static inline void gate_open(gate_t *g) {
  close(g->w);
  close(g->r);
}
#endif
