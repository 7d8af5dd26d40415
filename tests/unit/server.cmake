# unit tests: server
