// Runs admesh (an STL checker/repairer someone else wrote) on a file and
// parses its report, so tests can assert that nothing needed repair.
#pragma once

#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "tests/support/run.h"

namespace dcmfs::mesh::testing {

struct AdmeshReport {
  bool ran = false;
  std::string output;
  // "Original" column of the facet status table and the processing
  // statistics, keyed by admesh's own label (e.g. "Edges fixed").
  std::map<std::string, long> values;
  long Get(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() ? -1 : it->second;
  }
  // Closed, manifold, consistently wound, normals right: nothing to repair.
  bool Clean() const {
    for (const char* key :
         {"Facets with 1 disconnected edge", "Facets with 2 disconnected edges",
          "Facets with 3 disconnected edges", "Total disconnected facets", "Degenerate facets",
          "Edges fixed", "Facets removed", "Facets added", "Facets reversed", "Backwards edges",
          "Normals fixed"}) {
      if (Get(key) != 0) return false;
    }
    return true;
  }
};

inline AdmeshReport RunAdmesh(const std::string& stl_path) {
  AdmeshReport report;
  auto r = dcmfs::testing::Shell("admesh " + dcmfs::testing::ShellQuote(stl_path) + " 2>&1");
  report.output = r.output;
  report.ran = r.exit_code == 0;
  std::istringstream in(r.output);
  std::string line;
  const std::regex row(R"(^\s*([A-Za-z][A-Za-z0-9 ]*?)\s*:\s*(-?\d+)\b)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, row)) report.values.emplace(m[1].str(), std::stol(m[2].str()));
  }
  return report;
}

}  // namespace dcmfs::mesh::testing
