//! Coordinates, checked once: a latitude of 200 from a carrier is a bug, not a place.

use crate::ParseError;

/// A point on the map in WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    lat: f64,
    lon: f64,
}

impl GeoPoint {
    pub fn new(lat: f64, lon: f64) -> Result<Self, ParseError> {
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            let text = format!("{lat},{lon}");
            return Err(ParseError::new(
                "coordinates",
                &text,
                "latitude or longitude out of range",
            ));
        }
        Ok(Self { lat, lon })
    }

    /// For coordinates from this crate's own tables, which a test checks once.
    pub(crate) const fn from_table(lat: f64, lon: f64) -> Self {
        Self { lat, lon }
    }

    pub fn lat(self) -> f64 {
        self.lat
    }

    pub fn lon(self) -> f64 {
        self.lon
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_out_of_range_or_nan_are_refused() {
        assert!(GeoPoint::new(55.75, 37.62).is_ok());
        assert!(GeoPoint::new(91.0, 0.0).is_err());
        assert!(GeoPoint::new(0.0, -181.0).is_err());
        assert!(GeoPoint::new(f64::NAN, 0.0).is_err());
    }
}
