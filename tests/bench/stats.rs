//! Medians, spreads and how numbers are printed.

use std::time::Duration;

/// Median and spread of a sample: min–max under ten values, p10–p90 from ten on.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub n: usize,
    pub median: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Summary {
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let (lo, hi) = if v.len() >= 10 {
            (percentile(&v, 0.10), percentile(&v, 0.90))
        } else {
            (v[0], v[v.len() - 1])
        };
        Some(Summary {
            n: v.len(),
            median: percentile(&v, 0.5),
            lo,
            hi,
        })
    }

    pub fn of_durations(values: &[Duration]) -> Option<Summary> {
        Summary::of(&values.iter().map(Duration::as_secs_f64).collect::<Vec<_>>())
    }

    /// "812 ms (790–840, n=9)" with `unit` formatting each number.
    pub fn show(&self, unit: fn(f64) -> String) -> String {
        if self.n == 1 {
            return unit(self.median);
        }
        format!(
            "{} ({}–{}, n={})",
            unit(self.median),
            unit(self.lo),
            unit(self.hi),
            self.n
        )
    }
}

/// Linear interpolation between closest ranks; `sorted` is ascending and not empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    {
        let pos = p * (sorted.len() - 1) as f64;
        let i = pos.floor() as usize;
        let frac = pos - i as f64;
        if i + 1 < sorted.len() {
            sorted[i] + (sorted[i + 1] - sorted[i]) * frac
        } else {
            sorted[i]
        }
    }
}

/// Seconds as a time: "4.2 ms", "812 ms", "2.41 s", "61.2 s".
pub fn secs(s: f64) -> String {
    let ms = s * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
    }
}

pub fn mib_per_s(v: f64) -> String {
    format!("{v:.1} MiB/s")
}

pub fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

/// KiB as decimal megabytes (the unit of the product's goals).
pub fn mb(kib: f64) -> String {
    format!("{:.1} MB", kib * 1024.0 / 1e6)
}

pub fn count(v: f64) -> String {
    format!("{v:.0}")
}

/// Ours over theirs, "0.42×"; and how many times faster when that reads better.
pub fn ratio(ours: f64, theirs: f64) -> String {
    if theirs <= 0.0 || ours <= 0.0 {
        return "–".into();
    }
    let r = ours / theirs;
    if r < 0.5 {
        format!("{r:.2}× ({:.1}× faster)", 1.0 / r)
    } else {
        format!("{r:.2}×")
    }
}
