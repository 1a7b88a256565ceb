//! # sellout-ingest
//!
//! Owns what enters sellout: the **record types** of the input topics and their Arrow
//! schemas, the **event catalog** records are checked against, the **decoders** (JSON,
//! JSON Lines, CloudEvents, Arrow IPC, Parquet), **validation** with the **dead-letter**
//! stream, the [`Ingestor`](ingestor::Ingestor) that turns decoded records into appended
//! batches with reconciling counters, and the **HTTP ingest routes**.
//!
//! It must not interpret records beyond validating them (detectors live in
//! `sellout-pipelines`) and must never lose one silently: every record received is
//! either appended to its topic or dead-lettered with a reason and its original bytes,
//! so `accepted + rejected == received` always holds.
//!
//! # Layout
//! - [`records`]: the record types, their JSON form, and their wire form on the streams.
//! - [`arrow`]: Arrow schemas and lossless conversion between records and record batches.
//! - [`catalog`]: venues, events and categories.
//! - [`live_catalog`]: catalog edits on the `catalog` topic and the live catalog every
//!   component reads.
//! - [`decode`]: the input formats, each producing records or per-record rejections.
//! - [`validate`]: field, range, catalog and time-window checks.
//! - [`deadletter`]: the dead-letter record and its topic.
//! - [`erasure`]: privacy erasures of installations (the `erasures` topic) and the
//!   set readers filter installation ids with.
//! - [`ingestor`]: decode → validate → append, with counters.
//! - `appends`: one ingest call's appends, handed to the transport in parts while
//!   validation goes on.
//! - [`http`]: the axum routes `POST /v1/records/{topic}` and `POST /v1/cloudevents`.
//! - [`openapi`]: their OpenAPI description, merged into the binary's `/openapi.json`.

mod appends;
pub mod arrow;
pub mod catalog;
pub mod deadletter;
pub mod decode;
pub mod dedup;
pub mod erasure;
pub mod http;
pub mod ingestor;
pub mod live_catalog;
pub mod openapi;
pub mod records;
pub mod validate;
