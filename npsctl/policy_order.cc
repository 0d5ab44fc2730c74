#include "npsctl/policy_order.h"

#include <algorithm>
#include <numeric>

namespace npsd::npsctl {

using ordered_json = nlohmann::ordered_json;

std::vector<std::int64_t> effective_orders(const ordered_json& array) {
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const auto& e = array[i];
    const auto it = e.is_object() ? e.find("order") : e.end();
    if (e.is_object() && it != e.end() && it->is_number_integer())
      out.push_back(it->get<std::int64_t>());
    else
      out.push_back(static_cast<std::int64_t>(i) + 1);
  }
  return out;
}

std::vector<std::size_t> processing_sequence(const ordered_json& array) {
  const auto orders = effective_orders(array);
  std::vector<std::size_t> seq(array.size());
  std::iota(seq.begin(), seq.end(), std::size_t{0});
  std::stable_sort(seq.begin(), seq.end(),
                   [&](std::size_t a, std::size_t b) { return orders[a] < orders[b]; });
  return seq;
}

void make_orders_explicit(ordered_json& array) {
  const auto orders = effective_orders(array);
  for (std::size_t i = 0; i < array.size(); ++i)
    if (array[i].is_object()) array[i]["order"] = orders[i];
}

void sort_by_order(ordered_json& array) {
  const auto seq = processing_sequence(array);
  ordered_json sorted = ordered_json::array();
  for (const auto i : seq) sorted.push_back(std::move(array[i]));
  array = std::move(sorted);
}

namespace {

// Sorts the array; returns the new index of the entry that was at `index`.
std::size_t sort_tracking(ordered_json& array, std::size_t index) {
  const auto seq = processing_sequence(array);
  const auto pos = static_cast<std::size_t>(std::find(seq.begin(), seq.end(), index) - seq.begin());
  sort_by_order(array);
  return pos;
}

}  // namespace

std::size_t place_at_order(ordered_json& array, std::size_t index, std::int64_t order) {
  make_orders_explicit(array);
  array[index]["order"] = order;
  // The others at or after `order`, in processing order: shift each one that collides.
  std::vector<std::size_t> later;
  for (const auto i : processing_sequence(array))
    if (i != index && array[i]["order"].get<std::int64_t>() >= order) later.push_back(i);
  std::int64_t taken = order;
  for (const auto i : later) {
    const auto o = array[i]["order"].get<std::int64_t>();
    if (o > taken) break;
    array[i]["order"] = taken + 1;
    taken = taken + 1;
  }
  return sort_tracking(array, index);
}

std::size_t move_to_position(ordered_json& array, std::size_t index, std::size_t position) {
  auto seq = processing_sequence(array);
  seq.erase(std::find(seq.begin(), seq.end(), index));
  position = std::clamp<std::size_t>(position, 1, seq.size() + 1);
  seq.insert(seq.begin() + static_cast<std::ptrdiff_t>(position - 1), index);
  for (std::size_t k = 0; k < seq.size(); ++k)
    if (array[seq[k]].is_object()) array[seq[k]]["order"] = static_cast<std::int64_t>(k + 1);
  sort_by_order(array);
  return position - 1;
}

std::int64_t next_order(const ordered_json& array) {
  const auto orders = effective_orders(array);
  return orders.empty() ? 1 : *std::max_element(orders.begin(), orders.end()) + 1;
}

}  // namespace npsd::npsctl
