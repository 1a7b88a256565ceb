use sellout_models::demand::Prior;
use sellout_models::eval::closed_loop::trace;
use sellout_models::eval::market::{LoopConfig, Scenario, draws};

fn main() {
    let prior: Prior = serde_json::from_str(&std::env::args().nth(1).unwrap()).unwrap();
    let which = std::env::args().nth(2).unwrap();
    let config = LoopConfig {
        prior,
        ..LoopConfig::default()
    };
    let runs = 200;
    let s = Scenario::standard(120, 28)
        .into_iter()
        .find(|s| s.name == which)
        .unwrap();
    let mut price = vec![0.0; s.steps];
    let mut clair = vec![0.0; s.steps];
    let mut left = vec![0.0; s.steps];
    let mut tm = vec![0.0; s.steps];
    let mut lm = vec![0.0; s.steps];
    let mut n = vec![0.0; s.steps];
    for run in 0..runs {
        let u = draws(&config, s.steps, run);
        for t in trace(&s, &config, &u) {
            price[t.step] += t.price_minor as f64;
            clair[t.step] += t.clairvoyant_minor as f64;
            left[t.step] += f64::from(t.left + t.sold);
            tm[t.step] += t.true_mean;
            lm[t.step] += t.learned_mean;
            n[t.step] += 1.0;
        }
    }
    for k in 0..s.steps {
        let c = n[k];
        println!(
            "{k:2} n {c:3} price {:7.0} clair-in-state {:7.0} left {:6.1} true {:5.2} learned {:5.2}",
            price[k] / c,
            clair[k] / c,
            left[k] / c,
            tm[k] / c,
            lm[k] / c
        );
    }
}
