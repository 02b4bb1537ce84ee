/* Store an object, read it back and list the lake, from C.
 *   cc -std=c11 example.c $(pkg-config --cflags --libs strata) -o example && ./example ./data */
#include <stdio.h>
#include <string.h>

#include "strata.h"

static int fail(const char *what, strata_status status) {
  fprintf(stderr, "%s failed (%d): %s\n", what, status, strata_last_error_message());
  return 1;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "./strata-data";
  strata_lake *lake = NULL;
  strata_status st = strata_open_dir(dir, &lake);
  if (st != STRATA_OK) return fail("open", st);

  const char *text = "id,amount\n1,9.5\n";
  st = strata_put(lake, "raw/2026/12/01.csv", (const uint8_t *)text, strlen(text), NULL);
  if (st != STRATA_OK) return fail("put", st);

  char buf[256];
  size_t len = 0;
  st = strata_get(lake, "raw/2026/12/01.csv", (uint8_t *)buf, sizeof buf, &len);
  if (st != STRATA_OK) return fail("get", st);
  printf("read %zu bytes: %.*s", len, (int)len, buf);

  char *json = NULL;
  st = strata_list_json(lake, "raw/", &json);
  if (st != STRATA_OK) return fail("list", st);
  printf("%s\n", json);
  strata_string_free(json);

  strata_lake_free(lake);
  return 0;
}
