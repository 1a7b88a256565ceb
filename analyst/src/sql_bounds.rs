//! Output bounds for the SQL functions whose result can dwarf their input.
//!
//! The memory pool of a query limits what operators (sorts, joins, aggregations) hold;
//! it does not see the buffer a scalar function builds for one call, and cancellation
//! cannot interrupt that call. `repeat('a', 2147483647)` therefore allocated 2 GiB
//! inside one call that the pool and the time limit both missed. This module replaces
//! such functions in a session by wrappers that compute, from the arguments alone and
//! before any work, how many bytes (or list elements) the call would produce, and
//! refuse the call with an error naming the function and the bound when it is over
//! [`SqlLimits::max_output_bytes`](crate::sql::SqlLimits::max_output_bytes).
//! Constant folding goes through the same wrappers, so a literal call fails while
//! planning.
//!
//! Bounded: `repeat`, `lpad`, `rpad` (4 bytes per character, the UTF-8 worst case),
//! `replace` (every occurrence replaced), `array_repeat`, `range` and
//! `generate_series` (8 bytes per element). Every other function's output is bounded
//! by its input, which the row and memory limits already bound.

use std::sync::Arc;

use arrow::array::Array;
use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};
use datafusion::prelude::SessionContext;

/// Bytes charged per list element of `array_repeat`, `range` and `generate_series`.
const ELEMENT_BYTES: u128 = 8;

/// How a bounded function's output size follows from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Growth {
    /// `repeat(s, n)`: `len(s) × n` bytes.
    Repeat,
    /// `lpad/rpad(s, n [, fill])`: `n` characters.
    Pad,
    /// `replace(s, from, to)`: every occurrence of `from` becomes `to`.
    Replace,
    /// `array_repeat(x, n)`: `n` elements of `x`.
    ArrayRepeat,
    /// `range/generate_series(start, stop [, step])`: `(stop − start) / step` elements.
    Range,
}

/// The functions bounded, with how each grows.
const BOUNDED: [(&str, Growth); 7] = [
    ("repeat", Growth::Repeat),
    ("lpad", Growth::Pad),
    ("rpad", Growth::Pad),
    ("replace", Growth::Replace),
    ("array_repeat", Growth::ArrayRepeat),
    ("range", Growth::Range),
    ("generate_series", Growth::Range),
];

/// Replaces every bounded function registered in `ctx` by its bounded wrapper.
pub fn register(ctx: &SessionContext, max_output_bytes: usize) {
    for (name, growth) in BOUNDED {
        // A build without the function (a feature off) has nothing to bound.
        if let Ok(inner) = ctx.udf(name) {
            let bounded = Bounded {
                inner,
                growth,
                limit: max_output_bytes as u128,
            };
            ctx.register_udf(ScalarUDF::new_from_impl(bounded));
        }
    }
}

/// A function that refuses calls whose output would pass `limit` bytes.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Bounded {
    inner: Arc<ScalarUDF>,
    growth: Growth,
    limit: u128,
}

impl ScalarUDFImpl for Bounded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows.max(1);
        let bytes = output_bound(self.growth, &args.args, rows)?;
        if bytes > self.limit {
            return exec_err!(
                "{}() would produce about {} MiB, over the limit of {} MiB per call",
                self.inner.name(),
                bytes >> 20,
                self.limit >> 20
            );
        }
        self.inner.invoke_with_args(args)
    }
}

/// Upper bound of the bytes one call produces over `rows` rows.
fn output_bound(growth: Growth, args: &[ColumnarValue], rows: usize) -> Result<u128> {
    let mut total: u128 = 0;
    for row in 0..rows {
        let arg = |i: usize| args.get(i).map(|a| value_at(a, row)).transpose();
        let row_bytes = match growth {
            Growth::Repeat => text_len(&arg(0)?) * count(&arg(1)?),
            Growth::Pad => count(&arg(1)?) * 4,
            Growth::Replace => {
                let s = text_len(&arg(0)?);
                let from = text_len(&arg(1)?);
                let to = text_len(&arg(2)?);
                let occurrences = s.checked_div(from).unwrap_or(s + 1);
                s + occurrences * to
            }
            Growth::ArrayRepeat => count(&arg(1)?) * text_len(&arg(0)?).max(ELEMENT_BYTES),
            Growth::Range => range_len(&arg(0)?, &arg(1)?, &arg(2)?) * ELEMENT_BYTES,
        };
        total = total.saturating_add(row_bytes);
    }
    Ok(total)
}

/// The value of one argument at `row` (a scalar is the same at every row).
fn value_at(arg: &ColumnarValue, row: usize) -> Result<ScalarValue> {
    match arg {
        ColumnarValue::Scalar(s) => Ok(s.clone()),
        ColumnarValue::Array(a) if row < a.len() => ScalarValue::try_from_array(a, row),
        ColumnarValue::Array(a) => ScalarValue::try_from(a.data_type()),
    }
}

/// Bytes of a text value (0 for null or a non-text value).
fn text_len(v: &Option<ScalarValue>) -> u128 {
    match v {
        Some(ScalarValue::Utf8(Some(s)))
        | Some(ScalarValue::LargeUtf8(Some(s)))
        | Some(ScalarValue::Utf8View(Some(s))) => s.len() as u128,
        Some(ScalarValue::Binary(Some(b)))
        | Some(ScalarValue::LargeBinary(Some(b)))
        | Some(ScalarValue::BinaryView(Some(b))) => b.len() as u128,
        _ => 0,
    }
}

/// A non-negative count argument (0 for null, negative or non-integer values).
fn count(v: &Option<ScalarValue>) -> u128 {
    integer(v).map_or(0, |n| n.max(0) as u128)
}

/// An integer argument of any width.
fn integer(v: &Option<ScalarValue>) -> Option<i128> {
    Some(match v.as_ref()? {
        ScalarValue::Int8(Some(n)) => i128::from(*n),
        ScalarValue::Int16(Some(n)) => i128::from(*n),
        ScalarValue::Int32(Some(n)) => i128::from(*n),
        ScalarValue::Int64(Some(n)) => i128::from(*n),
        ScalarValue::UInt8(Some(n)) => i128::from(*n),
        ScalarValue::UInt16(Some(n)) => i128::from(*n),
        ScalarValue::UInt32(Some(n)) => i128::from(*n),
        ScalarValue::UInt64(Some(n)) => i128::from(*n),
        _ => return None,
    })
}

/// Elements of `range(start, stop, step)`, for integers, dates and timestamps; a
/// single argument is `range(0, start)`.
fn range_len(a: &Option<ScalarValue>, b: &Option<ScalarValue>, c: &Option<ScalarValue>) -> u128 {
    let (start, stop) = match b {
        Some(_) => (instant(a), instant(b)),
        None => (Some(0), instant(a)),
    };
    let (Some(start), Some(stop)) = (start, stop) else {
        return 0;
    };
    let step = match c {
        None => 1,
        Some(s) => integer(c).or_else(|| interval_nanos(s)).unwrap_or(1),
    };
    if step == 0 {
        return 0;
    }
    let span = stop.abs_diff(start);
    span / step.unsigned_abs() + 1
}

/// An integer, or a date or timestamp in nanoseconds.
fn instant(v: &Option<ScalarValue>) -> Option<i128> {
    const DAY_NS: i128 = 86_400 * 1_000_000_000;
    integer(v).or_else(|| {
        Some(match v.as_ref()? {
            ScalarValue::Date32(Some(d)) => i128::from(*d) * DAY_NS,
            ScalarValue::Date64(Some(ms)) => i128::from(*ms) * 1_000_000,
            ScalarValue::TimestampSecond(Some(t), _) => i128::from(*t) * 1_000_000_000,
            ScalarValue::TimestampMillisecond(Some(t), _) => i128::from(*t) * 1_000_000,
            ScalarValue::TimestampMicrosecond(Some(t), _) => i128::from(*t) * 1_000,
            ScalarValue::TimestampNanosecond(Some(t), _) => i128::from(*t),
            _ => return None,
        })
    })
}

/// An interval step in nanoseconds (a month counted as 28 days: the most elements).
fn interval_nanos(v: &ScalarValue) -> Option<i128> {
    const DAY_NS: i128 = 86_400 * 1_000_000_000;
    Some(match v {
        ScalarValue::IntervalMonthDayNano(Some(i)) => {
            i128::from(i.months) * 28 * DAY_NS
                + i128::from(i.days) * DAY_NS
                + i128::from(i.nanoseconds)
        }
        ScalarValue::IntervalDayTime(Some(i)) => {
            i128::from(i.days) * DAY_NS + i128::from(i.milliseconds) * 1_000_000
        }
        ScalarValue::IntervalYearMonth(Some(m)) => i128::from(*m) * 28 * DAY_NS,
        _ => return None,
    })
}
