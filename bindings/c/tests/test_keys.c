/* Encryption keys through the C ABI: the key ring (new, list, rotate) and an external KMS
 * through the callback hook. Usage: test_keys WORK_DIR */
#include "check.h"

/* A toy KMS: "wraps" by XOR with a pad and appends a tag byte; unwrap checks and reverses it.
 * Enough to see strata route every data key through the callbacks. */
typedef struct {
  int wraps, unwraps, freed, fail_unwrap;
} kms_state;

static strata_status kms_wrap(void *user_data, const char *key_id, const uint8_t *input,
                              size_t input_len, const uint8_t *context, size_t context_len,
                              uint8_t *out, size_t out_cap, size_t *out_len) {
  kms_state *kms = user_data;
  (void)context; (void)context_len;
  if (strcmp(key_id, "kms-1") != 0 || input_len + 1 > out_cap) return STRATA_CRYPTO;
  for (size_t i = 0; i < input_len; i++) out[i] = input[i] ^ 0x5a;
  out[input_len] = 0xa5;
  *out_len = input_len + 1;
  kms->wraps++;
  return STRATA_OK;
}

static strata_status kms_unwrap(void *user_data, const char *key_id, const uint8_t *input,
                                size_t input_len, const uint8_t *context, size_t context_len,
                                uint8_t *out, size_t out_cap, size_t *out_len) {
  kms_state *kms = user_data;
  (void)context; (void)context_len;
  if (kms->fail_unwrap || strcmp(key_id, "kms-1") != 0 || input_len == 0 ||
      input[input_len - 1] != 0xa5 || input_len - 1 > out_cap)
    return STRATA_CRYPTO;
  for (size_t i = 0; i + 1 < input_len; i++) out[i] = input[i] ^ 0x5a;
  *out_len = input_len - 1;
  kms->unwraps++;
  return STRATA_OK;
}

static void kms_free(void *user_data) { ((kms_state *)user_data)->freed++; }

static strata_lake *open_encrypting(const char *dir) {
  char config[4096];
  snprintf(config, sizeof config, "dir = \"%s\"\n[encryption]\nprefixes = [\"pii/\"]\n", dir);
  strata_lake *lake = NULL;
  OK(strata_open(config, &lake));
  return lake;
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  char dir[4096];
  const char *secret = "name,card\nAda,4111111111111111\n";
  size_t n = strlen(secret);
  char buf[128];
  size_t len = 0;
  strata_object_info info;
  char *json = NULL;

  /* Key ring: a named key, an encrypted object, a rotation that re-wraps it. */
  snprintf(dir, sizeof dir, "%s/ring", argv[1]);
  strata_lake *lake = open_encrypting(dir);
  char *id = NULL;
  OK(strata_key_new(lake, "first", &id));
  CHECK(strcmp(id, "first") == 0);
  strata_string_free(id);
  OK(strata_put(lake, "pii/a.csv", (const uint8_t *)secret, n, &info));
  CHECK(info.encrypted && info.stored_size > n);
  OK(strata_get(lake, "pii/a.csv", (uint8_t *)buf, sizeof buf, &len));
  CHECK(len == n && memcmp(buf, secret, n) == 0);
  OK(strata_key_list(lake, &json));
  CHECK(strstr(json, "\"id\":\"first\"") != NULL && strstr(json, "\"objects\":1") != NULL);
  strata_string_free(json);
  OK(strata_key_rotate(lake, &json));
  CHECK(strstr(json, "\"rewrapped\":1") != NULL);
  strata_string_free(json);
  OK(strata_get(lake, "pii/a.csv", (uint8_t *)buf, sizeof buf, &len));
  CHECK(len == n && memcmp(buf, secret, n) == 0);
  FAILS(STRATA_ALREADY_EXISTS, strata_key_new(lake, "first", &id));
  strata_lake_free(lake);

  /* External KMS through the callbacks. */
  snprintf(dir, sizeof dir, "%s/kms", argv[1]);
  kms_state kms = {0, 0, 0, 0};
  lake = open_encrypting(dir);
  OK(strata_set_key_provider(lake, "kms-1", kms_wrap, kms_unwrap, &kms, kms_free));
  OK(strata_put(lake, "pii/b.csv", (const uint8_t *)secret, n, &info));
  CHECK(info.encrypted && kms.wraps == 1);
  OK(strata_get(lake, "pii/b.csv", (uint8_t *)buf, sizeof buf, &len));
  CHECK(len == n && memcmp(buf, secret, n) == 0 && kms.unwraps >= 1);
  OK(strata_stat_json(lake, "pii/b.csv", &json));
  CHECK(strstr(json, "\"key_id\":\"kms-1\"") != NULL);
  strata_string_free(json);
  /* A KMS refusing to unwrap fails the read with STRATA_CRYPTO, not a crash. */
  kms.fail_unwrap = 1;
  FAILS(STRATA_CRYPTO, strata_get(lake, "pii/b.csv", (uint8_t *)buf, sizeof buf, &len));
  kms.fail_unwrap = 0;
  CHECK(kms.freed == 0);
  strata_lake_free(lake);
  CHECK(kms.freed == 1);

  puts("test_keys: ok");
  return 0;
}
