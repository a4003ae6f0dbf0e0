//! The daily rhythm of card spending: quiet at night, peaks at lunch and early evening.

/// Relative activity per local hour (0..24). Mean is about 1.
const HOURLY: [f64; 24] = [
    0.20, 0.10, 0.06, 0.05, 0.06, 0.15, 0.40, 0.75, 1.05, 1.25, 1.35, 1.55, //
    1.85, 1.65, 1.35, 1.35, 1.45, 1.75, 1.95, 1.85, 1.55, 1.15, 0.75, 0.40,
];

/// The highest hourly weight (the thinning bound).
pub(crate) const PEAK: f64 = 1.95;

/// Activity weight at a local hour of day.
pub(crate) fn weight(local_hour: u32) -> f64 {
    HOURLY[(local_hour % 24) as usize]
}

/// Local hour of day for a UTC instant (seconds since the epoch) and a UTC offset in minutes.
pub(crate) fn local_hour(utc_epoch_secs: i64, offset_min: i32) -> u32 {
    let local = utc_epoch_secs + i64::from(offset_min) * 60;
    (local.rem_euclid(86_400) / 3_600) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_is_max_and_mean_near_one() {
        let max = HOURLY.iter().cloned().fold(0.0, f64::max);
        assert_eq!(max, PEAK);
        let mean: f64 = HOURLY.iter().sum::<f64>() / 24.0;
        assert!((mean - 1.0).abs() < 0.05, "{mean}");
        assert_eq!(local_hour(0, 60), 1);
        assert_eq!(local_hour(0, -300), 19);
    }
}
