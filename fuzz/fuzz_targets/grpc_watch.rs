#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| incidentd::fuzz::grpc_watch(bytes));
