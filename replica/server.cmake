# replica part: server
