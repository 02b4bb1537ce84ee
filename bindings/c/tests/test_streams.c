/* Arrow C Streams through the C ABI: scan, write Parquet, profile, check, mask, IPC bytes.
 * Usage: test_streams PARQUET_FILE WORK_DIR
 * The file has columns id (int64), name (utf8), email (utf8), amount (float64) and 100 rows
 * with id 0..99 (tests/bindings_c.rs writes it). */
#include "check.h"

/* Pulls every batch, releasing each; returns the row count. */
static int64_t drain(struct ArrowArrayStream *stream, int64_t *columns) {
  struct ArrowSchema schema;
  CHECK(stream->get_schema(stream, &schema) == 0);
  *columns = schema.n_children;
  schema.release(&schema);
  int64_t rows = 0;
  for (;;) {
    struct ArrowArray batch;
    int rc = stream->get_next(stream, &batch);
    if (rc != 0) {
      fprintf(stderr, "get_next: %s\n", stream->get_last_error(stream));
      exit(1);
    }
    if (batch.release == NULL) break;
    rows += batch.length;
    batch.release(&batch);
  }
  stream->release(stream);
  return rows;
}

static void scan(const char *path, struct ArrowArrayStream *out) {
  OK(strata_scan(path, NULL, 0, NULL, out));
}

int main(int argc, char **argv) {
  CHECK(argc == 3);
  const char *file = argv[1];
  char path[4096];
  struct ArrowArrayStream stream;
  int64_t cols = 0;

  scan(file, &stream);
  CHECK(drain(&stream, &cols) == 100);
  CHECK(cols == 4);

  const char *columns[] = {"id", "amount"};
  OK(strata_scan(file, columns, 2, "id >= 90", &stream));
  CHECK(drain(&stream, &cols) == 10);
  CHECK(cols == 2);
  FAILS(STRATA_INVALID_ARGUMENT, strata_scan(file, NULL, 0, "id >>> 3", &stream));
  CHECK(stream.release == NULL); /* an out stream is marked released on error */
  FAILS(STRATA_NOT_FOUND, strata_scan("/nonexistent/x.parquet", NULL, 0, NULL, &stream));

  /* Batches are decoded as the stream is read: releasing it early stops the scan (no leak,
   * no hang under the sanitizers and valgrind), and so does never pulling a batch. */
  scan(file, &stream);
  struct ArrowArray first;
  CHECK(stream.get_next(&stream, &first) == 0 && first.release != NULL && first.length > 0);
  first.release(&first);
  stream.release(&stream);
  scan(file, &stream);
  stream.release(&stream);

  /* Round trip: scan -> Parquet file -> scan. The input stream is consumed. */
  snprintf(path, sizeof path, "%s/copy.parquet", argv[2]);
  scan(file, &stream);
  OK(strata_write_parquet(path, &stream));
  CHECK(stream.release == NULL);
  scan(path, &stream);
  CHECK(drain(&stream, &cols) == 100);

  /* Into a lake as a Parquet object. */
  snprintf(path, sizeof path, "%s/lake", argv[2]);
  strata_lake *lake = NULL;
  OK(strata_open_dir(path, &lake));
  strata_object_info info;
  scan(file, &stream);
  OK(strata_put_parquet(lake, "warehouse/people.parquet", &stream, &info));
  CHECK(info.size > 0);
  strata_lake_free(lake);

  /* Profile and check, from a stream and from the file. */
  char *json = NULL;
  scan(file, &stream);
  OK(strata_profile_stream(&stream, &json));
  CHECK(strstr(json, "\"rows\":100") != NULL && strstr(json, "\"email\"") != NULL);
  strata_string_free(json);
  OK(strata_profile_file(file, &json));
  CHECK(strstr(json, "\"rows\":100") != NULL);
  strata_string_free(json);

  const char *rules =
      "[[rules]]\ncheck = \"not_null\"\ncolumn = \"id\"\n"
      "[[rules]]\ncheck = \"range\"\ncolumn = \"id\"\nmin = 0\nmax = 49\n";
  scan(file, &stream);
  OK(strata_check_stream(&stream, rules, &json));
  if (strstr(json, "\"passed\":false") == NULL) { fprintf(stderr, "%s\n", json); exit(1); }
  strata_string_free(json);
  OK(strata_check_file(file, rules, &json));
  CHECK(strstr(json, "\"rows\":100") != NULL);
  strata_string_free(json);
  scan(file, &stream);
  FAILS(STRATA_CONFIG, strata_check_stream(&stream, "[[rules]]\ncheck = \"bogus\"\n", &json));
  CHECK(stream.release == NULL && json == NULL);

  /* Masking: the analyst sees hashed emails and no names. */
  const char *policy =
      "[columns.email]\nmask = { op = \"hash\", key = \"k1\" }\n"
      "[columns.name]\ndeny = [\"analyst\"]\nmask = { op = \"redact\" }\n";
  const char *keys = "{\"k1\": \"000102030405060708090a0b0c0d0e0f\"}";
  struct ArrowArrayStream masked;
  scan(file, &stream);
  OK(strata_mask_stream(&stream, policy, "analyst", keys, &masked));
  CHECK(stream.release == NULL);
  CHECK(drain(&masked, &cols) == 100);
  CHECK(cols == 3);
  scan(file, &stream);
  FAILS(STRATA_NOT_FOUND, strata_mask_stream(&stream, policy, "analyst", NULL, &masked));
  CHECK(stream.release == NULL && masked.release == NULL);

  /* The same through handles: a policy parsed once, a report read without JSON. */
  strata_policy *parsed = NULL;
  OK(strata_policy_open(policy, &parsed));
  for (int i = 0; i < 2; i++) {
    scan(file, &stream);
    OK(strata_mask_stream_policy(&stream, parsed, "analyst", keys, &masked));
    CHECK(drain(&masked, &cols) == 100);
    CHECK(cols == 3);
  }
  strata_policy_free(parsed);
  strata_policy_free(NULL);
  FAILS(STRATA_CONFIG, strata_policy_open("[columns.x]\nmask = 7\n", &parsed));
  CHECK(parsed == NULL);
  strata_report *report = NULL;
  OK(strata_check_file_report(file, rules, &report));
  bool passed = true;
  double score = -1.0;
  OK(strata_report_passed(report, &passed));
  OK(strata_report_score(report, &score));
  CHECK(!passed && score > 0.0 && score < 1.0);
  OK(strata_report_json(report, &json));
  CHECK(strstr(json, "\"passed\":false") != NULL);
  strata_string_free(json);
  strata_report_free(report);
  strata_report_free(NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_report_passed(NULL, &passed));

  /* Arrow IPC stream bytes start with the continuation marker. */
  strata_bytes *ipc = NULL;
  const uint8_t *data = NULL;
  size_t len = 0;
  OK(strata_scan_ipc(file, columns, 1, NULL, &ipc, &data, &len));
  CHECK(len > 8 && data[0] == 0xff && data[1] == 0xff && data[2] == 0xff && data[3] == 0xff);
  strata_bytes_free(ipc);

  puts("test_streams: ok");
  return 0;
}
