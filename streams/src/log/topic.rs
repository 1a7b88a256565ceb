//! One topic: its segments, the appender that writes the active (last) segment, reads
//! across segments, per-topic retention and fsync.
//!
//! Two locks, so that readers never wait for a write or an fsync:
//! - `appender` (a `Mutex`) serialises appends, rolls and the capture of what to fsync;
//! - `state` (an `RwLock`) holds the segment map and the *committed* end. The appender
//!   publishes a batch there (new length, index entry, end offset) only after its write
//!   returned, so a reader can never see a partially written batch.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::config::{FsyncPolicy, Retention};
use super::format::FrameHeader;
use super::segment::{self, Segment, SparseIndex};
use super::{DeletedSegment, Recovery, RetentionReason, TopicStats};
use crate::batch::Batch;
use crate::clock::Timestamp;
use crate::transport::{AppendAck, Fetched, Offset, StreamError, TopicOffsets};

/// A topic of the embedded log.
#[derive(Debug)]
pub(crate) struct Topic {
    pub name: String,
    dir: PathBuf,
    policy: FsyncPolicy,
    state: RwLock<TopicState>,
    appender: Mutex<Appender>,
    /// Appended to since the flusher's last pass.
    dirty: AtomicBool,
    /// Retention and redaction take turns (neither deletes or replaces a segment the
    /// other is working on).
    maintenance: Mutex<()>,
    /// Test hook: the next write stops half way and fails, as on a full disk.
    #[cfg(test)]
    pub fail_next_write: AtomicBool,
}

#[derive(Debug)]
struct TopicState {
    /// Segments by base offset; the last one is the active one.
    segments: BTreeMap<Offset, SegmentState>,
    /// The committed end: the offset the next appended record will get.
    end: Offset,
}

#[derive(Debug)]
struct SegmentState {
    seg: Arc<Segment>,
    /// Committed bytes (for sealed segments, the file's length).
    len: u64,
    /// Index and newest event time; `None` for a sealed segment not yet scanned.
    meta: Option<SegmentMeta>,
}

#[derive(Debug, Clone, Default)]
struct SegmentMeta {
    index: SparseIndex,
    max_time: Option<Timestamp>,
}

#[derive(Debug)]
struct Appender {
    /// The active segment, opened for append.
    file: Arc<File>,
    path: PathBuf,
    base: Offset,
    /// Committed length of the active segment.
    len: u64,
    /// Offset of the next record.
    next: Offset,
    /// A failed write may have left bytes past `len`: cut them before the next write.
    broken: bool,
    /// Sealed segments whose data has not been fsynced yet.
    unsynced: Vec<Arc<File>>,
    /// The topic directory has entries (new segments) not fsynced yet.
    dir_unsynced: bool,
}

/// A sealed segment and the offset after its last record.
pub(crate) type SealedSegment = (Arc<Segment>, Offset);

/// Where a read continues: a segment, a frame in it, and the segment's bounds.
struct ReadPlan {
    seg: Arc<Segment>,
    pos: u64,
    offset: Offset,
    len: u64,
    seg_end: Offset,
}

fn poisoned(what: &str) -> StreamError {
    StreamError::Unavailable(format!("{what} lock poisoned by an earlier panic"))
}

/// Fsyncs a directory, making its new and removed entries durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StreamError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StreamError::io(format!("syncing directory {}", dir.display()), e))
}

/// Writes `header` then `body` with as few `writev` calls as the kernel allows (one,
/// in practice), so the frame lands in one piece without copying the body.
fn write_frame(mut file: &File, header: &[u8], body: &[u8]) -> io::Result<()> {
    let total = header.len() + body.len();
    let mut written = 0;
    while written < total {
        let result = if written < header.len() {
            file.write_vectored(&[IoSlice::new(&header[written..]), IoSlice::new(body)])
        } else {
            file.write(&body[written - header.len()..])
        };
        match result {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Topic {
    /// Opens the topic stored in `dir` (creating its first segment if it has none),
    /// cutting a torn tail off its last segment.
    pub fn open(
        dir: PathBuf,
        name: &str,
        policy: FsyncPolicy,
    ) -> Result<(Self, Option<Recovery>), StreamError> {
        let listing = std::fs::read_dir(&dir).map_err(|e| {
            StreamError::io(format!("listing topic directory {}", dir.display()), e)
        })?;
        let mut found = BTreeMap::new();
        for entry in listing {
            let entry = entry.map_err(|e| {
                StreamError::io(format!("listing topic directory {}", dir.display()), e)
            })?;
            if let Some(base) = entry
                .file_name()
                .to_str()
                .and_then(segment::parse_file_name)
            {
                found.insert(base, entry.path());
            }
        }
        if found.is_empty() {
            let path = dir.join(segment::file_name(0));
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| StreamError::io(format!("creating segment {}", path.display()), e))?;
            if policy != FsyncPolicy::Never {
                sync_dir(&dir)?;
            }
            found.insert(0, path);
        }
        let (&last_base, last_path) =
            found.last_key_value().ok_or_else(|| StreamError::Corrupt {
                path: dir.display().to_string(),
                detail: "topic has no segment".to_string(),
            })?;
        let last_path = last_path.clone();

        let scan = segment::scan(&last_path, last_base, true)?;
        let mut recovery = None;
        let file = OpenOptions::new()
            .append(true)
            .open(&last_path)
            .map_err(|e| {
                StreamError::io(
                    format!("opening segment {} for append", last_path.display()),
                    e,
                )
            })?;
        if scan.valid_len < scan.file_len {
            let cut = scan.file_len - scan.valid_len;
            let reason = scan.problem.clone().unwrap_or_default();
            tracing::warn!(
                message = "Cutting a torn tail off a segment.",
                topic = name,
                segment = %last_path.display(),
                bytes_truncated = cut,
                reason = %reason,
            );
            file.set_len(scan.valid_len)
                .and_then(|()| file.sync_all())
                .map_err(|e| {
                    StreamError::io(
                        format!("cutting the torn tail of segment {}", last_path.display()),
                        e,
                    )
                })?;
            recovery = Some(Recovery {
                topic: name.to_string(),
                segment: last_path.clone(),
                bytes_truncated: cut,
                reason,
            });
        }

        let mut segments = BTreeMap::new();
        for (&base, path) in &found {
            let seg = Segment::open(path.clone(), base)?;
            let state = if base == last_base {
                SegmentState {
                    seg: Arc::new(seg),
                    len: scan.valid_len,
                    meta: Some(SegmentMeta {
                        index: scan.index.clone(),
                        max_time: scan.max_time,
                    }),
                }
            } else {
                let len = std::fs::metadata(path)
                    .map_err(|e| {
                        StreamError::io(
                            format!("reading the size of segment {}", path.display()),
                            e,
                        )
                    })?
                    .len();
                SegmentState {
                    seg: Arc::new(seg),
                    len,
                    meta: None,
                }
            };
            segments.insert(base, state);
        }
        let topic = Self {
            name: name.to_string(),
            dir,
            policy,
            state: RwLock::new(TopicState {
                segments,
                end: scan.end_offset,
            }),
            appender: Mutex::new(Appender {
                file: Arc::new(file),
                path: last_path,
                base: last_base,
                len: scan.valid_len,
                next: scan.end_offset,
                broken: false,
                unsynced: Vec::new(),
                dir_unsynced: false,
            }),
            dirty: AtomicBool::new(false),
            maintenance: Mutex::new(()),
            #[cfg(test)]
            fail_next_write: AtomicBool::new(false),
        };
        Ok((topic, recovery))
    }

    /// The turn of one retention or redaction pass.
    pub(crate) fn maintenance(&self) -> Result<MutexGuard<'_, ()>, StreamError> {
        self.maintenance.lock().map_err(|_| poisoned("maintenance"))
    }

    /// The sealed segments (all but the active one), oldest first, each with the
    /// offset after its last record; and the active segment's base offset.
    pub(crate) fn sealed_segments(&self) -> Result<(Vec<SealedSegment>, Offset), StreamError> {
        let st = self.state()?;
        let segs: Vec<_> = st.segments.values().map(|s| Arc::clone(&s.seg)).collect();
        let active = segs.last().map_or(st.end, |s| s.base);
        let sealed = segs
            .windows(2)
            .map(|w| (Arc::clone(&w[0]), w[1].base))
            .collect();
        Ok((sealed, active))
    }

    /// Swaps in a rewritten sealed segment of the same length and frame positions.
    pub(crate) fn replace_segment(&self, seg: Arc<Segment>) -> Result<(), StreamError> {
        let mut st = self.state_mut()?;
        if let Some(entry) = st.segments.get_mut(&seg.base) {
            entry.seg = seg;
        }
        Ok(())
    }

    fn state(&self) -> Result<RwLockReadGuard<'_, TopicState>, StreamError> {
        self.state.read().map_err(|_| poisoned(&self.name))
    }

    fn state_mut(&self) -> Result<RwLockWriteGuard<'_, TopicState>, StreamError> {
        self.state.write().map_err(|_| poisoned(&self.name))
    }

    fn appender(&self) -> Result<MutexGuard<'_, Appender>, StreamError> {
        self.appender.lock().map_err(|_| poisoned(&self.name))
    }

    /// Appends a non-empty batch; returns its ack and whether the active segment rolled.
    pub fn append(
        &self,
        batch: &Batch,
        segment_bytes: u64,
    ) -> Result<(AppendAck, bool), StreamError> {
        let body = batch.bytes();
        let mut ap = self.appender()?;
        // Only a hostile or damaged segment name puts the end this close to u64::MAX.
        if ap.next.checked_add(u64::from(batch.len())).is_none() {
            return Err(StreamError::Corrupt {
                path: ap.path.display().to_string(),
                detail: format!(
                    "no room for {} more offsets after offset {}",
                    batch.len(),
                    ap.next
                ),
            });
        }
        if ap.broken {
            ap.file.set_len(ap.len).map_err(|e| {
                StreamError::io(
                    format!("cutting a failed write off segment {}", ap.path.display()),
                    e,
                )
            })?;
            ap.broken = false;
        }
        let header = FrameHeader::for_body(
            body,
            batch.len(),
            ap.next,
            batch.min_time(),
            batch.max_time(),
        );
        let frame_len = header.frame_len();
        let rolled = ap.len > 0 && ap.len.saturating_add(frame_len) > segment_bytes;
        if rolled {
            self.roll(&mut ap)?;
        }
        let pos = ap.len;
        if let Err(e) = self.write(&ap.file, &header.encode(), body) {
            return Err(self.undo(&mut ap, e, "appending a batch to"));
        }
        if self.policy == FsyncPolicy::Always
            && let Err(e) = ap.file.sync_data()
        {
            return Err(self.undo(&mut ap, e, "syncing"));
        }
        ap.len += frame_len;
        ap.next = header.next_offset();
        {
            let mut st = self.state_mut()?;
            if let Some(entry) = st.segments.get_mut(&ap.base) {
                entry.len = ap.len;
                if let Some(meta) = &mut entry.meta {
                    meta.index.note(header.base_offset, pos);
                    meta.max_time = Some(
                        meta.max_time
                            .map_or(header.max_time, |t| t.max(header.max_time)),
                    );
                }
            }
            st.end = ap.next;
        }
        if matches!(self.policy, FsyncPolicy::Interval { .. }) {
            self.dirty.store(true, Ordering::Release);
        }
        Ok((
            AppendAck {
                base_offset: header.base_offset,
                count: header.count,
            },
            rolled,
        ))
    }

    fn write(&self, file: &File, header: &[u8], body: &[u8]) -> io::Result<()> {
        #[cfg(test)]
        if self.fail_next_write.swap(false, Ordering::AcqRel) {
            write_frame(file, header, &body[..body.len() / 2])?;
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "injected: no space left on device",
            ));
        }
        write_frame(file, header, body)
    }

    /// After a failed write or fsync: cut the file back to the committed length so the
    /// next append lands where it should (or leave that to the next append, or to the
    /// torn-tail scan of the next open, if even the cut fails).
    fn undo(&self, ap: &mut Appender, error: io::Error, doing: &str) -> StreamError {
        ap.broken = ap.file.set_len(ap.len).is_err();
        tracing::warn!(
            message = "Failed to write batch.",
            %error,
            topic = %self.name,
            segment = %ap.path.display(),
            cut_back = !ap.broken,
        );
        StreamError::io(format!("{doing} segment {}", ap.path.display()), error)
    }

    /// Seals the active segment now if it holds anything (so that what it holds can be
    /// redacted); returns whether it did.
    pub fn seal_active(&self) -> Result<bool, StreamError> {
        let mut ap = self.appender()?;
        if ap.len == 0 || ap.broken {
            return Ok(false);
        }
        self.roll(&mut ap)?;
        Ok(true)
    }

    /// Seals the active segment and starts a new one at the next offset.
    fn roll(&self, ap: &mut Appender) -> Result<(), StreamError> {
        let base = ap.next;
        let path = self.dir.join(segment::file_name(base));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| StreamError::io(format!("creating segment {}", path.display()), e))?;
        let existing = file
            .metadata()
            .map_err(|e| {
                StreamError::io(format!("reading the size of segment {}", path.display()), e)
            })?
            .len();
        if existing != 0 {
            return Err(StreamError::Corrupt {
                path: path.display().to_string(),
                detail: format!("a new segment already holds {existing} bytes"),
            });
        }
        let seg = Segment::open(path.clone(), base)?;
        match self.policy {
            // Every batch of the old segment is synced already; the new name must be too.
            FsyncPolicy::Always => sync_dir(&self.dir)?,
            // Sealing syncs the old segment (one fsync per segment), so a power loss can
            // only ever tear the last segment, which open repairs.
            FsyncPolicy::Interval { .. } => {
                ap.file.sync_data().map_err(|e| {
                    StreamError::io(format!("syncing segment {}", ap.path.display()), e)
                })?;
                ap.dir_unsynced = true;
            }
            FsyncPolicy::Never => {
                let old = Arc::clone(&ap.file);
                ap.unsynced.push(old);
                ap.dir_unsynced = true;
            }
        }
        self.state_mut()?.segments.insert(
            base,
            SegmentState {
                seg: Arc::new(seg),
                len: 0,
                meta: Some(SegmentMeta::default()),
            },
        );
        ap.file = Arc::new(file);
        ap.path = path;
        ap.base = base;
        ap.len = 0;
        Ok(())
    }

    /// True when appended to since the last [`Topic::sync`].
    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Acquire)
    }

    /// Fsyncs everything appended so far: sealed segments not yet synced, the
    /// directory, and the active segment.
    pub fn sync(&self) -> Result<(), StreamError> {
        // Capture and clear under the appender lock, so an append that lands after the
        // capture marks the topic dirty again rather than being forgotten.
        let (active, path, unsynced, dir_unsynced) = {
            let mut ap = self.appender()?;
            self.dirty.store(false, Ordering::Release);
            (
                Arc::clone(&ap.file),
                ap.path.clone(),
                std::mem::take(&mut ap.unsynced),
                std::mem::take(&mut ap.dir_unsynced),
            )
        };
        let mut result = Ok(());
        for file in &unsynced {
            if let Err(e) = file.sync_data() {
                result = Err(StreamError::io(
                    format!("syncing a sealed segment of topic {}", self.name),
                    e,
                ));
            }
        }
        if result.is_ok() && dir_unsynced {
            result = sync_dir(&self.dir);
        }
        if result.is_ok() {
            result = active
                .sync_data()
                .map_err(|e| StreamError::io(format!("syncing segment {}", path.display()), e));
        }
        if result.is_err() {
            // Try again on the next pass.
            let mut ap = self.appender()?;
            ap.unsynced.extend(unsynced);
            ap.dir_unsynced |= dir_unsynced;
            self.dirty.store(true, Ordering::Release);
        }
        result
    }

    /// The retained range.
    pub fn offsets(&self) -> Result<TopicOffsets, StreamError> {
        let st = self.state()?;
        Ok(TopicOffsets {
            start: st.segments.keys().next().copied().unwrap_or(st.end),
            end: st.end,
        })
    }

    /// Size, segment count and retained range.
    pub fn stats(&self) -> Result<TopicStats, StreamError> {
        let st = self.state()?;
        Ok(TopicStats {
            offsets: TopicOffsets {
                start: st.segments.keys().next().copied().unwrap_or(st.end),
                end: st.end,
            },
            segments: st.segments.len(),
            bytes: st.segments.values().map(|s| s.len).sum(),
        })
    }

    /// Reads whole batches from the one holding `from`, up to about `max_bytes`.
    pub fn read(&self, from: Offset, max_bytes: usize) -> Result<Fetched, StreamError> {
        let mut out = Fetched {
            from,
            batches: Vec::new(),
        };
        let mut used = 0usize;
        let mut next = from;
        let mut first = true;
        while let Some(plan) = self.plan_read(next, first)? {
            let (after, budget_spent) = plan.seg.read_batches(
                plan.pos,
                plan.offset,
                next,
                plan.len,
                plan.seg_end,
                &mut out,
                &mut used,
                max_bytes,
            )?;
            if budget_spent || after <= next {
                break;
            }
            next = after;
            first = false;
        }
        Ok(out)
    }

    /// Finds where to read `next` from: `None` at or past the end.
    fn plan_read(&self, next: Offset, first: bool) -> Result<Option<ReadPlan>, StreamError> {
        loop {
            let unscanned = {
                let st = self.state()?;
                let start = st.segments.keys().next().copied().unwrap_or(st.end);
                if next < start {
                    if first {
                        return Err(StreamError::OffsetRetained {
                            topic: self.name.clone(),
                            requested: next,
                            start,
                        });
                    }
                    // Retention removed what a read in progress was about to continue with.
                    return Ok(None);
                }
                if next >= st.end {
                    return Ok(None);
                }
                let Some((&base, entry)) = st.segments.range(..=next).next_back() else {
                    return Ok(None);
                };
                let seg_end = st
                    .segments
                    .range(base + 1..)
                    .next()
                    .map(|(&b, _)| b)
                    .unwrap_or(st.end);
                match &entry.meta {
                    Some(meta) => {
                        let at = meta.index.lookup(next, base);
                        return Ok(Some(ReadPlan {
                            seg: Arc::clone(&entry.seg),
                            pos: at.pos,
                            offset: at.offset,
                            len: entry.len,
                            seg_end,
                        }));
                    }
                    None => (Arc::clone(&entry.seg), seg_end),
                }
            };
            self.load_sealed(&unscanned.0, unscanned.1)?;
        }
    }

    /// Scans a sealed segment's headers (no lock held) and stores its index.
    fn load_sealed(&self, seg: &Segment, seg_end: Offset) -> Result<SegmentMeta, StreamError> {
        let scan = segment::scan(&seg.path, seg.base, false)?;
        if let Some(problem) = scan.problem {
            return Err(StreamError::Corrupt {
                path: seg.path.display().to_string(),
                detail: problem,
            });
        }
        if scan.end_offset != seg_end {
            return Err(StreamError::Corrupt {
                path: seg.path.display().to_string(),
                detail: format!(
                    "segment ends at offset {} but the next one starts at {seg_end}",
                    scan.end_offset
                ),
            });
        }
        let meta = SegmentMeta {
            index: scan.index,
            max_time: scan.max_time,
        };
        let mut st = self.state_mut()?;
        if let Some(entry) = st.segments.get_mut(&seg.base)
            && entry.meta.is_none()
        {
            entry.meta = Some(meta.clone());
        }
        Ok(meta)
    }

    /// Deletes whole sealed segments, oldest first, while the topic is larger than
    /// `retention.max_bytes` or the segment's newest event time is before
    /// `now - retention.max_age_ms`. Age is measured from `now` or the topic's newest
    /// record, whichever is earlier: a clock that jumps far ahead (a bad NTP step, a
    /// mistyped date) ages nothing the records themselves don't.
    pub fn enforce_retention(
        &self,
        retention: &Retention,
        now: Timestamp,
    ) -> Result<Vec<DeletedSegment>, StreamError> {
        if retention.is_unlimited() {
            return Ok(Vec::new());
        }
        let _turn = self.maintenance()?;
        // Snapshot the sealed segments (all but the last) and the topic's size.
        let (mut total, sealed, cutoff) = {
            let st = self.state()?;
            let newest = st
                .segments
                .values()
                .filter_map(|s| s.meta.as_ref().and_then(|m| m.max_time))
                .max();
            let cutoff = retention
                .max_age_ms
                .map(|age| now.min(newest.unwrap_or(now)).saturating_sub(age));
            let total: u64 = st.segments.values().map(|s| s.len).sum();
            let mut sealed: Vec<_> = st
                .segments
                .iter()
                .map(|(&base, s)| {
                    (
                        base,
                        Arc::clone(&s.seg),
                        s.len,
                        s.meta.as_ref().map(|m| m.max_time),
                    )
                })
                .collect();
            sealed.pop();
            let ends: Vec<Offset> = st.segments.keys().skip(1).copied().collect();
            (
                total,
                sealed.into_iter().zip(ends).collect::<Vec<_>>(),
                cutoff,
            )
        };
        let mut doomed = Vec::new();
        for ((base, seg, len, max_time), seg_end) in sealed {
            let too_big = retention.max_bytes.is_some_and(|max| total > max);
            let reason = if too_big {
                Some(RetentionReason::Size)
            } else if let Some(cutoff) = cutoff {
                let max_time = match max_time {
                    Some(t) => t,
                    None => self.load_sealed(&seg, seg_end)?.max_time,
                };
                // A sealed segment always holds a batch; one without times is expired.
                max_time
                    .is_none_or(|t| t < cutoff)
                    .then_some(RetentionReason::Age)
            } else {
                None
            };
            let Some(reason) = reason else { break };
            total = total.saturating_sub(len);
            doomed.push((base, seg, len, reason));
        }
        if doomed.is_empty() {
            return Ok(doomed_report(&self.name, Vec::new()));
        }
        {
            let mut st = self.state_mut()?;
            let last = st.segments.keys().next_back().copied();
            doomed.retain(|(base, ..)| Some(*base) != last && st.segments.remove(base).is_some());
        }
        let mut first_error = None;
        for (_, seg, _, _) in &doomed {
            match std::fs::remove_file(&seg.path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    if first_error.is_none() {
                        first_error = Some(StreamError::io(
                            format!("deleting segment {}", seg.path.display()),
                            e,
                        ));
                    }
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        Ok(doomed_report(&self.name, doomed))
    }
}

fn doomed_report(
    topic: &str,
    doomed: Vec<(Offset, Arc<Segment>, u64, RetentionReason)>,
) -> Vec<DeletedSegment> {
    doomed
        .into_iter()
        .map(|(base, seg, bytes, reason)| DeletedSegment {
            topic: topic.to_string(),
            segment: seg.path.clone(),
            base_offset: base,
            bytes,
            reason,
        })
        .collect()
}
