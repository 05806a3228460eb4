//! Type-II analysis of variance over per-trial values: the factors' main
//! effects, their two-factor interactions and the repetition block, each
//! tested by how much it lowers the residual sum of squares of a least-squares
//! fit (dummy-coded), given every term that does not contain it. Valid for
//! unbalanced designs (a failed trial leaves a cell short); cells never run
//! make the model rank-deficient, and their columns simply add no rank.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, FisherSnedecor};

/// One observation: each factor's level (in the order of the factor names),
/// its block, and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub levels: Vec<String>,
    pub block: String,
    pub y: f64,
}

/// One row of the ANOVA table (`effects.csv`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Term {
    /// `quant`, `quant:concurrency`, `repetition`, or `Residual`.
    pub term: String,
    pub df: f64,
    pub sum_sq: f64,
    /// None for the residual row, and where a term adds nothing to test.
    pub f: Option<f64>,
    pub p: Option<f64>,
    /// SS_term / (SS_term + SS_residual).
    pub partial_eta_sq: Option<f64>,
}

/// The term that names the repetition block.
pub const BLOCK: &str = "repetition";

/// A model term: the factor indexes it crosses (one for a main effect, two
/// for an interaction), or the block.
#[derive(Debug, Clone, PartialEq)]
enum Effect {
    Factors(Vec<usize>),
    Block,
}

impl Effect {
    /// Type II compares a term against every term that does not contain it:
    /// `a:b` contains `a` and `b`.
    fn contains(&self, other: &Effect) -> bool {
        match (self, other) {
            (Effect::Factors(a), Effect::Factors(b)) => b.iter().all(|f| a.contains(f)),
            (Effect::Block, Effect::Block) => true,
            _ => false,
        }
    }
}

/// Treatment-coded columns: one per level after the first seen.
fn dummies(values: &[&str]) -> Vec<Vec<f64>> {
    let mut levels: Vec<&str> = Vec::new();
    for v in values {
        if !levels.contains(v) {
            levels.push(v);
        }
    }
    levels
        .iter()
        .skip(1)
        .map(|l| values.iter().map(|v| f64::from(u8::from(v == l))).collect())
        .collect()
}

/// Residual sum of squares of `y` on the span of `columns` (an intercept is
/// always in), and the rank used. Modified Gram–Schmidt, run twice per
/// column for stability; a column that the earlier ones span (an empty cell,
/// a confounded term) is dropped.
fn residual(columns: &[&Vec<f64>], y: &[f64]) -> (f64, usize) {
    let n = y.len();
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let intercept = vec![1.0; n];
    for c in std::iter::once(&intercept).chain(columns.iter().copied()) {
        let norm0 = c.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm0 == 0.0 {
            continue;
        }
        let mut v = c.clone();
        for _ in 0..2 {
            for q in &basis {
                let dot: f64 = v.iter().zip(q).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(q).for_each(|(a, b)| *a -= dot * b);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-9 * norm0 {
            v.iter_mut().for_each(|a| *a /= norm);
            basis.push(v);
        }
    }
    let mut r = y.to_vec();
    for _ in 0..2 {
        for q in &basis {
            let dot: f64 = r.iter().zip(q).map(|(a, b)| a * b).sum();
            r.iter_mut().zip(q).for_each(|(a, b)| *a -= dot * b);
        }
    }
    (r.iter().map(|x| x * x).sum(), basis.len())
}

/// The type-II table: main effects, two-factor interactions, the block, and
/// the residual. None when there is nothing to fit (under 2 observations)
/// or no residual degree of freedom is left.
pub fn type2(factors: &[&str], obs: &[Observation]) -> Option<Vec<Term>> {
    let n = obs.len();
    if n < 2 {
        return None;
    }
    let effects = design(factors.len(), obs);
    let y: Vec<f64> = obs.iter().map(|o| o.y).collect();
    let fit = |keep: &dyn Fn(&Effect) -> bool| {
        let cols: Vec<&Vec<f64>> = effects
            .iter()
            .filter(|(e, _)| keep(e))
            .flat_map(|(_, c)| c.iter())
            .collect();
        residual(&cols, &y)
    };
    let (rss, rank) = fit(&|_| true);
    let df_resid = n.checked_sub(rank).filter(|d| *d > 0)? as f64;
    let mut out: Vec<Term> = effects
        .iter()
        .map(|(effect, _)| {
            // Without the term and whatever contains it; then with the term.
            let (rss_without, rank_without) = fit(&|e| !e.contains(effect));
            let (rss_with, rank_with) = fit(&|e| !e.contains(effect) || e == effect);
            let df = rank_with.saturating_sub(rank_without) as f64;
            let sum_sq = (rss_without - rss_with).max(0.0);
            f_test(name(effect, factors), df, sum_sq, rss, df_resid)
        })
        .collect();
    out.push(Term {
        term: "Residual".into(),
        df: df_resid,
        sum_sq: rss,
        f: None,
        p: None,
        partial_eta_sq: None,
    });
    Some(out)
}

/// The model's terms with their dummy columns: the main effects of the
/// factors that vary, their two-factor interactions, and the block.
fn design(factors: usize, obs: &[Observation]) -> Vec<(Effect, Vec<Vec<f64>>)> {
    let column = |i: usize| -> Vec<&str> { obs.iter().map(|o| o.levels[i].as_str()).collect() };
    // Factors that vary in the data; a constant one has no effect to test.
    let varying: Vec<usize> = (0..factors)
        .filter(|&i| !dummies(&column(i)).is_empty())
        .collect();
    let main: Vec<Vec<Vec<f64>>> = (0..factors).map(|i| dummies(&column(i))).collect();
    let mut effects: Vec<(Effect, Vec<Vec<f64>>)> = varying
        .iter()
        .map(|&i| (Effect::Factors(vec![i]), main[i].clone()))
        .collect();
    for (k, &i) in varying.iter().enumerate() {
        for &j in &varying[k + 1..] {
            effects.push((Effect::Factors(vec![i, j]), interaction(&main[i], &main[j])));
        }
    }
    let blocks: Vec<&str> = obs.iter().map(|o| o.block.as_str()).collect();
    let block = dummies(&blocks);
    if !block.is_empty() {
        effects.push((Effect::Block, block));
    }
    effects
}

/// The interaction's columns: each product of a column of `a` with one of `b`.
fn interaction(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    a.iter()
        .flat_map(|x| {
            b.iter()
                .map(move |y| x.iter().zip(y).map(|(u, v)| u * v).collect())
        })
        .collect()
}

/// `quant`, `quant:concurrency` or `repetition`.
fn name(effect: &Effect, factors: &[&str]) -> String {
    match effect {
        Effect::Block => BLOCK.to_string(),
        Effect::Factors(f) => f.iter().map(|&i| factors[i]).collect::<Vec<_>>().join(":"),
    }
}

/// A term's row: its F test against the residual, where it adds anything.
fn f_test(term: String, df: f64, sum_sq: f64, rss: f64, df_resid: f64) -> Term {
    let (f, p) = if df > 0.0 && rss > 0.0 {
        let f = (sum_sq / df) / (rss / df_resid);
        let p = FisherSnedecor::new(df, df_resid).ok().map(|d| d.sf(f));
        (Some(f), p)
    } else {
        (None, None)
    };
    Term {
        term,
        df,
        sum_sq,
        f,
        p,
        partial_eta_sq: (sum_sq + rss > 0.0).then(|| sum_sq / (sum_sq + rss)),
    }
}

#[cfg(test)]
mod tests;

/// `effects.csv` rows: per metric of the catalogue, the type-II table over
/// the trials of a factorial run. Each trial's factor levels come from its
/// configuration; its block is its repetition.
pub fn effects(
    trials: &polars::prelude::DataFrame,
    configs: &[crate::plan::Configuration],
    factors: &[String],
) -> polars::prelude::PolarsResult<Vec<(String, Term)>> {
    use polars::prelude::DataType;
    let labels = trials.column("config")?.cast(&DataType::String)?;
    let labels = labels.str()?;
    let reps = trials.column("repetition")?.cast(&DataType::Int64)?;
    let reps = reps.i64()?;
    let names: Vec<&str> = factors.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for m in crate::metrics::METRICS {
        let Ok(values) = trials.column(m.column) else {
            continue;
        };
        let values = values.cast(&DataType::Float64)?;
        let values = values.f64()?;
        let obs: Vec<Observation> = (0..trials.height())
            .filter_map(|i| {
                let y = values.get(i).filter(|y| y.is_finite())?;
                let config = configs
                    .iter()
                    .find(|c| Some(c.label.as_str()) == labels.get(i))?;
                let levels = factors
                    .iter()
                    .map(|f| config.values.get(f).map(ToString::to_string))
                    .collect::<Option<Vec<_>>>()?;
                Some(Observation {
                    levels,
                    block: reps.get(i)?.to_string(),
                    y,
                })
            })
            .collect();
        if let Some(table) = type2(&names, &obs) {
            out.extend(table.into_iter().map(|t| (m.column.to_string(), t)));
        }
    }
    Ok(out)
}

pub fn effects_frame(
    rows: &[(String, Term)],
) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
    use polars::prelude::{Column, DataFrame};
    let o = |f: fn(&Term) -> Option<f64>| rows.iter().map(|(_, t)| f(t)).collect::<Vec<_>>();
    DataFrame::new(
        rows.len(),
        vec![
            Column::new(
                "metric".into(),
                rows.iter().map(|(m, _)| m.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "term".into(),
                rows.iter().map(|(_, t)| t.term.clone()).collect::<Vec<_>>(),
            ),
            Column::new("df".into(), o(|t| Some(t.df))),
            Column::new("sum_sq".into(), o(|t| Some(t.sum_sq))),
            Column::new("F".into(), o(|t| t.f)),
            Column::new("p".into(), o(|t| t.p)),
            Column::new("partial_eta_sq".into(), o(|t| t.partial_eta_sq)),
        ],
    )
}
