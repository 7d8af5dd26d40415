# replica part: tree
