"""GeoJSON (RFC 7946, WGS 84 ``[lon, lat]``) validation, bounding boxes and layers."""
