//! The installations benchmark: `audience_bench build N DIR`, then (a second process,
//! so RSS counts only the load) `audience_bench load DIR`.

use std::path::PathBuf;

use sellout_notifier::audience_bench;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("build") => {
            let n: u64 = args.get(2).ok_or("need N")?.parse()?;
            let dir = PathBuf::from(args.get(3).ok_or("need DIR")?);
            let r = audience_bench::build(&dir, n, 7)?;
            println!(
                "inserted {} in {:.1} s ({:.0}/s); snapshot {:.1} s, {:.1} MiB",
                r.inserted,
                r.insert_secs,
                r.inserted as f64 / r.insert_secs,
                r.snapshot_secs,
                r.snapshot_bytes as f64 / 1048576.0
            );
        }
        Some("load") => {
            let dir = PathBuf::from(args.get(2).ok_or("need DIR")?);
            // 2026-11-24T00:00:00Z: a fixed "now" so the run is reproducible.
            let r = audience_bench::load_and_query(&dir, 1_795_478_400_000)?;
            let mib = |b: Option<u64>| b.map(|b| b as f64 / 1048576.0).unwrap_or(f64::NAN);
            println!(
                "loaded {} in {:.2} s; RSS {:.0} MiB -> {:.0} MiB; bitmaps {:.0} MiB, arena {:.0} MiB",
                r.loaded,
                r.load_secs,
                mib(r.rss_before),
                mib(r.rss_after),
                r.breakdown.0 as f64 / 1048576.0,
                r.breakdown.1 as f64 / 1048576.0
            );
            for (e, n, ms) in r.selections {
                println!("{ms:>8.2} ms  {n:>9}  {e}");
            }
        }
        _ => return Err("usage: audience_bench build N DIR | load DIR".into()),
    }
    Ok(())
}
