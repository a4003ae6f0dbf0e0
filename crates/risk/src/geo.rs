//! Country coordinates (capital cities) and great-circle distances between countries.

/// Approximate coordinates (latitude, longitude) of the capital of an ISO 3166-1 alpha-2
/// country code (uppercase), for the countries card traffic commonly comes from.
pub(crate) fn capital(code: &str) -> Option<(f64, f64)> {
    Some(match code {
        "AE" => (24.45, 54.38),
        "AR" => (-34.60, -58.38),
        "AT" => (48.21, 16.37),
        "AU" => (-35.28, 149.13),
        "BE" => (50.85, 4.35),
        "BG" => (42.70, 23.32),
        "BR" => (-15.79, -47.88),
        "CA" => (45.42, -75.70),
        "CH" => (46.95, 7.45),
        "CL" => (-33.45, -70.67),
        "CN" => (39.90, 116.40),
        "CO" => (4.71, -74.07),
        "CY" => (35.17, 33.36),
        "CZ" => (50.08, 14.44),
        "DE" => (52.52, 13.40),
        "DK" => (55.68, 12.57),
        "EE" => (59.44, 24.75),
        "EG" => (30.04, 31.24),
        "ES" => (40.42, -3.70),
        "FI" => (60.17, 24.94),
        "FR" => (48.86, 2.35),
        "GB" => (51.51, -0.13),
        "GR" => (37.98, 23.73),
        "HK" => (22.32, 114.17),
        "HR" => (45.82, 15.98),
        "HU" => (47.50, 19.04),
        "ID" => (-6.21, 106.85),
        "IE" => (53.35, -6.26),
        "IL" => (31.77, 35.21),
        "IN" => (28.61, 77.21),
        "IS" => (64.15, -21.94),
        "IT" => (41.90, 12.50),
        "JP" => (35.68, 139.69),
        "KE" => (-1.29, 36.82),
        "KR" => (37.57, 126.98),
        "LT" => (54.69, 25.28),
        "LU" => (49.61, 6.13),
        "LV" => (56.95, 24.11),
        "MA" => (34.02, -6.83),
        "MT" => (35.90, 14.51),
        "MX" => (19.43, -99.13),
        "MY" => (3.139, 101.69),
        "NG" => (9.08, 7.40),
        "NL" => (52.37, 4.90),
        "NO" => (59.91, 10.75),
        "NZ" => (-41.29, 174.78),
        "PE" => (-12.05, -77.04),
        "PH" => (14.60, 120.98),
        "PK" => (33.68, 73.05),
        "PL" => (52.23, 21.01),
        "PT" => (38.72, -9.14),
        "QA" => (25.29, 51.53),
        "RO" => (44.43, 26.10),
        "RS" => (44.79, 20.45),
        "SA" => (24.71, 46.68),
        "SE" => (59.33, 18.07),
        "SG" => (1.35, 103.82),
        "SI" => (46.06, 14.51),
        "SK" => (48.15, 17.11),
        "TH" => (13.76, 100.50),
        "TR" => (39.93, 32.86),
        "TW" => (25.03, 121.57),
        "UA" => (50.45, 30.52),
        "US" => (38.91, -77.04),
        "VN" => (21.03, 105.85),
        "ZA" => (-25.75, 28.19),
        _ => return None,
    })
}

/// Great-circle distance in km between the capitals of two countries (ISO 3166-1 alpha-2,
/// case-insensitive); 0 for the same country; `None` if either country is unknown.
pub fn country_distance_km(a: &str, b: &str) -> Option<f64> {
    let (a, b) = (upper2(a)?, upper2(b)?);
    if a == b {
        return Some(0.0);
    }
    let as_str = |c: &[u8; 2]| std::str::from_utf8(c).ok().and_then(capital);
    let ((lat1, lon1), (lat2, lon2)) = (as_str(&a)?, as_str(&b)?);
    Some(haversine_km(lat1, lon1, lat2, lon2))
}

fn upper2(code: &str) -> Option<[u8; 2]> {
    match code.as_bytes() {
        [x, y] if x.is_ascii_alphabetic() && y.is_ascii_alphabetic() => {
            Some([x.to_ascii_uppercase(), y.to_ascii_uppercase()])
        }
        _ => None,
    }
}

fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        let d = country_distance_km("DE", "FR").unwrap();
        assert!((d - 878.0).abs() < 20.0, "{d}");
        let d = country_distance_km("gb", "US").unwrap();
        assert!((d - 5900.0).abs() < 100.0, "{d}");
        assert_eq!(country_distance_km("DE", "DE"), Some(0.0));
        assert_eq!(country_distance_km("DE", "XX"), None);
        assert_eq!(country_distance_km("DEU", "FR"), None);
    }
}
