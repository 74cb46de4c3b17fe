# Filesystem core unit tests, on the in-memory store.
add_executable(test_core ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_core.c)
target_link_libraries(test_core PRIVATE flocker_core)
add_test(NAME test_core COMMAND test_core)
set_tests_properties(test_core PROPERTIES LABELS unit TIMEOUT 300)
