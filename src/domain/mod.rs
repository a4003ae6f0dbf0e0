//! The transaction record. Its types and parser live in the `pfm-domain` crate (the bottom
//! layer, which the fuzz crate also builds); this module re-exports them so that
//! `crate::domain::…` and `pfm::domain::…` paths stay as they were.

pub use pfm_domain::*;
