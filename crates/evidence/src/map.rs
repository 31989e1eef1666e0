//! The route on a map for the PDF: the places the parcel was seen, joined in time order, over
//! land outlines (no country borders: `dependencies.md` §8), as an SVG the template places.

use std::fmt::Write as _;

use ozontrack_domain::trail::Route;

/// Natural Earth land rings around China and Russia, "lon,lat" pairs, one ring per line
/// (`assets/make-land.py`).
const LAND: &str = include_str!("../assets/land.txt");

const WIDTH: f64 = 1000.0;

/// The map, or none when fewer than two places are known (a single dot says nothing).
pub(crate) fn svg(route: &Route) -> Option<String> {
    let mut places: Vec<(f64, f64)> = route
        .points
        .iter()
        .map(|p| (p.point.lon(), p.point.lat()))
        .collect();
    let destination = route.destination.map(|c| (c.lon, c.lat));
    let all: Vec<(f64, f64)> = places.iter().copied().chain(destination).collect();
    if all.len() < 2 {
        return None;
    }
    // The box around every place, with a margin and a least size so that a route inside one
    // country still shows the coast around it.
    let (mut west, mut east, mut south, mut north) = all.iter().fold(
        (f64::MAX, f64::MIN, f64::MAX, f64::MIN),
        |(w, e, s, n), (lon, lat)| (w.min(*lon), e.max(*lon), s.min(*lat), n.max(*lat)),
    );
    let pad_lon = ((east - west) * 0.15).max(4.0);
    let pad_lat = ((north - south) * 0.15).max(3.0);
    west -= pad_lon;
    east += pad_lon;
    south -= pad_lat;
    north += pad_lat;
    let squeeze = ((south + north) / 2.0).to_radians().cos().max(0.2);
    let scale = WIDTH / ((east - west) * squeeze);
    let height = ((north - south) * scale).clamp(200.0, 900.0);
    let xy = |(lon, lat): (f64, f64)| ((lon - west) * squeeze * scale, (north - lat) * scale);

    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH:.0} {height:.0}\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#eaf2f8\"/>"
    );
    for ring in LAND.lines() {
        let points: Vec<(f64, f64)> = ring
            .split(' ')
            .filter_map(|pair| {
                let (lon, lat) = pair.split_once(',')?;
                Some((lon.parse().ok()?, lat.parse().ok()?))
            })
            .collect();
        let outside = points.iter().all(|(lon, _)| *lon < west)
            || points.iter().all(|(lon, _)| *lon > east)
            || points.iter().all(|(_, lat)| *lat < south)
            || points.iter().all(|(_, lat)| *lat > north);
        if outside {
            continue;
        }
        out.push_str("<path fill=\"#f4f1e8\" stroke=\"#b9b4a6\" stroke-width=\"1\" d=\"");
        for (i, p) in points.into_iter().enumerate() {
            let (x, y) = xy(p);
            let _ = write!(out, "{}{x:.1} {y:.1}", if i == 0 { "M" } else { "L" });
        }
        out.push_str("Z\"/>");
    }
    if let Some(d) = destination {
        let (x, y) = xy(d);
        if let Some(last) = places.last().copied().filter(|l| *l != d) {
            let (lx, ly) = xy(last);
            let _ = write!(
                out,
                "<line x1=\"{lx:.1}\" y1=\"{ly:.1}\" x2=\"{x:.1}\" y2=\"{y:.1}\" stroke=\"#1f5f99\" \
                 stroke-width=\"3\" stroke-dasharray=\"8 6\"/>"
            );
        }
        let _ = write!(
            out,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"10\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"4\"/>"
        );
    }
    places.dedup();
    if places.len() > 1 {
        out.push_str("<polyline fill=\"none\" stroke=\"#1f5f99\" stroke-width=\"4\" points=\"");
        for p in &places {
            let (x, y) = xy(*p);
            let _ = write!(out, "{x:.1},{y:.1} ");
        }
        out.push_str("\"/>");
    }
    for p in &places {
        let (x, y) = xy(*p);
        let _ = write!(
            out,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"6\" fill=\"#1f5f99\"/>"
        );
    }
    out.push_str("</svg>");
    Some(out)
}
