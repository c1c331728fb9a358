// The simulated nodes' view of their disks: see without_options_files in world_impl.hpp.
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <unistd.h>

#include "runtime/sim/world_impl.hpp"

// glibc's get_nprocs() reads /sys/devices/system/cpu/online at every call, and RocksDB asks it
// (std::thread::hardware_concurrency, for its concurrent arenas) once per memtable: some eighty
// times per simulated node restart, ~9 % of a simulation's time. A program that links the
// simulator resolves the symbol here (an executable's definition comes first in dynamic symbol
// lookup) and reads the count once. sysconf reaches glibc's internal function, not this one.
// Only programs linking the simulator (librarian-sim, librarian-bench, the simulation tests)
// are affected; librarian-node is not.
extern "C" int get_nprocs() noexcept;
extern "C" int get_nprocs() noexcept {
  static const int online = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  return online;
}

namespace librarian::sim {
namespace {

class no_logger final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

class no_options_files_fs final : public rocksdb::FileSystemWrapper {
 public:
  explicit no_options_files_fs(const std::shared_ptr<rocksdb::FileSystem>& target)
      : FileSystemWrapper(target) {}

  const char* Name() const override { return "librarian_sim_no_options_files"; }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& fo,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    // RocksDB writes OPTIONS-NNNNNN.dbtmp, then renames it to OPTIONS-NNNNNN.
    auto slash = f.rfind('/');
    auto base = slash == std::string::npos ? f : f.substr(slash + 1);
    if (base.starts_with("OPTIONS-"))
      return rocksdb::IOStatus::NotSupported("the simulator keeps no OPTIONS files");
    return target()->NewWritableFile(f, fo, r, dbg);
  }

  // Nor an info LOG: RocksDB formats every table's options into it at each open, and nobody
  // reads a simulated node's LOG. A logger that drops everything unformatted (DB::Open fails
  // without a logger).
  rocksdb::IOStatus NewLogger(const std::string&, const rocksdb::IOOptions&,
                              std::shared_ptr<rocksdb::Logger>* r,
                              rocksdb::IODebugContext*) override {
    *r = std::make_shared<no_logger>();
    return rocksdb::IOStatus::OK();
  }
};

}  // namespace

std::shared_ptr<rocksdb::Env> without_options_files(rocksdb::Env* disk) {
  return rocksdb::NewCompositeEnv(std::make_shared<no_options_files_fs>(disk->GetFileSystem()));
}

}  // namespace librarian::sim
