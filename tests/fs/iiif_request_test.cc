// IIIF Image API 3.0 request parsing, resolution and canonical form. The
// expectations come from the spec's own examples (a 300 x 200 image in
// section 4.2: "!225,100" returns 150 x 100, "^!360,360" returns 360 x 240)
// and from its canonical-form table (section 4.8).
#include "fs/iiif/iiif_request.h"

#include <gtest/gtest.h>

namespace dcmfs::iiif {
namespace {

Result<Resolved> Req(std::string_view region, std::string_view size, std::string_view rotation,
                     std::string_view qf, uint32_t w = 300, uint32_t h = 200, Limits limits = {}) {
  ASSIGN_OR_RETURN(Request request, ParseRequest(region, size, rotation, qf));
  return Resolve(request, w, h, limits);
}

std::string Canonical(std::string_view region, std::string_view size, std::string_view rotation,
                      std::string_view qf, uint32_t w = 300, uint32_t h = 200) {
  auto r = Req(region, size, rotation, qf, w, h);
  return r.ok() ? CanonicalPath(*r, w, h) : "error: " + r.status().message();
}

TEST(IiifRequestTest, SpecSizeExamples) {
  auto r = Req("full", "!225,100", "0", "default.jpg");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out_w, 150u);
  EXPECT_EQ(r->out_h, 100u);
  r = Req("full", "^!360,360", "0", "default.jpg");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out_w, 360u);
  EXPECT_EQ(r->out_h, 240u);
  r = Req("full", "150,", "0", "default.jpg");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out_h, 100u);
  r = Req("full", ",150", "0", "default.jpg");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out_w, 225u);
  r = Req("full", "pct:50", "0", "default.jpg");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out_w, 150u);
  EXPECT_EQ(r->out_h, 100u);
  r = Req("full", "225,100", "0", "default.jpg");  // distorting w,h is allowed
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out_w, 225u);
}

TEST(IiifRequestTest, UpscalingNeedsTheCaret) {
  EXPECT_FALSE(Req("full", "301,", "0", "default.jpg").ok());
  EXPECT_FALSE(Req("full", ",201", "0", "default.jpg").ok());
  EXPECT_FALSE(Req("full", "pct:120", "0", "default.jpg").ok());
  EXPECT_FALSE(Req("full", "600,400", "0", "default.jpg").ok());
  EXPECT_FALSE(Req("full", "!600,600", "0", "default.jpg").ok());  // validator size_noup
  auto r = Req("full", "^pct:200", "0", "default.jpg");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out_w, 600u);
  EXPECT_EQ(CanonicalPath(*r, 300, 200), "full/^600,400/0/default.jpg");
  r = Req("full", "^max", "0", "default.jpg");  // no limits: the full size
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out_w, 300u);
}

TEST(IiifRequestTest, Regions) {
  // square of 300 x 200: 200 x 200 centred -> x = 50.
  EXPECT_EQ(Canonical("square", "max", "0", "default.jpg"), "50,0,200,200/max/0/default.jpg");
  // A region past the edge is cropped: 250 + 100 > 300 -> width 50.
  EXPECT_EQ(Canonical("250,150,100,100", "max", "0", "default.jpg"),
            "250,150,50,50/max/0/default.jpg");
  // pct:10,10,50,50 of 300 x 200 -> 30,20,150,100.
  EXPECT_EQ(Canonical("pct:10,10,50,50", "max", "0", "default.jpg"),
            "30,20,150,100/max/0/default.jpg");
  EXPECT_EQ(Canonical("pct:0,0,100,100", "max", "0.0", "default.png"), "full/max/0/default.png");
  EXPECT_EQ(Canonical("0,0,300,200", "300,200", "360", "gray.jpg"), "full/max/0/gray.jpg");
  EXPECT_FALSE(Req("300,0,10,10", "max", "0", "default.jpg").ok());  // starts past the edge
  EXPECT_FALSE(Req("0,0,0,10", "max", "0", "default.jpg").ok());
  EXPECT_FALSE(Req("pct:100,0,10,10", "max", "0", "default.jpg").ok());
}

TEST(IiifRequestTest, CanonicalSizesAndRotations) {
  EXPECT_EQ(Canonical("full", "150,", "!90", "color.jpg"), "full/150,100/!90/color.jpg");
  EXPECT_EQ(Canonical("full", "!1000,100", "180", "bitonal.webp"), "full/150,100/180/bitonal.webp");
  EXPECT_EQ(Canonical("full", "^300,", "270", "default.jpg"), "full/max/270/default.jpg");
  auto r = Req("full", "150,", "90", "default.jpg");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->final_w(), 100u);  // rotated by 90: width and height swap
  EXPECT_EQ(r->final_h(), 150u);
}

TEST(IiifRequestTest, LimitsCapMaxAndRejectLargerSizes) {
  Limits limits;
  limits.max_width = 150;
  auto r = Req("full", "max", "0", "default.jpg", 300, 200, limits);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out_w, 150u);
  EXPECT_EQ(r->out_h, 100u);
  EXPECT_EQ(CanonicalPath(*r, 300, 200), "full/max/0/default.jpg");
  EXPECT_FALSE(Req("full", "200,", "0", "default.jpg", 300, 200, limits).ok());
}

TEST(IiifRequestTest, MalformedParametersAreRejected) {
  for (const char* region : {"", "ful", "1,2,3", "1,2,3,4,5", "-1,0,10,10", "1.5,0,10,10",
                             "pct:", "pct:a,b,c,d", "pct:+1,0,10,10", "pct:1e2,0,1,1", "0,0,10,"}) {
    EXPECT_FALSE(ParseRegion(region).ok()) << region;
  }
  for (const char* size : {"", "full", "0,", ",0", ",", "!100,", "!,100", "pct:0", "pct:", "^",
                           "^^max", "10,10,10", "abc", "pct:-5", "1234567890,"}) {
    EXPECT_FALSE(ParseSize(size).ok()) << size;
  }
  for (const char* rotation : {"", "!", "45", "-90", "361", "90deg", "!!90", "1e2"}) {
    EXPECT_FALSE(ParseRotation(rotation).ok()) << rotation;
  }
  for (const char* qf : {"default", "default.", ".jpg", "grey.jpg", "default.gif", "native.jpg",
                         "default.jpg.jpg", "DEFAULT.JPG"}) {
    EXPECT_FALSE(ParseQualityFormat(qf).ok()) << qf;
  }
}

TEST(IiifRequestTest, NumbersAreStrictDecimals) {
  auto r = ParseRegion("pct:0.5,1,99.5,99");
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->x, 0.5);
  auto rot = ParseRotation("!270.0");
  ASSERT_TRUE(rot.ok());
  EXPECT_EQ(rot->first, 270);
  EXPECT_TRUE(rot->second);
}

}  // namespace
}  // namespace dcmfs::iiif
