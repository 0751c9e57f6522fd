/* The notes' crawler with processes: 001_a745250b55c36603.txt, section
 * 9.2.4 "生产者消费者模型", 5 "生产者消费者实现的爬虫示例": q = Queue(3); 10
 * producer processes each fetch one page of Douban's top 250
 * (start = 0, 25, ..., 225) and put its HTML on the queue; one consumer
 * process takes pages until None and prints, for every film, a dict of id,
 * title, rating_num and comment_num found by a regular expression; main
 * joins the producers and puts the None.
 * No network here: a producer "fetches" by building a page of 25 films in
 * the same HTML shape (the notes' regex, in POSIX form, reads it).  The
 * consumer is started last, as in the notes; the pages arrive in whatever
 * order the producers finish, so the films come page by page in any page
 * order. */
#include <multitask.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "example.h"

static mt_mpqueue_t *q;

static int producer(void *arg) {
  long start = (long)arg; /* url = '...top250?start=%s&filter=' % count */
  static char page[16384];
  size_t len = 0;
  for (long id = start + 1; id <= start + 25; id++) /* response.text */
    len += (size_t)snprintf(page + len, sizeof page - len,
                            "<div class=\"item\"><div class=\"pic\"><em class=\"\">%ld</em></div>"
                            "<span class=\"title\">Film %ld</span><span class=\"rating_num\" "
                            "property=\"v:average\">%ld.%ld</span><span>%ld评价</span></div>\n",
                            id, id, 9 - id / 100, id % 10, 100000 - id * 37);
  return mt_mpqueue_put(q, page, len, MT_FOREVER) == 0 ? 0 : 1; /* q.put(response.text) */
}

static int consumer(void *arg) {
  (void)arg;
  regex_t com;
  if (regcomp(&com,
              "<div class=\"item\">.*<div class=\"pic\">.*<em [^>]*>([0-9]+)</em>.*"
              "<span class=\"title\">([^<]*)</span>.*<span class=\"rating_num\" [^>]*>([^<]*)</span>"
              ".*<span>([0-9]+)评价</span>",
              REG_EXTENDED | REG_NEWLINE) != 0)
    return 1;
  static char s[16384];
  int films = 0;
  for (;;) {
    int n = mt_mpqueue_get(q, s, sizeof s - 1, NULL, MT_FOREVER); /* s = q.get() */
    if (n <= 0) break;                                            /* if not s: break */
    s[n] = '\0';
    regmatch_t m[5];
    for (const char *p = s; regexec(&com, p, 5, m, 0) == 0; p += m[0].rm_eo) { /* finditer */
      printf("{'id': '%.*s', 'title': '%.*s', 'rating_num': '%.*s', 'comment_num': '%.*s'}\n",
             (int)(m[1].rm_eo - m[1].rm_so), p + m[1].rm_so, (int)(m[2].rm_eo - m[2].rm_so),
             p + m[2].rm_so, (int)(m[3].rm_eo - m[3].rm_so), p + m[3].rm_so,
             (int)(m[4].rm_eo - m[4].rm_so), p + m[4].rm_so);
      films++;
    }
  }
  regfree(&com);
  return films == 250 ? 0 : 1;
}

int main(void) {
  ex_init();
  q = mt_mpqueue_new(3, 16384); /* Queue(3) */
  mt_process_t *p_l[10];
  long count = 0;
  for (int i = 0; i < 10; i++, count += 25) {
    p_l[i] = mt_process_new(producer, (void *)count, NULL);
    mt_process_start(p_l[i]);
  }
  mt_process_t *c = mt_process_new(consumer, NULL, NULL);
  mt_process_start(c);
  for (int i = 0; i < 10; i++) mt_process_join(p_l[i], MT_FOREVER), mt_process_free(p_l[i]);
  mt_mpqueue_put(q, "", 0, MT_FOREVER); /* q.put(None) */
  int code = -1;
  mt_process_join(c, MT_FOREVER); /* (Python's exit waits for it) */
  mt_process_exitcode(c, &code);
  mt_process_free(c);
  mt_mpqueue_free(q);
  return code == 0 ? 0 : 1;
}
