/* Linux backend of platform/mem.h for anonymous shared objects (core.c)
 * and POSIX shared-memory segments (shm.c).  The other mapping helpers
 * live in platform_linux.c. */
#include "platform/platform.h"
#include "multitask/error.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void *mt__sys_map_shared(size_t bytes) {
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

int mt__sys_shm_map(const char *name, bool create, size_t *size, void **out) {
  int saved = errno;
  int r = 0;
  int fd = shm_open(name, create ? O_CREAT | O_EXCL | O_RDWR : O_RDWR, 0600);
  if (fd < 0) {
    r = -errno;
    goto out;
  }
  if (create) {
    if (ftruncate(fd, (off_t)*size) < 0) {
      r = -errno;
      close(fd);
      shm_unlink(name);
      goto out;
    }
  } else {
    struct stat st;
    if (fstat(fd, &st) < 0) {
      r = -errno;
      close(fd);
      goto out;
    }
    if (*size == 0) *size = (size_t)st.st_size;
    if (*size == 0 || *size > (size_t)st.st_size) {
      close(fd);
      r = MT_EINVAL;
      goto out;
    }
  }
  void *p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int e = errno;
  close(fd);
  if (p == MAP_FAILED) {
    if (create) shm_unlink(name);
    r = -e;
    goto out;
  }
  *out = p;
out:
  errno = saved;
  return r;
}

int mt__sys_shm_unlink(const char *name) {
  int saved = errno;
  int r = shm_unlink(name) < 0 ? -errno : 0;
  errno = saved;
  return r;
}
