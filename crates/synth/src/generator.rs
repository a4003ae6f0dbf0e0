//! The stream: ordinary traffic as a non-homogeneous Poisson process (per-account rate times
//! the local daily rhythm, by thinning), merged in time order with scheduled pattern records.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::amounts::exponential;
use crate::countries::COUNTRIES;
use crate::merchants::Merchants;
use crate::world::World;
use crate::{accounts, patterns, rhythm, traffic, GenConfig, SyntheticTxn};

/// Chance, per ordinary record while fraud is below its target share, of starting an episode
/// (spreads episode starts out instead of firing them back to back).
const EPISODE_START_PROBABILITY: f64 = 0.2;
/// Upper bound on the fraud share the controller aims for.
const MAX_FRAUD_RATE: f64 = 0.9;

/// An infinite, deterministic stream of [`SyntheticTxn`] in non-decreasing timestamp order.
pub struct Generator {
    world: World,
    rng: StdRng,
    /// Cumulative account activity (transactions per day), for weighted account choice.
    cumulative_rate: Vec<f64>,
    /// Candidate events per simulated ms before thinning.
    candidate_rate_per_ms: f64,
    /// Simulated time of the last candidate (ms since `start`).
    candidate_clock: f64,
    start_epoch_secs: i64,
    next_ordinary: Option<(i64, usize)>,
    pending: BinaryHeap<Pending>,
    pending_seq: u64,
    seq: u64,
    ordinary_emitted: u64,
    fraud_scheduled: u64,
    fraud_rate: f64,
    id_prefix: String,
}

impl Generator {
    pub fn new(config: GenConfig) -> Generator {
        // The world gets its own random stream so that its shape does not depend on how the
        // traffic consumes randomness.
        let mut world_rng = StdRng::seed_from_u64(config.seed ^ 0x5eed_0f70_7a11);
        let accounts = accounts::build(&mut world_rng, config.accounts.max(1));
        let merchants = Merchants::build(&mut world_rng, config.merchants);
        let mut cumulative_rate = Vec::with_capacity(accounts.len());
        let mut total = 0.0;
        for a in &accounts {
            total += a.daily_rate;
            cumulative_rate.push(total);
        }
        Generator {
            world: World {
                accounts,
                merchants,
                start: config.start,
                pii_rate: config.pii_rate.clamp(0.0, 1.0),
            },
            rng: StdRng::seed_from_u64(config.seed),
            cumulative_rate,
            candidate_rate_per_ms: total * rhythm::PEAK / 86_400_000.0,
            candidate_clock: 0.0,
            start_epoch_secs: config.start.timestamp(),
            next_ordinary: None,
            pending: BinaryHeap::new(),
            pending_seq: 0,
            seq: 0,
            ordinary_emitted: 0,
            fraud_scheduled: 0,
            fraud_rate: config.fraud_rate.clamp(0.0, MAX_FRAUD_RATE),
            id_prefix: format!("txn-{:x}-", config.seed),
        }
    }

    /// The next ordinary transaction's time and account (thinning by local hour).
    fn draw_ordinary(&mut self) -> (i64, usize) {
        let total = self.cumulative_rate.last().copied().unwrap_or(1.0);
        loop {
            self.candidate_clock += exponential(&mut self.rng, 1.0 / self.candidate_rate_per_ms);
            let x = self.rng.gen::<f64>() * total;
            let acct = self
                .cumulative_rate
                .partition_point(|&c| c <= x)
                .min(self.cumulative_rate.len() - 1);
            let location = self.world.accounts[acct].location;
            let secs = self.start_epoch_secs + (self.candidate_clock / 1000.0) as i64;
            let hour = rhythm::local_hour(secs, COUNTRIES[location].utc_offset_min);
            if self.rng.gen::<f64>() * rhythm::PEAK < rhythm::weight(hour) {
                return (self.candidate_clock as i64, acct);
            }
        }
    }

    fn maybe_start_episode(&mut self, now: i64) {
        let total = (self.ordinary_emitted + self.fraud_scheduled) as f64;
        let below_target = (self.fraud_scheduled as f64) < self.fraud_rate * total;
        if !below_target || !self.rng.gen_bool(EPISODE_START_PROBABILITY) {
            return;
        }
        if let Some(episode) = patterns::start(&mut self.world, &mut self.rng, now) {
            for (at, txn) in episode {
                if txn.label.fraud {
                    self.fraud_scheduled += 1;
                }
                self.pending.push(Pending {
                    at,
                    seq: self.pending_seq,
                    txn,
                });
                self.pending_seq += 1;
            }
        }
    }

    fn emit(&mut self, mut txn: SyntheticTxn) -> SyntheticTxn {
        txn.transaction_id = format!("{}{:09}", self.id_prefix, self.seq);
        self.seq += 1;
        if !txn.label.fraud {
            self.ordinary_emitted += 1;
        }
        txn
    }
}

impl Iterator for Generator {
    type Item = SyntheticTxn;

    fn next(&mut self) -> Option<SyntheticTxn> {
        let (at, acct) = match self.next_ordinary {
            Some(next) => next,
            None => {
                let next = self.draw_ordinary();
                self.next_ordinary = Some(next);
                next
            }
        };
        if self.pending.peek().is_some_and(|p| p.at <= at) {
            if let Some(p) = self.pending.pop() {
                return Some(self.emit(p.txn));
            }
        }
        self.next_ordinary = None;
        let txn = traffic::ordinary(&mut self.world, &mut self.rng, at, acct);
        let txn = self.emit(txn);
        self.maybe_start_episode(at);
        Some(txn)
    }
}

/// A scheduled pattern record; the heap pops the earliest (then first scheduled) first.
struct Pending {
    at: i64,
    seq: u64,
    txn: SyntheticTxn,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}
