#pragma once
// A fresh directory under $TMPDIR for one test's files, removed with everything in it
// when the test ends.

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace gocp::test {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "gocp-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::filesystem::path& path() const noexcept { return path_; }
  /// A file inside the directory.
  std::filesystem::path file(const std::string& name) const { return path_ / name; }
  /// `sqlite:////abs/dir/<name>`: a database URL for a file inside the directory.
  std::string sqlite_url(const std::string& name = "test.db") const { return "sqlite:///" + file(name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace gocp::test
