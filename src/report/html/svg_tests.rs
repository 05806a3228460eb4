//! Tests of the SVG primitives: ticks, bars, labels.

use super::*;

#[test]
fn ticks_are_round_and_cover_the_range() {
    assert_eq!(
        nice_ticks(0.0, 10.0, 5),
        vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    );
    let t = nice_ticks(13.0, 87.0, 5);
    assert_eq!((t[0], t[t.len() - 1]), (10.0, 90.0));
    assert!(
        t.windows(2).all(|w| (w[1] - w[0] - 10.0).abs() < 1e-9),
        "{t:?}"
    );
    // A single value still gets an axis around it.
    let t = nice_ticks(5.0, 5.0, 5);
    assert!(t[0] <= 5.0 && *t.last().unwrap() >= 5.0 && t.len() > 1);
    assert_eq!(tick_label(0.30000000000000004, 0.1), "0.3");
    assert_eq!(tick_label(1500.0, 500.0), "1500");
}

#[test]
fn whiskers_stop_at_what_a_metric_can_measure() {
    // Two trials at 1 and 9 tok/s: the t interval is 5 ± 50.8.
    let p = Point::estimate(0.0, 5.0, Some((-45.8, 55.8)), "output_tok_s");
    assert_eq!((p.y, p.interval), (5.0, Some((0.0, 55.8))));
    let p = Point::estimate(0.0, 0.9, Some((0.6, 1.2)), "slo_attainment");
    assert_eq!(p.interval, Some((0.6, 1.0)));
    let p = Point::estimate(0.0, 30.0, Some((-3.0, 63.0)), "send_lag_p99_ms");
    assert_eq!(p.interval, Some((0.0, 63.0)));
    // What is no metric of the registry is drawn as it came.
    let p = Point::estimate(0.0, -2.0, Some((-9.0, 5.0)), "relative_change");
    assert_eq!(p.interval, Some((-9.0, 5.0)));
}

#[test]
fn charts_escape_text_and_place_points_inside_the_plot() {
    let chart = Chart {
        title: "<script>alert(1)</script>".into(),
        x_label: "level & more".into(),
        y_label: "tok/s".into(),
        x: XAxis::Categories(vec!["a<b".into(), "c".into()]),
        series: vec![Series {
            name: "\"quoted\"".into(),
            points: vec![
                Point {
                    x: 0.0,
                    y: 10.0,
                    interval: Some((8.0, 12.0)),
                },
                Point::new(1.0, 20.0),
            ],
            shape: Shape::Line,
            marked: Some((0, "baseline".into())),
        }],
        y_from_zero: true,
    };
    let svg = chart.to_svg();
    assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
    assert!(
        svg.contains("a&lt;b")
            && svg.contains("level &amp; more")
            && svg.contains("&quot;quoted&quot;")
    );
    assert_eq!(svg.matches("<circle class=\"dot\"").count(), 2);
    assert!(svg.contains("class=\"mark\"") && svg.contains(">baseline<"));
    // Every circle lies inside the plot area.
    for c in svg.split("<circle").skip(1) {
        let num = |key: &str| -> f64 {
            let at = c.find(key).unwrap() + key.len();
            c[at..].split('"').next().unwrap().parse().unwrap()
        };
        let (x, y) = (num("cx=\""), num("cy=\""));
        assert!((LEFT..=WIDTH - RIGHT).contains(&x), "{x}");
        assert!((TOP..=HEIGHT - BOTTOM).contains(&y), "{y}");
    }
}

#[test]
fn long_category_labels_turn_on_their_side_and_the_chart_grows() {
    let chart = |names: Vec<String>| Chart {
        title: "t".into(),
        x_label: "configuration".into(),
        y_label: "y".into(),
        x: XAxis::Categories(names),
        series: vec![],
        y_from_zero: true,
    };
    let short = chart(vec!["baseline".into(), "concurrency=4".into()]).to_svg();
    assert!(short.contains("viewBox=\"0 0 520 300\"") && !short.contains("rotate(-90 "));
    let long: Vec<String> = (0..5)
        .map(|i| format!("quant=q4_K_M,n_parallel={i},ctx=2048,flash_attn=on"))
        .collect();
    let svg = chart(long).to_svg();
    assert_eq!(svg.matches("transform=\"rotate(-90 ").count(), 5, "{svg}");
    // 40 characters of 6.5 px below the axis, less the 14 px there was.
    assert!(svg.contains("viewBox=\"0 0 520 546\""), "{svg}");
    assert!(svg.contains("<title>quant=q4_K_M,n_parallel=0,ctx=2048,flash_attn=on</title>quant=q4_K_M,…l=0,ctx=2048,flash_attn=on</text>"));
    assert!(svg.contains("y=\"538.0\" text-anchor=\"middle\">configuration</text>"));
}

#[test]
fn an_empty_chart_says_so() {
    let chart = Chart {
        title: "t".into(),
        x_label: "x".into(),
        y_label: "y".into(),
        x: XAxis::Numeric { log: false },
        series: vec![],
        y_from_zero: false,
    };
    assert!(chart.to_svg().contains("no data"));
}

#[test]
fn log_axes_space_powers_evenly() {
    let f = Frame {
        x: (1.0, 100.0),
        y: (0.0, 1.0),
        log_x: true,
    };
    let (a, b, c) = (f.px(1.0), f.px(10.0), f.px(100.0));
    assert!(((b - a) - (c - b)).abs() < 1e-9);
}

#[test]
fn crowded_levels_keep_the_labels_that_fit_and_edge_labels_turn_back() {
    let points = [10.0, 10.2, 10.4, 50.0].map(|x| Point::new(x, x));
    let chart = Chart {
        title: "t".into(),
        x_label: "x".into(),
        y_label: "y".into(),
        x: XAxis::Numeric { log: false },
        series: vec![Series {
            name: "s".into(),
            points: points.to_vec(),
            shape: Shape::Points,
            marked: Some((3, "a label too long for the edge".into())),
        }],
        y_from_zero: true,
    };
    let svg = chart.to_svg();
    let x_labels: Vec<&str> = svg
        .split("<text class=\"tick\"")
        .skip(1)
        .filter(|t| t[..t.find('>').unwrap()].contains("middle"))
        .map(|t| &t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()])
        .collect();
    // 10.2 and 10.4 would sit on 10's label: left out, their dots kept.
    assert_eq!(x_labels, ["10", "50"], "{svg}");
    assert_eq!(svg.matches("<circle class=\"dot\"").count(), 4);
    // The rightmost point's label ends at it rather than past the edge.
    assert!(
        svg.contains("text-anchor=\"end\">a label too long for the edge</text>"),
        "{svg}"
    );
}
