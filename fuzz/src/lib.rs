//! The main crate's decode/validate code and fuzz checks, compiled by path (see Cargo.toml).
#![allow(dead_code, unused_imports)]

#[path = "../../src/domain/mod.rs"]
pub mod domain;

#[path = "../../src/fuzz_checks.rs"]
pub mod fuzz_checks;
