//! Ordinary (legitimate) customer behaviour: what they buy, where, how much, and trips abroad
//! that respect travel time.

use rand::Rng;

use crate::accounts::Account;
use crate::amounts::lognormal;
use crate::countries::{distance_km, COUNTRIES};
use crate::merchants::{cat, pick_weighted, Kind, CATEGORIES};
use crate::world::{Amount, World};
use crate::SyntheticTxn;

/// Chance that an ordinary transaction at home is the start of a trip abroad.
const TRIP_PROBABILITY: f64 = 0.008;
/// Door-to-door travel speed (km/h) used for trip durations; well below airliner speed.
const TRAVEL_KMH: f64 = 700.0;
/// Fixed overhead of any trip (airport, border), hours.
const TRAVEL_OVERHEAD_H: f64 = 2.0;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Simulated milliseconds needed to travel between two countries.
pub(crate) fn travel_ms(from: usize, to: usize) -> i64 {
    ((distance_km(from, to) / TRAVEL_KMH + TRAVEL_OVERHEAD_H) * HOUR_MS as f64) as i64
}

/// One ordinary transaction of account `acct` at simulated time `at`.
pub(crate) fn ordinary<R: Rng>(
    world: &mut World,
    rng: &mut R,
    at: i64,
    acct: usize,
) -> SyntheticTxn {
    update_trip(&mut world.accounts[acct], rng, at);
    let a = &world.accounts[acct];
    let in_transit = at < a.busy_until;
    let abroad = a.location != a.home;
    let cat = choose_category(rng, in_transit, abroad);
    let c = &CATEGORIES[cat];
    let favourite = (rng.gen_bool(0.75)).then_some(a.favourite);
    let merchants = &world.merchants;
    let city = rng.gen_bool(0.9).then_some(a.city);
    let merchant = match c.kind {
        Kind::Physical | Kind::Atm => merchants.pick(
            rng,
            cat,
            a.location,
            city,
            if abroad { None } else { favourite },
        ),
        Kind::Online => {
            let cross_border = matches!(
                cat,
                cat::ONLINE_RETAIL | cat::DIGITAL | cat::BOOKS | cat::AIRLINES
            );
            if !cross_border || rng.gen_bool(0.8) {
                merchants.pick(rng, cat, a.home, None, favourite)
            } else {
                merchants.anywhere(rng, cat)
            }
        }
        Kind::Transfer => merchants.pick(rng, cat, a.home, None, None),
    };
    let amount = lognormal(rng, a.spend * c.median_eur, c.sigma);
    if matches!(c.kind, Kind::Physical | Kind::Online) {
        world.accounts[acct].card_txns += 1;
    }
    world.txn(rng, at, acct, merchant, Amount::Eur(amount), None)
}

/// A category for an ordinary transaction; only card-not-present ones while travelling, more
/// hotels, restaurants and transport while abroad.
pub(crate) fn choose_category<R: Rng>(rng: &mut R, in_transit: bool, abroad: bool) -> usize {
    let mut weights = [0.0f64; CATEGORIES.len()];
    for (i, (w, c)) in weights.iter_mut().zip(CATEGORIES).enumerate() {
        *w = c.weight;
        if in_transit && c.kind != Kind::Online {
            *w = 0.0;
        } else if abroad {
            *w *= match i {
                cat::HOTELS => 8.0,
                cat::RESTAURANTS | cat::TRANSPORT => 1.8,
                cat::GROCERIES => 0.5,
                cat::UTILITIES | cat::TRANSFERS | cat::FUEL => 0.2,
                _ => 1.0,
            };
        }
    }
    pick_weighted(rng, &weights)
}

/// Starts or ends a trip abroad. A trip starts only when nothing else is going on with the
/// account; the traveller is "in transit" (online purchases only) for the travel time.
fn update_trip<R: Rng>(a: &mut Account, rng: &mut R, at: i64) {
    if let Some(end) = a.trip_end {
        if at >= end && a.idle(at) {
            let from = a.location;
            a.location = a.home;
            a.city = a.home_city;
            a.trip_end = None;
            a.busy_until = at + travel_ms(from, a.home);
        }
    } else if a.location == a.home && a.idle(at) && rng.gen_bool(TRIP_PROBABILITY) {
        let weights: Vec<f64> = COUNTRIES
            .iter()
            .enumerate()
            .map(|(i, c)| if i == a.home { 0.0 } else { c.travel_weight })
            .collect();
        let dest = pick_weighted(rng, &weights);
        a.location = dest;
        a.city = rng.gen_range(0..COUNTRIES[dest].cities.len());
        a.busy_until = at + travel_ms(a.home, dest);
        a.trip_end = Some(a.busy_until + rng.gen_range(2..=9) * DAY_MS);
    }
}
