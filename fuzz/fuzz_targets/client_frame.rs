//! The realtime protocol's frame parser never panics on any text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = kefu_core::protocol::parse_client_frame(s);
    }
});
