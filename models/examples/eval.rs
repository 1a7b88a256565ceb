//! Runs the standalone evaluation `sellout eval` runs ([`sellout_models::eval::evaluate`]
//! on the default config) and prints its report as one JSON line, with the wall time.

use sellout_models::eval::{EvalConfig, evaluate};

fn main() {
    let started = std::time::Instant::now();
    // ORACLE_SALT=n reseeds the oracle's Monte Carlo (its own noise).
    let config = EvalConfig {
        oracle_salt: std::env::var("ORACLE_SALT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        ..EvalConfig::default()
    };
    match evaluate(&config) {
        Ok((report, bundle)) => {
            eprintln!("eval took {:.1} s", started.elapsed().as_secs_f64());
            if let Ok(prior) = serde_json::to_string(&bundle.demand_prior) {
                eprintln!("demand prior {prior}");
            }
            eprintln!("diurnal {:?}", bundle.sellout.diurnal);
            eprintln!(
                "shape {:?}",
                &bundle.sellout.shape[..30.min(bundle.sellout.shape.len())]
            );
            for h in &bundle.sellout.horizons {
                let kind = match &h.calibration {
                    sellout_models::calibration::Calibration::Platt(p) => format!("{p:?}"),
                    sellout_models::calibration::Calibration::Isotonic(i) => {
                        format!("isotonic with {} blocks", i.x.len())
                    }
                };
                eprintln!("{:?} calibration: {kind}", h.horizon);
            }
            match serde_json::to_string(&report) {
                Ok(line) => println!("{line}"),
                Err(e) => eprintln!("report: {e}"),
            }
        }
        Err(e) => {
            eprintln!("evaluation failed: {e}");
            std::process::exit(1);
        }
    }
}
