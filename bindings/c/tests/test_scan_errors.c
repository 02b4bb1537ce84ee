/* A bad scan setup is reported by strata_scan itself, before any batch, with the status
 * strata_scan_ipc (and the Go and C++ bindings) give for it, and a message naming the column.
 * Usage: test_scan_errors PARQUET_FILE WORK_DIR (the file of test_streams: id, name, email,
 * amount; 100 rows). */
#include "check.h"

/* strata_scan and strata_scan_ipc both fail with `want`, naming `needle`; the out stream is
 * left released and the out bytes NULL. */
static void both_fail(const char *file, const char *const *columns, size_t n_columns,
                      const char *filter, strata_status want, const char *needle) {
  struct ArrowArrayStream stream;
  memset(&stream, 0xab, sizeof stream);
  FAILS(want, strata_scan(file, columns, n_columns, filter, &stream));
  CHECK(stream.release == NULL);
  if (strstr(strata_last_error_message(), needle) == NULL) {
    fprintf(stderr, "strata_scan: '%s' does not name '%s'\n", strata_last_error_message(), needle);
    exit(1);
  }
  strata_bytes *ipc = (strata_bytes *)"garbage";
  const uint8_t *data = NULL;
  size_t len = 0;
  FAILS(want, strata_scan_ipc(file, columns, n_columns, filter, &ipc, &data, &len));
  CHECK(ipc == NULL);
  if (strstr(strata_last_error_message(), needle) == NULL) {
    fprintf(stderr, "strata_scan_ipc: '%s' does not name '%s'\n", strata_last_error_message(),
            needle);
    exit(1);
  }
}

int main(int argc, char **argv) {
  CHECK(argc == 3);
  const char *file = argv[1];
  const char *id_and_nope[] = {"id", "nope"};

  both_fail(file, NULL, 0, "nope = 1", STRATA_NOT_FOUND, "nope");
  both_fail(file, NULL, 0, "id > 3 AND (nope IS NULL OR id < 9)", STRATA_NOT_FOUND, "nope");
  both_fail(file, NULL, 0, "id = 'abc'", STRATA_INVALID_ARGUMENT, "column id");
  both_fail(file, NULL, 0, "amount IN (1.5, 'abc')", STRATA_INVALID_ARGUMENT, "column amount");
  both_fail(file, NULL, 0, "starts_with(id, 'x')", STRATA_INVALID_ARGUMENT, "id");
  both_fail(file, NULL, 0, "id >>> 3", STRATA_INVALID_ARGUMENT, "'>'");
  both_fail(file, id_and_nope, 2, NULL, STRATA_NOT_FOUND, "nope");
  both_fail(file, id_and_nope, 2, "id < 3", STRATA_NOT_FOUND, "nope");

  /* A good scan after the failures: every batch arrives, get_next never fails. */
  struct ArrowArrayStream stream;
  OK(strata_scan(file, id_and_nope, 1, "id < 3", &stream));
  int64_t rows = 0;
  for (;;) {
    struct ArrowArray batch;
    CHECK(stream.get_next(&stream, &batch) == 0);
    if (batch.release == NULL) break;
    rows += batch.length;
    batch.release(&batch);
  }
  stream.release(&stream);
  CHECK(rows == 3);

  puts("test_scan_errors: ok");
  return 0;
}
