/* Filters that would once overflow the stack and kill the host: deep parentheses and NOTs
 * are refused with STRATA_INVALID_ARGUMENT (the host survives to scan again), and flat AND
 * chains of any length scan. Usage: test_filter_limits PARQUET_FILE WORK_DIR (the file of
 * test_streams: id 0..99). */
#include "check.h"

/* `depth` times `open`, the comparison, `depth` times `close`. */
static char *nest(const char *open, size_t depth, const char *inner, const char *close) {
  size_t size = depth * (strlen(open) + strlen(close)) + strlen(inner) + 1;
  char *text = malloc(size);
  CHECK(text != NULL);
  char *at = text;
  for (size_t i = 0; i < depth; i++) at += sprintf(at, "%s", open);
  at += sprintf(at, "%s", inner);
  for (size_t i = 0; i < depth; i++) at += sprintf(at, "%s", close);
  return text;
}

/* `terms - 1` terms `id <> -k` joined by AND, then `id < 10`. */
static char *flat_and(size_t terms) {
  char *text = malloc(terms * 24 + 16);
  CHECK(text != NULL);
  char *at = text;
  for (size_t k = 1; k < terms; k++) at += sprintf(at, "id <> -%zu AND ", k);
  sprintf(at, "id < 10");
  return text;
}

static int64_t count(const char *file, const char *filter) {
  struct ArrowArrayStream stream;
  OK(strata_scan(file, NULL, 0, filter, &stream));
  int64_t rows = 0;
  for (;;) {
    struct ArrowArray batch;
    CHECK(stream.get_next(&stream, &batch) == 0);
    if (batch.release == NULL) break;
    rows += batch.length;
    batch.release(&batch);
  }
  stream.release(&stream);
  return rows;
}

static void refused(const char *file, const char *filter) {
  struct ArrowArrayStream stream;
  FAILS(STRATA_INVALID_ARGUMENT, strata_scan(file, NULL, 0, filter, &stream));
  CHECK(stream.release == NULL);
  CHECK(strstr(strata_last_error_message(), "256") != NULL);
  strata_bytes *ipc = NULL;
  FAILS(STRATA_INVALID_ARGUMENT, strata_scan_ipc(file, NULL, 0, filter, &ipc, NULL, NULL));
}

int main(int argc, char **argv) {
  CHECK(argc == 3);
  const char *file = argv[1];
  CHECK(STRATA_MAX_FILTER_DEPTH == 256);

  char *text = nest("(", 20000, "id < 10", ")");
  refused(file, text);
  free(text);
  text = nest("NOT ", 20000, "id < 10", "");
  refused(file, text);
  free(text);
  text = nest("NOT (", 20000, "id < 10", ")");
  refused(file, text);
  free(text);

  /* At the limit, and the host still scans. */
  text = nest("(", STRATA_MAX_FILTER_DEPTH, "id < 10", ")");
  CHECK(count(file, text) == 10);
  free(text);
  text = nest("NOT ", STRATA_MAX_FILTER_DEPTH - 1, "id < 10", "");
  CHECK(count(file, text) == 90);
  free(text);

  text = flat_and(4000);
  CHECK(count(file, text) == 10);
  free(text);
  text = flat_and(100000);
  CHECK(count(file, text) == 10);
  free(text);

  puts("test_filter_limits: ok");
  return 0;
}
