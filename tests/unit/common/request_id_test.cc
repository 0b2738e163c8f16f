#include "server/common/request_id.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace partner {
namespace {

using ::testing::MatchesRegex;

// RFC 4122 version 4: lower-case hex, the version digit 4, the variant digit 8, 9, a or b.
constexpr char kVersion4Guid[] = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

TEST(RequestIdTest, EveryIdIsAVersion4Guid) {
  for (int i = 0; i < 1000; ++i) ASSERT_THAT(NewRequestId(), MatchesRegex(kVersion4Guid));
}

TEST(RequestIdTest, EveryRandomDigitVaries) {
  // A digit written from the wrong bits (or not at all) would stay the same in every id.
  std::vector<absl::flat_hash_set<char>> seen(36);
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewRequestId();
    for (std::size_t at = 0; at < id.size(); ++at) seen[at].insert(id[at]);
  }
  for (std::size_t at = 0; at < seen.size(); ++at) {
    if (at == 8 || at == 13 || at == 18 || at == 23 || at == 14) {
      EXPECT_EQ(seen[at].size(), 1u) << "position " << at << " is fixed";
    } else if (at == 19) {
      EXPECT_EQ(seen[at].size(), 4u) << "the variant digit takes 8, 9, a and b";
    } else {
      EXPECT_EQ(seen[at].size(), 16u) << "position " << at;
    }
  }
}

TEST(RequestIdTest, IdsFromManyThreadsAreDistinct) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&made, t] {
      for (int i = 0; i < kPerThread; ++i) made[t].push_back(NewRequestId());
    });
  }
  for (std::thread& thread : threads) thread.join();
  absl::flat_hash_set<std::string> distinct;
  for (const std::vector<std::string>& ids : made) distinct.insert(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace partner
