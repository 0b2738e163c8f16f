// Walks every page of a paged list RPC (page_token in, next_page_token out).
#ifndef PARTNER_CLIENT_PAGING_H_
#define PARTNER_CLIENT_PAGING_H_

#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace partner::client {

/// Calls `fetch(request)` (returning absl::StatusOr<Response>) for the first page and then for
/// each next_page_token, handing every page to `on_page(Response&)`, until a page has no token.
/// The request's other fields are kept from page to page, as the paging contract requires.
/// @return the first failed page's status; INTERNAL if the server repeats a page token (it
///         would otherwise loop forever and return items twice).
template <typename Request, typename Fetch, typename OnPage>
absl::Status ForEachPage(Request request, Fetch&& fetch, OnPage&& on_page) {
  std::set<std::string> seen;
  while (true) {
    auto page = fetch(request);
    if (!page.ok()) return page.status();
    std::string token = page->next_page_token();
    on_page(*page);
    if (token.empty()) return absl::OkStatus();
    if (!seen.insert(token).second) {
      return absl::InternalError(absl::StrCat("the server repeated page token \"", token, "\""));
    }
    request.set_page_token(std::move(token));
  }
}

}  // namespace partner::client

#endif  // PARTNER_CLIENT_PAGING_H_
