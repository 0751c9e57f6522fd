/* The spin decision reads the cgroup CPU quota (issue 13): fake cgroup v1
 * and v2 trees under a temporary root, the smallest quota on the path to
 * the root wins, no quota or unreadable files mean none, and the rule
 * "do not spin below ~2 CPUs of quota". */
#include "mt_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/platform.h"
#include "wait/wait.h"

static char root[64];

/* Writes root/rel (creating its directories) with text. */
static void put(const char *rel, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  for (char *p = path + strlen(root) + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      mkdir(path, 0755);
      *p = '/';
    }
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int make_root(void **state) {
  (void)state;
  snprintf(root, sizeof root, "/tmp/mt_cgroup_XXXXXX");
  assert_non_null(mkdtemp(root));
  return 0;
}

static int remove_root(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  return system(cmd) == 0 ? 0 : -1;
}

static void v1_quota_of_a_parent(void **state) {
  make_root(state);
  put("proc/self/cgroup", "4:memory:/m\n3:cpuset:/\n1:cpu,cpuacct:/a/b\n0::/\n");
  put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  put("sys/fs/cgroup/cpu,cpuacct/a/cpu.cfs_quota_us", "150000\n");
  put("sys/fs/cgroup/cpu,cpuacct/a/cpu.cfs_period_us", "100000\n");
  put("sys/fs/cgroup/cpu,cpuacct/a/b/cpu.cfs_quota_us", "-1\n");
  put("sys/fs/cgroup/cpu,cpuacct/a/b/cpu.cfs_period_us", "100000\n");
  assert_true(mt__sys_cpu_quota_at(root) == 1.5);
  /* a tighter child wins */
  put("sys/fs/cgroup/cpu,cpuacct/a/b/cpu.cfs_quota_us", "50000\n");
  assert_true(mt__sys_cpu_quota_at(root) == 0.5);
  remove_root(state);
}

static void v1_separate_cpu_mount(void **state) {
  make_root(state);
  put("proc/self/cgroup", "2:cpuacct:/\n1:cpu:/job\n");
  put("sys/fs/cgroup/cpu/job/cpu.cfs_quota_us", "400000\n");
  put("sys/fs/cgroup/cpu/job/cpu.cfs_period_us", "100000\n");
  assert_true(mt__sys_cpu_quota_at(root) == 4.0);
  remove_root(state);
}

static void v2_cpu_max(void **state) {
  make_root(state);
  put("proc/self/cgroup", "0::/svc/job\n");
  put("sys/fs/cgroup/svc/cpu.max", "max 100000\n");
  put("sys/fs/cgroup/svc/job/cpu.max", "50000 100000\n");
  assert_true(mt__sys_cpu_quota_at(root) == 0.5);
  put("sys/fs/cgroup/svc/job/cpu.max", "max 100000\n");
  assert_true(mt__sys_cpu_quota_at(root) == 0);
  put("sys/fs/cgroup/svc/cpu.max", "300000 100000\n");
  assert_true(mt__sys_cpu_quota_at(root) == 3.0);
  remove_root(state);
}

static void none_or_unreadable(void **state) {
  make_root(state);
  assert_true(mt__sys_cpu_quota_at(root) == 0); /* no /proc/self/cgroup */
  put("proc/self/cgroup", "0::/\n");
  assert_true(mt__sys_cpu_quota_at(root) == 0); /* no cpu.max */
  put("sys/fs/cgroup/cpu.max", "garbage\n");
  assert_true(mt__sys_cpu_quota_at(root) == 0);
  remove_root(state);
}

static void the_real_system_is_read_once(void **state) {
  (void)state;
  double q = mt__sys_cpu_quota_at("");
  assert_true(q >= 0);
  assert_true(mt__cpu_quota() > q - 0.001 && mt__cpu_quota() < q + 0.001);
}

static void spin_rule(void **state) {
  (void)state;
  assert_true(mt__spin_pays(2, 0));     /* no quota */
  assert_false(mt__spin_pays(1, 0));    /* one CPU */
  assert_false(mt__spin_pays(2, 1.5));  /* quota below ~2 CPUs */
  assert_false(mt__spin_pays(64, 1.0));
  assert_true(mt__spin_pays(2, 2.0));
  assert_true(mt__spin_pays(8, 4.0));
  /* what this process does follows the same rule */
  assert_int_equal(mt__spin_rounds() > 0, mt__spin_pays(mt__cpu_count(), mt__cpu_quota()));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(v1_quota_of_a_parent), cmocka_unit_test(v1_separate_cpu_mount),
      cmocka_unit_test(v2_cpu_max),           cmocka_unit_test(none_or_unreadable),
      cmocka_unit_test(the_real_system_is_read_once), cmocka_unit_test(spin_rule),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
