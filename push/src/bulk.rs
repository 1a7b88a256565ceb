//! Bulk sending for the benchmark and the demo: a fixed number of worker tasks pull
//! notifications by index, so a million sends never means a million live tasks.
//! Deliveries come back in input order.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::delivery::{Delivery, Outcome};
use crate::{ApnsClient, ApnsNotification, FcmClient, FcmNotification};

/// Sends every notification with `workers` concurrent tasks; results in input order.
pub async fn send_all_apns(
    client: &ApnsClient,
    notes: Arc<Vec<ApnsNotification>>,
    workers: usize,
) -> Vec<Delivery> {
    let client = client.clone();
    let len = notes.len();
    run(len, workers, move |i| {
        let client = client.clone();
        let notes = Arc::clone(&notes);
        async move {
            match notes.get(i) {
                Some(n) => client.send(n).await,
                None => missing(),
            }
        }
    })
    .await
}

/// Sends every message with `workers` concurrent tasks; results in input order.
pub async fn send_all_fcm(
    client: &FcmClient,
    messages: Arc<Vec<FcmNotification>>,
    workers: usize,
) -> Vec<Delivery> {
    let client = client.clone();
    let len = messages.len();
    run(len, workers, move |i| {
        let client = client.clone();
        let messages = Arc::clone(&messages);
        async move {
            match messages.get(i) {
                Some(m) => client.send(m).await,
                None => missing(),
            }
        }
    })
    .await
}

fn missing() -> Delivery {
    Delivery {
        outcome: Outcome::Failed,
        attempts: 0,
        status: None,
        reason: Some("no such notification".into()),
    }
}

async fn run<F, Fut>(len: usize, workers: usize, send: F) -> Vec<Delivery>
where
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Delivery> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers.clamp(1, len.max(1)) {
        let next = Arc::clone(&next);
        let send = send.clone();
        set.spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= len {
                    return done;
                }
                done.push((i, send(i).await));
            }
        });
    }
    let mut out: Vec<Option<Delivery>> = vec![None; len];
    while let Some(joined) = set.join_next().await {
        // A worker that panicked leaves its slots empty; they are reported as failed below.
        for (i, d) in joined.unwrap_or_default() {
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(d);
            }
        }
    }
    out.into_iter()
        .map(|d| {
            d.unwrap_or_else(|| Delivery {
                outcome: Outcome::Failed,
                attempts: 0,
                status: None,
                reason: Some("send task ended early".into()),
            })
        })
        .collect()
}
