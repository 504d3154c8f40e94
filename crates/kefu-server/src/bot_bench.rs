//! `kefu bot bench-model`: how long the in-process embedding model takes to
//! load, the memory it adds, and its latency per message
//! (docs/benchmarks.md).

use anyhow::Result;
use kefu_bot::{Lang, eval::Case};
use std::path::Path;

#[cfg(feature = "local-model")]
mod enabled {
    use super::*;
    use anyhow::{Context, anyhow};
    use kefu_server::bot::embed::local::LocalModel;
    use std::time::Instant;

    /// Resident memory of this process, in bytes (Linux).
    fn rss() -> Result<u64> {
        let statm = std::fs::read_to_string("/proc/self/statm").context("/proc/self/statm")?;
        let pages: u64 = statm
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| anyhow!("unreadable /proc/self/statm"))?;
        // SAFETY: sysconf only reads a system constant.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        Ok(pages * u64::try_from(page).unwrap_or(4096))
    }

    pub fn run(dir: &Path, cases: &[Case]) -> Result<()> {
        let before = rss()?;
        let start = Instant::now();
        let model = LocalModel::load(dir)?;
        let load = start.elapsed();
        let loaded = rss()?;
        let questions: Vec<String> = cases
            .iter()
            .filter(|c| kefu_bot::text::detect(&c.question) == Lang::En)
            .map(|c| c.question.clone())
            .collect();
        anyhow::ensure!(!questions.is_empty(), "no English questions to embed");
        // One warm-up pass (first-touch allocations), then one at a time.
        model.embed(&questions[..1])?;
        let mut micros: Vec<u64> = Vec::with_capacity(questions.len());
        for q in &questions {
            let t = Instant::now();
            model.embed(std::slice::from_ref(q))?;
            micros.push(t.elapsed().as_micros() as u64);
        }
        let after = rss()?;
        micros.sort_unstable();
        let q = |p: f64| micros[((micros.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0;
        let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
        println!("model: {} ({} dimensions)", dir.display(), model.dim());
        println!("load: {:.0} ms", load.as_secs_f64() * 1000.0);
        println!(
            "memory (RSS): {:.1} MB before, {:.1} MB after loading (+{:.1} MB), {:.1} MB after {} messages (+{:.1} MB in all)",
            mb(before),
            mb(loaded),
            mb(loaded.saturating_sub(before)),
            mb(after),
            questions.len(),
            mb(after.saturating_sub(before))
        );
        println!(
            "embedding one message: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} English questions)",
            q(0.5),
            q(0.9),
            q(0.99),
            q(1.0),
            questions.len()
        );
        Ok(())
    }
}

#[cfg(feature = "local-model")]
pub use enabled::run;

#[cfg(not(feature = "local-model"))]
pub fn run(_: &Path, _: &[Case]) -> Result<()> {
    anyhow::bail!("this build has no in-process model (cargo feature local-model)")
}
