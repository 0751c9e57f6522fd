/* Error model: codes equal -errno where one fits, names and messages come
 * from the one list, unknown codes are named as such. */
#include "mt_test.h"

#include <errno.h>
#include <string.h>

static void errno_equivalence(void **state) {
  (void)state;
  assert_int_equal(MT_ETIMEDOUT, -ETIMEDOUT);
  assert_int_equal(MT_EPERM, -EPERM);
  assert_int_equal(MT_ECANCELLED, -ECANCELED);
  assert_int_equal(MT_EOWNERDEAD, -EOWNERDEAD);
  assert_int_equal(MT_ECHILD, -ECHILD);
  assert_true(MT_EEMPTY < 0 && MT_EFULL < 0 && MT_ECLOSED < 0 && MT_EBROKEN < 0);
}

static void names_and_messages(void **state) {
  (void)state;
  assert_string_equal(mt_err_name(MT_ETIMEDOUT), "MT_ETIMEDOUT");
  assert_string_equal(mt_err_name(MT_EEMPTY), "MT_EEMPTY");
  assert_string_equal(mt_err_name(0), "MT_OK");
  assert_string_equal(mt_err_name(-99999), "MT_UNKNOWN");
  assert_string_equal(mt_strerror(MT_ETIMEDOUT), "timed out");
  assert_string_equal(mt_strerror(0), "success");
  assert_string_equal(mt_strerror(12345), "unknown error");
  /* every code has a distinct name and a message */
#define CHECK(name, value, msg)                                                 \
  assert_string_equal(mt_err_name(value), "MT_" #name);                         \
  assert_true(strlen(mt_strerror(value)) > 3);
  MT_ERROR_LIST(CHECK)
#undef CHECK
}

/* issue 12: an errno the library passes up unchanged (from open, socket,
 * write, ftruncate, ...) is named, never "unknown error". */
static void passed_up_errnos_are_named(void **state) {
  (void)state;
  const int errs[] = {ENFILE, EMFILE, ECONNRESET, EFBIG, ENOSPC, EPIPE, ENOTCONN,
                      ECONNREFUSED, EROFS, EDQUOT, ENOBUFS, ENXIO, ENODEV, ESPIPE,
                      ETXTBSY, EISDIR, ENOTDIR, ELOOP, EXDEV, EHOSTUNREACH, ENETDOWN};
  for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
    const char *msg = mt_strerror(-errs[i]), *name = mt_err_name(-errs[i]);
    if (strcmp(msg, "unknown error") == 0 || strcmp(name, "MT_UNKNOWN") == 0)
      fail_msg("errno %d: %s / %s", errs[i], name, msg);
    assert_true(strncmp(name, "MT_E", 4) == 0);
  }
  /* listed ones keep the list's own name */
  assert_string_equal(mt_err_name(-ECONNRESET), "MT_ECONNRESET");
  assert_string_equal(mt_err_name(-ENFILE), "MT_ENFILE");
  assert_string_equal(mt_err_name(-EFBIG), "MT_EFBIG");
  /* any other errno falls back to the system's name and text */
  assert_string_equal(mt_err_name(-EHOSTUNREACH), "MT_EHOSTUNREACH");
  assert_string_equal(mt_strerror(-EHOSTUNREACH), strerror(EHOSTUNREACH));
  /* still unknown: not an errno, not in the list */
  assert_string_equal(mt_err_name(-3999), "MT_UNKNOWN");
  assert_string_equal(mt_strerror(-99999), "unknown error");
}

/* issue 12: "still running" has its own code, apart from MT_EAGAIN. */
static void running_is_not_eagain(void **state) {
  (void)state;
  assert_true(MT_ERUNNING < 0 && MT_ERUNNING != MT_EAGAIN);
  assert_string_equal(mt_err_name(MT_ERUNNING), "MT_ERUNNING");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(errno_equivalence),
      cmocka_unit_test(names_and_messages),
      cmocka_unit_test(passed_up_errnos_are_named),
      cmocka_unit_test(running_is_not_eagain),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
