# Filesystem core unit tests, on the in-memory store.
flocker_unit_test(test_core ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_core.c TIMEOUT 300 LIBS flocker_core)
# the core's tests by module, one program: data, journal, volume
target_sources(test_core PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_data.c
                                 ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_journal.c
                                 ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_volume.c)

# Bad records in RADOS give EIO on the affected path, never a crash.
flocker_cluster_test(corrupt_records COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/corrupt_records.sh
                     ENVIRONMENT ${FLOCKER_TEST_ENV} LABELS fuse rados TIMEOUT 300)

# Huge sparse files on a real mount: unlink and truncate of a 1 TiB sparse
# file with another thread's request latency measured meanwhile, writes at the
# largest size, a sparse size past the size limit, usage by blocks.
add_executable(sparse_huge ${CMAKE_CURRENT_SOURCE_DIR}/integration/sparse_huge.c)
target_link_libraries(sparse_huge PRIVATE Threads::Threads)
flocker_cluster_test(sparse_huge COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/sparse_huge.sh
                     ENVIRONMENT ${FLOCKER_TEST_ENV} SPARSE_HUGE=$<TARGET_FILE:sparse_huge>
                     LABELS fuse rados TIMEOUT 300)

# Clones (fs/volume/clone.c, fs/store/store_layer.c) through the core, on the mem store.
flocker_unit_test(test_clone ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_clone.c TIMEOUT 120 LIBS flocker_core)

# Snapshots on the mem store: an unmounted volume, and a live core under a write load.
flocker_unit_test(test_snapshot ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_snapshot.c TIMEOUT 300 LIBS flocker_core)

# Snapshots on a real cluster and FUSE: under a write load (times printed,
# bounded at 5 s), VOL@SNAP contents, kill -9 of the writer meanwhile, fsck.
add_executable(snapload ${CMAKE_CURRENT_SOURCE_DIR}/integration/snapload.c)
target_link_libraries(snapload PRIVATE Threads::Threads)
flocker_cluster_test(snapshot_live COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/snapshot_live.sh
                     ENVIRONMENT ${FLOCKER_TEST_ENV} SNAPLOAD=$<TARGET_FILE:snapload>
                     LABELS fuse rados TIMEOUT 600)
