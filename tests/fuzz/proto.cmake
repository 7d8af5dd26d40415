# fuzz targets: proto
