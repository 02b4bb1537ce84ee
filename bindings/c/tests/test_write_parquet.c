/* strata_write_parquet's output path follows the rules of every strata output file: a link
 * planted at the old predictable staging name is not followed, a character device stays a
 * device, a symlink is written through, a directory is refused, a failed write leaves the
 * target as it was and no staging file behind, and what is written is complete.
 * Usage: test_write_parquet PARQUET_FILE WORK_DIR (the file has 100 rows). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static const char *people;

static void scan(const char *path, struct ArrowArrayStream *out) {
  OK(strata_scan(path, NULL, 0, NULL, out));
}

static int64_t rows(const char *path) {
  struct ArrowArrayStream stream;
  scan(path, &stream);
  int64_t n = 0;
  for (;;) {
    struct ArrowArray batch;
    CHECK(stream.get_next(&stream, &batch) == 0);
    if (batch.release == NULL) break;
    n += batch.length;
    batch.release(&batch);
  }
  stream.release(&stream);
  return n;
}

static strata_status write_people(const char *path) {
  struct ArrowArrayStream stream;
  scan(people, &stream);
  strata_status st = strata_write_parquet(path, &stream);
  CHECK(stream.release == NULL); /* consumed, whatever the outcome */
  return st;
}

/* Whether `path` holds exactly `text`. */
static int holds(const char *path, const char *text) {
  char buf[64] = {0};
  FILE *f = fopen(path, "rb");
  if (f == NULL) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  return n == strlen(text) && memcmp(buf, text, n) == 0;
}

static void put_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  CHECK(fputs(text, f) >= 0);
  CHECK(fclose(f) == 0);
}

/* Entries of `dir` whose name contains `part`. */
static int count_named(const char *dir, const char *part) {
  DIR *d = opendir(dir);
  CHECK(d != NULL);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strstr(e->d_name, part) != NULL) n++;
  }
  closedir(d);
  return n;
}

/* A stream that hands out the first batch of a scan of `people`, then fails. */
struct failing {
  struct ArrowArrayStream inner;
  int calls;
};

static int failing_schema(struct ArrowArrayStream *s, struct ArrowSchema *out) {
  struct failing *f = s->private_data;
  return f->inner.get_schema(&f->inner, out);
}

static int failing_next(struct ArrowArrayStream *s, struct ArrowArray *out) {
  struct failing *f = s->private_data;
  if (f->calls++ == 0) return f->inner.get_next(&f->inner, out);
  return EIO;
}

static const char *failing_error(struct ArrowArrayStream *s) {
  (void)s;
  return "injected failure after the first batch";
}

static void failing_release(struct ArrowArrayStream *s) {
  struct failing *f = s->private_data;
  if (f->inner.release != NULL) f->inner.release(&f->inner);
  free(f);
  s->release = NULL;
}

static void failing_stream(struct ArrowArrayStream *out) {
  struct failing *f = calloc(1, sizeof *f);
  CHECK(f != NULL);
  scan(people, &f->inner);
  out->get_schema = failing_schema;
  out->get_next = failing_next;
  out->get_last_error = failing_error;
  out->release = failing_release;
  out->private_data = f;
}

int main(int argc, char **argv) {
  CHECK(argc == 3);
  people = argv[1];
  const char *dir = argv[2];
  char out[4096], old_tmp[4096], victim[4096], link[4096], real[4096], sub[4096];
  struct stat st, st2;

  /* A link planted where the output used to be staged (<out>.parquet.strata-tmp) is not
   * followed: its target keeps its bytes, the link stays, the output is whole. */
  snprintf(out, sizeof out, "%s/out.parquet", dir);
  snprintf(old_tmp, sizeof old_tmp, "%s/out.parquet.strata-tmp", dir);
  snprintf(victim, sizeof victim, "%s/victim.txt", dir);
  put_text(victim, "keep me");
  CHECK(symlink(victim, old_tmp) == 0);
  OK(write_people(out));
  CHECK(holds(victim, "keep me"));
  CHECK(lstat(old_tmp, &st) == 0 && S_ISLNK(st.st_mode));
  CHECK(lstat(out, &st) == 0 && S_ISREG(st.st_mode));
  CHECK(rows(out) == 100);
  CHECK(count_named(dir, ".partial") == 0);

  /* An existing file is replaced by a new one (staged and renamed, not rewritten in place)
   * that keeps its permissions. */
  CHECK(chmod(out, 0640) == 0);
  CHECK(stat(out, &st) == 0);
  OK(write_people(out));
  CHECK(stat(out, &st2) == 0);
  CHECK(st2.st_ino != st.st_ino);
  CHECK((st2.st_mode & 0777) == 0640);
  CHECK(rows(out) == 100);

  /* A failed write leaves the target as it was and no staging file behind. */
  struct ArrowArrayStream failing;
  failing_stream(&failing);
  strata_status failed = strata_write_parquet(out, &failing);
  CHECK(failed != STRATA_OK && strata_last_error_message()[0] != '\0');
  CHECK(failing.release == NULL);
  CHECK(stat(out, &st) == 0 && st.st_ino == st2.st_ino);
  CHECK(rows(out) == 100);
  CHECK(count_named(dir, ".partial") == 0);

  /* A character device is written directly: /dev/null stays a device (it used to be
   * replaced by a regular file when run as root), also reached through a link. */
  CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
  OK(write_people("/dev/null"));
  snprintf(link, sizeof link, "%s/null-link", dir);
  CHECK(symlink("/dev/null", link) == 0);
  OK(write_people(link));
  CHECK(stat("/dev/null", &st2) == 0 && S_ISCHR(st2.st_mode) && st2.st_rdev == st.st_rdev);
  CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));

  /* A symlink is written through: its target gets the file, the link stays a link. */
  snprintf(link, sizeof link, "%s/latest.parquet", dir);
  snprintf(real, sizeof real, "%s/real.parquet", dir);
  CHECK(symlink("real.parquet", link) == 0);
  OK(write_people(link));
  CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
  CHECK(lstat(real, &st) == 0 && S_ISREG(st.st_mode));
  CHECK(rows(real) == 100);

  /* A directory is refused and left as it was. */
  snprintf(sub, sizeof sub, "%s/adir", dir);
  CHECK(mkdir(sub, 0755) == 0);
  FAILS(STRATA_INVALID_ARGUMENT, write_people(sub));
  CHECK(lstat(sub, &st) == 0 && S_ISDIR(st.st_mode));
  CHECK(count_named(sub, "") == 2); /* . and .. */
  CHECK(count_named(dir, ".partial") == 0);

  printf("test_write_parquet: ok\n");
  return 0;
}
