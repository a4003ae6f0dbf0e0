//! Card testing: a fraudster checks stolen card details with several tiny card-not-present
//! charges within minutes, often at more than one merchant.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::window::{self, ms, Timed};
use crate::{Channel, Detector, Event, Finding};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct CardTestingConfig {
    /// Window in which tiny online charges are counted.
    pub window_secs: i64,
    /// Tiny online charges in the window (this one included) that make a finding.
    pub min_count: usize,
    /// "Tiny": at most this much (EUR equivalent).
    pub small_amount_eur: f64,
    /// Bound on remembered charges.
    pub max_events: usize,
}

impl Default for CardTestingConfig {
    fn default() -> Self {
        CardTestingConfig {
            window_secs: 15 * 60,
            min_count: 2,
            small_amount_eur: 2.5,
            max_events: 32,
        }
    }
}

/// Recent tiny online charges.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    small: VecDeque<Hit>,
}

impl State {
    pub(crate) fn len(&self) -> usize {
        self.small.len()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Hit {
    t: i64,
    /// FNV-1a hash of the merchant name (stable across builds, unlike std's hasher).
    m: u32,
}

impl Timed for Hit {
    fn t(&self) -> i64 {
        self.t
    }
}

fn is_small(cfg: &CardTestingConfig, ev: &Event) -> bool {
    ev.txn.channel == Channel::Online && ev.eur.is_some_and(|e| e <= cfg.small_amount_eur)
}

pub(crate) fn fnv1a(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

pub(crate) fn check(cfg: &CardTestingConfig, state: &State, ev: &Event) -> Option<Finding> {
    if !is_small(cfg, ev) {
        return None;
    }
    let w = ms(cfg.window_secs);
    let merchant = fnv1a(ev.txn.merchant);
    let mut count = 1usize;
    let mut merchants: Vec<u32> = vec![merchant];
    for hit in window::within(&state.small, ev.t, w) {
        count += 1;
        if !merchants.contains(&hit.m) {
            merchants.push(hit.m);
        }
    }
    if count < cfg.min_count.max(1) {
        return None;
    }
    let extra = (count - cfg.min_count.max(1)) as f64;
    let spread = if merchants.len() > 1 { 0.1 } else { 0.0 };
    let score = (0.55 + 0.08 * extra + spread).min(1.0);
    Some(Finding {
        detector: Detector::CardTesting,
        score,
        reason: format!(
            "{count} online charges of at most {:.2} EUR within {} min at {} merchant(s)",
            cfg.small_amount_eur,
            cfg.window_secs / 60,
            merchants.len()
        ),
    })
}

pub(crate) fn record(cfg: &CardTestingConfig, state: &mut State, ev: &Event) {
    if is_small(cfg, ev) {
        let hit = Hit {
            t: ev.t,
            m: fnv1a(ev.txn.merchant),
        };
        window::push(
            &mut state.small,
            hit,
            ev.t,
            ms(cfg.window_secs),
            cfg.max_events,
        );
    } else {
        window::prune(&mut state.small, ev.t, ms(cfg.window_secs));
    }
}
