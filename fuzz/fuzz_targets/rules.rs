//! The rule DSL never panics: any bytes either compile or give a positioned
//! error; a rule set that compiles can be evaluated and explained, and
//! renaming a group in it leaves a rule set that still compiles.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    match kefu_routing::compile(src, &kefu_routing::Known::default()) {
        Ok(engine) => {
            let ctx = kefu_routing::Context::default();
            let _ = engine.decide(&ctx);
            let _ = engine.explain(&ctx);
            for old in ["a", "billing"] {
                if let Some(renamed) = kefu_routing::rename_group(src, old, "新 \"b\\") {
                    assert!(
                        kefu_routing::compile(&renamed, &kefu_routing::Known::default()).is_ok(),
                        "{renamed}"
                    );
                }
            }
        }
        Err(e) => assert!(e.pos.line >= 1 && e.pos.col >= 1),
    }
});
