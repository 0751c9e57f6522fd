/* mt_strerror / mt_err_name, generated from MT_ERROR_LIST.
 *
 * The library passes some errnos up unchanged (a failed open, socket,
 * write or ftruncate): the common ones are in the list; any other negative
 * errno falls back to the system's own name and text (glibc's
 * strerrorname_np / strerrordesc_np, which return static strings and are
 * thread-safe, unlike strerror), so no errno is ever "unknown". */
#include "multitask/error.h"
#include "multitask/sync.h"

#include <string.h>

#define MT__ERRNO_MAX 256 /* Linux errnos end at 133 */

const char *mt_strerror(int code) {
  if (code == 0) return "success";
  switch (code) {
#define MT__ERR_MSG(name, value, msg) case (value): return msg;
    MT_ERROR_LIST(MT__ERR_MSG)
#undef MT__ERR_MSG
  }
  if (code < 0 && code > -MT__ERRNO_MAX) {
    const char *s = strerrordesc_np(-code);
    if (s) return s;
  }
  return "unknown error";
}

/* "MT_" + the system's name, built once for every errno (static storage, so
 * the returned pointer stays valid like the list's names). */
static char errno_names[MT__ERRNO_MAX][32];
static mt_once_t errno_names_once = MT_ONCE_INIT;

static void fill_errno_names(void *arg) {
  (void)arg;
  for (int e = 1; e < MT__ERRNO_MAX; e++) {
    const char *n = strerrorname_np(e);
    if (n && strlen(n) + 4 <= sizeof errno_names[e]) {
      memcpy(errno_names[e], "MT_", 3);
      strcpy(errno_names[e] + 3, n);
    }
  }
}

const char *mt_err_name(int code) {
  if (code == 0) return "MT_OK";
  switch (code) {
#define MT__ERR_NAME(name, value, msg) case (value): return "MT_" #name;
    MT_ERROR_LIST(MT__ERR_NAME)
#undef MT__ERR_NAME
  }
  if (code < 0 && code > -MT__ERRNO_MAX) {
    /* an interrupted or cancelled wait for another thread's fill: unknown */
    if (mt_once_call(&errno_names_once, fill_errno_names, NULL) == 0 && errno_names[-code][0])
      return errno_names[-code];
  }
  return "MT_UNKNOWN";
}
