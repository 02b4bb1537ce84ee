// strata.hpp: a header-only C++17 RAII wrapper over the strata C ABI (include/strata.h).
//
// Handles are move-only and free themselves; every failing call throws strata::Error, which
// carries the strata_status and the message. Link with -lstrata as for C. A string argument
// holding a NUL byte throws STRATA_INVALID_ARGUMENT before anything reaches C (C would read
// it only up to the NUL: a key "a\0b" would name "a").
#ifndef STRATA_HPP
#define STRATA_HPP

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strata.h"

namespace strata {

// A failed strata call: what() is strata's message, status() the C status code.
class Error : public std::runtime_error {
 public:
  Error(strata_status status, const std::string &message)
      : std::runtime_error(message), status_(status) {}
  strata_status status() const noexcept { return status_; }

 private:
  strata_status status_;
};

namespace detail {
inline void check(strata_status status) {
  if (status != STRATA_OK) throw Error(status, strata_last_error_message());
}

// Copies a string strata returned and frees it, also when the copy throws.
inline std::string take(char *text) {
  struct Guard {
    char *p;
    ~Guard() { strata_string_free(p); }
  } guard{text};
  return text ? std::string(text) : std::string();
}

// `s` for a C call, refused when it holds a NUL byte (`what` names it in the message).
inline const char *arg(const std::string &s, const char *what) {
  size_t nul = s.find('\0');
  if (nul != std::string::npos) {
    throw Error(STRATA_INVALID_ARGUMENT,
                std::string(what) + " contains a NUL byte at offset " + std::to_string(nul));
  }
  return s.c_str();
}

inline const char *arg_or_null(const std::string *s, const char *what) {
  return s ? arg(*s, what) : nullptr;
}

inline std::vector<const char *> column_args(const std::vector<std::string> &columns) {
  std::vector<const char *> names;
  for (const auto &c : columns) names.push_back(arg(c, "column name"));
  return names;
}

// The status of a failed get_next, which returns an errno code. Errors in a scan's setup
// (columns, filter) never get here: strata_scan returns them with their status. Met while
// decoding: a failed read (EIO) or a feature this build lacks (ENOSYS); anything else keeps
// STRATA_INTERNAL, and the message says what happened.
inline strata_status stream_status(int rc) {
  switch (rc) {
    case EIO:
      return STRATA_IO;
    case ENOSYS:
      return STRATA_UNSUPPORTED;
    default:
      return STRATA_INTERNAL;
  }
}
}  // namespace detail

using ObjectInfo = strata_object_info;

inline std::string version() {
  const char *v = nullptr;
  detail::check(strata_version(&v));
  return v;
}

// Bytes owned by strata (an object's content, often memory-mapped; or Arrow IPC bytes).
class Bytes {
 public:
  Bytes() = default;
  Bytes(strata_bytes *handle, const uint8_t *data, size_t size) : h_(handle), data_(data), size_(size) {}
  Bytes(Bytes &&o) noexcept { *this = std::move(o); }
  Bytes &operator=(Bytes &&o) noexcept {
    if (this != &o) {
      strata_bytes_free(h_);
      h_ = std::exchange(o.h_, nullptr);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  Bytes(const Bytes &) = delete;
  Bytes &operator=(const Bytes &) = delete;
  ~Bytes() { strata_bytes_free(h_); }

  const uint8_t *data() const noexcept { return data_; }
  size_t size() const noexcept { return size_; }
  std::string_view view() const noexcept {
    return {reinterpret_cast<const char *>(data_), size_};
  }

 private:
  strata_bytes *h_ = nullptr;
  const uint8_t *data_ = nullptr;
  size_t size_ = 0;
};

// An owned Arrow C stream; released on destruction unless handed to a consuming function.
class Stream {
 public:
  Stream() : s_{} {}
  Stream(Stream &&o) noexcept : s_(o.s_) { o.s_.release = nullptr; }
  Stream &operator=(Stream &&o) noexcept {
    if (this != &o) {
      reset();
      s_ = o.s_;
      o.s_.release = nullptr;
    }
    return *this;
  }
  Stream(const Stream &) = delete;
  Stream &operator=(const Stream &) = delete;
  ~Stream() { reset(); }

  // The raw stream, for consumers such as nanoarrow or Arrow C++'s ImportRecordBatchReader.
  struct ArrowArrayStream *get() noexcept { return &s_; }
  bool released() const noexcept { return s_.release == nullptr; }

  // Pulls every batch and returns the number of rows (consumes the stream).
  int64_t count_rows() {
    int64_t rows = 0;
    for (;;) {
      struct ArrowArray batch {};
      int rc = s_.get_next(&s_, &batch);
      if (rc != 0) {
        const char *msg = s_.get_last_error(&s_);
        throw Error(detail::stream_status(rc), msg ? msg : "arrow stream error");
      }
      if (batch.release == nullptr) break;
      rows += batch.length;
      batch.release(&batch);
    }
    reset();
    return rows;
  }

  // Number of top-level columns of the stream's schema.
  int64_t columns() {
    struct ArrowSchema schema {};
    if (s_.get_schema(&s_, &schema) != 0) throw Error(STRATA_INTERNAL, "get_schema failed");
    int64_t n = schema.n_children;
    schema.release(&schema);
    return n;
  }

 private:
  void reset() noexcept {
    if (s_.release) s_.release(&s_);
    s_.release = nullptr;
  }
  struct ArrowArrayStream s_;
};

// Scans a Parquet file or dataset directory; `columns` empty for all, `filter` empty for all rows.
inline Stream scan(const std::string &path, const std::vector<std::string> &columns = {},
                   const std::string &filter = "") {
  std::vector<const char *> names = detail::column_args(columns);
  const char *p = detail::arg(path, "path");
  const char *f = detail::arg(filter, "filter");
  Stream out;
  detail::check(strata_scan(p, names.empty() ? nullptr : names.data(), names.size(), f, out.get()));
  return out;
}

// The scan as Arrow IPC stream bytes.
inline Bytes scan_ipc(const std::string &path, const std::vector<std::string> &columns = {},
                      const std::string &filter = "") {
  std::vector<const char *> names = detail::column_args(columns);
  const char *p = detail::arg(path, "path");
  const char *f = detail::arg(filter, "filter");
  strata_bytes *h = nullptr;
  const uint8_t *data = nullptr;
  size_t len = 0;
  detail::check(strata_scan_ipc(p, names.empty() ? nullptr : names.data(), names.size(), f, &h,
                                &data, &len));
  return Bytes(h, data, len);
}

inline void write_parquet(const std::string &path, Stream input) {
  detail::check(strata_write_parquet(detail::arg(path, "path"), input.get()));
}

inline std::string profile(Stream input) {
  char *json = nullptr;
  detail::check(strata_profile_stream(input.get(), &json));
  return detail::take(json);
}

inline std::string profile_file(const std::string &path) {
  char *json = nullptr;
  detail::check(strata_profile_file(detail::arg(path, "path"), &json));
  return detail::take(json);
}

inline std::string check(Stream input, const std::string &rules) {
  char *json = nullptr;
  detail::check(strata_check_stream(input.get(), detail::arg(rules, "rules"), &json));
  return detail::take(json);
}

inline std::string check_file(const std::string &path, const std::string &rules) {
  char *json = nullptr;
  detail::check(
      strata_check_file(detail::arg(path, "path"), detail::arg(rules, "rules"), &json));
  return detail::take(json);
}

// Masks `input` as `role` sees it under the policy; `keys_json` may be empty for none.
inline Stream mask(Stream input, const std::string &policy_toml, const std::string &role,
                   const std::string &keys_json = "") {
  Stream out;
  const char *policy = detail::arg(policy_toml, "policy");
  const char *r = detail::arg(role, "role");
  const char *keys = keys_json.empty() ? nullptr : detail::arg(keys_json, "keys");
  detail::check(strata_mask_stream(input.get(), policy, r, keys, out.get()));
  return out;
}

// An open lake. Thread-safe: one Lake may serve many threads.
class Lake {
 public:
  // From a TOML config text ("" for the default layout under ./strata-data).
  static Lake open(const std::string &config_toml) {
    strata_lake *h = nullptr;
    detail::check(strata_open(detail::arg(config_toml, "config"), &h));
    return Lake(h);
  }
  static Lake open_file(const std::string &config_path) {
    strata_lake *h = nullptr;
    detail::check(strata_open_file(detail::arg(config_path, "config path"), &h));
    return Lake(h);
  }
  static Lake open_dir(const std::string &dir) {
    strata_lake *h = nullptr;
    detail::check(strata_open_dir(detail::arg(dir, "dir"), &h));
    return Lake(h);
  }

  Lake(Lake &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Lake &operator=(Lake &&o) noexcept {
    if (this != &o) {
      strata_lake_free(h_);
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  Lake(const Lake &) = delete;
  Lake &operator=(const Lake &) = delete;
  ~Lake() { strata_lake_free(h_); }

  const strata_lake *handle() const noexcept { return h_; }

  ObjectInfo put(const std::string &key, const void *data, size_t size) {
    ObjectInfo info{};
    const char *k = detail::arg(key, "key");
    detail::check(strata_put(h_, k, static_cast<const uint8_t *>(data), size, &info));
    return info;
  }
  ObjectInfo put(const std::string &key, std::string_view data) {
    return put(key, data.data(), data.size());
  }

  // A copy of the object's bytes.
  std::vector<uint8_t> get(const std::string &key) {
    for (;;) {
      size_t len = 0;
      detail::check(strata_get(h_, detail::arg(key, "key"), nullptr, 0, &len));
      std::vector<uint8_t> buf(len);
      size_t got = 0;
      strata_status st = strata_get(h_, detail::arg(key, "key"), buf.data(), buf.size(), &got);
      // The object may grow between the two calls (another writer): ask again.
      if (st == STRATA_INVALID_ARGUMENT && got > buf.size()) continue;
      detail::check(st);
      buf.resize(got);
      return buf;
    }
  }

  // The object's bytes without a copy (a memory map for local tiers).
  Bytes get_bytes(const std::string &key) {
    strata_bytes *h = nullptr;
    const uint8_t *data = nullptr;
    size_t len = 0;
    detail::check(strata_get_bytes(h_, detail::arg(key, "key"), &h, &data, &len));
    return Bytes(h, data, len);
  }

  ObjectInfo stat(const std::string &key) {
    ObjectInfo info{};
    detail::check(strata_stat(h_, detail::arg(key, "key"), &info));
    return info;
  }
  std::string stat_json(const std::string &key) {
    char *json = nullptr;
    detail::check(strata_stat_json(h_, detail::arg(key, "key"), &json));
    return detail::take(json);
  }
  std::string list_json(const std::string &prefix = "") {
    char *json = nullptr;
    detail::check(strata_list_json(h_, detail::arg(prefix, "prefix"), &json));
    return detail::take(json);
  }
  void remove(const std::string &key) {
    detail::check(strata_delete(h_, detail::arg(key, "key")));
  }

  // Runs the tier policies as of `now_ms` (0: now); returns the JSON report.
  std::string tier_run(bool dry_run = false, uint64_t now_ms = 0) {
    char *json = nullptr;
    detail::check(strata_tier_run(h_, dry_run, now_ms, &json));
    return detail::take(json);
  }

  // Writes `input` as one Parquet object under `key`, through strata's format writer (the codec
  // policy of the tier the placement rules send `key` to, page index).
  ObjectInfo put_parquet(const std::string &key, Stream input) {
    ObjectInfo info{};
    detail::check(strata_put_parquet(h_, detail::arg(key, "key"), input.get(), &info));
    return info;
  }

  // Scans the lake object `key` wherever it lives (hot, cold or S3 tier, through the cache,
  // decrypted with the lake's keys), or every Parquet object under the prefix `key` as one
  // dataset with Hive partition columns: strata_lake_scan. `columns` empty for all, `filter`
  // empty for all rows. The stream holds its own share of the lake and may outlive this Lake.
  Stream scan(const std::string &key, const std::vector<std::string> &columns = {},
              const std::string &filter = "") {
    std::vector<const char *> names = detail::column_args(columns);
    const char *k = detail::arg(key, "key");
    const char *f = detail::arg(filter, "filter");
    Stream out;
    detail::check(
        strata_lake_scan(h_, k, names.empty() ? nullptr : names.data(), names.size(), f, out.get()));
    return out;
  }

  // The lake scan as Arrow IPC stream bytes.
  Bytes scan_ipc(const std::string &key, const std::vector<std::string> &columns = {},
                 const std::string &filter = "") {
    std::vector<const char *> names = detail::column_args(columns);
    const char *k = detail::arg(key, "key");
    const char *f = detail::arg(filter, "filter");
    strata_bytes *h = nullptr;
    const uint8_t *data = nullptr;
    size_t len = 0;
    detail::check(strata_lake_scan_ipc(h_, k, names.empty() ? nullptr : names.data(), names.size(),
                                       f, &h, &data, &len));
    return Bytes(h, data, len);
  }

  // Writes `input` as the dataset `prefix` (files under `prefix/`, each an object) through
  // strata's format writer; `options_json` as strata_lake_write documents it, e.g.
  // R"({"codec": "zstd:3", "partition_by": "region"})" ("" for the defaults). Returns the
  // write summary as JSON.
  std::string write(const std::string &prefix, Stream input, const std::string &options_json = "") {
    const char *p = detail::arg(prefix, "prefix");
    const char *o = options_json.empty() ? nullptr : detail::arg(options_json, "options");
    char *json = nullptr;
    detail::check(strata_lake_write(h_, p, input.get(), o, &json));
    return detail::take(json);
  }

  std::string key_new(const std::string *id = nullptr) {
    char *out = nullptr;
    detail::check(strata_key_new(h_, detail::arg_or_null(id, "key id"), &out));
    return detail::take(out);
  }
  std::string key_list() {
    char *json = nullptr;
    detail::check(strata_key_list(h_, &json));
    return detail::take(json);
  }
  std::string key_rotate() {
    char *json = nullptr;
    detail::check(strata_key_rotate(h_, &json));
    return detail::take(json);
  }

 private:
  explicit Lake(strata_lake *h) : h_(h) {}
  strata_lake *h_ = nullptr;
};

}  // namespace strata

#endif  // STRATA_HPP
