//! The registry's types: what column a record field becomes, and the lists
//! of names derived from the registry at compile time.

use super::{Record, FIELDS};

/// A field's column in `requests.parquet`: how to read it off a record.
#[derive(Clone, Copy)]
pub enum Column {
    U64(fn(&Record) -> Option<u64>),
    F64(fn(&Record) -> Option<f64>),
    Bool(fn(&Record) -> Option<bool>),
    Text(fn(&Record) -> Option<String>),
    /// Text from a fixed set of names (an enum's).
    Name(fn(&Record) -> &'static str),
    /// A list of numbers per request.
    F64s(fn(&Record) -> &[f64]),
    /// The configuration's label, then the plan's `factor` and `level` of it.
    Configuration,
    /// The repetition, then one column per factor (and baseline constant)
    /// with the configuration's value, named by the factor.
    Repetition,
    /// Kept in the journal only.
    None,
}

/// One entry of the registry: a field of [`Record`] and its column, or a
/// column derived from the fields (`status` after the rest).
#[derive(Clone, Copy)]
pub struct Field {
    /// The column's name (a field without one: the field's name).
    pub name: &'static str,
    pub column: Column,
    /// The per-trial analysis reads the column: the streamed report builds
    /// only these of each chunk.
    pub analysed: bool,
}

/// The plan's columns that follow the configuration's label.
const PLAN: [&str; 2] = ["factor", "level"];

/// How many names [`names`] gives for the fields `pick` accepts.
pub(super) const fn count(analysed_only: bool) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < FIELDS.len() {
        let f = &FIELDS[i];
        if !matches!(f.column, Column::None) && (f.analysed || !analysed_only) {
            n += 1;
            if matches!(f.column, Column::Configuration) {
                n += PLAN.len();
            }
        }
        i += 1;
    }
    n
}

/// The column names, in the table's order (factor columns aside), of every
/// column or of the analysed ones.
pub(super) const fn names<const N: usize>(analysed_only: bool) -> [&'static str; N] {
    let mut out = [""; N];
    let (mut i, mut n) = (0, 0);
    while i < FIELDS.len() {
        let f = &FIELDS[i];
        if !matches!(f.column, Column::None) && (f.analysed || !analysed_only) {
            out[n] = f.name;
            n += 1;
            if matches!(f.column, Column::Configuration) {
                let mut k = 0;
                while k < PLAN.len() {
                    out[n] = PLAN[k];
                    n += 1;
                    k += 1;
                }
            }
        }
        i += 1;
    }
    out
}
