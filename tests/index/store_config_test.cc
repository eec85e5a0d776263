// ARCHIVE/store.conf: no file is local, S3 settings round-trip without
// secrets, credentials come from the environment or a 0600 file only.
#include "index/store_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

class StoreConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("S3_ACCESS_KEY");
    ::unsetenv("S3_SECRET_KEY");
  }
  void TearDown() override { SetUp(); }
  testing::TempDir dir_;
  ArchiveLayout layout_{dir_.path()};
};

TEST_F(StoreConfigTest, NoFileMeansLocal) {
  auto c = LoadStoreConfig(layout_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->backend, StoreConfig::Backend::kLocal);
}

TEST_F(StoreConfigTest, S3SettingsRoundTripWithoutSecrets) {
  const std::string creds = dir_.Sub("creds");
  testing::WriteFileOrDie(creds, "S3_ACCESS_KEY=AKIAEXAMPLE\nS3_SECRET_KEY=sekrit/with+chars=\n");
  ASSERT_EQ(::chmod(creds.c_str(), 0600), 0);
  StoreConfig c;
  c.backend = StoreConfig::Backend::kS3;
  c.s3.endpoint = "http://127.0.0.1:7480";
  c.s3.bucket = "archive";
  c.s3.region = "default";
  c.s3.prefix = "site-a/";
  c.s3.credentials_file = creds;
  c.s3.access_key = "AKIAEXAMPLE";
  c.s3.secret_key = "sekrit/with+chars=";
  c.s3.timeout_ms = 2500;
  ASSERT_TRUE(SaveStoreConfig(layout_, c).ok());
  const std::string text = testing::ReadFileOrEmpty(StoreConfigPath(layout_));
  EXPECT_EQ(text.find("sekrit"), std::string::npos) << text;
  EXPECT_EQ(text.find("AKIAEXAMPLE"), std::string::npos) << text;
  auto back = LoadStoreConfig(layout_);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->backend, StoreConfig::Backend::kS3);
  EXPECT_EQ(back->s3.endpoint, c.s3.endpoint);
  EXPECT_EQ(back->s3.bucket, "archive");
  EXPECT_EQ(back->s3.region, "default");
  EXPECT_EQ(back->s3.prefix, "site-a/");
  EXPECT_EQ(back->s3.timeout_ms, 2500);
  EXPECT_EQ(back->s3.access_key, "AKIAEXAMPLE");
  EXPECT_EQ(back->s3.secret_key, "sekrit/with+chars=");
  // The environment wins over the file.
  ::setenv("S3_ACCESS_KEY", "ENVKEY", 1);
  ::setenv("S3_SECRET_KEY", "envsecret", 1);
  back = LoadStoreConfig(layout_);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->s3.access_key, "ENVKEY");
}

TEST_F(StoreConfigTest, ACredentialsFileOthersCanReadIsRefused) {
  const std::string creds = dir_.Sub("creds");
  testing::WriteFileOrDie(creds, "S3_ACCESS_KEY=a\nS3_SECRET_KEY=b\n");
  ASSERT_EQ(::chmod(creds.c_str(), 0644), 0);
  testing::WriteFileOrDie(StoreConfigPath(layout_),
                          "backend = s3\nendpoint = http://h:1\nbucket = bkt\ncredentials_file = " +
                              creds + "\n");
  auto c = LoadStoreConfig(layout_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("0600"), std::string::npos) << c.status().ToString();
  EXPECT_NE(c.status().message().find(creds), std::string::npos);
}

TEST_F(StoreConfigTest, MalformedFilesNameTheFileAndLine) {
  testing::WriteFileOrDie(StoreConfigPath(layout_), "backend = s3\nendpoint http://x\n");
  auto c = LoadStoreConfig(layout_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("store.conf:2"), std::string::npos) << c.status().ToString();
  testing::WriteFileOrDie(StoreConfigPath(layout_), "backend = ftp\n");
  EXPECT_EQ(LoadStoreConfig(layout_).status().code(), StatusCode::kInvalidArgument);
  testing::WriteFileOrDie(StoreConfigPath(layout_), "backend = s3\nendpoint = http://x\n");
  EXPECT_NE(LoadStoreConfig(layout_).status().message().find("bucket"), std::string::npos);
  // No credentials anywhere: said so, not a crash or an empty key.
  testing::WriteFileOrDie(StoreConfigPath(layout_), "backend = s3\nendpoint = http://x\nbucket = b\n");
  EXPECT_NE(LoadStoreConfig(layout_).status().message().find("S3_ACCESS_KEY"), std::string::npos);
}

TEST_F(StoreConfigTest, DirectoryBackendRoundTripsAndWantsAnAbsolutePath) {
  StoreConfig c;
  c.backend = StoreConfig::Backend::kDirectory;
  c.directory = "/srv/shared/archive-store";
  ASSERT_TRUE(SaveStoreConfig(layout_, c).ok());
  auto back = LoadStoreConfig(layout_);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->backend, StoreConfig::Backend::kDirectory);
  EXPECT_EQ(back->directory, "/srv/shared/archive-store");
  testing::WriteFileOrDie(StoreConfigPath(layout_), "backend = directory\ndirectory = rel/x\n");
  auto relative = LoadStoreConfig(layout_);
  EXPECT_EQ(relative.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(relative.status().message().find("store.conf"), std::string::npos);
}

}  // namespace
}  // namespace dcmfs
