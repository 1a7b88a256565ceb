//! Rendering query results: an aligned text table for people, CSV and JSON for
//! programs.

use arrow::array::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::sql::QueryResult;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// An aligned text table.
    #[default]
    Table,
    /// CSV with a header row.
    Csv,
    /// A JSON array of row objects.
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            other => Err(format!("unknown format {other:?}: use table, csv or json")),
        }
    }
}

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot render the result as {format:?}: {detail}")]
pub struct RenderError {
    /// The format.
    pub format: Format,
    /// What went wrong.
    pub detail: String,
}

/// Renders `result` in `format`.
pub fn render(result: &QueryResult, format: Format) -> Result<String, RenderError> {
    let error = |e: &dyn std::fmt::Display| RenderError {
        format,
        detail: e.to_string(),
    };
    let batches: Vec<RecordBatch> = if result.batches.is_empty() {
        vec![RecordBatch::new_empty(result.schema.clone())]
    } else {
        result.batches.clone()
    };
    match format {
        Format::Table => arrow::util::pretty::pretty_format_batches(&batches)
            .map(|t| t.to_string())
            .map_err(|e| error(&e)),
        Format::Csv => {
            let mut out = Vec::new();
            {
                let mut writer = arrow_csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut out);
                for b in &batches {
                    writer.write(b).map_err(|e| error(&e))?;
                }
            }
            String::from_utf8(out).map_err(|e| error(&e))
        }
        Format::Json => {
            let mut out = Vec::new();
            {
                let mut writer = arrow_json::ArrayWriter::new(&mut out);
                let refs: Vec<&RecordBatch> = batches.iter().collect();
                writer.write_batches(&refs).map_err(|e| error(&e))?;
                writer.finish().map_err(|e| error(&e))?;
            }
            if out.is_empty() {
                out.extend_from_slice(b"[]");
            }
            String::from_utf8(out).map_err(|e| error(&e))
        }
    }
}
