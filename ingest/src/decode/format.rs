//! [`Format`] from and to HTTP content types and file extensions.

use std::path::Path;

use super::Format;
use super::cloudevents::{is_json_lines, media_type};

impl Format {
    /// Every format.
    pub const ALL: [Format; 7] = [
        Format::Json,
        Format::JsonLines,
        Format::CloudEvent,
        Format::CloudEventBatch,
        Format::ArrowStream,
        Format::ArrowFile,
        Format::Parquet,
    ];

    /// The format an HTTP `content-type` names, ignoring case and parameters
    /// (`application/json; charset=utf-8` is JSON). `None` for types not accepted.
    pub fn from_content_type(ct: &str) -> Option<Format> {
        let media = media_type(ct);
        Some(match media.as_str() {
            "application/json" | "text/json" => Format::Json,
            "application/cloudevents+json" => Format::CloudEvent,
            "application/cloudevents-batch+json" => Format::CloudEventBatch,
            "application/vnd.apache.arrow.stream" => Format::ArrowStream,
            "application/vnd.apache.arrow.file" => Format::ArrowFile,
            "application/vnd.apache.parquet" | "application/x-parquet" | "application/parquet" => {
                Format::Parquet
            }
            m if is_json_lines(m) => Format::JsonLines,
            _ => return None,
        })
    }

    /// The format a file's extension names, ignoring case: `.json`, `.jsonl`/`.ndjson`,
    /// `.arrows`, `.arrow`/`.feather`/`.ipc`, `.parquet`/`.pq`. `None` otherwise.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "json" => Format::Json,
            "jsonl" | "ndjson" => Format::JsonLines,
            "arrows" => Format::ArrowStream,
            "arrow" | "feather" | "ipc" => Format::ArrowFile,
            "parquet" | "pq" => Format::Parquet,
            _ => return None,
        })
    }

    /// The format's canonical content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::JsonLines => "application/x-ndjson",
            Format::CloudEvent => "application/cloudevents+json",
            Format::CloudEventBatch => "application/cloudevents-batch+json",
            Format::ArrowStream => "application/vnd.apache.arrow.stream",
            Format::ArrowFile => "application/vnd.apache.arrow.file",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }

    /// Whether the format is columnar (Arrow IPC, Parquet): its rows carry no topic,
    /// so decoding it needs one.
    pub fn is_columnar(self) -> bool {
        matches!(
            self,
            Format::ArrowStream | Format::ArrowFile | Format::Parquet
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_round_trip() {
        for format in Format::ALL {
            assert_eq!(
                Format::from_content_type(format.content_type()),
                Some(format)
            );
        }
        assert_eq!(
            Format::from_content_type("Application/JSON; charset=utf-8"),
            Some(Format::Json)
        );
        assert_eq!(
            Format::from_content_type("application/jsonl"),
            Some(Format::JsonLines)
        );
        assert_eq!(Format::from_content_type("text/plain"), None);
    }

    #[test]
    fn paths() {
        assert_eq!(
            Format::from_path(Path::new("a/b.JSONL")),
            Some(Format::JsonLines)
        );
        assert_eq!(
            Format::from_path(Path::new("x.feather")),
            Some(Format::ArrowFile)
        );
        assert_eq!(
            Format::from_path(Path::new("x.arrows")),
            Some(Format::ArrowStream)
        );
        assert_eq!(
            Format::from_path(Path::new("x.parquet")),
            Some(Format::Parquet)
        );
        assert_eq!(Format::from_path(Path::new("x")), None);
    }
}
