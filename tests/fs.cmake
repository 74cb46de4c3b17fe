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

# Huge sparse files on a real mount: unlink and truncate of a 1 TiB sparse
# file with another thread's request latency measured meanwhile, writes at the
# largest size, a sparse size past the size limit, usage by blocks.
add_executable(sparse_huge ${CMAKE_CURRENT_SOURCE_DIR}/integration/sparse_huge.c)
target_link_libraries(sparse_huge PRIVATE Threads::Threads)
add_test(NAME sparse_huge COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/sparse_huge.sh)
set_tests_properties(sparse_huge PROPERTIES
                     LABELS "fuse;rados"
                     FIXTURES_REQUIRED ceph
                     ENVIRONMENT "${FLOCKER_TEST_ENV};SPARSE_HUGE=$<TARGET_FILE:sparse_huge>"
                     SKIP_RETURN_CODE 77
                     TIMEOUT 300)

# Clones (fs/volume/clone.c, fs/store/store_layer.c) through the core, on the mem store.
add_executable(test_clone ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_clone.c)
target_link_libraries(test_clone PRIVATE flocker_core)
add_test(NAME test_clone COMMAND test_clone)
set_tests_properties(test_clone PROPERTIES LABELS unit TIMEOUT 120)

# Snapshots on the mem store: an unmounted volume, and a live core under a write load.
add_executable(test_snapshot ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_snapshot.c)
target_link_libraries(test_snapshot PRIVATE flocker_core)
add_test(NAME test_snapshot COMMAND test_snapshot)
set_tests_properties(test_snapshot PROPERTIES LABELS unit TIMEOUT 300)

# Snapshots on a real cluster and FUSE: under a write load (times printed,
# bounded at 5 s), VOL@SNAP contents, kill -9 of the writer meanwhile, fsck.
add_executable(snapload ${CMAKE_CURRENT_SOURCE_DIR}/integration/snapload.c)
target_link_libraries(snapload PRIVATE Threads::Threads)
add_test(NAME snapshot_live COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/snapshot_live.sh)
set_tests_properties(snapshot_live PROPERTIES
                     LABELS "fuse;rados"
                     FIXTURES_REQUIRED ceph
                     ENVIRONMENT "${FLOCKER_TEST_ENV};SNAPLOAD=$<TARGET_FILE:snapload>"
                     SKIP_RETURN_CODE 77
                     TIMEOUT 600)
