#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pfm_testkit::check_decode(data));
