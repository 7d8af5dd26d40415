# replica part: log
