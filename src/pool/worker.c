/* worker.c - the loop a pool worker process runs (see pool.c for the
 * protocol).  A worker receives one batch message, runs its items in order
 * and, before starting item i, has recorded in its shared block that items
 * [0, i) are done (their results in the arena or already sent).  Results
 * leave in one message per batch (or per full arena), so a batch of 10^4
 * trivial items costs two messages, while a kill at any instant still tells
 * the parent exactly which item was running. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "future/future_internal.h"
#include "pool/pool_internal.h"
#include "platform/platform.h"

typedef struct wctx {
  worker_t *w;
  wshm_t *shm;
  mt_conn_t *c;
  uint64_t seq;
} wctx_t;

/* Sends the arena's records [flushed, done) as one message. */
static int flush(wctx_t *x) {
  wshm_t *s = x->shm;
  uint32_t done = __atomic_load_n(&s->done, __ATOMIC_RELAXED);
  if (done == s->flushed) return 0;
  rmsg_hdr_t *h = (rmsg_hdr_t *)s->arena;
  h->seq = x->seq;
  h->first = s->flushed;
  h->count = done - s->flushed;
  int r = mt_conn_send_bytes(x->c, s->arena, sizeof *h + s->used, MT_FOREVER);
  if (r < 0) _exit(0); /* the parent is gone */
  __atomic_store_n(&s->flushed, done, __ATOMIC_RELEASE);
  s->used = 0;
  return 0;
}

static int replay_code(void *arg, mt_value_t *v) {
  (void)v;
  return *(int *)arg;
}

/* The message mt_task_fail attached to the failure just returned (heap
 * copy, may be NULL).  Only on the failure path: runs a throw-away future
 * so the futures part moves its thread-local message into it. */
static char *take_task_message(int code) {
  mt_future_t *f = mt__future_task_new(replay_code, &code, 1);
  if (!f) return NULL;
  mt__future_run(f, NULL, NULL);
  mt_task_error_t e;
  char *m = NULL;
  if (mt_future_exception(f, 0, &e) == 0 && e.message && e.message[0]) m = mt__strdup(e.message);
  mt_future_free(f);
  return m;
}

/* Appends item idx's record; sends first when the arena is full; a record
 * larger than the arena goes alone in its own message. */
static void put_record(wctx_t *x, uint32_t idx, int code, const mt_value_t *v,
                       const char *msg) {
  wshm_t *s = x->shm;
  size_t len = code < 0 ? 0 : v->len;
  size_t msglen = msg ? strlen(msg) : 0;
  size_t need = sizeof(rec_hdr_t) + mt__pad8(len) + mt__pad8(msglen);
  size_t room = MT__ARENA - sizeof(rmsg_hdr_t);
  if (s->used + need > room) flush(x);
  rec_hdr_t rh = {.code = code, .msglen = (uint32_t)msglen, .len = len,
                  .value = code < 0 ? 0 : (uint64_t)(uintptr_t)v->ptr};
  if (need <= room) {
    unsigned char *p = s->arena + sizeof(rmsg_hdr_t) + s->used;
    memcpy(p, &rh, sizeof rh);
    if (len) memcpy(p + sizeof rh, v->ptr, len);
    if (msglen) memcpy(p + sizeof rh + mt__pad8(len), msg, msglen);
    s->used += need;
    __atomic_store_n(&s->done, idx + 1, __ATOMIC_RELEASE);
    return;
  }
  /* big result: its own message (the arena is empty now) */
  size_t total = sizeof(rmsg_hdr_t) + need;
  unsigned char *m = mt__malloc(total);
  if (!m) {
    put_record(x, idx, MT_ENOMEM, &(mt_value_t){0}, NULL);
    return;
  }
  rmsg_hdr_t h = {.seq = x->seq, .first = idx, .count = 1};
  memcpy(m, &h, sizeof h);
  memcpy(m + sizeof h, &rh, sizeof rh);
  memcpy(m + sizeof h + sizeof rh, v->ptr, len);
  if (msglen) memcpy(m + sizeof h + sizeof rh + mt__pad8(len), msg, msglen);
  if (mt_conn_send_bytes(x->c, m, total, MT_FOREVER) < 0) _exit(0);
  mt__free(m);
  __atomic_store_n(&s->done, idx + 1, __ATOMIC_RELEASE);
  __atomic_store_n(&s->flushed, idx + 1, __ATOMIC_RELEASE);
}

/* A starmap item (MODE_STAR, see pool_internal.h): unpacks the argument
 * vector and calls fn(argc, argv, out).  A malformed item is MT_EINVAL. */
static int run_star(mt_pool_starfn fn, const unsigned char *data, size_t len, mt_value_t *out) {
  uint64_t argc;
  if (len < 8) return MT_EINVAL;
  memcpy(&argc, data, 8);
  if (argc > (len - 8) / 8 || argc > INT32_MAX) return MT_EINVAL;
  mt_bytes_t small[16], *argv = small;
  if (argc > 16 && !(argv = mt__malloc(argc * sizeof *argv))) return MT_ENOMEM;
  const unsigned char *lens = data + 8, *p = lens + argc * 8, *end = data + len;
  int r = 0;
  for (uint64_t k = 0; k < argc; k++) {
    uint64_t l;
    memcpy(&l, lens + k * 8, 8);
    if (l > (uint64_t)(end - p)) {
      r = MT_EINVAL;
      break;
    }
    argv[k] = (mt_bytes_t){l ? p : NULL, l};
    p += mt__pad8(l) <= (size_t)(end - p) ? mt__pad8(l) : (size_t)(end - p);
  }
  if (r == 0) r = fn((int)argc, argv, out);
  if (argv != small) mt__free(argv);
  return r;
}

static long run_batch(wctx_t *x, const unsigned char *buf, size_t len) {
  const tmsg_hdr_t *h = (const tmsg_hdr_t *)buf;
  wshm_t *s = x->shm;
  s->done = 0;
  s->flushed = 0;
  s->used = 0;
  x->seq = h->seq;
  __atomic_store_n(&s->seq, h->seq, __ATOMIC_RELEASE);
  const unsigned char *q = buf + sizeof *h, *end = buf + len;
  for (uint32_t i = 0; i < h->count && q + 8 <= end; i++) {
    uint64_t ilen;
    memcpy(&ilen, q, 8);
    const unsigned char *data = q + 8;
    q = data + mt__pad8(ilen);
    mt_value_t v = {0};
    int r;
    if (h->mode == MODE_VALUE) {
      void *arg;
      memcpy(&arg, data, sizeof arg);
      r = ((mt_task_fn)(uintptr_t)h->fn)(arg, &v);
    } else if (h->mode == MODE_STAR) {
      r = run_star((mt_pool_starfn)(uintptr_t)h->fn, data, ilen, &v);
    } else {
      r = ((mt_pool_fn)(uintptr_t)h->fn)(data, ilen, &v);
    }
    char *msg = NULL;
    if (r < 0) {
      if (v.free_fn) v.free_fn(v.ptr);
      v = (mt_value_t){0};
      msg = take_task_message(r);
    }
    put_record(x, i, r < 0 ? r : 0, &v, msg);
    mt__free(msg);
    if (r >= 0 && v.free_fn) v.free_fn(v.ptr);
  }
  flush(x);
  return h->count;
}

int mt__pool_worker_main(void *arg) {
  worker_t *w = arg;
  struct mt_pool *p = w->pool;
  if (!p->opts.workers_get_sigint) mt__sys_ignore_signal(SIGINT);
  /* descriptors of the parent's side: closing them here keeps EOF working
   * for the other workers and the parent */
  for (int i = 0; i < p->nw; i++)
    if (p->w[i].conn) mt_conn_close(p->w[i].conn);
  mt_conn_close(p->wake_r);
  mt_conn_close(p->wake_w);
  wctx_t x = {.w = w, .shm = w->shm, .c = w->child_conn};
  if (p->opts.initializer && p->opts.initializer(p->opts.initarg) != 0) {
    __atomic_store_n(&w->shm->init_failed, 1, __ATOMIC_RELEASE);
    return 1;
  }
  long left = p->opts.maxtasksperchild > 0 ? p->opts.maxtasksperchild : -1;
  for (;;) {
    void *buf;
    size_t len;
    if (mt_conn_recv_bytes(x.c, &buf, &len, MT_FOREVER) < 0) return 0;
    const tmsg_hdr_t *h = buf;
    if (len < sizeof *h || h->type != T_BATCH) {
      mt__free(buf);
      return 0;
    }
    long n = run_batch(&x, buf, len);
    mt__free(buf);
    if (left > 0 && (left -= n) <= 0) return 0;
  }
}
