# Prometheus metrics end to end (label metrics, also rados and fuse: it runs in
# CI): flocker-control and two cluster-mode agents with --metrics on the test
# cluster, a real FUSE mount written through Docker's plugin protocol,
# promtool check metrics on both outputs, flockerctl stats, and a real
# Prometheus (Debian package prometheus) whose query API must return the
# volume's bytes written.  Some 35 s.  test_metrics (tests/util.cmake) is the
# library's unit test.
flocker_cluster_test(metrics_prometheus COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/metrics/metrics_test.sh
                     ENVIRONMENT ${FLOCKER_TEST_ENV} FLOCKER_CONTROL_BIN=$<TARGET_FILE:flocker-control>
                                 FLOCKERCTL_BIN=$<TARGET_FILE:flockerctl>
                                 FLOCKER_AGENT_BIN=$<TARGET_FILE:flocker-agent>
                                 FLOCKER_MOUNT_BIN=$<TARGET_FILE:mount.flockerfs>
                     LABELS metrics rados fuse TIMEOUT 180)
