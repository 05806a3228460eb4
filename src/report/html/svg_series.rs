//! One series drawn on a chart's frame: its line, steps, dots or error
//! bars, a band between two bounds, a shaded span, and the label of a
//! marked point.

use super::*;

pub(super) fn draw_series(s: &mut String, f: &Frame, series: &Series, style: usize) {
    let pts: Vec<(f64, f64)> = series
        .points
        .iter()
        .map(|p| (f.px(p.x), f.py(p.y)))
        .collect();
    if pts.is_empty() {
        return;
    }
    let _ = write!(
        s,
        r#"<g class="series s{style}"><title>{}</title>"#,
        escape(&series.name)
    );
    let mut d = String::new();
    match series.shape {
        Shape::Points => {}
        Shape::Band => band_path(&mut d, f, &series.points),
        Shape::Span => spans(s, f, &series.points),
        Shape::Line => {
            for (i, (x, y)) in pts.iter().enumerate() {
                let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" });
            }
        }
        Shape::Step => {
            // From 0 at the first value, up each step, flat to the next value.
            let (x0, _) = pts[0];
            let _ = write!(d, "M{x0:.1},{:.1}", f.py(0.0));
            let mut last_y = f.py(0.0);
            for (x, y) in &pts {
                let _ = write!(d, "L{x:.1},{last_y:.1}L{x:.1},{y:.1}");
                last_y = *y;
            }
        }
    }
    if !d.is_empty() {
        // The band's look is inline, so the stylesheet of every other page
        // stays as it was.
        let (class, style) = match series.shape {
            Shape::Band => ("band", r#" style="fill:var(--c);stroke:none;opacity:.2""#),
            _ => ("line", ""),
        };
        let _ = write!(s, r#"<path class="{class}"{style} d="{d}"/>"#);
    }
    if matches!(series.shape, Shape::Line | Shape::Points) {
        for (p, (x, y)) in series.points.iter().zip(&pts) {
            // An interval shorter than the marker would only blur it.
            if let Some((lo, hi)) = p
                .interval
                .filter(|(lo, hi)| (f.py(*lo) - f.py(*hi)).abs() > 7.0)
            {
                let (a, b) = (f.py(lo), f.py(hi));
                let _ = write!(
                    s,
                    r#"<path class="bar" d="M{x:.1},{a:.1}L{x:.1},{b:.1}M{:.1},{a:.1}L{:.1},{a:.1}M{:.1},{b:.1}L{:.1},{b:.1}"/>"#,
                    x - 4.0,
                    x + 4.0,
                    x - 4.0,
                    x + 4.0
                );
            }
            let _ = write!(
                s,
                r#"<circle class="dot" cx="{x:.1}" cy="{y:.1}" r="3.5"/>"#
            );
        }
    }
    if let Some((i, label)) = &series.marked {
        if let Some((x, y)) = pts.get(*i) {
            let _ = write!(
                s,
                r#"<circle class="mark" cx="{x:.1}" cy="{y:.1}" r="7.5"/>"#
            );
            if !label.is_empty() {
                mark_label(s, *x, *y, label);
            }
        }
    }
    s.push_str("</g>");
}

/// A ringed point's label, above and right of it; one that would run off
/// the chart's right edge ends at its point instead (the 10 px text runs
/// about 6 px a character).
fn mark_label(s: &mut String, x: f64, y: f64, label: &str) {
    let y = (y - 9.0).max(TOP + 8.0);
    let _ = if x + 9.0 + label.chars().count() as f64 * 6.0 > WIDTH {
        write!(
            s,
            r#"<text class="marklabel" x="{:.1}" y="{y:.1}" text-anchor="end">{}</text>"#,
            x - 9.0,
            escape(label)
        )
    } else {
        write!(
            s,
            r#"<text class="marklabel" x="{:.1}" y="{y:.1}">{}</text>"#,
            x + 9.0,
            escape(label)
        )
    };
}

/// The outline of a band: along the lows, back along the highs.
fn band_path(d: &mut String, f: &Frame, points: &[Point]) {
    let lows = points
        .iter()
        .map(|p| (p.x, p.interval.map_or(p.y, |i| i.0)));
    let highs = points
        .iter()
        .rev()
        .map(|p| (p.x, p.interval.map_or(p.y, |i| i.1)));
    for (i, (x, y)) in lows.chain(highs).enumerate() {
        let (x, y) = (f.px(x), f.py(y));
        let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" });
    }
    d.push('Z');
}

/// Each point's interval on the x axis shaded over the plot's height, and
/// a line at its x.
fn spans(s: &mut String, f: &Frame, points: &[Point]) {
    let (top, bottom) = (TOP, HEIGHT - BOTTOM);
    for p in points {
        if let Some((lo, hi)) = p.interval {
            let (a, b) = (f.px(lo), f.px(hi));
            let _ = write!(
                s,
                r#"<rect class="span" style="fill:var(--c);opacity:.14" x="{a:.1}" y="{top}" width="{:.1}" height="{:.1}"/>"#,
                (b - a).max(0.0),
                bottom - top
            );
        }
        let x = f.px(p.x);
        let _ = write!(
            s,
            r#"<line class="cap" style="stroke:var(--c);stroke-width:2;stroke-dasharray:6 3" x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{bottom}"/>"#
        );
    }
}
