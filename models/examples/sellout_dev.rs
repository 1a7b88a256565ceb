//! Investigation aid for the sell-out model: trains as the evaluation does, scores the
//! validation runs (`SELLOUT_DEV_SET=test`: the evaluation's test runs, for a final
//! confirmation only; choices are made on validation), and prints Brier against the
//! oracle by horizon and by time since the event's first snapshot (the on-sale), and by
//! both. The oracle's probabilities are cached in `$SELLOUT_DEV_CACHE` with the set's
//! name appended (default: none) so that repeated runs cost only the training.
//! `DEV_BIAS=1` adds the booking curve and the structural forecast's mean against the
//! seats really sold (`sellout_dev/bias.rs`); `DEV_SPREAD=1` its spread against the
//! same (`sellout_dev/spread.rs`).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use sellout_models::eval::EvalConfig;
use sellout_models::eval::oracle::{self, Oracle};
use sellout_models::history::{self, HistoryConfig};
use sellout_models::sellout::Horizon;
use sellout_models::train;

#[path = "sellout_dev/bias.rs"]
mod bias;
#[path = "sellout_dev/snapshots.rs"]
mod snapshots;
#[path = "sellout_dev/spread.rs"]
mod spread;

/// Seeds from `$name` as `first-last` ranges (inclusive, comma-separated), else
/// `default`.
fn seeds_from_env(name: &str, default: &[u64]) -> Result<Vec<u64>, Box<dyn std::error::Error>> {
    let Ok(v) = std::env::var(name) else {
        return Ok(default.to_vec());
    };
    let mut seeds = Vec::new();
    for range in v.split(',') {
        let (a, b) = range
            .split_once('-')
            .ok_or_else(|| format!("{name}: {v} (first-last,first-last...)"))?;
        seeds.extend(a.trim().parse::<u64>()?..=b.trim().parse::<u64>()?);
    }
    Ok(seeds)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut c = EvalConfig::default();
    // Other training or calibration runs (`SELLOUT_DEV_TRAIN=101-132`), to measure how
    // much history helps; they must stay apart from the scored runs.
    c.train_seeds = seeds_from_env("SELLOUT_DEV_TRAIN", &c.train_seeds)?;
    c.calibration_seeds = seeds_from_env("SELLOUT_DEV_CAL", &c.calibration_seeds)?;
    if c.train_seeds
        .iter()
        .chain(&c.calibration_seeds)
        .any(|s| c.test_seeds.contains(s) || c.validation_seeds.contains(s))
    {
        return Err("training or calibration seeds overlap the scored runs".into());
    }
    let started = Instant::now();
    let make = |seeds: &[u64]| {
        history::generate(&HistoryConfig {
            seeds: seeds.to_vec(),
            ..c.history.clone()
        })
    };
    let set = std::env::var("SELLOUT_DEV_SET").unwrap_or_else(|_| "validation".to_owned());
    // `extra`: other held-out runs (`SELLOUT_DEV_SCORE=first-last`, apart from every
    // list), many more than validation's six, to compare models with less noise; the
    // oracle is not run for them (its column reads 0).
    let extra = seeds_from_env("SELLOUT_DEV_SCORE", &[])?;
    let scored_seeds = match set.as_str() {
        "test" => &c.test_seeds,
        "validation" => &c.validation_seeds,
        "extra" if !extra.is_empty() => &extra,
        other => {
            return Err(format!(
                "SELLOUT_DEV_SET: {other} (validation, test, or extra with SELLOUT_DEV_SCORE)"
            )
            .into());
        }
    };
    if set == "extra"
        && extra.iter().any(|s| {
            c.train_seeds.contains(s)
                || c.calibration_seeds.contains(s)
                || c.test_seeds.contains(s)
                || c.validation_seeds.contains(s)
        })
    {
        return Err("SELLOUT_DEV_SCORE overlaps another seed list".into());
    }
    eprintln!("scoring the {set} runs {scored_seeds:?}");
    let (tr, cal, test) = (
        make(&c.train_seeds)?,
        make(&c.calibration_seeds)?,
        make(scored_seeds)?,
    );
    eprintln!("histories {:.1} s", started.elapsed().as_secs_f64());
    let t = Instant::now();
    let bundle = train::train(&tr.snapshots, &cal.snapshots)?;
    eprintln!("training {:.1} s", t.elapsed().as_secs_f64());
    eprintln!("level {:?}", bundle.sellout.level);
    for m in &bundle.sellout.horizons {
        let w: Vec<String> = m
            .logistic
            .weights
            .iter()
            .zip(sellout_models::sellout::SELLOUT_FEATURES)
            .map(|(w, n)| format!("{n}={w:.2}"))
            .collect();
        eprintln!("{:?}: {}", m.horizon, w.join(" "));
    }
    if std::env::var("DEV_BIAS").is_ok() {
        let s = &bundle.sellout;
        let days: Vec<String> = s.shape.iter().take(23).map(|v| format!("{v:.2}")).collect();
        println!("shape by days to the event (0..22): {}", days.join(" "));
        bias::report(&test.snapshots, &s.level, &s.shape, &s.diurnal);
    }
    if std::env::var("DEV_SPREAD").is_ok() {
        let s = &bundle.sellout;
        spread::report(&test.snapshots, &s.level, &s.shape, &s.diurnal);
    }
    let dump = std::env::var("DEV_DUMP").ok();
    let cache = std::env::var("SELLOUT_DEV_CACHE")
        .ok()
        .map(|p| format!("{p}.{set}"));
    let cached: Option<Vec<[Option<f64>; 3]>> = cache
        .as_ref()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok());
    let oracle_p = match cached {
        Some(v) if v.len() == test.snapshots.len() => v,
        _ if set == "extra" && cache.is_none() => test
            .snapshots
            .iter()
            .map(|l| {
                Horizon::ALL
                    .map(|h| (h.effective_hours(l.features.hours_to_event) > 0.0).then_some(0.0))
            })
            .collect(),
        _ => {
            let t = Instant::now();
            let mut open: HashMap<(u64, String, i64), Vec<(usize, u32)>> = HashMap::new();
            for l in &test.snapshots {
                let index = test
                    .truths
                    .iter()
                    .find(|t| t.seed == l.seed)
                    .and_then(|t| t.event(&l.features.event_id))
                    .and_then(|e| {
                        e.categories
                            .iter()
                            .position(|c| c.category_id == l.features.category_id.as_str())
                    });
                if let Some(i) = index {
                    open.entry((l.seed, l.features.event_id.to_string(), l.time))
                        .or_default()
                        .push((i, l.features.remaining));
                }
            }
            let mut o = Oracle::with_paths(&test.truths, oracle::PATHS, 0);
            let v: Vec<[Option<f64>; 3]> = test
                .snapshots
                .iter()
                .map(|l| {
                    let state = open
                        .get(&(l.seed, l.features.event_id.to_string(), l.time))
                        .map_or(&[][..], Vec::as_slice);
                    Horizon::ALL.map(|h| {
                        (h.effective_hours(l.features.hours_to_event) > 0.0)
                            .then(|| o.probability(l, h, state))
                            .flatten()
                    })
                })
                .collect();
            eprintln!("oracle {:.1} s", t.elapsed().as_secs_f64());
            if let Some(p) = &cache {
                std::fs::write(p, serde_json::to_vec(&v)?)?;
            }
            v
        }
    };
    let mut first: BTreeMap<(u64, String), i64> = BTreeMap::new();
    for l in &test.snapshots {
        let t = first
            .entry((l.seed, l.features.event_id.to_string()))
            .or_insert(l.time);
        *t = (*t).min(l.time);
    }
    let events = sellout_models::context::contexts(&test.snapshots);
    let t = Instant::now();
    // [model sq err, oracle sq err, n] per horizon and per age bucket.
    let mut by_h: BTreeMap<String, [f64; 3]> = BTreeMap::new();
    let mut by_age: BTreeMap<String, [f64; 3]> = BTreeMap::new();
    let mut by_both: BTreeMap<(String, String), [f64; 3]> = BTreeMap::new();
    let mut by_event: BTreeMap<(u64, String, String), [f64; 3]> = BTreeMap::new();
    let mut by_seed: BTreeMap<(u64, String), [f64; 3]> = BTreeMap::new();
    let mut total = [0.0; 3];
    let mut scored = 0usize;
    // Every (probability, outcome) pair, for the pooled ECE and AUC.
    let (mut all_p, mut all_y) = (Vec::new(), Vec::new());
    for ((l, o), event) in test.snapshots.iter().zip(&oracle_p).zip(&events) {
        let age_h = (l.time - first[&(l.seed, l.features.event_id.to_string())]) as f64
            / 3_600_000.0
            + 0.25;
        let bucket = if age_h < 0.3 {
            "a 15m".to_owned()
        } else if age_h < 0.6 {
            "b 30m".to_owned()
        } else if age_h < 1.1 {
            "c 1h".to_owned()
        } else if age_h < 2.1 {
            "d 2h".to_owned()
        } else if age_h < 4.1 {
            "e 4h".to_owned()
        } else if age_h < 24.1 {
            "f day0".to_owned()
        } else if age_h < 48.1 {
            "g day1".to_owned()
        } else {
            format!("h day{:02}", (age_h / 24.0).floor() as i64 / 3 * 3)
        };
        for (h, horizon) in Horizon::ALL.into_iter().enumerate() {
            let Some(q) = o[h] else { continue };
            let p =
                bundle
                    .sellout
                    .probability_in(&l.features, l.list_minor, l.time, horizon, event);
            scored += 1;
            let yv = if horizon.label(l.time, l.sold_out_at) {
                1.0
            } else {
                0.0
            };
            let trace = std::env::var("DEV_TRACE").ok();
            if trace.as_deref()
                == Some(&format!(
                    "{}/{}/{}/{horizon:?}",
                    l.seed, l.features.event_id, l.features.category_id
                ))
            {
                let f = &l.features;
                let fc = bundle.sellout.level.forecast(
                    &sellout_models::level::Path::of(f),
                    &bundle.sellout.shape,
                    1.0,
                    f.hours_to_event,
                    horizon.effective_hours(f.hours_to_event),
                );
                println!(
                    "TRACE age {age_h:.1} hte {:.0} sold {} rem {} s1h {} s24 {} s7d {} | mean {:.0} sd {:.0} | p {p:.3} q {q:.3} y {yv} | ev rem {} s24 {}",
                    f.hours_to_event,
                    f.sold,
                    f.remaining,
                    f.sales_1h,
                    f.sales_24h,
                    f.sales_7d,
                    fc.mean,
                    fc.variance.sqrt(),
                    event.remaining,
                    event.sales_24h
                );
            }
            if dump.as_deref() == Some(bucket.as_str()) && (p - yv) * (p - yv) > 0.1 {
                let f = &l.features;
                let path = sellout_models::level::Path::of(f);
                let fc = bundle.sellout.level.forecast(
                    &path,
                    &bundle.sellout.shape,
                    1.0,
                    f.hours_to_event,
                    horizon.effective_hours(f.hours_to_event),
                );
                let ev = sellout_models::level::Path::of_event(event);
                let fe = bundle.sellout.level.forecast(
                    &ev,
                    &bundle.sellout.shape,
                    1.0,
                    f.hours_to_event,
                    horizon.effective_hours(f.hours_to_event),
                );
                print!(
                    "[event rem {} s24 {} mean {:.0} z {:.2}] ",
                    ev.remaining,
                    ev.sales_24h,
                    fe.mean,
                    fe.shortfall_z(ev.remaining)
                );
                println!(
                    "{:?} {:.0}h {} {} cap {} sold {} rem {} s15 {} s1h {} s24 {} | mean {:.0} sd {:.0} z {:.2} | p {:.3} q {:.3} y {}",
                    horizon,
                    f.hours_to_event,
                    f.event_id,
                    f.category_id,
                    f.capacity,
                    f.sold,
                    f.remaining,
                    f.sales_15m,
                    f.sales_1h,
                    f.sales_24h,
                    fc.mean,
                    fc.variance.sqrt(),
                    fc.shortfall_z(path.remaining),
                    p,
                    q,
                    horizon.label(l.time, l.sold_out_at)
                );
                // The shaped and structural features behind it.
                let s = &bundle.sellout;
                let row = sellout_models::sellout::feature_row(
                    f,
                    l.list_minor,
                    l.time,
                    horizon,
                    &s.diurnal,
                    &s.shape,
                    &s.level,
                    event,
                );
                let named: Vec<String> = row
                    .iter()
                    .zip(sellout_models::sellout::SELLOUT_FEATURES)
                    .map(|(v, n)| format!("{n}={v:.2}"))
                    .collect();
                println!("   {}", named.join(" "));
            }
            let y = if horizon.label(l.time, l.sold_out_at) {
                1.0
            } else {
                0.0
            };
            all_p.push(p);
            all_y.push(y > 0.5);
            let e = [(p - y) * (p - y), (q - y) * (q - y), 1.0];
            for (k, v) in e.iter().enumerate() {
                total[k] += v;
                by_h.entry(format!("{horizon:?}")).or_default()[k] += v;
                by_age.entry(bucket.clone()).or_default()[k] += v;
                by_event
                    .entry((
                        l.seed,
                        l.features.event_id.to_string(),
                        format!("{horizon:?}"),
                    ))
                    .or_default()[k] += v;
                by_both
                    .entry((bucket.clone(), format!("{horizon:?}")))
                    .or_default()[k] += v;
                by_seed.entry((l.seed, format!("{horizon:?}"))).or_default()[k] += v;
            }
        }
    }
    let per = t.elapsed().as_secs_f64() * 1e6 / scored.max(1) as f64;
    // The cost of scoring one snapshot (three horizons), with its event, as serving does.
    let t = Instant::now();
    let mut sink = 0.0;
    let rounds = 5;
    for _ in 0..rounds {
        for (l, event) in test.snapshots.iter().zip(&events) {
            let s = bundle
                .sellout
                .score_in(&l.features, l.list_minor, l.time, None, event);
            sink += s.within_7d + s.by_start;
        }
    }
    let per_score = t.elapsed().as_secs_f64() * 1e6 / (rounds * test.snapshots.len()).max(1) as f64;
    println!("score_in: {per_score:.2} us per snapshot (3 horizons; checksum {sink:.1})");
    let n = total[2];
    println!("per horizon (share of total model error, brier, oracle):");
    for (k, v) in &by_h {
        println!(
            "  {k:8} {:5.3} {:.5} {:.5}",
            v[0] / total[0],
            v[0] / v[2],
            v[1] / v[2]
        );
    }
    println!("per age (share of model error, excess share, brier, oracle, n):");
    for (k, v) in &by_age {
        println!(
            "  {k:8} {:5.3} {:5.3} {:.5} {:.5} {:5}",
            v[0] / total[0],
            (v[0] - v[1]) / (total[0] - total[1]),
            v[0] / v[2],
            v[1] / v[2],
            v[2]
        );
    }
    println!("per event and horizon (excess share, brier, oracle):");
    for ((seed, event, h), v) in &by_event {
        println!(
            "  {seed} {event} {h:8} {:6.3} {:.5} {:.5}",
            (v[0] - v[1]) / (total[0] - total[1]),
            v[0] / v[2],
            v[1] / v[2]
        );
    }
    println!("per seed and horizon (excess share, brier, oracle, ratio, n):");
    for ((seed, h), v) in &by_seed {
        println!(
            "  {seed} {h:8} {:6.3} {:.5} {:.5} {:.3} {}",
            (v[0] - v[1]) / (total[0] - total[1]),
            v[0] / v[2],
            v[1] / v[2],
            v[0] / v[1],
            v[2]
        );
    }
    println!("per age and horizon (excess share, brier, oracle):");
    for ((age, h), v) in &by_both {
        println!(
            "  {age:8} {h:8} {:6.3} {:.5} {:.5}",
            (v[0] - v[1]) / (total[0] - total[1]),
            v[0] / v[2],
            v[1] / v[2]
        );
    }
    // The ratio's jackknife error over runs (a run's events share one market).
    let mut runs: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for ((seed, _), v) in &by_seed {
        let r = runs.entry(*seed).or_default();
        (r.0, r.1) = (r.0 + v[0], r.1 + v[1]);
    }
    let blocks: Vec<(f64, f64)> = runs.into_values().collect();
    let (ratio, ratio_se) = sellout_models::metrics::ratio_with_se(&blocks);
    println!(
        "{set}: brier {:.5} oracle {:.5} ratio {ratio:.3} ± {ratio_se:.3} ece {:.4} auc {:.4} (scoring {per:.2} us per probability)",
        total[0] / n,
        total[1] / n,
        sellout_models::metrics::ece(&all_p, &all_y, 10),
        sellout_models::metrics::auc(&all_p, &all_y),
    );
    Ok(())
}
