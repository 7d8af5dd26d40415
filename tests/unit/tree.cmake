# unit tests: tree
