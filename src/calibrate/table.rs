//! The calibration table, and one progress line per load point.

use super::CalibrateArgs;
use super::Row;
use crate::results::Host;

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |x| format!("{x:.2}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |c| format!("{c:.0} %"))
}

fn point(r: &Row) -> String {
    match (r.concurrency, r.rate_rps) {
        (Some(c), _) => format!("{c} streams"),
        (_, Some(rate)) => format!("{rate} req/s"),
        _ => String::new(),
    }
}

pub fn progress(r: &Row) -> String {
    format!(
        "calibrate: {:>12}: {} requests in {:.1} s, TTFT error p50 {} p99 {} ms",
        point(r),
        r.requests,
        r.wall_s,
        ms(r.ttft_error_p50_ms),
        ms(r.ttft_error_p99_ms)
    )
}

pub fn render(rows: &[Row], host: &Host, args: &CalibrateArgs) -> String {
    let header = [
        "load",
        "requests",
        "TTFT err p50",
        "p99",
        "max",
        "ITL err p50",
        "p99",
        "max",
        "send lag p50",
        "p99",
        "events/s",
        "client CPU",
        "sim CPU",
        "peak RSS",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                point(r),
                if r.failed > 0 {
                    format!("{} ({} failed)", r.requests, r.failed)
                } else {
                    r.requests.to_string()
                },
                ms(r.ttft_error_p50_ms),
                ms(r.ttft_error_p99_ms),
                ms(r.ttft_error_max_ms),
                ms(r.itl_error_p50_ms),
                ms(r.itl_error_p99_ms),
                ms(r.itl_error_max_ms),
                ms(r.send_lag_p50_ms),
                ms(r.send_lag_p99_ms),
                format!("{:.0}", r.events_per_s),
                pct(r.client_cpu_pct),
                pct(r.sim_cpu_pct),
                r.peak_rss_mb
                    .map_or_else(|| "–".into(), |m| format!("{m:.0} MB")),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            cells
                .iter()
                .map(|row| row[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |row: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == 0 {
                s.push_str(&format!("{cell}{}", " ".repeat(pad)));
            } else {
                s.push_str(&format!("  {}{cell}", " ".repeat(pad)));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = format!(
        "Harness error against a sim in its own process (TTFT {} ms, ITL {} ms, {} tokens) on {} CPUs; errors are measured − true, in ms.\n\n",
        args.ttft_ms, args.itl_ms, args.tokens, host.cpus
    );
    out.push_str(&line(&header.map(String::from)));
    out.push_str(&line(
        &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
    ));
    for row in &cells {
        out.push_str(&line(row));
    }
    out
}
