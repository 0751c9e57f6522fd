/* pool.c - multiprocessing.Pool on forked workers, one manager thread, and
 * per-worker channels.
 *
 * Why per-worker channels and not one shared task queue (Python's design).
 * With a shared queue a worker killed while holding the queue's lock hangs
 * the pool (CPython gh-66587), and nobody knows which task the dead worker
 * had taken.  Here the parent hands each batch to ONE worker over that
 * worker's connection (mt_conn), so it always knows what every worker
 * holds; a dead worker can corrupt nothing shared.
 *
 * Why a shared block per worker.  Results leave a worker in one message per
 * batch, so a map of 10^5 trivial items is a handful of messages, not 10^5.
 * Before starting item i the worker has written items [0, i)'s results into
 * its shared arena and release-stored done = i.  When the worker dies, the
 * parent first drains what was sent, then reads done: the results still in
 * the arena are delivered, item max(done, received) was running and fails
 * (MT_EWORKERDIED with the exit status), and the items after it go back to
 * the front of the queue for other workers.  Nothing runs twice.
 *
 * One manager thread (mt_thread) owns the workers and the queue of work.
 * It parks in ONE mt__wait_fds over: a wake pipe (user threads submit,
 * close, cancel), every worker's channel, and every worker's pidfd (the
 * Process part's sentinel), with a deadline for task timeouts and the
 * terminate grace.  It completes futures and runs user callbacks with no
 * lock held.  Batches are sized adaptively: the first batch of a job is one
 * chunk; later ones aim at ~2 ms of measured work (whole chunks, at most an
 * even share of what remains), so fast items are batched like Python's
 * default chunking while slow items keep chunk granularity.  A worker holds
 * at most two batches (the second only when small), so sends never block
 * on a worker that is itself blocked sending results.  apply/submit tasks
 * go only to idle workers and alone: a RUNNING future is really running, so
 * cancelling it (or its timeout) kills exactly that worker.
 *
 * fork: a pool made before fork has no manager and no workers in the child
 * (they belong to the parent): every call there returns MT_EFORKED and
 * mt_pool_free returns at once (the thread pool does the same).
 *
 * Lifetime.  The pool is reference counted (users): one reference for
 * the owner, handed over by mt_pool_free (which never waits) to the
 * manager: whichever of "free was called" and "the manager stopped" comes
 * second drops it (the `handoff` count), plus one for
 * every thread inside a pool call (pool_enter/pool_leave) and one for
 * every imap iterator.  pool_release runs when the last one is dropped, so
 * a deferred free never pulls the pool, or the manager's mt_thread_t, from
 * under a thread parked in mt_pool_join / mt_pool_terminate / a map
 * (review finding 1).  A call that STARTS after mt_pool_free was called is
 * a use after free, as with any free: the caller must order it before.
 *
 * Lock order: pool->lock only (user threads: state, incoming list); the
 * manager never holds it while sending, waiting or completing futures.
 * Invariants: a worker's in-flight batches are in send order; the queue
 * holds only items not yet sent; a job is freed when its last reference
 * (manager until all items are delivered, plus the caller's) is dropped.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "platform/platform.h"
#include "pool/pool_internal.h"
#include "process/process_internal.h"
#include "thread/thread.h"
#include "wait/wait.h"

#define TARGET_BATCH_NS 2000000.0
#define MAX_BATCH 65536
#define MAX_SECOND_MSG (48 * 1024)

/* ---- jobs --------------------------------------------------------------- */

static void job_unref(job_t *j) {
  if (__atomic_sub_fetch(&j->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  if (j->res) {
    for (size_t i = 0; i < j->n; i++)
      if (j->res[i].value.free_fn) j->res[i].value.free_fn(j->res[i].value.ptr);
    mt__free(j->res);
  }
  mt__free(j->ready);
  mt__free(j->order);
  mt__free(j->one_buf);
  mt__free(j->own_items);
  if (j->future) mt_future_free(j->future);
  mt__free(j);
}

static void job_notify(job_t *j) {
  __atomic_add_fetch(&j->progress, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&j->sleepers, __ATOMIC_SEQ_CST)) {
    __atomic_store_n(&j->sleepers, 0, __ATOMIC_SEQ_CST);
    mt__wake_word(&j->progress, INT32_MAX, false);
  }
}

/* Waits until cond(j, arg) holds or the deadline: 0, MT_ETIMEDOUT, or
 * MT_ECANCELLED / MT_EINTR from the park (a word park: a coroutine parks
 * its task).  Nothing to unwind: `sleepers` is a flag the next notify
 * clears, and a notify wakes every waiter, so nobody else's wake is lost. */
static int job_wait(job_t *j, bool (*cond)(job_t *, void *), void *arg, int64_t deadline) {
  for (;;) {
    uint32_t seen = __atomic_load_n(&j->progress, __ATOMIC_SEQ_CST);
    if (cond(j, arg)) return 0;
    __atomic_store_n(&j->sleepers, 1, __ATOMIC_SEQ_CST);
    if (cond(j, arg)) return 0;
    int r = mt__word_park(&j->progress, seen, false, deadline);
    if (r < 0 && cond(j, arg)) {
      mt__wait_cancel_undelivered(r); /* done after all: a cancel stays pending */
      return 0;
    }
    if (r < 0) return r;
  }
}

static bool job_all_done(job_t *j, void *unused) {
  (void)unused;
  return __atomic_load_n(&j->ndone, __ATOMIC_ACQUIRE) == j->n;
}

/* ---- waking the manager ---------------------------------------------- */

static void wake_manager(mt_pool_t *p) {
  if (__atomic_exchange_n(&p->wake_pending, 1, __ATOMIC_SEQ_CST)) return;
  char b = 1;
  mt_conn_send_bytes(p->wake_w, &b, 1, 0);
}

/* Reads the wake bytes, THEN clears the flag: a waker that found the flag
 * set has appended its work before, and the manager takes the incoming
 * list after this.  (Clearing first could swallow a later waker's byte and
 * leave the flag set with nothing in the pipe: a lost wake-up.) */
static void drain_wake(mt_pool_t *p) {
  char b[64];
  size_t len;
  while (mt_conn_recv_bytes_into(p->wake_r, b, sizeof b, &len, 0) == 0) {
  }
  __atomic_store_n(&p->wake_pending, 0, __ATOMIC_SEQ_CST);
}

/* ---- the queue of unsent work (manager only) -------------------------- */

static int q_reserve(mt_pool_t *p) {
  if (p->qhead + p->qlen < p->qcap && p->qhead > 0) return 0;
  if (p->qhead > 0) {
    memmove(p->q, p->q + p->qhead, p->qlen * sizeof *p->q);
    p->qhead = 0;
  }
  if (p->qlen + 1 < p->qcap) return 0;
  size_t cap = p->qcap ? p->qcap * 2 : 64;
  range_t *q = mt__realloc(p->q, cap * sizeof *q);
  if (!q) return MT_ENOMEM;
  p->q = q;
  p->qcap = cap;
  return 0;
}

static void fail_range(mt_pool_t *p, job_t *j, size_t start, size_t end, int code,
                       const char *msg);

/* Queueing a range can need memory: when there is none, its items end
 * MT_ENOMEM at once (never dropped: their caller would wait forever). */
static void q_push_back(mt_pool_t *p, job_t *j, size_t start, size_t end) {
  if (start >= end) return;
  if (q_reserve(p) < 0) {
    fail_range(p, j, start, end, MT_ENOMEM, "out of memory queueing it");
    return;
  }
  p->q[p->qhead + p->qlen++] = (range_t){j, start, end};
}

static void q_push_front(mt_pool_t *p, job_t *j, size_t start, size_t end) {
  if (start >= end) return;
  if (p->qhead == 0) {
    if (q_reserve(p) < 0) {
      fail_range(p, j, start, end, MT_ENOMEM, "out of memory queueing it");
      return;
    }
    memmove(p->q + 1, p->q, p->qlen * sizeof *p->q);
    p->qhead = 1;
  }
  p->q[--p->qhead] = (range_t){j, start, end};
  p->qlen++;
}

/* ---- delivering results (manager only, no lock held) ------------------ */

static char *died_message(const worker_t *w, int exitcode) {
  char buf[128];
  if (exitcode < 0)
    snprintf(buf, sizeof buf, "worker pid %d killed by signal %d (exitcode %d)", w->pid,
             -exitcode, exitcode);
  else
    snprintf(buf, sizeof buf, "worker pid %d exited with status %d (exitcode %d)", w->pid,
             exitcode, exitcode);
  return mt__strdup(buf);
}

static void job_item_finished(mt_pool_t *p, job_t *j) {
  (void)p;
  size_t d = __atomic_add_fetch(&j->ndone, 1, __ATOMIC_ACQ_REL);
  if (d != j->n) return;
  if (j->kind == JK_MAP && j->future) {
    if (j->user_res) {
      memcpy(j->user_res, j->res, j->n * sizeof *j->res);
      for (size_t i = 0; i < j->n; i++) j->res[i].value.free_fn = NULL; /* moved */
    }
    if (j->first_err < 0) {
      char m[64];
      snprintf(m, sizeof m, "item %zu failed", j->first_err_idx);
      mt_future_set_exception(j->future, j->first_err, m);
    } else {
      mt_future_set_result(j->future, (mt_value_t){0});
    }
  }
  job_notify(j);
  job_unref(j); /* the manager's reference */
}

/* Item idx of j ended: code 0 with bytes/value, or a failure. */
static void deliver(mt_pool_t *p, job_t *j, size_t idx, int code, int exitcode,
                    const void *bytes, size_t len, uint64_t value, const char *msg) {
  if (j->kind == JK_FUTURE) {
    if (code == 0) {
      mt_value_t v = {(void *)(uintptr_t)value, 0, NULL};
      if (len) {
        v.ptr = mt__malloc(len + 1);
        if (v.ptr) {
          memcpy(v.ptr, bytes, len);
          ((char *)v.ptr)[len] = 0;
          v.len = len;
          v.free_fn = free;
        } else {
          code = MT_ENOMEM;
        }
      }
      if (code == 0) {
        if (j->topts.callback) j->topts.callback(&v, j->topts.cb_arg);
        if (mt_future_set_result(j->future, v) < 0 && v.free_fn) v.free_fn(v.ptr);
      }
    }
    if (code < 0) {
      if (j->topts.error_callback) {
        mt_task_error_t e = {code, msg ? msg : ""};
        j->topts.error_callback(&e, j->topts.cb_arg);
      }
      if (code == MT_EWORKERDIED || code == MT_ECANCELLED || code == MT_EBROKEN ||
          code == MT_ENOMEM)
        mt_future_set_error(j->future, code, msg);
      else
        mt_future_set_exception(j->future, code, msg);
    }
    job_item_finished(p, j);
    return;
  }
  mt_pool_result_t *r = &j->res[idx];
  r->code = code;
  r->exitcode = exitcode;
  r->value = (mt_value_t){code == 0 ? (void *)(uintptr_t)value : NULL, 0, NULL};
  if (code == 0 && len) {
    void *copy = mt__malloc(len);
    if (copy) {
      memcpy(copy, bytes, len);
      r->value = (mt_value_t){copy, len, free};
    } else {
      r->code = code = MT_ENOMEM;
    }
  }
  if (code < 0 && (j->first_err == 0 || idx < j->first_err_idx)) {
    j->first_err = code;
    j->first_err_idx = idx;
  }
  if (j->kind == JK_IMAP) {
    size_t k = __atomic_load_n(&j->ndone, __ATOMIC_RELAXED);
    j->order[k] = idx;
    __atomic_store_n(&j->ready[idx], 1, __ATOMIC_RELEASE);
  }
  job_item_finished(p, j);
}

/* Fails the items [start, end) of j that never ran. */
static void fail_range(mt_pool_t *p, job_t *j, size_t start, size_t end, int code,
                       const char *msg) {
  for (size_t i = start; i < end; i++) {
    if (j->kind == JK_FUTURE && code == MT_ECANCELLED && mt_future_cancel(j->future) == 1) {
      job_item_finished(p, j);
      continue;
    }
    deliver(p, j, i, code, 0, NULL, 0, 0, msg);
  }
}

/* Parses `count` records starting at rec for batch b, from item `first`. */
static void take_records(mt_pool_t *p, batch_t *b, uint32_t first, uint32_t count,
                         const unsigned char *rec, const unsigned char *end) {
  for (uint32_t k = 0; k < count && rec + sizeof(rec_hdr_t) <= end; k++) {
    rec_hdr_t h;
    memcpy(&h, rec, sizeof h);
    const unsigned char *data = rec + sizeof h;
    const unsigned char *msgp = data + mt__pad8(h.len);
    rec = msgp + mt__pad8(h.msglen);
    if (rec > end) break;
    uint32_t idx = first + k;
    if (idx < b->received) continue; /* already delivered */
    char *msg = NULL;
    if (h.msglen) msg = mt__strndup((const char *)msgp, h.msglen);
    deliver(p, b->job, b->start + idx, h.code, 0, data, h.len, h.value, msg);
    mt__free(msg);
    b->received = idx + 1;
  }
}

/* ---- workers ---------------------------------------------------------- */

static int spawn_worker(mt_pool_t *p, worker_t *w) {
  mt_conn_t *a, *b;
  int r = mt_pipe_new(true, &a, &b);
  if (r < 0) return r;
  memset(w->shm, 0, offsetof(wshm_t, arena));
  w->conn = a;
  w->child_conn = b;
  w->nfl = 0;
  w->quitting = w->dying = false;
  w->kill_code = 0;
  w->run_deadline = MT__NO_DEADLINE;
  w->quota = p->opts.maxtasksperchild > 0 ? p->opts.maxtasksperchild : -1;
  char name[32];
  long n = __atomic_add_fetch(&p->started, 1, __ATOMIC_RELAXED);
  snprintf(name, sizeof name, "PoolWorker-%ld", n);
  mt_process_opts_t po = MT_PROCESS_OPTS_INIT;
  po.name = name;
  po.daemon = true;
  w->proc = mt_process_new(mt__pool_worker_main, w, &po);
  if (!w->proc) {
    r = -errno;
  } else {
    mt__process_set_child_mask(w->proc, &p->child_mask);
    r = mt_process_start(w->proc);
  }
  mt_conn_free(b);
  w->child_conn = NULL;
  if (r < 0) {
    mt_process_free(w->proc);
    w->proc = NULL;
    mt_conn_free(a);
    w->conn = NULL;
    w->alive = false;
    return r;
  }
  __atomic_store_n(&w->pid, (int)mt_process_pid(w->proc), __ATOMIC_RELAXED);
  w->alive = true;
  w->eof = false;
  return 0;
}

static void kill_for(worker_t *w, int code, const char *why);

/* Reads every complete message the worker sent (never blocks).  Out of
 * memory: the message stays in the connection's buffer (where poll no
 * longer sees it), so recv_retry makes the manager try again soon;
 * returns MT_ENOMEM then.  A broken channel (a header above the maximum,
 * or a partly read message lost to a lack of memory: the stream cannot be
 * resynchronised, every later receive says MT_EBROKEN) is an end like EOF:
 * the worker is killed and replaced, handle_death settles what it held;
 * returns MT_EBROKEN then.  (Before, it was neither: the readable socket
 * stayed polled, the manager spun, and the worker's task never ended.)
 * Else 0. */
static int drain_worker(mt_pool_t *p, worker_t *w) {
  w->recv_retry = false;
  for (;;) {
    void *buf;
    size_t len;
    int r = mt_conn_recv_bytes(w->conn, &buf, &len, 0);
    if (r == MT_ECLOSED || r == MT_EIO || r == MT_EBADF) w->eof = true;
    if (r == MT_ENOMEM) w->recv_retry = true;
    if (r == MT_EMSGSIZE || r == MT_EBROKEN) {
      w->eof = true;
      kill_for(w, MT_EBROKEN, "the worker's result channel broke: worker killed and replaced");
      return MT_EBROKEN;
    }
    if (r < 0) return r == MT_ENOMEM ? r : 0;
    const rmsg_hdr_t *h = buf;
    if (len >= sizeof *h && w->nfl > 0 && !w->dying) {
      batch_t *b = &w->fl[0];
      if (h->seq == b->seq) {
        take_records(p, b, h->first, h->count, (const unsigned char *)buf + sizeof *h,
                     (const unsigned char *)buf + len);
        if (b->received >= b->count) {
          int64_t now = mt__now_ns();
          job_t *j = b->job;
          double per = (double)(now - b->t0) / b->count;
          j->ns_per_item = j->ns_per_item > 0 ? (j->ns_per_item + per) / 2 : per;
          w->fl[0] = w->fl[1];
          w->nfl--;
          w->run_deadline = MT__NO_DEADLINE;
          if (w->nfl) w->fl[0].t0 = now;
          job_unref(j); /* the batch's reference */
        }
      }
    }
    mt__free(buf);
  }
}

/* The worker's process ended: settle what it held, then replace it. */
static void handle_death(mt_pool_t *p, worker_t *w) {
  int dr = drain_worker(p, w);
  for (int tries = 0; dr == MT_ENOMEM && tries < 3; tries++) dr = drain_worker(p, w);
  int exitcode = 0;
  mt_process_join(w->proc, 0);
  mt_process_exitcode(w->proc, &exitcode);
  bool init_failed = __atomic_load_n(&w->shm->init_failed, __ATOMIC_ACQUIRE);
  for (int k = w->nfl - 1; k >= 0; k--) {
    batch_t *b = &w->fl[k];
    uint64_t seq = __atomic_load_n(&w->shm->seq, __ATOMIC_ACQUIRE);
    if (k == 0 && seq == b->seq && !w->dying) {
      uint32_t done = __atomic_load_n(&w->shm->done, __ATOMIC_ACQUIRE);
      uint32_t flushed = __atomic_load_n(&w->shm->flushed, __ATOMIC_ACQUIRE);
      if (done > b->count) done = b->count;
      if (dr < 0 && b->received < flushed) { /* sent, but could not be received */
        fail_range(p, b->job, b->start + b->received, b->start + flushed, dr,
                   dr == MT_ENOMEM ? "out of memory receiving its result"
                                   : "its result was lost: the worker's channel broke");
        b->received = flushed;
      }
      if (flushed < done)
        take_records(p, b, flushed, done - flushed, w->shm->arena + sizeof(rmsg_hdr_t),
                     w->shm->arena + MT__ARENA);
      uint32_t running = b->received > done ? b->received : done;
      b->received = running;
      if (running < b->count) {
        int code = w->kill_code ? w->kill_code : MT_EWORKERDIED;
        char *msg = w->kill_code ? mt__strdup(w->kill_why) : died_message(w, exitcode);
        deliver(p, b->job, b->start + running, code, w->kill_code ? 0 : exitcode, NULL, 0,
                0, msg);
        mt__free(msg);
        q_push_front(p, b->job, b->start + running + 1, b->start + b->count);
      }
    } else if (!w->dying) {
      q_push_front(p, b->job, b->start + b->received, b->start + b->count);
    }
    /* requeued (or failed) items keep the job alive through the queue's
     * use of the manager's job reference; the batch's reference goes */
    job_unref(b->job);
  }
  w->nfl = 0;
  __atomic_store_n(&w->pid, 0, __ATOMIC_RELAXED);
  mt_process_free(w->proc);
  w->proc = NULL;
  mt_conn_free(w->conn);
  w->conn = NULL;
  w->alive = false;
  if (init_failed) __atomic_store_n(&p->broken, true, __ATOMIC_RELEASE);
}

/* Kills the worker to stop its head task (cancel or timeout). */
static void kill_for(worker_t *w, int code, const char *why) {
  if (w->kill_code) return;
  w->kill_code = code;
  w->kill_why = why;
  mt_process_kill(w->proc);
}

/* ---- dispatching ------------------------------------------------------ */

static int live_workers(mt_pool_t *p) {
  int n = 0;
  for (int i = 0; i < p->nw; i++) n += p->w[i].alive && !p->w[i].quitting;
  return n;
}

/* Items to send from range r to worker w. */
static size_t batch_size(mt_pool_t *p, worker_t *w, const range_t *r) {
  job_t *j = r->job;
  size_t left = r->end - r->start;
  if (j->kind == JK_FUTURE) return 1;
  size_t cs = j->chunksize;
  size_t k = cs;
  if (j->ns_per_item > 0) {
    double want = TARGET_BATCH_NS / j->ns_per_item;
    if (want > (double)MAX_BATCH) want = MAX_BATCH;
    k = (size_t)want / cs * cs;
    if (k < cs) k = cs;
    int nl = live_workers(p);
    size_t share = (left + (size_t)(nl > 0 ? nl : 1) - 1) / (size_t)(nl > 0 ? nl : 1);
    share = (share + cs - 1) / cs * cs;
    if (k > share) k = share;
  }
  if (k > left) k = left;
  if (w->quota >= 0 && k > (size_t)w->quota) k = (size_t)w->quota;
  return k;
}

/* Builds and sends one batch from the queue's front to w.  Returns 1 when
 * sent, 0 when nothing could go, negative on a send failure. */
static int send_batch(mt_pool_t *p, worker_t *w, bool second) {
  range_t *r = &p->q[p->qhead];
  job_t *j = r->job;
  if (__atomic_load_n(&j->cancelled, __ATOMIC_ACQUIRE)) {
    fail_range(p, j, r->start, r->end, MT_ECANCELLED, "cancelled before it started");
    p->qhead++;
    p->qlen--;
    return 1;
  }
  if (j->kind == JK_FUTURE) {
    if (second) return 0;
    /* a requeued task (its worker died before starting it) is RUNNING
     * already; a cancelled one is dropped */
    int s = mt_future_state(j->future) == MT_FUTURE_RUNNING
                ? 1
                : mt_future_set_running_or_notify_cancel(j->future);
    if (s == 1 && mt_future_is_cancel_requested(j->future)) {
      p->qhead++;
      p->qlen--;
      deliver(p, j, 0, MT_ECANCELLED, 0, NULL, 0, 0, "cancelled before it started");
      return 1;
    }
    if (s != 1) { /* cancelled while queued */
      p->qhead++;
      p->qlen--;
      job_item_finished(p, j);
      return 1;
    }
  }
  size_t k = batch_size(p, w, r);
  if (k == 0) return 0;
  size_t bytes = sizeof(tmsg_hdr_t);
  size_t i;
  for (i = 0; i < k; i++) {
    const mt_bytes_t *it = j->kind == JK_FUTURE ? &j->one : &j->items[r->start + i];
    size_t add = 8 + mt__pad8(it->len);
    if (i > 0 && bytes + add > (second ? MAX_SECOND_MSG : (size_t)4 << 20)) break;
    bytes += add;
  }
  k = i;
  if (second && bytes > MAX_SECOND_MSG) return 0;
  unsigned char *m = mt__malloc(bytes);
  if (!m) { /* these items fail now rather than wait for a wake-up */
    size_t start = r->start;
    r->start += k;
    if (r->start == r->end) {
      p->qhead++;
      p->qlen--;
    }
    fail_range(p, j, start, start + k, MT_ENOMEM, "out of memory sending it to a worker");
    return 1;
  }
  tmsg_hdr_t h = {.type = T_BATCH, .mode = (uint32_t)j->mode, .seq = ++p->next_seq,
                  .fn = (uint64_t)(uintptr_t)j->fn, .count = (uint32_t)k};
  memcpy(m, &h, sizeof h);
  unsigned char *o = m + sizeof h;
  for (i = 0; i < k; i++) {
    const mt_bytes_t *it = j->kind == JK_FUTURE ? &j->one : &j->items[r->start + i];
    uint64_t len = it->len;
    memcpy(o, &len, 8);
    if (len) memcpy(o + 8, it->ptr, len);
    o += 8 + mt__pad8(len);
  }
  int64_t now = mt__now_ns();
  batch_t *b = &w->fl[w->nfl++];
  *b = (batch_t){.job = j, .start = r->start, .count = (uint32_t)k, .seq = h.seq, .t0 = now};
  __atomic_add_fetch(&j->refs, 1, __ATOMIC_RELAXED);
  if (w->quota > 0) w->quota -= (long)k;
  if (j->kind == JK_FUTURE && j->topts.size && j->topts.timeout >= 0)
    w->run_deadline = now + (int64_t)(j->topts.timeout * 1e9);
  r->start += k;
  if (r->start == r->end) {
    p->qhead++;
    p->qlen--;
  }
  int s = mt_conn_send_bytes(w->conn, m, bytes, MT_FOREVER);
  mt__free(m);
  /* a failed send means the worker is dying: its pidfd settles the batch */
  (void)s;
  return 1;
}

static bool can_take(worker_t *w, bool second) {
  if (!w->alive || w->quitting || w->dying || w->kill_code || w->quota == 0) return false;
  if (!second) return w->nfl == 0;
  return w->nfl == 1 && w->fl[0].job->kind != JK_FUTURE;
}

static void dispatch(mt_pool_t *p) {
  for (int pass = 0; pass < 2; pass++) {
    bool second = pass == 1;
    for (int i = 0; i < p->nw && p->qlen > 0; i++) {
      worker_t *w = &p->w[i];
      while (p->qlen > 0 && can_take(w, second)) {
        if (second && p->q[p->qhead].job->kind == JK_FUTURE) break;
        if (send_batch(p, w, second) <= 0) break;
        if (second) break;
      }
    }
  }
}

/* ---- the manager thread ---------------------------------------------- */

/* Drops queued ranges of jobs whose caller gave up (map timeout, imap
 * freed): their items end MT_ECANCELLED without running. */
static void purge_cancelled(mt_pool_t *p) {
  size_t k = 0;
  for (size_t i = 0; i < p->qlen; i++) {
    range_t r = p->q[p->qhead + i];
    if (__atomic_load_n(&r.job->cancelled, __ATOMIC_ACQUIRE))
      fail_range(p, r.job, r.start, r.end, MT_ECANCELLED, "cancelled before it started");
    else
      p->q[p->qhead + k++] = r;
  }
  p->qlen = k;
}

static void take_incoming(mt_pool_t *p) {
  mt__mutex_lock(&p->lock, false, MT__NO_DEADLINE);
  job_t *j = p->in_head;
  p->in_head = p->in_tail = NULL;
  bool cancel = p->cancel_pending;
  p->cancel_pending = false;
  mt__mutex_unlock(&p->lock, false);
  if (__atomic_exchange_n(&p->purge, false, __ATOMIC_ACQ_REL)) purge_cancelled(p);
  while (j) {
    job_t *next = j->next;
    q_push_back(p, j, 0, j->n);
    j = next;
  }
  if (cancel) {
    for (size_t i = 0; i < p->qlen; i++) {
      range_t *r = &p->q[p->qhead + i];
      if (r->job->kind == JK_FUTURE) mt_future_cancel(r->job->future);
    }
  }
}

static int get_state(mt_pool_t *p) { return __atomic_load_n(&p->state, __ATOMIC_ACQUIRE); }

static bool any_inflight(mt_pool_t *p) {
  for (int i = 0; i < p->nw; i++)
    if (p->w[i].alive && p->w[i].nfl) return true;
  return false;
}

static bool any_alive(mt_pool_t *p) {
  for (int i = 0; i < p->nw; i++)
    if (p->w[i].alive) return true;
  return false;
}

/* Fails everything queued (terminate, broken pool). */
static void fail_queue(mt_pool_t *p, int code, const char *msg) {
  while (p->qlen > 0) {
    range_t r = p->q[p->qhead++];
    p->qlen--;
    fail_range(p, r.job, r.start, r.end, code, msg);
  }
}

static void start_terminate(mt_pool_t *p) {
  if (p->term_deadline) return;
  double g = p->opts.grace; /* MT_FOREVER: SIGTERM only, never SIGKILL */
  p->term_deadline = g < 0 ? INT64_MAX : mt__now_ns() + (int64_t)(g * 1e9);
  fail_queue(p, MT_ECANCELLED, "pool terminated");
  for (int i = 0; i < p->nw; i++) {
    worker_t *w = &p->w[i];
    if (!w->alive) continue;
    /* everything it holds ends now; late results are ignored */
    for (int k = 0; k < w->nfl; k++) {
      batch_t *b = &w->fl[k];
      fail_range(p, b->job, b->start + b->received, b->start + b->count, MT_ECANCELLED,
                 "pool terminated");
      b->received = b->count;
    }
    w->dying = true;
    mt_process_terminate(w->proc);
  }
}

/* Starts or replaces workers as needed; false when none can run. */
static void keep_workers(mt_pool_t *p) {
  if (__atomic_load_n(&p->broken, __ATOMIC_ACQUIRE)) return;
  int st = get_state(p);
  if (st == P_TERMINATING) return;
  if (st == P_CLOSED && p->qlen == 0) return;
  bool any = false;
  int spawn_err = 0;
  for (int i = 0; i < p->nw; i++) {
    if (!p->w[i].alive) {
      int r = spawn_worker(p, &p->w[i]);
      if (r < 0) spawn_err = r;
    }
    any |= p->w[i].alive;
  }
  /* No worker at all and none could start (out of memory, fork failed):
   * the queued work fails with that code instead of waiting for a wake-up
   * that may never come.  The next submit tries again. */
  if (!any && spawn_err < 0) fail_queue(p, spawn_err, "no worker process could be started");
}

/* Frees what is left of a stopped pool (every worker is gone), when the
 * last reference goes: from mt_pool_free, from the manager itself as its
 * last act, or from the last thread leaving a pool call; from the manager,
 * mt_thread_free detaches it and its record lives until it returns. */
static void pool_release(mt_pool_t *p) {
  mt_thread_free(p->manager);
  for (int i = 0; i < p->nw; i++) mt__obj_free(p->w[i].shm, sizeof(wshm_t), MT_SHARED);
  mt_conn_free(p->wake_r);
  mt_conn_free(p->wake_w);
  mt__free(p->q);
  mt__free(p->w);
  mt__free(p->fds);
  mt__free(p->who);
  mt__free(p);
}

/* A thread inside a pool call (or an imap iterator) keeps p alive. */
static void pool_enter(mt_pool_t *p) { __atomic_add_fetch(&p->users, 1, __ATOMIC_RELAXED); }

static void pool_leave(mt_pool_t *p) {
  if (__atomic_sub_fetch(&p->users, 1, __ATOMIC_ACQ_REL) == 0) pool_release(p);
}

static void *manager_main(void *arg) {
  mt_pool_t *p = arg;
  struct pollfd *fds = p->fds;
  int *who = p->who;
  for (;;) {
    take_incoming(p);
    int st = get_state(p);
    if (st == P_TERMINATING) start_terminate(p);
    if (__atomic_load_n(&p->broken, __ATOMIC_ACQUIRE))
      fail_queue(p, MT_EBROKEN, "a worker's initializer failed: the pool is broken");
    keep_workers(p);
    if (st != P_TERMINATING) dispatch(p);
    if (st == P_CLOSED && p->qlen == 0 && !any_inflight(p)) {
      for (int i = 0; i < p->nw; i++) {
        worker_t *w = &p->w[i];
        if (w->alive && !w->quitting) {
          tmsg_hdr_t q = {.type = T_QUIT};
          w->quitting = true;
          mt_conn_send_bytes(w->conn, &q, sizeof q, 0);
        }
      }
    }
    if (st != P_OPEN && !any_alive(p)) break;
    if (__atomic_load_n(&p->broken, __ATOMIC_ACQUIRE) && st != P_OPEN && !any_alive(p)) break;

    /* cancels and timeouts of running tasks; the terminate deadline */
    int64_t deadline = MT__NO_DEADLINE, now = mt__now_ns();
    for (int i = 0; i < p->nw; i++) {
      worker_t *w = &p->w[i];
      if (!w->alive || w->nfl == 0 || w->fl[0].job->kind != JK_FUTURE) continue;
      if (mt_future_is_cancel_requested(w->fl[0].job->future))
        kill_for(w, MT_ECANCELLED, "cancelled while running: worker killed and replaced");
      else if (w->run_deadline <= now)
        kill_for(w, MT_ECANCELLED, "task timeout expired: worker killed and replaced");
      else if (w->run_deadline < deadline)
        deadline = w->run_deadline;
    }
    for (int i = 0; i < p->nw; i++) /* a receive that ran out of memory: retry soon */
      if (p->w[i].alive && p->w[i].recv_retry && now + 10000000 < deadline)
        deadline = now + 10000000;
    if (p->term_deadline) {
      if (now >= p->term_deadline && !p->term_killed) {
        p->term_killed = true;
        for (int i = 0; i < p->nw; i++)
          if (p->w[i].alive) mt_process_kill(p->w[i].proc);
      } else if (!p->term_killed && p->term_deadline < deadline) {
        deadline = p->term_deadline;
      }
    }

    int nf = 0;
    fds[nf] = (struct pollfd){.fd = mt_conn_fileno(p->wake_r), .events = POLLIN};
    who[nf++] = -1;
    for (int i = 0; i < p->nw; i++) {
      worker_t *w = &p->w[i];
      if (!w->alive) continue;
      if (!w->eof) {
        fds[nf] = (struct pollfd){.fd = mt_conn_fileno(w->conn), .events = POLLIN};
        who[nf++] = i;
      }
      fds[nf] = (struct pollfd){.fd = mt_process_sentinel(w->proc), .events = POLLIN};
      who[nf++] = i + p->nw;
    }
    int r = mt__wait_fds(fds, nf, deadline);
    for (int i = 0; i < p->nw; i++)
      if (p->w[i].alive && p->w[i].recv_retry) drain_worker(p, &p->w[i]);
    if (r <= 0) continue;
    if (fds[0].revents) drain_wake(p);
    for (int k = 1; k < nf; k++) {
      if (!fds[k].revents) continue;
      int i = who[k];
      if (i < p->nw) {
        if (p->w[i].alive) drain_worker(p, &p->w[i]);
      } else if (p->w[i - p->nw].alive) {
        handle_death(p, &p->w[i - p->nw]);
      }
    }
  }
  /* anything left (no worker could run it) fails */
  fail_queue(p, __atomic_load_n(&p->broken, __ATOMIC_ACQUIRE) ? MT_EBROKEN : MT_ECANCELLED,
             "pool stopped");
  take_incoming(p);
  fail_queue(p, MT_ECANCELLED, "pool stopped");
  /* mt_pool_free (called before, or later) drops the owner's reference
   * through this hand-off: the second of the two to arrive does it */
  if (__atomic_add_fetch(&p->handoff, 1, __ATOMIC_ACQ_REL) == 2) pool_leave(p);
  return NULL;
}

/* ---- public API ------------------------------------------------------- */

mt_pool_t *mt_pool_new(const mt_pool_opts_t *opts) {
  if (opts && !mt__opts_size_ok(opts->size, sizeof(mt_pool_opts_t)))
    return mt__fail_null(MT_EINVAL);
  mt_pool_opts_t o = opts ? *opts : (mt_pool_opts_t)MT_POOL_OPTS_INIT;
  if (o.maxtasksperchild < 0 || !mt__time_opt_ok(o.grace)) return mt__fail_null(MT_EINVAL);
  if (o.processes <= 0) o.processes = mt_cpu_count();
  if (o.processes <= 0) o.processes = 1;
  if (o.processes > 1024) return mt__fail_null(MT_EINVAL);
  mt_pool_t *p = mt__calloc(1, sizeof *p);
  if (!p) return mt__fail_null(MT_ENOMEM);
  p->opts = o;
  p->nw = o.processes;
  mt__sys_sigmask(SIG_BLOCK, NULL, &p->child_mask); /* the workers' mask */
  p->fork_gen = mt__fork_generation();
  p->users = 1; /* the owner's, dropped by mt_pool_free */
  mt__mutex_init(&p->lock);
  p->w = mt__calloc((size_t)p->nw, sizeof *p->w);
  p->fds = mt__calloc((size_t)(1 + 2 * p->nw), sizeof *p->fds);
  p->who = mt__calloc((size_t)(1 + 2 * p->nw), sizeof *p->who);
  int r = p->w && p->fds && p->who ? 0 : MT_ENOMEM;
  if (r == 0) r = mt_pipe_new(false, &p->wake_r, &p->wake_w);
  for (int i = 0; r == 0 && i < p->nw; i++) {
    p->w[i].pool = p;
    p->w[i].shm = mt__obj_alloc(sizeof(wshm_t), MT_SHARED);
    if (!p->w[i].shm) r = MT_ENOMEM;
  }
  for (int i = 0; r == 0 && i < p->nw; i++) r = spawn_worker(p, &p->w[i]);
  if (r == 0) {
    mt_thread_opts_t to = MT_THREAD_OPTS_INIT;
    to.name = "mt-pool";
    to.daemon = to.daemon_set = true;
    p->manager = mt_thread_new(manager_main, p, &to);
    if (!p->manager) r = -errno;
    else r = mt__thread_start_internal(p->manager); /* every signal blocked */
  }
  if (r < 0) {
    for (int i = 0; p->w && i < p->nw; i++) {
      worker_t *w = &p->w[i];
      if (w->proc) {
        mt_process_kill(w->proc);
        mt_process_join(w->proc, MT_FOREVER);
        mt_process_free(w->proc);
      }
      mt_conn_free(w->conn);
      if (w->shm) mt__obj_free(w->shm, sizeof(wshm_t), MT_SHARED);
    }
    mt_thread_free(p->manager);
    mt_conn_free(p->wake_r);
    mt_conn_free(p->wake_w);
    mt__free(p->w);
    mt__free(p->fds);
    mt__free(p->who);
    mt__free(p);
    return mt__fail_null(r);
  }
  return p;
}

static bool forked(const mt_pool_t *p) { return p->fork_gen != mt__fork_generation(); }

/* Hands a job to the manager (the manager's reference is the job's first). */
static int submit_job(mt_pool_t *p, job_t *j) {
  if (forked(p)) return MT_EFORKED;
  pool_enter(p);
  mt__mutex_lock(&p->lock, false, MT__NO_DEADLINE);
  int r = p->state != P_OPEN                              ? MT_ECLOSED
          : __atomic_load_n(&p->broken, __ATOMIC_ACQUIRE) ? MT_EBROKEN
                                                          : 0;
  if (r == 0) {
    j->next = NULL;
    if (p->in_tail) p->in_tail->next = j;
    else p->in_head = j;
    p->in_tail = j;
  }
  mt__mutex_unlock(&p->lock, false);
  if (r == 0) wake_manager(p);
  pool_leave(p);
  return r;
}

static int cancel_hook(mt_future_t *f, void *ctx) {
  (void)f;
  wake_manager(ctx);
  return 0;
}

int mt__pool_submit_one(mt_pool_t *p, int mode, void *fn, const void *in, size_t len,
                        const mt_pool_task_opts_t *opts, mt_future_t **out) {
  if (out) *out = NULL;
  if (!p || !fn || !out || (len && !in)) return MT_EINVAL;
  if (opts && (!mt__opts_size_ok(opts->size, sizeof(mt_pool_task_opts_t)) ||
               !mt__time_opt_ok(opts->timeout)))
    return MT_EINVAL;
  job_t *j = mt__calloc(1, sizeof *j);
  if (!j) return MT_ENOMEM;
  j->kind = JK_FUTURE;
  j->mode = mode;
  j->fn = fn;
  j->n = 1;
  j->chunksize = 1;
  j->refs = 1;
  if (opts) j->topts = *opts;
  if (len) {
    j->one_buf = mt__malloc(len);
    if (!j->one_buf) {
      mt__free(j);
      return MT_ENOMEM;
    }
    memcpy(j->one_buf, in, len);
  }
  j->one = (mt_bytes_t){j->one_buf, len};
  j->future = mt_future_new();
  if (!j->future) {
    mt__free(j->one_buf);
    mt__free(j);
    return MT_ENOMEM;
  }
  mt_future_set_cancel_hook(j->future, cancel_hook, p);
  mt_future_t *f = mt_future_ref(j->future);
  int r = submit_job(p, j);
  if (r < 0) {
    mt_future_free(f);
    job_unref(j);
    return r;
  }
  *out = f;
  return 0;
}

int mt_pool_apply_async(mt_pool_t *p, mt_pool_fn fn, const void *in, size_t len,
                        const mt_pool_task_opts_t *opts, mt_future_t **out) {
  return mt__pool_submit_one(p, MODE_BYTES, (void *)(uintptr_t)fn, in, len, opts, out);
}

int mt_pool_apply(mt_pool_t *p, mt_pool_fn fn, const void *in, size_t len, double timeout,
                  mt_value_t *out) {
  int64_t deadline;
  if (!out || mt__deadline(timeout, &deadline) < 0) return MT_EINVAL;
  *out = (mt_value_t){0};
  mt_future_t *f;
  int r = mt_pool_apply_async(p, fn, in, len, NULL, &f);
  if (r < 0) return r;
  r = mt_future_take_result(f, timeout, out);
  if (r == MT_ETIMEDOUT || r == MT_ECANCELLED)
    mt_future_cancel(f); /* not started: dropped; running: runs on */
  mt_future_free(f);
  return r;
}

int mt_pool_died_exitcode(mt_future_t *f, int *exitcode) {
  mt_task_error_t e;
  if (!f || !exitcode || mt_future_exception(f, 0, &e) < 0 || e.code != MT_EWORKERDIED)
    return MT_EINVAL;
  const char *s = strstr(e.message, "(exitcode ");
  if (!s || sscanf(s, "(exitcode %d)", exitcode) != 1) return MT_EINVAL;
  return 0;
}

static size_t default_chunksize(mt_pool_t *p, size_t n) {
  size_t chunks = (size_t)p->nw * 4;
  size_t cs = (n + chunks - 1) / chunks;
  return cs ? cs : 1;
}

/* A map/imap job over items (not yet submitted); the caller holds a second
 * reference. */
static job_t *map_job(mt_pool_t *p, int kind, int mode, void *fn, const mt_bytes_t *items,
                      size_t n, size_t chunksize, int *err) {
  *err = MT_EINVAL;
  if (!p || !fn || (n && !items)) return NULL;
  for (size_t i = 0; i < n; i++)
    if (items[i].len && !items[i].ptr) return NULL;
  *err = MT_ENOMEM;
  job_t *j = mt__calloc(1, sizeof *j);
  if (!j) return NULL;
  j->kind = kind;
  j->mode = mode;
  j->fn = fn;
  j->items = items;
  j->n = n;
  j->chunksize = chunksize ? chunksize : default_chunksize(p, n);
  j->refs = 2;
  j->res = mt__calloc(n ? n : 1, sizeof *j->res);
  if (kind == JK_IMAP) {
    j->ready = mt__calloc(n ? n : 1, 1);
    j->order = mt__calloc(n ? n : 1, sizeof *j->order);
  }
  if (!j->res || (kind == JK_IMAP && (!j->ready || !j->order))) {
    mt__free(j->res);
    mt__free(j->ready);
    mt__free(j->order);
    mt__free(j);
    return NULL;
  }
  *err = 0;
  return j;
}

/* Gives the job its own copy of its inputs (for callers that may leave
 * before the manager has sent them all). */
static int own_inputs(job_t *j) {
  size_t total = j->n * sizeof(mt_bytes_t);
  for (size_t i = 0; i < j->n; i++) total += j->items[i].len;
  mt_bytes_t *copy = mt__malloc(total ? total : 1);
  if (!copy) return MT_ENOMEM;
  unsigned char *data = (unsigned char *)(copy + j->n);
  for (size_t i = 0; i < j->n; i++) {
    if (j->items[i].len) memcpy(data, j->items[i].ptr, j->items[i].len);
    copy[i] = (mt_bytes_t){data, j->items[i].len};
    data += j->items[i].len;
  }
  j->items = copy;
  j->own_items = copy;
  return 0;
}

/* Submits a map job; n == 0 completes at once. */
static int start_map(mt_pool_t *p, job_t *j) {
  if (forked(p)) return MT_EFORKED;
  if (j->n == 0) {
    int st = get_state(p);
    if (st != P_OPEN) return MT_ECLOSED;
    if (j->future) mt_future_set_result(j->future, (mt_value_t){0});
    job_unref(j);
    return 0;
  }
  return submit_job(p, j);
}

static int map_values(mt_pool_t *p, int mode, void *fn, const mt_bytes_t *items, size_t n,
                      size_t chunksize, double timeout, mt_pool_result_t *results);

int mt__pool_map_values(mt_pool_t *p, int mode, void *fn, const mt_bytes_t *items,
                        size_t n, size_t chunksize, double timeout,
                        mt_pool_result_t *results) {
  if (!p) return MT_EINVAL;
  if (forked(p)) return MT_EFORKED;
  pool_enter(p); /* it waits, then may touch p (timeout) */
  int r = map_values(p, mode, fn, items, n, chunksize, timeout, results);
  pool_leave(p);
  return r;
}

static int map_values(mt_pool_t *p, int mode, void *fn, const mt_bytes_t *items, size_t n,
                      size_t chunksize, double timeout, mt_pool_result_t *results) {
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r < 0) return r;
  if (n && !results) return MT_EINVAL;
  job_t *j = map_job(p, JK_MAP, mode, fn, items, n, chunksize, &r);
  if (!j) return r;
  if ((deadline != MT__NO_DEADLINE || mt__wait_may_end_early()) && own_inputs(j) < 0) {
    /* the caller may leave (at the deadline, or cancelled or interrupted:
     * MT_ECANCELLED, MT_EINTR) while the manager still reads the inputs,
     * or its inputs are on a compact task's stack, elsewhere while it
     * waits: the job gets its own copy (tests/pool/test_pool_map_leave.c) */
    job_unref(j);
    job_unref(j);
    return MT_ENOMEM;
  }
  r = start_map(p, j);
  if (r < 0) {
    job_unref(j);
    job_unref(j);
    return r;
  }
  r = job_wait(j, job_all_done, NULL, deadline);
  if (r < 0) { /* timed out or cancelled: what has not started is dropped;
                  the manager keeps the job until its last item ended */
    __atomic_store_n(&j->cancelled, true, __ATOMIC_RELEASE);
    __atomic_store_n(&p->purge, true, __ATOMIC_RELEASE);
    wake_manager(p);
    if (n) memset(results, 0, n * sizeof *results);
    job_unref(j);
    return r;
  }
  if (n) memcpy(results, j->res, n * sizeof *results);
  for (size_t i = 0; i < n; i++) j->res[i].value.free_fn = NULL; /* moved */
  int first = j->first_err;
  job_unref(j);
  return first;
}

int mt_pool_map(mt_pool_t *p, mt_pool_fn fn, const mt_bytes_t *items, size_t n,
                size_t chunksize, double timeout, mt_pool_result_t *results) {
  return mt__pool_map_values(p, MODE_BYTES, (void *)(uintptr_t)fn, items, n, chunksize,
                             timeout, results);
}

/* map_async of any mode.  owned (may be NULL): inputs the job frees when
 * it ends (starmap's packed vectors); freed here on failure too. */
static int map_async(mt_pool_t *p, int mode, void *fn, const mt_bytes_t *items, size_t n,
                     size_t chunksize, mt_pool_result_t *results, mt_bytes_t *owned,
                     mt_future_t **out) {
  int r;
  job_t *j = map_job(p, JK_MAP, mode, fn, items, n, chunksize, &r);
  if (!j) {
    mt__free(owned);
    return r;
  }
  j->own_items = owned;
  j->refs = 1; /* the caller keeps the future, not the job */
  j->user_res = results;
  j->future = mt_future_new();
  if (!j->future) {
    job_unref(j);
    return MT_ENOMEM;
  }
  mt_future_set_running_or_notify_cancel(j->future);
  mt_future_t *f = mt_future_ref(j->future);
  r = start_map(p, j);
  if (r < 0) {
    mt_future_free(f);
    job_unref(j);
    return r;
  }
  *out = f;
  return 0;
}

int mt_pool_map_async(mt_pool_t *p, mt_pool_fn fn, const mt_bytes_t *items, size_t n,
                      size_t chunksize, mt_pool_result_t *results, mt_future_t **out) {
  if (out) *out = NULL;
  if (!out || (n && !results)) return MT_EINVAL;
  return map_async(p, MODE_BYTES, (void *)(uintptr_t)fn, items, n, chunksize, results, NULL,
                   out);
}

/* ---- starmap -------------------------------------------------------------
 * Each item's argument vector is packed into one byte string (MODE_STAR,
 * pool_internal.h) and the job runs as a map: chunking, ordering, worker
 * death and errors are map's.  The packed copies live in one block the
 * job owns (starmap_async) or the call frees (starmap). */
static mt_bytes_t *pack_args(const mt_pool_args_t *items, size_t n, int *err) {
  *err = MT_EINVAL;
  if (n && !items) return NULL;
  size_t total = n * sizeof(mt_bytes_t);
  if (n > SIZE_MAX / 2 / sizeof(mt_bytes_t)) return NULL;
  for (size_t i = 0; i < n; i++) {
    const mt_pool_args_t *a = &items[i];
    if (a->argc < 0 || (a->argc > 0 && !a->argv)) return NULL;
    size_t need = 8 + 8 * (size_t)a->argc;
    for (int k = 0; k < a->argc; k++) {
      if (a->argv[k].len && !a->argv[k].ptr) return NULL;
      if (a->argv[k].len > SIZE_MAX / 4 || __builtin_add_overflow(need, mt__pad8(a->argv[k].len), &need))
        return NULL;
    }
    if (__builtin_add_overflow(total, need, &total)) return NULL;
  }
  *err = MT_ENOMEM;
  mt_bytes_t *packed = mt__malloc(total ? total : 1);
  if (!packed) return NULL;
  unsigned char *d = (unsigned char *)(packed + n);
  for (size_t i = 0; i < n; i++) {
    const mt_pool_args_t *a = &items[i];
    unsigned char *start = d;
    uint64_t argc = (uint64_t)a->argc;
    memcpy(d, &argc, 8);
    d += 8;
    for (int k = 0; k < a->argc; k++) {
      uint64_t l = a->argv[k].len;
      memcpy(d, &l, 8);
      d += 8;
    }
    for (int k = 0; k < a->argc; k++) {
      size_t l = a->argv[k].len;
      if (l) memcpy(d, a->argv[k].ptr, l);
      memset(d + l, 0, mt__pad8(l) - l);
      d += mt__pad8(l);
    }
    packed[i] = (mt_bytes_t){start, (size_t)(d - start)};
  }
  *err = 0;
  return packed;
}

int mt_pool_starmap(mt_pool_t *p, mt_pool_starfn fn, const mt_pool_args_t *items, size_t n,
                    size_t chunksize, double timeout, mt_pool_result_t *results) {
  if (!p || !fn || (n && !results)) return MT_EINVAL;
  int r;
  mt_bytes_t *packed = pack_args(items, n, &r);
  if (!packed) return r;
  r = mt__pool_map_values(p, MODE_STAR, (void *)(uintptr_t)fn, packed, n, chunksize,
                          timeout, results);
  mt__free(packed); /* an untimed map returns once every item was delivered;
                       a timed one works on its own copy of the inputs */
  return r;
}

int mt_pool_starmap_async(mt_pool_t *p, mt_pool_starfn fn, const mt_pool_args_t *items,
                          size_t n, size_t chunksize, mt_pool_result_t *results,
                          mt_future_t **out) {
  if (out) *out = NULL;
  if (!p || !fn || !out || (n && !results)) return MT_EINVAL;
  int r;
  mt_bytes_t *packed = pack_args(items, n, &r);
  if (!packed) return r;
  return map_async(p, MODE_STAR, (void *)(uintptr_t)fn, packed, n, chunksize, results, packed,
                   out);
}

void mt_pool_results_release(mt_pool_result_t *results, size_t n) {
  if (!results) return;
  for (size_t i = 0; i < n; i++) {
    if (results[i].value.free_fn) results[i].value.free_fn(results[i].value.ptr);
    results[i] = (mt_pool_result_t){0};
  }
}

struct mt_pool_imap {
  mt_pool_t *p;
  job_t *j;
  bool unordered;
  size_t next;
};

mt_pool_imap_t *mt_pool_imap_new(mt_pool_t *p, mt_pool_fn fn, const mt_bytes_t *items,
                             size_t n, size_t chunksize, bool unordered) {
  int r;
  job_t *j = map_job(p, JK_IMAP, MODE_BYTES, (void *)(uintptr_t)fn, items, n, chunksize, &r);
  if (!j) return mt__fail_null(r);
  mt_pool_imap_t *it = mt__calloc(1, sizeof *it);
  if (!it || own_inputs(j) < 0) {
    mt__free(it);
    job_unref(j);
    job_unref(j);
    return mt__fail_null(MT_ENOMEM);
  }
  r = start_map(p, j);
  if (r < 0) {
    job_unref(j);
    job_unref(j);
    mt__free(it);
    return mt__fail_null(r);
  }
  *it = (mt_pool_imap_t){p, j, unordered, 0};
  pool_enter(p); /* dropped by mt_pool_imap_free */
  return it;
}

static bool imap_has_next(job_t *j, void *arg) {
  mt_pool_imap_t *it = arg;
  if (it->unordered) return __atomic_load_n(&j->ndone, __ATOMIC_ACQUIRE) > it->next;
  return __atomic_load_n(&j->ready[it->next], __ATOMIC_ACQUIRE) != 0;
}

int mt_pool_imap_next(mt_pool_imap_t *it, double timeout, mt_pool_result_t *out,
                      size_t *index) {
  if (!it || !out) return MT_EINVAL;
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r < 0) return r;
  if (forked(it->p)) return MT_EFORKED;
  if (it->next >= it->j->n) return 0;
  r = job_wait(it->j, imap_has_next, it, deadline);
  if (r < 0) return r;
  size_t idx = it->unordered ? it->j->order[it->next] : it->next;
  it->next++;
  *out = it->j->res[idx];
  it->j->res[idx].value.free_fn = NULL; /* moved to the caller */
  if (index) *index = idx;
  return 1;
}

void mt_pool_imap_free(mt_pool_imap_t *it) {
  if (!it) return;
  if (forked(it->p)) { /* the job is the parent manager's: leave it */
    mt__free(it);
    return;
  }
  __atomic_store_n(&it->j->cancelled, true, __ATOMIC_RELEASE);
  __atomic_store_n(&it->p->purge, true, __ATOMIC_RELEASE);
  wake_manager(it->p);
  job_unref(it->j);
  pool_leave(it->p);
  mt__free(it);
}

static int set_state(mt_pool_t *p, int st) {
  if (!p) return MT_EINVAL;
  if (forked(p)) return MT_EFORKED;
  pool_enter(p);
  mt__mutex_lock(&p->lock, false, MT__NO_DEADLINE);
  if (p->state < st) __atomic_store_n(&p->state, st, __ATOMIC_RELEASE);
  mt__mutex_unlock(&p->lock, false);
  wake_manager(p);
  pool_leave(p);
  return 0;
}

int mt_pool_close(mt_pool_t *p) { return set_state(p, P_CLOSED); }

int mt__pool_cancel_pending(mt_pool_t *p) {
  if (forked(p)) return MT_EFORKED;
  pool_enter(p);
  mt__mutex_lock(&p->lock, false, MT__NO_DEADLINE);
  p->cancel_pending = true;
  mt__mutex_unlock(&p->lock, false);
  wake_manager(p);
  pool_leave(p);
  return 0;
}

/* The caller holds a reference (so p and p->manager outlive the wait). */
static int pool_join(mt_pool_t *p, double timeout) {
  if (get_state(p) == P_OPEN) return MT_EBUSY;
  if (__atomic_load_n(&p->joined, __ATOMIC_ACQUIRE)) return 0;
  if (mt_thread_current() == p->manager) return MT_EDEADLK; /* from a callback */
  int r = mt_thread_join(p->manager, timeout, NULL);
  if (r == 0) __atomic_store_n(&p->joined, true, __ATOMIC_RELEASE);
  return r;
}

int mt_pool_join(mt_pool_t *p, double timeout) {
  int64_t deadline;
  if (!p || mt__deadline(timeout, &deadline) < 0) return MT_EINVAL;
  if (forked(p)) return MT_EFORKED;
  pool_enter(p);
  int r = pool_join(p, timeout);
  pool_leave(p);
  return r;
}

int mt_pool_terminate(mt_pool_t *p, double timeout) {
  int64_t deadline;
  if (!p || mt__deadline(timeout, &deadline) < 0) return MT_EINVAL;
  if (forked(p)) return MT_EFORKED;
  pool_enter(p);
  int r = set_state(p, P_TERMINATING);
  if (r == 0) r = pool_join(p, timeout);
  pool_leave(p);
  return r;
}

void mt_pool_free(mt_pool_t *p) {
  if (!p) return;
  if (forked(p)) return; /* the parent's manager owns it (fds are CLOEXEC) */
  /* Never waits (docs/api.md, Life cycle): an open pool is terminated
   * (Python's `with Pool()` exit), a closed one drains; the manager
   * finishes that in the background and, as it stops, takes over the
   * owner's reference (handoff), so the last one out releases the pool.
   * From a callback (on the manager itself) this is the same path. */
  if (get_state(p) == P_OPEN) set_state(p, P_TERMINATING);
  if (__atomic_add_fetch(&p->handoff, 1, __ATOMIC_ACQ_REL) == 2) pool_leave(p);
}

int mt_pool_pids(mt_pool_t *p, int *out, int n) {
  if (!p || (n > 0 && !out) || n < 0) return MT_EINVAL;
  pool_enter(p);
  int k = 0;
  for (int i = 0; i < p->nw; i++) {
    int pid = __atomic_load_n(&p->w[i].pid, __ATOMIC_RELAXED);
    if (!pid) continue;
    if (k < n) out[k] = pid;
    k++;
  }
  pool_leave(p);
  return k;
}

long mt_pool_workers_started(mt_pool_t *p) {
  if (!p) return MT_EINVAL;
  pool_enter(p);
  long n = __atomic_load_n(&p->started, __ATOMIC_RELAXED);
  pool_leave(p);
  return n;
}
