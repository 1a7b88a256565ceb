//! `sellout serve --transport fluvio`, `sellout demo --transport fluvio` and `sellout
//! bench fluvio`: handed to the `sellout-fluvio` binary, like git hands `git foo` to
//! `git-foo`.
//!
//! The Fluvio side is a binary of its own (`streams-fluvio/worker`, its own cargo
//! workspace) because the Fluvio client's features would rebuild DataFusion and polars
//! for this one. It is looked for next to this executable, then in the sibling target
//! directory `target/fluvio/<profile>/` (a development checkout), then on `$PATH`. The
//! global flags (`--config`, `--data-dir`, `-v`) pass through, and `serve`'s `--listen`
//! (an ingest node), `--no-pipelines`, `--partitions` and `--drain`; `SELLOUT__*` and
//! `SELLOUT_FLUVIO` reach it through the environment. On Unix it replaces this process,
//! so Ctrl-C and SIGTERM reach the worker itself (it checkpoints, then exits).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command, StreamsTransport};

/// The worker binary's file name.
const WORKER_BIN: &str = "sellout-fluvio";

/// The worker's arguments when `cli` asks for Fluvio, `None` otherwise.
pub fn worker_args(cli: &Cli) -> anyhow::Result<Option<Vec<OsString>>> {
    let mut args: Vec<OsString> = Vec::new();
    if let Some(config) = &cli.config {
        args.push("--config".into());
        args.push(config.into());
    }
    if let Some(dir) = &cli.data_dir {
        args.push("--data-dir".into());
        args.push(dir.into());
    }
    for _ in 0..cli.verbose {
        args.push("-v".into());
    }
    match &cli.command {
        Command::Serve(s) if s.transport == StreamsTransport::Fluvio => {
            anyhow::ensure!(
                !s.no_repricer && !s.no_notifier,
                "with --transport fluvio, serve runs the pipelines and (with --listen) the \
                 ingest and catalog routes (sellout-fluvio); no repricer or notifier there: \
                 drop --no-repricer and --no-notifier"
            );
            args.push("serve".into());
            if let Some(listen) = &s.listen {
                args.push("--listen".into());
                args.push(listen.to_string().into());
            }
            if s.no_pipelines {
                args.push("--no-pipelines".into());
            }
            if let Some(set) = &s.partitions {
                args.push("--partitions".into());
                args.push(set.into());
            }
            if s.drain {
                args.push("--drain".into());
            }
        }
        Command::Serve(s) => {
            anyhow::ensure!(
                s.partitions.is_none() && !s.drain,
                "--partitions and --drain need --transport fluvio"
            );
            return Ok(None);
        }
        Command::Demo(d) if d.transport == StreamsTransport::Fluvio => {
            args.push("demo".into());
            args.push("--duration".into());
            args.push(format!("{}ms", d.duration.as_millis()).into());
            args.push("--fault-rate".into());
            args.push(d.fault_rate.to_string().into());
            for (flag, value) in [
                ("--partitions", d.partitions.map(|p| p.to_string())),
                ("--seed", d.seed.map(|s| s.to_string())),
                ("--scale", d.scale.map(|s| s.to_string())),
            ] {
                if let Some(value) = value {
                    args.push(flag.into());
                    args.push(value.into());
                }
            }
            if d.keep {
                args.push("--keep".into());
            }
            if d.headless {
                args.push("--headless".into());
            }
        }
        Command::Demo(d) => {
            anyhow::ensure!(
                d.partitions.is_none() && !d.keep,
                "--partitions and --keep need --transport fluvio"
            );
            return Ok(None);
        }
        Command::Bench(b) if b.name == "fluvio" => {
            args.push("bench".into());
            if let Some(records) = b.records {
                args.push("--records".into());
                args.push(records.to_string().into());
            }
        }
        _ => return Ok(None),
    }
    Ok(Some(args))
}

/// Runs the worker binary with `args`; on Unix it replaces this process.
pub fn exec(args: Vec<OsString>) -> anyhow::Result<()> {
    let exe = std::env::current_exe().ok();
    let bin = find(exe.as_deref()).ok_or_else(|| {
        anyhow::anyhow!(
            "{WORKER_BIN} was not found next to {} nor on $PATH. Build it with \
             `cargo build --release --manifest-path streams-fluvio/Cargo.toml -p {WORKER_BIN} \
             --target-dir target/fluvio` and put target/fluvio/release/{WORKER_BIN} next to \
             sellout or on $PATH",
            exe.as_deref()
                .map_or_else(|| "sellout".to_owned(), |p| p.display().to_string())
        )
    })?;
    run(&bin, args)
}

#[cfg(unix)]
fn run(bin: &Path, args: Vec<OsString>) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt as _;
    // Only returns on failure.
    let error = std::process::Command::new(bin).args(args).exec();
    Err(anyhow::anyhow!("cannot run {}: {error}", bin.display()))
}

#[cfg(not(unix))]
fn run(bin: &Path, args: Vec<OsString>) -> anyhow::Result<()> {
    let status = std::process::Command::new(bin)
        .args(args)
        .status()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", bin.display()))?;
    anyhow::ensure!(status.success(), "{} failed: {status}", bin.display());
    Ok(())
}

/// Next to `exe`, then `target/fluvio/<profile>/` beside `exe`'s target directory,
/// then `$PATH`.
fn find(exe: Option<&Path>) -> Option<PathBuf> {
    let name = format!("{WORKER_BIN}{}", std::env::consts::EXE_SUFFIX);
    let mut candidates = Vec::new();
    if let Some(dir) = exe.and_then(Path::parent) {
        candidates.push(dir.join(&name));
        if let (Some(target), Some(profile)) = (dir.parent(), dir.file_name()) {
            candidates.push(target.join("fluvio").join(profile).join(&name));
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join(&name)));
    }
    candidates.into_iter().find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn args(line: &[&str]) -> anyhow::Result<Option<Vec<String>>> {
        let cli = Cli::try_parse_from(line)?;
        Ok(worker_args(&cli)?.map(|a| {
            a.into_iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect()
        }))
    }

    #[test]
    fn fluvio_commands_pass_their_flags_through() {
        let got = args(&[
            "sellout",
            "--config",
            "c.toml",
            "-v",
            "serve",
            "--transport",
            "fluvio",
            "--partitions",
            "0,2",
        ])
        .ok()
        .flatten();
        assert_eq!(
            got,
            Some(
                ["--config", "c.toml", "-v", "serve", "--partitions", "0,2"]
                    .map(String::from)
                    .to_vec()
            )
        );
        let got = args(&[
            "sellout",
            "serve",
            "--transport",
            "fluvio",
            "--listen",
            "127.0.0.1:8080",
            "--no-pipelines",
        ])
        .ok()
        .flatten();
        assert_eq!(
            got,
            Some(
                ["serve", "--listen", "127.0.0.1:8080", "--no-pipelines"]
                    .map(String::from)
                    .to_vec()
            )
        );
        let got = args(&["sellout", "bench", "fluvio", "--records", "1000"])
            .ok()
            .flatten();
        assert_eq!(
            got,
            Some(["bench", "--records", "1000"].map(String::from).to_vec())
        );
    }

    #[test]
    fn the_fluvio_demo_passes_its_flags_through() {
        let got = args(&[
            "sellout",
            "demo",
            "--transport",
            "fluvio",
            "--partitions",
            "8",
            "--duration",
            "90s",
            "--seed",
            "7",
            "--keep",
            "--headless",
        ])
        .ok()
        .flatten();
        let want = [
            "demo",
            "--duration",
            "90000ms",
            "--fault-rate",
            "0.001",
            "--partitions",
            "8",
            "--seed",
            "7",
            "--keep",
            "--headless",
        ];
        assert_eq!(got, Some(want.map(String::from).to_vec()));
        assert!(matches!(args(&["sellout", "demo"]), Ok(None)));
        assert!(args(&["sellout", "demo", "--partitions", "2"]).is_err());
    }

    #[test]
    fn other_commands_stay_here_and_mixed_flags_are_refused() {
        assert!(matches!(args(&["sellout", "serve"]), Ok(None)));
        assert!(matches!(args(&["sellout", "bench", "pipeline"]), Ok(None)));
        assert!(args(&["sellout", "serve", "--partitions", "0"]).is_err());
        assert!(args(&["sellout", "serve", "--transport", "fluvio", "--no-repricer"]).is_err());
    }

    #[test]
    fn the_binary_is_found_next_to_the_executable_first() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let release = dir.path().join("target/release");
        let sibling = dir.path().join("target/fluvio/release");
        std::fs::create_dir_all(&release).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(&sibling).unwrap_or_else(|e| panic!("{e}"));
        let exe = release.join("sellout");
        let name = format!("{WORKER_BIN}{}", std::env::consts::EXE_SUFFIX);
        std::fs::write(sibling.join(&name), b"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(find(Some(&exe)), Some(sibling.join(&name)));
        std::fs::write(release.join(&name), b"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(find(Some(&exe)), Some(release.join(&name)));
    }
}
