// The librarian's rows on disk (cereal, leading schema-version byte; storage/codec.hpp) and the
// names of its tables. Keys are order-preserving (storage/keys.hpp); each table says its key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace librarian::lib {

inline constexpr const char* files_table = "lib_files";                          // name
inline constexpr const char* files_by_time_table = "lib_files_by_time";          // i64 create, name
inline constexpr const char* files_by_checksum_table = "lib_files_by_checksum";  // sum, name
inline constexpr const char* instances_table = "lib_instances";                  // name, u64 id
inline constexpr const char* instances_by_store_table = "lib_instances_by_store";  // store,name,id
inline constexpr const char* remotes_table = "lib_remote_instances";  // name, librarian, u64 store
inline constexpr const char* remotes_by_librarian_table = "lib_remotes_by_librarian";  // lib,name,s
inline constexpr const char* stores_table = "lib_stores";            // name -> store_flags_row
inline constexpr const char* store_usage_table = "lib_store_usage";  // name -> store_usage_row
inline constexpr const char* librarians_table = "lib_librarians";    // name
inline constexpr const char* errors_table = "lib_errors";            // u64 id
inline constexpr const char* corrupt_table = "lib_corrupt_files";    // u64 id
inline constexpr const char* uploads_table = "lib_uploads";          // u64 id
inline constexpr const char* meta_table = "lib_meta";                // counter name -> counter_row

// The column families the librarian needs; the node adds them to its open_options.
[[nodiscard]] std::vector<std::string> librarian_tables();

struct file_row {
  static constexpr uint8_t schema_version = 1;
  std::string name;
  uint64_t size = 0;
  std::string checksum;
  std::string uploader;
  std::string source;
  int64_t create_unix_ms = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, size, checksum, uploader, source, create_unix_ms);
  }
};

struct instance_row {
  static constexpr uint8_t schema_version = 1;
  uint64_t id = 0;
  std::string file;
  std::string store;
  std::string path;
  bool available = true;
  std::string deletion_policy;
  int64_t created_unix_ms = 0;
  std::string cached_checksum;
  uint64_t cached_size = 0;
  int64_t checksum_unix_ms = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(id, file, store, path, available, deletion_policy, created_unix_ms, cached_checksum,
       cached_size, checksum_unix_ms);
  }
};

struct remote_instance_row {
  static constexpr uint8_t schema_version = 1;
  std::string file;
  std::string librarian;
  uint64_t store_id = 0;
  int64_t copy_unix_ms = 0;
  std::string sender;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(file, librarian, store_id, copy_unix_ms, sender);
  }
};

// What set-store-state changes; kept apart from the usage row, which only commits write, so the
// two writers never overwrite each other's fields.
struct store_flags_row {
  static constexpr uint8_t schema_version = 1;
  bool enabled = true;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(enabled);
  }
};

struct store_usage_row {
  static constexpr uint8_t schema_version = 1;
  uint64_t used_bytes = 0;
  uint64_t instances = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(used_bytes, instances);
  }
};

struct librarian_row {
  static constexpr uint8_t schema_version = 1;
  std::string name;
  std::string url;
  uint32_t port = 0;
  std::string sealed_authenticator;  // AES-256-GCM (secrets.hpp), never the clear text
  bool transfers_enabled = true;
  int64_t added_unix_ms = 0;
  int64_t last_seen_unix_ms = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, url, port, sealed_authenticator, transfers_enabled, added_unix_ms, last_seen_unix_ms);
  }
};

struct error_row {
  static constexpr uint8_t schema_version = 1;
  uint64_t id = 0;
  std::string severity;
  std::string category;
  std::string message;
  std::string caller;
  int64_t raised_unix_ms = 0;
  bool cleared = false;
  int64_t cleared_unix_ms = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(id, severity, category, message, caller, raised_unix_ms, cleared, cleared_unix_ms);
  }
};

// A copy of what was found, deliberately not a reference (the instance may go away).
struct corrupt_row {
  static constexpr uint8_t schema_version = 1;
  uint64_t id = 0;
  std::string file;
  uint64_t instance_id = 0;
  std::string path;
  int64_t corrupt_unix_ms = 0;
  uint64_t size = 0;
  std::string checksum;  // the recomputed, wrong one
  uint64_t count = 1;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(id, file, instance_id, path, corrupt_unix_ms, size, checksum, count);
  }
};

struct upload_row {
  static constexpr uint8_t schema_version = 1;
  uint64_t id = 0;
  std::string name;
  uint64_t size = 0;
  std::string checksum;
  std::string uploader;
  std::string deletion_policy;
  std::string store;
  std::string staging_dir;
  std::string staging_file;
  int64_t created_unix_ms = 0;
  int64_t expires_unix_ms = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(id, name, size, checksum, uploader, deletion_policy, store, staging_dir, staging_file,
       created_unix_ms, expires_unix_ms);
  }
};

struct counter_row {
  static constexpr uint8_t schema_version = 1;
  uint64_t value = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(value);
  }
};

}  // namespace librarian::lib
