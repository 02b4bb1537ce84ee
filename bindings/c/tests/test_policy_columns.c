/* A masking policy or a rules text naming a column the data does not have is refused through
 * the C ABI with STRATA_NOT_FOUND (the kind the Rust side gives) and a message naming it,
 * even for a stream without batches; `missing_columns = "warn"` in the policy masks anyway.
 * Usage: test_policy_columns PARQUET_FILE WORK_DIR
 * The file has columns id (int64), name (utf8), email (utf8), amount (float64) and 100 rows
 * with id 0..99 (tests/bindings_c.rs writes it). */
#include "check.h"

static void scan(const char *path, const char *filter, struct ArrowArrayStream *out) {
  OK(strata_scan(path, NULL, 0, filter, out));
}

/* The last error names `what`. */
static void names(const char *what) {
  const char *message = strata_last_error_message();
  if (strstr(message, what) == NULL) {
    fprintf(stderr, "message does not name %s: %s\n", what, message);
    exit(1);
  }
}

/* Pulls every batch; returns the row count and the number of columns. */
static int64_t drain(struct ArrowArrayStream *stream, int64_t *columns) {
  struct ArrowSchema schema;
  CHECK(stream->get_schema(stream, &schema) == 0);
  *columns = schema.n_children;
  schema.release(&schema);
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

int main(int argc, char **argv) {
  CHECK(argc == 3);
  const char *file = argv[1];
  struct ArrowArrayStream stream;
  struct ArrowArrayStream masked;
  int64_t cols = 0;

  /* `emial` for `email`: without the check the analyst would get every email in clear. */
  const char *typo = "[columns.emial]\nmask = { op = \"email\" }\n";
  scan(file, NULL, &stream);
  FAILS(STRATA_NOT_FOUND, strata_mask_stream(&stream, typo, "analyst", NULL, &masked));
  names("\"emial\"");
  names("role: analyst");
  CHECK(stream.release == NULL && masked.release == NULL);

  /* A column named only for another role is checked as well, and so is a stream whose
   * filter matches nothing (no batches, only a schema). */
  const char *other_role =
      "[columns.email]\nmask = { op = \"email\" }\n"
      "[columns.nmae]\nroles.support = { op = \"redact\" }\n";
  scan(file, "id > 1000", &stream);
  FAILS(STRATA_NOT_FOUND, strata_mask_stream(&stream, other_role, "analyst", NULL, &masked));
  names("\"nmae\"");

  /* Through a parsed policy handle: parsing knows no data, masking refuses it. */
  strata_policy *policy = NULL;
  OK(strata_policy_open(typo, &policy));
  scan(file, NULL, &stream);
  FAILS(STRATA_NOT_FOUND, strata_mask_stream_policy(&stream, policy, "analyst", NULL, &masked));
  names("\"emial\"");
  CHECK(stream.release == NULL && masked.release == NULL);
  strata_policy_free(policy);

  /* Opting in: the policy says missing columns are warnings. */
  const char *warn =
      "missing_columns = \"warn\"\n"
      "[columns.email]\nmask = { op = \"redact\" }\n"
      "[columns.emial]\nmask = { op = \"email\" }\n";
  scan(file, NULL, &stream);
  OK(strata_mask_stream(&stream, warn, "analyst", NULL, &masked));
  CHECK(drain(&masked, &cols) == 100);
  CHECK(cols == 4);

  /* Rules: from a stream (also one without batches), from the file, and as a report. */
  const char *rules =
      "[[rules]]\ncheck = \"not_null\"\ncolumn = \"id\"\n"
      "[[rules]]\ncheck = \"regex\"\ncolumn = \"emial\"\npattern = \"@\"\n";
  char *json = NULL;
  scan(file, NULL, &stream);
  FAILS(STRATA_NOT_FOUND, strata_check_stream(&stream, rules, &json));
  names("rule \"regex(emial)\" reads column \"emial\"");
  CHECK(stream.release == NULL && json == NULL);
  scan(file, "id > 1000", &stream);
  FAILS(STRATA_NOT_FOUND, strata_check_stream(&stream, rules, &json));
  names("\"emial\"");
  FAILS(STRATA_NOT_FOUND, strata_check_file(file, rules, &json));
  names("\"emial\"");
  CHECK(json == NULL);
  strata_report *report = NULL;
  FAILS(STRATA_NOT_FOUND, strata_check_file_report(file, rules, &report));
  names("\"emial\"");
  CHECK(report == NULL);

  puts("test_policy_columns: ok");
  return 0;
}
