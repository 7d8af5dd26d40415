# fuzz targets: snapfmt
