/* Objects through the C ABI: put, get (caller buffer and strata-owned bytes), stat, list,
 * delete, tier runs. Usage: test_objects DATA_DIR */
#include "check.h"

int main(int argc, char **argv) {
  CHECK(argc == 2);
  const char *version = NULL;
  OK(strata_version(&version));
  CHECK(version != NULL && strlen(version) > 0);

  strata_lake *lake = NULL;
  OK(strata_open_dir(argv[1], &lake));
  CHECK(lake != NULL);

  const char *text = "id,amount\n1,9.5\n";
  size_t n = strlen(text);
  strata_object_info info;
  memset(&info, 0, sizeof info);
  OK(strata_put(lake, "raw/a.csv", (const uint8_t *)text, n, &info));
  CHECK(info.size == n);
  CHECK(!info.encrypted);
  OK(strata_put(lake, "raw/empty", NULL, 0, NULL));

  /* Size query, then too small a buffer, then the right size. */
  size_t len = 0;
  OK(strata_get(lake, "raw/a.csv", NULL, 0, &len));
  CHECK(len == n);
  char small[4];
  len = 0;
  FAILS(STRATA_INVALID_ARGUMENT, strata_get(lake, "raw/a.csv", (uint8_t *)small, sizeof small, &len));
  CHECK(len == n);
  char buf[64];
  OK(strata_get(lake, "raw/a.csv", (uint8_t *)buf, sizeof buf, &len));
  CHECK(len == n && memcmp(buf, text, n) == 0);
  CHECK(strata_last_error_message()[0] == '\0');

  /* Zero-copy read. */
  strata_bytes *bytes = NULL;
  const uint8_t *data = NULL;
  OK(strata_get_bytes(lake, "raw/a.csv", &bytes, &data, &len));
  CHECK(bytes != NULL && len == n && memcmp(data, text, n) == 0);
  const uint8_t *again = NULL;
  size_t again_len = 0;
  OK(strata_bytes_data(bytes, &again, &again_len));
  CHECK(again == data && again_len == len);
  strata_bytes_free(bytes);

  OK(strata_stat(lake, "raw/a.csv", &info));
  CHECK(info.size == n && info.created_ms > 0);
  char *json = NULL;
  OK(strata_stat_json(lake, "raw/a.csv", &json));
  CHECK(strstr(json, "\"tier\":\"hot\"") != NULL);
  strata_string_free(json);
  OK(strata_list_json(lake, "raw/", &json));
  CHECK(strstr(json, "raw/a.csv") != NULL && strstr(json, "raw/empty") != NULL);
  strata_string_free(json);

  /* 31 days from now, the default policies move idle objects to the cold tier. */
  const uint64_t day_ms = 86400000ull;
  OK(strata_tier_run(lake, true, info.created_ms + 31 * day_ms, &json));
  CHECK(strstr(json, "\"dry_run\":true") != NULL);
  strata_string_free(json);
  OK(strata_tier_run(lake, false, info.created_ms + 31 * day_ms, &json));
  CHECK(strstr(json, "\"moved\":2") != NULL);
  strata_string_free(json);
  OK(strata_stat_json(lake, "raw/a.csv", &json));
  CHECK(strstr(json, "\"tier\":\"cold\"") != NULL);
  strata_string_free(json);
  OK(strata_get(lake, "raw/a.csv", (uint8_t *)buf, sizeof buf, &len));
  CHECK(len == n && memcmp(buf, text, n) == 0);
  /* That read of the cold tier went through the block cache: one block, one miss. */
  OK(strata_cache_stats_json(lake, &json));
  CHECK(strstr(json, "\"blocks\":{") != NULL && strstr(json, "\"misses\":1") != NULL);
  strata_string_free(json);
  OK(strata_cache_invalidate(lake, "raw/"));
  FAILS(STRATA_INVALID_ARGUMENT, strata_cache_invalidate(lake, NULL));
  FAILS(STRATA_INVALID_ARGUMENT, strata_cache_stats_json(NULL, &json));

  OK(strata_delete(lake, "raw/a.csv"));
  FAILS(STRATA_NOT_FOUND, strata_delete(lake, "raw/a.csv"));
  FAILS(STRATA_NOT_FOUND, strata_get(lake, "raw/a.csv", NULL, 0, &len));
  /* Freeing after an error keeps the message for the caller to read. */
  strata_string_free(NULL);
  strata_bytes_free(NULL);
  CHECK(strstr(strata_last_error_message(), "raw/a.csv") != NULL);

  /* A second open of the same root is refused while this one holds it. */
  strata_lake *second = NULL;
  strata_status st = strata_open_dir(argv[1], &second);
  CHECK(st != STRATA_OK && second == NULL);

  strata_lake_free(lake);
  strata_lake_free(NULL);
  puts("test_objects: ok");
  return 0;
}
