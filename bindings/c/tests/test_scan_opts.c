/* strata_scan_opts: string views, threads and batch size from an options JSON object; bad
 * options are STRATA_INVALID_ARGUMENT with a released out stream, never a crash. strata_scan_count
 * with the same options.
 * Usage: test_scan_opts PARQUET_FILE WORK_DIR
 * The file has columns id (int64), name (utf8), email (utf8), amount (float64) and 100 rows
 * with id 0..99 (tests/bindings_c.rs writes it). */
#include "check.h"

/* Pulls every batch, releasing each; returns the row count and the number of batches. */
static int64_t drain(struct ArrowArrayStream *stream, int64_t *batches) {
  int64_t rows = 0;
  *batches = 0;
  for (;;) {
    struct ArrowArray batch;
    if (stream->get_next(stream, &batch) != 0) {
      fprintf(stderr, "get_next: %s\n", stream->get_last_error(stream));
      exit(1);
    }
    if (batch.release == NULL) break;
    rows += batch.length;
    *batches += 1;
    batch.release(&batch);
  }
  stream->release(stream);
  return rows;
}

/* The Arrow format string of the stream's column `i`, copied into `out`. */
static void column_format(struct ArrowArrayStream *stream, int64_t i, char *out, size_t n) {
  struct ArrowSchema schema;
  CHECK(stream->get_schema(stream, &schema) == 0);
  CHECK(i < schema.n_children);
  snprintf(out, n, "%s", schema.children[i]->format);
  schema.release(&schema);
}

int main(int argc, char **argv) {
  CHECK(argc == 3);
  const char *file = argv[1];
  struct ArrowArrayStream stream;
  int64_t batches = 0;
  char format[16];

  /* Views on: strings come out as "vu"; the integers stay "l". */
  OK(strata_scan_opts(file, NULL, 0, NULL, "{\"string_views\": true}", &stream));
  column_format(&stream, 1, format, sizeof format);
  CHECK(strcmp(format, "vu") == 0);
  column_format(&stream, 0, format, sizeof format);
  CHECK(strcmp(format, "l") == 0);
  CHECK(drain(&stream, &batches) == 100);

  /* No options (NULL or blank): as strata_scan, strings as "u". */
  OK(strata_scan_opts(file, NULL, 0, NULL, NULL, &stream));
  column_format(&stream, 1, format, sizeof format);
  CHECK(strcmp(format, "u") == 0);
  CHECK(drain(&stream, &batches) == 100);
  OK(strata_scan_opts(file, NULL, 0, NULL, " ", &stream));
  CHECK(drain(&stream, &batches) == 100);

  /* Columns, filter, threads and batch size together. */
  const char *columns[] = {"name", "id"};
  OK(strata_scan_opts(file, columns, 2, "name >= 'user 5'",
                      "{\"string_views\": true, \"threads\": 2, \"batch_size\": 10,"
                      " \"keep_order\": false}",
                      &stream));
  column_format(&stream, 0, format, sizeof format);
  CHECK(strcmp(format, "vu") == 0);
  /* "user 5" .. "user 99": 5, 50..59, 6, 60..69, ... 9, 90..99 */
  CHECK(drain(&stream, &batches) == 55);
  CHECK(batches >= 6);

  /* Bad options: refused before any scan, the out stream released. */
  const char *bad[] = {
      "{",                            /* not JSON */
      "[true]",                       /* not an object */
      "{\"views\": true}",            /* unknown key */
      "{\"string_views\": 1}",        /* wrong type */
      "{\"threads\": 0}",             /* out of range */
      "{\"batch_size\": -5}",         /* negative */
      "{\"batch_size\": 99999999999}" /* too large */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    FAILS(STRATA_INVALID_ARGUMENT, strata_scan_opts(file, NULL, 0, NULL, bad[i], &stream));
    CHECK(stream.release == NULL);
  }
  CHECK(strstr(strata_last_error_message(), "batch_size") != NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_scan_opts(NULL, NULL, 0, NULL, NULL, &stream));
  FAILS(STRATA_INVALID_ARGUMENT,
        strata_scan_opts(file, NULL, 0, NULL, "{\"string_views\": true}", NULL));
  FAILS(STRATA_NOT_FOUND, strata_scan_opts("/nonexistent/x.parquet", NULL, 0, NULL,
                                           "{\"string_views\": true}", &stream));
  FAILS(STRATA_INVALID_ARGUMENT,
        strata_lake_scan_opts(NULL, "k", NULL, 0, NULL, "{\"threads\": 2}", &stream));
  CHECK(stream.release == NULL);

  /* Counts: every row from the footers, a filter's rows on 1 and 2 threads. */
  uint64_t rows = 99;
  OK(strata_scan_count(file, NULL, NULL, &rows));
  CHECK(rows == 100);
  OK(strata_scan_count(file, "name >= 'user 5'", "{\"threads\": 2}", &rows));
  CHECK(rows == 55);
  OK(strata_scan_count(file, "id < 30 AND amount >= 0", "{\"threads\": 1}", &rows));
  CHECK(rows == 30);
  FAILS(STRATA_INVALID_ARGUMENT, strata_scan_count(file, "id <", NULL, &rows));
  CHECK(rows == 0);
  FAILS(STRATA_INVALID_ARGUMENT, strata_scan_count(file, NULL, "{\"threads\": 0}", &rows));
  FAILS(STRATA_INVALID_ARGUMENT, strata_scan_count(file, NULL, NULL, NULL));
  FAILS(STRATA_NOT_FOUND, strata_scan_count(file, "nope = 1", NULL, &rows));
  FAILS(STRATA_NOT_FOUND, strata_scan_count("/nonexistent/x.parquet", NULL, NULL, &rows));

  /* A lake object, views on. */
  char path[4096];
  snprintf(path, sizeof path, "%s/lake", argv[2]);
  strata_lake *lake = NULL;
  OK(strata_open_dir(path, &lake));
  strata_object_info info;
  OK(strata_scan(file, NULL, 0, NULL, &stream));
  OK(strata_put_parquet(lake, "people.parquet", &stream, &info));
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_scan_opts(lake, "people.parquet", NULL, 0, NULL,
                                                       "{\"bogus\": 1}", &stream));
  OK(strata_lake_scan_opts(lake, "people.parquet", NULL, 0, "id < 30",
                           "{\"string_views\": true}", &stream));
  column_format(&stream, 2, format, sizeof format);
  CHECK(strcmp(format, "vu") == 0);
  CHECK(drain(&stream, &batches) == 30);
  strata_lake_free(lake);
  printf("test_scan_opts: ok\n");
  return 0;
}
