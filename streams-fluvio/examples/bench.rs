//! Runs the Fluvio benchmark against `$SELLOUT_FLUVIO` and prints its report as one
//! JSON line: `SELLOUT_FLUVIO=127.0.0.1:9003 cargo run --release -p
//! sellout-streams-fluvio --example bench -- [records]`.

use sellout_streams_fluvio::{CLUSTER_ENV, FluvioConfig, bench};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Ok(endpoint) = std::env::var(CLUSTER_ENV) else {
        println!("skipped: no Fluvio cluster at ${CLUSTER_ENV} (unset)");
        return Ok(());
    };
    let records = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 1_000_000,
    };
    let report = bench::run(&FluvioConfig::at(endpoint), records, &[1, 2, 4])?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
