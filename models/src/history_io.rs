//! Labelled history as Parquet, with polars: one row per snapshot, one file per write,
//! and a reader that concatenates every `*.parquet` file of a directory (sorted by
//! name). This is what `sellout train --history DIR` reads.
//!
//! Columns: `seed` (u64), `time`, `sales_close`, `sold_out_at` (i64 ms, the last
//! nullable), `event_id`, `category_id`, `currency` (string), `capacity`, `sold`,
//! `remaining`, `sales_1m`, `sales_15m`, `sales_1h`, `sales_24h`, `sales_7d`,
//! `opening_sold`, `cart_adds_1h`, `buzz_posts_1h` (u32), `abandonment_rate_24h`,
//! `buzz_sentiment_1h`, `hours_to_event`, `hours_since_on_sale` (f64), `price_minor`,
//! `list_minor` (i64); `sales_7d`, `opening_sold` and `hours_since_on_sale` are 0 in
//! files written before they had a column. A missing column or a
//! null where a value is required is a [`HistoryIoError`] naming the file and column.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use sellout_pipelines::output::SellOutFeatures;

use crate::history::Labelled;

/// Why history could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryIoError {
    /// A file or directory could not be opened.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// polars could not read or write the file.
    #[error("{path}: {source}")]
    Polars {
        /// The file.
        path: String,
        /// What polars said.
        source: PolarsError,
    },
    /// A column is missing, of the wrong type, or null where a value is required.
    #[error("{path}: column {column}: {reason}")]
    Column {
        /// The file.
        path: String,
        /// The column.
        column: String,
        /// What is wrong.
        reason: String,
    },
    /// The directory holds no Parquet file.
    #[error("{0}: no .parquet files")]
    Empty(String),
}

/// Writes snapshots to `path` as one Parquet file.
pub fn write(path: &Path, rows: &[Labelled]) -> Result<(), HistoryIoError> {
    let p = path.display().to_string();
    let pe = |source| HistoryIoError::Polars {
        path: p.clone(),
        source,
    };
    let u32s = |f: fn(&SellOutFeatures) -> u32| -> Vec<u32> {
        rows.iter().map(|r| f(&r.features)).collect()
    };
    let mut df = DataFrame::new_infer_height(vec![
        Column::new(
            "seed".into(),
            rows.iter().map(|r| r.seed).collect::<Vec<_>>(),
        ),
        Column::new(
            "time".into(),
            rows.iter().map(|r| r.time).collect::<Vec<_>>(),
        ),
        Column::new(
            "sales_close".into(),
            rows.iter().map(|r| r.sales_close).collect::<Vec<_>>(),
        ),
        Column::new(
            "sold_out_at".into(),
            rows.iter().map(|r| r.sold_out_at).collect::<Vec<_>>(),
        ),
        Column::new(
            "event_id".into(),
            rows.iter()
                .map(|r| r.features.event_id.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "category_id".into(),
            rows.iter()
                .map(|r| r.features.category_id.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "currency".into(),
            rows.iter()
                .map(|r| r.features.currency.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new("capacity".into(), u32s(|f| f.capacity)),
        Column::new("sold".into(), u32s(|f| f.sold)),
        Column::new("remaining".into(), u32s(|f| f.remaining)),
        Column::new("sales_1m".into(), u32s(|f| f.sales_1m)),
        Column::new("sales_15m".into(), u32s(|f| f.sales_15m)),
        Column::new("sales_1h".into(), u32s(|f| f.sales_1h)),
        Column::new("sales_24h".into(), u32s(|f| f.sales_24h)),
        Column::new("sales_7d".into(), u32s(|f| f.sales_7d)),
        Column::new("opening_sold".into(), u32s(|f| f.opening_sold)),
        Column::new(
            "hours_since_on_sale".into(),
            rows.iter()
                .map(|r| r.features.hours_since_on_sale)
                .collect::<Vec<f64>>(),
        ),
        Column::new("cart_adds_1h".into(), u32s(|f| f.cart_adds_1h)),
        Column::new("buzz_posts_1h".into(), u32s(|f| f.buzz_posts_1h)),
        Column::new(
            "abandonment_rate_24h".into(),
            rows.iter()
                .map(|r| r.features.abandonment_rate_24h)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "buzz_sentiment_1h".into(),
            rows.iter()
                .map(|r| r.features.buzz_sentiment_1h)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "hours_to_event".into(),
            rows.iter()
                .map(|r| r.features.hours_to_event)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "price_minor".into(),
            rows.iter()
                .map(|r| r.features.price_minor)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "list_minor".into(),
            rows.iter().map(|r| r.list_minor).collect::<Vec<_>>(),
        ),
    ])
    .map_err(pe)?;
    let mut file = File::create(path).map_err(|source| HistoryIoError::Io {
        path: p.clone(),
        source,
    })?;
    ParquetWriter::new(&mut file).finish(&mut df).map_err(pe)?;
    Ok(())
}

/// Reads every `*.parquet` file of `dir`, in name order.
pub fn read_dir(dir: &Path) -> Result<Vec<Labelled>, HistoryIoError> {
    let io = |source| HistoryIoError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(HistoryIoError::Empty(dir.display().to_string()));
    }
    let mut out = Vec::new();
    for f in files {
        out.extend(read_file(&f)?);
    }
    Ok(out)
}

/// Reads one Parquet file of snapshots.
pub fn read_file(path: &Path) -> Result<Vec<Labelled>, HistoryIoError> {
    let p = path.display().to_string();
    let file = File::open(path).map_err(|source| HistoryIoError::Io {
        path: p.clone(),
        source,
    })?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|source| HistoryIoError::Polars {
            path: p.clone(),
            source,
        })?;
    let cols = Columns { df: &df, path: &p };
    let n = df.height();
    let seed = cols.u64("seed")?;
    let time = cols.i64("time")?;
    let sales_close = cols.i64("sales_close")?;
    let sold_out_at = cols.opt_i64("sold_out_at")?;
    let event_id = cols.str("event_id")?;
    let category_id = cols.str("category_id")?;
    let currency = cols.str("currency")?;
    let [capacity, sold, remaining, s1m, s15m, s1h, s24h, adds, posts] = [
        "capacity",
        "sold",
        "remaining",
        "sales_1m",
        "sales_15m",
        "sales_1h",
        "sales_24h",
        "cart_adds_1h",
        "buzz_posts_1h",
    ]
    .map(|c| cols.u32(c));
    let (capacity, sold, remaining) = (capacity?, sold?, remaining?);
    let (s1m, s15m, s1h, s24h, adds, posts) = (s1m?, s15m?, s1h?, s24h?, adds?, posts?);
    let s7d = cols.u32_or_zero("sales_7d", n)?;
    let opening = cols.u32_or_zero("opening_sold", n)?;
    let since = cols.f64_or_zero("hours_since_on_sale", n)?;
    let abandonment = cols.f64("abandonment_rate_24h")?;
    let sentiment = cols.f64("buzz_sentiment_1h")?;
    let hours = cols.f64("hours_to_event")?;
    let price = cols.i64("price_minor")?;
    let list = cols.i64("list_minor")?;
    Ok((0..n)
        .map(|i| Labelled {
            seed: seed[i],
            time: time[i],
            features: SellOutFeatures {
                event_id: event_id[i].as_str().into(),
                category_id: category_id[i].as_str().into(),
                capacity: capacity[i],
                sold: sold[i],
                remaining: remaining[i],
                sales_1m: s1m[i],
                sales_15m: s15m[i],
                sales_1h: s1h[i],
                sales_24h: s24h[i],
                sales_7d: s7d[i],
                hours_since_on_sale: since[i],
                opening_sold: opening[i],
                cart_adds_1h: adds[i],
                abandonment_rate_24h: abandonment[i],
                buzz_posts_1h: posts[i],
                buzz_sentiment_1h: sentiment[i],
                hours_to_event: hours[i],
                price_minor: price[i],
                currency: currency[i].as_str().into(),
            },
            list_minor: list[i],
            sales_close: sales_close[i],
            sold_out_at: sold_out_at[i],
        })
        .collect())
}

/// Typed, null-checked column access with errors naming the file and column.
struct Columns<'a> {
    df: &'a DataFrame,
    path: &'a str,
}

impl Columns<'_> {
    fn err(&self, column: &str, reason: impl ToString) -> HistoryIoError {
        HistoryIoError::Column {
            path: self.path.to_owned(),
            column: column.to_owned(),
            reason: reason.to_string(),
        }
    }

    fn series(&self, name: &str, dtype: &DataType) -> Result<Series, HistoryIoError> {
        let col = self.df.column(name).map_err(|e| self.err(name, e))?;
        col.as_materialized_series()
            .cast(dtype)
            .map_err(|e| self.err(name, e))
    }

    fn required<T>(&self, name: &str, values: Vec<Option<T>>) -> Result<Vec<T>, HistoryIoError> {
        values
            .into_iter()
            .map(|v| v.ok_or_else(|| self.err(name, "null value")))
            .collect()
    }

    fn opt_i64(&self, name: &str) -> Result<Vec<Option<i64>>, HistoryIoError> {
        let s = self.series(name, &DataType::Int64)?;
        let ca = s.i64().map_err(|e| self.err(name, e))?;
        Ok(ca.iter().collect())
    }

    fn i64(&self, name: &str) -> Result<Vec<i64>, HistoryIoError> {
        let v = self.opt_i64(name)?;
        self.required(name, v)
    }

    fn u64(&self, name: &str) -> Result<Vec<u64>, HistoryIoError> {
        let s = self.series(name, &DataType::UInt64)?;
        let ca = s.u64().map_err(|e| self.err(name, e))?;
        self.required(name, ca.iter().collect())
    }

    fn u32(&self, name: &str) -> Result<Vec<u32>, HistoryIoError> {
        let s = self.series(name, &DataType::UInt32)?;
        let ca = s.u32().map_err(|e| self.err(name, e))?;
        self.required(name, ca.iter().collect())
    }

    /// A u32 column added later: zeros where a file has none.
    fn u32_or_zero(&self, name: &str, n: usize) -> Result<Vec<u32>, HistoryIoError> {
        if self.df.column(name).is_err() {
            return Ok(vec![0; n]);
        }
        self.u32(name)
    }

    /// An f64 column added later: zeros where a file has none.
    fn f64_or_zero(&self, name: &str, n: usize) -> Result<Vec<f64>, HistoryIoError> {
        if self.df.column(name).is_err() {
            return Ok(vec![0.0; n]);
        }
        self.f64(name)
    }

    fn f64(&self, name: &str) -> Result<Vec<f64>, HistoryIoError> {
        let s = self.series(name, &DataType::Float64)?;
        let ca = s.f64().map_err(|e| self.err(name, e))?;
        self.required(name, ca.iter().collect())
    }

    fn str(&self, name: &str) -> Result<Vec<String>, HistoryIoError> {
        let s = self.series(name, &DataType::String)?;
        let ca = s.str().map_err(|e| self.err(name, e))?;
        let v = ca.iter().map(|o| o.map(str::to_owned)).collect();
        self.required(name, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{HistoryConfig, generate};

    #[test]
    fn history_round_trips_through_parquet_and_bad_files_are_errors() {
        let h = generate(&HistoryConfig {
            seeds: vec![3],
            events: 2,
            sale_days: 3.0,
            scale: 0.2,
            hotness: (0.5, 1.5),
            snapshot_hours: 12.0,
            price_factors: Vec::new(),
        })
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("a.parquet"), &h.snapshots).unwrap();
        let back = read_dir(dir.path()).unwrap();
        assert_eq!(back, h.snapshots);
        assert!(matches!(
            read_dir(&dir.path().join("nowhere")),
            Err(HistoryIoError::Io { .. })
        ));
        std::fs::write(dir.path().join("b.parquet"), b"not parquet").unwrap();
        let err = read_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("b.parquet"), "{err}");
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_dir(empty.path()),
            Err(HistoryIoError::Empty(_))
        ));
    }
}
