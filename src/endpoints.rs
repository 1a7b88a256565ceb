//! `sellout endpoints`: the local APNs and FCM endpoints as a process of their own.
//!
//! For trials and fault drills: the endpoints outlive the `sellout serve` processes
//! that send to them (a drill kills those with `kill -9`), so they can count every
//! notification they accepted and every one accepted twice across restarts. The
//! command writes the credentials a sender needs into `--dir` (the APNs `.p8` key, the
//! FCM service-account file pointing at the local OAuth endpoint, both certificates)
//! plus `notifier.toml`, a config layer with `[notifier.apns]` and `[notifier.fcm]`
//! set; prints `{"apns": URL, "fcm": URL, "config": PATH}` once listening, and on
//! Ctrl-C/SIGTERM prints what each endpoint accepted as the last line. `--storm`
//! answers a share of the requests with 429, 500 or 503, slowly, or closes
//! connections with GOAWAY, to exercise the senders' backoff.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use sellout_push::local::{self, ApnsServer, ApnsServerConfig, FcmServer, FcmServerConfig, Storm};
use sellout_streams::SystemClock;

/// `sellout endpoints`.
#[derive(Debug, Args)]
pub struct EndpointsArgs {
    /// Directory for the credentials, certificates and `notifier.toml`.
    #[arg(long)]
    pub dir: PathBuf,
    /// Answer this share of requests (0..1) with a fault: 429 with `Retry-After: 1`,
    /// 500, 503 or a 200 ms delay, in equal parts.
    #[arg(long, default_value_t = 0.0)]
    pub storm: f64,
    /// Seed of the storm's draws.
    #[arg(long, default_value_t = 1)]
    pub storm_seed: u64,
    /// Close each APNs connection with GOAWAY after this many streams.
    #[arg(long)]
    pub goaway_after: Option<u64>,
}

const KEY_ID: &str = "LOCALKEY01";
const TEAM_ID: &str = "LOCALTEAM1";
const TOPIC: &str = "app.sellout.local";

/// Runs the endpoints until Ctrl-C or SIGTERM.
pub fn run(args: EndpointsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.storm),
        "--storm is a share between 0 and 1, got {}",
        args.storm
    );
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(serve(args))
}

async fn serve(args: EndpointsArgs) -> anyhow::Result<()> {
    let clock = Arc::new(SystemClock);
    let apns = ApnsServer::start(
        ApnsServerConfig {
            goaway_after_streams: args.goaway_after,
            keep_records: false,
            ..ApnsServerConfig::default()
        },
        clock.clone(),
    )
    .await?;
    let fcm = FcmServer::start(
        FcmServerConfig {
            keep_records: false,
            ..FcmServerConfig::default()
        },
        clock,
    )
    .await?;
    let key = local::apns_test_key_pem();
    let public = sellout_push::jwt::Es256Key::from_pem(key.as_bytes())?.public_key();
    apns.register_key(KEY_ID, TEAM_ID, public);
    let account = local::test_service_account_json(&fcm.token_uri());
    fcm.register_service_account(&account)?;
    if args.storm > 0.0 {
        let storm = Storm {
            share: args.storm,
            seed: args.storm_seed,
            retry_after_s: 1,
            delay: Duration::from_millis(200),
        };
        apns.storm(Some(storm.clone()));
        fcm.storm(Some(storm));
    }

    let dir = &args.dir;
    let write = |name: &str, bytes: &[u8]| -> anyhow::Result<PathBuf> {
        let path = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    };
    let key_file = write("apns-key.p8", key.as_bytes())?;
    let apns_ca = write("apns-ca.pem", &apns.cert_pem())?;
    let account_file = write("fcm-service-account.json", account.as_bytes())?;
    let fcm_ca = write("fcm-ca.pem", &fcm.cert_pem())?;
    let config = write(
        "notifier.toml",
        notifier_toml(
            &apns.base_url(),
            &key_file,
            &apns_ca,
            &fcm.base_url(),
            &account_file,
            &fcm_ca,
        )
        .as_bytes(),
    )?;
    println!(
        "{}",
        serde_json::json!({ "apns": apns.base_url(), "fcm": fcm.base_url(), "config": config })
    );

    sellout_pricing::api::shutdown_signal().await;
    let summary = serde_json::json!({
        "endpoints": {
            "apns": { "delivered": apns.delivered(), "duplicates": apns.duplicates(),
                      "storm_faults": apns.storm_faults(), "goaways": apns.stats().goaways(),
                      "lingered": apns.stats().lingered(),
                      "max_in_flight": apns.stats().max_in_flight() },
            "fcm": { "delivered": fcm.delivered(), "duplicates": fcm.duplicates(),
                     "storm_faults": fcm.storm_faults(),
                     "max_in_flight": fcm.stats().max_in_flight() },
        }
    });
    println!("{summary}");
    Ok(())
}

/// A config layer pointing the notifier's senders at these endpoints.
fn notifier_toml(
    apns_url: &str,
    key_file: &Path,
    apns_ca: &Path,
    fcm_url: &str,
    account_file: &Path,
    fcm_ca: &Path,
) -> String {
    let q = |p: &Path| toml_string(&p.display().to_string());
    format!(
        "[notifier.apns]\nkey_file = {}\nkey_id = \"{KEY_ID}\"\nteam_id = \"{TEAM_ID}\"\n\
         topic = \"{TOPIC}\"\nbase_url = {}\nextra_root_file = {}\n\n\
         [notifier.fcm]\nservice_account_file = {}\nbase_url = {}\nextra_root_file = {}\n",
        q(key_file),
        toml_string(apns_url),
        q(apns_ca),
        q(account_file),
        toml_string(fcm_url),
        q(fcm_ca),
    )
}

/// A TOML basic string (JSON's escaping is a subset TOML accepts).
fn toml_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}
