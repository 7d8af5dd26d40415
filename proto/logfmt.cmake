# proto part: logfmt
