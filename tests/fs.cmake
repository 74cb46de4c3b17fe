# Filesystem core unit tests, on the in-memory store.
add_executable(test_core ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_core.c)
target_link_libraries(test_core PRIVATE flocker_core)
add_test(NAME test_core COMMAND test_core)
set_tests_properties(test_core PROPERTIES LABELS unit TIMEOUT 300)

# Bad records in RADOS give EIO on the affected path, never a crash.
add_test(NAME corrupt_records COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/corrupt_records.sh)
set_tests_properties(corrupt_records PROPERTIES
                     LABELS "fuse;rados"
                     FIXTURES_REQUIRED ceph
                     ENVIRONMENT "${FLOCKER_TEST_ENV}"
                     SKIP_RETURN_CODE 77
                     TIMEOUT 300)
