/* A self-written mutation fuzzer over the workload parser and simulator,
 * for the sanitizer builds (the libFuzzer target exists only in the plain
 * build with clang): seeds are valid workloads; each input flips, inserts,
 * deletes or duplicates bytes or splices in tokens that matter to the
 * grammar (digits, commas, '#', '-', newlines, huge numbers).  Inputs:
 * mt_test_scaled(20000); MTSCHED_FUZZ_INPUTS overrides. */
#include "sched_test.h"
#include "fuzz_target.h"

static const char *const seeds[] = {
    "A 0 3\nB 2 6\nC 4 4\nD 6 5\nE 8 2\n",
    "P1 0 5,3,2 2\nP2 1 3 1\nP3 2 1,2,1,2,1 3\nP4 4 6\n",
    "# c\nX\t0\t1,1,1 -3\r\nY 0 2 # t\n",
};
static const char *const tokens[] = {"0", "9", ",", " ", "\n", "#", "-", "4611686018427387904",
                                     "9223372036854775807", "99999999999999999999", "\t", "\r",
                                     "P1", ",0", "1,2", "\0"};

static size_t mutate(uint64_t *rng, char *buf, size_t len, size_t cap) {
  int rounds = 1 + (int)(ms_splitmix64(rng) % 4);
  for (int k = 0; k < rounds; k++) {
    uint64_t r = ms_splitmix64(rng);
    size_t pos = len ? (size_t)(r >> 8) % (len + 1) : 0;
    switch (r % 5) {
    case 0: if (pos < len) buf[pos] = (char)(ms_splitmix64(rng) & 0xff); break;
    case 1: if (pos < len) { memmove(buf + pos, buf + pos + 1, len - pos - 1); len--; } break;
    case 2: { /* insert a token */
      const char *t = tokens[ms_splitmix64(rng) % (sizeof tokens / sizeof tokens[0])];
      size_t tl = t[0] ? strlen(t) : 1;
      if (len + tl >= cap) break;
      memmove(buf + pos + tl, buf + pos, len - pos);
      memcpy(buf + pos, t, tl);
      len += tl;
      break;
    }
    case 3: { /* duplicate a chunk */
      size_t n = (size_t)(ms_splitmix64(rng) % 16);
      if (pos + n > len || len + n >= cap) break;
      memmove(buf + pos + n, buf + pos, len - pos);
      len += n;
      break;
    }
    default: if (len) len = pos; /* truncate */
    }
  }
  return len;
}

static void mutation_fuzz(void **state) {
  (void)state;
  const char *env = getenv("MTSCHED_FUZZ_INPUTS");
  long n = env ? atol(env) : mt_test_scaled(20000, 500);
  uint64_t rng = 12345;
  char buf[4096];
  for (long i = 0; i < n; i++) {
    const char *s = seeds[i % 3];
    size_t len = strlen(s);
    memcpy(buf, s, len);
    len = mutate(&rng, buf, len, sizeof buf);
    fuzz_one((const uint8_t *)buf, len);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(mutation_fuzz)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
