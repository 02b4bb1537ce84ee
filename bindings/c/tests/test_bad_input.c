/* NULLs, bad UTF-8, zero and short buffers and garbage to every function: each must return an
 * error status with a message, never crash. Usage: test_bad_input DATA_DIR */
#include "check.h"

#define BAD STRATA_INVALID_ARGUMENT

static const char bad_utf8[] = {(char)0xff, (char)0xfe, 'x', 0};

static strata_status never_called(void *user_data, const char *key_id, const uint8_t *input,
                                  size_t input_len, const uint8_t *context, size_t context_len,
                                  uint8_t *out, size_t out_cap, size_t *out_len) {
  (void)user_data; (void)key_id; (void)input; (void)input_len; (void)context;
  (void)context_len; (void)out; (void)out_cap; (void)out_len;
  return STRATA_INTERNAL;
}

static int freed = 0;
static void count_free(void *user_data) {
  (void)user_data;
  freed++;
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  char *json = (char *)"garbage";
  strata_lake *lake = (strata_lake *)"garbage";
  strata_bytes *bytes = (strata_bytes *)"garbage";
  const uint8_t *data = NULL;
  size_t len = 0;
  uint8_t buf[8];
  strata_object_info info;
  struct ArrowArrayStream stream;
  memset(&stream, 0, sizeof stream);

  FAILS(BAD, strata_version(NULL));

  /* Opening: NULLs, bad UTF-8, bad TOML, a missing file; the out handle is cleared. */
  FAILS(BAD, strata_open(NULL, &lake));
  CHECK(lake == NULL);
  FAILS(BAD, strata_open("", NULL));
  FAILS(BAD, strata_open(bad_utf8, &lake));
  FAILS(STRATA_CONFIG, strata_open("dir = [", &lake));
  FAILS(STRATA_CONFIG, strata_open("no_such_field = 1", &lake));
  FAILS(BAD, strata_open_file(NULL, &lake));
  FAILS(BAD, strata_open_file(bad_utf8, &lake));
  CHECK(strata_open_file("/nonexistent/strata.toml", &lake) != STRATA_OK);
  FAILS(BAD, strata_open_dir(NULL, &lake));
  FAILS(BAD, strata_open_dir("", &lake));
  FAILS(BAD, strata_open_dir(argv[1], NULL));
  CHECK(lake == NULL);

  OK(strata_open_dir(argv[1], &lake));

  /* Objects: every pointer argument NULL in turn, bad keys, bad lengths. */
  FAILS(BAD, strata_put(NULL, "k", buf, 1, NULL));
  FAILS(BAD, strata_put(lake, NULL, buf, 1, NULL));
  FAILS(BAD, strata_put(lake, bad_utf8, buf, 1, NULL));
  FAILS(BAD, strata_put(lake, "k", NULL, 5, NULL));
  FAILS(BAD, strata_put(lake, "k", buf, (size_t)-1, NULL));
  FAILS(BAD, strata_put(lake, "", buf, 1, NULL));
  FAILS(BAD, strata_put(lake, "../escape", buf, 1, NULL));
  OK(strata_put(lake, "k", (const uint8_t *)"12345678901234567890", 20, &info));

  FAILS(BAD, strata_get(NULL, "k", buf, sizeof buf, &len));
  FAILS(BAD, strata_get(lake, NULL, buf, sizeof buf, &len));
  FAILS(BAD, strata_get(lake, bad_utf8, buf, sizeof buf, &len));
  FAILS(BAD, strata_get(lake, "k", buf, sizeof buf, NULL));
  FAILS(BAD, strata_get(lake, "k", NULL, 10, &len));
  len = 0;
  FAILS(BAD, strata_get(lake, "k", buf, 0, &len)); /* zero-length buffer */
  CHECK(len == 20);
  FAILS(BAD, strata_get(lake, "k", buf, sizeof buf, &len)); /* short buffer */
  CHECK(len == 20);

  FAILS(BAD, strata_get_bytes(NULL, "k", &bytes, &data, &len));
  CHECK(bytes == NULL);
  FAILS(BAD, strata_get_bytes(lake, NULL, &bytes, &data, &len));
  FAILS(BAD, strata_get_bytes(lake, "k", NULL, &data, &len));
  FAILS(STRATA_NOT_FOUND, strata_get_bytes(lake, "missing", &bytes, &data, &len));
  FAILS(BAD, strata_bytes_data(NULL, &data, &len));
  OK(strata_get_bytes(lake, "k", &bytes, NULL, NULL));
  FAILS(BAD, strata_bytes_data(bytes, NULL, &len));
  FAILS(BAD, strata_bytes_data(bytes, &data, NULL));
  strata_bytes_free(bytes);
  strata_bytes_free(NULL);
  strata_string_free(NULL);

  FAILS(BAD, strata_stat(NULL, "k", &info));
  FAILS(BAD, strata_stat(lake, NULL, &info));
  FAILS(BAD, strata_stat(lake, "k", NULL));
  FAILS(BAD, strata_stat(lake, bad_utf8, &info));
  FAILS(STRATA_NOT_FOUND, strata_stat(lake, "missing", &info));
  FAILS(BAD, strata_stat_json(NULL, "k", &json));
  CHECK(json == NULL);
  FAILS(BAD, strata_stat_json(lake, NULL, &json));
  FAILS(BAD, strata_stat_json(lake, "k", NULL));
  FAILS(BAD, strata_list_json(NULL, "", &json));
  FAILS(BAD, strata_list_json(lake, NULL, &json));
  FAILS(BAD, strata_list_json(lake, bad_utf8, &json));
  FAILS(BAD, strata_list_json(lake, "", NULL));
  FAILS(BAD, strata_delete(NULL, "k"));
  FAILS(BAD, strata_delete(lake, NULL));
  FAILS(BAD, strata_delete(lake, bad_utf8));
  FAILS(BAD, strata_tier_run(NULL, true, 0, &json));
  FAILS(BAD, strata_tier_run(lake, true, 0, NULL));

  /* Streams: NULL paths, columns, out pointers and input streams. */
  const char *cols_with_null[] = {"id", NULL};
  const char *cols_bad[] = {bad_utf8};
  FAILS(BAD, strata_scan(NULL, NULL, 0, NULL, &stream));
  FAILS(BAD, strata_scan("x.parquet", NULL, 0, NULL, NULL));
  FAILS(BAD, strata_scan(bad_utf8, NULL, 0, NULL, &stream));
  FAILS(BAD, strata_scan("x.parquet", NULL, 3, NULL, &stream));
  FAILS(BAD, strata_scan("x.parquet", cols_with_null, 2, NULL, &stream));
  FAILS(BAD, strata_scan("x.parquet", cols_bad, 1, NULL, &stream));
  FAILS(BAD, strata_scan("x.parquet", NULL, 0, bad_utf8, &stream));
  FAILS(BAD, strata_scan_ipc(NULL, NULL, 0, NULL, &bytes, &data, &len));
  FAILS(BAD, strata_scan_ipc("x.parquet", NULL, 0, NULL, NULL, &data, &len));
  FAILS(BAD, strata_write_parquet("out.parquet", NULL));
  FAILS(BAD, strata_write_parquet(NULL, NULL));
  FAILS(BAD, strata_put_parquet(lake, "t.parquet", NULL, &info));
  FAILS(BAD, strata_put_parquet(NULL, NULL, NULL, NULL));
  /* A released (zeroed) stream is refused, not called. */
  FAILS(BAD, strata_write_parquet("out.parquet", &stream));
  FAILS(BAD, strata_profile_stream(NULL, &json));
  FAILS(BAD, strata_profile_stream(&stream, &json));
  FAILS(BAD, strata_profile_file(NULL, &json));
  FAILS(BAD, strata_profile_file("x.parquet", NULL));
  FAILS(BAD, strata_check_stream(NULL, "", &json));
  FAILS(BAD, strata_check_file(NULL, "", &json));
  FAILS(BAD, strata_check_file("x.parquet", NULL, &json));
  FAILS(BAD, strata_check_file("x.parquet", bad_utf8, &json));
  FAILS(BAD, strata_mask_stream(NULL, "", "r", NULL, &stream));
  FAILS(BAD, strata_mask_stream(&stream, "", "r", NULL, &stream));

  /* Keys. */
  FAILS(BAD, strata_key_new(NULL, NULL, &json));
  FAILS(BAD, strata_key_new(lake, NULL, NULL));
  FAILS(BAD, strata_key_new(lake, bad_utf8, &json));
  FAILS(BAD, strata_key_list(NULL, &json));
  FAILS(BAD, strata_key_list(lake, NULL));
  FAILS(BAD, strata_key_rotate(NULL, &json));
  FAILS(BAD, strata_key_rotate(lake, NULL));
  /* user_data is handed back to its free function even when the call fails. */
  FAILS(BAD, strata_set_key_provider(NULL, "kms", never_called, never_called, NULL, count_free));
  FAILS(BAD, strata_set_key_provider(lake, NULL, never_called, never_called, NULL, count_free));
  FAILS(BAD, strata_set_key_provider(lake, "", never_called, never_called, NULL, count_free));
  FAILS(BAD, strata_set_key_provider(lake, "kms", NULL, never_called, NULL, count_free));
  FAILS(BAD, strata_set_key_provider(lake, bad_utf8, never_called, never_called, NULL, NULL));
  CHECK(freed == 4);

  strata_lake_free(lake);
  strata_lake_free(NULL);
  puts("test_bad_input: ok");
  return 0;
}
