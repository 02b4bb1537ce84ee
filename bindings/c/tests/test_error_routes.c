/* The damaged Parquet files tests/error_routes.rs feeds to the library give the same status on
 * every C route: STRATA_CORRUPT from strata_scan (at once for a damaged footer; for a broken
 * data page the footer reads, and the stream's get_next fails), strata_scan_ipc,
 * strata_profile_file and strata_check_file, each with a message naming the file.
 * Usage: test_error_routes DIR, holding good.parquet, truncated_footer.parquet,
 * bad_magic.parquet and broken_page.parquet (tests/damaged/mod.rs writes them). */
#include "check.h"

static const char *RULES = "[[rules]]\ncheck = \"not_null\"\ncolumn = \"id\"\n";

/* The last error names `file`. */
static void names(const char *route, const char *message, const char *file) {
  if (message == NULL || strstr(message, file) == NULL) {
    fprintf(stderr, "%s: '%s' does not name '%s'\n", route, message ? message : "(none)", file);
    exit(1);
  }
}

/* Pulls every batch of `stream` and releases it; returns the get_next status that ended it
 * (0 at the end of the stream), naming `file` in the stream's error when it failed. */
static int drain(struct ArrowArrayStream *stream, const char *file) {
  int rc = 0;
  for (;;) {
    struct ArrowArray batch;
    rc = stream->get_next(stream, &batch);
    if (rc != 0) {
      names("get_next", stream->get_last_error(stream), file);
      break;
    }
    if (batch.release == NULL) break;
    batch.release(&batch);
  }
  stream->release(stream);
  return rc;
}

static void all_read(const char *file) {
  struct ArrowArrayStream stream;
  OK(strata_scan(file, NULL, 0, NULL, &stream));
  CHECK(drain(&stream, file) == 0);
  strata_bytes *ipc = NULL;
  OK(strata_scan_ipc(file, NULL, 0, NULL, &ipc, NULL, NULL));
  strata_bytes_free(ipc);
  char *json = NULL;
  OK(strata_profile_file(file, &json));
  strata_string_free(json);
  OK(strata_check_file(file, RULES, &json));
  strata_string_free(json);
}

static void all_corrupt(const char *file, int footer_damaged) {
  struct ArrowArrayStream stream;
  memset(&stream, 0xab, sizeof stream);
  if (footer_damaged) {
    FAILS(STRATA_CORRUPT, strata_scan(file, NULL, 0, NULL, &stream));
    CHECK(stream.release == NULL);
    names("strata_scan", strata_last_error_message(), file);
  } else {
    OK(strata_scan(file, NULL, 0, NULL, &stream));
    CHECK(drain(&stream, file) != 0);
  }

  strata_bytes *ipc = (strata_bytes *)"garbage";
  const uint8_t *data = NULL;
  size_t len = 0;
  FAILS(STRATA_CORRUPT, strata_scan_ipc(file, NULL, 0, NULL, &ipc, &data, &len));
  CHECK(ipc == NULL);
  names("strata_scan_ipc", strata_last_error_message(), file);

  char *json = (char *)"garbage";
  FAILS(STRATA_CORRUPT, strata_profile_file(file, &json));
  CHECK(json == NULL);
  names("strata_profile_file", strata_last_error_message(), file);

  json = (char *)"garbage";
  FAILS(STRATA_CORRUPT, strata_check_file(file, RULES, &json));
  CHECK(json == NULL);
  names("strata_check_file", strata_last_error_message(), file);
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  char path[4096];

  CHECK(snprintf(path, sizeof path, "%s/good.parquet", argv[1]) < (int)sizeof path);
  all_read(path);
  CHECK(snprintf(path, sizeof path, "%s/truncated_footer.parquet", argv[1]) < (int)sizeof path);
  all_corrupt(path, 1);
  CHECK(snprintf(path, sizeof path, "%s/bad_magic.parquet", argv[1]) < (int)sizeof path);
  all_corrupt(path, 1);
  CHECK(snprintf(path, sizeof path, "%s/broken_page.parquet", argv[1]) < (int)sizeof path);
  all_corrupt(path, 0);

  puts("test_error_routes: ok");
  return 0;
}
