#include "codecs/internal/deid_values.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>

namespace dcmfs::codecs_internal {
namespace {

constexpr size_t kMinIdentifierLength = 3;  // shorter parts match everywhere

std::optional<int> Digits(std::string_view s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "YYYYMMDD" + days, or nullopt if not a valid calendar date.
std::optional<std::string> ShiftOne(std::string_view yyyymmdd, int days) {
  if (yyyymmdd.size() != 8 ||
      !std::all_of(yyyymmdd.begin(), yyyymmdd.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(*Digits(yyyymmdd.substr(0, 4))),
                                        std::chrono::month(*Digits(yyyymmdd.substr(4, 2))),
                                        std::chrono::day(*Digits(yyyymmdd.substr(6, 2)))};
  if (!ymd.ok()) return std::nullopt;
  const std::chrono::year_month_day out{std::chrono::sys_days(ymd) + std::chrono::days(days)};
  const int y = static_cast<int>(out.year());
  if (y < 1 || y > 9999) return std::nullopt;
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d%02u%02u", y, static_cast<unsigned>(out.month()),
                static_cast<unsigned>(out.day()));
  return std::string(buf);
}

// Applies `one` to each '\'-separated value of `value` (trailing padding
// dropped; the writer pads again).
template <typename Fn>
std::optional<std::string> EachValue(std::string_view value, Fn one) {
  while (!value.empty() && (value.back() == ' ' || value.back() == '\0')) value.remove_suffix(1);
  std::string out;
  size_t start = 0;
  while (true) {
    const size_t end = std::min(value.find('\\', start), value.size());
    std::string_view v = value.substr(start, end - start);
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    std::optional<std::string> shifted = one(v);
    if (!shifted) return std::nullopt;
    out += *shifted;
    if (end == value.size()) break;
    out += '\\';
    start = end + 1;
  }
  return out;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), Lower);
  return out;
}

}  // namespace

std::string Uint128ToDecimal(const std::array<uint8_t, 16>& bytes) {
  // Long division of the big-endian number by 10, one digit per pass.
  std::array<uint8_t, 16> n = bytes;
  std::string digits;
  while (std::any_of(n.begin(), n.end(), [](uint8_t b) { return b != 0; })) {
    unsigned remainder = 0;
    for (uint8_t& b : n) {
      const unsigned cur = remainder << 8 | b;
      b = static_cast<uint8_t>(cur / 10);
      remainder = cur % 10;
    }
    digits += static_cast<char>('0' + remainder);
  }
  if (digits.empty()) return "0";
  std::reverse(digits.begin(), digits.end());
  return digits;
}

std::optional<std::string> ShiftDa(std::string_view value, int days) {
  return EachValue(value, [days](std::string_view v) { return ShiftOne(v, days); });
}

std::optional<std::string> ShiftDt(std::string_view value, int days) {
  return EachValue(value, [days](std::string_view v) -> std::optional<std::string> {
    if (v.size() < 8) return std::nullopt;
    std::optional<std::string> date = ShiftOne(v.substr(0, 8), days);
    if (!date) return std::nullopt;
    return *date + std::string(v.substr(8));
  });
}

void TextCleaner::Harvest(std::string_view value, bool split_words) {
  const auto add = [this](std::string_view part) {
    while (!part.empty() && (part.front() == ' ' || part.front() == ',')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == ',' || part.back() == '\0')) {
      part.remove_suffix(1);
    }
    if (part.size() >= kMinIdentifierLength) needles_.push_back(ToLower(part));
  };
  add(value);
  size_t start = 0;
  const std::string_view separators = split_words ? "\\^= ," : "\\";
  while (start <= value.size()) {
    const size_t end = std::min(value.find_first_of(separators, start), value.size());
    add(value.substr(start, end - start));
    start = end + 1;
  }
}

void TextCleaner::Seal() {
  // Longest first, so "Doe^John" is replaced whole before "Doe".
  std::sort(needles_.begin(), needles_.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  needles_.erase(std::unique(needles_.begin(), needles_.end()), needles_.end());
}

std::string TextCleaner::Clean(std::string_view text) const {
  std::string out(text);
  for (const std::string& needle : needles_) {
    std::string lower = ToLower(out);
    std::string cleaned;
    size_t pos = 0;
    for (size_t hit; (hit = lower.find(needle, pos)) != std::string::npos; pos = hit + needle.size()) {
      cleaned.append(out, pos, hit - pos);
      cleaned += "***";
    }
    cleaned.append(out, pos, std::string::npos);
    out = std::move(cleaned);
  }
  return out;
}

}  // namespace dcmfs::codecs_internal
