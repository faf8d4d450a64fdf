// Word lists for the demo product catalog (examples/catalog.h).
#pragma once

#include <string>
#include <vector>

namespace xmr {

struct SubDepartmentSpec {
  const char* name;
  const char* product_types;  // space-separated singular nouns; '_' joins words
};

struct DepartmentSpec {
  const char* name;
  // Splits every product type into one leaf per facet value (a 4th level),
  // e.g. "Men's"; empty: product types are the leaves.
  std::vector<const char*> facets;
  std::vector<SubDepartmentSpec> subs;
  const char* attributes;  // space-separated title words of this department
  const char* units;       // space-separated units of its measurements
};

const std::vector<DepartmentSpec>& department_specs();

}  // namespace xmr
