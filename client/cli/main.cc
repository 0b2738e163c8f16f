// partnerctl: the reference CLI of partner-gateway (see client/cli/README.md).
#include <iostream>
#include <string>
#include <vector>

#include "client/cli/app.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return partner::cli::RunPartnerctl(args, std::cout, std::cerr);
}
