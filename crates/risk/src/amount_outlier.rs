//! Amount outlier: a card purchase far above anything the account usually spends (account
//! takeover, stolen card used for one big purchase).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::{Channel, Detector, Event, Finding};

/// Hard bound on the remembered amounts, whatever the configuration says.
const MAX_HISTORY: usize = 64;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmountOutlierConfig {
    /// Card amounts remembered (at most 64).
    pub history_len: usize,
    /// Amounts needed before judging.
    pub min_history: usize,
    /// Flag at least this multiple of the median remembered amount...
    pub min_ratio: f64,
    /// ...and at least this multiple of the largest remembered amount...
    pub min_ratio_to_max: f64,
    /// ...and at least this much (EUR equivalent).
    pub min_amount_eur: f64,
    /// ...and at least this many of the account's own robust deviations above the median, in
    /// log space (the median absolute deviation of the log amounts, scaled to a normal
    /// sigma). An account whose everyday spending already spans a wide range needs a larger
    /// jump than one that always spends alike; 0 turns this bound off.
    pub min_log_deviations: f64,
    /// Typical ticket size of a merchant category relative to everyday spending, as
    /// `(first MCC, last MCC, factor)`; amounts are divided by the factor before comparison
    /// (a flight is expected to cost several times a grocery bill). First match wins;
    /// unlisted categories have factor 1.
    pub mcc_ticket_factors: Vec<(u16, u16, f64)>,
}

impl Default for AmountOutlierConfig {
    fn default() -> Self {
        AmountOutlierConfig {
            history_len: 32,
            min_history: 8,
            min_ratio: 8.0,
            min_ratio_to_max: 2.0,
            min_amount_eur: 150.0,
            min_log_deviations: 3.0,
            mcc_ticket_factors: vec![
                (3000, 3350, 8.0),  // airlines by carrier
                (4511, 4511, 8.0),  // airlines
                (4722, 4722, 8.0),  // travel agencies
                (4411, 4411, 10.0), // cruise lines
                (3351, 3500, 4.0),  // car rental by company
                (7512, 7512, 4.0),  // car rental
                (3501, 3999, 5.0),  // hotels by chain
                (7011, 7011, 5.0),  // hotels
                (5732, 5732, 2.5),  // electronics
                (5045, 5045, 2.5),  // computers
                (5946, 5946, 2.5),  // photo equipment
                (5944, 5944, 3.0),  // jewellery
                (4900, 4900, 2.5),  // utilities
                (4814, 4814, 2.0),  // telecom
                (5311, 5311, 1.5),  // department stores
                (5651, 5651, 1.5),  // family clothing
                (5691, 5691, 1.5),  // clothing
            ],
        }
    }
}

/// Recent card amounts (EUR equivalent divided by the category's ticket factor) that raised
/// no finding.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    amounts: VecDeque<f32>,
}

impl State {
    pub(crate) fn len(&self) -> usize {
        self.amounts.len()
    }
}

fn ticket_factor(cfg: &AmountOutlierConfig, mcc: u16) -> f64 {
    cfg.mcc_ticket_factors
        .iter()
        .find(|(lo, hi, _)| (*lo..=*hi).contains(&mcc))
        .map(|(_, _, f)| *f)
        .filter(|f| *f > 0.0)
        .unwrap_or(1.0)
}

/// The card amount in EUR and its category-adjusted ("everyday-equivalent") value.
fn card_amount(cfg: &AmountOutlierConfig, ev: &Event<'_>) -> Option<(f64, f64)> {
    if !matches!(ev.txn.channel, Channel::CardPresent | Channel::Online) {
        return None;
    }
    let eur = ev.eur?;
    Some((eur, eur / ticket_factor(cfg, ev.txn.mcc)))
}

pub(crate) fn check(cfg: &AmountOutlierConfig, state: &State, ev: &Event<'_>) -> Option<Finding> {
    let (eur, adjusted) = card_amount(cfg, ev)?;
    let n = state.amounts.len();
    if n < cfg.min_history.max(1) || eur < cfg.min_amount_eur {
        return None;
    }
    let mut buf = [0f32; MAX_HISTORY];
    let held = &mut buf[..n.min(MAX_HISTORY)];
    for (slot, a) in held.iter_mut().zip(state.amounts.iter()) {
        *slot = *a;
    }
    held.sort_unstable_by(f32::total_cmp);
    let median = f64::from(if held.len() % 2 == 1 {
        held[held.len() / 2]
    } else {
        (held[held.len() / 2 - 1] + held[held.len() / 2]) / 2.0
    });
    let max = f64::from(held[held.len() - 1]);
    if median <= 0.0 {
        return None;
    }
    let ratio = adjusted / median;
    if ratio < cfg.min_ratio || adjusted < cfg.min_ratio_to_max * max {
        return None;
    }
    if cfg.min_log_deviations > 0.0
        && ratio.ln() < cfg.min_log_deviations * log_spread(held, median)
    {
        return None;
    }
    let excess = (ratio / cfg.min_ratio).ln() / 10f64.ln();
    let score = (0.5 + 0.5 * excess.min(1.0)).clamp(0.5, 1.0);
    Some(Finding {
        detector: Detector::AmountOutlier,
        score,
        reason: format!(
            "amount of {eur:.0} EUR is {ratio:.0}x the account's median card amount for the \
             category ({median:.2} EUR everyday-equivalent over the last {n}) and {:.1}x its \
             largest",
            adjusted / max.max(f64::MIN_POSITIVE)
        ),
    })
}

/// The median absolute deviation of the log amounts around the log median, scaled by 1.4826
/// so that it estimates the log-space sigma of log-normal spending; robust to the odd big
/// ticket already in the history.
fn log_spread(held: &[f32], median: f64) -> f64 {
    let centre = median.ln();
    let mut dev = [0f64; MAX_HISTORY];
    let dev = &mut dev[..held.len()];
    for (d, a) in dev.iter_mut().zip(held) {
        *d = (f64::from(*a).max(f64::MIN_POSITIVE).ln() - centre).abs();
    }
    dev.sort_unstable_by(f64::total_cmp);
    let mid = dev.len() / 2;
    let mad = if dev.len() % 2 == 1 {
        dev[mid]
    } else {
        (dev[mid - 1] + dev[mid]) / 2.0
    };
    1.4826 * mad
}

/// Remembers the amount; `learn` is false when the transaction raised any finding, so fraud
/// does not drag the baseline towards itself.
pub(crate) fn record(cfg: &AmountOutlierConfig, state: &mut State, ev: &Event<'_>, learn: bool) {
    let Some((_, adjusted)) = card_amount(cfg, ev) else {
        return;
    };
    if !learn {
        return;
    }
    let cap = cfg.history_len.clamp(1, MAX_HISTORY);
    while state.amounts.len() >= cap {
        state.amounts.pop_front();
    }
    state.amounts.push_back(adjusted as f32);
}

#[cfg(test)]
mod tests {
    use crate::test_support::{run, Tx};
    use crate::{AccountState, Channel, Detector};

    const D: Detector = Detector::AmountOutlier;

    fn history(s: &mut AccountState, n: i64) {
        for i in 0..n {
            let tx = Tx::new(
                i * 86_400,
                25.0 + (i % 4) as f64 * 5.0,
                Channel::CardPresent,
            );
            assert_eq!(run(s, &tx, D), None);
        }
    }

    #[test]
    fn far_above_the_usual() {
        let mut s = AccountState::default();
        history(&mut s, 10);
        let big = Tx::new(11 * 86_400, 1_500.0, Channel::Online).mcc(5732);
        let score = run(&mut s, &big, D).expect("1,500 EUR against ~30 EUR");
        assert!(score > 0.5);
        assert_eq!(
            run(&mut s, &Tx::new(12 * 86_400, 35.0, Channel::CardPresent), D),
            None
        );
        // Not learned: the same amount again is still an outlier.
        let again = Tx::new(13 * 86_400, 1_500.0, Channel::Online).mcc(5732);
        assert!(run(&mut s, &again, D).is_some());
    }

    #[test]
    fn expected_big_tickets_and_thin_history_pass() {
        let mut s = AccountState::default();
        history(&mut s, 10);
        let flight = Tx::new(11 * 86_400, 600.0, Channel::Online).mcc(4511);
        assert_eq!(
            run(&mut s, &flight, D),
            None,
            "a flight is expected to cost more"
        );
        let mut s = AccountState::default();
        history(&mut s, 3);
        let big = Tx::new(4 * 86_400, 1_500.0, Channel::Online);
        assert_eq!(run(&mut s, &big, D), None, "not enough history");
        let mut s = AccountState::default();
        for i in 0..10 {
            run(&mut s, &Tx::new(i * 3600, 2.0, Channel::Online), D);
        }
        let modest = Tx::new(11 * 3600, 100.0, Channel::CardPresent);
        assert_eq!(run(&mut s, &modest, D), None, "below the minimum amount");
        let mut s = AccountState::default();
        history(&mut s, 10);
        let cash = Tx::new(11 * 86_400, 1_500.0, Channel::Atm);
        assert_eq!(run(&mut s, &cash, D), None, "cash is not a card purchase");
    }
}
