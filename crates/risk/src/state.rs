//! Per-account detector state: small bounded windows, serialisable so the pipeline can keep
//! it in its database between batches and across restarts.

use serde::{Deserialize, Serialize};

use crate::{amount_outlier, card_testing, fan_out, impossible_travel, structuring, velocity};

/// Everything the detectors remember about one account. Bounded: each window holds at most a
/// configured number of entries (defaults: 32 + 64 + 8 + 32 + 32 + 32), and entries older than the
/// detector's window are dropped as time moves on. Fields missing from an older serialised
/// form default to empty.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AccountState {
    #[serde(default)]
    pub(crate) card_testing: card_testing::State,
    #[serde(default)]
    pub(crate) velocity: velocity::State,
    #[serde(default)]
    pub(crate) travel: impossible_travel::State,
    #[serde(default)]
    pub(crate) structuring: structuring::State,
    #[serde(default)]
    pub(crate) amounts: amount_outlier::State,
    #[serde(default, skip_serializing_if = "fan_out::State::is_empty")]
    pub(crate) fan_out: fan_out::State,
}

impl AccountState {
    /// Number of remembered events across all detectors (for monitoring and tests).
    pub fn held_events(&self) -> usize {
        self.card_testing.len()
            + self.velocity.len()
            + self.travel.len()
            + self.structuring.len()
            + self.amounts.len()
            + self.fan_out.len()
    }
}
