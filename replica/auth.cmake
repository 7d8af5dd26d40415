# replica part: auth
