// The MCS object cache (see object_cache.hpp).
#include "actors/mcs/object_cache.hpp"

#include <cstring>

namespace librarian::mcs {
namespace {

size_t heap_bytes(const std::string& s) {
  // Short strings live inside the object (libstdc++ keeps up to 15 bytes in place).
  return s.size() > 15 ? s.capacity() + 1 : 0;
}

}  // namespace

object_cache::object_cache(size_t bytes_max)
    : bytes_max_(bytes_max), top_(new std::atomic<directory*>[top_size]) {
  for (size_t i = 0; i < top_size; ++i) top_[i].store(nullptr, std::memory_order_relaxed);
}

object_cache::~object_cache() {
  clear();
  for (size_t i = 0; i < top_size; ++i) delete top_[i].load(std::memory_order_relaxed);
}

size_t object_cache::text_bytes(const object& o) {
  if (o.name.size() + o.owner.size() <= sizeof(slot::text)) return 0;
  return sizeof(long_text) + heap_bytes(o.name) + heap_bytes(o.owner) + 16;  // + malloc header
}

object_cache::page* object_cache::find_page(uint64_t pi) const {
  auto* dir = top_[pi >> dir_bits].load(std::memory_order_acquire);
  if (!dir) return nullptr;
  return dir->pages[pi & ((size_t{1} << dir_bits) - 1)].load(std::memory_order_acquire);
}

void object_cache::prefetch(uint64_t id) const {
  if (id >= id_limit) return;
  // Racy on purpose: a prefetch of a page being freed loads nothing anyone reads.
  if (auto* p = find_page(id >> slot_bits)) {
    const char* at = reinterpret_cast<const char*>(&p->slots[id & ((1u << slot_bits) - 1)]);
    __builtin_prefetch(at);
    __builtin_prefetch(at + 64);
  }
}

void object_cache::release(page* p, uint64_t pi) {
  top_[pi >> dir_bits]
      .load(std::memory_order_relaxed)
      ->pages[pi & ((size_t{1} << dir_bits) - 1)]
      .store(nullptr, std::memory_order_release);
  delete p;
  bytes_.fetch_sub(sizeof(page), std::memory_order_relaxed);
}

void object_cache::erase(uint64_t id) {
  if (id >= id_limit) return;
  const uint64_t pi = id >> slot_bits;
  std::unique_lock lock{stripe_of(pi).mutex};
  page* p = find_page(pi);
  if (!p) return;
  slot& s = p->slots[id & ((1u << slot_bits) - 1)];
  if (!s.used) return;
  if (s.heap) {
    bytes_.fetch_sub(s.heap->charged, std::memory_order_relaxed);
    delete s.heap;
    s.heap = nullptr;
  }
  s.used = 0;
  entries_.fetch_sub(1, std::memory_order_relaxed);
  if (--p->used == 0) release(p, pi);
}

bool object_cache::put(uint64_t id, object o, uint64_t valid_from) {
  if (id >= id_limit) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const uint64_t pi = id >> slot_bits;
  const size_t text = text_bytes(o);
  std::unique_lock lock{stripe_of(pi).mutex};
  page* p = find_page(pi);
  slot* s = p ? &p->slots[id & ((1u << slot_bits) - 1)] : nullptr;
  const bool replacing = s && s->used;
  size_t old_text = 0;
  if (replacing && s->heap) old_text = s->heap->charged;
  if (!replacing) {
    size_t add = text + (p ? 0 : sizeof(page));
    if (bytes_.load(std::memory_order_relaxed) + add > bytes_max_) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  }
  if (!p) {
    std::lock_guard dirs{directories_mutex_};
    auto& top = top_[pi >> dir_bits];
    auto* dir = top.load(std::memory_order_relaxed);
    if (!dir) {
      dir = new directory;
      top.store(dir, std::memory_order_release);
    }
    p = new page;
    dir->pages[pi & ((size_t{1} << dir_bits) - 1)].store(p, std::memory_order_release);
    bytes_.fetch_add(sizeof(page), std::memory_order_relaxed);
    s = &p->slots[id & ((1u << slot_bits) - 1)];
  }
  if (!replacing) {
    ++p->used;
    entries_.fetch_add(1, std::memory_order_relaxed);
  }
  delete s->heap;
  s->heap = nullptr;
  s->valid_from = valid_from;
  s->version = o.version;
  s->container = o.container;
  s->k = o.k;
  if (text == 0) {
    s->name_len = static_cast<uint16_t>(o.name.size());
    s->owner_len = static_cast<uint8_t>(o.owner.size());
    std::memcpy(s->text, o.name.data(), o.name.size());
    std::memcpy(s->text + o.name.size(), o.owner.data(), o.owner.size());
  } else {
    s->heap = new long_text{std::move(o.name), std::move(o.owner), text};
  }
  s->used = 1;
  bytes_.fetch_add(text, std::memory_order_relaxed);
  bytes_.fetch_sub(old_text, std::memory_order_relaxed);
  return true;
}

void object_cache::clear() {
  for (size_t t = 0; t < top_size; ++t) {
    auto* dir = top_[t].load(std::memory_order_acquire);
    if (!dir) continue;
    for (size_t d = 0; d < (size_t{1} << dir_bits); ++d) {
      const uint64_t pi = (uint64_t{t} << dir_bits) | d;
      if (!dir->pages[d].load(std::memory_order_acquire)) continue;
      std::unique_lock lock{stripe_of(pi).mutex};
      page* p = dir->pages[d].load(std::memory_order_relaxed);
      if (!p) continue;
      for (auto& s : p->slots) {
        if (!s.used) continue;
        entries_.fetch_sub(1, std::memory_order_relaxed);
        if (s.heap) {
          bytes_.fetch_sub(s.heap->charged, std::memory_order_relaxed);
          delete s.heap;
          s.heap = nullptr;
        }
      }
      release(p, pi);
    }
  }
}

bool object_cache::peek(uint64_t id, uint64_t as_of, object& out) const {
  if (id >= id_limit) return false;
  const uint64_t pi = id >> slot_bits;
  std::shared_lock lock{stripe_of(pi).mutex};
  const page* p = find_page(pi);
  if (!p) return false;
  const slot& s = p->slots[id & ((1u << slot_bits) - 1)];
  if (!s.used || s.valid_from > as_of) return false;
  out.k = s.k;
  out.version = s.version;
  out.container = s.container;
  if (s.heap) {
    out.name = s.heap->name;
    out.owner = s.heap->owner;
  } else {
    out.name.assign(s.text, s.name_len);
    out.owner.assign(s.text + s.name_len, s.owner_len);
  }
  return true;
}

bool object_cache::get(uint64_t id, uint64_t as_of, object& out) const {
  bool hit = peek(id, as_of, out);
  count(hit ? 1 : 0, hit ? 0 : 1);
  return hit;
}

object_cache::stats object_cache::snapshot_stats() const {
  stats st;
  st.entries = entries_.load(std::memory_order_relaxed);
  st.bytes = bytes_.load(std::memory_order_relaxed);
  st.bytes_max = bytes_max_;
  st.hits = hits_.load(std::memory_order_relaxed);
  st.misses = misses_.load(std::memory_order_relaxed);
  st.refused = refused_.load(std::memory_order_relaxed);
  return st;
}

}  // namespace librarian::mcs
