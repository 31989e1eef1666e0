// Converts world-atlas land TopoJSON to GeoJSON with coordinates rounded to 0.01°.
const topo = require('topojson-client');
const fs = require('fs');
const [src, dst] = process.argv.slice(2);
const t = JSON.parse(fs.readFileSync(src));
const g = topo.feature(t, t.objects.land);
const round = (c) => Array.isArray(c[0]) ? c.map(round) : [Math.round(c[0]*100)/100, Math.round(c[1]*100)/100];
for (const f of (g.features || [g])) f.geometry.coordinates = round(f.geometry.coordinates);
fs.writeFileSync(dst, JSON.stringify(g));
