//! Amount distributions, currency conversion and formatting.

use rand::Rng;

use crate::countries::{minor_units, per_eur};

/// A standard normal variate (Box-Muller).
pub(crate) fn std_normal<R: Rng>(rng: &mut R) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>(); // (0, 1]
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-normal variate with the given median and log-space sigma.
pub(crate) fn lognormal<R: Rng>(rng: &mut R, median: f64, sigma: f64) -> f64 {
    median * (sigma * std_normal(rng)).exp()
}

/// An exponential variate with the given mean.
pub(crate) fn exponential<R: Rng>(rng: &mut R, mean: f64) -> f64 {
    let u: f64 = 1.0 - rng.gen::<f64>();
    -u.ln() * mean
}

/// Converts EUR to `currency` at the static reference rate.
pub(crate) fn eur_to(currency: &str, eur: f64) -> f64 {
    eur * per_eur(currency)
}

/// Rounds a cash amount to what an ATM dispenses (multiples of 10 EUR or the local
/// equivalent round figure), at least one unit.
pub(crate) fn atm_round(currency: &str, local: f64) -> f64 {
    let unit = 10f64.powi(per_eur(currency).log10().round() as i32 + 1);
    ((local / unit).round() * unit).max(unit)
}

/// Rounds to the currency's minor unit, at least one minor unit.
pub(crate) fn round_minor(currency: &str, local: f64) -> f64 {
    let scale = 10f64.powi(minor_units(currency) as i32);
    ((local * scale).round() / scale).max(1.0 / scale)
}

/// The amount as a decimal string with two places ("12.34"; currencies without minor units
/// are whole numbers, "1500.00").
pub(crate) fn format_amount(currency: &str, local: f64) -> String {
    format!("{:.2}", round_minor(currency, local))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_rounds() {
        assert_eq!(format_amount("EUR", 12.345_1), "12.35");
        assert_eq!(format_amount("JPY", 1499.6), "1500.00");
        assert_eq!(format_amount("EUR", 0.0), "0.01");
        assert_eq!(atm_round("EUR", 84.0), 80.0);
        assert_eq!(atm_round("SEK", 840.0), 800.0);
        assert_eq!(atm_round("JPY", 12_400.0), 12_000.0);
        assert_eq!(atm_round("EUR", 2.0), 10.0);
    }
}
