# fuzz targets: logfmt
