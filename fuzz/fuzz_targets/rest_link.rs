#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| incidentd::fuzz::rest_link(bytes));
