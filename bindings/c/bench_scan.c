/* Scan cost through the Arrow C Stream against the same scan without crossing it.
 *   bench_scan FILE.parquet [RUNS]
 * "rust" times strata_scan alone: the Rust scan (decode into Arrow batches) plus wrapping them
 * in a stream, which is a constant-time step. "c stream" adds pulling every batch across the
 * Arrow C Data Interface in C and releasing it. Their ratio is the boundary's cost; the issue
 * asks for at most 1.05. tests/bindings_c.rs runs it (ignored test, use --release). */
/* clock_gettime is POSIX, not C11. */
#define _POSIX_C_SOURCE 199309L

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "strata.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int64_t drain(struct ArrowArrayStream *s) {
  int64_t rows = 0;
  struct ArrowSchema schema;
  if (s->get_schema(s, &schema) != 0) exit(1);
  schema.release(&schema);
  for (;;) {
    struct ArrowArray a;
    if (s->get_next(s, &a) != 0) exit(1);
    if (a.release == NULL) break;
    rows += a.length;
    a.release(&a);
  }
  s->release(s);
  return rows;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  int runs = argc > 2 ? atoi(argv[2]) : 7;
  if (runs < 1 || runs > 1000) return 2;
  double *rust = calloc((size_t)runs, sizeof *rust), *c = calloc((size_t)runs, sizeof *c);
  if (!rust || !c) return 1;
  int64_t rows = 0;
  for (int i = 0; i < runs; i++) {
    struct ArrowArrayStream s;
    double t0 = now_ms();
    if (strata_scan(argv[1], NULL, 0, NULL, &s) != STRATA_OK) {
      fprintf(stderr, "scan: %s\n", strata_last_error_message());
      return 1;
    }
    double t1 = now_ms();
    rows = drain(&s);
    double t2 = now_ms();
    rust[i] = t1 - t0;
    c[i] = t2 - t0;
  }
  qsort(rust, (size_t)runs, sizeof *rust, cmp);
  qsort(c, (size_t)runs, sizeof *c, cmp);
  double r = rust[runs / 2], s = c[runs / 2];
  printf("rows %lld  rust scan %.2f ms  through the C stream %.2f ms  ratio %.3f\n",
         (long long)rows, r, s, s / r);
  free(rust);
  free(c);
  return 0;
}
