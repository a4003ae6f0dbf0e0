//! Country coordinates (capital cities) and great-circle distances between countries.

/// Approximate coordinates (latitude, longitude) of the capital of an ISO 3166-1 alpha-2
/// country code (uppercase): every inhabited country and territory the standard assigns a
/// code to, and Kosovo's user-assigned `XK`. Only the uninhabited `AQ`, `BV`, `HM` and `UM`
/// are left out: no card is used in person there.
pub(crate) fn capital(code: &str) -> Option<(f64, f64)> {
    Some(match code {
        "AD" => (42.51, 1.52),
        "AE" => (24.45, 54.38),
        "AF" => (34.53, 69.17),
        "AG" => (17.12, -61.85),
        "AI" => (18.22, -63.06),
        "AL" => (41.33, 19.82),
        "AM" => (40.18, 44.51),
        "AO" => (-8.84, 13.23),
        "AR" => (-34.60, -58.38),
        "AS" => (-14.28, -170.70),
        "AT" => (48.21, 16.37),
        "AU" => (-35.28, 149.13),
        "AW" => (12.52, -70.03),
        "AX" => (60.10, 19.94),
        "AZ" => (40.41, 49.87),
        "BA" => (43.86, 18.41),
        "BB" => (13.10, -59.62),
        "BD" => (23.81, 90.41),
        "BE" => (50.85, 4.35),
        "BF" => (12.37, -1.53),
        "BG" => (42.70, 23.32),
        "BH" => (26.23, 50.59),
        "BI" => (-3.43, 29.93),
        "BJ" => (6.50, 2.60),
        "BL" => (17.90, -62.85),
        "BM" => (32.29, -64.78),
        "BN" => (4.90, 114.94),
        "BO" => (-16.50, -68.15),
        "BQ" => (12.15, -68.27),
        "BR" => (-15.79, -47.88),
        "BS" => (25.05, -77.35),
        "BT" => (27.47, 89.64),
        "BW" => (-24.65, 25.91),
        "BY" => (53.90, 27.57),
        "BZ" => (17.25, -88.77),
        "CA" => (45.42, -75.70),
        "CC" => (-12.19, 96.83),
        "CD" => (-4.32, 15.31),
        "CF" => (4.39, 18.56),
        "CG" => (-4.27, 15.28),
        "CH" => (46.95, 7.45),
        "CI" => (6.83, -5.29),
        "CK" => (-21.21, -159.78),
        "CL" => (-33.45, -70.67),
        "CM" => (3.85, 11.50),
        "CN" => (39.90, 116.40),
        "CO" => (4.71, -74.07),
        "CR" => (9.93, -84.08),
        "CU" => (23.11, -82.37),
        "CV" => (14.93, -23.51),
        "CW" => (12.11, -68.93),
        "CX" => (-10.42, 105.68),
        "CY" => (35.17, 33.36),
        "CZ" => (50.08, 14.44),
        "DE" => (52.52, 13.40),
        "DJ" => (11.59, 43.15),
        "DK" => (55.68, 12.57),
        "DM" => (15.30, -61.39),
        "DO" => (18.49, -69.93),
        "DZ" => (36.75, 3.06),
        "EC" => (-0.18, -78.47),
        "EE" => (59.44, 24.75),
        "EG" => (30.04, 31.24),
        "EH" => (27.15, -13.20),
        "ER" => (15.32, 38.93),
        "ES" => (40.42, -3.70),
        "ET" => (9.03, 38.74),
        "FI" => (60.17, 24.94),
        "FJ" => (-18.14, 178.44),
        "FK" => (-51.70, -57.85),
        "FM" => (6.92, 158.16),
        "FO" => (62.01, -6.77),
        "FR" => (48.86, 2.35),
        "GA" => (0.39, 9.45),
        "GB" => (51.51, -0.13),
        "GD" => (12.05, -61.75),
        "GE" => (41.72, 44.79),
        "GF" => (4.92, -52.31),
        "GG" => (49.46, -2.54),
        "GH" => (5.60, -0.19),
        "GI" => (36.14, -5.35),
        "GL" => (64.18, -51.72),
        "GM" => (13.45, -16.58),
        "GN" => (9.64, -13.58),
        "GP" => (16.00, -61.73),
        "GQ" => (3.75, 8.78),
        "GR" => (37.98, 23.73),
        "GS" => (-54.28, -36.51),
        "GT" => (14.63, -90.51),
        "GU" => (13.47, 144.75),
        "GW" => (11.86, -15.60),
        "GY" => (6.80, -58.16),
        "HK" => (22.32, 114.17),
        "HN" => (14.07, -87.19),
        "HR" => (45.82, 15.98),
        "HT" => (18.54, -72.34),
        "HU" => (47.50, 19.04),
        "ID" => (-6.21, 106.85),
        "IE" => (53.35, -6.26),
        "IL" => (31.77, 35.21),
        "IM" => (54.15, -4.48),
        "IN" => (28.61, 77.21),
        "IO" => (-7.31, 72.41),
        "IQ" => (33.31, 44.36),
        "IR" => (35.69, 51.39),
        "IS" => (64.15, -21.94),
        "IT" => (41.90, 12.50),
        "JE" => (49.19, -2.11),
        "JM" => (18.02, -76.80),
        "JO" => (31.95, 35.93),
        "JP" => (35.68, 139.69),
        "KE" => (-1.29, 36.82),
        "KG" => (42.87, 74.59),
        "KH" => (11.56, 104.92),
        "KI" => (1.33, 172.98),
        "KM" => (-11.70, 43.26),
        "KN" => (17.30, -62.72),
        "KP" => (39.04, 125.76),
        "KR" => (37.57, 126.98),
        "KW" => (29.38, 47.99),
        "KY" => (19.29, -81.37),
        "KZ" => (51.17, 71.45),
        "LA" => (17.98, 102.63),
        "LB" => (33.89, 35.50),
        "LC" => (14.01, -60.99),
        "LI" => (47.14, 9.52),
        "LK" => (6.89, 79.92),
        "LR" => (6.30, -10.80),
        "LS" => (-29.31, 27.48),
        "LT" => (54.69, 25.28),
        "LU" => (49.61, 6.13),
        "LV" => (56.95, 24.11),
        "LY" => (32.89, 13.19),
        "MA" => (34.02, -6.83),
        "MC" => (43.73, 7.42),
        "MD" => (47.01, 28.86),
        "ME" => (42.44, 19.26),
        "MF" => (18.07, -63.08),
        "MG" => (-18.88, 47.51),
        "MH" => (7.09, 171.38),
        "MK" => (42.00, 21.43),
        "ML" => (12.64, -8.00),
        "MM" => (19.76, 96.08),
        "MN" => (47.89, 106.91),
        "MO" => (22.20, 113.54),
        "MP" => (15.18, 145.75),
        "MQ" => (14.60, -61.07),
        "MR" => (18.07, -15.96),
        "MS" => (16.79, -62.21),
        "MT" => (35.90, 14.51),
        "MU" => (-20.16, 57.50),
        "MV" => (4.18, 73.51),
        "MW" => (-13.96, 33.79),
        "MX" => (19.43, -99.13),
        "MY" => (3.139, 101.69),
        "MZ" => (-25.97, 32.57),
        "NA" => (-22.56, 17.08),
        "NC" => (-22.27, 166.46),
        "NE" => (13.51, 2.11),
        "NF" => (-29.06, 167.96),
        "NG" => (9.08, 7.40),
        "NI" => (12.11, -86.24),
        "NL" => (52.37, 4.90),
        "NO" => (59.91, 10.75),
        "NP" => (27.72, 85.32),
        "NR" => (-0.55, 166.92),
        "NU" => (-19.06, -169.92),
        "NZ" => (-41.29, 174.78),
        "OM" => (23.59, 58.41),
        "PA" => (8.98, -79.52),
        "PE" => (-12.05, -77.04),
        "PF" => (-17.54, -149.57),
        "PG" => (-9.44, 147.18),
        "PH" => (14.60, 120.98),
        "PK" => (33.68, 73.05),
        "PL" => (52.23, 21.01),
        "PM" => (46.78, -56.18),
        "PN" => (-25.07, -130.10),
        "PR" => (18.47, -66.11),
        "PS" => (31.90, 35.20),
        "PT" => (38.72, -9.14),
        "PW" => (7.50, 134.62),
        "PY" => (-25.26, -57.58),
        "QA" => (25.29, 51.53),
        "RE" => (-20.88, 55.45),
        "RO" => (44.43, 26.10),
        "RS" => (44.79, 20.45),
        "RU" => (55.76, 37.62),
        "RW" => (-1.94, 30.06),
        "SA" => (24.71, 46.68),
        "SB" => (-9.43, 159.95),
        "SC" => (-4.62, 55.45),
        "SD" => (15.50, 32.56),
        "SE" => (59.33, 18.07),
        "SG" => (1.35, 103.82),
        "SH" => (-15.92, -5.72),
        "SI" => (46.06, 14.51),
        "SJ" => (78.22, 15.65),
        "SK" => (48.15, 17.11),
        "SL" => (8.48, -13.23),
        "SM" => (43.94, 12.45),
        "SN" => (14.72, -17.47),
        "SO" => (2.05, 45.32),
        "SR" => (5.85, -55.20),
        "SS" => (4.85, 31.58),
        "ST" => (0.34, 6.73),
        "SV" => (13.69, -89.22),
        "SX" => (18.03, -63.05),
        "SY" => (33.51, 36.29),
        "SZ" => (-26.31, 31.14),
        "TC" => (21.46, -71.14),
        "TD" => (12.13, 15.06),
        "TF" => (-49.35, 70.22),
        "TG" => (6.13, 1.22),
        "TH" => (13.76, 100.50),
        "TJ" => (38.56, 68.79),
        "TK" => (-9.38, -171.25),
        "TL" => (-8.56, 125.57),
        "TM" => (37.96, 58.33),
        "TN" => (36.81, 10.18),
        "TO" => (-21.14, -175.20),
        "TR" => (39.93, 32.86),
        "TT" => (10.65, -61.51),
        "TV" => (-8.52, 179.20),
        "TW" => (25.03, 121.57),
        "TZ" => (-6.16, 35.75),
        "UA" => (50.45, 30.52),
        "UG" => (0.35, 32.58),
        "US" => (38.91, -77.04),
        "UY" => (-34.90, -56.16),
        "UZ" => (41.30, 69.24),
        "VA" => (41.90, 12.45),
        "VC" => (13.16, -61.22),
        "VE" => (10.48, -66.90),
        "VG" => (18.43, -64.62),
        "VI" => (18.34, -64.93),
        "VN" => (21.03, 105.85),
        "VU" => (-17.73, 168.32),
        "WF" => (-13.28, -176.17),
        "WS" => (-13.83, -171.76),
        "XK" => (42.66, 21.17),
        "YE" => (15.37, 44.19),
        "YT" => (-12.78, 45.23),
        "ZA" => (-25.75, 28.19),
        "ZM" => (-15.39, 28.32),
        "ZW" => (-17.83, 31.05),
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

    /// ISO 3166-1's 249 officially assigned alpha-2 codes.
    const ISO_3166_1: &str = "\
        AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE \
        BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD \
        CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM \
        DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF \
        GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU \
        ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN \
        KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME \
        MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA \
        NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM \
        PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI \
        SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK \
        TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI \
        VN VU WF WS YE YT ZA ZM ZW";

    #[test]
    fn every_inhabited_country_and_territory_has_coordinates() {
        let codes: Vec<&str> = ISO_3166_1.split_whitespace().collect();
        assert_eq!(codes.len(), 249);
        let uninhabited = ["AQ", "BV", "HM", "UM"];
        for code in codes {
            let known = capital(code);
            assert_eq!(known.is_none(), uninhabited.contains(&code), "{code}");
            if let Some((lat, lon)) = known {
                assert!((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon));
            }
        }
        // The pair the independent traffic's impossible travel missed for want of it.
        let d = country_distance_km("IE", "KY").expect("Cayman Islands");
        assert!((d - 7_300.0).abs() < 200.0, "{d}");
    }
}
