/* Review finding 4: a worker's result connection breaks (the parent reads
 * a frame header above its maximum, or a staged receive ran out of
 * memory): drain_worker treated MT_EMSGSIZE / MT_EBROKEN as neither EOF
 * nor out of memory.  The socket stayed in the poll set and readable, the
 * manager spun at full CPU, and the worker stayed alive, so the task it
 * held never ended (its future waited forever).  Now a broken connection
 * counts as EOF: the worker is killed and replaced, and the task it was
 * running fails with MT_EBROKEN.
 *
 * The task breaks its own connection: in the worker the only sockets or
 * write-only pipes from fd 3 on are the worker's end of its channel (a
 * duplex pipe), and the task writes a frame header of
 * 2 GiB (the parent accepts 1 GiB by default), then, once the parent has
 * read it, a few more bytes (so the socket is readable on a broken end:
 * the spin), then waits to be killed. */
#include "tasks.h"

#include <linux/sockios.h>
#include <sched.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <stdbool.h>

#include "platform/platform.h"

static int t_break_channel(const void *in, size_t len, mt_value_t *out) {
  (void)in, (void)len, (void)out;
  unsigned char msg[12 + 8];
  uint32_t esc = 0xffffffffu;
  uint64_t big = (uint64_t)2 << 30;
  memcpy(msg, &esc, 4);
  memcpy(msg + 4, &big, 8);
  memset(msg + 12, 0x55, 8);
  /* The channel is a duplex pipe: two one-way pipes (or, without
   * RWF_NOSIGNAL, sockets); the header goes on the one sending works on
   * (the other is a read end, or a socket shut down for writing: EPIPE). */
  int sock = -1;
  bool fifo = false;
  for (int fd = 3; fd < 1024; fd++) {
    struct stat st;
    if (fstat(fd, &st) != 0) continue;
    ssize_t w;
    if (S_ISSOCK(st.st_mode)) {
      w = send(fd, msg, 12, MSG_NOSIGNAL);
    } else if (S_ISFIFO(st.st_mode) && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY) {
      struct iovec v = {msg, 12};
      w = pwritev2(fd, &v, 1, -1, 0x100 /* RWF_NOSIGNAL */);
      fifo = true;
    } else {
      continue;
    }
    if (w < 0 && errno == EPIPE) continue;
    if (w != 12) return mt_task_fail(MT_EIO, "send");
    if (sock >= 0) return mt_task_fail(MT_EINVAL, "two sending sockets in the worker");
    sock = fd;
  }
  if (sock < 0) return mt_task_fail(MT_EINVAL, "no sending socket in the worker");
  /* the rest only once the parent has read the header (nothing of ours is
   * left unread in the socket), so these bytes arrive on a broken end */
  int64_t give_up = mt__now_ns() + 5 * (int64_t)1000000000;
  int unread = 1;
  while (ioctl(sock, fifo ? FIONREAD : SIOCOUTQ, &unread) == 0 && unread > 0 &&
         mt__now_ns() < give_up)
    sched_yield();
  if (write(sock, msg + 12, 8) != 8) return mt_task_fail(MT_EIO, "write");
  for (;;) pause(); /* until the pool kills this worker */
  return 0;
}

static int t_seven(const void *in, size_t len, mt_value_t *out) {
  (void)in, (void)len;
  out->ptr = (void *)7;
  return 0;
}

static void broken_channel_fails_the_task(void **state) {
  (void)state;
  for (long k = mt_test_scaled(3, 1); k > 0; k--) {
    mt_pool_opts_t popts = MT_POOL_OPTS_INIT;
    popts.processes = 1;
    mt_pool_t *p = mt_pool_new(&popts);
    assert_non_null(p);
    mt_future_t *f = NULL;
    assert_code(mt_pool_apply_async(p, t_break_channel, NULL, 0, NULL, &f), 0);
    mt_value_t v = {0};
    /* bounded: before the fix this waited forever (MT_ETIMEDOUT here) */
    assert_code(mt_future_result(f, 10, &v), MT_EBROKEN);
    mt_task_error_t e;
    assert_code(mt_future_exception(f, 0, &e), 0);
    assert_int_equal(e.code, MT_EBROKEN);
    mt_future_free(f);
    /* the worker was replaced: the pool still works */
    assert_code(mt_pool_apply(p, t_seven, NULL, 0, MT_FOREVER, &v), 0);
    assert_ptr_equal(v.ptr, (void *)7);
    assert_code(mt_pool_close(p), 0);
    assert_code(mt_pool_join(p, 30), 0);
    mt_pool_free(p);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(broken_channel_fails_the_task),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
