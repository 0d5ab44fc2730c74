#pragma once
// Processing order of the policies in a configuration document (connection request policies
// and network policies alike): an explicit "order", or the 1-based position in the array.
// Every edit writes the orders explicitly and keeps the array sorted by them, so the file
// reads in processing order.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace npsd::npsctl {

// The effective order of each entry (explicit "order" if an integer, else its position).
std::vector<std::int64_t> effective_orders(const nlohmann::ordered_json& array);

// Indexes of the entries, by processing order (ties: array position).
std::vector<std::size_t> processing_sequence(const nlohmann::ordered_json& array);

// Writes the effective order into every entry that has none.
void make_orders_explicit(nlohmann::ordered_json& array);

// Gives entry `index` the order `order`; an entry already holding it moves one down, and so on
// as far as needed to keep orders unique (NPS inserts this way). Then sorts the array; returns
// the entry's new index.
std::size_t place_at_order(nlohmann::ordered_json& array, std::size_t index, std::int64_t order);

// Moves entry `index` to 1-based position `position` in processing order (clamped to the
// number of entries) and renumbers every entry 1..n, the others keeping their relative order.
// Returns the entry's new index.
std::size_t move_to_position(nlohmann::ordered_json& array, std::size_t index,
                             std::size_t position);

// The order after every existing one (1 for an empty array).
std::int64_t next_order(const nlohmann::ordered_json& array);

// Sorts the entries by their (explicit) order, stably.
void sort_by_order(nlohmann::ordered_json& array);

}  // namespace npsd::npsctl
