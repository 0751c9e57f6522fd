/* pool_internal.h - what the pool files share: the wire format between the
 * parent and a worker, the per-worker shared block, and the parent's
 * structures.  See pool.c for the design. */
#ifndef MT_POOL_INTERNAL_H
#define MT_POOL_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "multitask/pipe.h"
#include "multitask/pool.h"
#include "multitask/process.h"
#include "multitask/thread.h"
#include "sync/mutex.h"

/* ---- wire format (all fields 8-byte aligned) ------------------------ */

enum { T_BATCH = 1, T_QUIT = 2 };
enum { MODE_BYTES = 0, MODE_VALUE = 1, MODE_STAR = 2 };

/* parent -> worker: header, then count items of {uint64 len; bytes padded
 * to 8}.  MODE_VALUE items are 8 bytes: the argument's pointer bits.
 * MODE_STAR items (starmap) pack an argument vector: uint64 argc, argc
 * uint64 lengths, then each argument's bytes padded to 8 (so each starts
 * 8-byte aligned in the worker's receive buffer). */
typedef struct tmsg_hdr {
  uint32_t type;
  uint32_t mode;
  uint64_t seq;
  uint64_t fn;
  uint32_t count;
  uint32_t pad;
} tmsg_hdr_t;

/* worker -> parent: header, then count records for items first.. of the
 * batch `seq`. */
typedef struct rmsg_hdr {
  uint64_t seq;
  uint32_t first;
  uint32_t count;
} rmsg_hdr_t;

/* one result: then len bytes (padded to 8), then msglen message bytes
 * (padded to 8; no NUL on the wire). */
typedef struct rec_hdr {
  int32_t code;
  uint32_t msglen;
  uint64_t len;
  uint64_t value;
} rec_hdr_t;

static inline size_t mt__pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* ---- the per-worker shared block ------------------------------------
 * Written by the worker, read by the parent after the worker died.  The
 * arena starts with room for an rmsg_hdr so a flush sends it in place. */
#define MT__ARENA (256 * 1024)

typedef struct wshm {
  uint64_t seq;     /* batch the worker is on (release-stored last) */
  uint32_t done;    /* items of it whose results are in the arena or sent */
  uint32_t flushed; /* items of it whose results were sent */
  uint32_t init_failed;
  uint32_t pad;
  uint64_t used; /* record bytes in the arena after the header */
  _Alignas(8) unsigned char arena[MT__ARENA];
} wshm_t;

/* ---- parent side ---------------------------------------------------- */

enum { JK_FUTURE, JK_MAP, JK_IMAP };

typedef struct job job_t;
struct job {
  int kind, mode;
  void *fn;
  const mt_bytes_t *items;
  mt_bytes_t *own_items; /* a map with a deadline: items copied (owned) */
  size_t n, chunksize;
  mt_bytes_t one; /* JK_FUTURE: the copied argument */
  void *one_buf;
  mt_pool_result_t *res;     /* map/imap: one per item (owned) */
  mt_pool_result_t *user_res; /* map_async: copied there at the end */
  uint8_t *ready;          /* imap: item i delivered (atomic) */
  size_t *order;           /* imap: indexes in completion order */
  size_t ndone;            /* atomic; written by the manager only */
  uint32_t progress, sleepers; /* futex word for map/imap waiters */
  int first_err;
  size_t first_err_idx;
  bool cancelled;          /* atomic: skip what has not started */
  mt_future_t *future;
  mt_pool_task_opts_t topts;
  double ns_per_item;
  uint32_t refs;
  job_t *next; /* incoming list */
};

typedef struct batch {
  job_t *job;
  size_t start;
  uint32_t count, received;
  uint64_t seq;
  int64_t t0;
} batch_t;

typedef struct worker {
  struct mt_pool *pool;
  mt_process_t *proc;
  mt_conn_t *conn;       /* parent's end */
  mt_conn_t *child_conn; /* worker's end (closed in the parent after fork) */
  wshm_t *shm;
  int pid;
  bool alive, quitting, dying, eof;
  bool recv_retry; /* a receive ran out of memory: the message waits in conn */
  batch_t fl[2];
  int nfl;
  long quota; /* items it may still be given; < 0 unlimited */
  int64_t run_deadline; /* head JK_FUTURE task with a timeout */
  int kill_code;        /* 0, or why we killed it (MT_ECANCELLED) */
  const char *kill_why;
} worker_t;

typedef struct range {
  job_t *job;
  size_t start, end;
} range_t;

enum { P_OPEN, P_CLOSED, P_TERMINATING };

struct mt_pool {
  mt_pool_opts_t opts;
  int nw;
  worker_t *w;
  mt_thread_t *manager;
  sigset_t child_mask; /* mt_pool_new's caller's: every worker starts with it */
  mt_conn_t *wake_r, *wake_w;
  uint32_t wake_pending;
  /* guarded by lock: */
  mt__mutex_t lock;
  int state;
  bool cancel_pending; /* shutdown(cancel_futures) */
  job_t *in_head, *in_tail;
  /* manager only: */
  range_t *q;
  size_t qhead, qlen, qcap;
  struct pollfd *fds; /* the manager's poll set (1 + 2 * nw), made by mt_pool_new */
  int *who;           /* which worker each fds[] entry belongs to */
  uint64_t next_seq;
  bool broken;    /* atomic: an initializer failed */
  bool purge;     /* atomic: a job was cancelled: purge the queue */
  long started;   /* atomic */
  bool joined;            /* atomic */
  uint32_t handoff;       /* atomic: +1 by mt_pool_free, +1 by the manager as
                             it stops; whoever makes it 2 drops the owner's
                             reference (free never waits for the manager) */
  uint32_t users;         /* atomic: references, see "Lifetime" in pool.c */
  uint32_t fork_gen; /* mt__fork_generation() at creation */
  int64_t term_deadline;
  bool term_killed;
};

/* worker.c: the worker process's main loop (arg: its worker_t). */
int mt__pool_worker_main(void *arg);

/* pool.c, for ppe.c: one task (mode MODE_BYTES: fn is an mt_pool_fn and
 * in/len its argument; MODE_VALUE: fn is an mt_task_fn and in points to
 * the 8 argument bytes); a map waiting until timeout; cancelling queued
 * futures (shutdown(cancel_futures)). */
int mt__pool_submit_one(mt_pool_t *p, int mode, void *fn, const void *in, size_t len,
                        const mt_pool_task_opts_t *opts, mt_future_t **out);
int mt__pool_map_values(mt_pool_t *p, int mode, void *fn, const mt_bytes_t *items,
                        size_t n, size_t chunksize, double timeout,
                        mt_pool_result_t *results);
int mt__pool_cancel_pending(mt_pool_t *p);

#endif
