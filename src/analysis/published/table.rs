//! Reading a published table: CSV with a header row naming the columns in
//! any order, each fault located by line and column.

use super::PublishedRow;
use crate::metrics::by_column as metric_by_column;
use crate::workload::csv::Row;

/// A fault in the table: (line, column, what was expected).
type Located = (usize, usize, String);

/// Parse the CSV table (RFC 4180, a header row naming the columns in any
/// order). Errors are (line, column, what was expected).
pub fn parse(text: &str) -> Result<Vec<PublishedRow>, Located> {
    let rows = crate::workload::csv::rows(text).map_err(|(line, m)| (line, 1, m))?;
    let mut rows = rows
        .into_iter()
        .filter(|r| r.fields.iter().any(|f| !f.trim().is_empty()));
    let header = rows.next().ok_or((
        1,
        1,
        "empty table: expected a header row `configuration,metric,mean,sd,n`".to_string(),
    ))?;
    let columns = Columns::of(&header)?;
    rows.map(|r| columns.row(&Cells(&r))).collect()
}

/// Where the header put each column.
struct Columns {
    config: usize,
    metric: usize,
    mean: usize,
    sd: Option<usize>,
    n: Option<usize>,
}

impl Columns {
    fn of(header: &Row) -> Result<Columns, Located> {
        let find = |name: &str| header.fields.iter().position(|f| f.trim() == name);
        let need = |name: &str| {
            find(name).ok_or((
                header.line,
                1,
                format!(
                    "no `{name}` column: expected configuration, metric, mean, and optionally sd and n (found {})",
                    header.fields.join(", ")
                ),
            ))
        };
        Ok(Columns {
            config: need("configuration")?,
            metric: need("metric")?,
            mean: need("mean")?,
            sd: find("sd"),
            n: find("n"),
        })
    }

    fn row(&self, r: &Cells) -> Result<PublishedRow, Located> {
        let metric_name = r.cell(self.metric).to_string();
        if metric_by_column(&metric_name).is_none() {
            return Err(r.fault(
                self.metric,
                format!(
                    "unknown metric '{metric_name}', expected one of {}",
                    crate::metrics::columns().join(", ")
                ),
            ));
        }
        let mean = r.number(self.mean, "mean")?.ok_or(r.fault(
            self.mean,
            "mean: expected a number, got nothing".to_string(),
        ))?;
        let sd = match self.sd {
            Some(i) => r.number(i, "sd")?,
            None => None,
        };
        if sd.is_some_and(|s| s < 0.0) {
            return Err(r.fault(self.sd.unwrap_or(0), "sd: expected a number ≥ 0".into()));
        }
        let n = match self.n {
            Some(i) => r.count(i)?,
            None => None,
        };
        Ok(PublishedRow {
            line: r.0.line,
            configuration: r.cell(self.config).to_string(),
            metric: metric_name,
            mean,
            sd,
            n,
        })
    }
}

/// One data row's fields, read with their location.
struct Cells<'a>(&'a Row);

impl Cells<'_> {
    fn cell(&self, i: usize) -> &str {
        self.0.fields.get(i).map(|f| f.trim()).unwrap_or_default()
    }

    /// The column of field i, 1-based, counting the commas before it.
    fn col(&self, i: usize) -> usize {
        let fields = &self.0.fields;
        fields[..i.min(fields.len())]
            .iter()
            .map(|f| f.chars().count() + 1)
            .sum::<usize>()
            + 1
    }

    fn fault(&self, i: usize, message: String) -> Located {
        (self.0.line, self.col(i), message)
    }

    /// Field i as a finite number; `None` when empty.
    fn number(&self, i: usize, what: &str) -> Result<Option<f64>, Located> {
        let v = self.cell(i);
        if v.is_empty() {
            return Ok(None);
        }
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(self.fault(i, format!("{what}: expected a number, got '{v}'"))),
        }
    }

    /// Field i as a count of trials (a whole number ≥ 1); `None` when empty.
    fn count(&self, i: usize) -> Result<Option<usize>, Located> {
        match self.number(i, "n")? {
            Some(x) if x >= 1.0 && x.fract() == 0.0 => Ok(Some(x as usize)),
            Some(x) => Err(self.fault(i, format!("n: expected a whole number ≥ 1, got {x}"))),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse_in_any_column_order_and_faults_are_located() {
        let t = "metric,configuration,mean,sd,n\noutput_tok_s,baseline,120.5,3.2,5\nttft_p50_ms,quant=q8_0,80,,\n";
        let rows = parse(t).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].configuration, "baseline");
        assert_eq!((rows[0].sd, rows[0].n), (Some(3.2), Some(5)));
        assert_eq!((rows[1].sd, rows[1].n, rows[1].line), (None, None, 3));

        let (line, col, m) = parse("configuration,metric,mean\nbaseline,tok_s,1\n").unwrap_err();
        assert_eq!((line, col), (2, 10), "{m}");
        assert!(m.contains("unknown metric 'tok_s'"), "{m}");
        let (line, col, m) =
            parse("configuration,metric,mean,n\nbaseline,output_tok_s,1,2.5\n").unwrap_err();
        assert_eq!((line, col), (2, 25), "{m}");
        let (_, _, m) = parse("configuration,mean\n").unwrap_err();
        assert!(m.contains("no `metric` column"), "{m}");
    }
}
