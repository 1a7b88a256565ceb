//! `sellout train` and `sellout eval`: the models' training and evaluation.

use std::path::Path;

use anyhow::Context as _;
use sellout_models::eval::{EvalConfig, evaluate};
use sellout_models::history::{HistoryConfig, generate};
use sellout_models::registry::Registry;
use sellout_models::{history_io, train as training};

use crate::cli::TrainArgs;
use crate::config::Config;

fn has_parquet(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|e| e.path().extension().is_some_and(|x| x == "parquet"))
        })
        .unwrap_or(false)
}

pub fn train(config: &Config, args: TrainArgs) -> anyhow::Result<()> {
    let registry_dir = args
        .registry
        .clone()
        .unwrap_or_else(|| config.data_dir.join("models"));
    let registry = Registry::new(registry_dir.clone());
    let recorded = match &args.history {
        _ if args.archive => Some((config.archive_dir(), true)),
        Some(dir) if dir.join("features").is_dir() => Some((dir.clone(), false)),
        _ => None,
    };
    if let Some((dir, with_tail)) = recorded {
        let rows = crate::recorded::history(config, &dir, with_tail)?;
        let trained_at = rows.iter().map(|l| l.time).max().unwrap_or(0);
        let snapshots = rows.len();
        let version = training::train_rows(rows, &registry, trained_at)
            .context("training on the recorded history failed")?;
        println!(
            "{}",
            serde_json::json!({
                "trained": version,
                "snapshots": snapshots,
                "source": "archive",
                "archive": dir.display().to_string(),
                "registry": registry_dir.display().to_string(),
            })
        );
        return Ok(());
    }
    let history = args
        .history
        .unwrap_or_else(|| config.data_dir.join("history"));
    if !has_parquet(&history) {
        let season = HistoryConfig::default();
        eprintln!(
            "no history in {}: simulating a season (seeds {:?}, {} events each)...",
            history.display(),
            season.seeds,
            season.events
        );
        let generated = generate(&season).context("cannot simulate the history")?;
        std::fs::create_dir_all(&history)
            .with_context(|| format!("cannot create {}", history.display()))?;
        history_io::write(&history.join("season.parquet"), &generated.snapshots)
            .context("cannot write the history")?;
    }
    // The training time is the end of the history (event time, not the wall clock).
    let rows = history_io::read_dir(&history).context("cannot read the history")?;
    let trained_at = rows.iter().map(|l| l.time).max().unwrap_or(0);
    let version =
        training::train_dir(&history, &registry, trained_at).context("training failed")?;
    println!(
        "{}",
        serde_json::json!({
            "trained": version,
            "snapshots": rows.len(),
            "registry": registry_dir.display().to_string(),
        })
    );
    Ok(())
}

pub fn eval() -> anyhow::Result<()> {
    let (report, _) = evaluate(&EvalConfig::default()).context("evaluation failed")?;
    let mut value = serde_json::to_value(report)?;
    value["eval"] = "models".into();
    println!("{}", serde_json::to_string(&value)?);
    Ok(())
}
