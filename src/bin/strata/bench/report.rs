//! `--report DIR`: `index.html` and one SVG per suite (`<suite>.svg`: strata's figure against
//! its baseline, case by case, with the spread over the runs) and, with `--compare`, one per
//! suite against the old run (`<suite>-compare.svg`, regressions in red). The SVG is written
//! by hand (bars, whiskers and text; no plotting crate or font files needed); every file is
//! well-formed XML.

use std::fmt::Write as _;
use std::path::Path;

use super::compare::Diff;
use super::io_error;
use super::record::{BenchRun, Peer, Record};
use super::table_out::number;

const WIDTH: f64 = 900.0;
const LABEL: f64 = 330.0;
const ROW: f64 = 34.0;
const BAR: f64 = 12.0;
const STRATA: &str = "#2b6cb0";
const BASE: &str = "#a0aec0";
const BAD: &str = "#c53030";
const OLD: &str = "#cbd5e0";
const PEER: &str = "#dd6b20";

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn svg_start(height: f64, title: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<title>{}</title>\n\
         <rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{height}\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
        escape(title),
        escape(title)
    );
    s
}

fn legend(s: &mut String, y: f64, items: &[(&str, &str)]) {
    let mut x = LABEL;
    for (color, name) in items {
        let _ = writeln!(
            s,
            "<rect x=\"{x}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{color}\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>",
            y - 10.0,
            x + 16.0,
            y,
            escape(name)
        );
        x += 30.0 + name.len() as f64 * 7.0;
    }
}

/// strata against its baseline (and other engines on the same files, from benches/peers.py),
/// one row per result, each row on its own scale (the longest bar fills the row); whiskers
/// span min to max.
fn suite_svg(suite: &str, records: &[&Record], peers: &[Peer]) -> String {
    let top = 50.0;
    let peers_of = |id: &str| peers.iter().filter(|p| p.id == id).collect::<Vec<_>>();
    let rows: Vec<f64> = records
        .iter()
        .map(|r| ROW + (BAR + 2.0) * peers_of(&r.id).len() as f64)
        .collect();
    let height = top + rows.iter().sum::<f64>() + 20.0;
    let mut s = svg_start(
        height,
        &format!("{suite}: strata against its baseline (same run)"),
    );
    let mut items = vec![(STRATA, "strata"), (BASE, "baseline")];
    if rows.iter().any(|&h| h > ROW) {
        items.push((PEER, "other engines (benches/peers.py)"));
    }
    legend(&mut s, 38.0, &items);
    let span = WIDTH - LABEL - 200.0;
    let mut y = top;
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            y += rows[i - 1];
        }
        let name = r.id.strip_prefix(&format!("{suite}/")).unwrap_or(&r.id);
        let _ = writeln!(
            s,
            "<text x=\"10\" y=\"{}\">{}</text>",
            y + BAR + 2.0,
            escape(name)
        );
        let others = peers_of(&r.id);
        let mut bars = vec![(STRATA, &r.value, String::new())];
        if let Some(b) = &r.baseline {
            bars.push((BASE, &b.value, String::new()));
        }
        for p in &others {
            bars.push((PEER, &p.value, format!(" {} {}", p.engine, p.version)));
        }
        let scale = bars
            .iter()
            .map(|(_, v, _)| v.max)
            .fold(f64::MIN_POSITIVE, f64::max);
        for (k, (color, v, who)) in bars.iter().enumerate() {
            let dy = (BAR + 2.0) * k as f64;
            let w = (v.median / scale * span).clamp(0.0, span);
            let (lo, hi) = (
                LABEL + (v.min / scale * span).clamp(0.0, span),
                LABEL + (v.max / scale * span).clamp(0.0, span),
            );
            let _ = writeln!(
                s,
                "<rect x=\"{LABEL}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{BAR}\" fill=\"{color}\"/>\
                 <line x1=\"{lo:.1}\" x2=\"{hi:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"black\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{} {}{}</text>",
                y + dy,
                y + dy + BAR / 2.0,
                y + dy + BAR / 2.0,
                LABEL + w.max(hi - LABEL) + 4.0,
                y + dy + BAR - 2.0,
                escape(&number(v.median)),
                escape(&r.unit),
                escape(who)
            );
        }
        if let Some(a) = r.advantage {
            let color = if a < 1.0 { BAD } else { "black" };
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" font-weight=\"bold\" fill=\"{color}\">{}x</text>",
                WIDTH - 60.0,
                y + BAR + 2.0,
                escape(&number(a))
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

/// The old run's figure against the new one, per result compared; regressions in red.
fn compare_svg(suite: &str, diff: &Diff, records: &[&Record]) -> Option<String> {
    let changes: Vec<_> = records.iter().filter_map(|r| diff.change(&r.id)).collect();
    if changes.is_empty() {
        return None;
    }
    let top = 50.0;
    let height = top + ROW * changes.len() as f64 + 20.0;
    let mut s = svg_start(height, &format!("{suite}: this run against the old run"));
    legend(
        &mut s,
        38.0,
        &[(OLD, "old run"), (STRATA, "new run"), (BAD, "regressed")],
    );
    let span = WIDTH - LABEL - 260.0;
    for (i, c) in changes.iter().enumerate() {
        let y = top + ROW * i as f64;
        let name = c.id.strip_prefix(&format!("{suite}/")).unwrap_or(&c.id);
        let _ = writeln!(
            s,
            "<text x=\"10\" y=\"{}\">{}</text>",
            y + BAR + 2.0,
            escape(name)
        );
        let scale = c.old.max(c.new).max(f64::MIN_POSITIVE);
        let new_color = if c.regressed { BAD } else { STRATA };
        for (color, v, dy) in [(OLD, c.old, 0.0), (new_color, c.new, BAR + 2.0)] {
            let w = (v / scale * span).clamp(0.0, span);
            let _ = writeln!(
                s,
                "<rect x=\"{LABEL}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{BAR}\" fill=\"{color}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{} {}</text>",
                y + dy,
                LABEL + w + 4.0,
                y + dy + BAR - 2.0,
                escape(&number(v)),
                escape(if c.measure == "advantage" {
                    "x (strata over baseline)"
                } else {
                    &c.measure
                })
            );
        }
        let label = if c.regressed {
            format!("REGRESSED {:+.0}%", c.worse_pct)
        } else if c.worse_pct.abs() < 0.5 {
            "same".to_string()
        } else {
            format!("{:+.0}%", -c.worse_pct)
        };
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" font-weight=\"bold\" fill=\"{}\">{}</text>",
            WIDTH - 120.0,
            y + BAR + 2.0,
            if c.regressed { BAD } else { "black" },
            escape(&label)
        );
    }
    s.push_str("</svg>\n");
    Some(s)
}

fn save(path: &Path, text: &str) -> strata::Result<()> {
    let mut file = strata::AtomicFile::create(path)?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| io_error(path, e))?;
    file.commit()
}

pub fn write(dir: &Path, run: &BenchRun, old: Option<(&BenchRun, &Diff)>) -> strata::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n\
         <meta charset=\"utf-8\"/>\n<title>strata bench</title>\n<style>\
         body{{font-family:sans-serif;margin:2em;max-width:1100px}}\
         table{{border-collapse:collapse;font-size:12px}}\
         td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left}}\
         .bad{{color:#c53030;font-weight:bold}}</style>\n</head>\n<body>\n\
         <h1>strata bench</h1>\n<p>Machine: {}<br/>Finished {}; TPC-H scale {}, N = {} \
         thread(s), {} run(s) per case; figures are medians, whiskers min to max. Each ratio \
         is to a baseline measured in the same run; the conditions of both sides are listed \
         under each plot.</p>\n",
        escape(&run.machine.summary()),
        escape(&run.finished),
        run.settings.scale,
        run.settings.threads,
        run.settings.runs
    );
    if let Some((old_run, diff)) = old {
        let _ = writeln!(
            html,
            "<p>Compared with the run of {} on {}: <span class=\"{}\">{} regression(s)</span> \
             in {} compared result(s).</p>",
            escape(&old_run.finished),
            escape(&old_run.machine.summary()),
            if diff.regressions().is_empty() {
                ""
            } else {
                "bad"
            },
            diff.regressions().len(),
            diff.changes.len()
        );
    }
    let mut suites: Vec<&str> = run.records.iter().map(|r| r.suite.as_str()).collect();
    suites.dedup();
    for suite in suites {
        let records: Vec<&Record> = run.records.iter().filter(|r| r.suite == suite).collect();
        let name = format!("{suite}.svg");
        save(&dir.join(&name), &suite_svg(suite, &records, &run.peers))?;
        let _ = write!(
            html,
            "<h2>{}</h2>\n<p><img src=\"{}\" alt=\"{} figures\"/></p>\n",
            escape(suite),
            escape(&name),
            escape(suite)
        );
        if let Some((_, diff)) = old {
            if let Some(svg) = compare_svg(suite, diff, &records) {
                let name = format!("{suite}-compare.svg");
                save(&dir.join(&name), &svg)?;
                let _ = writeln!(
                    html,
                    "<p><img src=\"{}\" alt=\"{} against the old run\"/></p>",
                    escape(&name),
                    escape(suite)
                );
            }
        }
        html.push_str(
            "<table>\n<tr><th>case</th><th>strata</th><th>strata: threads, batch, I/O, state</th>\
             <th>baseline</th><th>baseline: what, threads, batch, I/O, state</th><th>note</th></tr>\n",
        );
        for r in records {
            let side = |s: &super::record::Side| {
                format!(
                    "{}; {} thread(s); batch {}; {}; {}",
                    s.name,
                    s.threads,
                    s.batch_rows.map_or("-".into(), |b| b.to_string()),
                    s.io,
                    s.state
                )
            };
            let (base, base_side) = match &r.baseline {
                Some(b) => (
                    format!("{} {}", number(b.value.median), r.unit),
                    side(&b.side),
                ),
                None => ("-".into(), "none".into()),
            };
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{} {} [{}-{}]</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&r.id),
                escape(&number(r.value.median)),
                escape(&r.unit),
                escape(&number(r.value.min)),
                escape(&number(r.value.max)),
                escape(&side(&r.strata)),
                escape(&base),
                escape(&base_side),
                escape(&r.note)
            );
        }
        html.push_str("</table>\n");
    }
    if !run.peers.is_empty() {
        html.push_str(
            "<h2>peers</h2>\n<table>\n<tr><th>engine</th><th>case</th><th>figure</th>\
             <th>threads</th><th>state</th><th>note</th></tr>\n",
        );
        for p in &run.peers {
            let _ = writeln!(
                html,
                "<tr><td>{} {}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&p.engine),
                escape(&p.version),
                escape(&p.id),
                escape(&number(p.value.median)),
                escape(&p.unit),
                p.threads,
                escape(&p.state),
                escape(&p.note)
            );
        }
        html.push_str("</table>\n");
    }
    html.push_str("</body>\n</html>\n");
    save(&dir.join("index.html"), &html)
}
