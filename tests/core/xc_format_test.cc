#include "core/xc_format.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/core/test_util.h"

namespace xmr {
namespace {

// The error message of parsing `text`, or "" if it parsed.
std::string parse_error(const std::string& text) {
  try {
    parse_xc_text(text, "data.txt");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(XcFormat, ParsesLabelsFeaturesAndLabelFreeLines) {
  XcDataset d = parse_xc_text("3 4 3\n0,2 1:0.5 3:2\n 0:1\n1 2:1.5\n", "x");
  ASSERT_EQ(d.features.rows, 3u);
  EXPECT_EQ(d.features.cols, 4u);
  EXPECT_EQ(d.labels.cols, 3u);
  EXPECT_EQ(d.labels.row_nnz(0), 2u);
  EXPECT_EQ(d.labels.row_nnz(1), 0u);
  EXPECT_EQ(d.labels.indices[2], 1u);
  EXPECT_FLOAT_EQ(d.features.values[1], 2.0f);
  EXPECT_EQ(d.features.indices[2], 0u);
}

TEST(XcFormat, LineStartingWithFeatureHasNoLabels) {
  XcDataset d = parse_xc_text("1 4 3\n2:1 3:1\n", "x");
  EXPECT_EQ(d.labels.row_nnz(0), 0u);
  EXPECT_EQ(d.features.row_nnz(0), 2u);
}

TEST(XcFormat, RepeatedLabelsAreMerged) {
  XcDataset d = parse_xc_text("1 2 3\n1,1,2 0:1\n", "x");
  EXPECT_EQ(d.labels.row_nnz(0), 2u);
  EXPECT_FLOAT_EQ(d.labels.values[0], 1.0f);
}

TEST(XcFormat, ErrorsNameFileLineAndProblem) {
  EXPECT_NE(parse_error("").find("data.txt:1: empty file"), std::string::npos);
  EXPECT_NE(parse_error("2 x 3\n").find("data.txt:1: expected feature count"), std::string::npos);
  EXPECT_NE(parse_error("1 4 3\n5 0:1\n").find("data.txt:2: label id 5 out of range"), std::string::npos);
  EXPECT_NE(parse_error("1 4 3\n0 9:1\n").find("data.txt:2: feature id 9 out of range"), std::string::npos);
  EXPECT_NE(parse_error("1 4 3\n0 1:1 1:2\n").find("data.txt:2: feature id 1 repeated"), std::string::npos);
  EXPECT_NE(parse_error("1 4 3\n0 1=1\n").find("data.txt:2: expected ':'"), std::string::npos);
  EXPECT_NE(parse_error("1 4 3\n0 1:abc\n").find("data.txt:2: expected a finite feature value"), std::string::npos);
  EXPECT_NE(parse_error("1 4 3\n0 1:nan\n").find("data.txt:2: expected a finite"), std::string::npos);
  EXPECT_NE(parse_error("2 4 3\n0 1:1\n").find("data.txt:3: file ends after 1 of 2"), std::string::npos);
  EXPECT_NE(parse_error("1 4 3\n0 1:1\n1 1:1\n").find("data.txt:3: more instance lines"), std::string::npos);
  EXPECT_NE(parse_error("1 4 3\n0;1 1:1\n").find("data.txt:2: unexpected character ';'"), std::string::npos);
  EXPECT_NE(parse_error("1 4 3 7\n").find("data.txt:1: unexpected text after header"), std::string::npos);
  EXPECT_NE(parse_error("999999999 4 3\n").find("more than the file can hold"), std::string::npos);
}

TEST(XcFormat, MissingFileIsAnError) {
  try {
    read_xc_file("/nonexistent/file.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/file.txt: cannot open"), std::string::npos);
  }
}

TEST(XcFormat, WriteThenReadRoundTrips) {
  testing::TempDir dir;
  XcDataset d = parse_xc_text("2 4 3\n0,2 1:0.123456789 3:2\n 0:1\n", "x");
  write_xc_file(dir.file("out.txt"), d);
  XcDataset back = read_xc_file(dir.file("out.txt"));
  EXPECT_EQ(back.features.indices, d.features.indices);
  EXPECT_EQ(back.features.values, d.features.values);
  EXPECT_EQ(back.labels.indices, d.labels.indices);
}

}  // namespace
}  // namespace xmr
