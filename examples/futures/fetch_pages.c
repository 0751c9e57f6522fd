/* The notes' crawler: ThreadPoolExecutor(20) "fetches" pages (simulated
 * with a short sleep, no network) and add_done_callback parses each page as
 * soon as it arrives.
 *   Python:  pool = ThreadPoolExecutor(20)
 *            pool.submit(get_page, url).add_done_callback(parse_page) */
#include <multitask.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int get_page(void *arg, mt_value_t *out) {
  const char *url = arg;
  struct timespec ts = {0, (long)(strlen(url) % 7 + 1) * 20 * 1000 * 1000};
  nanosleep(&ts, NULL); /* the "download" */
  char *html = malloc(128);
  snprintf(html, 128, "<html><title>%s</title>%zu bytes</html>", url, strlen(url) * 100);
  *out = (mt_value_t){html, strlen(html), free};
  return 0;
}

static void parse_page(mt_future_t *f, void *arg) {
  const char *url = arg;
  mt_value_t page;
  if (mt_future_result(f, 0, &page) == 0)
    printf("parsed %-28s -> %zu characters of html\n", url, page.len);
}

int main(void) {
  const char *urls[] = {"https://www.python.org", "https://www.baidu.com",
                        "https://www.openstack.org", "https://www.sina.com.cn",
                        "https://docs.python.org/3", "https://github.com",
                        "https://www.kernel.org", "https://www.debian.org"};
  enum { N = sizeof urls / sizeof urls[0] };
  mt_thread_pool_opts_t opts = MT_THREAD_POOL_OPTS_INIT;
  opts.max_workers = 20;
  opts.thread_name_prefix = "fetch";
  mt_executor_t *pool = mt_executor_new_thread_pool(&opts);
  mt_future_t *fs[N];
  for (int i = 0; i < N; i++) {
    mt_executor_submit(pool, get_page, (void *)urls[i], &fs[i]);
    mt_future_add_done_callback(fs[i], parse_page, (void *)urls[i]);
  }
  mt_executor_shutdown(pool, true, false, MT_FOREVER); /* pool.shutdown(wait=True) */
  for (int i = 0; i < N; i++) mt_future_free(fs[i]);
  mt_executor_free(pool);
  printf("main: all %d pages fetched and parsed\n", N);
  return 0;
}
