#include "index/internal/dicom_time.h"

#include <string>

namespace dcmfs::internal {
namespace {

// Digits only: drops ACR-NEMA separators and anything after a fraction point
// is handled by the caller.
std::string Digits(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= '0' && c <= '9') out.push_back(c);
  }
  return out;
}

int Num(const std::string& s, size_t pos, size_t len) { return std::stoi(s.substr(pos, len)); }

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
// (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

std::optional<int64_t> DicomDateTimeToEpoch(std::string_view date, std::string_view time) {
  const std::string d = Digits(date);
  if (d.size() != 8) return std::nullopt;
  const int year = Num(d, 0, 4), month = Num(d, 4, 2), day = Num(d, 6, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  int64_t seconds = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) *
                    86400;
  // TM (PS3.5 6.2): HH, HHMM, HHMMSS, HHMMSS.FFFFFF; the fraction is dropped.
  const std::string t = Digits(time.substr(0, time.find('.')));
  int hh = 0, mm = 0, ss = 0;
  if (t.size() >= 2) hh = Num(t, 0, 2);
  if (t.size() >= 4) mm = Num(t, 2, 2);
  if (t.size() >= 6) ss = Num(t, 4, 2);
  if (hh < 24 && mm < 60 && ss < 61) seconds += hh * 3600 + mm * 60 + ss;
  return seconds;
}

int64_t StudyMtime(const InstanceMeta& meta) {
  return DicomDateTimeToEpoch(meta.study_date, meta.study_time).value_or(0);
}

int64_t SeriesMtime(const InstanceMeta& meta) {
  if (auto t = DicomDateTimeToEpoch(meta.series_date, meta.series_time)) return *t;
  return StudyMtime(meta);
}

int64_t InstanceMtime(const InstanceMeta& meta) {
  if (auto t = DicomDateTimeToEpoch(meta.content_date, meta.content_time)) return *t;
  if (auto t = DicomDateTimeToEpoch(meta.acquisition_date, meta.acquisition_time)) return *t;
  return SeriesMtime(meta);
}

}  // namespace dcmfs::internal
