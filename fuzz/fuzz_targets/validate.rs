#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pfm_fuzz::fuzz_checks::check_validate(data));
