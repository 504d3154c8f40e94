//! The binary embeds the built web front ends from `web/dist` (see
//! `src/web.rs`). On a fresh clone they have not been built yet, so this makes
//! sure the folder exists (empty): `cargo build` and `cargo test` then work,
//! and the server answers with a page saying how to build the assets.
//! `make run` / `make test` build them first (npm ci + vite build).

use std::path::Path;

fn main() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/dist");
    if let Err(e) = std::fs::create_dir_all(&dist) {
        println!("cargo::warning=cannot create {}: {e}", dist.display());
    }
    // Release builds embed the files: rebuild when they change (a folder is
    // scanned recursively by cargo).
    println!("cargo::rerun-if-changed=../../web/dist");
    println!("cargo::rerun-if-changed=build.rs");
}
