//! Writes the seed corpus: `cargo run --example seeds` (from `fuzz/`) puts each
//! target's seeds into `corpus/<target>/seed-<n>`, replacing earlier seeds and leaving
//! every other file (what the fuzzer found) alone.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (target, seeds) in sellout_fuzz::seeds::all() {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir)?;
        for (i, seed) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), seed)?;
        }
        println!("{target}: {} seeds", seeds.len());
    }
    Ok(())
}
