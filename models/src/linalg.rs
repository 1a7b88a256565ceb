//! Small dense linear algebra for the models' Newton steps: a symmetric positive
//! definite solve (Cholesky) on matrices of a handful of rows, stored row-major in a
//! slice. No dependency: these systems are 2×2 to 8×8 and solved thousands of times.

/// Solves `a·x = b` for symmetric positive definite `a` (`n × n`, row-major); `b` becomes
/// `x`. Returns `None` when `a` is not positive definite (or not finite).
pub(crate) fn solve_spd(a: &[f64], b: &mut [f64], n: usize) -> Option<()> {
    if a.len() != n * n || b.len() != n {
        return None;
    }
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = a[i * n + j];
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if !(sum.is_finite() && sum > 0.0) {
                    return None;
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    // Forward then backward substitution.
    for i in 0..n {
        let mut sum = b[i];
        for k in 0..i {
            sum -= l[i * n + k] * b[k];
        }
        b[i] = sum / l[i * n + i];
    }
    for i in (0..n).rev() {
        let mut sum = b[i];
        for k in i + 1..n {
            sum -= l[k * n + i] * b[k];
        }
        b[i] = sum / l[i * n + i];
    }
    b.iter().all(|v| v.is_finite()).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_small_system_and_rejects_an_indefinite_one() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let mut b = [2.0, 1.0];
        solve_spd(&a, &mut b, 2).unwrap();
        assert!((4.0 * b[0] + 2.0 * b[1] - 2.0).abs() < 1e-12);
        assert!((2.0 * b[0] + 3.0 * b[1] - 1.0).abs() < 1e-12);
        assert!(solve_spd(&[1.0, 2.0, 2.0, 1.0], &mut [1.0, 1.0], 2).is_none());
    }
}
