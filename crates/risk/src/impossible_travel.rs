//! Impossible travel: the card is used in person in two countries too far apart for the time
//! between the two uses (a cloned card, or stolen card details used at a terminal abroad).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::geo::country_distance_km;
use crate::window::{self, ms, Timed};
use crate::{Detector, Event, Finding};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImpossibleTravelConfig {
    /// Fastest plausible speed in the air.
    pub max_speed_kmh: f64,
    /// Time a trip takes on top of the flight itself (getting to the airport, boarding,
    /// landing, getting out): door to door is at least `km / max_speed_kmh + this`. Beyond
    /// `min_distance_km`, no trip is faster by land.
    pub overhead_hours: f64,
    /// Closer countries are ignored (capital-to-capital distance says little about
    /// border regions).
    pub min_distance_km: f64,
    /// How far back in-person uses are compared.
    pub lookback_secs: i64,
    /// Bound on remembered in-person uses (consecutive uses in one country share an entry).
    pub max_events: usize,
}

impl Default for ImpossibleTravelConfig {
    fn default() -> Self {
        ImpossibleTravelConfig {
            max_speed_kmh: 900.0,
            overhead_hours: 1.5,
            min_distance_km: 500.0,
            lookback_secs: 24 * 3600,
            max_events: 8,
        }
    }
}

/// Recent in-person (card present, ATM) uses: where and when.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    seen: VecDeque<Seen>,
}

impl State {
    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Seen {
    t: i64,
    /// ISO country code.
    c: String,
}

impl Timed for Seen {
    fn t(&self) -> i64 {
        self.t
    }
}

/// Shortest interval used for speeds (clock skew between terminals).
const MIN_INTERVAL_MS: i64 = 60_000;

/// A trip nobody can make, and which of its two uses is the suspect one.
pub(crate) struct Trip {
    pub(crate) finding: Finding,
    /// The remembered use's time when it is the suspect (it is the later of the two, and
    /// arrived first); `None` when the suspect is the use being judged.
    remembered_suspect: Option<i64>,
}

pub(crate) fn check(cfg: &ImpossibleTravelConfig, state: &State, ev: &Event<'_>) -> Option<Trip> {
    if !ev.txn.channel.is_physical() {
        return None;
    }
    let here = ev.txn.country;
    // (share of the shortest possible trip time left unexplained, km, the other use)
    let mut worst: Option<(f64, f64, &Seen)> = None;
    for seen in window::within(&state.seen, ev.t, ms(cfg.lookback_secs)) {
        if seen.c.eq_ignore_ascii_case(here) {
            continue;
        }
        let Some(km) = country_distance_km(&seen.c, here) else {
            continue;
        };
        if km < cfg.min_distance_km {
            continue;
        }
        let apart = ev.t.saturating_sub(seen.t).abs();
        let hours = apart.max(MIN_INTERVAL_MS) as f64 / 3_600_000.0;
        let needed = km / cfg.max_speed_kmh.max(1.0) + cfg.overhead_hours.max(0.0);
        let short = 1.0 - hours / needed;
        if short > 0.0 && worst.is_none_or(|w| short > w.0) {
            worst = Some((short, km, seen));
        }
    }
    let (short, km, seen) = worst?;
    let score = (0.6 + 0.4 * short).clamp(0.6, 1.0);
    let needed = km / cfg.max_speed_kmh.max(1.0) + cfg.overhead_hours.max(0.0);
    // The suspect leg is the later one: the earlier use says where the card was, the later
    // one claims a trip nobody can make. When the later leg arrived first (a terminal
    // uploading late) and is already decided, the finding stays on this use, so the pair
    // is reviewed, but its reason names the later leg's country as the suspect one.
    let later_arrived_first = seen.t > ev.t;
    let (suspect, other) = if later_arrived_first {
        (seen.c.as_str(), here)
    } else {
        (here, seen.c.as_str())
    };
    let finding = Finding {
        detector: Detector::ImpossibleTravel,
        score,
        reason: format!(
            "in-person use in {suspect} {km:.0} km from {other} {} min apart (at least {:.0} \
             min door to door)",
            ev.t.saturating_sub(seen.t).abs() / 60_000,
            needed * 60.0
        ),
    };
    Some(Trip {
        finding,
        remembered_suspect: later_arrived_first.then_some(seen.t),
    })
}

/// Remembers an in-person use. A use this detector found suspect is not remembered: its
/// location is doubtful, and remembering it would flag the customer's next genuine use back
/// home as well. When the suspect is a remembered later use that arrived first, that one is
/// forgotten and this use, the earlier one, is remembered.
pub(crate) fn record(
    cfg: &ImpossibleTravelConfig,
    state: &mut State,
    ev: &Event<'_>,
    trip: Option<&Trip>,
) {
    if !ev.txn.channel.is_physical() {
        return;
    }
    match trip.map(|t| t.remembered_suspect) {
        Some(None) => return,
        Some(Some(at)) => state.seen.retain(|s| s.t != at),
        None => {}
    }
    if let Some(last) = state.seen.back_mut() {
        if last.c.eq_ignore_ascii_case(ev.txn.country) {
            last.t = last.t.max(ev.t);
            return;
        }
    }
    let seen = Seen {
        t: ev.t,
        c: ev.txn.country.chars().take(3).collect(),
    };
    window::push(
        &mut state.seen,
        seen,
        ev.t,
        ms(cfg.lookback_secs),
        cfg.max_events,
    );
}

#[cfg(test)]
mod tests {
    use crate::test_support::{run, Tx};
    use crate::{AccountState, Channel, Detector};

    const D: Detector = Detector::ImpossibleTravel;

    fn present(secs: i64, country: &'static str) -> Tx {
        Tx::new(secs, 40.0, Channel::CardPresent).country(country)
    }

    #[test]
    fn far_country_minutes_later() {
        let mut s = AccountState::default();
        assert_eq!(run(&mut s, &present(0, "DE"), D), None);
        let score = run(&mut s, &present(30 * 60, "JP"), D).expect("Berlin to Tokyo in 30 min");
        assert!(score > 0.9, "{score}");
        let atm = Tx::new(40 * 60, 100.0, Channel::Atm).country("JP");
        assert!(
            run(&mut s, &atm, D).is_some(),
            "still impossible from Berlin"
        );
        // The flagged location is not remembered: the customer back home is not flagged.
        assert_eq!(run(&mut s, &present(60 * 60, "DE"), D), None);
    }

    #[test]
    fn a_later_use_that_arrived_first_is_the_suspect_one() {
        // Tokyo 30 min after Berlin, but Tokyo's terminal reported first.
        let mut s = AccountState::default();
        assert_eq!(run(&mut s, &present(30 * 60, "JP"), D), None);
        let late = crate::RiskEngine::default().assess(&mut s, &present(0, "DE").features());
        let finding = late
            .iter()
            .find(|f| f.detector == D)
            .expect("the pair is found when its second leg arrives");
        assert!(
            finding.reason.starts_with("in-person use in JP "),
            "the later use is named as the suspect: {}",
            finding.reason
        );
        // Tokyo is forgotten and Berlin remembered: the customer's next use at home passes,
        // another one in Tokyo is still impossible.
        assert_eq!(run(&mut s, &present(60 * 60, "DE"), D), None);
        assert!(run(&mut s, &present(70 * 60, "JP"), D).is_some());
    }

    #[test]
    fn plausible_trips_and_neighbours_pass() {
        let mut s = AccountState::default();
        run(&mut s, &present(0, "DE"), D);
        assert_eq!(
            run(&mut s, &present(10 * 3600, "US"), D),
            None,
            "10 h flight"
        );
        let mut s = AccountState::default();
        run(&mut s, &present(0, "DE"), D);
        assert_eq!(
            run(&mut s, &present(3 * 3600, "AT"), D),
            None,
            "Berlin-Vienna in 3 h"
        );
        let mut s = AccountState::default();
        run(&mut s, &present(0, "NL"), D);
        assert_eq!(run(&mut s, &present(300, "BE"), D), None, "border region");
        let mut s = AccountState::default();
        run(&mut s, &present(0, "DE"), D);
        assert!(
            run(&mut s, &present(600, "NL"), D).is_some(),
            "577 km in 10 min"
        );
    }

    #[test]
    fn online_and_unknown_countries_are_ignored() {
        let mut s = AccountState::default();
        run(&mut s, &present(0, "DE"), D);
        let online = Tx::new(600, 30.0, Channel::Online).country("JP");
        assert_eq!(run(&mut s, &online, D), None);
        assert_eq!(run(&mut s, &present(900, "ZZ"), D), None);
        assert_eq!(
            run(&mut s, &present(2 * 86_400, "JP"), D),
            None,
            "beyond lookback"
        );
    }
}
