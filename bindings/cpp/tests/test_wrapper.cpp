// Tests of the C++ wrapper: RAII, moves, exceptions with status codes, streams.
// Usage: test_wrapper PARQUET_FILE WORK_DIR ENCRYPTED_LAKE_DIR (tests/bindings_cpp.rs writes
// the file, id 0..99 and amount id * 1.5 among its columns, and makes the lake, holding the
// file's rows as secure/people.parquet with Parquet modular encryption under its own keys).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

using namespace std::string_literals;

#include "strata.hpp"

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::exit(1);                                                              \
    }                                                                            \
  } while (0)

// Runs `body`, expecting strata::Error with `status`.
template <typename F>
static void expect_error(strata_status status, F body) {
  try {
    body();
  } catch (const strata::Error &e) {
    CHECK(e.status() == status);
    CHECK(std::string(e.what()).size() > 0);
    return;
  }
  std::fprintf(stderr, "expected strata::Error %d\n", status);
  std::exit(1);
}

// Runs `body`, expecting strata::Error with `status` and a message containing `needle`.
template <typename F>
static void expect_error_naming(strata_status status, const std::string &needle, F body) {
  try {
    body();
  } catch (const strata::Error &e) {
    if (e.status() != status || std::string(e.what()).find(needle) == std::string::npos) {
      std::fprintf(stderr, "want status %d naming '%s', got %d: %s\n", status, needle.c_str(),
                   e.status(), e.what());
      std::exit(1);
    }
    return;
  }
  std::fprintf(stderr, "expected strata::Error %d naming '%s'\n", status, needle.c_str());
  std::exit(1);
}

// Row count and sums of a stream of (int64, float64) columns, read to the end.
struct Sums {
  int64_t rows = 0;
  int64_t ids = 0;
  double amounts = 0;
  bool operator==(const Sums &o) const {
    return rows == o.rows && ids == o.ids && amounts == o.amounts;
  }
};

static Sums sums(strata::Stream s) {
  CHECK(s.columns() == 2);
  Sums out;
  struct ArrowArrayStream *raw = s.get();
  for (;;) {
    struct ArrowArray batch {};
    CHECK(raw->get_next(raw, &batch) == 0);
    if (batch.release == nullptr) break;
    const struct ArrowArray *ids = batch.children[0];
    const struct ArrowArray *amounts = batch.children[1];
    for (int64_t i = 0; i < batch.length; i++) {
      out.ids += static_cast<const int64_t *>(ids->buffers[1])[ids->offset + i];
      out.amounts += static_cast<const double *>(amounts->buffers[1])[amounts->offset + i];
    }
    out.rows += batch.length;
    batch.release(&batch);
  }
  return out;
}

static_assert(!std::is_copy_constructible_v<strata::Lake>, "Lake is move-only");
static_assert(std::is_nothrow_move_constructible_v<strata::Lake>, "Lake moves");
static_assert(!std::is_copy_constructible_v<strata::Bytes>, "Bytes is move-only");
static_assert(!std::is_copy_constructible_v<strata::Stream>, "Stream is move-only");

int main(int argc, char **argv) {
  CHECK(argc == 4);
  const std::string file = argv[1];
  const std::string work = argv[2];
  const std::string encrypted = argv[3];
  CHECK(!strata::version().empty());

  strata::Lake lake = strata::Lake::open_dir(work + "/lake");
  auto info = lake.put("a/b.txt", std::string_view("hello, lake"));
  CHECK(info.size == 11);
  auto copy = lake.get("a/b.txt");
  CHECK(std::string(copy.begin(), copy.end()) == "hello, lake");
  {
    strata::Bytes bytes = lake.get_bytes("a/b.txt");
    strata::Bytes moved = std::move(bytes);
    CHECK(moved.view() == "hello, lake");
    CHECK(bytes.size() == 0);
  }
  CHECK(lake.stat("a/b.txt").size == 11);
  CHECK(lake.list_json("a/").find("a/b.txt") != std::string::npos);
  CHECK(lake.tier_run(true).find("\"dry_run\":true") != std::string::npos);

  expect_error(STRATA_NOT_FOUND, [&] { lake.get("missing"); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { lake.put("../escape", "x"); });
  expect_error(STRATA_CONFIG, [] { strata::Lake::open("dir = ["); });
  lake.remove("a/b.txt");
  expect_error(STRATA_NOT_FOUND, [&] { lake.remove("a/b.txt"); });

  // Moving a lake leaves the source empty and the target working.
  strata::Lake other = std::move(lake);
  other.put("c", std::string_view("1"));
  lake = std::move(other);
  CHECK(lake.get("c").size() == 1);

  // Streams.
  strata::Stream s = strata::scan(file, {"id", "email"}, "id < 10");
  CHECK(s.columns() == 2);
  CHECK(s.count_rows() == 10);
  CHECK(s.released());
  CHECK(strata::scan(file).count_rows() == 100);
  expect_error(STRATA_INVALID_ARGUMENT, [&] { strata::scan(file, {}, "id >>> 1"); });

  const std::string copy_path = work + "/copy.parquet";
  strata::write_parquet(copy_path, strata::scan(file));
  CHECK(strata::scan(copy_path).count_rows() == 100);
  CHECK(lake.put_parquet("t/people.parquet", strata::scan(file)).size > 0);

  CHECK(strata::profile(strata::scan(file)).find("\"rows\":100") != std::string::npos);
  CHECK(strata::profile_file(file).find("\"amount\"") != std::string::npos);
  const std::string rules = "[[rules]]\ncheck = \"not_null\"\ncolumn = \"id\"\n";
  CHECK(strata::check(strata::scan(file), rules).find("\"passed\":true") != std::string::npos);
  CHECK(strata::check_file(file, rules).find("\"passed\":true") != std::string::npos);

  const std::string policy = "[columns.email]\nmask = { op = \"redact\" }\n";
  strata::Stream masked = strata::mask(strata::scan(file), policy, "analyst");
  CHECK(masked.count_rows() == 100);

  strata::Bytes ipc = strata::scan_ipc(file, {"id"});
  CHECK(ipc.size() > 8);

  // Keys and encryption: a new key, then an encrypted object under the config's prefix.
  std::string key_id = lake.key_new();
  CHECK(!key_id.empty());
  CHECK(lake.key_list().find(key_id) != std::string::npos);
  CHECK(lake.key_rotate().find("\"rewrapped\":0") != std::string::npos);

  // A bad scan setup: the status strata_scan returns (and the C tests and Go see), thrown by
  // scan() itself, never by count_rows() later; the same through scan_ipc().
  const std::vector<std::string> all;
  expect_error_naming(STRATA_NOT_FOUND, "nope", [&] { strata::scan(file, all, "nope = 1"); });
  expect_error_naming(STRATA_NOT_FOUND, "nope", [&] { strata::scan_ipc(file, all, "nope = 1"); });
  expect_error_naming(STRATA_INVALID_ARGUMENT, "column id",
                      [&] { strata::scan(file, all, "id = 'abc'"); });
  expect_error_naming(STRATA_INVALID_ARGUMENT, "column id",
                      [&] { strata::scan_ipc(file, all, "id = 'abc'"); });
  expect_error_naming(STRATA_INVALID_ARGUMENT, "'>'", [&] { strata::scan(file, all, "id >>> 3"); });
  expect_error_naming(STRATA_INVALID_ARGUMENT, "'>'",
                      [&] { strata::scan_ipc(file, all, "id >>> 3"); });
  expect_error_naming(STRATA_NOT_FOUND, "nope", [&] { strata::scan(file, {"id", "nope"}); });
  expect_error_naming(STRATA_NOT_FOUND, "nope", [&] { strata::scan_ipc(file, {"id", "nope"}); });
  std::string deep = std::string(20000, '(') + "id < 10" + std::string(20000, ')');
  expect_error_naming(STRATA_INVALID_ARGUMENT, "256", [&] { strata::scan(file, all, deep); });

  // Lake objects: a dataset written from a stream, demoted to the cold tier, scanned projected
  // and filtered: the rows of the same scan of the file.
  const std::string filter = "id >= 37 AND amount < 120";
  const std::vector<std::string> id_amount = {"id", "amount"};
  const Sums expected = sums(strata::scan(file, id_amount, filter));
  CHECK(expected.rows == 43);
  {
    strata::Lake cold = strata::Lake::open(
        "dir = \"" + work + "/cold-lake\"\n"
        "[[tiers]]\nname = \"hot\"\nkind = \"local\"\n"
        "[[tiers]]\nname = \"cold\"\nkind = \"local\"\n"
        "[[lifecycle]]\nprefix = \"\"\ndemote_after_age = \"0s\"\n");
    std::string summary =
        cold.write("people", strata::scan(file), R"({"codec": "zstd:3", "row_group_rows": 30})");
    CHECK(summary.find("\"rows\":100") != std::string::npos);
    CHECK(summary.find("\"path\":\"people/part-") != std::string::npos);
    CHECK(cold.tier_run().find("\"moved\":1,") != std::string::npos);
    CHECK(cold.list_json("people/").find("\"tier\":\"cold\"") != std::string::npos);
    CHECK(sums(cold.scan("people", id_amount, filter)) == expected);
    CHECK(cold.scan_ipc("people", {"id"}, "id < 3").size() > 8);
    expect_error_naming(STRATA_NOT_FOUND, "nothing", [&] { cold.scan("nothing"); });
    expect_error_naming(STRATA_NOT_FOUND, "nope", [&] { cold.scan("people", {"nope"}); });
    expect_error_naming(STRATA_INVALID_ARGUMENT, "codek",
                        [&] { cold.write("x", strata::scan(file), R"({"codek": "zstd"})"); });
    expect_error_naming(STRATA_INVALID_ARGUMENT, "row_group_rows",
                        [&] { cold.write("x", strata::scan(file), R"({"row_group_rows": 0})"); });
    expect_error(STRATA_INVALID_ARGUMENT, [&] { cold.scan("people\0x"s); });
    expect_error(STRATA_INVALID_ARGUMENT, [&] { cold.write("x\0y"s, strata::scan(file)); });
    expect_error(STRATA_INVALID_ARGUMENT,
                 [&] { cold.write("x", strata::scan(file), "{}\0"s); });
    // A stream outlives the lake it came from.
    strata::Stream later = cold.scan("people", id_amount);
    { strata::Lake gone = std::move(cold); }
    CHECK(sums(std::move(later)).rows == 100);
  }
  {
    // Parquet modular encryption, read with the lake's own keys.
    strata::Lake secure = strata::Lake::open_dir(encrypted);
    CHECK(sums(secure.scan("secure/people.parquet", id_amount, filter)) == expected);
  }

  // Strings holding a NUL byte are refused before they reach C, where they would be cut short.
  const std::string nul_key = "nul\0inside"s;
  expect_error_naming(STRATA_INVALID_ARGUMENT, "NUL", [&] { lake.put(nul_key, "x"); });
  expect_error(STRATA_NOT_FOUND, [&] { lake.stat("nul"); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { lake.put(nul_key, "x", 1); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { lake.get(nul_key); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { lake.get_bytes(nul_key); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { lake.stat(nul_key); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { lake.stat_json(nul_key); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { lake.list_json(nul_key); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { lake.remove(nul_key); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { lake.put_parquet(nul_key, strata::scan(file)); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { lake.key_new(&nul_key); });
  const std::string nul_path = file + std::string(1, '\0') + "x";
  expect_error(STRATA_INVALID_ARGUMENT, [&] { strata::scan(nul_path); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { strata::scan(file, {nul_key}); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { strata::scan(file, all, "id < 10\0 OR id > 0"s); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { strata::scan_ipc(nul_path); });
  expect_error(STRATA_INVALID_ARGUMENT,
               [&] { strata::write_parquet(work + "/x\0.parquet"s, strata::scan(file)); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { strata::profile_file(nul_path); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { strata::check(strata::scan(file), rules + '\0'); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { strata::check_file(nul_path, rules); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { strata::check_file(file, rules + '\0'); });
  expect_error(STRATA_INVALID_ARGUMENT,
               [&] { strata::mask(strata::scan(file), policy + '\0', "analyst"); });
  expect_error(STRATA_INVALID_ARGUMENT,
               [&] { strata::mask(strata::scan(file), policy, "analyst\0"s); });
  expect_error(STRATA_INVALID_ARGUMENT,
               [&] { strata::mask(strata::scan(file), policy, "analyst", "{}\0"s); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { strata::Lake::open("dir = 'x'\0"s); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { strata::Lake::open_file(nul_path); });
  expect_error(STRATA_INVALID_ARGUMENT, [&] { strata::Lake::open_dir(work + "/lake\0x"s); });

  std::puts("test_wrapper: ok");
  return 0;
}
