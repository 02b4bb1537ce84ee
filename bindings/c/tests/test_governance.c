/* Governance from C: a lake whose config has an [access] section and an audit log; a handle
 * acting as a principal reads what its grants allow and gets STRATA_PERMISSION_DENIED, naming
 * it, for the rest; the audit log verifies intact, shows the denial, seals; erasure and
 * compliance requests are parsed and bad ones refused, and an erasure reports a dry run, then
 * deletes a subject's rows and objects; NULL arguments are a status, never a crash.
 * Usage: test_governance PEOPLE_FILE DATA_DIR
 * PEOPLE_FILE: id (int64, 0..99), name, email (utf8: userN@example.com), amount (float64). */
#include "check.h"

/* Fails, showing the JSON, unless `needle` is in it. */
static void holds(const char *json, const char *needle, int line) {
  if (json == NULL || strstr(json, needle) == NULL) {
    fprintf(stderr, "%s:%d: %s not in %s\n", __FILE__, line, needle, json ? json : "NULL");
    exit(1);
  }
}
#define HOLDS(json, needle) holds((json), (needle), __LINE__)

/* The number after `"name":` in `json`, or -1. */
static long number(const char *json, const char *name) {
  char key[64];
  CHECK(snprintf(key, sizeof key, "\"%s\":", name) < (int)sizeof key);
  const char *at = strstr(json, key);
  return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

/* How many times `needle` occurs in `text`. */
static int occurrences(const char *text, const char *needle) {
  int n = 0;
  for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle)) {
    n++;
  }
  return n;
}

static const char *const POLICY =
    "[access.roles.reader]\n"
    "grants = [{ actions = [\"read\"], prefixes = [\"public/\"] }]\n"
    "[access.roles.auditor]\n"
    "grants = [{ actions = [\"admin\"], lake = true }]\n"
    "[access.principals]\n"
    "alice = [\"reader\"]\n"
    "olga = [\"auditor\"]\n"
    "[audit]\n"
    "enabled = true\n"
    "[erasure]\n"
    "prefixes = [\"exports/\"]\n";

/* Every new function refuses NULL arguments with STRATA_INVALID_ARGUMENT and leaves its out
 * pointer NULL. */
static void null_arguments(const strata_lake *lake) {
  char *json = (char *)"stale";
  strata_lake *out = (strata_lake *)&json; /* anything not NULL */

  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_with_principal(NULL, "alice", &out));
  CHECK(out == NULL);
  out = (strata_lake *)&json;
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_with_principal(lake, NULL, &out));
  CHECK(out == NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_with_principal(lake, "alice", NULL));
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_with_principal(lake, "", &out));
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_with_principal(lake, "al\nice", &out));
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_with_principal(lake, "\xff", &out));
  CHECK(out == NULL);

  json = (char *)"stale";
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_principal(NULL, &json));
  CHECK(json == NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_lake_principal(lake, NULL));

  json = (char *)"stale";
  FAILS(STRATA_INVALID_ARGUMENT, strata_audit_verify(NULL, &json));
  CHECK(json == NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_audit_verify(lake, NULL));

  json = (char *)"stale";
  FAILS(STRATA_INVALID_ARGUMENT, strata_audit_show(NULL, NULL, &json));
  CHECK(json == NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_audit_show(lake, NULL, NULL));

  FAILS(STRATA_INVALID_ARGUMENT, strata_audit_seal(NULL));

  json = (char *)"stale";
  FAILS(STRATA_INVALID_ARGUMENT,
        strata_erase(NULL, "{\"column\":\"email\",\"value\":\"a@b.c\",\"dry_run\":true}", &json));
  CHECK(json == NULL);
  json = (char *)"stale";
  FAILS(STRATA_INVALID_ARGUMENT, strata_erase(lake, NULL, &json));
  CHECK(json == NULL);
  FAILS(STRATA_INVALID_ARGUMENT,
        strata_erase(lake, "{\"column\":\"email\",\"value\":\"a@b.c\",\"dry_run\":true}", NULL));

  json = (char *)"stale";
  FAILS(STRATA_INVALID_ARGUMENT, strata_compliance(NULL, "gdpr", &json));
  CHECK(json == NULL);
  json = (char *)"stale";
  FAILS(STRATA_INVALID_ARGUMENT, strata_compliance(lake, NULL, &json));
  CHECK(json == NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_compliance(lake, "gdpr", NULL));
}

/* Requests that are not an erasure request's JSON are refused before anything is erased. */
static void bad_erasures(const strata_lake *lake) {
  static const char *const bad[] = {
      "",
      "not json",
      "{\"column\": \"email\", \"value\": ",
      "[]",
      "[\"email\", \"a@b.c\", [], false, false, true]", /* serde would take it field by field */
      "\"email=alice@example.com\"",
      "{\"column\": \"email\", \"value\": \"a@b.c\", \"colour\": \"red\"}",
      "{\"column\": 5, \"value\": \"a@b.c\"}",
      "{\"column\": \"email\", \"value\": \"a@b.c\", \"dry_run\": \"yes\"}",
      "{\"column\": \"email\", \"value\": \"a@b.c\", \"tables\": \"silver/people\"}",
      "\"\xff\"",
      /* JSON, but no subject. */
      "{\"column\": \"email\"}",
      "{\"column\": \"email\", \"value\": \"\"}",
      "{\"value\": \"a@b.c\"}",
      "{\"column\": \" \", \"value\": \"a@b.c\"}",
      "{}",
  };
  const size_t not_json = 11; /* the first ones, refused as request_json */
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *json = (char *)"stale";
    strata_status st = strata_erase(lake, bad[i], &json);
    if (st != STRATA_INVALID_ARGUMENT || json != NULL) {
      fprintf(stderr, "%s:%d: strata_erase(%s) returned %d: %s\n", __FILE__, __LINE__, bad[i], st,
              strata_last_error_message());
      exit(1);
    }
    if (i < not_json && strstr(strata_last_error_message(), "request_json") == NULL) {
      fprintf(stderr, "%s:%d: strata_erase(%s): %s\n", __FILE__, __LINE__, bad[i],
              strata_last_error_message());
      exit(1);
    }
  }
  FAILS(STRATA_INVALID_ARGUMENT,
        strata_erase(lake, "{\"column\": \"email\", \"value\": \"a\", \"colour\": 1}", &(char *){0}));
  CHECK(strstr(strata_last_error_message(), "colour") != NULL);
}

/* An erasure of user7@example.com from silver/people (the people file, appended) and from
 * exports/: a dry run reports and changes nothing; the erasure deletes the row and the object
 * and is audited; a second dry run finds nothing; a principal without admin is refused. */
static void erasure(const strata_lake *lake, const strata_lake *alice, const char *file) {
  strata_table *table = NULL;
  OK(strata_table_open(lake, "silver/people", &table));
  struct ArrowArrayStream stream;
  OK(strata_scan(file, NULL, 0, NULL, &stream));
  OK(strata_table_append(table, &stream, NULL, NULL));
  strata_table_free(table);
  OK(strata_put(lake, "exports/user7@example.com.csv", (const uint8_t *)"7", 1, NULL));
  OK(strata_put(lake, "exports/user8@example.com.csv", (const uint8_t *)"8", 1, NULL));
  const char *subject = "{\"column\": \"email\", \"value\": \"user7@example.com\", \"dry_run\": true}";

  char *json = (char *)"stale";
  FAILS(STRATA_PERMISSION_DENIED, strata_erase(alice, subject, &json));
  CHECK(json == NULL);
  CHECK(strstr(strata_last_error_message(), "alice") != NULL);

  OK(strata_erase(lake, subject, &json));
  HOLDS(json, "\"dry_run\":true");
  HOLDS(json, "\"column\":\"email\"");
  HOLDS(json, "\"purged\":false");
  HOLDS(json, "\"table\":\"silver/people\"");
  HOLDS(json, "\"rows\":1,\"version\":null");
  HOLDS(json, "\"objects\":[\"exports/user7@example.com.csv\"]");
  HOLDS(json, "\"audit_record\":null");
  strata_string_free(json);
  size_t len = 0;
  OK(strata_get(lake, "exports/user7@example.com.csv", NULL, 0, &len));

  OK(strata_erase(lake, "{\"column\": \"email\", \"value\": \"user7@example.com\"}", &json));
  HOLDS(json, "\"dry_run\":false");
  HOLDS(json, "\"table\":\"silver/people\"");
  HOLDS(json, "\"rows\":1,");
  HOLDS(json, "\"objects\":[\"exports/user7@example.com.csv\"]");
  CHECK(number(json, "version") > 0);
  CHECK(number(json, "audit_record") > 0);
  strata_string_free(json);
  FAILS(STRATA_NOT_FOUND, strata_get(lake, "exports/user7@example.com.csv", NULL, 0, &len));
  OK(strata_get(lake, "exports/user8@example.com.csv", NULL, 0, &len));
  OK(strata_audit_show(lake, "{\"action\": \"erase\", \"principal\": \"host\"}", &json));
  CHECK(occurrences(json, "\"seq\":") == 1);
  HOLDS(json, "\"outcome\":\"ok\"");
  HOLDS(json, "silver/people");
  strata_string_free(json);

  OK(strata_erase(lake, subject, &json));
  HOLDS(json, "\"tables\":[]");
  HOLDS(json, "\"objects\":[]");
  strata_string_free(json);
  /* A table the catalog does not have. */
  FAILS(STRATA_INVALID_ARGUMENT,
        strata_erase(lake,
                     "{\"column\": \"email\", \"value\": \"a@b.c\", \"tables\": [\"gold/none\"],"
                     " \"dry_run\": true}",
                     &json));
  CHECK(strstr(strata_last_error_message(), "gold/none") != NULL);
}

/* A compliance report, or (while Lake::compliance is being written) STRATA_UNSUPPORTED; an
 * unknown framework is refused either way. */
static void compliance(const strata_lake *lake, const strata_lake *alice) {
  char *json = (char *)"stale";
  FAILS(STRATA_INVALID_ARGUMENT, strata_compliance(lake, "sox", &json));
  CHECK(json == NULL);
  CHECK(strstr(strata_last_error_message(), "sox") != NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_compliance(lake, "", &json));
  strata_status st = strata_compliance(lake, "GDPR", &json);
  if (st == STRATA_UNSUPPORTED) {
    CHECK(json == NULL);
    printf("governance: compliance is not built yet (%s)\n", strata_last_error_message());
    return;
  }
  OK(st);
  HOLDS(json, "\"framework\":\"gdpr\"");
  HOLDS(json, "\"controls\":[");
  HOLDS(json, "\"score\":");
  strata_string_free(json);
  json = (char *)"stale";
  FAILS(STRATA_PERMISSION_DENIED, strata_compliance(alice, "hipaa", &json));
  CHECK(json == NULL);
  CHECK(strstr(strata_last_error_message(), "alice") != NULL);
}

/* A lake without [audit]: the audit functions say auditing is off. */
static void audit_off(const char *data_dir) {
  char dir[4096];
  CHECK(snprintf(dir, sizeof dir, "%s/plain", data_dir) < (int)sizeof dir);
  strata_lake *plain = NULL;
  OK(strata_open_dir(dir, &plain));
  char *json = (char *)"stale";
  FAILS(STRATA_CONFIG, strata_audit_verify(plain, &json));
  CHECK(json == NULL);
  CHECK(strstr(strata_last_error_message(), "[audit]") != NULL);
  FAILS(STRATA_CONFIG, strata_audit_show(plain, NULL, &json));
  CHECK(json == NULL);
  FAILS(STRATA_CONFIG, strata_audit_seal(plain));
  /* Without [access], any principal may do anything. */
  strata_lake *bob = NULL;
  OK(strata_lake_with_principal(plain, "bob", &bob));
  OK(strata_put(bob, "anything", (const uint8_t *)"x", 1, NULL));
  OK(strata_lake_principal(bob, &json));
  CHECK(strcmp(json, "bob") == 0);
  strata_string_free(json);
  strata_lake_free(bob);
  strata_lake_free(plain);
}

int main(int argc, char **argv) {
  CHECK(argc == 3);
  char config[8192];
  CHECK(snprintf(config, sizeof config, "dir = '%s/lake'\n%s", argv[2], POLICY) <
        (int)sizeof config);
  strata_lake *lake = NULL;
  OK(strata_open(config, &lake));
  char *json = NULL;

  /* The handle opened without a principal is the host: unrestricted. */
  OK(strata_lake_principal(lake, &json));
  CHECK(strcmp(json, "host") == 0);
  strata_string_free(json);
  OK(strata_put(lake, "public/a.txt", (const uint8_t *)"hello", 5, NULL));
  OK(strata_put(lake, "private/b.txt", (const uint8_t *)"secret", 6, NULL));

  /* alice may read public/ and nothing else. */
  strata_lake *alice = NULL;
  OK(strata_lake_with_principal(lake, "alice", &alice));
  CHECK(alice != NULL && alice != lake);
  OK(strata_lake_principal(alice, &json));
  CHECK(strcmp(json, "alice") == 0);
  strata_string_free(json);

  size_t len = 0;
  FAILS(STRATA_PERMISSION_DENIED, strata_get(alice, "private/b.txt", NULL, 0, &len));
  CHECK(strstr(strata_last_error_message(), "alice") != NULL);
  CHECK(strstr(strata_last_error_message(), "private/b.txt") != NULL);
  CHECK(STRATA_PERMISSION_DENIED == 12);
  char buf[16];
  OK(strata_get(alice, "public/a.txt", (uint8_t *)buf, sizeof buf, &len));
  CHECK(len == 5 && memcmp(buf, "hello", 5) == 0);
  FAILS(STRATA_PERMISSION_DENIED,
        strata_put(alice, "public/c.txt", (const uint8_t *)"x", 1, NULL));
  CHECK(strstr(strata_last_error_message(), "alice") != NULL);
  json = (char *)"stale";
  FAILS(STRATA_PERMISSION_DENIED, strata_audit_verify(alice, &json));
  CHECK(json == NULL);
  FAILS(STRATA_PERMISSION_DENIED, strata_audit_show(alice, NULL, &json));
  CHECK(json == NULL);
  FAILS(STRATA_PERMISSION_DENIED, strata_audit_seal(alice));

  /* A name the policy does not know is refused. */
  strata_lake *mallory = (strata_lake *)&json; /* anything not NULL */
  FAILS(STRATA_PERMISSION_DENIED, strata_lake_with_principal(lake, "mallory", &mallory));
  CHECK(mallory == NULL);
  CHECK(strstr(strata_last_error_message(), "mallory") != NULL);

  /* The log verifies intact and holds alice's denied and allowed gets. */
  OK(strata_audit_verify(lake, &json));
  HOLDS(json, "\"intact\":true");
  HOLDS(json, "\"problems\":[]");
  CHECK(number(json, "records") > 0);
  CHECK(number(json, "segments") >= 1);
  strata_string_free(json);

  OK(strata_audit_show(lake, "{\"principal\": \"alice\", \"resource\": \"private/\"}", &json));
  CHECK(occurrences(json, "\"seq\":") == 1);
  HOLDS(json, "\"principal\":\"alice\"");
  HOLDS(json, "\"action\":\"get\"");
  HOLDS(json, "\"resource\":\"object:private/b.txt\"");
  HOLDS(json, "\"outcome\":\"denied\"");
  strata_string_free(json);
  OK(strata_audit_show(lake, "{\"principal\": \"alice\", \"action\": \"get\"}", &json));
  CHECK(occurrences(json, "\"seq\":") == 2);
  HOLDS(json, "\"outcome\":\"denied\"");
  HOLDS(json, "\"resource\":\"object:public/a.txt\"");
  HOLDS(json, "\"outcome\":\"ok\"");
  CHECK(strstr(json, "\"principal\":\"host\"") == NULL);
  strata_string_free(json);
  /* The newest one only, and a filter matching nothing. */
  OK(strata_audit_show(lake, "{\"principal\": \"alice\", \"action\": \"get\", \"limit\": 1}",
                       &json));
  CHECK(occurrences(json, "\"seq\":") == 1);
  HOLDS(json, "\"resource\":\"object:public/a.txt\"");
  strata_string_free(json);
  OK(strata_audit_show(lake, "{\"principal\": \"nobody\", \"since_ms\": 0}", &json));
  CHECK(strcmp(json, "[]") == 0);
  strata_string_free(json);
  /* Everything: NULL and "" alike. */
  OK(strata_audit_show(lake, NULL, &json));
  long all = occurrences(json, "\"seq\":");
  HOLDS(json, "\"principal\":\"host\"");
  HOLDS(json, "\"principal\":\"mallory\"");
  strata_string_free(json);
  OK(strata_audit_show(lake, "  ", &json));
  CHECK(occurrences(json, "\"seq\":") >= all); /* plus the record of the show before, if any */
  HOLDS(json, "\"principal\":\"mallory\"");
  strata_string_free(json);
  /* Queries that are not the query's JSON. */
  json = (char *)"stale";
  FAILS(STRATA_INVALID_ARGUMENT, strata_audit_show(lake, "{\"who\": \"alice\"}", &json));
  CHECK(json == NULL);
  CHECK(strstr(strata_last_error_message(), "who") != NULL);
  FAILS(STRATA_INVALID_ARGUMENT, strata_audit_show(lake, "{not json", &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_audit_show(lake, "{\"limit\": -1}", &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_audit_show(lake, "{\"principal\": 7}", &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_audit_show(lake, "[]", &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_audit_show(lake, "[0, \"alice\", null, null, 1]", &json));
  FAILS(STRATA_INVALID_ARGUMENT, strata_audit_show(lake, "\"\xff\"", &json));
  CHECK(json == NULL);

  /* olga audits: she may verify, show and seal, and read no object. */
  strata_lake *olga = NULL;
  OK(strata_lake_with_principal(lake, "olga", &olga));
  FAILS(STRATA_PERMISSION_DENIED, strata_get(olga, "public/a.txt", NULL, 0, &len));
  CHECK(strstr(strata_last_error_message(), "olga") != NULL);
  OK(strata_audit_seal(olga));
  OK(strata_audit_verify(olga, &json));
  HOLDS(json, "\"intact\":true");
  CHECK(number(json, "segments") >= 1);
  strata_string_free(json);
  OK(strata_audit_show(olga, "{\"principal\": \"olga\"}", &json));
  HOLDS(json, "\"outcome\":\"denied\"");
  strata_string_free(json);
  strata_lake_free(olga);

  bad_erasures(lake);
  erasure(lake, alice, argv[1]);
  compliance(lake, alice);
  null_arguments(lake);
  audit_off(argv[2]);

  /* The principal's handle outlives the handle it came from. */
  strata_lake_free(lake);
  OK(strata_get(alice, "public/a.txt", NULL, 0, &len));
  CHECK(len == 5);
  FAILS(STRATA_PERMISSION_DENIED, strata_get(alice, "private/b.txt", NULL, 0, &len));
  strata_lake_free(alice);
  printf("governance: ok\n");
  return 0;
}
