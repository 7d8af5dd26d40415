# proto part: jute cursors and ZooKeeper's client records, transactions.
add_library(zabfs_proto STATIC jute.c)
target_compile_options(zabfs_proto PRIVATE ${ZABFS_WARNINGS})
target_link_libraries(zabfs_proto PUBLIC zabfs_err)
