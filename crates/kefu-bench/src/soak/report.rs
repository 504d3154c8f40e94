//! The soak's part of summary.md (verdict, normal traffic per phase, attacks,
//! the server's counters) and a plot of attack connections ended per second.

use super::summary::SoakOutcome;
use anyhow::Result;
use plotters::prelude::*;
use std::{fmt::Write, path::Path};

/// Gauges, not counters: shown as readings, not per-phase differences.
const GAUGES: [&str; 6] = [
    "open",
    "max",
    "reserved",
    "open_file_limit",
    "tracked_addresses",
    "realtime",
];

pub fn markdown(o: &SoakOutcome) -> String {
    let mut md = String::new();
    let verdict = if o.passed { "PASSED" } else { "FAILED" };
    let _ = writeln!(md, "\n#### Soak verdict: **{verdict}**\n");
    for f in &o.failures {
        let _ = writeln!(md, "- {f}");
    }
    let _ = writeln!(
        md,
        "\nNormal traffic: {} visitor messages/s offered in every phase; an ack later than {} s is a failure.\n",
        o.chat_rate, o.ack_timeout_secs
    );
    let _ = writeln!(
        md,
        "| phase | attacks | s | visitor sends acked / made (offered) | errors (visitors dropped) | acks > {} s | v→a p50 / p99 / max ms | ack p99 ms | a→v p99 ms | newcomers in | newcomer p50 / max s | agent reconnects | server open (max) | pressure | /healthz answered | counter reads failed |",
        o.ack_timeout_secs
    );
    let _ = writeln!(
        md,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for p in &o.phases {
        let l = &p.latency;
        let _ = writeln!(
            md,
            "| {}{} | {} | {:.0} | {} / {} ({}) | {} ({}) | {} | {:.1} / **{:.1}** / {:.1} | {:.1} | {:.1} | {} of {} | {:.2} / {:.2} | {} | {} | {} | {} of {} | {} |",
            p.name,
            if p.checked { "" } else { " (unchecked)" },
            if p.attacks.is_empty() {
                "—".to_string()
            } else {
                p.attacks.join(", ")
            },
            p.secs,
            p.sends_acked,
            p.sends,
            p.offered,
            p.tally.errors,
            p.tally.visitors_dropped,
            p.tally.ack_overdue,
            l.visitor_to_agent.p50,
            l.visitor_to_agent.p99,
            l.visitor_to_agent.max,
            l.ack.p99,
            l.agent_to_visitor.p99,
            p.newcomers.ok,
            p.newcomers.tried,
            p.newcomers.p50_secs,
            p.newcomers.max_secs,
            p.tally.agent_reconnects,
            p.open_max.map_or("—".into(), |n| format!("{n:.0}")),
            if p.pressure { "yes" } else { "no" },
            p.health_ok,
            p.health_checks,
            p.server_read_failures,
        );
    }
    let _ = writeln!(
        md,
        "\n| attack | kind | sockets × addresses | active s | connections | cut | refused | served | open at stop | ended/s (cut/s) | open → cut p50 / p99 / max ms | open → refusal p50 ms | how they ended |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for a in &o.attacks {
        let how: Vec<String> = a
            .outcomes
            .iter()
            .map(|(k, n)| format!("{k} × {n}"))
            .collect();
        let _ = writeln!(
            md,
            "| {} | {:?} | {} × {} | {:.0} | {} | {} | {} | {} | {} | **{:.1}** ({:.1}) | {:.0} / {:.0} / {:.0} | {:.0} | {} |",
            a.name,
            a.kind,
            a.connections,
            a.addresses,
            a.active_secs,
            a.attempts,
            a.cut,
            a.refused,
            a.served,
            a.open_at_stop,
            a.ended_per_sec,
            a.cut_per_sec,
            a.time_to_cut.p50,
            a.time_to_cut.p99,
            a.time_to_cut.max,
            a.time_to_refusal.p50,
            how.join(", "),
        );
    }
    ends_table(&mut md, o);
    counters_table(&mut md, o);
    md
}

/// Attack connections the server ended in each phase: cut / refused.
fn ends_table(md: &mut String, o: &SoakOutcome) {
    let names: Vec<&str> = o.phases.iter().map(|p| p.name.as_str()).collect();
    let _ = writeln!(
        md,
        "\nAttack connections ended by the server in each phase: cut / refused (median time from open to cut).\n"
    );
    let _ = writeln!(md, "| attack | {} |", names.join(" | "));
    let _ = writeln!(md, "|---|{}", "---|".repeat(names.len()));
    for a in &o.attacks {
        let cells: Vec<String> = o
            .phases
            .iter()
            .map(|p| match p.attack_ends.get(&a.name) {
                Some(e) if e.cut > 0 => format!(
                    "{} / {} ({:.1} s)",
                    e.cut,
                    e.refused,
                    e.time_to_cut.p50 / 1000.0
                ),
                Some(e) => format!("0 / {}", e.refused),
                None => "—".into(),
            })
            .collect();
        let _ = writeln!(md, "| {} | {} |", a.name, cells.join(" | "));
    }
}

/// Counters before, per phase (differences) and after.
fn counters_table(md: &mut String, o: &SoakOutcome) {
    let (Some(first), Some(last)) = (o.server_readings.first(), o.server_readings.last()) else {
        let _ = writeln!(md, "\nThe server's counters could not be read.");
        return;
    };
    let _ = writeln!(
        md,
        "\nThe server's counters (`GET /api/v1/server/connections`): at the start, the change in each phase, at the end{}.\n",
        if o.server_read_failures > 0 {
            format!(" ({} readings failed)", o.server_read_failures)
        } else {
            String::new()
        }
    );
    let names: Vec<&str> = o.phases.iter().map(|p| p.name.as_str()).collect();
    let _ = writeln!(md, "| counter | start | {} | end |", names.join(" | "));
    let _ = writeln!(md, "|---|---|{}---|", "---|".repeat(names.len()));
    for (k, v0) in &first.values {
        let gauge = GAUGES.contains(&k.as_str());
        let cells: Vec<String> = o
            .phases
            .iter()
            .map(|p| match p.server.get(k) {
                Some(d) if gauge => format!("{d:+.0}"),
                Some(d) => format!("+{d:.0}"),
                None => "—".into(),
            })
            .collect();
        let end = last.values.get(k).copied().unwrap_or(0.0);
        let _ = writeln!(md, "| {k} | {v0:.0} | {} | {end:.0} |", cells.join(" | "));
    }
}

/// Attack connections ended (cut or refused) per second, one line per attack,
/// with the phase boundaries marked.
pub fn plot(path: &Path, name: &str, o: &SoakOutcome) -> Result<()> {
    let rows = &o.ends_per_second;
    let end = o.phases.last().map_or(1.0, |p| p.start_secs + p.secs);
    let x_max = rows
        .last()
        .map_or(0, |r| r[0])
        .max(end.ceil() as u64)
        .max(1);
    let y_max = rows
        .iter()
        .flat_map(|r| r[1..].iter().copied())
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.1;
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{name}: attack connections ended by the server per second"),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0u64..x_max, 0f64..y_max)?;
    chart
        .configure_mesh()
        .x_desc("seconds since start")
        .y_desc("cut or refused / s")
        .draw()?;
    for p in &o.phases {
        let x = p.start_secs.round() as u64;
        chart.draw_series(LineSeries::new(vec![(x, 0.0), (x, y_max)], BLACK.mix(0.3)))?;
    }
    for (i, a) in o.attacks.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let line = rows.iter().map(|r| (r[0], r[i + 1] as f64));
        chart
            .draw_series(LineSeries::new(line, color))?
            .label(a.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    root.present()?;
    Ok(())
}
