/* multitask/error.h - error codes, timeouts and flags shared by every part.
 *
 * Every function returns int: 0 (or a positive count) on success, a negative
 * MT_E* code on failure.  Where a POSIX errno fits, MT_EX == -EX, so a code
 * can be passed to strerror(-code) too.  Constructors (mt_X_new) return the
 * object, or NULL with errno set to the positive code.
 */
#ifndef MULTITASK_ERROR_H
#define MULTITASK_ERROR_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the exported API (built -fvisibility=hidden) */

/* X(NAME, value, message): the ONE list the enum, mt_strerror and
 * mt_err_name are generated from. */
#define MT_ERROR_LIST(X)                                                       \
  X(EPERM, -EPERM, "operation not permitted (caller is not the owner)")        \
  X(ENOENT, -ENOENT, "no such object")                                         \
  X(ESRCH, -ESRCH, "no such process or thread")                                \
  X(EINTR, -EINTR, "interrupted by a signal")                                  \
  X(EIO, -EIO, "input/output error")                                           \
  X(ENXIO, -ENXIO, "no such device or address")                                \
  X(E2BIG, -E2BIG, "argument list too long")                                   \
  X(EBADF, -EBADF, "bad file descriptor")                                      \
  X(ECHILD, -ECHILD, "no such child process")                                  \
  X(EAGAIN, -EAGAIN, "resource temporarily unavailable")                       \
  X(ENOMEM, -ENOMEM, "out of memory")                                          \
  X(EACCES, -EACCES, "permission denied")                                      \
  X(EBUSY, -EBUSY, "object is busy")                                           \
  X(EEXIST, -EEXIST, "object already exists")                                  \
  X(ENODEV, -ENODEV, "no such device")                                         \
  X(EINVAL, -EINVAL, "invalid argument")                                       \
  X(ENFILE, -ENFILE, "too many open files in the system")                      \
  X(EMFILE, -EMFILE, "too many open files")                                    \
  X(EFBIG, -EFBIG, "file too large")                                           \
  X(ENOSPC, -ENOSPC, "no space left")                                          \
  X(ESPIPE, -ESPIPE, "illegal seek")                                           \
  X(EROFS, -EROFS, "read-only file system")                                    \
  X(EPIPE, -EPIPE, "broken pipe")                                              \
  X(ERANGE, -ERANGE, "value out of range")                                     \
  X(EDEADLK, -EDEADLK, "resource deadlock would occur")                        \
  X(ENAMETOOLONG, -ENAMETOOLONG, "name too long")                              \
  X(ENOSYS, -ENOSYS, "function not implemented")                               \
  X(EOVERFLOW, -EOVERFLOW, "released too many times / value too large")       \
  X(EMSGSIZE, -EMSGSIZE, "message too long for the buffer or channel")         \
  X(ENOTSUP, -ENOTSUP, "operation not supported")                              \
  X(ETIMEDOUT, -ETIMEDOUT, "timed out")                                        \
  X(ECANCELLED, -ECANCELED, "cancelled")                                       \
  X(EOWNERDEAD, -EOWNERDEAD, "previous owner died; state may be inconsistent") \
  X(ENOTRECOVERABLE, -ENOTRECOVERABLE, "state not recoverable")                \
  X(EEMPTY, -4001, "empty (nothing to get)")                                   \
  X(EFULL, -4002, "full (no room to put)")                                     \
  X(ECLOSED, -4003, "closed or shut down (or the peer closed)")                \
  X(EBROKEN, -4004, "broken (barrier broken or pool broken)")                  \
  X(ETASKFAILED, -4005, "the task failed; see its exception")                  \
  X(EFORKED, -4006, "object belongs to the parent process (used after fork)")  \
  X(EWORKERDIED, -4007, "the worker running the task died")                    \
  X(ENOTSTARTED, -4008, "not started")                                         \
  X(ESTARTED, -4009, "already started")                                        \
  X(ERUNNING, -4010, "still running (no result yet)")

enum mt_error {
  MT_OK = 0,
#define MT__ERR_ENUM(name, value, msg) MT_##name = (value),
  MT_ERROR_LIST(MT__ERR_ENUM)
#undef MT__ERR_ENUM
};

/* Human-readable message for a code: "success" for 0, the list's message,
 * else for any other negative errno the system's text (strerror), so an
 * errno passed up unchanged is always described; "unknown error" only for
 * a code that is neither. */
const char *mt_strerror(int code);
/* Symbolic name, e.g. "MT_ETIMEDOUT": "MT_OK" for 0, the list's name, else
 * "MT_" + the system's errno name for any other negative errno (e.g.
 * "MT_EHOSTUNREACH"); "MT_UNKNOWN" only for a code that is neither. */
const char *mt_err_name(int code);

/* Timeouts are relative seconds; MT_FOREVER blocks, 0 never blocks.  Any
 * other negative value (or NaN) is MT_EINVAL. */
#define MT_FOREVER (-1.0)

/* Flags for constructors. */
enum {
  MT_SHARED = 1 << 0 /* object lives in shared memory: usable by processes
                        forked after it is created */
};

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
