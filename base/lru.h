// A size-bounded least-recently-used map. Not thread-safe: callers lock.
// Each value has a caller-given cost (usually bytes); inserting evicts the
// least recently used entries until the total cost fits `capacity`.
#pragma once

#include <cstddef>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

namespace dcmfs {

template <typename K, typename V, typename Hash = std::hash<K>>
class LruCache {
 public:
  explicit LruCache(size_t capacity) : capacity_(capacity) {}

  // Returns the value and marks it most recently used, or nullopt.
  std::optional<V> Get(const K& key) {
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->value;
  }

  // Inserts or replaces. An entry costlier than the whole capacity is not kept.
  void Put(const K& key, V value, size_t cost) {
    Erase(key);
    if (cost > capacity_) return;
    order_.push_front(Node{key, std::move(value), cost});
    map_[key] = order_.begin();
    total_ += cost;
    while (total_ > capacity_) {
      Node& last = order_.back();
      total_ -= last.cost;
      map_.erase(last.key);
      order_.pop_back();
      ++evictions_;
    }
  }

  void Erase(const K& key) {
    auto it = map_.find(key);
    if (it == map_.end()) return;
    total_ -= it->second->cost;
    order_.erase(it->second);
    map_.erase(it);
  }

  size_t total_cost() const { return total_; }
  size_t size() const { return map_.size(); }
  size_t evictions() const { return evictions_; }

 private:
  struct Node {
    K key;
    V value;
    size_t cost;
  };
  size_t capacity_;
  size_t total_ = 0;
  size_t evictions_ = 0;
  std::list<Node> order_;
  std::unordered_map<K, typename std::list<Node>::iterator, Hash> map_;
};

}  // namespace dcmfs
