/* The catalog from C: a table made through the table API has an entry that lists, searches,
 * shows (strata's JSON and Unity's), takes tags and descriptions and has lineage; a Parquet
 * file and an object prefix register; a job's handle records its changes as the job's and
 * outlives the lake handle it came from; a table handle reading sources records lineage from
 * them; a lineage callback gets START and COMPLETE (or FAIL) for each write until cleared, and
 * its user data is freed when no longer needed; bad input is a status, never a crash.
 * Usage: test_catalog PEOPLE_FILE DATA_DIR
 * PEOPLE_FILE: id (int64, 0..99), name, email (utf8), amount (float64). */
#include <stdatomic.h>
#include <stdint.h>

#include "check.h"

/* Fails, showing the JSON, unless `needle` is in it. */
static void holds(const char *json, const char *needle, int line) {
  if (json == NULL || strstr(json, needle) == NULL) {
    fprintf(stderr, "%s:%d: %s not in %s\n", __FILE__, line, needle, json ? json : "NULL");
    exit(1);
  }
}
#define HOLDS(json, needle) holds((json), (needle), __LINE__)

static void append_people(strata_lake *lake, const char *file, const char *options) {
  strata_table *table = NULL;
  OK(strata_table_open(lake, "silver/people", &table));
  struct ArrowArrayStream stream;
  OK(strata_scan(file, NULL, 0, NULL, &stream));
  OK(strata_table_append(table, &stream, options, NULL));
  strata_table_free(table);
}

/* What a lineage callback saw. Atomic: strata may call it from several threads at once. */
typedef struct {
  atomic_int calls, starts, completes, fails, malformed, frees;
} events;

static void on_event(const char *event_json, void *user_data) {
  events *seen = user_data;
  atomic_fetch_add(&seen->calls, 1);
  if (event_json == NULL || event_json[0] != '{' || strstr(event_json, "\"eventType\"") == NULL) {
    atomic_fetch_add(&seen->malformed, 1);
  } else if (strstr(event_json, "\"eventType\":\"START\"") != NULL) {
    atomic_fetch_add(&seen->starts, 1);
  } else if (strstr(event_json, "\"eventType\":\"COMPLETE\"") != NULL) {
    atomic_fetch_add(&seen->completes, 1);
  } else if (strstr(event_json, "\"eventType\":\"FAIL\"") != NULL) {
    atomic_fetch_add(&seen->fails, 1);
  }
}

static void free_events(void *user_data) {
  events *seen = user_data;
  atomic_fetch_add(&seen->frees, 1);
}

/* Appends the people file to gold/readers (only `column` of it when not NULL: a batch whose
 * columns differ from the table's) and returns the status. */
static strata_status append_through(const strata_table *table, const char *file,
                                    const char *column) {
  struct ArrowArrayStream stream;
  const char *columns[] = {column};
  OK(strata_scan(file, column ? columns : NULL, column ? 1 : 0, NULL, &stream));
  return strata_table_append(table, &stream, NULL, NULL);
}

/* A handle reading a file and a table records lineage from them. */
static void reading(strata_lake *lake, const char *file) {
  char sources[4096];
  CHECK(snprintf(sources, sizeof sources,
                 "[{\"kind\": \"file\", \"name\": \"%s\"},"
                 " {\"kind\": \"table\", \"name\": \"bronze/people\", \"version\": 3}]",
                 file) < (int)sizeof sources);
  strata_table *table = NULL, *reader = NULL;
  OK(strata_table_open(lake, "gold/readers", &table));
  OK(strata_table_reading(table, sources, &reader));
  CHECK(reader != NULL && reader != table);
  strata_table_free(table); /* the new handle stands alone */
  OK(append_through(reader, file, NULL));
  strata_table_free(reader);

  char *json = NULL;
  char edge[4096];
  CHECK(snprintf(edge, sizeof edge, "\"from\":{\"kind\":\"file\",\"name\":\"%s\"}", file) <
        (int)sizeof edge);
  OK(strata_lineage(lake, "gold/readers", "upstream", -1, &json));
  HOLDS(json, edge);
  HOLDS(json, "\"from\":{\"kind\":\"table\",\"name\":\"bronze/people\",\"version\":3}");
  strata_string_free(json);
  OK(strata_lineage(lake, file, "downstream", 1, &json));
  HOLDS(json, "\"to\":{\"kind\":\"table\",\"name\":\"gold/readers\"");
  strata_string_free(json);

  strata_table *out = (strata_table *)&json; /* anything not NULL */
  OK(strata_table_open(lake, "gold/readers", &table));
  FAILS(STRATA_INVALID_ARGUMENT, strata_table_reading(table, NULL, &out));
  CHECK(out == NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_table_reading(table, "not json", &out));
  FAILS(STRATA_INVALID_ARGUMENT,
        strata_table_reading(table, "[{\"kind\":\"x\",\"name\":\"a\"}]", &out));
  CHECK(strstr(strata_last_error_message(), "\"x\"") != NULL);
  FAILS(STRATA_INVALID_ARGUMENT,
        strata_table_reading(table, "[{\"kind\":\"file\",\"name\":\"\"}]", &out));
  FAILS(STRATA_INVALID_ARGUMENT,
        strata_table_reading(table, "[{\"kind\":\"file\",\"name\":\"a\",\"version\":1}]", &out));
  CHECK(strstr(strata_last_error_message(), "version") != NULL);
  FAILS(STRATA_INVALID_ARGUMENT,
        strata_table_reading(table, "[{\"kind\":\"table\",\"name\":\"a\",\"version\":-1}]", &out));
  FAILS(STRATA_INVALID_ARGUMENT, strata_table_reading(table, "{\"kind\":\"file\"}", &out));
  FAILS(STRATA_INVALID_ARGUMENT, strata_table_reading(NULL, "[]", &out));
  FAILS(STRATA_INVALID_ARGUMENT, strata_table_reading(table, "[]", NULL));
  CHECK(out == NULL);
  OK(strata_table_reading(table, "[]", &out));
  strata_table_free(out);
  strata_table_free(table);
}

/* A lineage callback: two events per append, FAIL for a failed one, none once cleared; its
 * user data is freed when replaced, cleared, refused, and (see main) when the lake goes. */
static void lineage_callback(strata_lake *lake, const char *file) {
  events first = {0}, second = {0}, refused = {0};
  strata_table *table = NULL;
  OK(strata_table_open(lake, "gold/readers", &table));
  OK(strata_lake_set_lineage_callback(lake, on_event, &first, free_events));
  OK(append_through(table, file, NULL));
  CHECK(atomic_load(&first.calls) == 2);
  CHECK(atomic_load(&first.starts) == 1 && atomic_load(&first.completes) == 1);
  CHECK(atomic_load(&first.malformed) == 0 && atomic_load(&first.frees) == 0);

  /* Replaced: the first data is freed and gets no more events. */
  OK(strata_lake_set_lineage_callback(lake, on_event, &second, free_events));
  CHECK(atomic_load(&first.frees) == 1);
  FAILS(STRATA_INVALID_ARGUMENT, append_through(table, file, "id"));
  CHECK(atomic_load(&second.starts) == 1 && atomic_load(&second.fails) == 1);
  CHECK(atomic_load(&second.calls) == 2 && atomic_load(&second.malformed) == 0);
  CHECK(atomic_load(&first.calls) == 2);

  /* Cleared: no more calls. */
  OK(strata_lake_set_lineage_callback(lake, NULL, NULL, NULL));
  CHECK(atomic_load(&second.frees) == 1);
  OK(append_through(table, file, NULL));
  CHECK(atomic_load(&second.calls) == 2 && atomic_load(&first.calls) == 2);

  /* Refused or without a callback: the data is freed at once. */
  FAILS(STRATA_INVALID_ARGUMENT,
        strata_lake_set_lineage_callback(NULL, on_event, &refused, free_events));
  CHECK(atomic_load(&refused.frees) == 1);
  OK(strata_lake_set_lineage_callback(lake, NULL, &refused, free_events));
  CHECK(atomic_load(&refused.frees) == 2 && atomic_load(&refused.calls) == 0);
  OK(strata_lake_set_lineage_callback(lake, NULL, NULL, NULL));
  strata_table_free(table);
}

static void bad_input(const strata_lake *lake, const char *file) {
  char *json = (char *)"stale";
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_list(NULL, NULL, &json));
  CHECK(json == NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_list(lake, NULL, NULL));
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_list(lake, "{not json", &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_list(lake, "{\"colour\": \"red\"}", &json));
  CHECK(strstr(strata_last_error_message(), "colour") != NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_list(lake, "{\"kind\": \"view\"}", &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_list(lake, "\"\xff\"", &json));
  CHECK(json == NULL);

  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_show(lake, NULL, false, &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_show(lake, "silver/\xff", false, &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_show(lake, "silver/people", true, NULL));
  FAILS(STRATA_NOT_FOUND, strata_catalog_show(lake, "silver/nobody", true, &json));
  CHECK(strstr(strata_last_error_message(), "silver/nobody") != NULL);
  CHECK(json == NULL);

  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_tag(lake, NULL, "[\"x\"]", false));
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_tag(lake, "silver/people", NULL, false));
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_tag(lake, "silver/people", "\"pii\"", false));
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_tag(lake, "silver/people", "[1]", false));
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_tag(lake, "silver/people", "[]", true));
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_tag(lake, "silver/people", "[\" \"]", false));
  FAILS(STRATA_NOT_FOUND, strata_catalog_tag(lake, "silver/nobody", "[\"x\"]", false));

  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_describe(lake, NULL, NULL, "x"));
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_describe(lake, "silver/people", NULL, NULL));
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_describe(lake, "silver/people", "nope", "x"));
  CHECK(strstr(strata_last_error_message(), "email") != NULL);
  FAILS(STRATA_NOT_FOUND, strata_catalog_describe(lake, "silver/nobody", NULL, "x"));

  json = (char *)"stale";
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_register(lake, NULL, file, "dataset", &json));
  CHECK(json == NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_register(lake, "raw/x", NULL, "dataset", &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_register(lake, "raw/x", file, NULL, &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_register(lake, "raw/x", file, "bogus", &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_register(lake, "raw/x", file, "table", &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_catalog_register(lake, "platinum/x", file, "dataset", NULL));
  FAILS(STRATA_NOT_FOUND,
        strata_catalog_register(lake, "raw/x", "/nonexistent/x.parquet", "dataset", NULL));
  /* A name already registered as another kind. */
  FAILS(STRATA_ALREADY_EXISTS, strata_catalog_register(lake, "raw/landing", file, "dataset", NULL));

  FAILS(STRATA_INVALID_ARGUMENT, strata_lineage(lake, NULL, "both", -1, &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_lineage(lake, "silver/people", NULL, -1, &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_lineage(lake, "silver/people", "sideways", -1, &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_lineage(lake, "silver/people", "both", -1, NULL));
  FAILS(STRATA_NOT_FOUND, strata_lineage(lake, "silver/nobody", "both", -1, &json));
  CHECK(strstr(strata_last_error_message(), "silver/nobody") != NULL);
  CHECK(json == NULL);

  strata_lake *job = (strata_lake *)&json; /* anything not NULL */
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_with_job(lake, NULL, &job));
  CHECK(job == NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_with_job(lake, "", &job));
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_with_job(NULL, "etl", &job));
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_with_job(lake, "etl", NULL));
  CHECK(job == NULL);
}

int main(int argc, char **argv) {
  CHECK(argc == 3);
  const char *file = argv[1];
  strata_lake *lake = NULL;
  OK(strata_open_dir(argv[2], &lake));
  char *json = NULL;

  OK(strata_catalog_list(lake, NULL, &json));
  CHECK(strcmp(json, "[]") == 0);
  strata_string_free(json);

  /* A table has an entry from its first commit. */
  append_people(lake, file, "{\"description\": \"people from C\"}");
  OK(strata_catalog_list(lake, NULL, &json));
  HOLDS(json, "\"name\":\"silver/people\"");
  HOLDS(json, "\"rows\":100");
  strata_string_free(json);
  OK(strata_catalog_list(lake, "", &json));
  HOLDS(json, "\"name\":\"silver/people\"");
  strata_string_free(json);
  OK(strata_catalog_list(lake, "{\"text\": \"people\", \"kind\": \"table\", \"type\": \"string\"}",
                         &json));
  HOLDS(json, "\"name\":\"silver/people\"");
  strata_string_free(json);
  OK(strata_catalog_list(lake, "{\"zone\": \"gold\"}", &json));
  CHECK(strcmp(json, "[]") == 0);
  strata_string_free(json);

  OK(strata_catalog_show(lake, "silver/people", false, &json));
  HOLDS(json, "\"zone\":\"silver\"");
  HOLDS(json, "\"kind\":\"table\"");
  HOLDS(json, "\"format\":\"delta\"");
  HOLDS(json, "\"description\":\"people from C\"");
  HOLDS(json, "\"name\":\"email\"");
  strata_string_free(json);
  OK(strata_catalog_show(lake, "silver/people", true, &json));
  HOLDS(json, "\"full_name\":\"strata.silver.people\"");
  HOLDS(json, "\"data_source_format\":\"DELTA\"");
  HOLDS(json, "\"type_name\":\"LONG\"");
  strata_string_free(json);

  /* Tags, added and removed. */
  OK(strata_catalog_tag(lake, "silver/people", "[\"pii\", \"daily\"]", false));
  OK(strata_catalog_list(lake, "{\"tag\": \"pii\"}", &json));
  HOLDS(json, "\"tags\":[\"daily\",\"pii\"]");
  strata_string_free(json);
  OK(strata_catalog_tag(lake, "silver/people", "[\"daily\"]", true));
  OK(strata_catalog_list(lake, "{\"tag\": \"daily\"}", &json));
  CHECK(strcmp(json, "[]") == 0);
  strata_string_free(json);

  /* Descriptions of the entry and of a column, found by search. */
  OK(strata_catalog_describe(lake, "silver/people", NULL, "Everyone we know"));
  OK(strata_catalog_describe(lake, "silver/people", "email", "Where to write to them"));
  OK(strata_catalog_show(lake, "silver/people", false, &json));
  HOLDS(json, "\"description\":\"Everyone we know\"");
  HOLDS(json, "\"description\":\"Where to write to them\"");
  strata_string_free(json);
  OK(strata_catalog_list(lake, "{\"text\": \"write\"}", &json));
  HOLDS(json, "\"name\":\"silver/people\"");
  strata_string_free(json);

  /* The table's lineage: the run that wrote it. */
  OK(strata_lineage(lake, "silver/people", "both", -1, &json));
  HOLDS(json, "\"start\":{\"kind\":\"table\",\"name\":\"silver/people\"}");
  HOLDS(json, "\"edges\":[");
  strata_string_free(json);
  OK(strata_lineage(lake, "silver/people", "upstream", 1, &json));
  HOLDS(json, "\"name\":\"silver/people\"");
  strata_string_free(json);

  /* A Parquet file and an object prefix, registered. */
  OK(strata_catalog_register(lake, "raw/people_file", file, "dataset", &json));
  HOLDS(json, "\"kind\":\"dataset\"");
  HOLDS(json, "\"format\":\"parquet\"");
  HOLDS(json, "\"rows\":100");
  strata_string_free(json);
  OK(strata_put(lake, "landing/a", (const uint8_t *)"hello", 5, NULL));
  OK(strata_put(lake, "landing/b", (const uint8_t *)"world!", 6, NULL));
  OK(strata_catalog_register(lake, "raw/landing", "landing/", "objects", NULL));
  OK(strata_catalog_list(lake, "{\"kind\": \"objects\"}", &json));
  HOLDS(json, "\"name\":\"raw/landing\"");
  HOLDS(json, "\"files\":2");
  HOLDS(json, "\"bytes\":11");
  CHECK(strstr(json, "silver/people") == NULL);
  strata_string_free(json);

  bad_input(lake, file);
  reading(lake, file);
  lineage_callback(lake, file);

  /* A job's handle: its annotations and its tables' commits are the job's. */
  strata_lake *job = NULL;
  OK(strata_lake_with_job(lake, "nightly-etl", &job));
  CHECK(job != NULL && job != lake);
  OK(strata_catalog_tag(job, "raw/landing", "[\"landing\"]", false));
  OK(strata_catalog_show(lake, "raw/landing", false, &json));
  HOLDS(json, "\"updated_by\":\"nightly-etl\"");
  strata_string_free(json);
  append_people(job, file, NULL);
  OK(strata_catalog_show(lake, "silver/people", false, &json));
  HOLDS(json, "\"updated_by\":\"nightly-etl\"");
  HOLDS(json, "\"version\":1");
  HOLDS(json, "\"rows\":200");
  CHECK(strstr(json, "\"created_by\":\"nightly-etl\"") == NULL);
  strata_string_free(json);

  /* A callback set through one handle is the lake's: the job's writes reach it, and its data
   * is freed only when the last handle on the lake is. */
  static events shared = {0};
  OK(strata_lake_set_lineage_callback(job, on_event, &shared, free_events));
  append_people(lake, file, NULL);
  CHECK(atomic_load(&shared.completes) == 1 && atomic_load(&shared.calls) == 2);

  /* The job's handle outlives the lake handle it came from. */
  strata_lake_free(lake);
  OK(strata_catalog_list(job, NULL, &json));
  HOLDS(json, "\"name\":\"raw/people_file\"");
  strata_string_free(json);
  CHECK(atomic_load(&shared.frees) == 0);
  strata_lake_free(job);
  CHECK(atomic_load(&shared.frees) == 1);
  strata_lake_free(NULL);
  printf("catalog: ok\n");
  return 0;
}
