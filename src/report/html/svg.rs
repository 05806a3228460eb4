//! A small SVG chart kit: points joined by lines with error bars, on a
//! numeric (optionally logarithmic) or categorical x axis, and step lines for
//! ECDFs. Colours and fonts come from the page's CSS (series classes `s0`…`s7`),
//! so a chart is plain markup and its text stays selectable text.

use super::escape;
use std::fmt::Write;

const WIDTH: f64 = 520.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 18.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 46.0;
/// Series styles the CSS defines; further series reuse them in turn.
pub const PALETTE: usize = 8;
/// A tick label's width per character, estimated on the safe side: the
/// page's 11 px sans-serif runs about 6 px a character.
const TICK_CHAR_PX: f64 = 6.5;
/// A category label turned on its side is cut to this many characters
/// (its whole text in its tooltip), so the chart stays a chart.
const LONGEST_LABEL: usize = 40;

#[derive(Debug, Clone, PartialEq)]
pub enum XAxis {
    /// Numbers; logarithmic where `log` (every x must then be positive).
    Numeric { log: bool },
    /// Named levels, drawn at equal spacing in this order; x is the index.
    Categories(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    /// An interval drawn as an error bar (a 95 % CI, say).
    pub interval: Option<(f64, f64)>,
}

impl Point {
    pub fn new(x: f64, y: f64) -> Self {
        Point {
            x,
            y,
            interval: None,
        }
    }

    /// A mean of `metric` with its interval, the interval cut at the values
    /// the metric can take: a t interval of a few trials reaches below zero
    /// tok/s, which no trial can measure.
    pub fn estimate(x: f64, mean: f64, interval: Option<(f64, f64)>, metric: &str) -> Self {
        let (low, high) = crate::metrics::range(metric);
        Point {
            x,
            y: mean,
            interval: interval.map(|(a, b)| (a.clamp(low, high), b.clamp(low, high))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// Markers joined by straight lines.
    Line,
    /// A right-continuous step function (an ECDF).
    Step,
    /// Markers alone (estimates that no line should join), with error bars.
    Points,
    /// A shaded band through each point's interval (a fitted curve's
    /// bootstrap band), without markers.
    Band,
    /// A vertical line at each point's x with its interval read on the x
    /// axis and shaded across the plot (a capacity and its interval); its
    /// y is not drawn and takes no part in the y axis.
    Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<Point>,
    pub shape: Shape,
    /// The index of a point to ring and label (the baseline).
    pub marked: Option<(usize, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x: XAxis,
    pub series: Vec<Series>,
    /// Keep zero on the y axis (amounts, changes) rather than fitting the
    /// data alone (latencies that never come near zero).
    pub y_from_zero: bool,
}

/// Where the data lands on the page.
struct Frame {
    x: (f64, f64),
    y: (f64, f64),
    log_x: bool,
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        let (x, lo, hi) = if self.log_x {
            (x.log10(), self.x.0.log10(), self.x.1.log10())
        } else {
            (x, self.x.0, self.x.1)
        };
        let span = if hi > lo { hi - lo } else { 1.0 };
        LEFT + (x - lo) / span * (WIDTH - LEFT - RIGHT)
    }

    fn py(&self, y: f64) -> f64 {
        let span = if self.y.1 > self.y.0 {
            self.y.1 - self.y.0
        } else {
            1.0
        };
        HEIGHT - BOTTOM - (y - self.y.0) / span * (HEIGHT - TOP - BOTTOM)
    }
}

/// Round tick values spanning `lo..=hi`, about `n` of them (1–2–5 steps).
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - pad, hi + pad)
    };
    let raw = (hi - lo) / n.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = magnitude
        * match raw / magnitude {
            r if r < 1.5 => 1.0,
            r if r < 3.0 => 2.0,
            r if r < 7.0 => 5.0,
            _ => 10.0,
        };
    let first = (lo / step).floor() as i64;
    let last = (hi / step).ceil() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A tick label with as many decimals as the step between ticks needs.
fn tick_label(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    let s = format!("{v:.decimals$}");
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// A measured level as written: whole numbers without decimals.
fn level_label(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        crate::report::format_num(Some(x))
    }
}

impl Chart {
    fn frame(&self) -> Frame {
        let points = || self.series.iter().flat_map(|s| s.points.iter());
        let (x, log_x) = match &self.x {
            XAxis::Categories(names) => ((-0.5, names.len() as f64 - 0.5), false),
            XAxis::Numeric { log } => {
                let spans = self.series.iter().filter(|s| s.shape == Shape::Span);
                let span_ends = spans
                    .flat_map(|s| s.points.iter())
                    .flat_map(|p| p.interval.map(|(a, b)| [a, b]).unwrap_or([p.x, p.x]));
                let xs = points().map(|p| p.x).chain(span_ends);
                let lo = xs.clone().fold(f64::INFINITY, f64::min);
                let hi = xs.fold(f64::NEG_INFINITY, f64::max);
                let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
                if *log && lo > 0.0 {
                    // A little room either side, in the log domain.
                    ((lo / 1.25, hi * 1.25), true)
                } else {
                    let pad = if hi > lo { (hi - lo) * 0.04 } else { 1.0 };
                    ((lo - pad, hi + pad), false)
                }
            }
        };
        let ys = self
            .series
            .iter()
            .filter(|s| s.shape != Shape::Span)
            .flat_map(|s| s.points.iter())
            .flat_map(|p| {
                let (a, b) = p.interval.unwrap_or((p.y, p.y));
                [p.y, a, b]
            });
        let mut lo = ys.clone().fold(f64::INFINITY, f64::min);
        let mut hi = ys.fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if self.y_from_zero {
            lo = lo.min(0.0);
            hi = hi.max(0.0);
        }
        let ticks = nice_ticks(lo, hi, 5);
        Frame {
            x,
            y: (ticks[0], ticks[ticks.len() - 1]),
            log_x,
        }
    }

    pub fn to_svg(&self) -> String {
        let f = self.frame();
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {}" role="img"><title>{}</title>"#,
            self.height(),
            escape(&self.title)
        );
        self.axes(&mut s, &f);
        for (i, series) in self.series.iter().enumerate() {
            draw_series(&mut s, &f, series, i % PALETTE);
        }
        if self.series.iter().all(|s| s.points.is_empty()) {
            let _ = write!(
                s,
                r#"<text class="empty" x="{}" y="{}" text-anchor="middle">no data</text>"#,
                WIDTH / 2.0,
                HEIGHT / 2.0
            );
        }
        s.push_str("</svg>");
        s
    }

    /// How far below the axis category labels reach when they are turned on
    /// their side: where they would not fit side by side (long factor levels
    /// in a comparison); `None` where they do and are written level.
    fn turned_labels(&self) -> Option<f64> {
        let XAxis::Categories(names) = &self.x else {
            return None;
        };
        let slot = (WIDTH - RIGHT - LEFT) / names.len().max(1) as f64;
        let longest = names.iter().map(|n| n.chars().count()).max()?;
        let widest = longest as f64 * TICK_CHAR_PX;
        (widest > slot - 6.0).then(|| longest.min(LONGEST_LABEL) as f64 * TICK_CHAR_PX)
    }

    /// The chart's height: taller by the labels turned on their side.
    fn height(&self) -> f64 {
        HEIGHT
            + self
                .turned_labels()
                .map_or(0.0, |depth| (depth - 14.0).max(0.0))
    }

    fn axes(&self, s: &mut String, f: &Frame) {
        let (x0, x1) = (LEFT, WIDTH - RIGHT);
        let (y0, y1) = (HEIGHT - BOTTOM, TOP);
        let yt = nice_ticks(f.y.0, f.y.1, 5);
        let ystep = if yt.len() > 1 { yt[1] - yt[0] } else { 1.0 };
        for v in &yt {
            let y = f.py(*v);
            let _ = write!(
                s,
                r#"<line class="grid" x1="{x0}" x2="{x1}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                x0 - 6.0,
                y + 4.0,
                tick_label(*v, ystep)
            );
        }
        if f.y.0 < 0.0 && f.y.1 > 0.0 {
            let y = f.py(0.0);
            let _ = write!(
                s,
                r#"<line class="zero" x1="{x0}" x2="{x1}" y1="{y:.1}" y2="{y:.1}"/>"#
            );
        }
        let xticks: Vec<(f64, String)> = match &self.x {
            XAxis::Categories(names) => names
                .iter()
                .enumerate()
                .map(|(i, n)| (i as f64, n.clone()))
                .collect(),
            XAxis::Numeric { .. } => {
                // A span's x is an estimate, not a level measured.
                let mut xs: Vec<f64> = self
                    .series
                    .iter()
                    .filter(|s| s.shape != Shape::Span)
                    .flat_map(|s| s.points.iter().map(|p| p.x))
                    .collect();
                xs.sort_by(f64::total_cmp);
                xs.dedup();
                if xs.len() <= 8 && self.series.iter().all(|s| s.shape != Shape::Step) {
                    level_ticks(f, xs)
                } else if f.log_x {
                    let (a, b) = (f.x.0.log10().ceil() as i32, f.x.1.log10().floor() as i32);
                    (a..=b)
                        .map(|k| (10f64.powi(k), tick_label(10f64.powi(k), 1.0)))
                        .collect()
                } else {
                    let t = nice_ticks(f.x.0, f.x.1, 6);
                    let step = if t.len() > 1 { t[1] - t[0] } else { 1.0 };
                    t.into_iter()
                        .filter(|v| *v >= f.x.0 && *v <= f.x.1)
                        .map(|v| (v, tick_label(v, step)))
                        .collect()
                }
            }
        };
        let turned = self.turned_labels().is_some();
        for (v, label) in xticks {
            let x = f.px(v);
            if turned {
                turned_label(s, x, y0, &label);
                continue;
            }
            let _ = write!(
                s,
                r#"<line class="tickmark" x1="{x:.1}" x2="{x:.1}" y1="{y0}" y2="{:.1}"/><text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                y0 + 4.0,
                y0 + 17.0,
                escape(&label)
            );
        }
        let _ = write!(
            s,
            r#"<line class="axis" x1="{x0}" x2="{x1}" y1="{y0}" y2="{y0}"/><line class="axis" x1="{x0}" x2="{x0}" y1="{y0}" y2="{y1}"/><text class="label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text class="label" transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
            (x0 + x1) / 2.0,
            self.height() - 8.0,
            escape(&self.x_label),
            (y0 + y1) / 2.0,
            escape(&self.y_label)
        );
    }
}

/// Few levels: each measured level labelled exactly, but none over the
/// last one labelled (a capacity search's probes crowd near its capacity).
fn level_ticks(f: &Frame, xs: Vec<f64>) -> Vec<(f64, String)> {
    let mut kept: Vec<(f64, String)> = Vec::new();
    for x in xs {
        let label = level_label(x);
        let clear = kept.last().is_none_or(|(last, text)| {
            let room = (text.chars().count() + label.chars().count()) as f64;
            f.px(x) - f.px(*last) >= room * TICK_CHAR_PX / 2.0 + 4.0
        });
        if clear {
            kept.push((x, label));
        }
    }
    kept
}

/// A category's label read upwards from below its tick mark, so long labels
/// stand side by side without overlapping; cut in the middle past
/// [`LONGEST_LABEL`] characters, with the whole label as its tooltip.
fn turned_label(s: &mut String, x: f64, y0: f64, label: &str) {
    let (x, y) = (x + 4.0, y0 + 8.0);
    let chars: Vec<char> = label.chars().collect();
    let shown: String = if chars.len() > LONGEST_LABEL {
        // Levels tend to differ at their ends: keep the factor's name and
        // the level's tail, cut the middle.
        let head = LONGEST_LABEL / 3;
        let tail = LONGEST_LABEL - head - 1;
        let (start, end) = (&chars[..head], &chars[chars.len() - tail..]);
        format!("{}…{}", String::from_iter(start), String::from_iter(end))
    } else {
        label.to_string()
    };
    let _ = write!(
        s,
        r#"<line class="tickmark" x1="{:.1}" x2="{:.1}" y1="{y0}" y2="{:.1}"/><text class="tick" x="{x:.1}" y="{y:.1}" text-anchor="end" transform="rotate(-90 {x:.1} {y:.1})"><title>{}</title>{}</text>"#,
        x - 4.0,
        x - 4.0,
        y0 + 4.0,
        escape(label),
        escape(&shown)
    );
}

#[path = "svg_series.rs"]
mod series;
use series::draw_series;

#[cfg(test)]
#[path = "svg_tests.rs"]
mod tests;
