/* Swapped and restored envelopes through the C ABI (issue 22 item 8). Run in phases by
 * tests/bindings_c.rs, which changes the tier's stored bytes between them:
 *   write     puts pii/a, pii/b and pii/c (first version)
 *             (the harness keeps pii/c's stored envelope)
 *   overwrite puts pii/c again (second version); everything reads back
 *             (the harness copies pii/b's stored bytes over pii/a's and puts back the first
 *             envelope of pii/c)
 *   attacked  both reads fail with STRATA_CRYPTO and leave the caller's buffer untouched
 *             (with `replaced-ok`: or STRATA_CORRUPT, while remote tiers report a replaced
 *             object as corrupt)
 *             (the harness deletes index.redb)
 *   rebuilt   the swap still fails with STRATA_CRYPTO (the envelope is bound to pii/b's
 *             name); the restored first envelope of pii/c reads as the first version: without
 *             the index nothing says which encryption of pii/c is current.
 * Usage: test_crypto_swap PHASE CONFIG_FILE [replaced-ok] */
#include "check.h"

/* Same length each, so a swap keeps the size the index records. */
static const char *A = "alice: card 4111 1111 1111 1111, ssn 078-05-1120";
static const char *B = "bobby: card 5500 0000 0000 0004, ssn 219-09-9999";
static const char *C1 = "carol v1: salary 100000, notes: first version..";
static const char *C2 = "carol v2: salary 120000, notes: second version.";

static void put(strata_lake *lake, const char *key, const char *text) {
  strata_object_info info;
  memset(&info, 0, sizeof info);
  OK(strata_put(lake, key, (const uint8_t *)text, strlen(text), &info));
  CHECK(info.encrypted && info.size == strlen(text));
}

static void reads(strata_lake *lake, const char *key, const char *text) {
  char buf[256];
  size_t len = 0;
  OK(strata_get(lake, key, (uint8_t *)buf, sizeof buf, &len));
  CHECK(len == strlen(text) && memcmp(buf, text, len) == 0);
}

/* Every way to read `key` fails with `want` (or `also`, when not 0), writes nothing into the
 * caller's buffer, hands out no bytes and names the key. */
static void refused(strata_lake *lake, const char *key, strata_status want, strata_status also) {
  unsigned char buf[256];
  memset(buf, 0x5a, sizeof buf);
  size_t len = 12345;
  strata_status st = strata_get(lake, key, buf, sizeof buf, &len);
  if (st != want && !(also != 0 && st == also)) {
    fprintf(stderr, "strata_get(%s) returned %d (want %d): %s\n", key, st, want,
            strata_last_error_message());
    exit(1);
  }
  CHECK(strstr(strata_last_error_message(), key) != NULL);
  for (size_t i = 0; i < sizeof buf; i++) CHECK(buf[i] == 0x5a);
  CHECK(len == 12345);

  st = strata_get(lake, key, NULL, 0, &len);
  CHECK(st == want || (also != 0 && st == also));

  strata_bytes *bytes = NULL;
  const uint8_t *data = NULL;
  st = strata_get_bytes(lake, key, &bytes, &data, &len);
  CHECK(st == want || (also != 0 && st == also));
  CHECK(bytes == NULL && data == NULL);
}

int main(int argc, char **argv) {
  CHECK(argc == 3 || argc == 4);
  const char *phase = argv[1];
  strata_status also = (argc == 4 && strcmp(argv[3], "replaced-ok") == 0) ? STRATA_CORRUPT : 0;
  strata_lake *lake = NULL;
  OK(strata_open_file(argv[2], &lake));

  if (strcmp(phase, "write") == 0) {
    put(lake, "pii/a", A);
    put(lake, "pii/b", B);
    put(lake, "pii/c", C1);
  } else if (strcmp(phase, "overwrite") == 0) {
    put(lake, "pii/c", C2);
    reads(lake, "pii/a", A);
    reads(lake, "pii/b", B);
    reads(lake, "pii/c", C2);
  } else if (strcmp(phase, "attacked") == 0) {
    refused(lake, "pii/a", STRATA_CRYPTO, also);
    refused(lake, "pii/c", STRATA_CRYPTO, also);
    reads(lake, "pii/b", B);
  } else if (strcmp(phase, "rebuilt") == 0) {
    refused(lake, "pii/a", STRATA_CRYPTO, 0);
    reads(lake, "pii/b", B);
    reads(lake, "pii/c", C1);
  } else {
    fprintf(stderr, "unknown phase %s\n", phase);
    return 2;
  }
  strata_lake_free(lake);
  printf("test_crypto_swap %s: ok\n", phase);
  return 0;
}
