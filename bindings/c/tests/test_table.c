/* Delta tables from C: the first strata_table_append creates the table (partitioned), a
 * second appends; strata_table_scan reads the latest version, version 0 and a filtered
 * projection; the history is JSON; bad names, versions and handles are errors with the stream
 * consumed or released.
 * Usage: test_table PEOPLE_FILE DATA_DIR
 * PEOPLE_FILE: id (int64, 0..99), name, email (utf8), amount (float64, id * 1.5). */
#include <stdint.h>

#include "check.h"

/* Rows in a stream, which is then released. */
static int64_t count_rows(struct ArrowArrayStream *stream) {
  int64_t rows = 0;
  for (;;) {
    struct ArrowArray batch;
    CHECK(stream->get_next(stream, &batch) == 0);
    if (batch.release == NULL) break;
    rows += batch.length;
    batch.release(&batch);
  }
  stream->release(stream);
  return rows;
}

static void people(const char *file, struct ArrowArrayStream *stream) {
  OK(strata_scan(file, NULL, 0, NULL, stream));
}

int main(int argc, char **argv) {
  CHECK(argc == 3);
  const char *file = argv[1];
  strata_lake *lake = NULL;
  OK(strata_open_dir(argv[2], &lake));

  strata_table *table = NULL;
  FAILS(STRATA_INVALID_ARGUMENT, strata_table_open(lake, "platinum/people", &table));
  CHECK(table == NULL);
  OK(strata_table_open(lake, "silver/people", &table));

  /* Scanning a table that does not exist yet. */
  struct ArrowArrayStream stream;
  FAILS(STRATA_NOT_FOUND, strata_table_scan(table, -1, -1, NULL, 0, NULL, &stream));
  CHECK(stream.release == NULL);

  /* Bad options are refused before anything is written; the stream is consumed. */
  people(file, &stream);
  char *commit = (char *)"garbage";
  FAILS(STRATA_INVALID_ARGUMENT, strata_table_append(table, &stream, "{\"nope\": 1}", &commit));
  CHECK(stream.release == NULL && commit == NULL);

  people(file, &stream);
  OK(strata_table_append(table, &stream, "{\"description\": \"people from C\"}", &commit));
  CHECK(stream.release == NULL);
  CHECK(strstr(commit, "\"version\":0") != NULL);
  CHECK(strstr(commit, "\"rows\":100") != NULL);
  strata_string_free(commit);
  people(file, &stream);
  OK(strata_table_append(table, &stream, NULL, &commit));
  CHECK(strstr(commit, "\"version\":1") != NULL);
  strata_string_free(commit);

  OK(strata_table_scan(table, -1, -1, NULL, 0, NULL, &stream));
  CHECK(count_rows(&stream) == 200);
  OK(strata_table_scan(table, 0, -1, NULL, 0, NULL, &stream));
  CHECK(count_rows(&stream) == 100);
  const char *columns[] = {"id", "name"};
  OK(strata_table_scan(table, -1, -1, columns, 2, "id < 10", &stream));
  struct ArrowSchema schema;
  CHECK(stream.get_schema(&stream, &schema) == 0);
  CHECK(schema.n_children == 2 && strcmp(schema.children[0]->name, "id") == 0);
  schema.release(&schema);
  CHECK(count_rows(&stream) == 20);
  /* As of now: the latest; before the first commit: not found. */
  OK(strata_table_scan(table, -1, INT64_MAX / 1000000, NULL, 0, NULL, &stream));
  CHECK(count_rows(&stream) == 200);
  FAILS(STRATA_NOT_FOUND, strata_table_scan(table, -1, 0, NULL, 0, NULL, &stream));
  FAILS(STRATA_NOT_FOUND, strata_table_scan(table, 7, -1, NULL, 0, NULL, &stream));
  FAILS(STRATA_INVALID_ARGUMENT, strata_table_scan(table, -1, INT64_MAX, NULL, 0, NULL, &stream));
  CHECK(stream.release == NULL);
  FAILS(STRATA_NOT_FOUND, strata_table_scan(table, -1, -1, columns, 2, "nope = 1", &stream));

  strata_bytes *ipc = NULL;
  const uint8_t *data = NULL;
  size_t len = 0;
  OK(strata_table_scan_ipc(table, 1, -1, columns, 2, NULL, &ipc, &data, &len));
  CHECK(ipc != NULL && data != NULL && len > 0);
  strata_bytes_free(ipc);

  char *history = NULL;
  OK(strata_table_history(table, &history));
  CHECK(strstr(history, "\"version\":1") != NULL && strstr(history, "\"version\":0") != NULL);
  CHECK(strstr(history, "CREATE TABLE") != NULL);
  strata_string_free(history);

  /* Another schema: named columns, nothing committed. */
  const char *ids[] = {"id"};
  OK(strata_scan(file, ids, 1, NULL, &stream));
  FAILS(STRATA_INVALID_ARGUMENT, strata_table_append(table, &stream, NULL, NULL));
  CHECK(stream.release == NULL);
  CHECK(strstr(strata_last_error_message(), "name") != NULL);

  /* Row-level changes: delete, update, merge (each reports as JSON). */
  char *report = NULL;
  OK(strata_table_delete(table, "id < 10", &report));
  CHECK(strstr(report, "\"rows_deleted\":20") != NULL);
  strata_string_free(report);
  OK(strata_table_delete(table, "id < 10", &report));
  CHECK(strstr(report, "\"version\":null") != NULL);
  strata_string_free(report);
  FAILS(STRATA_INVALID_ARGUMENT, strata_table_delete(table, "nope = 1", &report));
  CHECK(report == NULL);
  OK(strata_table_update(table, "id = 50", "id = 50", &report));
  CHECK(strstr(report, "\"rows_updated\":2") != NULL);
  strata_string_free(report);
  FAILS(STRATA_INVALID_ARGUMENT, strata_table_update(table, NULL, "id = 'x'", &report));
  FAILS(STRATA_INVALID_ARGUMENT, strata_table_update(table, NULL, NULL, &report));
  people(file, &stream);
  OK(strata_table_merge(table, &stream, "{\"on\":[\"id\"]}", &report));
  CHECK(stream.release == NULL);
  CHECK(strstr(report, "\"rows_inserted\":10") != NULL);
  strata_string_free(report);
  people(file, &stream);
  FAILS(STRATA_INVALID_ARGUMENT, strata_table_merge(table, &stream, "{}", &report));
  CHECK(stream.release == NULL);
  OK(strata_table_scan(table, -1, -1, NULL, 0, NULL, &stream));
  CHECK(count_rows(&stream) == 190);
  OK(strata_table_optimize(table, NULL, &report));
  CHECK(strstr(report, "\"files_before\"") != NULL);
  strata_string_free(report);
  FAILS(STRATA_INVALID_ARGUMENT, strata_table_optimize(table, "{\"zorder_by\":7}", &report));
  CHECK(report == NULL);
  OK(strata_table_scan(table, -1, -1, NULL, 0, NULL, &stream));
  CHECK(count_rows(&stream) == 190);

  /* Expectations: amount < 50 is dropped into silver/people__quarantine, the rest commits;
   * a failing "fail" rule commits nothing; bad rules and NULLs are errors, stream consumed. */
  const char *rules = "[[rules]]\nname = \"small\"\ncheck = \"range\"\ncolumn = \"amount\"\n"
                      "min = 50\nexpect = \"drop\"\n";
  char *expect_json = NULL;
  people(file, &stream);
  OK(strata_lake_append_expecting(lake, "silver/people", &stream, rules, &expect_json));
  CHECK(stream.release == NULL);
  CHECK(strstr(expect_json, "\"rows\":100") != NULL);
  CHECK(strstr(expect_json, "\"kept\":66") != NULL); /* amount = id * 1.5: ids 0..33 fail */
  CHECK(strstr(expect_json, "\"quarantine\":[\"silver/people__quarantine\",0]") != NULL);
  CHECK(strstr(expect_json, "\"rule\":\"small\"") != NULL);
  strata_string_free(expect_json);
  const char *failing = "[[rules]]\nname = \"never\"\ncheck = \"range\"\ncolumn = \"amount\"\n"
                        "min = 1000000\nexpect = \"fail\"\n";
  people(file, &stream);
  expect_json = (char *)"stale";
  FAILS(STRATA_INVALID_ARGUMENT,
        strata_lake_append_expecting(lake, "silver/people", &stream, failing, &expect_json));
  CHECK(stream.release == NULL && expect_json == NULL);
  CHECK(strstr(strata_last_error_message(), "never") != NULL);
  people(file, &stream);
  FAILS(STRATA_CONFIG,
        strata_lake_append_expecting(lake, "silver/people", &stream, "[[rules]]\nexpect = 3\n", NULL));
  CHECK(stream.release == NULL);
  people(file, &stream);
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_append_expecting(NULL, "silver/people", &stream, rules, NULL));
  CHECK(stream.release == NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_append_expecting_ipc(lake, "silver/people", NULL, 5, rules, NULL));
  OK(strata_table_scan(table, -1, -1, NULL, 0, NULL, &stream));
  int64_t kept = count_rows(&stream);
  CHECK(kept == 190 + 66);

  /* Merges take expectations too: the 34 failing source rows go to the quarantine (its
   * version 1), the 66 others match existing ids and are ignored; bad options are errors. */
  people(file, &stream);
  OK(strata_lake_merge_expecting(lake, "silver/people", &stream,
                                 "{\"on\":[\"id\"],\"when_matched\":\"ignore\"}", rules,
                                 &expect_json));
  CHECK(stream.release == NULL);
  CHECK(strstr(expect_json, "\"kept\":66") != NULL);
  CHECK(strstr(expect_json, "\"quarantined\":34") != NULL);
  CHECK(strstr(expect_json, "\"quarantine\":[\"silver/people__quarantine\",1]") != NULL);
  strata_string_free(expect_json);
  people(file, &stream);
  FAILS(STRATA_INVALID_ARGUMENT,
        strata_lake_merge_expecting(lake, "silver/people", &stream, "{\"on\":7}", rules, NULL));
  CHECK(stream.release == NULL);
  people(file, &stream);
  FAILS(STRATA_INVALID_ARGUMENT,
        strata_lake_merge_expecting(lake, "silver/people", &stream, "{\"on\":[\"id\"]}", failing,
                                    NULL));
  FAILS(STRATA_INVALID_ARGUMENT,
        strata_lake_merge_expecting_ipc(lake, "silver/people", NULL, 5, "{\"on\":[\"id\"]}", rules,
                                        NULL));
  OK(strata_table_scan(table, -1, -1, NULL, 0, NULL, &stream));
  CHECK(count_rows(&stream) == kept);

  /* The lake tuning itself: advice, its application (a dry run), the cost report, a sync. */
  char *json = NULL;
  OK(strata_lake_advise(lake, NULL, &json));
  CHECK(json[0] == '[');
  strata_string_free(json);
  OK(strata_lake_apply_advice(lake, "silver/people", NULL, true, &json));
  CHECK(json[0] == '[');
  strata_string_free(json);
  OK(strata_lake_cost(lake, &json));
  CHECK(strstr(json, "\"tiers\"") != NULL);
  strata_string_free(json);
  const uint8_t payload[] = "sync me";
  OK(strata_put(lake, "logs/a.txt", payload, sizeof payload, NULL));
  OK(strata_lake_sync(lake, "hot", "cold", "{\"prefix\":\"logs/\",\"dry_run\":true}", &json));
  CHECK(strstr(json, "\"copied\":1") != NULL && strstr(json, "\"dry_run\":true") != NULL);
  strata_string_free(json);
  OK(strata_lake_sync(lake, "hot", "cold", "{\"prefix\":\"logs/\"}", &json));
  CHECK(strstr(json, "\"copied\":1") != NULL);
  strata_string_free(json);
  OK(strata_lake_sync(lake, "hot", "cold", "{\"prefix\":\"logs/\"}", &json));
  CHECK(strstr(json, "\"copied\":0") != NULL && strstr(json, "\"skipped\":1") != NULL);
  strata_string_free(json);
  json = (char *)"stale";
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_sync(lake, "hot", "cold", "{\"concurrency\":0}", &json));
  CHECK(json == NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_sync(lake, "hot", "cold", "{\"colour\":1}", NULL));
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_sync(lake, "hot", NULL, NULL, NULL));
  CHECK(strata_lake_sync(lake, "hot", "nowhere", NULL, NULL) != STRATA_OK);
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_advise(NULL, NULL, &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_cost(lake, NULL));

  /* NULL handles. */
  people(file, &stream);
  FAILS(STRATA_INVALID_ARGUMENT, strata_table_append(NULL, &stream, NULL, NULL));
  CHECK(stream.release == NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_table_history(NULL, &history));

  /* The table handle outlives the lake handle. */
  strata_lake_free(lake);
  OK(strata_table_scan(table, -1, -1, NULL, 0, NULL, &stream));
  CHECK(count_rows(&stream) == kept);
  strata_table_free(table);
  strata_table_free(NULL);
  printf("table: ok\n");
  return 0;
}
