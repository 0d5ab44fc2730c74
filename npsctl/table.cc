#include "npsctl/table.h"

#include <fmt/core.h>

#include <algorithm>

namespace npsd::npsctl {

void print_table(const std::vector<table_row>& rows) {
  if (rows.empty()) return;
  const std::size_t columns = rows.front().size();
  std::vector<std::size_t> width(columns, 0);
  for (const auto& r : rows)
    for (std::size_t c = 0; c < columns && c < r.size(); ++c)
      width[c] = std::max(width[c], r[c].size());
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t c = 0; c + 1 < columns; ++c)
      line += fmt::format("{:<{}}  ", c < r.size() ? r[c] : std::string(), width[c]);
    if (columns > 0 && r.size() >= columns) line += r[columns - 1];
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print("{}\n", line);
  }
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += separator;
    out += s;
  }
  return out;
}

}  // namespace npsd::npsctl
