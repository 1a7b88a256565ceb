//! Runs the pricing benchmark and prints its figures as one JSON line (what
//! `sellout bench pricing` does). `cargo run --release -p sellout-pricing --example
//! bench_pricing [connections] [phase_s] [changes_per_sec]`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = sellout_pricing::bench::BenchOptions::default();
    if let Some(c) = args.first() {
        opts.connections = c.parse()?;
    }
    if let Some(p) = args.get(1) {
        opts.phase = std::time::Duration::from_secs_f64(p.parse()?);
    }
    if let Some(r) = args.get(2) {
        opts.changes_per_sec = r.parse()?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let figures = runtime.block_on(sellout_pricing::bench::run(opts))?;
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}
