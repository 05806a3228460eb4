//! Exact percentiles of more values than memory should hold.
//!
//! A configuration of a long run pools millions of latencies and tens of
//! millions of inter-token gaps. No one-pass method gives an exact
//! percentile in less memory than the values (a sketch gives an
//! approximation), so the values are spilled to a file as they come and the
//! order statistics found by histogram refinement over it: a pass counts the
//! values into 16 384 buckets of the range, each wanted rank falls in one
//! bucket, and that bucket is either small enough to read and sort, holds one
//! value only, or becomes the range of the next pass. Memory is the
//! histograms and one small bucket; a run's size changes only the number of
//! passes (one or two on real latencies).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::PathBuf;

const BUCKETS: usize = 1 << 14;
/// A bucket this small (or a range this small) is read and sorted.
const LEAF: u64 = 1 << 17;
/// Histograms built in one pass (each 400 KB).
const WINDOWS_PER_PASS: usize = 16;
/// Values of small buckets read in one pass.
const COLLECT: u64 = 1 << 20;
/// Values buffered before they are appended to the file.
const PENDING: usize = 1 << 15;
/// Values read per read call.
const BLOCK: usize = 1 << 16;

/// One column of values, appended to a file of little-endian f64.
#[derive(Debug)]
pub struct Spill {
    path: PathBuf,
    pending: Vec<f64>,
    written: u64,
    min: f64,
    max: f64,
}

impl Spill {
    pub fn new(path: PathBuf) -> Self {
        Spill {
            path,
            pending: Vec::new(),
            written: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// Add a value; a non-finite one is no latency and is left out.
    pub fn push(&mut self, v: f64) -> std::io::Result<()> {
        if !v.is_finite() {
            return Ok(());
        }
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.pending.push(v);
        if self.pending.len() >= PENDING {
            self.flush()?;
        }
        Ok(())
    }

    /// Values so far: a mark for [`Spill::percentiles`]' ranges.
    pub fn len(&self) -> u64 {
        self.written + self.pending.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Append the buffered values to the file (opened only while writing, so
    /// a run of hundreds of configurations holds no file open).
    pub fn flush(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(self.pending.len() * 8);
        for v in &self.pending {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(&bytes)?;
        self.written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Type-7 percentiles (linear between closest ranks, as polars' linear
    /// quantile and `stats::percentile`) of the values in `range` (value
    /// indexes, as marked by [`Spill::len`]); none when the range is empty.
    pub fn percentiles(
        &mut self,
        range: Range<u64>,
        qs: &[f64],
    ) -> std::io::Result<Vec<Option<f64>>> {
        let n = range.end - range.start;
        if n == 0 {
            return Ok(vec![None; qs.len()]);
        }
        let mut ranks = Vec::new();
        for &q in qs {
            let h = (n - 1) as f64 * q;
            let lo = h.floor() as u64;
            ranks.push(lo);
            ranks.push((lo + 1).min(n - 1));
        }
        let x = self.order_statistics(range, &ranks)?;
        Ok(qs
            .iter()
            .enumerate()
            .map(|(i, &q)| {
                let h = (n - 1) as f64 * q;
                let (lo, hi) = (x[2 * i], x[2 * i + 1]);
                Some(lo + (h - h.floor()) * (hi - lo))
            })
            .collect())
    }

    /// The empirical CDF of the whole column as at most `steps` exact
    /// points (x, share of values ≤ x) at evenly spaced ranks, the largest
    /// value always last: a chart's worth, whatever the number of values.
    pub fn ecdf(&mut self, steps: usize) -> std::io::Result<Vec<(f64, f64)>> {
        let n = self.len();
        if n == 0 || steps == 0 {
            return Ok(Vec::new());
        }
        let ranks: Vec<u64> = if n <= steps as u64 {
            (0..n).collect()
        } else {
            (1..=steps as u64)
                .map(|k| k * n / steps as u64 - 1)
                .collect()
        };
        let x = self.order_statistics(0..n, &ranks)?;
        Ok(ranks
            .iter()
            .zip(x)
            .map(|(&r, x)| (x, (r + 1) as f64 / n as f64))
            .collect())
    }

    /// The values of the given ranks (0 = smallest) in `range`.
    pub fn order_statistics(
        &mut self,
        range: Range<u64>,
        ranks: &[u64],
    ) -> std::io::Result<Vec<f64>> {
        self.flush()?;
        let mut out = vec![f64::NAN; ranks.len()];
        if range.end - range.start <= LEAF {
            let mut values = Vec::new();
            self.scan(range, |v| values.push(v))?;
            values.sort_unstable_by(f64::total_cmp);
            for (o, &r) in out.iter_mut().zip(ranks) {
                *o = values[r as usize];
            }
            return Ok(out);
        }
        let mut windows = vec![Window {
            lo: self.min,
            hi: self.max,
            below: 0,
            targets: ranks.iter().copied().enumerate().collect(),
        }];
        let mut leaves: Vec<(Window, u64)> = Vec::new();
        while !windows.is_empty() || !leaves.is_empty() {
            // A pass refines a few windows at a time, so the histograms'
            // memory is bounded however many ranks are wanted.
            let batch: Vec<Window> = windows
                .drain(..windows.len().min(WINDOWS_PER_PASS))
                .collect();
            if !batch.is_empty() {
                let mut hists: Vec<Histogram> = batch.iter().map(|_| Histogram::new()).collect();
                self.scan(range.clone(), |v| {
                    if let Some(k) = batch.iter().position(|w| w.lo <= v && v <= w.hi) {
                        hists[k].add(batch[k].bucket(v), v);
                    }
                })?;
                for (w, h) in batch.iter().zip(&hists) {
                    for (child, count) in h.split(w) {
                        if child.lo == child.hi {
                            // One value repeated: every rank in it is that value.
                            for &(i, _) in &child.targets {
                                out[i] = child.lo;
                            }
                        } else if count <= LEAF {
                            leaves.push((child, count));
                        } else {
                            windows.push(child);
                        }
                    }
                }
                continue;
            }
            // Read and sort small buckets, up to COLLECT values a pass.
            let mut take = 0;
            let mut total = 0;
            while take < leaves.len() && (take == 0 || total + leaves[take].1 <= COLLECT) {
                total += leaves[take].1;
                take += 1;
            }
            let batch: Vec<Window> = leaves.drain(..take).map(|(w, _)| w).collect();
            let mut values: Vec<Vec<f64>> = batch.iter().map(|_| Vec::new()).collect();
            self.scan(range.clone(), |v| {
                if let Some(k) = batch.iter().position(|l| l.lo <= v && v <= l.hi) {
                    values[k].push(v);
                }
            })?;
            for (leaf, mut v) in batch.into_iter().zip(values) {
                v.sort_unstable_by(f64::total_cmp);
                for &(i, rank) in &leaf.targets {
                    out[i] = v[(rank - leaf.below) as usize];
                }
            }
        }
        Ok(out)
    }

    /// Every value of `range`, in order, read a block at a time.
    fn scan(&mut self, range: Range<u64>, mut f: impl FnMut(f64)) -> std::io::Result<()> {
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(range.start * 8))?;
        let mut left = range.end - range.start;
        let mut buf = vec![0u8; BLOCK * 8];
        while left > 0 {
            let take = (left as usize).min(BLOCK);
            file.read_exact(&mut buf[..take * 8])?;
            for chunk in buf[..take * 8].chunks_exact(8) {
                f(f64::from_le_bytes(chunk.try_into().expect("8 bytes")));
            }
            left -= take as u64;
        }
        Ok(())
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Values in `[lo, hi]`, `below` of the range's values under `lo`, and the
/// wanted ranks inside (output index, rank in the whole range).
#[derive(Debug)]
struct Window {
    lo: f64,
    hi: f64,
    below: u64,
    targets: Vec<(usize, u64)>,
}

impl Window {
    /// Monotonic in `v`: subtraction, division and the cast all round
    /// monotonically, so each bucket is an interval of values and the
    /// smallest and largest values fall in the first and last buckets.
    fn bucket(&self, v: f64) -> usize {
        let at = (v - self.lo) / (self.hi - self.lo) * BUCKETS as f64;
        (at as usize).min(BUCKETS - 1)
    }
}

struct Histogram {
    count: Vec<u64>,
    min: Vec<f64>,
    max: Vec<f64>,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            count: vec![0; BUCKETS],
            min: vec![f64::INFINITY; BUCKETS],
            max: vec![f64::NEG_INFINITY; BUCKETS],
        }
    }

    fn add(&mut self, b: usize, v: f64) {
        self.count[b] += 1;
        self.min[b] = self.min[b].min(v);
        self.max[b] = self.max[b].max(v);
    }

    /// The buckets holding `w`'s ranks, each as a window over its values
    /// with its ranks, and how many values it holds.
    fn split(&self, w: &Window) -> Vec<(Window, u64)> {
        let mut targets = w.targets.clone();
        targets.sort_by_key(|t| t.1);
        let mut out: Vec<(usize, Window)> = Vec::new();
        let (mut b, mut below) = (0usize, w.below);
        for (i, rank) in targets {
            while below + self.count[b] <= rank {
                below += self.count[b];
                b += 1;
            }
            match out.last_mut() {
                Some((at, child)) if *at == b => child.targets.push((i, rank)),
                _ => out.push((
                    b,
                    Window {
                        lo: self.min[b],
                        hi: self.max[b],
                        below,
                        targets: vec![(i, rank)],
                    },
                )),
            }
        }
        out.into_iter()
            .map(|(b, child)| (child, self.count[b]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::stats::percentile;

    fn spill_of(values: &[f64]) -> (tempfile::TempDir, Spill) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spill::new(dir.path().join("v"));
        for &v in values {
            s.push(v).unwrap();
        }
        (dir, s)
    }

    /// Values that need refinement: most of them in a sliver of the range
    /// (an outlier stretches it), ties, and a whole block of one value.
    fn awkward(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| match i % 10 {
                0 => 5000.0 + (i % 7) as f64,                    // stalls
                1 | 2 => 10.0,                                   // ties
                _ => 9.5 + ((i * 7919) % 100_003) as f64 * 1e-9, // a band narrower than a bucket
            })
            .collect()
    }

    #[test]
    fn percentiles_are_exact_however_the_values_crowd() {
        let values = awkward(3 * LEAF as usize + 17);
        let (_dir, mut s) = spill_of(&values);
        let qs = [0.0, 0.01, 0.5, 0.95, 0.99, 0.999, 1.0];
        let got = s.percentiles(0..s.len(), &qs).unwrap();
        for (q, g) in qs.iter().zip(got) {
            assert_eq!(g, percentile(&values, *q), "q {q}");
        }
        // A range inside: a trial's share of its configuration's file.
        let (a, b) = (1000, 2 * LEAF as usize + 5);
        let got = s.percentiles(a as u64..b as u64, &[0.5, 0.99]).unwrap();
        assert_eq!(got[0], percentile(&values[a..b], 0.5));
        assert_eq!(got[1], percentile(&values[a..b], 0.99));
    }

    #[test]
    fn hundreds_of_ranks_at_once_are_exact() {
        let values = awkward(2 * LEAF as usize + 3);
        let (_dir, mut s) = spill_of(&values);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let points = s.ecdf(400).unwrap();
        assert_eq!(points.len(), 400);
        let n = values.len();
        for (k, (x, y)) in points.iter().enumerate() {
            let rank = (k + 1) * n / 400 - 1;
            assert_eq!((*x, *y), (sorted[rank], (rank + 1) as f64 / n as f64));
        }
        assert_eq!(points.last().unwrap().1, 1.0);
    }

    #[test]
    fn one_value_repeated_and_an_empty_range() {
        let (_dir, mut s) = spill_of(&vec![7.25; 2 * LEAF as usize]);
        assert_eq!(
            s.percentiles(0..s.len(), &[0.5, 1.0]).unwrap(),
            vec![Some(7.25); 2]
        );
        assert_eq!(s.percentiles(3..3, &[0.5]).unwrap(), vec![None]);
        let (_dir, mut s) = spill_of(&[f64::NAN, 2.0, f64::INFINITY, 1.0]);
        assert_eq!(s.len(), 2, "non-finite values are no latencies");
        assert_eq!(s.percentiles(0..2, &[0.5]).unwrap(), vec![Some(1.5)]);
        let (_dir, mut s) = spill_of(&[3.0, 1.0, 2.0]);
        let third = 1.0 / 3.0;
        assert_eq!(
            s.ecdf(400).unwrap(),
            vec![(1.0, third), (2.0, 2.0 * third), (3.0, 1.0)],
            "a short sample keeps every step"
        );
    }
}
