/* Allocation failures in pipes: mt_pipe_new returns MT_ENOMEM and leaks
 * nothing; a receive that cannot allocate returns MT_ENOMEM and loses
 * nothing (the same message arrives intact on the next call); mt_conn_wait over
 * more connections than its stack array returns MT_ENOMEM or the answer. */
#include <string.h>

#include "failpoint.h"

#define NW 20

static int recv_check(mt_conn_t *c, const unsigned char *want, size_t n, int *nomem) {
  void *got = NULL;
  size_t len = 0;
  int r = mt_conn_recv_bytes(c, &got, &len, 5);
  if (r == MT_ENOMEM) { /* nothing lost: try again (one failure per run) */
    (*nomem)++;
    r = mt_conn_recv_bytes(c, &got, &len, 5);
  }
  if (r < 0) return r;
  FP_CHECK(len == n && memcmp(got, want, n) == 0);
  free(got);
  return 0;
}

static int scenario(void) {
  static unsigned char big[40000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 7);
  mt_conn_t *a, *b;
  int r = mt_pipe_new(true, &a, &b);
  if (r < 0) return r;
  int nomem = 0;
  size_t sizes[] = {1, 100, 5000, sizeof big};
  for (int i = 0; i < 4 && r == 0; i++) {
    r = mt_conn_send_bytes(a, big, sizes[i], 5);
    if (r == 0) r = recv_check(b, big, sizes[i], &nomem);
  }
  if (r == 0) r = mt_conn_send_str(b, "hello", 5);
  if (r == 0) {
    char *s = NULL;
    r = mt_conn_recv_str(a, &s, 5);
    if (r == MT_ENOMEM) {
      nomem++;
      r = mt_conn_recv_str(a, &s, 5);
    }
    if (r == 0) FP_CHECK(strcmp(s, "hello") == 0);
    free(s);
  }
  /* mt_conn_wait over NW connections, one of them ready */
  mt_conn_t *ra[NW] = {0}, *wa[NW] = {0};
  int made = 0;
  for (; r == 0 && made < NW; made++) r = mt_pipe_new(false, &ra[made], &wa[made]);
  if (r < 0) made--;
  if (r == 0) r = mt_conn_send_bytes(wa[7], "x", 1, 5);
  if (r == 0) {
    mt_waitable_t w[NW];
    for (int i = 0; i < NW; i++) w[i] = (mt_waitable_t){.kind = MT_WAIT_CONN, .obj = ra[i]};
    r = mt_conn_wait(w, NW, 5);
    if (r >= 0) {
      FP_CHECK(r == 1 && w[7].ready == 1);
      r = 0;
    }
  }
  for (int i = 0; i < made; i++) {
    mt_conn_free(ra[i]);
    mt_conn_free(wa[i]);
  }
  mt_conn_free(a);
  mt_conn_free(b);
  if (r == 0 && nomem) r = MT_ENOMEM; /* it did reach the caller */
  return r;
}

static void pipe_under_failures(void **state) {
  (void)state;
  fp_run("pipe", scenario);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(pipe_under_failures)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
