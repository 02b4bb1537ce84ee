/* Tiny assertion helpers for the C tests: print where and why, then exit non-zero. */
#ifndef STRATA_TEST_CHECK_H
#define STRATA_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata.h"

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

/* Expects STRATA_OK, printing strata's message otherwise. */
#define OK(call)                                                                 \
  do {                                                                           \
    strata_status st_ = (call);                                                  \
    if (st_ != STRATA_OK) {                                                      \
      fprintf(stderr, "%s:%d: %s returned %d: %s\n", __FILE__, __LINE__, #call,  \
              st_, strata_last_error_message());                                 \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

/* Expects exactly status `want` and a non-empty message. */
#define FAILS(want, call)                                                        \
  do {                                                                           \
    strata_status st_ = (call);                                                  \
    if (st_ != (want) || strata_last_error_message()[0] == '\0') {               \
      fprintf(stderr, "%s:%d: %s returned %d (want %d): %s\n", __FILE__,         \
              __LINE__, #call, st_, (want), strata_last_error_message());        \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

#endif
