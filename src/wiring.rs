//! Opening the data directory: the embedded log, the catalog, an ingestor.

use std::sync::Arc;

use anyhow::Context as _;
use sellout_ingest::catalog::Catalog;
use sellout_ingest::ingestor::Ingestor;
use sellout_ingest::live_catalog::IntoLiveCatalog;
use sellout_ingest::validate::Validator;
use sellout_streams::Clock;
use sellout_streams::log::EmbeddedLog;

use crate::config::Config;

/// Opens (or creates) the embedded log of the data directory, cutting a torn tail.
pub fn open_log(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<EmbeddedLog>> {
    let dir = config.log_dir();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    let log = EmbeddedLog::open(&dir, config.log.clone(), clock)
        .with_context(|| format!("cannot open the log in {}", dir.display()))?;
    for r in log.recovery() {
        tracing::warn!(
            message = "Cut a torn tail from the log.",
            topic = %r.topic,
            segment = %r.segment.display(),
            bytes = r.bytes_truncated
        );
    }
    Ok(Arc::new(log))
}

/// Loads the catalog of the data directory, or an empty one with a warning.
pub fn load_catalog(config: &Config) -> anyhow::Result<Arc<Catalog>> {
    let path = config.catalog_path();
    if !path.exists() {
        tracing::warn!(
            message = "No catalog in the data directory: every sale will be rejected as an unknown event. \
                       Run `sellout simulate` or `sellout demo` here, or put a catalog.json there.",
            path = %path.display()
        );
        return Ok(Arc::new(Catalog::default()));
    }
    Ok(Arc::new(Catalog::load(&path)?))
}

/// An ingestor over `log`, validating against `catalog` (fixed or live) with `clock`.
pub fn ingestor(
    config: &Config,
    log: Arc<EmbeddedLog>,
    catalog: impl IntoLiveCatalog,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Ingestor> {
    Ingestor::new(log, Validator::new(catalog, config.limits.clone()), clock)
        .context("cannot read the streams' tails to recognise re-sent records")
}

/// A pipelines runner over `log`, restoring the data directory's checkpoint.
pub fn pipelines(
    config: &Config,
    log: Arc<EmbeddedLog>,
    catalog: impl IntoLiveCatalog,
) -> anyhow::Result<sellout_pipelines::Runner> {
    sellout_pipelines::Runner::open(
        config.pipelines.clone(),
        catalog,
        log,
        config.pipelines_checkpoint(),
    )
    .context("cannot start the pipelines")
}

/// The pricing service over `log`, with every key filled in (see [`crate::keys`]),
/// caught up with the catalog and price topics. Given the process's live catalog, its
/// follow loop keeps that catalog caught up for every component sharing it.
pub fn pricing(
    config: &Config,
    log: Arc<EmbeddedLog>,
    catalog: impl IntoLiveCatalog,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<sellout_pricing::PricingService>> {
    let pricing_config = crate::keys::pricing_config(config)?;
    let service = sellout_pricing::PricingService::new(pricing_config, catalog, log, clock)
        .context("cannot start the pricing service")?;
    service.catch_up().context("cannot read the price topics")?;
    Ok(service)
}

/// The repricer the configuration asks for (rules, or the newest trained model),
/// resuming from its checkpoint in the data directory.
pub fn repricer(
    config: &Config,
    service: Arc<sellout_pricing::PricingService>,
    catalog: &Catalog,
) -> anyhow::Result<sellout_pricing::Repricer> {
    let repricer = match config.models.price_with {
        crate::config::PriceWith::Rules => sellout_pricing::Repricer::rule_based(service),
        crate::config::PriceWith::Model => {
            let registry = sellout_models::registry::Registry::new(config.registry_dir());
            let (bundle, meta) = sellout_models::train::load(
                &registry,
                sellout_models::registry::Version::Newest,
            )
            .with_context(|| {
                format!(
                    "models.price_with = \"model\" needs a trained model in {} (run `sellout train`)",
                    config.registry_dir().display()
                )
            })?;
            let version = format!("glm/{}", meta.version);
            tracing::info!(message = "Pricing with the model.", %version);
            let optimiser = crate::optimiser::ModelOptimiser::new(
                bundle.demand_prior,
                bundle.demand_priors_by_span,
                catalog,
                version,
            );
            sellout_pricing::Repricer::new(service, Box::new(optimiser))
        }
    };
    repricer
        .with_checkpoint(config.repricer_checkpoint())
        .context("cannot restore the repricer's checkpoint")
}
