//! Social buzz per event: posts, reach and sentiment per minute (the buzz series on
//! `features`), and `buzz` signals when volume or mean sentiment moves unusually
//! against its adaptive baseline ([`ChangeDetector`]).
//!
//! Sentiment comes from the lexicon scorer ([`crate::sentiment`]: English, French,
//! German, Spanish, with negation). Volume is observed every minute for every event
//! mentioned in the last `active_hours`, zero included; sentiment only in minutes with
//! at least `min_posts_for_sentiment` posts, since the mean of two posts is noise.
//! An event idle for `active_hours` before a minute starts afresh with its next post;
//! idleness is read by event time, not by what was processed (see [`super::surges`]).

use std::collections::BTreeMap;

use sellout_ingest::records::{AnyRecord, Id, Timestamp, Topic};
use serde::{Deserialize, Serialize};

use crate::detector::{ChangeDetector, DetectorConfig};
use crate::job::{Emitter, Input, Job, RestoreError, load_state, save_state};
use crate::output::{
    BuzzMetric, BuzzPoint, Feature, FeatureBody, Signal, SignalDetail, SignalKind, output_id,
};
use crate::sentiment;
use crate::window::{Latest, Ticker, tumbling_start};

const MINUTE: i64 = 60_000;

/// Settings of the social-buzz job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BuzzConfig {
    /// Hours without a post after which an event is no longer watched.
    pub active_hours: u32,
    /// Posts a minute needs before its mean sentiment is observed.
    pub min_posts_for_sentiment: u32,
    /// The volume detector's tuning.
    pub volume: DetectorConfig,
    /// The sentiment detector's tuning.
    pub sentiment: DetectorConfig,
}

impl Default for BuzzConfig {
    fn default() -> Self {
        Self {
            active_hours: 24,
            min_posts_for_sentiment: 5,
            volume: DetectorConfig::default(),
            // Mean sentiment is a score in [-1, 1], not a count: no Poisson or
            // relative noise floor, which would hide every swing near zero.
            sentiment: DetectorConfig {
                min_std: 0.05,
                min_std_rel: 0.0,
                poisson_std: 0.0,
                ..DetectorConfig::default()
            },
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
struct Minute {
    posts: u32,
    reach: u64,
    sentiment: f64,
    positive: u32,
    negative: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Event {
    /// Open minutes by start (records up to the allowed lateness behind).
    minutes: BTreeMap<Timestamp, Minute>,
    volume: ChangeDetector,
    mood: ChangeDetector,
    /// Posts, by event time.
    posts: Latest<()>,
    /// The first minute this event is observed at: the end of its first post's
    /// minute (ticks still pending from before it are not its history; see surges).
    first_tick: Timestamp,
}

impl Event {
    /// Whether the event is still watched at `tick`: mentioned in the `active` ms
    /// before it, or posts read ahead of it start it afresh (as new from its first
    /// minute at or after `tick`: no history, no baseline).
    fn keep_at(&mut self, tick: Timestamp, active: i64) -> bool {
        self.posts.settle(tick);
        if self
            .posts
            .before(tick)
            .is_some_and(|(t, _)| t >= tick - active)
        {
            return true;
        }
        let Some(first) = self.minutes.range(tick..).next().map(|(s, _)| *s) else {
            return false;
        };
        self.minutes.retain(|s, _| *s >= tick);
        self.volume = ChangeDetector::new();
        self.mood = ChangeDetector::new();
        self.posts.forget_before(tick);
        self.first_tick = first + MINUTE;
        true
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct State {
    events: BTreeMap<Id, Event>,
    minutes: Ticker,
}

/// The social-buzz job.
#[derive(Debug)]
pub struct Buzz {
    config: BuzzConfig,
    allowed_lateness_ms: i64,
    state: State,
}

impl Buzz {
    /// The job; minutes close `allowed_lateness_ms` behind the watermark.
    pub fn new(config: BuzzConfig, allowed_lateness_ms: i64) -> Self {
        Self {
            config,
            allowed_lateness_ms,
            state: State {
                events: BTreeMap::new(),
                minutes: Ticker::new(MINUTE),
            },
        }
    }

    /// Closes the minute ending at `tick`.
    fn tick(&mut self, tick: Timestamp, out: &mut Emitter) {
        let active = i64::from(self.config.active_hours) * 60 * MINUTE;
        let start = tick - MINUTE;
        self.state.events.retain(|_, e| e.keep_at(tick, active));
        for (event_id, e) in &mut self.state.events {
            if tick < e.first_tick {
                continue;
            }
            let m = e.minutes.remove(&start).unwrap_or_default();
            let mean = if m.posts > 0 {
                m.sentiment / f64::from(m.posts)
            } else {
                0.0
            };
            if m.posts > 0 {
                out.feature(Feature {
                    id: output_id(&[b"buzz", event_id.as_bytes(), &tick.to_le_bytes()]),
                    time: tick,
                    body: FeatureBody::Buzz(BuzzPoint {
                        event_id: event_id.clone(),
                        posts: m.posts,
                        reach: m.reach,
                        sentiment: mean,
                        positive: m.positive,
                        negative: m.negative,
                    }),
                });
            }
            let volume = e
                .volume
                .observe(&self.config.volume, tick, f64::from(m.posts));
            let mood = if m.posts >= self.config.min_posts_for_sentiment {
                e.mood.observe(&self.config.sentiment, tick, mean)
            } else {
                None
            };
            for (metric, change) in [(BuzzMetric::Volume, volume), (BuzzMetric::Sentiment, mood)] {
                let Some(change) = change else { continue };
                let name: &[u8] = match metric {
                    BuzzMetric::Volume => b"volume",
                    BuzzMetric::Sentiment => b"sentiment",
                };
                out.signal(Signal {
                    id: output_id(&[b"buzz", name, event_id.as_bytes(), &tick.to_le_bytes()]),
                    kind: SignalKind::Buzz,
                    time: tick,
                    event_id: Some(event_id.clone()),
                    category_id: None,
                    venue_id: None,
                    zone_id: None,
                    detail: SignalDetail::Buzz {
                        metric,
                        value: change.value,
                        baseline: change.baseline,
                        z: change.z,
                        posts: m.posts,
                        sentiment: mean,
                    },
                });
            }
        }
        if self.state.events.is_empty() {
            self.state.minutes.stop();
        }
    }
}

impl Job for Buzz {
    fn name(&self) -> &'static str {
        "buzz"
    }

    fn inputs(&self) -> &'static [Topic] {
        &[Topic::Social]
    }

    fn on_record(&mut self, input: &Input<'_>, _out: &mut Emitter) {
        let AnyRecord::Social(post) = input.record else {
            return;
        };
        let score = sentiment::score(&post.text, &post.language);
        let start = tumbling_start(post.time, MINUTE);
        for event_id in &post.event_ids {
            let e = self
                .state
                .events
                .entry(event_id.clone())
                .or_insert_with(|| Event {
                    minutes: BTreeMap::new(),
                    volume: ChangeDetector::new(),
                    mood: ChangeDetector::new(),
                    posts: Latest::new(MINUTE),
                    first_tick: tumbling_start(post.time, MINUTE) + MINUTE,
                });
            e.posts.set(post.time, ());
            let m = e.minutes.entry(start).or_default();
            m.posts += 1;
            m.reach = m.reach.saturating_add(post.author_reach);
            m.sentiment += f64::from(score.score);
            if score.score > 0.05 {
                m.positive += 1;
            } else if score.score < -0.05 {
                m.negative += 1;
            }
        }
        self.state.minutes.start(post.time);
    }

    fn on_watermark(&mut self, watermark: Timestamp, out: &mut Emitter) {
        while let Some(tick) = self.state.minutes.due(watermark, self.allowed_lateness_ms) {
            self.tick(tick, out);
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        save_state(&self.state)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), RestoreError> {
        self.state = load_state(self.name(), bytes)?;
        Ok(())
    }
}
