/* The notes' shared memory: 000_d8a1bcc7e9496ef7.txt, section 8 (3)
 * "共享内存".  A writer process writes "Hello", then "Alpha_Panda", at the
 * start of a named 1024-byte segment (the notes' mmap tagname 'cnblogs'),
 * 0.5 s apart; a reader process, started at the same time, polls the
 * segment and prints what it finds, and stops when the segment is empty
 * again.  Output as the notes: Write Hello, Get Hello, Write Alpha_Panda,
 * Get Alpha_Panda.
 *
 * Differences, on purpose:
 *  - the reader polls every 5 ms and prints a message when it changes (the
 *    notes' reader sleeps 0.5 s like the writer, so it may print a message
 *    twice or miss one), and it waits for the first message instead of
 *    stopping if it looks before the writer wrote;
 *  - "the segment is empty again": the notes' named mapping disappears when
 *    the writer closes it (Windows tagname semantics); here the writer
 *    clears the text when it is done;
 *  - the notes say shared memory needs extra synchronisation for ordered
 *    access; two small pieces of it here: the text carries a sequence
 *    number (a seqlock: without it the reader could see "Alplo", half of
 *    "Alpha_Panda" over "Hello"), and the reader acknowledges each message
 *    it printed, which the writer waits for (at most 10 s) before its next
 *    write, so a reader held up on a busy machine misses no message.
 * The writer's 0.5 s is divided by 10 (times MT_EXAMPLE_SCALE). */
#include <multitask.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "example.h"

struct segment {
  unsigned seq;  /* odd while the writer writes */
  unsigned seen; /* the last seq the reader printed */
  char data[1024];
};

static char name[64];

static void publish(struct segment *m, const char *text) {
  __atomic_add_fetch(&m->seq, 1, __ATOMIC_SEQ_CST); /* odd: writing */
  memset(m->data, 0, sizeof m->data);                /* mem.seek(0) */
  memcpy(m->data, text, strlen(text));               /* mem.write(...) */
  __atomic_add_fetch(&m->seq, 1, __ATOMIC_SEQ_CST); /* even: done */
}

/* A consistent copy of the text; returns its sequence number. */
static unsigned snapshot(struct segment *m, char *out) {
  for (;;) {
    unsigned s = __atomic_load_n(&m->seq, __ATOMIC_SEQ_CST);
    if (s & 1) continue;
    memcpy(out, m->data, sizeof m->data);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&m->seq, __ATOMIC_SEQ_CST) == s) return s;
  }
}

static int writer(void *arg) {
  (void)arg;
  mt_shm_t *s = mt_shm_new(name, false, 0); /* mmap(..., tagname='cnblogs') */
  if (!s) return 1;
  struct segment *m = mt_shm_buf(s);
  const char *share[2] = {"Hello", "Alpha_Panda"};
  for (int i = 0; i < 2; i++) {
    printf("Write data:== %s == to share memory!\n", share[i]);
    publish(m, share[i]);
    unsigned mine = __atomic_load_n(&m->seq, __ATOMIC_SEQ_CST);
    for (double give_up = ex_now() + 10; ex_now() < give_up;) { /* wait for the reader */
      if (__atomic_load_n(&m->seen, __ATOMIC_SEQ_CST) == mine) break;
      struct timespec poll = {0, 1000 * 1000};
      nanosleep(&poll, NULL);
    }
    ex_sleep(0.05); /* time.sleep(0.5) */
  }
  publish(m, ""); /* closing the mapping: the reader sees it empty */
  mt_shm_free(s);
  return 0;
}

static int reader(void *arg) {
  (void)arg;
  mt_shm_t *s = mt_shm_new(name, false, 0);
  if (!s) return 1;
  struct segment *m = mt_shm_buf(s);
  char data[1024], last[1024] = "";
  bool seen = false;
  for (;;) {
    unsigned seq = snapshot(m, data);
    if (data[0] == '\0' && seen) break; /* no valid data: stop reading */
    if (data[0] != '\0' && strcmp(data, last) != 0) {
      printf("Get data:== %s == from share memory!\n", data);
      memcpy(last, data, sizeof last);
      seen = true;
      __atomic_store_n(&m->seen, seq, __ATOMIC_SEQ_CST); /* printed it */
    }
    struct timespec poll = {0, 5 * 1000 * 1000};
    nanosleep(&poll, NULL);
  }
  mt_shm_free(s);
  return 0;
}

int main(void) {
  ex_init();
  snprintf(name, sizeof name, "mt_demo_cnblogs_%d", (int)getpid());
  mt_shm_t *seg = mt_shm_new(name, true, sizeof(struct segment)); /* zero-filled */
  if (!seg) return 1;
  mt_process_t *pr = mt_process_new(reader, NULL, NULL), *pw = mt_process_new(writer, NULL, NULL);
  mt_process_start(pw);
  mt_process_start(pr);
  mt_process_join(pw, MT_FOREVER);
  mt_process_join(pr, MT_FOREVER);
  int code_w = -1, code_r = -1;
  mt_process_exitcode(pw, &code_w);
  mt_process_exitcode(pr, &code_r);
  mt_shm_unlink(seg); /* only the creator unlinks the name */
  mt_shm_free(seg);
  mt_process_free(pw);
  mt_process_free(pr);
  return code_w == 0 && code_r == 0 ? 0 : 1;
}
