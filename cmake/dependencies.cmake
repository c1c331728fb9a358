# Dependencies come from Debian 12 packages (scripts/install-deps.sh installs them).
# libcaf-dev ships no CMake config, so CAF is found by hand.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
find_library(CAF_IO_LIBRARY caf_io REQUIRED)
add_library(librarian_caf INTERFACE)
target_include_directories(librarian_caf SYSTEM INTERFACE ${CAF_INCLUDE_DIR})
target_link_libraries(librarian_caf INTERFACE ${CAF_IO_LIBRARY} ${CAF_CORE_LIBRARY})

find_package(RocksDB CONFIG REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(cereal REQUIRED)
find_package(doctest REQUIRED)
find_package(Threads REQUIRED)

find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
add_library(librarian_cli11 INTERFACE)
target_include_directories(librarian_cli11 SYSTEM INTERFACE ${CLI11_INCLUDE_DIR})

find_path(XXHASH_INCLUDE_DIR xxhash.h REQUIRED)
find_library(XXHASH_LIBRARY xxhash REQUIRED)
add_library(librarian_xxhash INTERFACE)
target_include_directories(librarian_xxhash SYSTEM INTERFACE ${XXHASH_INCLUDE_DIR})
target_link_libraries(librarian_xxhash INTERFACE ${XXHASH_LIBRARY})

# jemalloc, RocksDB's recommended allocator, for the programs that run nodes (librarian-node,
# librarian-sim, librarian-bench): less fragmentation under memtables and the block cache, and
# ~10 % less time in allocation-heavy paths (node restarts in simulation; docs/benchmarks.md).
# Linked as a shared library, it replaces malloc for the whole process.
find_library(JEMALLOC_LIBRARY jemalloc REQUIRED)
add_library(librarian_allocator INTERFACE)
target_link_libraries(librarian_allocator INTERFACE -Wl,--push-state,--no-as-needed
                                                    ${JEMALLOC_LIBRARY} -Wl,--pop-state)
