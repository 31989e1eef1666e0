# Land outlines for the evidence PDF's route map: Natural Earth's land (world-atlas land-50m, the
# dashboard's copy) cut to the rings that touch China-to-Russia longitudes and latitudes,
# coordinates rounded to 0.2 degree. Land only, no country borders (dependencies.md §8).
# Run from this directory: python3 make-land.py > land.txt
import json

LON, LAT = (15.0, 180.0), (0.0, 82.0)
data = json.load(open("../../server/assets/vendor/land-50m.geojson"))
for feature in data["features"]:
    g = feature["geometry"]
    polygons = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
    for polygon in polygons:
        for ring in polygon:
            lons = [p[0] for p in ring]
            lats = [p[1] for p in ring]
            if max(lons) < LON[0] or min(lons) > LON[1] or max(lats) < LAT[0] or min(lats) > LAT[1]:
                continue
            out = []
            for lon, lat in ring:
                p = (round(lon * 5) / 5, round(lat * 5) / 5)
                if not out or out[-1] != p:
                    out.append(p)
            if len(out) >= 4:
                print(" ".join(f"{lon:g},{lat:g}" for lon, lat in out))
