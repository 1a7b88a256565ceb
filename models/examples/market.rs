//! Investigation aid: runs the pricing scenarios of the evaluation with a given demand
//! prior (JSON as the first argument, else the default) and prints, per scenario, the
//! result and one traced run (price set vs the clairvoyant's in the same state).

use sellout_models::demand::Prior;
use sellout_models::eval::closed_loop::trace;
use sellout_models::eval::market::{LoopConfig, Scenario, draws, evaluate};

fn main() {
    let prior: Prior = std::env::args()
        .nth(1)
        .and_then(|a| serde_json::from_str(&a).ok())
        .unwrap_or_default();
    let runs = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(40);
    let verbose = std::env::args().nth(3).is_some();
    let env = |k: &str, d: f64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let base = LoopConfig::default();
    let config = LoopConfig {
        prior,
        runs,
        forgetting: env("FORGET", base.forgetting),
        max_move: env("MAXMOVE", base.max_move),
        dp_budget: env("DPBUDGET", base.dp_budget),
        level_precision: env("LEVELPREC", base.level_precision),
        buzz_persistence: env("BUZZP", base.buzz_persistence),
        window: env("WINDOW", base.window as f64) as usize,
        buzz_lag: env("BUZZLAG", base.buzz_lag as f64) as usize,
        seed: env("SEED", base.seed as f64) as u64,
        ..base
    };
    let mut mean = 0.0;
    let scenarios = Scenario::standard(120, 28);
    for s in &scenarios {
        let r = evaluate(s, &config);
        println!(
            "{:26} closed {:.4} ±{:.4} static {:.4} gain {:+.4} ±{:.4} ceiling {:.4} sell-through {:.3} static price {}",
            r.scenario,
            r.revenue_vs_optimal,
            r.revenue_se,
            r.static_vs_optimal,
            r.gain_vs_static,
            r.gain_se,
            r.foresight_free_vs_optimal,
            r.sell_through,
            r.static_price_minor
        );
        mean += r.revenue_vs_optimal / scenarios.len() as f64;
        if verbose {
            for t in trace(s, &config, &draws(&config, s.steps, 0)) {
                println!(
                    "  {:2} price {:6} clair {:6} sold {:2} left {:3} mean true {:5.2} learned {:5.2} coef {:?}",
                    t.step,
                    t.price_minor,
                    t.clairvoyant_minor,
                    t.sold,
                    t.left,
                    t.true_mean,
                    t.learned_mean,
                    t.coef.map(|c| (c * 100.0).round() / 100.0)
                );
            }
        }
    }
    println!("mean {mean:.4}");
}
