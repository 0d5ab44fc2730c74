#pragma once
// Readable tables for npsctl's list commands: columns padded to their widest cell, two spaces
// apart; the last column is not padded (it may be long).
#include <string>
#include <vector>

namespace npsd::npsctl {

using table_row = std::vector<std::string>;

// Prints `rows` (the first is the header) on standard output. Rows may be shorter than the
// header; missing cells are empty.
void print_table(const std::vector<table_row>& rows);

// "a, b, c"
std::string join(const std::vector<std::string>& items, const char* separator = ", ");

}  // namespace npsd::npsctl
