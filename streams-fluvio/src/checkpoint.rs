//! Consumer checkpoints, kept in a Fluvio topic of their own.
//!
//! Why a topic and not Fluvio's named consumer offsets: those are committed through an
//! open consumer stream (commit, then flush) and read back only by starting a stream,
//! which couples checkpointing to one particular reader; and why not a local file:
//! workers on different machines must see each other's positions when partitions move.
//! A topic (`checkpoint_topic`, one partition, created when missing) is shared by every
//! worker, durable like the data, and read with the same contiguity checks.
//!
//! Each commit appends one record: key `topic/partition/consumer`, value the offset
//! (8 bytes, little endian). The latest record of a key wins. A process reads the
//! topic once and then only what was appended since, so lookups stay cheap.

use std::collections::HashMap;

use sellout_streams::{Batch, Offset};

use crate::error::FluvioError;
use crate::session::Conn;
use crate::{reader, writer};

/// Read size when catching up on the checkpoint topic.
const CATCH_UP_BYTES: usize = 4 << 20;

/// The checkpoints seen so far and where reading the topic stopped.
#[derive(Debug, Default)]
pub(crate) struct Checkpoints {
    next: Offset,
    latest: HashMap<String, Offset>,
}

/// The key of one consumer's position on one partition.
pub(crate) fn key(topic: &str, partition: u32, consumer: &str) -> String {
    format!("{topic}/{partition}/{consumer}")
}

impl Checkpoints {
    /// Reads what was committed since the last catch-up.
    async fn catch_up(&mut self, conn: &Conn) -> Result<(), FluvioError> {
        let topic = conn.config().checkpoint_topic.clone();
        conn.ensure_topic(&topic, 1).await?;
        loop {
            let fetched = reader::read(conn, &topic, 0, self.next, CATCH_UP_BYTES).await?;
            if fetched.is_empty() {
                return Ok(());
            }
            for r in fetched.records() {
                let Ok(bytes) = <[u8; 8]>::try_from(r.value) else {
                    tracing::warn!(
                        message = "Checkpoint record of the wrong size ignored.",
                        offset = r.offset
                    );
                    continue;
                };
                self.latest.insert(
                    String::from_utf8_lossy(r.key).into_owned(),
                    u64::from_le_bytes(bytes),
                );
            }
            self.next = fetched.next_offset();
        }
    }

    /// The latest committed position under `key`.
    pub(crate) async fn get(
        &mut self,
        conn: &Conn,
        key: &str,
    ) -> Result<Option<Offset>, FluvioError> {
        self.catch_up(conn).await?;
        Ok(self.latest.get(key).copied())
    }

    /// Commits `offset` under `key`, confirmed by the cluster before returning.
    pub(crate) async fn put(
        &mut self,
        conn: &Conn,
        key: String,
        offset: Offset,
    ) -> Result<(), FluvioError> {
        let topic = conn.config().checkpoint_topic.clone();
        conn.ensure_topic(&topic, 1).await?;
        let mut batch = Batch::new();
        batch.push(key.as_bytes(), 0, &offset.to_le_bytes());
        writer::append(
            conn,
            &topic,
            writer::Target::Partition(0),
            writer::to_records(&batch),
        )
        .await?;
        self.latest.insert(key, offset);
        Ok(())
    }
}
