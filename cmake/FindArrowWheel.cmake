# FindArrowWheel: Apache Arrow's C++ library (Arrow and Parquet) from the pyarrow wheel
# in var/venv (deploy/requirements.txt pins it; docs/lifecycle.md, "Datasets as Parquet").
# Debian 12 packages no Arrow, and the wheel is built with the C++11 string ABI like the
# rest of expd. The wheel ships headers and versioned libraries (libarrow.so.2500) only:
# no unversioned .so and no CMake config, so the libraries are found here by name.
#
# Defines arrow_wheel::arrow and arrow_wheel::parquet (which links arrow), and
# ArrowWheel_VERSION. CMake puts the wheel's folder into the build-tree rpath of every
# binary that links them, so they run without LD_LIBRARY_PATH.

set(EXPD_ARROW_PYTHON "${PROJECT_SOURCE_DIR}/var/venv/bin/python" CACHE FILEPATH
    "The Python whose pyarrow wheel provides Arrow's C++ library")

set(_arrow_wheel_fix "run `bash deploy/install-deps.sh` (it installs var/venv with "
                     "deploy/requirements.txt), or set EXPD_ARROW_PYTHON to a Python with pyarrow")
if(NOT EXISTS "${EXPD_ARROW_PYTHON}")
  message(FATAL_ERROR "Arrow: no Python at ${EXPD_ARROW_PYTHON} (EXPD_ARROW_PYTHON); " ${_arrow_wheel_fix})
endif()
execute_process(
  COMMAND "${EXPD_ARROW_PYTHON}" -c
          "import pyarrow; print(pyarrow.__version__); print(pyarrow.get_include()); print(';'.join(pyarrow.get_library_dirs()))"
  OUTPUT_VARIABLE _arrow_wheel_out ERROR_VARIABLE _arrow_wheel_err RESULT_VARIABLE _arrow_wheel_rc
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _arrow_wheel_rc EQUAL 0)
  string(STRIP "${_arrow_wheel_err}" _arrow_wheel_err)
  string(REGEX MATCH "[^\n]*$" _arrow_wheel_err "${_arrow_wheel_err}") # the traceback's last line
  message(FATAL_ERROR "Arrow: ${EXPD_ARROW_PYTHON} cannot import pyarrow (${_arrow_wheel_err}); "
                      ${_arrow_wheel_fix})
endif()
string(REPLACE "\n" ";" _arrow_wheel_out "${_arrow_wheel_out}")
list(POP_FRONT _arrow_wheel_out ArrowWheel_VERSION ArrowWheel_INCLUDE_DIR)

# The library `name` (arrow, parquet) as libNAME.so.<soversion> in the wheel's folders.
function(_arrow_wheel_library name out)
  foreach(dir IN LISTS _arrow_wheel_out)
    file(GLOB candidates "${dir}/lib${name}.so.*")
    list(FILTER candidates INCLUDE REGEX "/lib${name}\\.so\\.[0-9]+$")
    if(candidates)
      list(GET candidates 0 found)
      set(${out} "${found}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "Arrow: no lib${name}.so.<version> in pyarrow's folders (${_arrow_wheel_out}) of "
                      "${EXPD_ARROW_PYTHON}; " ${_arrow_wheel_fix})
endfunction()
_arrow_wheel_library(arrow ArrowWheel_ARROW_LIBRARY)
_arrow_wheel_library(parquet ArrowWheel_PARQUET_LIBRARY)
if(NOT EXISTS "${ArrowWheel_INCLUDE_DIR}/parquet/arrow/reader.h")
  message(FATAL_ERROR "Arrow: pyarrow's include folder ${ArrowWheel_INCLUDE_DIR} lacks the Parquet headers; "
                      ${_arrow_wheel_fix})
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(ArrowWheel
  REQUIRED_VARS ArrowWheel_ARROW_LIBRARY ArrowWheel_PARQUET_LIBRARY ArrowWheel_INCLUDE_DIR
  VERSION_VAR ArrowWheel_VERSION)

if(NOT TARGET arrow_wheel::arrow)
  add_library(arrow_wheel::arrow SHARED IMPORTED)
  set_target_properties(arrow_wheel::arrow PROPERTIES
    IMPORTED_LOCATION "${ArrowWheel_ARROW_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${ArrowWheel_INCLUDE_DIR}")
  add_library(arrow_wheel::parquet SHARED IMPORTED)
  set_target_properties(arrow_wheel::parquet PROPERTIES
    IMPORTED_LOCATION "${ArrowWheel_PARQUET_LIBRARY}"
    INTERFACE_LINK_LIBRARIES arrow_wheel::arrow)
endif()
