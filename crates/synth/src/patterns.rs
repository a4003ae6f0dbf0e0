//! Injected fraud and AML patterns. Each episode picks a victim account and schedules a short
//! sequence of records (future timestamps) that the generator merges into ordinary traffic.

use rand::Rng;

use crate::amounts::lognormal;
use crate::countries::{distance_km, per_eur, reporting_threshold, COUNTRIES};
use crate::merchants::{cat, pick_weighted, CATEGORIES};
use crate::world::{Amount, World};
use crate::{Pattern, SyntheticTxn};

const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;

/// Minimum distance (km) between the legitimate and the fraudulent location in impossible
/// travel.
const FAR_KM: f64 = 2_500.0;
/// Ordinary card transactions an account needs before an amount outlier makes sense.
const OUTLIER_MIN_HISTORY: u32 = 8;

/// Episode weights: target share of fraud records divided by mean records per episode.
const MIX: [(Pattern, f64); 5] = [
    (Pattern::CardTesting, 0.25 / 10.0),
    (Pattern::Velocity, 0.25 / 14.0),
    (Pattern::ImpossibleTravel, 0.15 / 2.5),
    (Pattern::Structuring, 0.15 / 4.5),
    (Pattern::AmountOutlier, 0.20 / 1.2),
];

/// Records of one episode in time order, with their simulated times.
pub(crate) type Episode = Vec<(i64, SyntheticTxn)>;

/// Starts an episode at simulated time `now`, or `None` if no account is available.
pub(crate) fn start<R: Rng>(world: &mut World, rng: &mut R, now: i64) -> Option<Episode> {
    let weights: Vec<f64> = MIX.iter().map(|(_, w)| *w).collect();
    let first = MIX[pick_weighted(rng, &weights)].0;
    for pattern in [first, Pattern::CardTesting] {
        let Some(acct) = find_victim(world, rng, now, pattern) else {
            continue;
        };
        let t0 = now + rng.gen_range(0..60 * SEC);
        let episode = match pattern {
            Pattern::CardTesting => card_testing(world, rng, t0, acct),
            Pattern::Velocity => velocity(world, rng, t0, acct),
            Pattern::ImpossibleTravel => impossible_travel(world, rng, t0, acct),
            Pattern::Structuring => structuring(world, rng, t0, acct),
            Pattern::AmountOutlier => amount_outlier(world, rng, t0, acct),
        };
        if let Some((last, _)) = episode.last() {
            world.accounts[acct].episode_until = last + HOUR;
        }
        return Some(episode);
    }
    None
}

fn find_victim<R: Rng>(world: &World, rng: &mut R, now: i64, pattern: Pattern) -> Option<usize> {
    let n = world.accounts.len();
    (0..40).map(|_| rng.gen_range(0..n)).find(|&i| {
        let a = &world.accounts[i];
        a.idle(now)
            && match pattern {
                Pattern::ImpossibleTravel | Pattern::Structuring => a.location == a.home,
                Pattern::AmountOutlier => a.card_txns >= OUTLIER_MIN_HISTORY,
                Pattern::CardTesting | Pattern::Velocity => true,
            }
    })
}

/// 5-15 tiny online charges (0.50-2.00, or the local equivalent) seconds apart at one to
/// three online merchants.
fn card_testing<R: Rng>(world: &World, rng: &mut R, t0: i64, acct: usize) -> Episode {
    const CATS: [usize; 4] = [cat::DIGITAL, cat::ONLINE_RETAIL, cat::BOOKS, cat::STREAMING];
    let merchants: Vec<usize> = (0..rng.gen_range(1..=3))
        .map(|_| {
            let c = CATS[rng.gen_range(0..CATS.len())];
            world.merchants.anywhere(rng, c)
        })
        .collect();
    let n = rng.gen_range(5..=15);
    let mut t = t0;
    (0..n)
        .map(|i| {
            if i > 0 {
                t += rng.gen_range(10 * SEC..=90 * SEC);
            }
            let m = merchants[rng.gen_range(0..merchants.len())];
            let currency = COUNTRIES[world.merchants.list[m].country].currency;
            // Same nominal 0.50-2.00 in currencies close to the euro, scaled in the others.
            let rate = per_eur(currency);
            let scale = if rate < 3.0 { 1.0 } else { rate };
            let amount = Amount::Local(rng.gen_range(0.50..=2.00) * scale);
            (
                t,
                world.txn(rng, t, acct, m, amount, Some(Pattern::CardTesting)),
            )
        })
        .collect()
}

/// 8-20 ordinary-sized charges a few minutes apart, mostly online, some in person where the
/// customer is.
fn velocity<R: Rng>(world: &World, rng: &mut R, t0: i64, acct: usize) -> Episode {
    const ONLINE: [usize; 3] = [cat::ONLINE_RETAIL, cat::DIGITAL, cat::BOOKS];
    const IN_PERSON: [usize; 5] = [
        cat::GROCERIES,
        cat::ELECTRONICS,
        cat::CLOTHING,
        cat::DEPARTMENT,
        cat::RESTAURANTS,
    ];
    let a = &world.accounts[acct];
    let n = rng.gen_range(8..=20);
    let mut t = t0;
    (0..n)
        .map(|i| {
            if i > 0 {
                t += rng.gen_range(30 * SEC..=240 * SEC);
            }
            let (c, m) = if rng.gen_bool(0.7) {
                let c = ONLINE[rng.gen_range(0..ONLINE.len())];
                (c, world.merchants.anywhere(rng, c))
            } else {
                let c = IN_PERSON[rng.gen_range(0..IN_PERSON.len())];
                (
                    c,
                    world.merchants.pick(rng, c, a.location, Some(a.city), None),
                )
            };
            let category = &CATEGORIES[c];
            let amount = lognormal(rng, a.spend * category.median_eur, category.sigma);
            (
                t,
                world.txn(
                    rng,
                    t,
                    acct,
                    m,
                    Amount::Eur(amount),
                    Some(Pattern::Velocity),
                ),
            )
        })
        .collect()
}

/// A legitimate card-present purchase at home, then 1-4 card-present purchases or ATM
/// withdrawals with the same card in a country at least 2,500 km away, minutes later.
fn impossible_travel<R: Rng>(world: &World, rng: &mut R, t0: i64, acct: usize) -> Episode {
    const ANCHOR: [usize; 4] = [cat::GROCERIES, cat::FUEL, cat::RESTAURANTS, cat::FAST_FOOD];
    const FRAUD: [usize; 4] = [
        cat::ELECTRONICS,
        cat::CLOTHING,
        cat::DEPARTMENT,
        cat::RESTAURANTS,
    ];
    let a = &world.accounts[acct];
    let mut out = Vec::new();
    let anchor_cat = ANCHOR[rng.gen_range(0..ANCHOR.len())];
    let m = world
        .merchants
        .pick(rng, anchor_cat, a.home, Some(a.city), Some(a.favourite));
    let c = &CATEGORIES[anchor_cat];
    let amount = lognormal(rng, a.spend * c.median_eur, c.sigma);
    out.push((t0, world.txn(rng, t0, acct, m, Amount::Eur(amount), None)));

    let weights: Vec<f64> = (0..COUNTRIES.len())
        .map(|i| {
            if distance_km(a.home, i) >= FAR_KM {
                COUNTRIES[i].travel_weight
            } else {
                0.0
            }
        })
        .collect();
    let far = pick_weighted(rng, &weights);
    let far_city = rng.gen_range(0..COUNTRIES[far].cities.len());
    let mut t = t0 + rng.gen_range(5 * MIN..=90 * MIN);
    for i in 0..rng.gen_range(1..=4) {
        if i > 0 {
            t += rng.gen_range(2 * MIN..=30 * MIN);
        }
        let c = if rng.gen_bool(0.3) {
            cat::ATM
        } else {
            FRAUD[rng.gen_range(0..FRAUD.len())]
        };
        let m = world.merchants.pick(rng, c, far, Some(far_city), None);
        let category = &CATEGORIES[c];
        let amount = lognormal(rng, 1.5 * a.spend * category.median_eur, category.sigma);
        let txn = world.txn(
            rng,
            t,
            acct,
            m,
            Amount::Eur(amount),
            Some(Pattern::ImpossibleTravel),
        );
        out.push((t, txn));
    }
    out
}

/// 3-6 cash deposits or transfers each just under the reporting threshold (90-99.9% of it),
/// within 24 hours.
fn structuring<R: Rng>(world: &World, rng: &mut R, t0: i64, acct: usize) -> Episode {
    let a = &world.accounts[acct];
    let n: i64 = rng.gen_range(3..=6);
    let threshold = reporting_threshold(COUNTRIES[a.home].currency);
    let max_gap = 23 * HOUR / (n - 1);
    let mut t = t0;
    (0..n)
        .map(|i| {
            if i > 0 {
                t += rng.gen_range(30 * MIN..=max_gap);
            }
            let c = if rng.gen_bool(0.6) {
                cat::TRANSFERS
            } else {
                cat::ATM
            };
            let m = world.merchants.pick(rng, c, a.home, Some(a.city), None);
            let raw = threshold * rng.gen_range(0.90..0.999);
            let unit = if rng.gen_bool(0.4) {
                threshold / 200.0
            } else {
                1.0
            };
            let amount = ((raw / unit).floor() * unit).min(threshold - 1.0);
            let txn = world.txn(
                rng,
                t,
                acct,
                m,
                Amount::Local(amount),
                Some(Pattern::Structuring),
            );
            (t, txn)
        })
        .collect()
}

/// One purchase (sometimes two) of 20-100 times the customer's typical spend.
fn amount_outlier<R: Rng>(world: &World, rng: &mut R, t0: i64, acct: usize) -> Episode {
    const CATS: [(usize, bool); 4] = [
        (cat::ELECTRONICS, false),
        (cat::ONLINE_RETAIL, true),
        (cat::DEPARTMENT, false),
        (cat::CLOTHING, false),
    ];
    let a = &world.accounts[acct];
    let n = if rng.gen_bool(0.2) { 2 } else { 1 };
    let mut t = t0;
    (0..n)
        .map(|i| {
            if i > 0 {
                t += rng.gen_range(3 * MIN..=40 * MIN);
            }
            let (c, online) = CATS[rng.gen_range(0..CATS.len())];
            let m = if online {
                world.merchants.anywhere(rng, c)
            } else {
                world.merchants.pick(rng, c, a.location, Some(a.city), None)
            };
            let factor = rng.gen_range(20f64.ln()..100f64.ln()).exp();
            let amount = Amount::Eur(a.typical_eur() * factor);
            (
                t,
                world.txn(rng, t, acct, m, amount, Some(Pattern::AmountOutlier)),
            )
        })
        .collect()
}
