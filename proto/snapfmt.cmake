# proto part: snapfmt
