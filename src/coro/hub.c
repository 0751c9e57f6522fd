/* hub.c - the coroutine scheduler of a thread (gevent's hub, asyncio's
 * event loop) and the tasks it runs, which ARE futures.
 *
 * Design.  The hub is a greenlet of its own ("Hub", parent: the thread's
 * root greenlet), as in gevent.  Everything that can park on the thread is
 * a FIBER: each task, and the thread's own stack (the root greenlet, which
 * parks like a task once the thread has a hub: gevent's main greenlet).  A
 * fiber that parks switches to the hub greenlet; the hub picks the next
 * ready fiber and switches to it.  While a fiber runs, ITS parker (an
 * mt__parker_t inside the fiber, ctx = the fiber) is installed on the thread,
 * so the wait layer hands every park straight to the right fiber and
 * unpark(w) knows whom to wake without a lookup; while the hub greenlet
 * runs, no parker is installed (its own idle wait is a plain poll).
 *
 * A parked fiber waits on exactly one of: a waiter node (the wait layer's
 * list: queues, futures), a word (event counts, locks: re-checked by the
 * hub), descriptors (polled by the hub), a timer (sleep), or nothing
 * (yield: it is on the ready queue).  Any of them may carry a deadline,
 * kept in ONE binary heap per hub ordered by (deadline, sequence), so equal
 * deadlines fire in the order they were set.
 *
 * The hub's loop: run every fiber that is ready at the start of a round,
 * then collect wake-ups (posts from other threads, expired timers, changed
 * words, ready descriptors) without blocking; when nothing is ready, sleep
 * in one poll over an eventfd (posts), the parked descriptors and the
 * nearest deadline.
 *
 * Wakes:
 *  - same thread (a task releases what another task waits on): unpark puts
 *    the fiber on the ready queue, no atomic, no system call;
 *  - another thread: unpark pushes the fiber on the hub's inbox (lock-free
 *    stack; `posted` bits coalesce) and signals the eventfd only when the
 *    hub sleeps (Dekker: push then read `sleeping`; the hub stores
 *    `sleeping` then reads the inbox, all seq_cst);
 *  - words (the parker's wait_word: MT_SHARED objects, and the calls not
 *    converted to nodes: Pool map, Process, ...; private sem/event/cond/Lock
 *    park nodes through mt__word_park and are woken as above):
 *    their wakers call the kernel, not us, so the hub re-checks every parked
 *    word once per round, and while sleeping at least every 1 ms.  That is
 *    how a release by another thread or another PROCESS reaches a parked
 *    task (bounded re-check; futex_waitv was not chosen: 128 words at most
 *    and no descriptors).
 *
 * A node-parked fiber leaves its park only through unpark, or after the hub
 * moved its node from PARKED_CORO back to QUEUED by CAS (deadline, cancel):
 * a waker that pops the node later then sees QUEUED and does not unpark
 * (the waiter's relock finds it WOKEN and takes the wake).  If the CAS
 * fails, an unpark is on its way and the fiber stays parked until it
 * arrives; so a post always finds its fiber parked, alive, on that node.
 *
 * Tasks.  A task is an mt_future_t (future.c) plus a fiber; the fiber is
 * the future's cancel-hook context (so mt_future_cancel_running is
 * asyncio's cancel) and lives until the future's last reference goes
 * (on_free), which is also where a failure nobody retrieved is reported.
 * The greenlet and its stack go as soon as the task ends.  The task holds
 * one reference on its future while it runs, and every fiber one on its hub
 * (posts from other threads may arrive late).  mt_hub_spawn from another
 * thread makes the fiber and future there and posts P_SPAWN: the greenlet
 * (which belongs to a thread) is made by the hub on its own thread.
 *
 * Cancellation.  asyncio's cancel sets the greenlet's one-shot
 * `cancel_once`, consumed by the next wait's mt__coro_cancelled (wait.c);
 * gevent's kill sets the sticky `killed`.  Either interrupts a current
 * park: a node or a sleep resumes with MT_ECANCELLED at once, a word park
 * resumes with 0 (a spurious wake: a converted call re-enters the wait
 * layer, which returns MT_ECANCELLED; an unconverted one re-parks), a
 * descriptor wait resumes with MT_ECANCELLED (mt__wait_fds_nocancel parks
 * again).
 *
 * Timeout scopes (group.c, coro/scope.h): a fiber's open scopes bound each
 * of its parks by their earliest deadline (`clamped`), so a scope costs no
 * timer of its own and leaves none behind.  When that bound ends a park,
 * the greenlet is marked `expired` (sticky until the scope ends) and the
 * park resumes as a cancel would, but consumes no cancel_once.
 *
 * Compact tasks (mt_coro_opts_t.compact): the greenlet runs on the
 * thread's shared stack and is copied out while another compact task runs
 * (greenlet.c).  Nothing may then point into its stack, so its parker
 * carries `nodes` (the wait layer parks its waiter nodes there, wait.h)
 * and hp_wait_fds watches a heap copy of its pollfd array.
 *
 * Fairness: strictly cooperative.  A task runs until it parks or yields
 * (mt_coro_sleep(0)); one that never does starves the rest of its thread.
 */
#include "multitask/coro.h"
#include "multitask/executor.h"

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "coro/coro.h"
#include "coro/scope.h"
#include "core/core.h"
#include "future/future_internal.h"
#include "platform/platform.h"
#include "wait/wait.h"

enum { F_NEW, F_READY, F_RUNNING, F_PARKED, F_DONE };
enum { K_NONE, K_NODE, K_WORD, K_FDS, K_SLEEP };
enum { P_UNPARK = 1, P_CANCEL = 2, P_SPAWN = 4 };
#define SCOPE_EXPIRED 1 /* interrupt(): a timeout scope's deadline (group.c) */
#define NO_SLOT SIZE_MAX
#define WORD_RECHECK_NS 1000000 /* while sleeping with parked words */

typedef struct fiber {
  mt__parker_t parker; /* ctx = this fiber; installed while it runs */
  struct mt_hub *hub;
  mt_greenlet_t *g;    /* NULL once a task ended */
  mt_future_t *f;      /* NULL for the root */
  int state;           /* F_* */
  int kind;            /* K_*: what a parked fiber waits on */
  int resume;          /* what its park returns */
  mt__waiter_t *node;
  const uint32_t *word;
  uint32_t expected;
  struct pollfd *fds;
  int nfds;
  int64_t deadline;
  uint64_t tseq;      /* timer order among equal deadlines */
  size_t hidx;        /* index in the timer heap, NO_SLOT when not in it */
  struct fiber *next; /* ready queue */
  struct fiber *lprev, *lnext; /* the word or descriptor list */
  struct fiber *post_next;     /* inbox */
  struct fiber *aprev, *anext; /* the hub's live tasks */
  uint32_t posted;             /* P_* (atomic) */
  bool cancel_requested;       /* by mt_coro_cancel/kill: MT_ECANCELLED ends it CANCELLED */
  size_t stack_size;           /* mt_hub_spawn from another thread: made by the hub */
  mt__scopes_t scopes;         /* its open timeout scopes (group.c) */
  bool clamped;                /* this park's deadline is the scopes' */
  bool compact;                /* a compact task: copied stack, waiter nodes in `nodes` */
  mt__task_nodes_t nodes;      /* parker.nodes of a compact task (wait.h) */
  mt__name_t name;             /* made on first use (coro.h); also its greenlet's */
} fiber_t;

typedef struct flist {
  fiber_t *head, *tail;
} flist_t;

struct mt_hub {
  uint32_t refs; /* the thread + fibers + ref_pool (atomic) */
  int efd;
  pthread_t thread;
  mt_greenlet_t *g;   /* the hub greenlet (NULL until first parked to) */
  fiber_t root;       /* the thread's own stack */
  fiber_t *current;   /* running fiber (NULL: the hub greenlet) */
  fiber_t *rq_head, *rq_tail;
  size_t rq_len;
  fiber_t **heap;
  size_t nheap, capheap;
  uint64_t tseq;
  flist_t words, fdw;   /* parked on words / on descriptors */
  int nfdw;             /* descriptors in fdw */
  fiber_t *tasks;       /* live tasks (aprev/anext) */
  fiber_t *inbox;       /* atomic */
  uint32_t sleeping;    /* atomic */
  int live;             /* tasks not ended */
  bool closing;
  mt_executor_t *executor; /* mt_coro_to_thread's pool (made at its first call) */
  fiber_t *spare;          /* freed task fibers kept for reuse (hub's thread only) */
  int nspare;
  int ref_pool;            /* references on `refs` held for fibers to come (hub's thread) */
};

static _Thread_local mt_hub_t *tls_hub;
static atomic_ulong task_counter;
static mt_coro_exception_fn exc_fn; /* atomic */
static void *exc_arg;

/* ---- hub references ----------------------------------------------------- */

static void hub_ref(mt_hub_t *h) { __atomic_fetch_add(&h->refs, 1, __ATOMIC_RELAXED); }
static void hub_unref(mt_hub_t *h) {
  if (__atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  while (h->spare) {
    fiber_t *fb = h->spare;
    h->spare = fb->next;
    mt__free(fb);
  }
  mt__sys_close(h->efd);
  mt__free(h->heap);
  mt__free(h);
}

/* A fiber's reference on its hub.  On the hub's own thread (tls_hub == h)
 * it comes from a batch of REF_BATCH real references the thread holds
 * (`ref_pool`, touched by that thread only), so spawning and freeing a task
 * there costs no locked add/sub; elsewhere it is a real add/sub.
 * mt_hub_free gives the batch back before the thread's own reference. */
#define REF_BATCH 256
static void fiber_hub_ref(mt_hub_t *h) {
  if (tls_hub != h) {
    hub_ref(h);
    return;
  }
  if (h->ref_pool == 0) {
    __atomic_fetch_add(&h->refs, REF_BATCH, __ATOMIC_RELAXED);
    h->ref_pool = REF_BATCH;
  }
  h->ref_pool--;
}

static void fiber_hub_unref(mt_hub_t *h) {
  if (tls_hub != h) {
    hub_unref(h);
    return;
  }
  if (++h->ref_pool > 2 * REF_BATCH) { /* never the last: the thread holds one */
    __atomic_fetch_sub(&h->refs, REF_BATCH, __ATOMIC_RELAXED);
    h->ref_pool -= REF_BATCH;
  }
}

/* ---- ready queue, lists, timer heap --------------------------------------- */

static void rq_push(mt_hub_t *h, fiber_t *fb) {
  fb->next = NULL;
  if (h->rq_tail) h->rq_tail->next = fb;
  else h->rq_head = fb;
  h->rq_tail = fb;
  h->rq_len++;
}

static fiber_t *rq_pop(mt_hub_t *h) {
  fiber_t *fb = h->rq_head;
  if (!fb) return NULL;
  h->rq_head = fb->next;
  if (!h->rq_head) h->rq_tail = NULL;
  h->rq_len--;
  return fb;
}

/* FIFO: a word's parked fibers are re-checked, and so woken, in the order
 * they parked. */
static void list_add(flist_t *l, fiber_t *fb) {
  fb->lnext = NULL;
  fb->lprev = l->tail;
  if (l->tail) l->tail->lnext = fb;
  else l->head = fb;
  l->tail = fb;
}

static void list_del(flist_t *l, fiber_t *fb) {
  if (fb->lprev) fb->lprev->lnext = fb->lnext;
  else l->head = fb->lnext;
  if (fb->lnext) fb->lnext->lprev = fb->lprev;
  else l->tail = fb->lprev;
  fb->lprev = fb->lnext = NULL;
}

static bool earlier(const fiber_t *a, const fiber_t *b) {
  return a->deadline < b->deadline || (a->deadline == b->deadline && a->tseq < b->tseq);
}

static void heap_set(mt_hub_t *h, size_t i, fiber_t *fb) {
  h->heap[i] = fb;
  fb->hidx = i;
}

static void heap_up(mt_hub_t *h, size_t i) {
  fiber_t *fb = h->heap[i];
  while (i > 0 && earlier(fb, h->heap[(i - 1) / 2])) {
    heap_set(h, i, h->heap[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  heap_set(h, i, fb);
}

static void heap_down(mt_hub_t *h, size_t i) {
  fiber_t *fb = h->heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->nheap) break;
    if (c + 1 < h->nheap && earlier(h->heap[c + 1], h->heap[c])) c++;
    if (!earlier(h->heap[c], fb)) break;
    heap_set(h, i, h->heap[c]);
    i = c;
  }
  heap_set(h, i, fb);
}

/* Room for `n` entries: a fiber is in the heap at most once, so spawn
 * reserves one slot per fiber and a park never fails for memory. */
static int heap_reserve(mt_hub_t *h, size_t n) {
  if (n <= h->capheap) return 0;
  size_t cap = h->capheap ? 2 * h->capheap : 64;
  if (cap < n) cap = n;
  fiber_t **m = mt__realloc(h->heap, cap * sizeof *m);
  if (!m) return MT_ENOMEM;
  h->heap = m;
  h->capheap = cap;
  return 0;
}

static void heap_push(mt_hub_t *h, fiber_t *fb) {
  fb->tseq = h->tseq++;
  heap_set(h, h->nheap++, fb);
  heap_up(h, fb->hidx);
}

static void heap_del(mt_hub_t *h, fiber_t *fb) {
  size_t i = fb->hidx;
  if (i == NO_SLOT) return;
  fb->hidx = NO_SLOT;
  fiber_t *last = h->heap[--h->nheap];
  if (i == h->nheap) return;
  heap_set(h, i, last);
  heap_up(h, i);
  heap_down(h, last->hidx);
}

/* ---- parking and waking ---------------------------------------------------- */

/* Makes a parked fiber ready, its park returning `code`. */
static void make_ready(mt_hub_t *h, fiber_t *fb, int code) {
  heap_del(h, fb);
  if (fb->kind == K_WORD) list_del(&h->words, fb);
  else if (fb->kind == K_FDS) {
    list_del(&h->fdw, fb);
    h->nfdw -= fb->nfds;
  }
  fb->kind = K_NONE;
  fb->state = F_READY;
  fb->resume = code;
  rq_push(h, fb);
}

/* The running fiber gives the thread to the hub; returns what its park
 * returns when the hub resumes it. */
static int suspend(mt_hub_t *h) {
  void *out = NULL;
  int r = mt_greenlet_switch(h->g, NULL, &out);
  return r < 0 ? r : (int)(intptr_t)out;
}

/* Parks the running fiber (kind and its fields set by the caller) with a
 * deadline.  The fiber must already be on the list its kind uses. */
static int park_current(mt_hub_t *h, fiber_t *fb, int kind, int64_t deadline) {
  /* an open timeout scope ends the park by its deadline, until it expired
   * (then its cancellation points return at once: mt__coro_cancelled) */
  fb->clamped = fb->scopes.deadline <= deadline &&
                !atomic_load_explicit(&fb->g->expired, memory_order_relaxed);
  if (fb->clamped) deadline = fb->scopes.deadline;
  fb->kind = kind;
  fb->deadline = deadline;
  fb->state = F_PARKED;
  if (deadline != MT__NO_DEADLINE) heap_push(h, fb);
  return suspend(h);
}

/* A deadline passed, or a cancel/kill asks a parked fiber to stop waiting
 * (code MT_ETIMEDOUT or MT_ECANCELLED). */
static void interrupt(mt_hub_t *h, fiber_t *fb, int code) {
  if (fb->state != F_PARKED) return;
  /* A scope expired: a cancel that consumes no cancel_once (the sticky
   * `expired` delivers it), descriptor waits included. */
  if (code == SCOPE_EXPIRED) {
    atomic_store_explicit(&fb->g->expired, true, memory_order_relaxed);
    code = MT_ECANCELLED;
  }
  bool expire = atomic_load_explicit(&fb->g->expired, memory_order_relaxed);
  switch (fb->kind) {
  case K_NODE: {
    uint32_t s = MT__W_PARKED_CORO;
    /* back to QUEUED: a waker popping it later does not unpark us */
    if (__atomic_compare_exchange_n(&fb->node->state, &s, MT__W_QUEUED, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
      if (code == MT_ECANCELLED && !expire) /* delivered by this resume: consume it */
        atomic_store_explicit(&fb->g->cancel_once, false, memory_order_relaxed);
      make_ready(h, fb, code);
    } else {
      heap_del(h, fb); /* WOKEN: the unpark is on its way */
    }
    break;
  }
  case K_SLEEP:
    if (code == MT_ECANCELLED && !expire)
      atomic_store_explicit(&fb->g->cancel_once, false, memory_order_relaxed);
    make_ready(h, fb, code);
    break;
  case K_WORD: /* a cancel: a spurious wake (see the design note) */
    make_ready(h, fb, code == MT_ETIMEDOUT ? MT_ETIMEDOUT : 0);
    break;
  case K_FDS: /* a cancellation point too: the caller unwinds */
    if (code == MT_ECANCELLED && !expire)
      atomic_store_explicit(&fb->g->cancel_once, false, memory_order_relaxed);
    make_ready(h, fb, code);
    break;
  }
}

/* ---- the parker (ctx = the running fiber) ---------------------------------- */

static int hp_park(void *ctx, mt__waiter_t *w, int64_t deadline) {
  fiber_t *fb = ctx;
  fb->node = w;
  return park_current(fb->hub, fb, K_NODE, deadline);
}

/* From another thread: hands fb to its hub with `bit`.  A cancel carries a
 * reference on the future (the caller holds one), taken before the bit is
 * visible and dropped by the hub; a cancel already pending absorbs ours. */
static void post(mt_hub_t *h, fiber_t *fb, uint32_t bit) {
  hub_ref(h);
  if (bit == P_CANCEL) mt_future_ref(fb->f);
  uint32_t old = __atomic_fetch_or(&fb->posted, bit, __ATOMIC_SEQ_CST);
  if (bit == P_CANCEL && (old & P_CANCEL)) mt_future_free(fb->f);
  if (old == 0) {
    fiber_t *head = __atomic_load_n(&h->inbox, __ATOMIC_RELAXED);
    do fb->post_next = head;
    while (!__atomic_compare_exchange_n(&h->inbox, &head, fb, true, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED));
  }
  if (__atomic_load_n(&h->sleeping, __ATOMIC_SEQ_CST)) mt__sys_eventfd_signal(h->efd);
  hub_unref(h);
}

static void hp_unpark(void *ctx, mt__waiter_t *w) {
  (void)w;
  fiber_t *fb = ctx;
  mt_hub_t *h = fb->hub;
  if (tls_hub == h) make_ready(h, fb, 0);
  else post(h, fb, P_UNPARK);
}

static int hp_wait_word(void *ctx, const uint32_t *word, uint32_t expected, bool shared,
                        int64_t deadline) {
  (void)shared;
  fiber_t *fb = ctx;
  mt_hub_t *h = fb->hub;
  if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != expected) return 0;
  if (mt__deadline_passed(deadline)) return MT_ETIMEDOUT;
  fb->word = word;
  fb->expected = expected;
  list_add(&h->words, fb);
  return park_current(h, fb, K_WORD, deadline);
}

static int hp_wait_fds(void *ctx, struct pollfd *fds, int nfds, int64_t deadline) {
  fiber_t *fb = ctx;
  mt_hub_t *h = fb->hub;
  int r = mt__sys_poll(fds, (nfds_t)nfds, 0); /* ready now? (a passed deadline: no wait) */
  if (r != MT_ETIMEDOUT) return r;
  if (mt__deadline_passed(deadline)) return MT_ETIMEDOUT;
  /* A compact task's stack is elsewhere while it is parked: the hub
   * watches a copy of the array (the caller's is usually on that stack). */
  struct pollfd *watch = fds;
  if (fb->compact) {
    if (!(watch = mt__malloc((size_t)nfds * sizeof *watch))) return MT_ENOMEM;
    memcpy(watch, fds, (size_t)nfds * sizeof *watch);
  }
  fb->fds = watch;
  fb->nfds = nfds;
  list_add(&h->fdw, fb);
  h->nfdw += nfds;
  r = park_current(h, fb, K_FDS, deadline);
  if (watch != fds) {
    for (int i = 0; i < nfds; i++) fds[i].revents = watch[i].revents;
    mt__free(watch);
  }
  return r;
}

/* mt__yield under a hub, and mt_coro_sleep(0): back of the ready queue. */
static void hp_yield(void *ctx) {
  fiber_t *fb = ctx;
  mt_hub_t *h = fb->hub;
  fb->state = F_READY;
  fb->resume = 0;
  rq_push(h, fb);
  (void)suspend(h);
}

static void fiber_init(fiber_t *fb, mt_hub_t *h) {
  fb->parker = (mt__parker_t){.wait_word = hp_wait_word,
                              .wait_fds = hp_wait_fds,
                              .ctx = fb,
                              .park = hp_park,
                              .unpark = hp_unpark,
                              .yield = hp_yield};
  fb->hub = h;
  fb->hidx = NO_SLOT;
  fb->scopes.deadline = MT__NO_DEADLINE;
}

/* ---- the hub's loop ------------------------------------------------------------ */

static void task_ended(mt_hub_t *h, fiber_t *fb);
static void do_cancel(mt_hub_t *h, fiber_t *fb, bool kill);
static void start_posted(mt_hub_t *h, fiber_t *fb);

static void run_fiber(mt_hub_t *h, fiber_t *fb) {
  fb->state = F_RUNNING;
  h->current = fb;
  mt__set_parker(&fb->parker);
  (void)mt__task_swap_current(fb->f);
  if (mt_greenlet_switch(fb->g, (void *)(intptr_t)fb->resume, NULL) == MT_ENOMEM &&
      fb->state == F_RUNNING) { /* a compact task's switch-in found no memory: later */
    fb->state = F_READY;
    rq_push(h, fb);
  }
  (void)mt__task_swap_current(NULL);
  mt__set_parker(NULL);
  h->current = NULL;
  if (fb != &h->root && mt_greenlet_is_dead(fb->g) == 1) task_ended(h, fb);
}

static void drain_inbox(mt_hub_t *h) {
  if (!__atomic_load_n(&h->inbox, __ATOMIC_RELAXED)) return; /* the usual case: a load */
  fiber_t *l = __atomic_exchange_n(&h->inbox, NULL, __ATOMIC_SEQ_CST);
  fiber_t *rev = NULL;
  while (l) { /* oldest first */
    fiber_t *n = l->post_next;
    l->post_next = rev;
    rev = l;
    l = n;
  }
  while (rev) {
    fiber_t *fb = rev;
    rev = fb->post_next; /* read before `posted` is cleared: it may be pushed again */
    uint32_t bits = __atomic_exchange_n(&fb->posted, 0, __ATOMIC_SEQ_CST);
    if (bits & P_SPAWN) start_posted(h, fb);
    if (bits & P_UNPARK) make_ready(h, fb, 0); /* parked on that node, by the CAS rule */
    if (bits & P_CANCEL) {
      if (fb->state != F_DONE) do_cancel(h, fb, false);
      mt_future_free(fb->f); /* the poster's reference */
    }
  }
}

/* Collects wake-ups; with `block` and nothing ready, sleeps until one. */
static void collect(mt_hub_t *h, bool block) {
  drain_inbox(h);
  if (h->nheap) {
    int64_t now = mt__now_ns();
    while (h->nheap && h->heap[0]->deadline <= now) {
      fiber_t *fb = h->heap[0];
      heap_del(h, fb);
      interrupt(h, fb, fb->clamped ? SCOPE_EXPIRED : MT_ETIMEDOUT);
    }
  }
  for (fiber_t *fb = h->words.head, *n; fb; fb = n) {
    n = fb->lnext;
    if (__atomic_load_n(fb->word, __ATOMIC_ACQUIRE) != fb->expected) make_ready(h, fb, 0);
  }
  if (!block && !h->fdw.head) return;
  if (h->rq_head) block = false;
  int64_t until = 0; /* not blocking: look only */
  if (block) {
    until = h->nheap ? h->heap[0]->deadline : MT__NO_DEADLINE;
    int64_t now = mt__now_ns();
    if (h->words.head && now + WORD_RECHECK_NS < until) until = now + WORD_RECHECK_NS;
    /* going idle: the stack pool gives back what a past burst left (stack.c) */
    int64_t trim = mt__stack_pool_idle(now);
    if (trim < until) until = trim;
  }
  struct pollfd stack_fds[16], *pf = stack_fds;
  int n = 1 + h->nfdw;
  if (n > 16 && !(pf = mt__malloc((size_t)n * sizeof *pf))) {
    pf = stack_fds; /* no memory: watch the eventfd only, re-poll soon */
    n = 1;
    if (block) until = mt__now_ns() + WORD_RECHECK_NS;
  }
  pf[0] = (struct pollfd){.fd = h->efd, .events = POLLIN};
  int k = 1;
  if (n > 1)
    for (fiber_t *fb = h->fdw.head; fb; fb = fb->lnext)
      for (int i = 0; i < fb->nfds; i++) pf[k++] = fb->fds[i];
  if (block) {
    __atomic_store_n(&h->sleeping, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&h->inbox, __ATOMIC_SEQ_CST)) until = 0;
  }
  int r = mt__sys_poll(pf, (nfds_t)n, until);
  if (block) __atomic_store_n(&h->sleeping, 0, __ATOMIC_SEQ_CST);
  if (r > 0) {
    if (pf[0].revents) mt__sys_eventfd_drain(h->efd);
    k = 1;
    if (n > 1)
      for (fiber_t *fb = h->fdw.head, *nx; fb; fb = nx) {
        nx = fb->lnext;
        int ready = 0;
        for (int i = 0; i < fb->nfds; i++, k++) {
          fb->fds[i].revents = pf[k].revents;
          if (pf[k].revents) ready++;
        }
        if (ready) make_ready(h, fb, ready);
      }
  }
  if (pf != stack_fds) mt__free(pf);
  drain_inbox(h);
}

static void *hub_main(void *arg, void *value) {
  (void)value;
  mt_hub_t *h = arg;
  for (;;) {
    /* one round: the fibers ready now; then collect without blocking */
    for (size_t n = h->rq_len; n > 0 && h->rq_head; n--) {
      run_fiber(h, rq_pop(h));
      if (h->closing && h->root.state == F_RUNNING) return NULL; /* killed by mt_hub_free */
    }
    collect(h, h->rq_head == NULL);
  }
}

/* ---- tasks ---------------------------------------------------------------------- */

static fiber_t *task_fiber(const mt_future_t *f);

static void report_default(mt_future_t *task, const mt_task_error_t *err, void *arg) {
  (void)arg;
  fprintf(stderr, "multitask: Task exception was never retrieved: task \"%s\" failed: %s (%d)%s%s\n",
          mt_coro_name(task), mt_err_name(err->code), err->code, *err->message ? ": " : "",
          err->message);
}

static void report(mt_future_t *f) {
  mt_task_error_t e = {f->err, f->message ? f->message : ""};
  mt_coro_exception_fn fn = __atomic_load_n(&exc_fn, __ATOMIC_ACQUIRE);
  if (fn) fn(f, &e, exc_arg);
  else report_default(f, &e, NULL);
}

/* Task fibers: the hub keeps up to SPARE_MAX freed ones for its next
 * tasks (a spawn makes one; malloc's path for this size costs hundreds of
 * instructions a pair).  Only the hub's own thread uses the list
 * (tls_hub == h: it holds the hub's reference, so the list is never freed
 * under it); a fiber freed elsewhere goes to free().  Plain malloc under
 * the sanitizers, so they see every use after free. */
#define SPARE_MAX 256

static fiber_t *fiber_alloc(mt_hub_t *h) {
  fiber_t *fb = tls_hub == h ? h->spare : NULL;
  if (!fb) return mt__calloc(1, sizeof *fb);
  h->spare = fb->next;
  h->nspare--;
  memset(fb, 0, sizeof *fb);
  return fb;
}

static void fiber_free(mt_hub_t *h, fiber_t *fb) {
#if !defined(MT__ASAN) && !defined(MT__TSAN)
  if (tls_hub == h && h->nspare < SPARE_MAX) {
    fb->next = h->spare;
    h->spare = fb;
    h->nspare++;
    return;
  }
#else
  (void)h;
#endif
  mt__free(fb);
}

/* The future's last reference went: report a failure nobody retrieved,
 * release the fiber. */
static void task_on_free(mt_future_t *f) {
  fiber_t *fb = task_fiber(f);
  if ((f->state & MT__F_STATE) == MT_FUTURE_FINISHED && f->task_err &&
      !__atomic_load_n(&f->retrieved, __ATOMIC_RELAXED))
    report(f);
  mt_hub_t *h = fb->hub;
  fiber_free(h, fb);
  fiber_hub_unref(h);
}

static int task_cancel_hook(mt_future_t *f, void *ctx) {
  (void)f;
  fiber_t *fb = ctx;
  if (tls_hub == fb->hub) do_cancel(fb->hub, fb, false);
  else post(fb->hub, fb, P_CANCEL);
  return 0;
}

static fiber_t *task_fiber(const mt_future_t *f) {
  return f && f->cancel_hook == task_cancel_hook ? f->hook_ctx : NULL;
}

static void *task_main(void *arg, void *value) {
  (void)value;
  fiber_t *fb = arg;
  mt_future_t *f = fb->f;
  if (mt_future_set_running_or_notify_cancel(f) == 1) {
    mt_value_t v = {0};
    int r = f->fn(f->arg, &v);
    bool cancelled = r == MT_ECANCELLED && fb->cancel_requested;
    mt__future_complete(f, r, v, cancelled);
  }
  return NULL;
}

static void task_ended(mt_hub_t *h, fiber_t *fb) {
  fb->state = F_DONE;
  if (fb->aprev) fb->aprev->anext = fb->anext;
  else h->tasks = fb->anext;
  if (fb->anext) fb->anext->aprev = fb->aprev;
  mt_greenlet_free(fb->g); /* dead: releases its struct (the stack went already) */
  fb->g = NULL;
  h->live--;
  mt_future_free(fb->f); /* the task's own reference */
}

/* asyncio's cancel (kill = false) or gevent's kill, on the fiber's thread. */
static void do_cancel(mt_hub_t *h, fiber_t *fb, bool kill) {
  if (fb->state == F_DONE) return;
  if (fb->state == F_NEW || mt_future_state(fb->f) == MT_FUTURE_PENDING) {
    if (mt_future_cancel(fb->f) == 1) return; /* never runs: task_main sees it */
  }
  fb->cancel_requested = true;
  if (kill) atomic_store_explicit(&fb->g->killed, true, memory_order_relaxed);
  else atomic_store_explicit(&fb->g->cancel_once, true, memory_order_relaxed);
  interrupt(h, fb, MT_ECANCELLED);
}

/* The fiber and future of a new task (any thread); its greenlet is made on
 * the hub's thread (make_greenlet). */
static fiber_t *new_task(mt_hub_t *h, mt_task_fn fn, void *arg, const mt_coro_opts_t *opts) {
  fiber_t *fb = fiber_alloc(h);
  if (!fb) return mt__fail_null(MT_ENOMEM);
  fiber_init(fb, h);
  const char *given = opts ? opts->name : NULL; /* a named task takes no number */
  mt__name_init(&fb->name, given, "Task",
                given ? 0 : atomic_fetch_add_explicit(&task_counter, 1, memory_order_relaxed) + 1);
  fb->stack_size = opts ? opts->stack_size : 0;
  /* `compact` was added later: a struct from an older header is shorter */
  fb->compact = opts && opts->size >= offsetof(mt_coro_opts_t, compact) + sizeof opts->compact &&
                opts->compact;
  if (fb->compact) fb->parker.nodes = &fb->nodes;
  mt_future_t *f = mt__future_task_new(fn, arg, 2); /* the caller's + the task's */
  if (!f) {
    fiber_free(h, fb);
    return mt__fail_null(MT_ENOMEM);
  }
  fb->f = f;
  mt__future_set_cancel_hook(f, task_cancel_hook, fb);
  f->on_free = task_on_free;
  fiber_hub_ref(h);
  return fb;
}

/* On the hub's thread: the greenlet, a heap slot, and the task is live and
 * ready.  errno and a negative code when the greenlet cannot be made. */
static int make_greenlet(mt_hub_t *h, fiber_t *fb) {
  mt_greenlet_opts_t go = MT_GREENLET_OPTS_INIT;
  go.stack_size = fb->stack_size;
  if (heap_reserve(h, (size_t)h->live + 2) < 0) return MT_ENOMEM; /* + 2: the root, this one */
  fb->g = fb->compact ? mt__greenlet_new_compact(task_main, fb, h->g, &go, NULL)
                      : mt__greenlet_new(task_main, fb, h->g, &go, NULL);
  if (!fb->g) return errno == EINVAL ? MT_EINVAL : errno == ENOTSUP ? MT_ENOTSUP : MT_ENOMEM;
  fb->g->alias = &fb->name; /* the fiber outlives its greenlet */
  fb->parker.greenlet = fb->g; /* only the task's own greenlet parks through the hub */
  h->live++;
  fb->anext = h->tasks;
  if (h->tasks) h->tasks->aprev = fb;
  h->tasks = fb;
  fb->state = F_READY;
  rq_push(h, fb);
  return 0;
}

/* A task posted by mt_hub_spawn from another thread. */
static void start_posted(mt_hub_t *h, fiber_t *fb) {
  int r = make_greenlet(h, fb);
  if (r == 0) return;
  fb->state = F_DONE;
  mt__future_fail(fb->f, r, "the hub could not make the task's coroutine");
  mt_future_free(fb->f); /* the task's reference */
}

mt_future_t *mt_coro_spawn(mt_task_fn fn, void *arg, const mt_coro_opts_t *opts) {
  mt_hub_t *h = tls_hub;
  if (!fn || (opts && opts->size == 0)) return mt__fail_null(MT_EINVAL);
  if (!h || h->closing) return mt__fail_null(MT_EPERM);
  if (opts && opts->stack_size && opts->stack_size < 16 * 1024) return mt__fail_null(MT_EINVAL);
  if (mt__on_shared_stack(arg)) return mt__fail_null(MT_EINVAL); /* a compact task's local */
  fiber_t *fb = new_task(h, fn, arg, opts);
  if (!fb) return NULL;
  int r = make_greenlet(h, fb);
  if (r < 0) {
    fb->f->on_free = NULL; /* never ran: nothing to report */
    mt_future_free(fb->f);
    mt_future_free(fb->f);
    fiber_free(h, fb);
    fiber_hub_unref(h);
    return mt__fail_null(r);
  }
  return fb->f;
}

mt_future_t *mt_hub_spawn(mt_hub_t *h, mt_task_fn fn, void *arg, const mt_coro_opts_t *opts) {
  if (!h) return mt__fail_null(MT_EINVAL);
  if (h == tls_hub) return mt_coro_spawn(fn, arg, opts);
  if (!fn || (opts && opts->size == 0)) return mt__fail_null(MT_EINVAL);
  if (opts && opts->stack_size && opts->stack_size < 16 * 1024) return mt__fail_null(MT_EINVAL);
  if (mt__on_shared_stack(arg)) return mt__fail_null(MT_EINVAL); /* a compact task's local */
  fiber_t *fb = new_task(h, fn, arg, opts);
  if (!fb) return NULL;
  fb->state = F_NEW;
  mt_future_t *f = fb->f;
  post(h, fb, P_SPAWN); /* fb may start (and end) at once: f is still ours */
  return f;
}

int mt_coro_is_task(mt_future_t *f) {
  if (!f) return MT_EINVAL;
  return task_fiber(f) != NULL;
}

const char *mt_coro_name(mt_future_t *task) {
  fiber_t *fb = task_fiber(task);
  return fb ? mt__name_get(&fb->name) : NULL;
}

int mt_coro_join(mt_future_t *task, double timeout) {
  if (!task) return MT_EINVAL;
  return mt__future_wait_done(task, timeout);
}

int mt_coro_joinall(mt_future_t *const *tasks, int n, double timeout) {
  if (!tasks || n < 0) return MT_EINVAL;
  for (int i = 0; i < n; i++)
    if (!tasks[i]) return MT_EINVAL;
  int64_t deadline;
  int r = mt__deadline(timeout, &deadline);
  if (r < 0) return r;
  int done = 0;
  for (int i = 0; i < n; i++) {
    r = mt__future_wait_done(tasks[i], mt__deadline_left(deadline));
    if (r == 0) done++;
    else if (r != MT_ETIMEDOUT) return r;
  }
  return done;
}

int mt_coro_gather(mt_future_t *const *tasks, int n, double timeout, mt_value_t *out) {
  int r = mt_coro_joinall(tasks, n, timeout);
  if (r < 0) return r;
  if (r < n) return MT_ETIMEDOUT;
  int first = 0;
  for (int i = 0; i < n; i++) {
    mt_value_t v = {0};
    int e = mt_future_result(tasks[i], 0, &v);
    if (out) out[i] = v;
    if (e < 0 && first == 0) first = e;
  }
  return first;
}

int mt_coro_wait_for(mt_future_t *task, double timeout, mt_value_t *out) {
  if (!task_fiber(task)) return MT_EINVAL;
  int r = mt_future_result(task, timeout, out);
  if (r != MT_ETIMEDOUT) return r;
  (void)mt_coro_cancel(task);
  r = mt__future_wait_done(task, MT_FOREVER); /* the cancel is delivered at its next wait */
  return r < 0 ? r : MT_ETIMEDOUT;
}

int mt_coro_cancel(mt_future_t *task) {
  fiber_t *fb = task_fiber(task);
  if (!fb) return MT_EINVAL;
  if (mt_future_is_done(task) == 1) return 0;
  (void)task_cancel_hook(task, fb);
  return 1;
}

int mt_coro_kill(mt_future_t *task, double timeout) {
  fiber_t *fb = task_fiber(task);
  if (!fb) return MT_EINVAL;
  mt_hub_t *h = tls_hub;
  if (mt_future_is_done(task) == 1) return 0;
  if (h != fb->hub) return MT_EPERM;
  if (h->current == fb) { /* kills itself */
    fb->cancel_requested = true;
    atomic_store_explicit(&fb->g->killed, true, memory_order_relaxed);
    return MT_ECANCELLED;
  }
  do_cancel(h, fb, true);
  return mt__future_wait_done(task, timeout);
}

int mt_coro_sleep(double seconds) {
  int64_t deadline;
  if (mt__deadline(seconds, &deadline) < 0) return MT_EINVAL;
  int c = mt__coro_cancelled();
  if (c) return c;
  mt_hub_t *h = tls_hub;
  fiber_t *fb = h ? h->current : NULL;
  if (fb && fb->g != mt__coro_current()) fb = NULL; /* a generator inside the task */
  if (!fb) { /* no hub (or the hub greenlet itself, or a greenlet inside a
                task: see mt__parker_t.greenlet): the thread sleeps */
    mt__evc_t never = {0, 0};
    int r = mt__evc_wait(&never, 0, false, deadline);
    return r == MT_ETIMEDOUT ? 0 : r;
  }
  if (seconds == 0) {
    hp_yield(fb);
    if (mt__deadline_passed(fb->scopes.deadline)) { /* a scope ran out meanwhile */
      atomic_store_explicit(&fb->g->expired, true, memory_order_relaxed);
      return MT_ECANCELLED;
    }
    return 0;
  }
  int r = park_current(h, fb, K_SLEEP, deadline);
  return r == MT_ETIMEDOUT ? 0 : r;
}

void mt_coro_set_exception_handler(mt_coro_exception_fn fn, void *arg) {
  exc_arg = arg;
  __atomic_store_n(&exc_fn, fn, __ATOMIC_RELEASE);
}

/* ---- the hub ---------------------------------------------------------------------- */

mt_hub_t *mt_hub_new(void) {
  if (tls_hub) return mt__fail_null(MT_EBUSY);
  mt__coro_thread_t *t = mt__coro_thread();
  if (!t) return mt__fail_null(MT_ENOMEM);
  if (t->current != t->root) return mt__fail_null(MT_EPERM);
  mt_hub_t *h = mt__calloc(1, sizeof *h);
  if (!h) return mt__fail_null(MT_ENOMEM);
  h->efd = mt__sys_eventfd();
  if (h->efd < 0) {
    mt__free(h);
    return mt__fail_null(h->efd);
  }
  mt_greenlet_opts_t go = MT_GREENLET_OPTS_INIT;
  go.name = "Hub"; /* parent: the root, where it ends when mt_hub_free kills it */
  h->g = mt_greenlet_new(hub_main, h, t->root, &go);
  if (!h->g) {
    int e = errno;
    mt__sys_close(h->efd);
    mt__free(h);
    errno = e;
    return NULL;
  }
  if (heap_reserve(h, 1) < 0) { /* the root's slot */
    mt_greenlet_free(h->g);
    mt__sys_close(h->efd);
    mt__free(h);
    return mt__fail_null(MT_ENOMEM);
  }
  h->refs = 1;
  h->thread = pthread_self();
  fiber_init(&h->root, h);
  h->root.g = t->root;
  h->root.parker.greenlet = t->root;
  h->root.state = F_RUNNING;
  mt__name_init(&h->root.name, "MainGreenlet", NULL, 0);
  h->current = &h->root;
  tls_hub = h;
  mt__set_parker(&h->root.parker);
  return h;
}

mt_hub_t *mt_hub_current(void) { return tls_hub; }

mt__scopes_t *mt__hub_scopes(void) {
  mt_hub_t *h = tls_hub;
  return h && h->current ? &h->current->scopes : NULL;
}

size_t mt__hub_timer_count(void) { return tls_hub ? tls_hub->nheap : 0; }

void mt_hub_free(mt_hub_t *h) {
  if (!h || h != tls_hub || h->current != &h->root) return;
  /* Kill what is left and let it unwind, a round at a time; give up after
   * 100 rounds in which no task ended and none was ready (tasks parked
   * where a kill does not reach), or 10,000 rounds in all. */
  for (int stuck = 0, rounds = 0; h->live > 0 && stuck < 100 && rounds < 10000; rounds++) {
    int before = h->live;
    for (fiber_t *fb = h->tasks; fb; fb = fb->anext) do_cancel(h, fb, true);
    hp_yield(&h->root);
    stuck = h->live == before && h->rq_len == 0 ? stuck + 1 : 0;
  }
  h->closing = true;
  atomic_store_explicit(&h->root.g->expired, false, memory_order_relaxed); /* scopes left open */
  mt_executor_free(h->executor); /* never blocks: running calls end on their own */
  mt__set_parker(NULL);
  mt_greenlet_free(h->g); /* kills the hub greenlet: hub_main returns */
  h->g = NULL;
  tls_hub = NULL;
  if (h->ref_pool) /* never the last: the thread's own reference is dropped below */
    __atomic_fetch_sub(&h->refs, (uint32_t)h->ref_pool, __ATOMIC_RELAXED);
  h->ref_pool = 0;
  hub_unref(h);
}

int mt_coro_to_thread(mt_task_fn fn, void *arg, double timeout, mt_value_t *out) {
  if (out) *out = (mt_value_t){0};
  if (!fn || mt__on_shared_stack(arg)) return MT_EINVAL; /* not a compact task's local */
  mt_hub_t *h = tls_hub;
  if (!h) return MT_EPERM;
  if (!h->executor) {
    mt_thread_pool_opts_t o = MT_THREAD_POOL_OPTS_INIT; /* Python's default size */
    o.thread_name_prefix = "to_thread";
    if (!(h->executor = mt_executor_new_thread_pool(&o))) return -errno;
  }
  mt_future_t *f;
  int r = mt_executor_submit(h->executor, fn, arg, &f);
  if (r < 0) return r;
  r = mt_future_take_result(f, timeout, out); /* parks the caller */
  if (r == MT_ETIMEDOUT || r == MT_ECANCELLED) mt_future_cancel(f); /* not started: never runs */
  mt_future_free(f);
  return r;
}

int mt_hub_run(mt_task_fn main, void *arg, mt_value_t *out) {
  if (out) *out = (mt_value_t){0};
  if (!main) return MT_EINVAL;
  mt_hub_t *h = tls_hub, *made = NULL;
  if (h && h->current != &h->root) return MT_EPERM;
  if (!h && !(h = made = mt_hub_new())) return -errno;
  mt_future_t *f = mt_coro_spawn(main, arg, NULL);
  if (!f) {
    int e = -errno;
    mt_hub_free(made);
    return e;
  }
  mt_value_t v = {0};
  int r = mt_future_take_result(f, MT_FOREVER, &v);
  if (r == MT_ETASKFAILED) report(f);
  mt_future_free(f);
  mt_hub_free(made);
  if (out) *out = v;
  else if (v.free_fn) v.free_fn(v.ptr);
  return r;
}
