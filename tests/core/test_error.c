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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(errno_equivalence),
      cmocka_unit_test(names_and_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
