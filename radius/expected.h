#pragma once
// A minimal std::expected stand-in (C++23 is not available with GCC 12): a value or an error,
// used on the data plane so that untrusted input is handled as values, never as exceptions.
#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace npsd {

template <class E>
struct unexpected {
  E error;
  explicit unexpected(E e) : error(std::move(e)) {}
};

template <class T, class E>
class expected {
 public:
  expected(T v) : v_(std::in_place_index<0>, std::move(v)) {}  // NOLINT: implicit by design
  expected(unexpected<E> e) : v_(std::in_place_index<1>, std::move(e.error)) {}  // NOLINT

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const E& error() const { assert(!has_value()); return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

}  // namespace npsd
