/* Linking strata and scanning a Parquet file leaves glibc's malloc settings as the host set
 * them; strata_tuning_raise_malloc_thresholds() is how a host opts in to raising them.
 * Usage: test_malloc_untouched PARQUET_FILE WORK_DIR
 *
 * How it tells: glibc serves a request at or over its mmap threshold (128 KiB at start) with a
 * map of its own, counted in mallinfo2().hblks, and raises the threshold (up to 32 MiB) only
 * when a program frees such a mapped block. Raising the thresholds, as strata used to before
 * its first Parquet read, frees a block just under 32 MiB; after that a PROBE-sized request
 * comes from the heap instead. PROBE is larger than anything a scan of a small file frees, so
 * nothing else the library does moves the threshold past it. Probe blocks stay allocated until
 * the end: freeing a mapped one would raise the threshold itself.
 *
 * Under AddressSanitizer or valgrind, whose allocators replace glibc's, and where the
 * environment sets malloc parameters (GLIBC_TUNABLES), there is nothing to observe: the program
 * says so, still scans and opts in, and passes. With STRATA_TEST_GLIBC_MALLOC=required set
 * (tests/bindings_c.rs, plain run) it fails instead. */
#include "check.h"

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HAVE_MALLINFO2 1
#endif

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define PROBE ((size_t)24 << 20)

/* Allocates a PROBE-sized block (kept in *block for the caller to free at the end) and says
 * whether glibc served it with a map of its own. */
static int probe_is_mapped(void **block) {
#ifdef HAVE_MALLINFO2
  struct mallinfo2 before = mallinfo2();
  *block = malloc(PROBE);
  CHECK(*block != NULL);
  struct mallinfo2 after = mallinfo2();
  return after.hblks == before.hblks + 1 && after.hblkhd >= before.hblkhd + PROBE;
#else
  *block = malloc(PROBE);
  CHECK(*block != NULL);
  return 0;
#endif
}

/* Scans the whole file, then two columns, pulling every batch. */
static void scan(const char *file) {
  const char *columns[] = {"id", "amount"};
  for (int pass = 0; pass < 2; pass++) {
    struct ArrowArrayStream stream;
    OK(strata_scan(file, pass ? columns : NULL, pass ? 2 : 0, NULL, &stream));
    int64_t rows = 0;
    for (;;) {
      struct ArrowArray batch;
      CHECK(stream.get_next(&stream, &batch) == 0);
      if (batch.release == NULL) break;
      rows += batch.length;
      batch.release(&batch);
    }
    stream.release(&stream);
    CHECK(rows == 100);
  }
}

int main(int argc, char **argv) {
  CHECK(argc == 3);
  const char *file = argv[1];
  const char *required = getenv("STRATA_TEST_GLIBC_MALLOC");
  void *blocks[3] = {NULL, NULL, NULL};

  /* Before anything of strata's ran: is this glibc's malloc with its dynamic threshold? */
  const char *why = NULL;
#if defined(UNDER_ASAN)
  why = "AddressSanitizer replaces malloc";
  (void)probe_is_mapped;
#elif !defined(HAVE_MALLINFO2)
  why = "not glibc 2.33 or later (no mallinfo2)";
  (void)probe_is_mapped;
#else
  const char *tunables = getenv("GLIBC_TUNABLES");
  if (tunables != NULL && strstr(tunables, "glibc.malloc.") != NULL)
    why = "GLIBC_TUNABLES sets malloc parameters";
  else if (getenv("MALLOC_MMAP_THRESHOLD_") != NULL || getenv("MALLOC_TRIM_THRESHOLD_") != NULL)
    why = "MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_ sets malloc parameters";
  else if (!probe_is_mapped(&blocks[0]))
    why = "malloc is not glibc's with its default thresholds (valgrind?)";
#endif
  if (why != NULL) {
    if (required != NULL && strcmp(required, "required") == 0) {
      fprintf(stderr, "glibc's malloc cannot be observed here: %s\n", why);
      return 1;
    }
    printf("SKIPPED the malloc threshold checks: %s\n", why);
    scan(file);
    OK(strata_tuning_raise_malloc_thresholds());
    OK(strata_tuning_raise_malloc_thresholds());
    for (int i = 0; i < 3; i++) free(blocks[i]);
    return 0;
  }

  /* Scanning leaves the thresholds alone: a PROBE-sized block is still mapped. */
  scan(file);
  CHECK(probe_is_mapped(&blocks[1]));

  /* The host opts in: from now on the same request comes from the heap. (This is also what
   * shows the check above can fail.) Calling again changes nothing. */
  OK(strata_tuning_raise_malloc_thresholds());
  OK(strata_tuning_raise_malloc_thresholds());
  CHECK(!probe_is_mapped(&blocks[2]));
  scan(file);

  for (int i = 0; i < 3; i++) free(blocks[i]);
  printf("malloc thresholds untouched by scans; raised on request\n");
  return 0;
}
