use super::*;

/// Constant elasticity 2.5 around a list price of 100.00, `a` expected seats per step at list.
fn elastic(a: f64) -> impl Fn(i64, usize) -> f64 {
    move |p: i64, _t: usize| a * (p as f64 / 10_000.0).powf(-2.5)
}

fn problem(inventory: u32, steps: usize) -> Problem {
    Problem {
        floor_minor: 6_000,
        cap_minor: 25_000,
        grid_points: 20,
        inventory,
        steps,
    }
}

#[test]
fn more_inventory_never_raises_the_price() {
    let d = elastic(2.0);
    let mut last = i64::MAX;
    for inv in [2, 5, 10, 20, 40, 80] {
        let dec = solve_dp(&problem(inv, 20), &d);
        assert!(dec.price_minor <= last, "inv {inv}: {dec:?}");
        last = dec.price_minor;
    }
}

#[test]
fn less_time_never_raises_the_price() {
    let d = elastic(2.0);
    let mut last = i64::MAX;
    for steps in [40, 20, 10, 5, 2, 1] {
        let dec = solve_dp(&problem(20, steps), &d);
        assert!(dec.price_minor <= last, "steps {steps}: {dec:?}");
        last = dec.price_minor;
    }
}

#[test]
fn floor_and_cap_are_respected_and_named() {
    // Almost no demand: the price falls to the floor.
    let low = |p: i64, _t: usize| 0.01 * (p as f64 / 10_000.0).powf(-3.0);
    let dec = optimise(&problem(50, 10), &low);
    assert_eq!(dec.price_minor, 6_000);
    assert_eq!(dec.binding, Binding::Floor);
    // Inelastic demand: revenue keeps rising with price, the cap binds.
    let flat = |p: i64, _t: usize| 3.0 * (p as f64 / 10_000.0).powf(-0.5);
    for dec in [
        optimise(&problem(50, 10), &flat),
        solve_fluid(&problem(50, 10), &flat),
    ] {
        assert_eq!(dec.price_minor, 25_000);
        assert_eq!(dec.binding, Binding::Cap);
    }
    // Scarcity: a price inside the bounds, above the myopic optimum.
    let dec = solve_dp(&problem(3, 10), &elastic(2.0));
    assert!(
        dec.price_minor > 6_000 && dec.price_minor < 25_000,
        "{dec:?}"
    );
    assert_eq!(dec.binding, Binding::Inventory);
    // Bounds given upside down never produce a price above the cap.
    let odd = Problem {
        floor_minor: 30_000,
        cap_minor: 20_000,
        ..problem(5, 5)
    };
    assert!(optimise(&odd, &elastic(1.0)).price_minor <= 20_000);
}

/// Brute force over every price sequence on a tiny grid and horizon, by enumerating
/// Poisson outcomes recursively.
fn brute(grid: &[i64], demand: &dyn Fn(i64, usize) -> f64, t: usize, steps: usize, m: u32) -> f64 {
    if t == steps || m == 0 {
        return 0.0;
    }
    let mut best = f64::NEG_INFINITY;
    for &p in grid {
        let mean = demand(p, t);
        let mut v = 0.0;
        let mut mass = 0.0;
        let mut pk = (-mean).exp();
        for k in 0..m {
            v += pk * (p as f64 * f64::from(k) + brute(grid, demand, t + 1, steps, m - k));
            mass += pk;
            pk *= mean / f64::from(k + 1);
        }
        v += (1.0 - mass) * p as f64 * f64::from(m);
        best = best.max(v);
    }
    best
}

#[test]
fn dp_matches_brute_force_on_a_tiny_case() {
    let d = |p: i64, t: usize| (1.0 + 0.5 * t as f64) * (p as f64 / 10_000.0).powf(-2.0);
    let pr = Problem {
        floor_minor: 8_000,
        cap_minor: 16_000,
        grid_points: 3,
        inventory: 4,
        steps: 3,
    };
    let grid = pr.grid();
    let want = brute(&grid, &d, 0, 3, 4);
    let got = solve_dp(&pr, &d);
    assert!(
        (got.expected_revenue_minor as f64 - want).abs() <= 1.0,
        "{got:?} vs {want}"
    );
    // The first price is one of the brute-force optimal first moves.
    assert!(grid.contains(&got.price_minor));
}

#[test]
fn fluid_is_close_to_dp_when_inventory_is_large() {
    let d = elastic(30.0);
    let pr = problem(300, 20);
    let dp = solve_dp(&pr, &d);
    let fluid = solve_fluid(&pr, &d);
    let ratio = dp.expected_revenue_minor as f64 / fluid.expected_revenue_minor as f64;
    assert!(ratio > 0.95 && ratio <= 1.001, "{dp:?} {fluid:?}");
    assert!((dp.price_minor - fluid.price_minor).abs() <= 2_000);
}

#[test]
fn no_seats_or_no_time_gives_no_revenue_and_bad_demand_is_harmless() {
    assert_eq!(
        optimise(&problem(0, 10), &elastic(1.0)).expected_revenue_minor,
        0
    );
    assert_eq!(
        optimise(&problem(10, 0), &elastic(1.0)).expected_revenue_minor,
        0
    );
    let nan = |_p: i64, _t: usize| f64::NAN;
    let dec = optimise(&problem(10, 10), &nan);
    assert_eq!(dec.expected_revenue_minor, 0);
    let huge = |_p: i64, _t: usize| 1e6;
    let dec = optimise(&problem(30_000, 500), &huge);
    assert_eq!(dec.price_minor, 25_000);
}
