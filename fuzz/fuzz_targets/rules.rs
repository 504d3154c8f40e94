//! The rule DSL never panics: any bytes either compile or give a positioned
//! error; a rule set that compiles can be evaluated and explained.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    match kefu_routing::compile(src, &kefu_routing::Known::default()) {
        Ok(engine) => {
            let ctx = kefu_routing::Context::default();
            let _ = engine.decide(&ctx);
            let _ = engine.explain(&ctx);
        }
        Err(e) => assert!(e.pos.line >= 1 && e.pos.col >= 1),
    }
});
