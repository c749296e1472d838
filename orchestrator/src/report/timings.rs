//! `--timings`: a self-contained HTML report of one build — a Gantt chart of
//! every stage job (front-end, codegen, link, relink in distinct colours),
//! the concurrency over time, the critical path, and a per-crate table;
//! with `--touch`, the predicted schedule beside the measured one.
//! No scripts, fonts or images from the network: inline CSS and SVG only.

use std::fmt::Write;

use crate::events::{BuildSummary, JobTiming, UnitInfo};
use crate::graph::{UnitId, UnitMap};
use crate::plan::{Action, BuildPlan, Reason};

const ROW: u64 = 22;
const LABEL_WIDTH: u64 = 230;
const CHART_WIDTH: u64 = 900;

/// Everything the report shows.
pub struct TimingsInput<'a> {
    pub title: &'a str,
    pub infos: &'a UnitMap<UnitInfo>,
    pub plan: &'a BuildPlan,
    pub summary: &'a BuildSummary,
    pub jobs: usize,
    /// Show the predicted schedule too (`--touch`).
    pub show_prediction: bool,
}

pub fn render(input: &TimingsInput<'_>) -> String {
    let timings = &input.summary.timings;
    let critical: Vec<UnitId> = input
        .summary
        .schedule
        .as_ref()
        .map(|s| s.critical_path.clone())
        .unwrap_or_default();
    let mut rows: Vec<&JobTiming> = timings.iter().collect();
    rows.sort_by_key(|t| (t.start_ms, t.unit));
    let predicted_end = if input.show_prediction {
        input.plan.predicted_ms
    } else {
        0
    };
    let end = rows
        .iter()
        .map(|t| t.end_ms)
        .max()
        .unwrap_or(0)
        .max(predicted_end)
        .max(1);
    let scale = CHART_WIDTH as f64 / end as f64;
    let x = |ms: u64| LABEL_WIDTH as f64 + ms as f64 * scale;

    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title><style>{CSS}</style></head><body>\
         <h1>{title}</h1>",
        title = escape(input.title)
    );
    summary_block(&mut html, input, end);
    legend(&mut html, input.show_prediction);

    let per_row = if input.show_prediction { ROW * 2 } else { ROW };
    let height = 30 + rows.len() as u64 * per_row;
    let _ = write!(
        html,
        "<h2>Jobs</h2><svg class=\"gantt\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"Gantt chart\">",
        LABEL_WIDTH + CHART_WIDTH + 20
    );
    axis(&mut html, end, scale, height);
    for (i, t) in rows.iter().enumerate() {
        let y = 24 + i as u64 * per_row;
        let info = &input.infos[t.unit];
        let on_path = critical.contains(&t.unit);
        let class = if on_path { "label critical" } else { "label" };
        let _ = write!(
            html,
            "<text class=\"{class}\" x=\"4\" y=\"{}\">{}{}</text>",
            y + 14,
            escape(&info.label()),
            if on_path { " ★" } else { "" }
        );
        for (from, to, stage) in segments(t, info) {
            let _ = write!(
                html,
                "<rect class=\"{stage}{}\" x=\"{:.1}\" y=\"{y}\" width=\"{:.1}\" height=\"{}\"><title>{}: {stage} {} ms</title></rect>",
                if on_path { " on-path" } else { "" },
                x(from),
                ((to - from) as f64 * scale).max(1.0),
                ROW - 6,
                escape(&info.label()),
                to - from
            );
        }
        if input.show_prediction {
            let unit = input.plan.unit(t.unit);
            let _ = write!(
                html,
                "<rect class=\"predicted\" x=\"{:.1}\" y=\"{}\" width=\"{:.1}\" height=\"{}\"><title>predicted: {} ms</title></rect>",
                x(unit.predicted_start_ms),
                y + ROW,
                (unit.predicted_ms as f64 * scale).max(1.0),
                ROW - 10,
                unit.predicted_ms
            );
        }
    }
    html.push_str("</svg>");
    concurrency(&mut html, &rows, end, scale, input.jobs);
    table(&mut html, input, &critical);
    html.push_str("</body></html>\n");
    html
}

/// A job's bars: front-end then codegen for a library (split at its
/// `.rmeta`), one front-end → link bar for anything that links, or a relink.
fn segments(t: &JobTiming, info: &UnitInfo) -> Vec<(u64, u64, &'static str)> {
    match (t.action, t.metadata_ms) {
        _ if t.downloaded => vec![(t.start_ms, t.end_ms, "downloaded")],
        (Action::Relink, _) => vec![(t.start_ms, t.end_ms, "relink")],
        (_, Some(m)) => vec![(t.start_ms, m, "front-end"), (m, t.end_ms, "codegen")],
        _ if info.kind == crate::graph::UnitKind::Lib => {
            vec![(t.start_ms, t.end_ms, "front-end")]
        }
        _ => vec![(t.start_ms, t.end_ms, "link")],
    }
}

fn summary_block(html: &mut String, input: &TimingsInput<'_>, end: u64) {
    let s = input.summary;
    let _ = write!(
        html,
        "<table class=\"summary\"><tr><th>Profile</th><td>{}</td></tr>\
         <tr><th>Jobs</th><td>{} compiled, {} downloaded, {} relinked, {} fresh, on {} workers</td></tr>\
         <tr><th>Wall time</th><td>{:.2}s (jobs: {:.2}s)</td></tr>",
        s.profile.name,
        s.compiled,
        s.downloaded,
        s.relinked,
        s.fresh,
        input.jobs,
        s.duration.as_secs_f64(),
        end as f64 / 1000.0
    );
    if let Some(stats) = &s.schedule {
        let _ = write!(
            html,
            "<tr><th>Critical path</th><td>{:.2}s</td></tr><tr><th>Total job time</th><td>{:.2}s</td></tr>\
             <tr><th>Scheduler efficiency</th><td>{:.2} (wall / max(critical path, job time / workers))</td></tr>",
            stats.critical_path_ms as f64 / 1000.0,
            stats.job_time_ms as f64 / 1000.0,
            stats.efficiency
        );
    }
    if input.show_prediction {
        let _ = write!(
            html,
            "<tr><th>Predicted</th><td>{:.2}s</td></tr>",
            input.plan.predicted_ms as f64 / 1000.0
        );
    }
    html.push_str("</table>");
}

fn legend(html: &mut String, prediction: bool) {
    html.push_str("<p class=\"legend\">");
    for (class, name) in [
        (
            "front-end",
            "front-end (parse, expand, type-check → .rmeta)",
        ),
        ("codegen", "codegen (LLVM → .rlib)"),
        ("link", "binary: front-end → link"),
        ("relink", "relink (recorded link step)"),
        ("downloaded", "downloaded (build cache)"),
    ] {
        let _ = write!(html, "<span class=\"swatch {class}\"></span>{name} ");
    }
    if prediction {
        html.push_str("<span class=\"swatch predicted\"></span>predicted ");
    }
    html.push_str("★ critical path</p>");
}

fn axis(html: &mut String, end: u64, scale: f64, height: u64) {
    let step = tick_step(end);
    // As many decimals as the step needs: 50 ms ticks read 0.05s, 0.10s...
    let decimals = match step {
        0..100 => 2,
        100..1000 => 1,
        _ => 0,
    };
    let mut ms = 0;
    while ms <= end {
        let x = LABEL_WIDTH as f64 + ms as f64 * scale;
        let _ = write!(
            html,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"16\" x2=\"{x:.1}\" y2=\"{height}\"/><text class=\"tick\" x=\"{x:.1}\" y=\"12\">{:.*}s</text>",
            decimals,
            ms as f64 / 1000.0
        );
        ms += step;
    }
}

fn tick_step(end: u64) -> u64 {
    [
        50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000,
    ]
    .into_iter()
    .find(|s| end / s <= 10)
    .unwrap_or(120_000)
}

/// Running jobs over time, as a step chart.
fn concurrency(html: &mut String, rows: &[&JobTiming], end: u64, scale: f64, workers: usize) {
    // Net change per instant, so a job ending as another starts draws no dip.
    let mut net = std::collections::BTreeMap::<u64, i64>::new();
    for t in rows {
        *net.entry(t.start_ms).or_default() += 1;
        *net.entry(t.end_ms).or_default() -= 1;
    }
    let changes: Vec<(u64, i64)> = net.into_iter().filter(|(_, d)| *d != 0).collect();
    let height = 24 * workers.max(1) as u64 + 30;
    let unit = 24.0;
    let base = height as f64 - 10.0;
    let mut points = format!("{},{base}", LABEL_WIDTH);
    let mut running = 0i64;
    for (at, delta) in changes {
        let x = LABEL_WIDTH as f64 + at as f64 * scale;
        let _ = write!(points, " {x:.1},{:.1}", base - running as f64 * unit);
        running += delta;
        let _ = write!(points, " {x:.1},{:.1}", base - running as f64 * unit);
    }
    let _ = write!(
        points,
        " {:.1},{base}",
        LABEL_WIDTH as f64 + end as f64 * scale
    );
    let _ = write!(
        html,
        "<h2>Concurrency</h2><svg class=\"concurrency\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"running jobs over time\">\
         <text class=\"label\" x=\"4\" y=\"{:.1}\">running jobs (max {workers})</text>\
         <line class=\"grid\" x1=\"{LABEL_WIDTH}\" y1=\"{:.1}\" x2=\"{}\" y2=\"{:.1}\"/>\
         <polyline class=\"running\" points=\"{points}\"/></svg>",
        LABEL_WIDTH + CHART_WIDTH + 20,
        base - 4.0,
        base - workers as f64 * unit,
        LABEL_WIDTH + CHART_WIDTH,
        base - workers as f64 * unit
    );
}

fn table(html: &mut String, input: &TimingsInput<'_>, critical: &[UnitId]) {
    html.push_str(
        "<h2>Crates</h2><table class=\"crates\"><tr><th>crate</th><th>kind</th><th>action</th><th>change</th>\
         <th>start</th><th>front-end</th><th>codegen / link</th><th>total</th>",
    );
    if input.show_prediction {
        html.push_str("<th>predicted</th>");
    }
    html.push_str("<th>why</th></tr>");
    for (id, info) in input.infos.iter() {
        let unit = input.plan.unit(id);
        let timing = input.summary.timings.iter().find(|t| t.unit == id);
        let ms = |v: Option<u64>| {
            v.map(|v| format!("{v} ms"))
                .unwrap_or_else(|| "—".to_owned())
        };
        let (start, front, back, total, action) = match timing {
            Some(t) => {
                let front = t.metadata_ms.map(|m| m - t.start_ms);
                let back = t
                    .metadata_ms
                    .map(|m| t.end_ms - m)
                    .or(Some(t.end_ms - t.start_ms));
                let action = match t.action {
                    _ if t.downloaded => "downloaded",
                    Action::Relink => "relinked",
                    _ => "compiled",
                };
                (
                    Some(t.start_ms),
                    front,
                    back,
                    Some(t.end_ms - t.start_ms),
                    action,
                )
            }
            None => (None, None, None, None, "fresh"),
        };
        let why = match &unit.reason {
            Reason::Unchanged => "fresh".to_owned(),
            reason => reason.to_string(),
        };
        let _ = write!(
            html,
            "<tr{}><td>{}{}</td><td>{}</td><td>{action}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            if critical.contains(&id) {
                " class=\"critical\""
            } else {
                ""
            },
            escape(&info.crate_name),
            if critical.contains(&id) { " ★" } else { "" },
            info.kind.as_str(),
            unit.reason.change().as_str(),
            ms(start),
            ms(front),
            ms(back),
            ms(total),
        );
        if input.show_prediction {
            let predicted = (unit.action != Action::Fresh && unit.action != Action::Cosmetic)
                .then_some(unit.predicted_ms);
            let _ = write!(html, "<td>{}</td>", ms(predicted));
        }
        let _ = write!(html, "<td class=\"why\">{}</td></tr>", escape(&why));
    }
    html.push_str("</table>");
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const CSS: &str = "body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}\
table{border-collapse:collapse}th,td{padding:3px 10px;text-align:left;border-bottom:1px solid #ddd}\
table.summary th{width:160px}td.why{color:#555}tr.critical td:first-child{font-weight:bold;color:#b00020}\
.label{font-size:12px}.label.critical{font-weight:bold;fill:#b00020}.tick{font-size:10px;fill:#777}\
.grid{stroke:#eee}.front-end{fill:#4e79a7}.codegen{fill:#b07aa1}.link{fill:#f28e2b}.relink{fill:#59a14f}.downloaded{fill:#76b7b2}\
.predicted{fill:#bbb}.on-path{stroke:#b00020;stroke-width:2}.running{fill:none;stroke:#4e79a7;stroke-width:2}\
.legend .swatch{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}\
.swatch.front-end{background:#4e79a7}.swatch.codegen{background:#b07aa1}.swatch.link{background:#f28e2b}\
.swatch.relink{background:#59a14f}.swatch.downloaded{background:#76b7b2}.swatch.predicted{background:#bbb}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }

    #[test]
    fn ticks_stay_readable() {
        assert_eq!(tick_step(900), 100);
        assert_eq!(tick_step(45_000), 5000);
    }
}
