/* Lake objects scanned and written from C: strata_lake_scan of a Parquet object demoted to the
 * cold tier (and to an S3 tier when STRATA_TEST_S3_ENDPOINT is set), projected and filtered,
 * gives the rows strata_scan gives for the original file; a dataset written with
 * strata_lake_write (partitioned) scans back by its prefix; a stream outlives
 * strata_lake_free; a Parquet object with modular encryption scans with the lake's keys; bad
 * arguments and bad options are errors with the stream consumed.
 * Usage: test_lake_scan PEOPLE_FILE SALES_FILE ENCRYPTED_LAKE_DIR WORK_DIR
 * PEOPLE_FILE: id (int64, 0..99), name, email (utf8), amount (float64, id * 1.5).
 * SALES_FILE: region (utf8: east, west, north in turn), id (int64, 0..299), amount (id / 4).
 * ENCRYPTED_LAKE_DIR: a lake (default layout) holding secure/people.parquet, the people rows
 * with Parquet modular encryption under a key of its key ring (tests/native/mod.rs). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* Rows rendered as text, one string a row, for comparing scans whatever their batches. */
struct rows {
  char **row;
  size_t n, cap;
};

static void rows_free(struct rows *r) {
  for (size_t i = 0; i < r->n; i++) free(r->row[i]);
  free(r->row);
  r->row = NULL;
  r->n = r->cap = 0;
}

static void add_row(struct rows *r, const char *text) {
  if (r->n == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 64;
    r->row = realloc(r->row, r->cap * sizeof *r->row);
    CHECK(r->row != NULL);
  }
  r->row[r->n] = strdup(text);
  CHECK(r->row[r->n] != NULL);
  r->n++;
}

static int is_null(const struct ArrowArray *a, int64_t i) {
  if (a->null_count == 0 || a->buffers[0] == NULL) return 0;
  const uint8_t *bits = a->buffers[0];
  return !(bits[i / 8] & (1u << (i % 8)));
}

/* Appends value `i` (already offset) of column `a` with Arrow format `format` to `out`. */
static size_t render(const char *format, const struct ArrowArray *a, int64_t i, char *out,
                     size_t cap) {
  if (is_null(a, i)) return (size_t)snprintf(out, cap, "null|");
  if (strcmp(format, "l") == 0) {
    return (size_t)snprintf(out, cap, "%lld|", (long long)((const int64_t *)a->buffers[1])[i]);
  }
  if (strcmp(format, "g") == 0) {
    return (size_t)snprintf(out, cap, "%.17g|", ((const double *)a->buffers[1])[i]);
  }
  if (strcmp(format, "u") == 0) {
    const int32_t *offsets = a->buffers[1];
    const char *data = a->buffers[2];
    return (size_t)snprintf(out, cap, "%.*s|", (int)(offsets[i + 1] - offsets[i]),
                            data + offsets[i]);
  }
  fprintf(stderr, "unexpected Arrow format %s\n", format);
  exit(1);
}

/* Reads `stream` to the end (and releases it), adding its rows to `out`; returns the number
 * of columns. */
static int64_t collect(struct ArrowArrayStream *stream, struct rows *out) {
  struct ArrowSchema schema;
  CHECK(stream->get_schema(stream, &schema) == 0);
  int64_t columns = schema.n_children;
  for (;;) {
    struct ArrowArray batch;
    int rc = stream->get_next(stream, &batch);
    if (rc != 0) {
      fprintf(stderr, "get_next: %d: %s\n", rc, stream->get_last_error(stream));
      exit(1);
    }
    if (batch.release == NULL) break;
    CHECK(batch.n_children == columns);
    for (int64_t r = 0; r < batch.length; r++) {
      char line[1024];
      size_t at = 0;
      for (int64_t c = 0; c < columns; c++) {
        const struct ArrowArray *col = batch.children[c];
        at += render(schema.children[c]->format, col, batch.offset + col->offset + r, line + at,
                     sizeof line - at);
        CHECK(at < sizeof line);
      }
      add_row(out, line);
    }
    batch.release(&batch);
  }
  schema.release(&schema);
  stream->release(stream);
  return columns;
}

static int by_text(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* strata_lake_scan(lake, key, ...) gives exactly the rows (in any order) strata_scan gives
 * for `file` with the same projection and filter, and `want` of them. */
static void same_rows(const strata_lake *lake, const char *key, const char *file,
                      const char *const *columns, size_t n_columns, const char *filter,
                      size_t want) {
  struct rows got = {0}, expected = {0};
  struct ArrowArrayStream stream;
  OK(strata_lake_scan(lake, key, columns, n_columns, filter, &stream));
  int64_t got_columns = collect(&stream, &got);
  OK(strata_scan(file, columns, n_columns, filter, &stream));
  int64_t expected_columns = collect(&stream, &expected);
  CHECK(got_columns == expected_columns);
  CHECK(n_columns == 0 || got_columns == (int64_t)n_columns);
  if (got.n != want || expected.n != want) {
    fprintf(stderr, "%s: %zu rows, %s: %zu rows, want %zu\n", key, got.n, file, expected.n, want);
    exit(1);
  }
  qsort(got.row, got.n, sizeof *got.row, by_text);
  qsort(expected.row, expected.n, sizeof *expected.row, by_text);
  for (size_t i = 0; i < got.n; i++) {
    if (strcmp(got.row[i], expected.row[i]) != 0) {
      fprintf(stderr, "%s row %zu: %s != %s\n", key, i, got.row[i], expected.row[i]);
      exit(1);
    }
  }
  rows_free(&got);
  rows_free(&expected);
}

static int64_t count_rows(struct ArrowArrayStream *stream) {
  struct rows all = {0};
  collect(stream, &all);
  int64_t n = (int64_t)all.n;
  rows_free(&all);
  return n;
}

static void scan_file(const char *path, struct ArrowArrayStream *out) {
  OK(strata_scan(path, NULL, 0, NULL, out));
}

/* The object's tier, per strata_stat_json, is `tier`. */
static void expect_tier(const strata_lake *lake, const char *key, const char *tier) {
  char *json = NULL;
  char want[64];
  OK(strata_stat_json(lake, key, &json));
  snprintf(want, sizeof want, "\"tier\":\"%s\"", tier);
  if (strstr(json, want) == NULL) {
    fprintf(stderr, "%s is not on tier %s: %s\n", key, tier, json);
    exit(1);
  }
  strata_string_free(json);
}

static void run_tiers(const strata_lake *lake) {
  char *json = NULL;
  OK(strata_tier_run(lake, false, 0, &json));
  CHECK(strstr(json, "\"moved\":0,") == NULL);
  strata_string_free(json);
}

static const char *const PEOPLE_COLUMNS[] = {"id", "name", "amount"};
/* id 37..79: amount = id * 1.5 < 120. */
static const char *const PEOPLE_FILTER = "id >= 37 AND amount < 120";
static const size_t PEOPLE_ROWS = 43;

/* A people object put into `lake`, demoted to `tier`, scans like the people file. */
static void demoted_object_scans(strata_lake *lake, const char *people, const char *tier) {
  const char *key = "warehouse/people.parquet";
  struct ArrowArrayStream stream;
  strata_object_info info;
  scan_file(people, &stream);
  OK(strata_put_parquet(lake, key, &stream, &info));
  CHECK(stream.release == NULL && info.size > 0);
  expect_tier(lake, key, "hot");
  run_tiers(lake);
  expect_tier(lake, key, tier);
  same_rows(lake, key, people, PEOPLE_COLUMNS, 3, PEOPLE_FILTER, PEOPLE_ROWS);
  same_rows(lake, key, people, NULL, 0, NULL, 100);
}

/* A config of hot and cold tiers under `dir` (cold: `cold_tier`, TOML lines) demoting every
 * object at the next tier run. */
static void demoting_config(char *out, size_t cap, const char *dir, const char *cold_tier) {
  int n = snprintf(out, cap,
                   "dir = \"%s\"\n"
                   "[[tiers]]\nname = \"hot\"\nkind = \"local\"\n"
                   "[[tiers]]\nname = \"cold\"\n%s"
                   "[[lifecycle]]\nprefix = \"\"\ndemote_after_age = \"0s\"\n",
                   dir, cold_tier);
  CHECK(n > 0 && (size_t)n < cap);
}

/* strata_lake_write with `options` fails with `want`, naming `needle`: the stream consumed,
 * no summary, nothing written under `prefix`. */
static void write_fails(strata_lake *lake, const char *people, const char *prefix,
                        const char *options, strata_status want, const char *needle) {
  struct ArrowArrayStream stream;
  char *summary = (char *)"garbage";
  scan_file(people, &stream);
  FAILS(want, strata_lake_write(lake, prefix, &stream, options, &summary));
  CHECK(stream.release == NULL && summary == NULL);
  if (strstr(strata_last_error_message(), needle) == NULL) {
    fprintf(stderr, "options %s: '%s' does not name '%s'\n", options, strata_last_error_message(),
            needle);
    exit(1);
  }
  char *json = NULL;
  if (lake != NULL && prefix != NULL && strcmp(prefix, "out") == 0) {
    OK(strata_list_json(lake, "out/", &json));
    CHECK(strcmp(json, "[]") == 0);
    strata_string_free(json);
  }
}

/* strata_lake_scan fails with `want` and leaves the out stream released. */
static void scan_fails(const strata_lake *lake, const char *key, const char *const *columns,
                       size_t n_columns, const char *filter, strata_status want) {
  struct ArrowArrayStream stream;
  memset(&stream, 0xab, sizeof stream);
  FAILS(want, strata_lake_scan(lake, key, columns, n_columns, filter, &stream));
  CHECK(stream.release == NULL);
  strata_bytes *ipc = (strata_bytes *)"garbage";
  FAILS(want, strata_lake_scan_ipc(lake, key, columns, n_columns, filter, &ipc, NULL, NULL));
  CHECK(ipc == NULL);
}

int main(int argc, char **argv) {
  CHECK(argc == 5);
  const char *people = argv[1], *sales = argv[2], *encrypted = argv[3], *work = argv[4];
  char dir[4096], config[8192];
  struct ArrowArrayStream stream;

  /* 1. A Parquet object on the cold tier. */
  snprintf(dir, sizeof dir, "%s/cold-lake", work);
  demoting_config(config, sizeof config, dir, "kind = \"local\"\n");
  strata_lake *lake = NULL;
  OK(strata_open(config, &lake));
  demoted_object_scans(lake, people, "cold");

  /* 2. A partitioned dataset written from a stream, then demoted, scanned by its prefix. */
  char *summary = NULL;
  scan_file(sales, &stream);
  OK(strata_lake_write(lake, "sales", &stream,
                       "{\"partition_by\": \"region\", \"codec\": \"zstd:3\", "
                       "\"row_group_rows\": 40, \"target_file_size\": \"64MiB\"}",
                       &summary));
  CHECK(stream.release == NULL);
  CHECK(strstr(summary, "\"partitions\":3") != NULL && strstr(summary, "\"rows\":300") != NULL);
  CHECK(strstr(summary, "\"codec_policy\":\"zstd:3\"") != NULL);
  CHECK(strstr(summary, "\"path\":\"sales/region=west/") != NULL);
  strata_string_free(summary);
  run_tiers(lake);
  const char *sales_columns[] = {"id", "region", "amount"};
  same_rows(lake, "sales", sales, sales_columns, 3, "region = 'west' AND id < 200", 67);
  same_rows(lake, "sales/", sales, sales_columns, 3, NULL, 300);
  /* With no options: the defaults (one file, no partitions). */
  scan_file(sales, &stream);
  OK(strata_lake_write(lake, "sales-copy", &stream, NULL, NULL));
  same_rows(lake, "sales-copy", sales, NULL, 0, "amount > 70", 19);

  /* 3. The stream holds its own share of the lake: free the lake, then read it all. */
  OK(strata_lake_scan(lake, "warehouse/people.parquet", PEOPLE_COLUMNS, 3, NULL, &stream));
  strata_lake_free(lake);
  CHECK(count_rows(&stream) == 100);
  /* Released with the stream: the data root opens again. */
  OK(strata_open(config, &lake));
  strata_lake_free(lake);

  /* 4. Parquet modular encryption, read with the lake's own keys. */
  strata_lake *secure = NULL;
  OK(strata_open_dir(encrypted, &secure));
  same_rows(secure, "secure/people.parquet", people, PEOPLE_COLUMNS, 3, PEOPLE_FILTER,
            PEOPLE_ROWS);
  strata_bytes *raw = NULL;
  const uint8_t *data = NULL;
  size_t len = 0;
  OK(strata_get_bytes(secure, "secure/people.parquet", &raw, &data, &len));
  for (size_t i = 0; i + 17 <= len; i++) CHECK(memcmp(data + i, "user7@example.com", 17) != 0);
  strata_bytes_free(raw);
  OK(strata_lake_scan_ipc(secure, "secure/people.parquet", PEOPLE_COLUMNS, 1, "id < 5", &raw,
                          &data, &len));
  CHECK(len > 8 && data[0] == 0xff && data[1] == 0xff && data[2] == 0xff && data[3] == 0xff);
  strata_bytes_free(raw);

  /* 5. Bad arguments: errors from the call itself, streams released or consumed. */
  const char *nope[] = {"id", "nope"};
  scan_fails(NULL, "secure/people.parquet", NULL, 0, NULL, STRATA_INVALID_ARGUMENT);
  scan_fails(secure, NULL, NULL, 0, NULL, STRATA_INVALID_ARGUMENT);
  scan_fails(secure, "../people.parquet", NULL, 0, NULL, STRATA_INVALID_ARGUMENT);
  scan_fails(secure, "secure/nothing.parquet", NULL, 0, NULL, STRATA_NOT_FOUND);
  scan_fails(secure, "secure/people.parquet", nope, 2, NULL, STRATA_NOT_FOUND);
  scan_fails(secure, "secure/people.parquet", nope, 1, "nope > 1", STRATA_NOT_FOUND);
  scan_fails(secure, "secure/people.parquet", NULL, 0, "id >>> 3", STRATA_INVALID_ARGUMENT);
  scan_fails(secure, "secure/people.parquet", NULL, 0, "id = 'abc'", STRATA_INVALID_ARGUMENT);
  scan_fails(secure, "secure/people.parquet", NULL, 2, NULL, STRATA_INVALID_ARGUMENT);
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_scan(secure, "secure", NULL, 0, NULL, NULL));

  write_fails(secure, people, "out", "{\"codek\": \"zstd\"}", STRATA_INVALID_ARGUMENT, "codek");
  write_fails(secure, people, "out", "{\"codec\": \"zip\"}", STRATA_INVALID_ARGUMENT, "codec");
  write_fails(secure, people, "out", "{\"codec\": \"zstd:99\"}", STRATA_INVALID_ARGUMENT, "codec");
  write_fails(secure, people, "out", "{\"row_group_rows\": 0}", STRATA_INVALID_ARGUMENT,
              "row_group_rows");
  write_fails(secure, people, "out", "{\"target_file_size\": \"1B\"}", STRATA_INVALID_ARGUMENT,
              "target_file_size");
  write_fails(secure, people, "out", "{\"partition_by\": 7}", STRATA_INVALID_ARGUMENT,
              "partition_by");
  write_fails(secure, people, "out", "{\"partition_by\": \"nope\"}", STRATA_INVALID_ARGUMENT,
              "nope");
  write_fails(secure, people, "out", "{\"tier\": \"lukewarm\"}", STRATA_INVALID_ARGUMENT,
              "lukewarm");
  write_fails(secure, people, "out", "{\"codec\": \"zstd\",", STRATA_INVALID_ARGUMENT,
              "options_json");
  write_fails(secure, people, "out", "[\"zstd\"]", STRATA_INVALID_ARGUMENT, "options_json");
  write_fails(secure, people, "", NULL, STRATA_INVALID_ARGUMENT, "name");
  write_fails(secure, people, "../out", NULL, STRATA_INVALID_ARGUMENT, "out");
  write_fails(secure, people, NULL, NULL, STRATA_INVALID_ARGUMENT, "prefix");
  write_fails(NULL, people, "out", NULL, STRATA_INVALID_ARGUMENT, "lake");
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_write(secure, "out", NULL, NULL, NULL));
  summary = (char *)"garbage";
  FAILS(STRATA_INVALID_ARGUMENT,
        strata_lake_write_ipc(secure, "out", (const uint8_t *)"junk", 4, NULL, &summary));
  CHECK(summary == NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_write_ipc(secure, "out", NULL, 4, NULL, NULL));
  strata_lake_free(secure);

  /* 6. An S3 tier (CI runs a loopback S3 server). */
  const char *endpoint = getenv("STRATA_TEST_S3_ENDPOINT");
  if (endpoint == NULL || endpoint[0] == '\0') {
    puts("test_lake_scan: S3 part skipped (STRATA_TEST_S3_ENDPOINT is not set)");
  } else {
    const char *bucket = getenv("STRATA_TEST_S3_BUCKET");
    char s3[2048];
    snprintf(s3, sizeof s3,
             "kind = \"s3\"\nbucket = \"%s\"\nendpoint = \"%s\"\nregion = \"us-east-1\"\n"
             "access_key_id = \"testing\"\nsecret_access_key = \"testing\"\n"
             "allow_http = true\nprefix = \"c-lake-scan-%ld-%ld\"\n",
             bucket && bucket[0] ? bucket : "strata-test", endpoint, (long)getpid(),
             (long)time(NULL));
    snprintf(dir, sizeof dir, "%s/s3-lake", work);
    demoting_config(config, sizeof config, dir, s3);
    OK(strata_open(config, &lake));
    demoted_object_scans(lake, people, "cold");
    strata_lake_free(lake);
  }

  puts("test_lake_scan: ok");
  return 0;
}
