# fs/util: uuids, the mount table, formatting, pid files (label unit).
add_executable(test_util ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_util.c)
target_link_libraries(test_util PRIVATE flocker_util)
add_test(NAME test_util COMMAND test_util)
set_tests_properties(test_util PROPERTIES LABELS unit TIMEOUT 60)

# fs/util/metrics: registry, exposition text (escaping), parser, merge (label unit).
add_executable(test_metrics ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_metrics.c)
target_link_libraries(test_metrics PRIVATE flocker_util m)
add_test(NAME test_metrics COMMAND test_metrics)
set_tests_properties(test_metrics PROPERTIES LABELS unit TIMEOUT 60)
