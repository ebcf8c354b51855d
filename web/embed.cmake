# Writes OUT: a C++ source holding every file of web/ (the dashboard) as a string, so
# expd serves /dashboard without a path to its sources. Chart.js is not here: expd
# reads Debian's libjs-chart.js at start-up (--chartjs-path, docs/dashboard.md).
file(GLOB files "${WEB_DIR}/*.html" "${WEB_DIR}/*.js" "${WEB_DIR}/*.css")
list(SORT files)
set(body "#include \"runtime/web_assets.hpp\"\n\nnamespace expd::runtime {\n\n")
string(APPEND body "const std::vector<web_file>& embedded_web_files() {\n")
string(APPEND body "  static const std::vector<web_file> all{\n")
foreach(f ${files})
  get_filename_component(name "${f}" NAME)
  file(READ "${f}" text)
  string(APPEND body "    {\"${name}\", R\"expd_web(${text})expd_web\"},\n")
endforeach()
string(APPEND body "  };\n  return all;\n}\n\n} // namespace expd::runtime\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
