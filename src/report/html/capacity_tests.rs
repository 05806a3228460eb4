//! The capacity chart read back from its SVG: every trial's dot, the fitted
//! curve, its band and the capacity's interval land where the data says,
//! measured against the chart's own tick labels.

use super::*;
use crate::capacity::{Next, Search};
use crate::experiment::CapacitySpec;
use crate::report::searches::ProbeTrials;
use std::collections::HashMap;

/// A search over one objective at 4, 8, 16 and 64 req/s (16×: a log axis),
/// two trials each, stopped on its budget of four probes.
fn replayed() -> Replayed {
    let spec: CapacitySpec =
        serde_json::from_str(r#"{"factor":"rate","min":4,"max":64,"max_probes":4}"#).unwrap();
    let objectives = vec![Objective {
        key: "ttft_ms".into(),
        says: "TTFT ≤ 100 ms for 95 % of requests".into(),
    }];
    let data = [
        (4.0, [0.4, 0.3]),
        (8.0, [0.2, 0.05]),
        (16.0, [-0.05, -0.2]),
        (64.0, [-0.4, -0.5]),
    ];
    let mut search = Search::new(spec, objectives.clone(), 5);
    let mut probes = Vec::new();
    for (i, (load, margins)) in data.iter().enumerate() {
        search.add(*load, margins.iter().map(|m| vec![*m]).collect());
        probes.push(ProbeTrials {
            load: *load,
            label: format!("baseline, rate={load}"),
            trials: margins.iter().map(|m| (i, vec![*m])).collect(),
        });
    }
    assert!(matches!(search.next(), Next::Stop(_)));
    let outcome = search.outcome("baseline");
    Replayed {
        configuration: "baseline".into(),
        objectives,
        probes,
        search,
        outcome,
    }
}

/// An element's attributes.
fn attrs(tag: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for part in tag.split("\" ").map(str::trim) {
        if let Some((k, v)) = part.split_once("=\"") {
            let k = k.rsplit(' ').next().unwrap_or(k);
            out.insert(
                k.to_string(),
                v.trim_end_matches(['"', '/', '>']).to_string(),
            );
        }
    }
    out
}

/// An element: its tag's name and attributes.
type Element = (String, HashMap<String, String>);

/// Each series group's title and its elements.
fn groups(svg: &str) -> Vec<(String, Vec<Element>)> {
    svg.split("<g class=\"series")
        .skip(1)
        .map(|g| {
            let g = &g[..g.find("</g>").unwrap()];
            let title = g.split("<title>").nth(1).unwrap().split("</title>").next();
            let elements = g
                .split('<')
                .skip(1)
                .filter(|e| !e.starts_with('/') && !e.starts_with("title"))
                .map(|e| {
                    let e = &e[..e.find('>').unwrap()];
                    let name = e.split(' ').next().unwrap().to_string();
                    (name, attrs(e))
                })
                .collect();
            (title.unwrap().to_string(), elements)
        })
        .collect()
}

/// The ticks of one axis: (pixel, value), from the tick labels (the x
/// axis's centred under their marks, the y axis's ending at the axis).
fn ticks(svg: &str, anchor: &str) -> Vec<(f64, f64)> {
    svg.split("<text class=\"tick\"")
        .skip(1)
        .filter(|t| t[..t.find('>').unwrap()].contains(anchor))
        .map(|t| {
            let a = attrs(&t[..t.find('>').unwrap()]);
            let value: f64 = t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()]
                .parse()
                .unwrap();
            match anchor {
                // A y label sits 4 px below its grid line.
                "end" => (a["y"].parse::<f64>().unwrap() - 4.0, value),
                _ => (a["x"].parse().unwrap(), value),
            }
        })
        .collect()
}

/// From a pixel back to a value, between the first and last tick (in log
/// space where `log`).
fn inverse(ticks: &[(f64, f64)], log: bool) -> impl Fn(f64) -> f64 {
    let f = move |v: f64| if log { v.log10() } else { v };
    let (p0, v0) = ticks[0];
    let (p1, v1) = ticks[ticks.len() - 1];
    let (a, b) = (f(v0), f(v1));
    move |p: f64| {
        let v = a + (p - p0) / (p1 - p0) * (b - a);
        if log {
            10f64.powf(v)
        } else {
            v
        }
    }
}

fn num(a: &HashMap<String, String>, k: &str) -> f64 {
    a[k].parse().unwrap()
}

/// A path's vertices.
fn vertices(d: &str) -> Vec<(f64, f64)> {
    d.trim_end_matches('Z')
        .split(['M', 'L'])
        .filter(|s| !s.is_empty())
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * b.abs().max(0.1)
}

#[test]
fn the_margin_chart_holds_every_trial_the_curve_its_band_and_the_interval() {
    let r = replayed();
    let o = r.outcome.clone().expect("a finished search");
    let figure = margin_figure(&r).unwrap();
    assert_eq!(figure.chart.x, XAxis::Numeric { log: true });
    let svg = figure.chart.to_svg();
    let x_of = inverse(&ticks(&svg, "middle"), true);
    let y_of = inverse(&ticks(&svg, "end"), false);
    let at = |e: &HashMap<String, String>, x: &str, y: &str| (x_of(num(e, x)), y_of(num(e, y)));
    let g = groups(&svg);
    let titles: Vec<&str> = g.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(titles.len(), 4, "{titles:?}");

    // Every trial a dot, where its load and margin put it.
    let (_, trials) = &g[2];
    let mut dots: Vec<(f64, f64)> = trials
        .iter()
        .filter(|(n, _)| n == "circle")
        .map(|(_, e)| at(e, "cx", "cy"))
        .collect();
    dots.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let want: Vec<(f64, f64)> = r
        .probes
        .iter()
        .flat_map(|p| p.trials.iter().map(move |(_, m)| (p.load, m[0])))
        .collect();
    assert_eq!(dots.len(), want.len());
    for (got, want) in dots.iter().zip(&want) {
        assert!(
            close(got.0, want.0, 0.01) && (got.1 - want.1).abs() < 0.01,
            "{got:?} {want:?}"
        );
    }

    // The curve runs through the fit at each distinct load.
    let curve = &o.estimate.fit.curves[0];
    let path = |i: usize, class: &str| {
        let (_, els) = &g[i];
        let (_, p) = els
            .iter()
            .find(|(n, e)| n == "path" && e["class"] == class)
            .unwrap();
        vertices(&p["d"])
            .into_iter()
            .map(|(x, y)| (x_of(x), y_of(y)))
            .collect::<Vec<_>>()
    };
    let line = path(1, "line");
    assert_eq!(line.len(), curve.len());
    for ((x, y), (load, m)) in line.iter().zip(curve) {
        assert!(
            close(*x, *load, 0.01) && (y - m).abs() < 0.01,
            "{line:?} {curve:?}"
        );
    }

    // The band: along the lows, back along the highs, around the curve.
    let band = path(0, "band");
    let n = curve.len();
    assert_eq!(band.len(), 2 * n);
    for (i, (load, m)) in curve.iter().enumerate() {
        let (low, high) = (band[i], band[2 * n - 1 - i]);
        assert!(close(low.0, *load, 0.01) && close(high.0, *load, 0.01));
        assert!(low.1 <= m + 0.01 && m - 0.01 <= high.1, "{band:?}");
    }
    assert!(band
        .iter()
        .take(n)
        .zip(band.iter().rev())
        .any(|(l, h)| h.1 - l.1 > 0.05));

    // The capacity at its line, its interval shaded.
    let (x, i) = o.reported();
    let (_, span) = &g[3];
    let (_, rect) = span.iter().find(|(n, _)| n == "rect").unwrap();
    let (lo, hi) = (
        x_of(num(rect, "x")),
        x_of(num(rect, "x") + num(rect, "width")),
    );
    assert!(
        close(lo, i.low, 0.01) && close(hi, i.high, 0.01),
        "{lo} {hi} {i:?}"
    );
    let (_, cap) = span.iter().find(|(n, _)| n == "line").unwrap();
    assert!(close(x_of(num(cap, "x1")), x, 0.01), "{x}");
    assert!(i.low <= x && x <= i.high && i.low < i.high, "{i:?}");
    // And the zero line, where the objective stops holding.
    assert!(svg.contains("<line class=\"zero\""));
}
