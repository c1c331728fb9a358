// Reusable block buffers: a transfer allocates its buffers once instead of once per block (large
// mallocs are fresh mmaps, and page-faulting them in costs more than copying the data).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace librarian::data {

// Leaves new elements uninitialised on resize: a block buffer is always filled by a read right
// after, and zeroing megabytes per block first costs a full extra pass over memory. Buffers are
// page-aligned, so a receiver may hand them to an O_DIRECT write.
template <class T>
struct uninitialised_allocator : std::allocator<T> {
  static constexpr std::align_val_t page{4096};
  template <class U>
  struct rebind {
    using other = uninitialised_allocator<U>;
  };
  uninitialised_allocator() = default;
  template <class U>
  uninitialised_allocator(const uninitialised_allocator<U>&) noexcept {}
  [[nodiscard]] T* allocate(size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), page));
  }
  void deallocate(T* p, size_t) noexcept { ::operator delete(p, page); }
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using block_buffer = std::vector<uint8_t, uninitialised_allocator<uint8_t>>;

class buffer_pool {
 public:
  buffer_pool(size_t buffer_bytes, size_t keep_max) : bytes_(buffer_bytes), keep_max_(keep_max) {}

  [[nodiscard]] block_buffer take() {
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        block_buffer b = std::move(free_.back());
        free_.pop_back();
        return b;
      }
    }
    block_buffer b;
    b.reserve(bytes_);
    return b;
  }

  void give(block_buffer&& b) {
    if (b.capacity() < bytes_) return;
    b.clear();
    std::lock_guard lock(mu_);
    if (free_.size() < keep_max_) free_.push_back(std::move(b));
  }

  [[nodiscard]] size_t buffer_bytes() const { return bytes_; }

 private:
  size_t bytes_;
  size_t keep_max_;
  std::mutex mu_;
  std::vector<block_buffer> free_;
};

}  // namespace librarian::data
