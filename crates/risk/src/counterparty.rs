//! The other party of a transfer, as the cross-account detectors (fan-out, fan-in) see it:
//! a digest, never the account itself.

use crate::{Channel, Event};

/// The counterparty of a transfer of at least `min_eur`, when one is named.
pub(crate) fn of_transfer<'a>(ev: &Event<'a>, min_eur: f64) -> Option<&'a str> {
    if ev.txn.channel != Channel::Transfer || ev.eur? < min_eur {
        return None;
    }
    let c = ev.txn.counterparty?.trim();
    (!c.is_empty()).then_some(c)
}

/// 32-bit FNV-1a: stable across processes and releases, since persisted states hold it.
pub(crate) fn digest32(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// 64-bit FNV-1a, for keys of a process's own maps, where 32 bits would collide.
pub(crate) fn digest64(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
