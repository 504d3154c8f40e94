//! Results: JSON for machines, Markdown for people, SVG plots for both.

use crate::{run::Outcome, scenario::Scenario};
use anyhow::Result;
use plotters::prelude::*;
use serde::Serialize;
use std::{fmt::Write, path::Path};

#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub scenario: &'a str,
    pub kind: String,
    pub visitors: usize,
    pub agents: usize,
    pub machine: Machine,
    pub server: ServerInfo,
    pub outcome: &'a Outcome,
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub kernel: String,
    pub note: &'static str,
}

#[derive(Debug, Serialize)]
pub struct ServerInfo {
    pub backend: &'static str,
    pub cold_start_ms: f64,
    pub binary_bytes: u64,
}

impl Machine {
    pub fn here() -> Machine {
        Machine {
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            note: "load generator and server share this machine",
        }
    }
}

pub fn write(dir: &Path, s: &Scenario, r: &Report) -> Result<String> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("result.json"), serde_json::to_string_pretty(r)?)?;
    let o = r.outcome;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "### {} ({:?}, {} backend)\n",
        s.name, s.kind, r.server.backend
    );
    let _ = writeln!(
        md,
        "{} visitors, {} agents on {} CPUs; server cold start {:.1} ms; binary {:.1} MB.\n",
        s.visitors,
        s.agents,
        r.machine.cpus,
        r.server.cold_start_ms,
        r.server.binary_bytes as f64 / 1e6
    );
    let c = &o.connect;
    let _ = writeln!(md, "| metric | value |\n|---|---|");
    let _ = writeln!(
        md,
        "| connected | {} of {} ({} errors) in {:.2} s = **{:.0}/s** |",
        c.connected, c.attempted, c.errors, c.secs, c.per_sec
    );
    let _ = writeln!(
        md,
        "| server RSS | {:.1} MB before, {:.1} MB connected, {:.1} MB peak |",
        o.rss_before_kib as f64 / 1024.0,
        o.rss_connected_kib as f64 / 1024.0,
        o.rss_peak_kib as f64 / 1024.0
    );
    let _ = writeln!(
        md,
        "| server RSS per connection | **{:.1} KB** |",
        o.rss_per_connection_bytes / 1000.0
    );
    if o.sent > 0 || o.acked > 0 {
        let _ = writeln!(
            md,
            "| messages | {} sent, {} acked, {:.0}/s over {:.1} s |",
            o.sent, o.acked, o.throughput_per_sec, o.duration_secs
        );
    }
    let _ = writeln!(
        md,
        "| errors / lost / duplicated | {} / **{}** / **{}** |",
        o.errors, o.lost, o.duplicated
    );
    if o.agent_reconnects > 0 {
        let _ = writeln!(
            md,
            "| agent reconnects (resumed with `sync`) | {} |",
            o.agent_reconnects
        );
    }
    if !o.error_codes.is_empty() {
        let codes: Vec<String> = o
            .error_codes
            .iter()
            .map(|(c, n)| format!("{c} × {n}"))
            .collect();
        let _ = writeln!(md, "| error frames | {} |", codes.join(", "));
    }
    if let (Some(n), Some(secs)) = (o.resumed, o.resume_secs) {
        let _ = writeln!(
            md,
            "| resumed exactly | {n} of {} in **{secs:.2} s** |",
            s.visitors
        );
    }
    if o.visitor_to_agent.count > 0 {
        let l = &o.visitor_to_agent;
        let _ = writeln!(
            md,
            "| visitor → agent ms | p50 {:.2}, p90 {:.2}, **p99 {:.2}**, p99.9 {:.2}, max {:.2} (mean {:.2}, n={}) |",
            l.p50, l.p90, l.p99, l.p999, l.max, l.mean, l.count
        );
    }
    if o.agent_to_visitor.count > 0 {
        let l = &o.agent_to_visitor;
        let _ = writeln!(
            md,
            "| agent → visitor ms | p50 {:.2}, p90 {:.2}, **p99 {:.2}**, p99.9 {:.2}, max {:.2} (n={}) |",
            l.p50, l.p90, l.p99, l.p999, l.max, l.count
        );
    }
    if !o.steps.is_empty() {
        let _ = writeln!(
            md,
            "\n| offered msg/s | achieved msg/s | v→a p50 | v→a p99 | v→a max | a→v p99 | ack p99 | send lag p99 |\n|---|---|---|---|---|---|---|---|"
        );
        for st in &o.steps {
            let _ = writeln!(
                md,
                "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
                st.offered_per_sec,
                st.achieved_per_sec,
                st.visitor_to_agent.p50,
                st.visitor_to_agent.p99,
                st.visitor_to_agent.max,
                st.agent_to_visitor.p99,
                st.ack.p99,
                st.send_lag.p99
            );
        }
        let _ = writeln!(
            md,
            "\nLatencies (ms) of the messages sent in each step, counted from when each send was due \
             (the send lag, the generator's own lateness, is inside them); {} s of warm-up before the \
             first step are in none of them.",
            o.warmup_secs
        );
    }
    if !o.timeline_v2a.is_empty() {
        plot_timeline(&dir.join("latency-over-time.svg"), &s.name, &o.timeline_v2a)?;
        let _ = writeln!(md, "\n![latency over time](@@latency-over-time.svg)");
    }
    if o.steps.len() > 1 {
        plot_load(&dir.join("latency-vs-load.svg"), &s.name, o)?;
        let _ = writeln!(md, "\n![latency vs offered load](@@latency-vs-load.svg)");
    }
    if let Some(soak) = &o.soak {
        md.push_str(&crate::soak::report::markdown(soak));
        crate::soak::report::plot(&dir.join("attack-ends.svg"), &s.name, soak)?;
        let _ = writeln!(
            md,
            "\n![attack connections ended per second](@@attack-ends.svg)"
        );
    }
    // Image links relative to where each summary lives.
    std::fs::write(dir.join("summary.md"), md.replace("@@", ""))?;
    Ok(md.replace("@@", &format!("{}/", s.name)))
}

fn plot_timeline(path: &Path, name: &str, series: &[(u64, f64, f64)]) -> Result<()> {
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let x_max = series.iter().map(|p| p.0).max().unwrap_or(1).max(1);
    let y_max = series.iter().map(|p| p.2).fold(0.1, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{name}: visitor → agent latency per second"),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0u64..x_max, 0f64..y_max)?;
    chart
        .configure_mesh()
        .x_desc("seconds since start")
        .y_desc("ms")
        .draw()?;
    chart
        .draw_series(LineSeries::new(series.iter().map(|p| (p.0, p.1)), &BLUE))?
        .label("p50")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE));
    chart
        .draw_series(LineSeries::new(series.iter().map(|p| (p.0, p.2)), &RED))?
        .label("p99")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED));
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    root.present()?;
    Ok(())
}

fn plot_load(path: &Path, name: &str, o: &Outcome) -> Result<()> {
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let x_max = o.steps.iter().map(|s| s.offered_per_sec).max().unwrap_or(1) as f64 * 1.05;
    let y_max = o
        .steps
        .iter()
        .map(|s| s.visitor_to_agent.p99)
        .fold(0.1, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{name}: latency vs offered load"),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
    chart
        .configure_mesh()
        .x_desc("offered visitor messages / s")
        .y_desc("visitor → agent ms")
        .draw()?;
    let p = |f: fn(&crate::run::Step) -> f64| {
        o.steps
            .iter()
            .map(move |s| (s.offered_per_sec as f64, f(s)))
            .collect::<Vec<_>>()
    };
    chart
        .draw_series(LineSeries::new(p(|s| s.visitor_to_agent.p50), &BLUE))?
        .label("p50")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE));
    chart
        .draw_series(LineSeries::new(p(|s| s.visitor_to_agent.p99), &RED))?
        .label("p99")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED));
    chart.draw_series(
        p(|s| s.visitor_to_agent.p99)
            .into_iter()
            .map(|pt| Circle::new(pt, 3, RED.filled())),
    )?;
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    root.present()?;
    Ok(())
}
