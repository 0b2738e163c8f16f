// A private directory under /tmp for one test, removed with everything in it when the test is
// done, so that suites leave nothing behind and two runs never share a file.
#ifndef PARTNER_TESTS_TESTING_TEMP_DIR_H_
#define PARTNER_TESTS_TESTING_TEMP_DIR_H_

#include <string>

namespace partner::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Path(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to Path(name) and returns that path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

}  // namespace partner::testing

#endif  // PARTNER_TESTS_TESTING_TEMP_DIR_H_
