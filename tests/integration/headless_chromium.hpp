#pragma once

// The dashboard in headless Chromium (Debian's `chromium`, which deploy/install-deps.sh
// installs): its DOM once the page settled, and what Chromium logged.
#include <filesystem>
#include <string>

#include <unistd.h>

#include "tests/integration/expd_process.hpp"
#include "tests/support/run_command.hpp"

namespace expd::testing {

/// Chromium's binary, or "" when it is not installed.
inline std::string chromium_binary() {
  for (auto candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (std::filesystem::exists(candidate))
      return candidate;
  return "";
}

struct headless_page {
  std::string profile;   ///< the throw-away profile folder
  std::string command;   ///< chromium with the flags every load uses, then a space

  headless_page()
    : profile((std::filesystem::temp_directory_path() / ("expd-chromium-" + std::to_string(::getpid()))).string()),
      command("timeout 120 " + chromium_binary() + " --headless=new --disable-gpu --no-sandbox"
              + " --no-first-run --disable-extensions --disable-dev-shm-usage --user-data-dir=" + profile
              + " --window-size=1400,3800 --virtual-time-budget=20000 --enable-logging=stderr --v=0 ") {
  }
  ~headless_page() {
    std::filesystem::remove_all(profile);
    std::filesystem::remove(profile + ".log");
  }
  headless_page(const headless_page&) = delete;
  headless_page& operator=(const headless_page&) = delete;

  /// `url`'s DOM after its scripts ran; `log` gets Chromium's log (console lines included).
  command_output dom(const std::string& url, std::string& log) const {
    auto out = run_command(command + "--dump-dom '" + url + "' 2>" + profile + ".log");
    log = read_file(profile + ".log");
    return out;
  }
};

} // namespace expd::testing
